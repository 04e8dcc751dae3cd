//! What every thread did, timed on a monotonic clock: a [`Span`] is one stretch of busy
//! time of one worker (a tile, a call, a download), and every timeline and chart reads
//! spans. A render keeps a richer [`TaskRecord`] per tile, which converts into a span.
//!
//! A span's wall time says when it ran, not that it had a CPU meanwhile: three threads
//! taking turns on one CPU each show a bar over the whole run. So a tile's record also
//! carries the CPU time its thread got during it ([`thread_cpu_us`] read before and after),
//! and the charts draw the share `cpu_us / duration_us`: a bar that had a CPU a third of
//! its time looks a third filled.

use std::time::{Duration, Instant};

use crate::tiles::Tile;

/// One rendered tile: which thread ran it, when, for how long, and how much work it was.
///
/// Times are microseconds (as `f64`, so sub-microsecond tiles still show) since the
/// run started. The original course demo printed whole milliseconds: 0 for every tile.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub task_id: usize,
    pub thread_id: usize,
    pub tile_x: usize,
    pub tile_y: usize,
    pub tile_w: usize,
    pub tile_h: usize,
    pub start_us: f64,
    pub duration_us: f64,
    pub pixels: usize,
    /// Sum of the tile's escape counts: the work it really was.
    pub iterations: u64,
    /// CPU time the rendering thread got during the tile, in µs (`None` where the
    /// platform has no per-thread CPU clock). Below `duration_us` when the thread waited
    /// for a CPU: other threads, of this run or not, had it.
    pub cpu_us: Option<f64>,
    /// How busy the kernel kept its SIMD lanes on this tile (counted, not timed).
    pub lanes: LaneSteps,
}

/// Lane-steps of a SIMD kernel: `issued` counts one per lane of every vector step a group
/// of pixels took (a step redone counts twice), `useful` one per step a lane spent on its
/// pixel's orbit (the steps the scalar definition takes for it). A lane whose pixel is done
/// idles until it gets a new one, so `useful / issued` says how much of the vector width
/// did work. The scalar kernel has one lane, always useful: `issued == useful`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LaneSteps {
    pub issued: u64,
    pub useful: u64,
}

impl LaneSteps {
    /// One lane doing `steps` steps, every one useful (the scalar kernel).
    pub const fn scalar(steps: u64) -> Self {
        LaneSteps {
            issued: steps,
            useful: steps,
        }
    }

    /// `useful / issued`, in (0, 1]; 1.0 when no step was issued (nothing idled).
    pub fn utilization(&self) -> f64 {
        if self.issued == 0 {
            1.0
        } else {
            self.useful as f64 / self.issued as f64
        }
    }
}

impl std::ops::Add for LaneSteps {
    type Output = LaneSteps;
    fn add(self, other: LaneSteps) -> LaneSteps {
        LaneSteps {
            issued: self.issued + other.issued,
            useful: self.useful + other.useful,
        }
    }
}

impl std::iter::Sum for LaneSteps {
    fn sum<I: Iterator<Item = LaneSteps>>(iter: I) -> LaneSteps {
        iter.fold(LaneSteps::default(), |a, b| a + b)
    }
}

impl TaskRecord {
    /// The record of `tile`, rendered by `thread_id` from `start` to `end`; `cpu_us` is the
    /// thread's CPU time in between (the difference of two [`thread_cpu_us`] readings).
    pub fn new(
        tile: &Tile,
        thread_id: usize,
        clock: &RunClock,
        start: Instant,
        end: Instant,
        iterations: u64,
        cpu_us: Option<f64>,
    ) -> Self {
        TaskRecord {
            task_id: tile.task_id,
            thread_id,
            tile_x: tile.x,
            tile_y: tile.y,
            tile_w: tile.w,
            tile_h: tile.h,
            start_us: clock.micros_at(start),
            duration_us: micros(end.saturating_duration_since(start)),
            pixels: tile.pixels(),
            iterations,
            cpu_us,
            lanes: LaneSteps::scalar(iterations),
        }
    }

