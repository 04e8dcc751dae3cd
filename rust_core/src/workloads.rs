//! Small CPU-bound workloads for the lessons: the naive Fibonacci of the course's fib
//! experiment, computed sequentially, on scoped threads, with rayon's `join`, and as a
//! batch of calls spread over a pool with a record per call.
//!
//! `fib` is deliberately naive (exponential): every call is tiny, so the lesson is about
//! how the calls are shared between threads, not about a clever algorithm.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::timeline::{micros, RunClock, Span};

/// The largest `n` accepted where a caller could otherwise wait for minutes.
pub const MAX_FIB_N: u32 = 40;

/// The deliberately slow, doubly recursive Fibonacci of the original article
/// (fib(0) = fib(1) = 1): pure computation, no memory traffic.
pub fn fib(n: u32) -> u64 {
    if n < 2 {
        1
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// fib(n) with the top `depth` levels of the recursion on their own scoped threads:
/// 2^depth − 1 threads are spawned (depth 1: one extra thread takes fib(n − 1)).
pub fn fib_scoped(n: u32, depth: u32) -> u64 {
    if depth == 0 || n < 2 {
        return fib(n);
    }
    thread::scope(|s| {
        let left = s.spawn(|| fib_scoped(n - 1, depth - 1));
        let right = fib_scoped(n - 2, depth - 1);
        // fib cannot panic, so neither can the thread.
        left.join().unwrap_or_else(|_| unreachable!()) + right
    })
}

/// fib(n) split with `rayon::join` down to `cutoff`, below which it runs sequentially:
/// without a cutoff the cost of a join (tens of ns) dwarfs the tiny calls near the leaves.
pub fn fib_join(n: u32, cutoff: u32) -> u64 {
    if n <= cutoff.max(1) {
        return fib(n);
    }
    let (a, b) = rayon::join(|| fib_join(n - 1, cutoff), || fib_join(n - 2, cutoff));
    a + b
}

/// [`fib_join`] on a local rayon pool of exactly `threads` threads (the global pool is
/// never touched, so a notebook can compare 1, 2, 4 … threads in one process).
pub fn fib_join_on(threads: usize, n: u32, cutoff: u32) -> Result<u64> {
    crate::schedule::local_pool(threads, |pool| pool.install(|| fib_join(n, cutoff)))
}

/// Runs `f` once and returns its result with the wall-clock time it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// The fastest of `runs` runs of `f` (at least one): on a shared machine the minimum is
/// the least disturbed measurement.
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, Duration) {
    let (mut value, mut best) = timed(&mut f);
    for _ in 1..runs {
        let (v, t) = timed(&mut f);
        if t < best {
            (value, best) = (v, t);
        }
    }
    (value, best)
}

/// Checks `n` against [`MAX_FIB_N`].
pub fn check_fib_n(n: u32) -> Result<()> {
    if n > MAX_FIB_N {
        return Err(Error::invalid(
            "n",
            format!("must be at most {MAX_FIB_N}, got {n}"),
        ));
    }
    Ok(())
}

/// `calls` independent calls of `fib(n)` spread by rayon over a local pool of `threads`
/// threads, one [`Span`] per call (by start time): `id` is the call, `worker` the pool
/// thread, and `work` the value, which for this `fib` is also the number of leaves of its
/// recursion. Calls not yet started when `stop` is raised are skipped (and not recorded).
pub fn fib_calls(n: u32, calls: usize, threads: usize, stop: &AtomicBool) -> Result<Vec<Span>> {
    check_fib_n(n)?;
    if !(1..=crate::render::MAX_THREADS).contains(&threads) {
        return Err(Error::invalid(
            "workers",
            format!(
                "must be between 1 and {}, got {threads}",
                crate::render::MAX_THREADS
            ),
        ));
    }
    let clock = RunClock::start();
    let mut records: Vec<Span> = crate::schedule::local_pool(threads, |pool| {
        pool.install(|| {
            (0..calls)
                .into_par_iter()
                .filter_map(|call| {
                    if stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    let start = Instant::now();
                    let value = fib(n);
                    Some(Span {
                        worker: rayon::current_thread_index().unwrap_or(0),
                        id: call,
                        start_us: clock.micros_at(start),
                        duration_us: micros(start.elapsed()),
                        label: format!("fib({n})"),
                        work: value as f64,
                    })
                })
                .collect()
        })
    })?;
    records.sort_by(|a, b| a.start_us.total_cmp(&b.start_us));
    Ok(records)
}

/// Moved to [`crate::cancel`], where the render's tick loop is too.
pub use crate::cancel::run_cancellable;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_follows_the_articles_definition() {
        let first: Vec<u64> = (0..10).map(fib).collect();
        assert_eq!(first, [1, 1, 2, 3, 5, 8, 13, 21, 34, 55]);
        assert_eq!(fib(30), 1_346_269);
    }

    #[test]
    fn calls_are_spread_and_recorded_once() {
        let stop = AtomicBool::new(false);
        let records = fib_calls(15, 40, 3, &stop).unwrap();
        let mut calls: Vec<usize> = records.iter().map(|r| r.id).collect();
        calls.sort();
        assert_eq!(calls, (0..40).collect::<Vec<_>>());
        assert!(records
            .iter()
            .all(|r| r.worker < 3 && r.work == fib(15) as f64 && r.label == "fib(15)"));
    }

    #[test]
    fn stop_skips_the_remaining_calls() {
        let stop = AtomicBool::new(true);
        assert!(fib_calls(20, 100, 2, &stop).unwrap().is_empty());
    }

    #[test]
    fn bad_arguments_are_named() {
        let stop = AtomicBool::new(false);
        assert!(fib_calls(41, 1, 1, &stop)
            .unwrap_err()
            .to_string()
            .starts_with("n:"));
        assert!(fib_calls(10, 1, 0, &stop)
            .unwrap_err()
            .to_string()
            .starts_with("workers:"));
    }

    #[test]
    fn every_version_agrees() {
        for n in [0, 1, 2, 10, 22] {
            assert_eq!(fib_scoped(n, 3), fib(n), "scoped {n}");
            assert_eq!(fib_join(n, 5), fib(n), "join {n}");
            assert_eq!(fib_join(n, 0), fib(n), "join without cutoff {n}");
            assert_eq!(
                fib_join_on(2, n, 8).unwrap(),
                fib(n),
                "join on 2 threads {n}"
            );
        }
    }

    #[test]
    fn best_of_keeps_the_value() {
        let (v, _) = best_of(3, || fib(15));
        assert_eq!(v, fib(15));
    }
}
