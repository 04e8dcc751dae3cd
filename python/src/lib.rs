//! `parlab._core`: the Python face of `parlab_core`. Type and error conversions only;
//! everything else lives in the core (Rust) or the `parlab` package (Python).

use std::ops::ControlFlow;

use numpy::{PyArray1, PyArray2, PyArrayMethods};
use parlab_core as core;
use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

mod args;

/// The one place where a core error becomes a Python exception.
pub(crate) fn to_py_err(err: core::Error) -> PyErr {
    match err {
        core::Error::InvalidParameter { .. } => PyValueError::new_err(err.to_string()),
        core::Error::Cancelled | core::Error::ThreadPool(_) | core::Error::Output(_) => {
            PyRuntimeError::new_err(err.to_string())
        }
    }
}

/// One rendered tile: which thread ran it, when (µs since the run started), and its work.
#[pyclass(frozen, eq, module = "parlab", name = "TaskRecord")]
#[derive(Clone, PartialEq)]
struct TaskRecord(core::TaskRecord);

#[pymethods]
impl TaskRecord {
    /// A record built by hand, e.g. from another scheduler's task stream.
    #[new]
    #[pyo3(signature = (task_id, thread_id, tile_x, tile_y, tile_w, tile_h, start_us, duration_us, pixels, iterations))]
    #[allow(clippy::too_many_arguments)] // one per field, by keyword
    fn new(
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
    ) -> Self {
        TaskRecord(core::TaskRecord {
            task_id,
            thread_id,
            tile_x,
            tile_y,
            tile_w,
            tile_h,
            start_us,
            duration_us,
            pixels,
            iterations,
        })
    }

    #[getter]
    fn task_id(&self) -> usize {
        self.0.task_id
    }
    #[getter]
    fn thread_id(&self) -> usize {
        self.0.thread_id
    }
    #[getter]
    fn tile_x(&self) -> usize {
        self.0.tile_x
    }
    #[getter]
    fn tile_y(&self) -> usize {
        self.0.tile_y
    }
    #[getter]
    fn tile_w(&self) -> usize {
        self.0.tile_w
    }
    #[getter]
    fn tile_h(&self) -> usize {
        self.0.tile_h
    }
    #[getter]
    fn start_us(&self) -> f64 {
        self.0.start_us
    }
    #[getter]
    fn duration_us(&self) -> f64 {
        self.0.duration_us
    }
    #[getter]
    fn pixels(&self) -> usize {
        self.0.pixels
    }
    #[getter]
    fn iterations(&self) -> u64 {
        self.0.iterations
    }

    /// When the tile finished, in µs since the run started.
    #[getter]
    fn end_us(&self) -> f64 {
        self.0.end_us()
    }

    /// The record as a plain dict (JSON-ready), keyed like the constructor.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = &self.0;
        let d = PyDict::new(py);
        d.set_item("task_id", r.task_id)?;
        d.set_item("thread_id", r.thread_id)?;
        d.set_item("tile_x", r.tile_x)?;
        d.set_item("tile_y", r.tile_y)?;
        d.set_item("tile_w", r.tile_w)?;
        d.set_item("tile_h", r.tile_h)?;
        d.set_item("start_us", r.start_us)?;
        d.set_item("duration_us", r.duration_us)?;
        d.set_item("pixels", r.pixels)?;
        d.set_item("iterations", r.iterations)?;
        Ok(d)
    }

    /// Pickles as a call of the constructor with the record's fields.
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> (
        Bound<'py, pyo3::types::PyType>,
        (
            usize,
            usize,
            usize,
            usize,
            usize,
            usize,
            f64,
            f64,
            usize,
            u64,
        ),
    ) {
        let r = &slf.get().0;
        let fields = (
            r.task_id,
            r.thread_id,
            r.tile_x,
            r.tile_y,
            r.tile_w,
            r.tile_h,
            r.start_us,
            r.duration_us,
            r.pixels,
            r.iterations,
        );
        (slf.get_type(), fields)
    }

    fn __repr__(&self) -> String {
        self.0.to_string()
    }
}

/// Calls `on_tile(record)` or, with `tile_pixels`, `on_tile(record, pixels)`.
fn deliver(
    py: Python<'_>,
    on_tile: &Py<PyAny>,
    record: &core::TaskRecord,
    pixels: &[u32],
    tile_pixels: bool,
) -> PyResult<()> {
    let array = tile_pixels
        .then(|| PyArray1::from_slice(py, pixels).reshape([record.tile_h, record.tile_w]))
        .transpose()?;
    let record = Py::new(py, TaskRecord(record.clone()))?;
    if let Some(array) = array {
        on_tile.call1(py, (record, array))?;
    } else {
        on_tile.call1(py, (record,))?;
    }
    Ok(())
}

