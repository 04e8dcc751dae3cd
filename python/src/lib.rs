//! `parlab._core`: the Python face of `parlab_core`. Type and error conversions only;
//! everything else lives in the core (Rust) or the `parlab` package (Python).

use std::ops::ControlFlow;

use numpy::{PyArray1, PyArrayMethods};
use parlab_core as core;
use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// The one place where a core error becomes a Python exception.
fn to_py_err(err: core::Error) -> PyErr {
    match err {
        core::Error::InvalidParameter { .. } => PyValueError::new_err(err.to_string()),
        core::Error::Cancelled
        | core::Error::ThreadPool(_)
        | core::Error::Output(_)
        | core::Error::Network(_) => PyRuntimeError::new_err(err.to_string()),
    }
}

/// One rendered tile: which thread ran it, when (µs since the run started), and its work.
#[pyclass(frozen, get_all, module = "parlab", name = "TaskRecord")]
#[derive(Clone)]
struct TaskRecord {
    task_id: usize,
    thread_id: usize,
    tile_x: usize,
    tile_y: usize,
    tile_w: usize,
    tile_h: usize,
    start_us: f64,
    duration_us: f64,
    pixels: usize,
    iterations: u64,
}

impl From<&core::TaskRecord> for TaskRecord {
    fn from(r: &core::TaskRecord) -> Self {
        TaskRecord {
            task_id: r.task_id,
            thread_id: r.thread_id,
            tile_x: r.tile_x,
            tile_y: r.tile_y,
            tile_w: r.tile_w,
            tile_h: r.tile_h,
            start_us: r.start_us,
            duration_us: r.duration_us,
            pixels: r.pixels,
            iterations: r.iterations,
        }
    }
}

#[pymethods]
impl TaskRecord {
    /// When the tile finished, in µs since the run started.
    #[getter]
    fn end_us(&self) -> f64 {
        self.start_us + self.duration_us
    }

    /// The record as a plain dict (JSON-ready).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("task_id", self.task_id)?;
        d.set_item("thread_id", self.thread_id)?;
        d.set_item("tile_x", self.tile_x)?;
        d.set_item("tile_y", self.tile_y)?;
        d.set_item("tile_w", self.tile_w)?;
        d.set_item("tile_h", self.tile_h)?;
        d.set_item("start_us", self.start_us)?;
        d.set_item("duration_us", self.duration_us)?;
        d.set_item("pixels", self.pixels)?;
        d.set_item("iterations", self.iterations)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "TaskRecord(task_id={}, thread_id={}, tile=({}, {}, {}×{}), start_us={:.1}, duration_us={:.1}, iterations={})",
            self.task_id, self.thread_id, self.tile_x, self.tile_y, self.tile_w, self.tile_h,
            self.start_us, self.duration_us, self.iterations
        )
    }
}

/// A count from Python: negative values reach the core's range check by name.
fn count(name: &'static str, value: i64) -> Result<usize, core::Error> {
    usize::try_from(value)
        .map_err(|_| core::Error::invalid(name, format!("must be at least 1, got {value}")))
}

fn iterations_limit(value: i64) -> Result<u32, core::Error> {
    u32::try_from(value)
        .ok()
        .filter(|v| (1..=core::render::MAX_ITER).contains(v))
        .ok_or_else(|| {
            core::Error::invalid(
                "max_iter",
                format!(
                    "must be between 1 and {}, got {value}",
                    core::render::MAX_ITER
                ),
            )
        })
}

fn threads_request(value: Option<i64>) -> Result<Option<usize>, core::Error> {
    value
        .map(|n| {
            usize::try_from(n).map_err(|_| {
                core::Error::invalid(
                    "threads",
                    format!(
                        "must be between 1 and {}, got {n}",
                        core::render::MAX_THREADS
                    ),
                )
            })
        })
        .transpose()
}

#[allow(clippy::too_many_arguments)]
fn config_from_args(
    width: i64,
    height: i64,
    tile_w: i64,
    tile_h: i64,
    max_iter: i64,
    strategy: &str,
    threads: Option<i64>,
    time_limit_ms: Option<f64>,
    viewport: (f64, f64, f64, f64),
    kernel: &str,
    interior_shortcut: bool,
) -> Result<core::RenderConfig, core::Error> {
    let config = core::RenderConfig {
        width: count("width", width)?,
        height: count("height", height)?,
        tile_w: count("tile_w", tile_w)?,
        tile_h: count("tile_h", tile_h)?,
        max_iter: iterations_limit(max_iter)?,
        strategy: strategy.parse()?,
        threads: threads_request(threads)?,
        time_limit: time_limit_ms.map(core::time_limit_from_ms).transpose()?,
        viewport: core::Viewport::new(viewport.0, viewport.1, viewport.2, viewport.3),
        kernel: kernel.parse()?,
        interior_shortcut,
    };
    config.validate()?;
    Ok(config)
}

/// Calls `on_tile(record)` or, with `tile_pixels`, `on_tile(record, pixels)`.
fn deliver(
    py: Python<'_>,
    on_tile: &Py<PyAny>,
    record: &core::TaskRecord,
    pixels: &[u32],
    tile_pixels: bool,
) -> PyResult<()> {
    let record = Py::new(py, TaskRecord::from(record))?;
    if tile_pixels {
        let array =
            PyArray1::from_slice(py, pixels).reshape([record.get().tile_h, record.get().tile_w])?;
        on_tile.call1(py, (record, array))?;
    } else {
        on_tile.call1(py, (record,))?;
    }
    Ok(())
}

