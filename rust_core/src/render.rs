//! A whole render: validate the request, cut the image into tiles, let a strategy run
//! them, and collect the image and the timeline as tiles finish.
//!
//! Workers never share the image: each renders its tile into its own buffer and sends it,
//! with its record, over a channel to the calling thread, which assembles the image and
//! hands each finished tile to an event handler (the Python binding's `on_tile`) while
//! the workers keep going.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use crate::cancel::watch;
use crate::error::{Error, Result};
use crate::kernels::{render_tile_with, render_tile_work, Kernel};
use crate::mandelbrot::{Frame, Viewport};
use crate::schedule::Strategy;
use crate::tiles::{tile_count, tile_grid, Tile};
use crate::timeline::{micros, thread_cpu_us, RunClock, TaskRecord};

/// The largest image a render accepts (100 megapixels, 400 MB of counts).
pub const MAX_PIXELS: usize = 100_000_000;
/// The most tiles a render accepts: each costs a record and a task, so 1×1 tiles of a
/// large image would take gigabytes before the first pixel.
pub const MAX_TILES: usize = 1_000_000;
/// The most iterations per pixel a render accepts.
pub const MAX_ITER: u32 = 1_000_000;
/// The most threads a render accepts.
pub const MAX_THREADS: usize = 1024;
pub use crate::cancel::TICK;

/// What to render and how.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderConfig {
    pub width: usize,
    pub height: usize,
    pub tile_w: usize,
    pub tile_h: usize,
    pub max_iter: u32,
    pub strategy: Strategy,
    /// `None`: the machine's effective parallelism (affinity and CPU quota respected).
    pub threads: Option<usize>,
    /// No thread starts a tile after this much time.
    pub time_limit: Option<Duration>,
    pub viewport: Viewport,
    /// How each tile's pixels are computed; `Auto` picks the best this CPU supports.
    pub kernel: Kernel,
    /// Give points of the main cardioid and the period-2 bulb `max_iter` without
    /// iterating (they never escape, so the counts stay identical).
    pub interior_shortcut: bool,
}

impl Default for RenderConfig {
    /// The original course demo: 800×600 in 50×50 tiles, 1000 iterations.
    fn default() -> Self {
        RenderConfig {
            width: 800,
            height: 600,
            tile_w: 50,
            tile_h: 50,
            max_iter: 1000,
            strategy: Strategy::Dynamic,
            threads: None,
            time_limit: None,
            viewport: Viewport::default(),
            kernel: Kernel::Auto,
            interior_shortcut: false,
        }
    }
}

impl RenderConfig {
    /// The image this render makes, without the scheduling.
    pub fn frame(&self) -> Frame {
        Frame {
            view: self.viewport,
            width: self.width,
            height: self.height,
            max_iter: self.max_iter,
        }
    }

    /// Checks every parameter, before anything is allocated, and returns the number of
    /// threads the render will use.
    pub fn validate(&self) -> Result<usize> {
        self.frame().validate()?;
        let tiles = checked_tile_count(self.width, self.height, self.tile_w, self.tile_h)?;
        if tiles > MAX_TILES {
            return Err(Error::invalid(
                "tile_w",
                format!(
                    "tiles of tile_w × tile_h = {} × {} cut the {}×{} image into {tiles} tiles, \
                     over the limit of {MAX_TILES} tiles: use larger tiles",
                    self.tile_w, self.tile_h, self.width, self.height
                ),
            ));
        }
        self.kernel.resolve()?;
        let threads = match (self.strategy, self.threads) {
            (Strategy::Sequential, None | Some(1)) => 1,
            (Strategy::Sequential, Some(n)) => {
                return Err(Error::invalid(
                    "threads",
                    format!("the sequential strategy runs on exactly 1 thread, got {n}"),
                ))
            }
            (_, Some(n)) if (1..=MAX_THREADS).contains(&n) => n,
            (_, Some(n)) => {
                return Err(Error::invalid(
                    "threads",
                    format!("must be between 1 and {MAX_THREADS}, got {n}"),
                ))
            }
            (_, None) => default_threads(),
        };
        Ok(threads)
    }
}

impl Viewport {
    /// A viewport must be finite and non-empty: anything else renders nonsense.
    pub fn validate(&self) -> Result<()> {
        let corners = [self.re_min, self.re_max, self.im_min, self.im_max];
        if corners.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "viewport",
                format!("every bound must be a finite number, got {corners:?}"),
            ));
        }
        if self.re_min >= self.re_max || self.im_min >= self.im_max {
            return Err(Error::invalid(
                "viewport",
                format!(
                    "must be non-empty: need re_min < re_max and im_min < im_max, got {corners:?}"
                ),
            ));
        }
        Ok(())
    }
}

