//! `parlab._core`: the Python face of `parlab_core`. Type and error conversions only;
//! everything else lives in the core (Rust) or the `parlab` package (Python).

use parlab_core as core;
use pyo3::exceptions::{PyAttributeError, PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

mod args;
mod run;
mod shared;
mod work_span;

use run::Interrupts;

/// The one place where a core error becomes a Python exception.
pub(crate) fn to_py_err(err: core::Error) -> PyErr {
    match err {
        core::Error::InvalidParameter { .. } => PyValueError::new_err(err.to_string()),
        core::Error::Cancelled
        | core::Error::ThreadPool(_)
        | core::Error::Output(_)
        | core::Error::Network(_) => PyRuntimeError::new_err(err.to_string()),
    }
}

/// Escape count of the point c = cr + ci·i, under parlab's pixel definition.
#[pyfunction]
fn escape_time(
    #[pyo3(from_py_with = args::cr)] cr: f64,
    #[pyo3(from_py_with = args::ci)] ci: f64,
    #[pyo3(from_py_with = args::max_iter)] max_iter: u32,
) -> PyResult<u32> {
    core::check_max_iter(max_iter).map_err(to_py_err)?;
    Ok(core::escape_time(cr, ci, max_iter))
}

/// This machine's hardware card, with the Python interpreter's own facts added.
#[pyclass(frozen, module = "parlab", name = "HardwareInfo")]
struct HardwareInfo {
    info: core::HardwareInfo,
    fields: Py<PyDict>,
}

#[pymethods]
impl HardwareInfo {
    /// Every field as a plain dict (JSON-ready), with `max_speedup` and `summary`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.fields.bind(py).copy()
    }

    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        self.fields.bind(py).get_item(name)?.ok_or_else(|| {
            PyAttributeError::new_err(format!("'HardwareInfo' object has no attribute '{name}'"))
        })
    }

    fn __dir__(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let mut names: Vec<String> = self.fields.bind(py).keys().extract()?;
        names.extend(["to_dict", "_repr_html_"].map(String::from));
        Ok(names)
    }

    fn __str__(&self) -> String {
        self.info.to_text()
    }

    fn __repr__(&self) -> String {
        format!(
            "HardwareInfo(logical_cpus={}, physical_cores={}, affinity_cpus={}, cpu_quota={}, effective_parallelism={})",
            self.info.logical_cpus,
            self.info.physical_cores.map_or("None".into(), |n| n.to_string()),
            self.info.affinity_cpus.map_or("None".into(), |n| n.to_string()),
            self.info.cpu_quota.map_or("None".into(), |q| q.to_string()),
            self.info.effective_parallelism,
        )
    }

    fn _repr_html_(&self) -> String {
        self.info.to_html()
    }
}

/// What the running interpreter says about itself.
fn python_info(py: Python<'_>) -> PyResult<core::hardware::PythonInfo> {
    let sys = py.import("sys")?;
    let platform = py.import("platform")?;
    let sysconfig = py.import("sysconfig")?;
    let gil_disabled_build = sysconfig.call_method1("get_config_var", ("Py_GIL_DISABLED",))?;
    let gil_enabled = match sys.getattr("_is_gil_enabled") {
        Ok(f) => Some(f.call0()?.extract::<bool>()?),
        Err(_) => None,
    };
    let free_threaded = gil_disabled_build.is_truthy()?;
    Ok(core::hardware::PythonInfo {
        version: platform.call_method0("python_version")?.extract()?,
        implementation: platform.call_method0("python_implementation")?.extract()?,
        free_threaded,
        // Before 3.13 there is no way to turn the GIL off: a classic build always has it.
        gil_enabled: gil_enabled.or(Some(!free_threaded)),
    })
}

/// Reads this machine: cores, hardware threads, affinity, CPU quota, caches, memory, SIMD.
#[pyfunction]
fn hardware(py: Python<'_>) -> PyResult<HardwareInfo> {
    let mut info = py.detach(core::hardware::detect);
    info.python = Some(python_info(py)?);
    let json = serde_json::to_string(&info.to_json())
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let fields = py
        .import("json")?
        .call_method1("loads", (json,))?
        .cast_into::<PyDict>()?
        .unbind();
    Ok(HardwareInfo { info, fields })
}

/// fib(n) computed in Rust while this thread keeps the GIL: other Python threads wait.
#[pyfunction]
fn fib(#[pyo3(from_py_with = args::n)] n: u32) -> PyResult<u64> {
    core::workloads::check_fib_n(n).map_err(to_py_err)?;
    Ok(core::workloads::fib(n))
}

