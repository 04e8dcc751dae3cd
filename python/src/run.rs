//! The renderer's Python face: `render`, `render_tile`, and the core's `RenderRun` and
//! `TaskRecord` wrapped so that their getters delegate to the core.

use std::ops::ControlFlow;

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyUntypedArrayMethods};
use parlab_core as core;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PySlice, PyTuple, PyType};

use crate::{args, to_py_err};

/// Collects the Python exception (Ctrl-C, or a callback's) that stops a long call made
/// without the GIL: `check` takes the GIL briefly and says whether to go on.
#[derive(Default)]
pub struct Interrupts {
    pub raised: Option<PyErr>,
}

impl Interrupts {
    /// Runs `f`, then looks for signals (Ctrl-C is only seen on the main thread).
    pub fn check(&mut self, f: impl FnOnce(Python<'_>) -> PyResult<()>) -> ControlFlow<()> {
        match Python::attach(|py| f(py).and_then(|()| py.check_signals())) {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                self.raised = Some(err);
                ControlFlow::Break(())
            }
        }
    }

    /// The call's own result, unless an exception stopped it: that one, unchanged.
    pub fn result<T>(self, outcome: core::Result<T>) -> PyResult<T> {
        match self.raised {
            Some(err) => Err(err),
            None => outcome.map_err(to_py_err),
        }
    }
}

/// One rendered tile: which thread ran it, when (µs since the run started), and its work.
#[pyclass(frozen, eq, module = "parlab", name = "TaskRecord")]
#[derive(Clone, PartialEq)]
pub struct TaskRecord(core::TaskRecord);

#[pymethods]
impl TaskRecord {
    /// A record built by hand, e.g. from another scheduler's task stream.
    ///
    /// lane_steps, useful_lane_steps: the lane-steps the kernel issued and the ones that
    /// iterated a pixel; both or neither (then those of a scalar kernel: `iterations`).
    #[new]
    #[pyo3(signature = (task_id, thread_id, tile_x, tile_y, tile_w, tile_h, start_us, duration_us, pixels, iterations, cpu_us = None, lane_steps = None, useful_lane_steps = None))]
    #[allow(clippy::too_many_arguments)] // the record's fields, by keyword
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
        cpu_us: Option<f64>,
        lane_steps: Option<u64>,
        useful_lane_steps: Option<u64>,
    ) -> PyResult<Self> {
        let lanes = match (lane_steps, useful_lane_steps) {
            (None, None) => core::LaneSteps::scalar(iterations),
            (Some(issued), Some(useful)) if useful <= issued => core::LaneSteps { issued, useful },
            (Some(issued), Some(useful)) => {
                return Err(PyValueError::new_err(format!(
                    "useful_lane_steps: must be at most lane_steps ({issued}), got {useful}"
                )))
            }
            (None, Some(_)) => {
                return Err(PyValueError::new_err(
                    "lane_steps: needed with useful_lane_steps (give both or neither)",
                ))
            }
            (Some(_), None) => {
                return Err(PyValueError::new_err(
                    "useful_lane_steps: needed with lane_steps (give both or neither)",
                ))
            }
        };
        Ok(TaskRecord(core::TaskRecord {
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
            cpu_us,
            lanes,
        }))
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
    /// CPU time the rendering thread got during the tile (µs); None where unreadable.
    #[getter]
    fn cpu_us(&self) -> Option<f64> {
        self.0.cpu_us
    }
    /// Lane-steps the tile's kernel issued: one per lane of every vector step (the scalar
    /// kernel: one per iteration).
    #[getter]
    fn lane_steps(&self) -> u64 {
        self.0.lanes.issued
    }
    /// Lane-steps that iterated a pixel (the steps the scalar definition takes).
    #[getter]
    fn useful_lane_steps(&self) -> u64 {
        self.0.lanes.useful
    }
    /// useful_lane_steps / lane_steps, in (0, 1]: how much of the vector width did work
    /// (1.0 for the scalar kernel, and when no step was issued).
    #[getter]
    fn lane_utilization(&self) -> f64 {
        self.0.lane_utilization()
    }

    /// When the tile finished, in µs since the run started.
    #[getter]
    fn end_us(&self) -> f64 {
        self.0.end_us()
    }

    /// The record as a plain dict (JSON-ready), keyed like the constructor, plus
    /// `lane_utilization` (derived from the two lane-step counts).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let values = fields(py, &self.0)?;
        for (name, value) in RECORD_COLUMNS.iter().zip(values.iter()) {
            d.set_item(name, value)?;
        }
        d.set_item("lane_utilization", self.0.lane_utilization())?;
        Ok(d)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        Ok((slf.get_type(), fields(slf.py(), &slf.get().0)?))
    }

    fn __repr__(&self) -> String {
        self.0.to_string()
    }
}

