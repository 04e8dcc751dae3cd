//! What every thread did, timed on a monotonic clock: a [`Span`] is one stretch of busy
//! time of one worker (a tile, a call, a download), and every timeline and chart reads
//! spans. A render keeps a richer [`TaskRecord`] per tile, which converts into a span.

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
}

impl TaskRecord {
    pub fn new(
        tile: &Tile,
        thread_id: usize,
        clock: &RunClock,
        start: Instant,
        end: Instant,
        iterations: u64,
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
        }
    }

    pub fn end_us(&self) -> f64 {
        self.start_us + self.duration_us
    }
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