/// Renders the Mandelbrot set in tiles; see `parlab.render` for the documented API.
#[pyfunction]
#[pyo3(signature = (width, height, tile_w, tile_h, max_iter, strategy, threads, time_limit_ms, viewport, on_tile, tile_pixels, kernel, interior_shortcut))]
#[allow(clippy::too_many_arguments)]
fn render<'py>(
    py: Python<'py>,
    width: i64,
    height: i64,
    tile_w: i64,
    tile_h: i64,
    max_iter: i64,
    strategy: &str,
    threads: Option<i64>,
    time_limit_ms: Option<f64>,
    viewport: (f64, f64, f64, f64),
    on_tile: Option<Bound<'py, PyAny>>,
    tile_pixels: bool,
    kernel: &str,
    interior_shortcut: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let config = config_from_args(
        width,
        height,
        tile_w,
        tile_h,
        max_iter,
        strategy,
        threads,
        time_limit_ms,
        viewport,
        kernel,
        interior_shortcut,
    )
    .map_err(to_py_err)?;
    if let Some(f) = &on_tile {
        if !f.is_callable() {
            let kind = f.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "on_tile: must be callable or None, got {kind}"
            )));
        }
    }
    let on_tile = on_tile.map(Bound::unbind);

    // Workers never hold the GIL. This thread waits without it too, and takes it back
    // only to deliver a tile to `on_tile` or to check for Ctrl-C / "interrupt kernel".
    let (outcome, raised) = py.detach(|| {
        let mut raised: Option<PyErr> = None;
        let outcome = core::render_with(&config, |event| {
            Python::attach(|py| {
                let result = match (&event, &on_tile) {
                    (core::Event::Tile { record, pixels }, Some(f)) => {
                        deliver(py, f, record, pixels, tile_pixels)
                    }
                    _ => Ok(()),
                }
                .and_then(|()| py.check_signals());
                match result {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(err) => {
                        raised = Some(err);
                        ControlFlow::Break(())
                    }
                }
            })
        });
        (outcome, raised)
    });
    if let Some(err) = raised {
        return Err(err); // the callback's exception or KeyboardInterrupt, unchanged
    }
    let run = outcome.map_err(to_py_err)?;

    let records: Vec<TaskRecord> = run.records.iter().map(TaskRecord::from).collect();
    let iterations = PyArray1::from_vec(py, run.iterations).reshape([run.height, run.width])?;
    let out = PyDict::new(py);
    out.set_item("iterations", iterations)?;
    out.set_item("records", records)?;
    out.set_item("completed_tiles", run.records.len())?;
    out.set_item("total_tiles", run.total_tiles)?;
    out.set_item("time_limited", run.time_limited)?;
    out.set_item("elapsed_us", run.elapsed_us)?;
    out.set_item("strategy", run.strategy.name())?;
    out.set_item("threads", run.threads)?;
    out.set_item("kernel", run.kernel.name())?;
    out.set_item("interior_shortcut", run.interior_shortcut)?;
    Ok(out)
}

/// Escape count of the point c = cr + ci·i, under parlab's pixel definition.
#[pyfunction]
fn escape_time(cr: f64, ci: f64, max_iter: i64) -> PyResult<u32> {
    Ok(core::escape_time(
        cr,
        ci,
        iterations_limit(max_iter).map_err(to_py_err)?,
    ))
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
fn fib(n: u32) -> PyResult<u64> {
    core::workloads::check_fib_n(n).map_err(to_py_err)?;
    Ok(core::workloads::fib(n))
}

/// fib(n) computed in Rust with the GIL released: other Python threads run meanwhile.
#[pyfunction]
fn fib_nogil(py: Python<'_>, n: u32) -> PyResult<u64> {
    core::workloads::check_fib_n(n).map_err(to_py_err)?;
    Ok(py.detach(|| core::workloads::fib(n)))
}

/// (call, worker, start_us, duration_us, value) of one call of a fib batch.
type CallTuple = (usize, usize, f64, f64, u64);

/// `calls` calls of fib(n) spread by rayon over `workers` threads, as
/// (call, worker, start_us, duration_us, value) tuples. Ctrl-C stops it between calls.
#[pyfunction]
fn fib_rayon(py: Python<'_>, n: u32, calls: usize, workers: usize) -> PyResult<Vec<CallTuple>> {
    let mut interrupt: Option<PyErr> = None;
    let (outcome, _) = py.detach(|| {
        core::workloads::run_cancellable(
            |stop| core::workloads::fib_calls(n, calls, workers, stop),
            || match Python::attach(|py| py.check_signals()) {
                Ok(()) => ControlFlow::Continue(()),
                Err(err) => {
                    interrupt = Some(err);
                    ControlFlow::Break(())
                }
            },
        )
    });
    if let Some(err) = interrupt {
        return Err(err);
    }
    let records = outcome.map_err(to_py_err)?;
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
    let names: Vec<&str> = core::Strategy::ALL.iter().map(|s| s.name()).collect();
    m.add("STRATEGIES", PyTuple::new(m.py(), names)?)?;
    let kernels: Vec<&str> = core::Kernel::ALL.iter().map(|k| k.name()).collect();
    m.add("KERNELS", PyTuple::new(m.py(), kernels)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<TaskRecord>()?;
    m.add_function(wrap_pyfunction!(render, m)?)?;
    m.add_function(wrap_pyfunction!(escape_time, m)?)?;
    m.add_function(wrap_pyfunction!(default_threads, m)?)?;
    m.add_function(wrap_pyfunction!(available_kernels, m)?)?;
    m.add_function(wrap_pyfunction!(hardware, m)?)?;
    m.add_function(wrap_pyfunction!(fib, m)?)?;
    m.add_function(wrap_pyfunction!(fib_nogil, m)?)?;
    m.add_function(wrap_pyfunction!(fib_rayon, m)?)?;
    m.add_class::<HardwareInfo>()?;
    Ok(())
}