/// The columns of `RenderRun.to_frame()` and the keys of `TaskRecord.to_dict()`.
const RECORD_COLUMNS: [&str; 13] = [
    "task_id",
    "thread_id",
    "tile_x",
    "tile_y",
    "tile_w",
    "tile_h",
    "start_us",
    "duration_us",
    "pixels",
    "iterations",
    "cpu_us",
    "lane_steps",
    "useful_lane_steps",
];

/// A record's fields in [`RECORD_COLUMNS`] order (the constructor's, and what it pickles
/// as): a tuple built by hand, as pyo3 converts tuples of at most 12.
fn fields<'py>(py: Python<'py>, r: &core::TaskRecord) -> PyResult<Bound<'py, PyTuple>> {
    let head = (
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
        r.cpu_us,
    )
        .into_pyobject(py)?;
    let tail = (r.lanes.issued, r.lanes.useful).into_pyobject(py)?;
    PyTuple::new(py, head.iter().chain(tail.iter()).collect::<Vec<_>>())
}

/// The result of `render`: the image, the timeline and how the run ended.
#[pyclass(frozen, module = "parlab", name = "RenderRun")]
pub struct RenderRun {
    /// The core's run; its `iterations` live in `image` instead (one copy, no conversion).
    run: core::RenderRun,
    image: Py<PyArray2<u32>>,
}

#[pymethods]
impl RenderRun {
    /// A run put together by hand (or unpickled): the image, the records, how it ended.
    #[new]
    #[pyo3(signature = (iterations, records, total_tiles, time_limited, elapsed_us, strategy, threads, kernel, interior_shortcut))]
    #[allow(clippy::too_many_arguments)] // the run's fields, by keyword
    fn new(
        iterations: Bound<'_, PyAny>,
        records: Vec<Bound<'_, TaskRecord>>,
        total_tiles: usize,
        time_limited: bool,
        elapsed_us: f64,
        #[pyo3(from_py_with = args::strategy)] strategy: core::Strategy,
        threads: usize,
        #[pyo3(from_py_with = args::kernel)] kernel: core::Kernel,
        interior_shortcut: bool,
    ) -> PyResult<Self> {
        let image = iterations.cast_into::<PyArray2<u32>>().map_err(|e| {
            PyTypeError::new_err(format!(
                "iterations: must be a 2-d uint32 numpy array ({e})"
            ))
        })?;
        let [height, width] = image.shape() else {
            unreachable!("a PyArray2 has two dimensions")
        };
        let run = core::RenderRun {
            width: *width,
            height: *height,
            iterations: Vec::new(),
            records: records.iter().map(|r| r.get().0.clone()).collect(),
            total_tiles,
            time_limited,
            elapsed_us,
            strategy,
            threads,
            kernel,
            interior_shortcut,
        };
        Ok(RenderRun {
            run,
            image: image.unbind(),
        })
    }

    /// Escape counts, shape (height, width), dtype uint32; 0 where a tile was not rendered.
    #[getter]
    fn iterations<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<u32>> {
        self.image.bind(py).clone()
    }

    /// One record per rendered tile, ordered by start time.
    #[getter]
    fn records(&self) -> Vec<TaskRecord> {
        self.run.records.iter().cloned().map(TaskRecord).collect()
    }