impl Frame {
    /// Checks the image size, the iteration limit and the viewport.
    pub fn validate(&self) -> Result<()> {
        for (name, value) in [("width", self.width), ("height", self.height)] {
            if value == 0 {
                return Err(Error::invalid(name, "must be at least 1"));
            }
        }
        match self.width.checked_mul(self.height) {
            Some(p) if p <= MAX_PIXELS => {}
            _ => {
                return Err(Error::invalid(
                    "width",
                    format!(
                        "width × height = {} × {} is over the limit of {MAX_PIXELS} pixels",
                        self.width, self.height
                    ),
                ))
            }
        }
        check_max_iter(self.max_iter)?;
        self.view.validate()
    }

    /// Checks that `tile` is a non-empty rectangle inside the image.
    pub fn check_tile(&self, tile: &Tile) -> Result<()> {
        checked_tile_count(tile.w, tile.h, tile.w, tile.h)?;
        for (name, start, size, side, limit) in [
            ("tile_x", tile.x, tile.w, "width", self.width),
            ("tile_y", tile.y, tile.h, "height", self.height),
        ] {
            if start.checked_add(size).is_none_or(|end| end > limit) {
                return Err(Error::invalid(
                    name,
                    format!(
                        "the tile's pixels {start}..{start}+{size} are not all inside the \
                         image's {side} of {limit}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Checks an iteration limit against [`MAX_ITER`].
pub fn check_max_iter(max_iter: u32) -> Result<()> {
    if !(1..=MAX_ITER).contains(&max_iter) {
        return Err(Error::invalid(
            "max_iter",
            format!("must be between 1 and {MAX_ITER}, got {max_iter}"),
        ));
    }
    Ok(())
}

/// [`tile_count`] for tiles of at least 1×1 pixel (an error naming the other size).
pub fn checked_tile_count(
    width: usize,
    height: usize,
    tile_w: usize,
    tile_h: usize,
) -> Result<usize> {
    for (name, value) in [("tile_w", tile_w), ("tile_h", tile_h)] {
        if value == 0 {
            return Err(Error::invalid(name, "must be at least 1"));
        }
    }
    Ok(tile_count(width, height, tile_w, tile_h))
}

/// The most iterations one part of [`render_one_tile`] may cost: tens of milliseconds.
const PART_ITERATIONS: u64 = 1 << 24;

/// Renders one tile of `frame` on this thread with `kernel`: the building block of a
/// scheduler written by hand (the Python binding's `render_tile`). The frame, the tile
/// and the kernel are checked before anything is allocated. A tile that could take long
/// is rendered in parts (bands of rows, or pieces of a row), calling `between()` after
/// each: `Break` cancels it (`Err(Cancelled)`), which is how a caller keeps Ctrl-C working.
pub fn render_one_tile(
    frame: &Frame,
    tile: &Tile,
    kernel: Kernel,
    interior_shortcut: bool,
    mut between: impl FnMut() -> ControlFlow<()>,
    out: &mut Vec<u32>,
) -> Result<u64> {
    frame.validate()?;
    frame.check_tile(tile)?;
    let kernel = kernel.resolve()?;
    let never = AtomicBool::new(false);
    let render = |part: &Tile, out: &mut Vec<u32>| {
        render_tile_with(kernel, interior_shortcut, frame, part, &never, out)
    };
    // Parts of at most PART_ITERATIONS in the worst case (every pixel reaching max_iter).
    let row_cost = tile.w as u64 * u64::from(frame.max_iter);
    let cols = (PART_ITERATIONS / u64::from(frame.max_iter))
        .min(tile.w as u64)
        .max(1) as usize;
    let rows = (PART_ITERATIONS / row_cost).min(tile.h as u64).max(1) as usize;
    if rows == tile.h {
        return render(tile, out);
    }
    out.clear();
    out.resize(tile.pixels(), 0);
    let (mut work, mut pixels) = (0, Vec::new());
    for y in (0..tile.h).step_by(rows) {
        for x in (0..tile.w).step_by(cols) {
            if (x, y) != (0, 0) && between().is_break() {
                return Err(Error::Cancelled);
            }
            let (w, h) = (cols.min(tile.w - x), rows.min(tile.h - y));
            work += render(
                &Tile::new(tile.task_id, tile.x + x, tile.y + y, w, h),
                &mut pixels,
            )?;
            paste(out, tile.w, x, y, w, &pixels);
        }
    }
    Ok(work)
}

/// The thread count a pool should use here: the CPUs this process may run on, within its
/// cgroup CPU quota (std reads both on Linux).
pub fn default_threads() -> usize {
    thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
}

/// A time limit in milliseconds, as users give it, checked.
pub fn time_limit_from_ms(ms: f64) -> Result<Duration> {
    if !(ms.is_finite() && ms >= 0.0) {
        return Err(Error::invalid(
            "time_limit_ms",
            format!("must be a finite number ≥ 0, got {ms}"),
        ));
    }
    Duration::try_from_secs_f64(ms / 1e3)
        .map_err(|e| Error::invalid("time_limit_ms", format!("{ms} is out of range: {e}")))
}

/// The result of a render: the image, the timeline, and how the run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderRun {
    pub width: usize,
    pub height: usize,
    /// Escape counts, row-major; 0 for pixels of tiles that were never rendered.
    pub iterations: Vec<u32>,
    /// One record per rendered tile, ordered by start time.
    pub records: Vec<TaskRecord>,
    pub total_tiles: usize,
    /// True when the time limit kept at least one tile from starting.
    pub time_limited: bool,
    /// From the start of the run until every worker had stopped.
    pub elapsed_us: f64,
    pub strategy: Strategy,
    pub threads: usize,
    /// The kernel that ran: a concrete path (`Scalar`, `Avx512`, ...), never `Auto`.
    pub kernel: Kernel,
    pub interior_shortcut: bool,
}

impl RenderRun {
    pub fn completed_tiles(&self) -> usize {
        self.records.len()
    }

    /// Escape count of pixel (x, y).
    pub fn count(&self, x: usize, y: usize) -> u32 {
        self.iterations[y * self.width + x]
    }
}

/// What the calling thread sees while a render runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// A tile finished (events arrive in completion order).
    Tile {
        record: &'a TaskRecord,
        pixels: &'a [u32],
    },
    /// No tile finished for [`TICK`]: a chance to check for interrupts.
    Tick,
}

/// Renders and waits for the whole image.
pub fn render(config: &RenderConfig) -> Result<RenderRun> {
    render_with(config, |_| ControlFlow::Continue(()))
}

/// Renders, calling `on_event` on this thread for every finished tile and every tick while
/// the workers run. Returning `Break` cancels the render: every worker stops within a
/// pixel, and the call returns `Err(Error::Cancelled)` once all of them have stopped.
pub fn render_with(
    config: &RenderConfig,
    on_event: impl FnMut(Event<'_>) -> ControlFlow<()>,
) -> Result<RenderRun> {
    let threads = config.validate()?;
    let tiles = tile_grid(config.width, config.height, config.tile_w, config.tile_h);
    let job = Job {
        config,
        frame: config.frame(),
        kernel: config.kernel.resolve()?,
        clock: RunClock::start(),
        stop: AtomicBool::new(false),
        time_limited: AtomicBool::new(false),
    };
    let (mut run, cancelled) = thread::scope(|scope| {
        let (workers, finished) = job.spawn(scope, &tiles, threads)?;
        let (mut run, cancelled) = job.collect(&finished, tiles.len(), threads, on_event);
        let (outcome, elapsed) = workers
            .join()
            .map_err(|_| Error::ThreadPool("a worker thread panicked".into()))?;
        outcome?;
        run.elapsed_us = micros(elapsed);
        Ok::<_, Error>((run, cancelled))
    })?;
    if cancelled {
        return Err(Error::Cancelled);
    }
    run.time_limited = job.time_limited.into_inner() && run.records.len() < tiles.len();
    Ok(run)
}

/// What a worker sends the calling thread for each finished tile.
type Finished = (TaskRecord, Vec<u32>);
/// The thread running the strategy: its outcome and when the last worker stopped.
type Workers<'scope> = ScopedJoinHandle<'scope, (Result<()>, Duration)>;

/// The state all workers of one render share.
struct Job<'a> {
    config: &'a RenderConfig,
    frame: Frame,
    /// `config.kernel`, resolved once for the whole run.
    kernel: Kernel,
    clock: RunClock,
    /// Raised to cancel: workers stop within a pixel.
    stop: AtomicBool,
    /// Raised by the first worker that refuses a tile because the time limit passed.
    time_limited: AtomicBool,
}

impl<'a> Job<'a> {
    /// Starts the strategy's workers on `tiles`, on a thread of their own (so that this
    /// thread can watch): each finished tile comes back over the returned channel, which
    /// closes once every worker has stopped.
    fn spawn<'scope>(
        &'scope self,
        scope: &'scope Scope<'scope, '_>,
        tiles: &'scope [Tile],
        threads: usize,
    ) -> Result<(Workers<'scope>, Receiver<Finished>)> {
        let (sender, finished) = mpsc::channel::<Finished>();
        let workers = thread::Builder::new()
            .name("parlab-render".into())
            .spawn_scoped(scope, move || {
                let render_one = |thread_id: usize, tile: &Tile| match self.render(thread_id, tile)
                {
                    Some(done) => {
                        // The receiver lives until this thread ends, so this cannot fail.
                        let _ = sender.send(done);
                        ControlFlow::Continue(())
                    }
                    None => ControlFlow::Break(()),
                };
                let outcome = self.config.strategy.run(tiles, threads, &render_one);
                (outcome, self.clock.elapsed())
                // `sender` is dropped here, which ends `collect`.
            })
            .map_err(|e| Error::ThreadPool(e.to_string()))?;
        Ok((workers, finished))
    }

    /// Assembles the image and the records from the finished tiles, handing each one to
    /// `on_event` (and a tick every [`TICK`] without one) until the workers have stopped.
    /// Returns the run (still without its time) and whether `on_event` cancelled it.
    fn collect(
        &self,
        finished: &Receiver<Finished>,
        total_tiles: usize,
        threads: usize,
        mut on_event: impl FnMut(Event<'_>) -> ControlFlow<()>,
    ) -> (RenderRun, bool) {
        let c = self.config;
        let mut iterations = vec![0u32; c.width * c.height];
        let mut records = Vec::with_capacity(total_tiles);
        let cancelled = watch(finished, &self.stop, |news| {
            let Some((record, pixels)) = news else {
                return on_event(Event::Tick);
            };
            let (x, y, w) = (record.tile_x, record.tile_y, record.tile_w);
            paste(&mut iterations, c.width, x, y, w, &pixels);
            let flow = on_event(Event::Tile {
                record: &record,
                pixels: &pixels,
            });
            records.push(record);
            flow
        });
        records.sort_by(|a, b| a.start_us.total_cmp(&b.start_us));
        let run = RenderRun {
            width: c.width,
            height: c.height,
            iterations,
            records,
            total_tiles,
            time_limited: false,
            elapsed_us: 0.0,
            strategy: c.strategy,
            threads,
            kernel: self.kernel,
            interior_shortcut: c.interior_shortcut,
        };
        (run, cancelled)
    }

    /// Renders `tile` on thread `thread_id`, or returns `None` if the thread must stop.
    fn render(&self, thread_id: usize, tile: &Tile) -> Option<(TaskRecord, Vec<u32>)> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let start = Instant::now();
        if let Some(limit) = self.config.time_limit {
            if start.saturating_duration_since(self.clock.started()) >= limit {
                self.time_limited.store(true, Ordering::Relaxed);
                return None;
            }
        }
        let cpu_start = thread_cpu_us();
        let mut pixels = Vec::new();
        let shortcut = self.config.interior_shortcut;
        let work = render_tile_work(
            self.kernel,
            shortcut,
            &self.frame,
            tile,
            &self.stop,
            &mut pixels,
        )
        .ok()?;
        // The CPU clock is read inside the wall-clock interval, so that cpu_us ≤ duration_us.
        let cpu_us = thread_cpu_us().zip(cpu_start).map(|(b, a)| b - a);
        let end = Instant::now();
        let record = TaskRecord::new(
            tile,
            thread_id,
            &self.clock,
            start,
            end,
            work.iterations,
            cpu_us,
        )
        .with_lanes(work.lanes);
        Some((record, pixels))
    }
}

/// Copies the counts of a tile `w` pixels wide at (x, y) into its place in an image
/// `width` pixels wide.
fn paste(image: &mut [u32], width: usize, x: usize, y: usize, w: usize, pixels: &[u32]) {
    for (row, line) in pixels.chunks_exact(w).enumerate() {
        let start = (y + row) * width + x;
        image[start..start + w].copy_from_slice(line);
    }
}