/// Renders the Mandelbrot set in tiles; see `parlab.render` for the documented API.
#[pyfunction]
#[pyo3(signature = (
    width = 800, height = 600, tile_w = 50, tile_h = 50, max_iter = 1000,
    strategy = core::Strategy::Dynamic, threads = None, time_limit_ms = None,
    viewport = core::Viewport::default(), on_tile = None, tile_pixels = false,
    kernel = core::Kernel::Auto, interior_shortcut = false,
))]
#[pyo3(
    text_signature = "(width=800, height=600, tile_w=50, tile_h=50, max_iter=1000, \
    strategy='dynamic', threads=None, time_limit_ms=None, viewport=..., \
    on_tile=None, tile_pixels=False, kernel='auto', interior_shortcut=False)"
)]
#[allow(clippy::too_many_arguments)]
fn render<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = args::width)] width: usize,
    #[pyo3(from_py_with = args::height)] height: usize,
    #[pyo3(from_py_with = args::tile_w)] tile_w: usize,
    #[pyo3(from_py_with = args::tile_h)] tile_h: usize,
    #[pyo3(from_py_with = args::max_iter)] max_iter: u32,
    #[pyo3(from_py_with = args::strategy)] strategy: core::Strategy,
    #[pyo3(from_py_with = args::threads)] threads: Option<usize>,
    #[pyo3(from_py_with = args::time_limit_ms)] time_limit_ms: Option<f64>,
    #[pyo3(from_py_with = args::viewport)] viewport: core::Viewport,
    on_tile: Option<Bound<'py, PyAny>>,
    #[pyo3(from_py_with = args::tile_pixels)] tile_pixels: bool,
    #[pyo3(from_py_with = args::kernel)] kernel: core::Kernel,
    #[pyo3(from_py_with = args::interior_shortcut)] interior_shortcut: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let config = core::RenderConfig {
        width,
        height,
        tile_w,
        tile_h,
        max_iter,
        strategy,
        threads,
        time_limit: time_limit_ms
            .map(core::time_limit_from_ms)
            .transpose()
            .map_err(to_py_err)?,
        viewport,
        kernel,
        interior_shortcut,
    };
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

    let records: Vec<TaskRecord> = run.records.iter().cloned().map(TaskRecord).collect();
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

/// The escape counts of one tile, (tile_h, tile_w) uint32, computed on this thread with
/// the GIL released: several Python threads calling it run in parallel. The same pixels,
/// checks and kernels as `render` (`viewport` defaults to `DEFAULT_VIEWPORT`); a tile not
/// inside the image is a ValueError. A large tile is computed in parts, so Ctrl-C stops it.
#[pyfunction]
#[pyo3(signature = (
    tile_x, tile_y, tile_w, tile_h, *, width = 800, height = 600, max_iter = 1000,
    viewport = core::Viewport::default(), kernel = core::Kernel::Auto, interior_shortcut = false,
))]
#[pyo3(
    text_signature = "(tile_x, tile_y, tile_w, tile_h, *, width=800, height=600, \
    max_iter=1000, viewport=..., kernel='auto', interior_shortcut=False)"
)]
#[allow(clippy::too_many_arguments)]
fn render_tile<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = args::tile_x)] tile_x: usize,
    #[pyo3(from_py_with = args::tile_y)] tile_y: usize,
    #[pyo3(from_py_with = args::tile_w)] tile_w: usize,
    #[pyo3(from_py_with = args::tile_h)] tile_h: usize,
    #[pyo3(from_py_with = args::width)] width: usize,
    #[pyo3(from_py_with = args::height)] height: usize,
    #[pyo3(from_py_with = args::max_iter)] max_iter: u32,
    #[pyo3(from_py_with = args::viewport)] viewport: core::Viewport,
    #[pyo3(from_py_with = args::kernel)] kernel: core::Kernel,
    #[pyo3(from_py_with = args::interior_shortcut)] interior_shortcut: bool,
) -> PyResult<Bound<'py, PyArray2<u32>>> {
    let frame = core::Frame {
        view: viewport,
        width,
        height,
        max_iter,
    };
    let tile = core::Tile::new(0, tile_x, tile_y, tile_w, tile_h);
    let mut interrupt = None;
    let mut pixels = Vec::new();
    let outcome = py.detach(|| {
        // Between bands of a large tile: a chance for Ctrl-C (on the main thread).
        let between = || match Python::attach(|py| py.check_signals()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                interrupt = Some(err);
                ControlFlow::Break(())
            }
        };
        core::render_one_tile(
            &frame,
            &tile,
            kernel,
            interior_shortcut,
            between,
            &mut pixels,
        )
    });
    if let Some(err) = interrupt {
        return Err(err);
    }
    outcome.map_err(to_py_err)?;
    PyArray1::from_vec(py, pixels).reshape([tile_h, tile_w])
}

/// Escape count of the point c = cr + ci·i, under parlab's pixel definition.
#[pyfunction]
fn escape_time(
    cr: f64,
    ci: f64,
    #[pyo3(from_py_with = args::max_iter)] max_iter: u32,
) -> PyResult<u32> {
    core::Frame {
        max_iter,
        ..Default::default()
    }
    .validate()
    .map_err(to_py_err)?;
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
        .map(|r| (r.call, r.thread_id, r.start_us, r.duration_us, r.value))
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
    m.add("MAX_TILES", core::MAX_TILES)?;
    let v = core::Viewport::default();
    m.add("DEFAULT_VIEWPORT", (v.re_min, v.re_max, v.im_min, v.im_max))?;
    m.add_class::<TaskRecord>()?;
    m.add_function(wrap_pyfunction!(render, m)?)?;
    m.add_function(wrap_pyfunction!(render_tile, m)?)?;
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