    #[getter]
    fn completed_tiles(&self) -> usize {
        self.run.completed_tiles()
    }
    #[getter]
    fn total_tiles(&self) -> usize {
        self.run.total_tiles
    }
    /// True when the time limit kept at least one tile from starting.
    #[getter]
    fn time_limited(&self) -> bool {
        self.run.time_limited
    }
    /// From the start of the run until every worker had stopped, in microseconds.
    #[getter]
    fn elapsed_us(&self) -> f64 {
        self.run.elapsed_us
    }
    #[getter]
    fn strategy(&self) -> &'static str {
        self.run.strategy.name()
    }
    #[getter]
    fn threads(&self) -> usize {
        self.run.threads
    }
    /// The kernel that ran: "scalar", "portable", "avx2", "avx512" or "neon" (never "auto").
    #[getter]
    fn kernel(&self) -> &'static str {
        self.run.kernel.name()
    }
    /// Whether cardioid and bulb points were given max_iter without iterating.
    #[getter]
    fn interior_shortcut(&self) -> bool {
        self.run.interior_shortcut
    }
    #[getter]
    fn width(&self) -> usize {
        self.run.width
    }
    #[getter]
    fn height(&self) -> usize {
        self.run.height
    }

    /// The escape counts of one record's tile (a view into `iterations`).
    fn tile<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, TaskRecord>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = &record.get().0;
        let rows = PySlice::new(py, r.tile_y as isize, (r.tile_y + r.tile_h) as isize, 1);
        let cols = PySlice::new(py, r.tile_x as isize, (r.tile_x + r.tile_w) as isize, 1);
        self.image.bind(py).get_item((rows, cols))
    }

    /// The records as a pandas DataFrame, one row per tile, with `end_us` and
    /// `lane_utilization` added (`cpu_us` is NaN where the thread's CPU time could not be
    /// read).
    fn to_frame<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = self
            .run
            .records
            .iter()
            .map(|r| fields(py, r))
            .collect::<PyResult<Vec<_>>>()?;
        let frame = data_frame(py, rows, &RECORD_COLUMNS, None)?;
        // Float even when no CPU time could be read (NaN, not an object column of None).
        let cpu = frame
            .get_item("cpu_us")?
            .call_method1("astype", ("float64",))?;
        frame.set_item("cpu_us", cpu)?;
        let end = frame
            .get_item("start_us")?
            .add(frame.get_item("duration_us")?)?;
        frame.set_item("end_us", end)?;
        let useful = frame
            .get_item("useful_lane_steps")?
            .call_method1("astype", ("float64",))?;
        let issued = frame.get_item("lane_steps")?;
        // 1.0 where no lane-step was issued, as `TaskRecord.lane_utilization` (`gt` as a
        // method: an element-wise Series, where pyo3's `gt` would ask for one bool).
        let some = issued.call_method1("gt", (0,))?;
        let share = useful.div(issued.call_method1("where", (&some, 1))?)?;
        frame.set_item(
            "lane_utilization",
            share.call_method1("where", (&some, 1.0))?,
        )?;
        Ok(frame)
    }

    /// One row per thread (index `thread_id`): tiles rendered, busy and idle time (ms),
    /// and iterations, from the core's `per_thread()`.
    fn per_thread<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stats = self.run.per_thread().0;
        let rows: Vec<(usize, f64, u64, f64)> = stats
            .iter()
            .map(|t| (t.tiles, t.busy_us / 1e3, t.iterations, t.idle_us / 1e3))
            .collect();
        let columns = ["tiles", "busy_ms", "iterations", "idle_ms"];
        data_frame(py, rows, &columns, Some("thread_id"))
    }

    /// Useful over issued lane-steps of the whole run, in (0, 1]: how much of the SIMD
    /// width did work (1.0 for the scalar kernel). Counted, so the same on any machine.
    fn lane_utilization(&self) -> f64 {
        core::timeline::lane_utilization(&self.run.records)
    }

    /// The busiest thread's busy time over the average thread's: 1.0 is a perfect balance.
    fn imbalance(&self) -> f64 {
        self.run.imbalance()
    }

    /// The busiest thread's iterations over the average thread's: how unevenly the
    /// schedule shared the *work*, whatever the machine did meanwhile.
    fn work_imbalance(&self) -> f64 {
        self.run.work_imbalance()
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let r = &this.run;
        let args = (
            this.image.bind(py).clone(),
            this.records(),
            r.total_tiles,
            r.time_limited,
            r.elapsed_us,
            r.strategy.name(),
            r.threads,
            r.kernel.name(),
            r.interior_shortcut,
        );
        (slf.get_type(), args)
            .into_pyobject(py)
            .map(Bound::into_any)
    }

    fn __repr__(&self) -> String {
        self.run.to_string()
    }
}

/// A pandas DataFrame of `rows` (tuples) with these column names; with `index`, the rows
/// are numbered 0..n under that name.
fn data_frame<'py, T: IntoPyObject<'py>>(
    py: Python<'py>,
    rows: Vec<T>,
    columns: &[&str],
    index: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let pandas = py.import("pandas")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("columns", columns)?;
    if let Some(name) = index {
        let numbered = PyDict::new(py);
        numbered.set_item("name", name)?;
        let range = pandas.call_method("RangeIndex", (rows.len(),), Some(&numbered))?;
        kwargs.set_item("index", range)?;
    }
    pandas.call_method("DataFrame", (rows,), Some(&kwargs))
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
    match array {
        Some(array) => on_tile.call1(py, (record, array))?,
        None => on_tile.call1(py, (record,))?,
    };
    Ok(())
}

