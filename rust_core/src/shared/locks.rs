//! The price of a lock, on a timeline: every span a thread worked, waited and held.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::checks::{check_lock_run, check_rounds, check_threads, check_wait};
use super::threads::{on_threads, spin_for};
use super::{MAX_THREADS, MAX_WAIT};
use crate::error::Result;
use crate::timeline::{micros, RunClock};

/// What a thread was doing during a span of a lock timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// Working without any lock.
    Work,
    /// Waiting to get a lock.
    Wait,
    /// Holding a lock.
    Hold,
}

impl Activity {
    pub fn name(self) -> &'static str {
        match self {
            Activity::Work => "work",
            Activity::Wait => "wait",
            Activity::Hold => "hold",
        }
    }
}

/// One span of a lock timeline: `thread_id` did `activity` (on `lock`, "" for none) from
/// `start_us` for `duration_us`. `timed_out` marks a wait that gave up.
#[derive(Debug, Clone, PartialEq)]
pub struct LockSpan {
    pub thread_id: usize,
    pub round: usize,
    pub activity: Activity,
    pub lock: &'static str,
    pub start_us: f64,
    pub duration_us: f64,
    pub timed_out: bool,
}

impl LockSpan {
    pub fn end_us(&self) -> f64 {
        self.start_us + self.duration_us
    }
}

/// A run recorded span by span.
#[derive(Debug, Clone, PartialEq)]
pub struct LockRun {
    pub threads: usize,
    pub rounds: usize,
    pub spans: Vec<LockSpan>,
    pub elapsed_us: f64,
    /// Lock waits that gave up after their timeout.
    pub timeouts: usize,
    /// Rounds (over all threads) that got every lock they wanted.
    pub completed: usize,
    pub stopped: bool,
}

impl LockRun {
    /// Time spent in `activity`, per thread (index = thread id), in µs.
    pub fn time_in(&self, activity: Activity) -> Vec<f64> {
        let mut total = vec![0.0; self.threads];
        for s in self.spans.iter().filter(|s| s.activity == activity) {
            total[s.thread_id] += s.duration_us;
        }
        total
    }

    /// Whether two threads ever held the same lock at once (a lock that works: never).
    pub fn holds_overlap(&self, lock: &str) -> bool {
        let mut holds: Vec<&LockSpan> = self
            .spans
            .iter()
            .filter(|s| s.activity == Activity::Hold && s.lock == lock)
            .collect();
        holds.sort_by(|a, b| a.start_us.total_cmp(&b.start_us));
        holds.windows(2).any(|w| w[1].start_us < w[0].end_us())
    }
}

/// `threads` threads each do `rounds` rounds of: `work` without the lock, then wait for one
/// shared lock and hold it for `hold` (spinning, like real work). Every span is recorded.
pub fn lock_timeline(
    threads: usize,
    rounds: usize,
    work: Duration,
    hold: Duration,
    stop: &AtomicBool,
) -> Result<LockRun> {
    check_threads(threads, MAX_THREADS)?;
    check_rounds(rounds)?;
    check_wait("work_us", work)?;
    check_wait("hold_us", hold)?;
    check_lock_run(threads, rounds, work, hold)?;
    let lock = parking_lot::Mutex::new(0u64);
    let clock = RunClock::start();
    let per_thread = on_threads(threads, |thread_id| {
        let mut log = SpanLog::new(thread_id, &clock);
        for round in 0..rounds {
            if stop.load(Relaxed) {
                break;
            }
            let t0 = Instant::now();
            spin_for(work);
            log.push(round, Activity::Work, "", t0, false);
            let t1 = Instant::now();
            let Some(mut count) = lock.try_lock_for(MAX_WAIT) else {
                log.push(round, Activity::Wait, "lock", t1, true);
                continue;
            };
            log.push(round, Activity::Wait, "lock", t1, false);
            let t2 = Instant::now();
            spin_for(hold);
            *count += 1;
            log.push(round, Activity::Hold, "lock", t2, false); // recorded before unlocking
            drop(count);
        }
        log.spans
    })?;
    let completed = *lock.lock() as usize;
    Ok(lock_run(
        threads, rounds, per_thread, &clock, completed, stop,
    ))
}

/// One thread's spans, timed on the run's clock.
pub(super) struct SpanLog<'a> {
    thread_id: usize,
    clock: &'a RunClock,
    pub(super) spans: Vec<LockSpan>,
    pub(super) completed: usize,
}

impl<'a> SpanLog<'a> {
    pub(super) fn new(thread_id: usize, clock: &'a RunClock) -> Self {
        SpanLog {
            thread_id,
            clock,
            spans: Vec::new(),
            completed: 0,
        }
    }

    /// Records a span from `start` until now.
    pub(super) fn push(
        &mut self,
        round: usize,
        activity: Activity,
        lock: &'static str,
        start: Instant,
        timed_out: bool,
    ) {
        self.spans.push(LockSpan {
            thread_id: self.thread_id,
            round,
            activity,
            lock,
            start_us: self.clock.micros_at(start),
            duration_us: micros(start.elapsed()),
            timed_out,
        });
    }
}

pub(super) fn lock_run(
    threads: usize,
    rounds: usize,
    per_thread: Vec<Vec<LockSpan>>,
    clock: &RunClock,
    completed: usize,
    stop: &AtomicBool,
) -> LockRun {
    let mut spans: Vec<LockSpan> = per_thread.into_iter().flatten().collect();
    spans.sort_by(|a, b| a.start_us.total_cmp(&b.start_us));
    LockRun {
        threads,
        rounds,
        timeouts: spans.iter().filter(|s| s.timed_out).count(),
        spans,
        elapsed_us: micros(clock.elapsed()),
        completed,
        stopped: stop.load(Relaxed),
    }
}