    /// The record with the lane-steps its kernel counted (`new` assumes a scalar kernel).
    pub fn with_lanes(self, lanes: LaneSteps) -> Self {
        TaskRecord { lanes, ..self }
    }

    pub fn end_us(&self) -> f64 {
        self.start_us + self.duration_us
    }

    /// The share of the tile's wall time its thread was on a CPU (0..=1), if known.
    pub fn cpu_share(&self) -> Option<f64> {
        cpu_share(self.cpu_us, self.duration_us)
    }

    /// The share of the lane-steps the tile's kernel issued that did work, in (0, 1].
    pub fn lane_utilization(&self) -> f64 {
        self.lanes.utilization()
    }
}

/// Useful over issued lane-steps of all `records` together, in (0, 1].
pub fn lane_utilization(records: &[TaskRecord]) -> f64 {
    records
        .iter()
        .map(|r| r.lanes)
        .sum::<LaneSteps>()
        .utilization()
}

/// CPU time used so far by the calling thread, in µs: `clock_gettime` of
/// `CLOCK_THREAD_CPUTIME_ID`, or `None` where there is no such clock (not a Unix) or it
/// cannot be read. On Linux it is a system call of about 0.6 µs: two per tile are about
/// 1 % of a typical 50×50 tile (27–1400 µs with the SIMD kernels).
pub fn thread_cpu_us() -> Option<f64> {
    #[cfg(unix)]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable timespec; the call only writes into it.
        let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
        (status == 0).then(|| now.tv_sec as f64 * 1e6 + now.tv_nsec as f64 / 1e3)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// CPU time over wall time, clamped to 0..=1 (the two clocks tick apart by a few µs);
/// `None` without a CPU time or for an empty span.
pub fn cpu_share(cpu_us: Option<f64>, duration_us: f64) -> Option<f64> {
    let cpu = cpu_us.filter(|c| c.is_finite())?;
    (duration_us > 0.0).then(|| (cpu / duration_us).clamp(0.0, 1.0))
}

/// One stretch of busy time: `worker` (a thread, or an async task) ran item `id`,
/// described by `label`, from `start_us` for `duration_us` (µs since its run started).
///
/// `work` says how much work the span was, in its producer's unit, so that a chart can
/// shade by it: mean iterations per pixel for a tile, the leaves of the recursion (which
/// is also the value) for a call of the article's `fib`, 0 when unknown (a download).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub worker: usize,
    pub id: usize,
    pub start_us: f64,
    pub duration_us: f64,
    pub label: String,
    pub work: f64,
}

impl Span {
    pub fn end_us(&self) -> f64 {
        self.start_us + self.duration_us
    }
}

impl From<&TaskRecord> for Span {
    /// A tile as a span: its work is its mean iterations per pixel, so a tile's shade
    /// says how hard its pixels were, whatever its size (as in the Python timeline).
    fn from(r: &TaskRecord) -> Self {
        Span {
            worker: r.thread_id,
            id: r.task_id,
            start_us: r.start_us,
            duration_us: r.duration_us,
            label: format!("tile {} at ({}, {})", r.task_id, r.tile_x, r.tile_y),
            work: r.iterations as f64 / r.pixels.max(1) as f64,
        }
    }
}

/// The moment a run started, shared by all its threads.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    start: Instant,
}

impl RunClock {
    pub fn start() -> Self {
        RunClock {
            start: Instant::now(),
        }
    }

    pub fn started(&self) -> Instant {
        self.start
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn micros_at(&self, t: Instant) -> f64 {
        micros(t.saturating_duration_since(self.start))
    }
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// How long each thread was busy, in microseconds (index = thread id).
pub fn busy_us(records: &[TaskRecord], threads: usize) -> Vec<f64> {
    let mut busy = vec![0.0; threads];
    for r in records {
        if let Some(b) = busy.get_mut(r.thread_id) {
            *b += r.duration_us;
        }
    }
    busy
}