/// fib(n) computed in Rust with the GIL released: other Python threads run meanwhile.
///
/// A long call stays stoppable: Ctrl-C stops it on the main thread, and `stop` (an object
/// with `is_set()`, such as a `threading.Event`) on any thread, where Ctrl-C never arrives;
/// both raise KeyboardInterrupt within a few milliseconds.
#[pyfunction]
#[pyo3(signature = (n, stop = None))]
fn fib_nogil(
    py: Python<'_>,
    #[pyo3(from_py_with = args::n)] n: u32,
    stop: Option<Py<PyAny>>,
) -> PyResult<u64> {
    core::workloads::check_fib_n(n).map_err(to_py_err)?;
    if n < QUICK_FIB_N {
        return Ok(py.detach(|| core::workloads::fib(n)));
    }
    let mut interrupts = Interrupts::default();
    let (value, _) = py.detach(|| {
        core::cancel::run_cancellable(
            |flag| core::workloads::fib_until(n, flag),
            || {
                interrupts.check(|py| match &stop {
                    Some(stop) if stop.bind(py).call_method0("is_set")?.is_truthy()? => Err(
                        PyKeyboardInterrupt::new_err("fib_nogil: its stop event was set"),
                    ),
                    _ => Ok(()),
                })
            },
        )
    });
    // None only when stopped, and then `interrupts` holds the exception that stopped it
    interrupts.result(Ok(value.unwrap_or_default()))
}

/// Below this n, fib_nogil computes on the calling thread (fib(30) takes milliseconds):
/// watching for Ctrl-C from a second thread would cost more than the call.
const QUICK_FIB_N: u32 = 30;

/// (call, worker, start_us, duration_us, value) of one call of a fib batch.
type CallTuple = (usize, usize, f64, f64, u64);

/// `calls` calls of fib(n) spread by rayon over `workers` threads, as
/// (call, worker, start_us, duration_us, value) tuples. Ctrl-C stops it between calls.
#[pyfunction]
fn fib_rayon(
    py: Python<'_>,
    #[pyo3(from_py_with = args::n)] n: u32,
    #[pyo3(from_py_with = args::calls)] calls: usize,
    #[pyo3(from_py_with = args::workers)] workers: usize,
) -> PyResult<Vec<CallTuple>> {
    let mut interrupts = Interrupts::default();
    let (outcome, _) = py.detach(|| {
        core::cancel::run_cancellable(
            |stop| core::workloads::fib_calls(n, calls, workers, stop),
            || interrupts.check(|_| Ok(())),
        )
    });
    let records = interrupts.result(outcome)?;
    Ok(records
        .into_iter()
        .map(|s| (s.id, s.worker, s.start_us, s.duration_us, s.work as u64))
        .collect())
}

/// The concrete kernels this CPU runs ("scalar", "portable", then its SIMD paths, fastest last).
#[pyfunction]
fn available_kernels() -> Vec<&'static str> {
    core::Kernel::available().iter().map(|k| k.name()).collect()
}

/// The thread count used when `threads=None`: CPUs this process may use, within its quota.
#[pyfunction]
fn default_threads() -> usize {
    core::default_threads()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Load numpy's C API now: loaded lazily, the first render would import numpy (and start
    // its thread pool) in the middle of a call, where a Ctrl-C would make the import fail.
    numpy::PyArray1::<u32>::zeros(m.py(), 0, false);
    let names: Vec<&str> = core::Strategy::ALL.iter().map(|s| s.name()).collect();
    m.add("STRATEGIES", PyTuple::new(m.py(), names)?)?;
    let kernels: Vec<&str> = core::Kernel::ALL.iter().map(|k| k.name()).collect();
    m.add("KERNELS", PyTuple::new(m.py(), kernels)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_TILES", core::MAX_TILES)?;
    m.add("MAX_THREADS", core::MAX_THREADS)?;
    m.add("MAX_FIB_N", core::workloads::MAX_FIB_N)?;
    let v = core::Viewport::default();
    m.add("DEFAULT_VIEWPORT", (v.re_min, v.re_max, v.im_min, v.im_max))?;
    m.add_class::<run::TaskRecord>()?;
    m.add_class::<run::RenderRun>()?;
    m.add_function(wrap_pyfunction!(run::render, m)?)?;
    m.add_function(wrap_pyfunction!(run::render_tile, m)?)?;
    m.add_function(wrap_pyfunction!(run::tile_count, m)?)?;
    m.add_function(wrap_pyfunction!(escape_time, m)?)?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    m.add_function(wrap_pyfunction!(available_kernels, m)?)?;
    m.add_function(wrap_pyfunction!(hardware, m)?)?;
    m.add_function(wrap_pyfunction!(fib, m)?)?;
    m.add_function(wrap_pyfunction!(fib_nogil, m)?)?;
    m.add_function(wrap_pyfunction!(fib_rayon, m)?)?;
    m.add_class::<HardwareInfo>()?;
    shared::register(m)?;
    work_span::register(m)?;
    Ok(())
}