/// Renders the Mandelbrot set in tiles, recording what every thread did.
///
/// strategy: one of `parlab.STRATEGIES` ("sequential", "static", "interleaved",
///     "dynamic", "rayon").
/// threads: worker threads; None means this machine's effective parallelism
///     (the CPUs this process may use, within its CPU quota). "sequential" uses 1.
/// time_limit_ms: no thread starts a tile after this; the rest of the image stays 0.
/// viewport: (re_min, re_max, im_min, im_max) of the complex plane (4 numbers, a numpy
///     array too); the default is `parlab.DEFAULT_VIEWPORT`, the whole set.
/// on_tile: called on this thread as each tile finishes, while the workers keep going,
///     as ``on_tile(record)`` or, with ``tile_pixels=True``, ``on_tile(record, pixels)``
///     where pixels is the tile's (tile_h, tile_w) uint32 array. If it raises, the
///     render stops and the exception propagates.
/// kernel: how each tile's pixels are computed, with identical counts: "auto" (the
///     fastest this CPU supports), "scalar" (one pixel at a time, the reference),
///     "simd" (the best vector path), or one path of `parlab.available_kernels()`
///     ("portable", "avx2", "avx512", "neon"). `run.kernel` says which one ran.
/// interior_shortcut: give points of the main cardioid and the period-2 bulb max_iter
///     without iterating (they never escape, so the counts stay identical).
///
/// Integers may be any `operator.index` type (numpy integers too). Interrupting (Ctrl-C,
/// or "interrupt kernel" in Jupyter) stops every worker and raises KeyboardInterrupt.
/// Bad parameters raise TypeError or ValueError naming them, before anything is allocated.
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
#[allow(clippy::too_many_arguments)] // the documented keywords of `parlab.render`, one each
pub fn render(
    py: Python<'_>,
    #[pyo3(from_py_with = args::width)] width: usize,
    #[pyo3(from_py_with = args::height)] height: usize,
    #[pyo3(from_py_with = args::tile_w)] tile_w: usize,
    #[pyo3(from_py_with = args::tile_h)] tile_h: usize,
    #[pyo3(from_py_with = args::max_iter)] max_iter: u32,
    #[pyo3(from_py_with = args::strategy)] strategy: core::Strategy,
    #[pyo3(from_py_with = args::threads)] threads: Option<usize>,
    #[pyo3(from_py_with = args::time_limit_ms)] time_limit_ms: Option<f64>,
    #[pyo3(from_py_with = args::viewport)] viewport: core::Viewport,
    #[pyo3(from_py_with = args::on_tile)] on_tile: Option<Py<PyAny>>,
    #[pyo3(from_py_with = args::tile_pixels)] tile_pixels: bool,
    #[pyo3(from_py_with = args::kernel)] kernel: core::Kernel,
    #[pyo3(from_py_with = args::interior_shortcut)] interior_shortcut: bool,
) -> PyResult<RenderRun> {
    let time_limit = time_limit_ms.map(core::time_limit_from_ms).transpose();
    let config = core::RenderConfig {
        width,
        height,
        tile_w,
        tile_h,
        max_iter,
        strategy,
        threads,
        time_limit: time_limit.map_err(to_py_err)?,
        viewport,
        kernel,
        interior_shortcut,
    };
    // Workers never hold the GIL. This thread waits without it too, and takes it back
    // only to deliver a tile to `on_tile` or to check for Ctrl-C / "interrupt kernel".
    let mut interrupts = Interrupts::default();
    let outcome = py.detach(|| {
        core::render_with(&config, |event| match (&event, &on_tile) {
            (core::Event::Tile { record, pixels }, Some(f)) => {
                interrupts.check(|py| deliver(py, f, record, pixels, tile_pixels))
            }
            _ => interrupts.check(|_| Ok(())),
        })
    });
    let mut run = interrupts.result(outcome)?;
    let pixels = std::mem::take(&mut run.iterations);
    let image = PyArray1::from_vec(py, pixels).reshape([run.height, run.width])?;
    Ok(RenderRun {
        run,
        image: image.unbind(),
    })
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
#[allow(clippy::too_many_arguments)] // the documented keywords of `parlab.render_tile`
pub fn render_tile<'py>(
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
    let (mut interrupts, mut pixels) = (Interrupts::default(), Vec::new());
    let outcome = py.detach(|| {
        // Between parts of a large tile: a chance for Ctrl-C (on the main thread).
        let between = || interrupts.check(|_| Ok(()));
        core::render_one_tile(
            &frame,
            &tile,
            kernel,
            interior_shortcut,
            between,
            &mut pixels,
        )
    });
    interrupts.result(outcome)?;
    PyArray1::from_vec(py, pixels).reshape([tile_h, tile_w])
}

/// `parlab.tile_count`: how many tiles of tile_w × tile_h cover a width × height image.
#[pyfunction]
pub fn tile_count(
    #[pyo3(from_py_with = args::width)] width: usize,
    #[pyo3(from_py_with = args::height)] height: usize,
    #[pyo3(from_py_with = args::tile_w)] tile_w: usize,
    #[pyo3(from_py_with = args::tile_h)] tile_h: usize,
) -> PyResult<usize> {
    core::checked_tile_count(width, height, tile_w, tile_h).map_err(to_py_err)
}
