//! `parlab._core`'s shared-data functions (`parlab_core::shared`); `parlab.shared` wraps them.
//! Every run happens on Rust threads with the GIL released, and stops as `render` does: its
//! arguments narrowed by `args` (errors name the parameter), Ctrl-C seen by `run::Interrupts`
//! every tick, which raises the core's stop flag.

use std::sync::atomic::AtomicBool;

use parlab_core as core;
use parlab_core::shared::{Counter, LockOrder, LockRun, LockSpan};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::run::Interrupts;
use crate::{args, to_py_err};

/// Runs `job` with the GIL released; Ctrl-C raises its stop flag and is re-raised here.
fn cancellable<T: Send>(
    py: Python<'_>,
    job: impl FnOnce(&AtomicBool) -> core::Result<T> + Send,
) -> PyResult<T> {
    let mut interrupts = Interrupts::default();
    let (outcome, _) =
        py.detach(|| core::cancel::run_cancellable(job, || interrupts.check(|_| Ok(()))));
    interrupts.result(outcome)
}

/// (thread_id, round, activity, lock, start_us, duration_us, timed_out)
type SpanTuple = (usize, usize, &'static str, &'static str, f64, f64, bool);

fn span_tuple(s: &LockSpan) -> SpanTuple {
    (
        s.thread_id,
        s.round,
        s.activity.name(),
        s.lock,
        s.start_us,
        s.duration_us,
        s.timed_out,
    )
}

fn lock_run_dict<'py>(py: Python<'py>, run: &LockRun) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("threads", run.threads)?;
    out.set_item("rounds", run.rounds)?;
    out.set_item(
        "spans",
        run.spans.iter().map(span_tuple).collect::<Vec<_>>(),
    )?;
    out.set_item("elapsed_us", run.elapsed_us)?;
    out.set_item("timeouts", run.timeouts)?;
    out.set_item("completed", run.completed)?;
    Ok(out)
}

/// `threads` Rust threads each increment one shared counter `increments` times.
#[pyfunction]
fn shared_count<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = args::counter)] counter: Counter,
    #[pyo3(from_py_with = args::count_threads)] threads: usize,
    #[pyo3(from_py_with = args::increments)] increments: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let run = cancellable(py, |stop| {
        core::shared::count(counter, threads, increments, stop)
    })?;
    let out = PyDict::new(py);
    out.set_item("counter", run.counter.name())?;
    out.set_item("threads", run.threads)?;
    out.set_item("increments", run.increments)?;
    out.set_item("expected", run.expected())?;
    out.set_item("total", run.total)?;
    out.set_item("lost", run.lost())?;
    out.set_item("elapsed_us", run.elapsed_us)?;
    Ok(out)
}

/// `threads` threads each do `rounds` rounds of work, then wait for one lock and hold it.
#[pyfunction]
fn shared_lock_timeline<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = args::count_threads)] threads: usize,
    #[pyo3(from_py_with = args::rounds)] rounds: usize,
    #[pyo3(from_py_with = args::work_us)] work_us: f64,
    #[pyo3(from_py_with = args::hold_us)] hold_us: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let work = core::shared::wait_in("work_us", work_us, 1e-6).map_err(to_py_err)?;
    let hold = core::shared::wait_in("hold_us", hold_us, 1e-6).map_err(to_py_err)?;
    let run = cancellable(py, |stop| {
        core::shared::lock_timeline(threads, rounds, work, hold, stop)
    })?;
    lock_run_dict(py, &run)
}

/// Two threads take locks A and B in `order` ("opposite" or "same"), every wait timed out.
#[pyfunction]
fn shared_two_locks<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = args::order)] order: LockOrder,
    #[pyo3(from_py_with = args::rounds)] rounds: usize,
    #[pyo3(from_py_with = args::hold_us)] hold_us: f64,
    #[pyo3(from_py_with = args::timeout_ms)] timeout_ms: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let hold = core::shared::wait_in("hold_us", hold_us, 1e-6).map_err(to_py_err)?;
    let timeout = core::shared::wait_in("timeout_ms", timeout_ms, 1e-3).map_err(to_py_err)?;
    let run = cancellable(py, |stop| {
        core::shared::two_locks(order, rounds, hold, timeout, stop)
    })?;
    lock_run_dict(py, &run)
}

/// `threads` threads (≤ 8) each increment their own counter: in one cache line, or padded.
#[pyfunction]
fn shared_false_sharing<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = args::padded)] padded: bool,
    #[pyo3(from_py_with = args::count_threads)] threads: usize,
    #[pyo3(from_py_with = args::increments)] increments: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let run = cancellable(py, |stop| {
        core::shared::false_sharing(padded, threads, increments, stop)
    })?;
    let out = PyDict::new(py);
    out.set_item("padded", run.padded)?;
    out.set_item("threads", run.threads)?;
    out.set_item("increments", run.increments)?;
    out.set_item("stride_bytes", run.stride_bytes)?;
    out.set_item("totals", run.totals)?;
    out.set_item("elapsed_us", run.elapsed_us)?;
    Ok(out)
}

/// The CPU's cache line size in bytes, where the operating system says.
#[pyfunction]
fn cache_line_bytes() -> Option<usize> {
    core::shared::cache_line_bytes()
}

/// Adds this file's functions to `parlab._core`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let counters: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
    m.add("COUNTERS", PyTuple::new(py, counters)?)?;
    let orders: Vec<&str> = LockOrder::ALL.iter().map(|o| o.name()).collect();
    m.add("LOCK_ORDERS", PyTuple::new(py, orders)?)?;
    m.add("SHARED_MAX_THREADS", core::shared::MAX_THREADS)?;
    m.add("SHARED_MAX_RUN_S", core::shared::MAX_RUN.as_secs_f64())?;
    m.add_function(wrap_pyfunction!(shared_count, m)?)?;
    m.add_function(wrap_pyfunction!(shared_lock_timeline, m)?)?;
    m.add_function(wrap_pyfunction!(shared_two_locks, m)?)?;
    m.add_function(wrap_pyfunction!(shared_false_sharing, m)?)?;
    m.add_function(wrap_pyfunction!(cache_line_bytes, m)?)?;
    Ok(())
}
