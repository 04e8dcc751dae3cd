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
use crate::work_span::{EdgeKind, TaskGraph, MAX_NODES};

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

/// The smallest n at which [`fib_until`] looks at its stop flag: fib(24) is about 75,000
/// calls (a fraction of a millisecond), so a raised flag stops fib(40) within that, for a few
/// thousand checks in all.
pub const STOP_CHECK_N: u32 = 24;

/// [`fib`]`(n)` that gives up, returning None, once `stop` is raised: what lets Ctrl-C stop
/// one long call. The same calls and the same value as `fib` otherwise.
pub fn fib_until(n: u32, stop: &AtomicBool) -> Option<u64> {
    if n < STOP_CHECK_N {
        return Some(fib(n));
    }
    if stop.load(Ordering::Relaxed) {
        return None;
    }
    Some(fib_until(n - 1, stop)? + fib_until(n - 2, stop)?)
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

/// The task graph of [`fib_join`]`(n, cutoff)`, with counted work: every call of `fib`
/// costs 1. Each call above the cutoff is a fork (its own call: work 1) spawning both
/// halves of its `rayon::join`, and a join (work 0) where the two halves meet; a call at
/// or below the cutoff is one strand, the whole sequential `fib(n)` (2·fib(n) − 1 calls).
/// So the work is 2·fib(n) − 1 whatever the cutoff, and the span n − c + 2·fib(c) − 1 for
/// n > c = max(cutoff, 1): the same numbers on every machine. Nodes are labelled
/// ("fib(n)", "join fib(n)") when the graph is small enough to draw (≤ 2000 nodes).
pub fn fib_join_graph(n: u32, cutoff: u32) -> Result<TaskGraph> {
    check_fib_n(n)?;
    let cutoff = cutoff.max(1);
    let nodes = fib_join_graph_nodes(n, cutoff);
    if nodes > MAX_NODES as u64 {
        return Err(Error::invalid(
            "cutoff",
            format!(
                "fib_join({n}) with cutoff {cutoff} is a graph of {nodes} nodes, more than \
                 {MAX_NODES}: raise the cutoff"
            ),
        ));
    }
    let mut graph = TaskGraph::new("fib calls");
    let labelled = nodes <= 2000;
    fib_join_strands(&mut graph, n, cutoff, labelled)?;
    Ok(graph)
}

/// Adds the strands of fib_join(n) to `graph`: its first and last node.
fn fib_join_strands(
    graph: &mut TaskGraph,
    n: u32,
    cutoff: u32,
    labelled: bool,
) -> Result<(usize, usize)> {
    let node = |graph: &mut TaskGraph, work: u64, label: String| {
        if labelled {
            graph.add_labelled(work as f64, label)
        } else {
            graph.add_node(work as f64)
        }
    };
    if n <= cutoff {
        let leaf = node(graph, fib_call_count(n), format!("fib({n})"));
        return Ok((leaf, leaf));
    }
    let fork = node(graph, 1, format!("fib({n})"));
    let (a_first, a_last) = fib_join_strands(graph, n - 1, cutoff, labelled)?;
    let (b_first, b_last) = fib_join_strands(graph, n - 2, cutoff, labelled)?;
    let join = node(graph, 0, format!("join fib({n})"));
    graph.add_edge(fork, a_first, EdgeKind::Spawn)?;
    graph.add_edge(fork, b_first, EdgeKind::Spawn)?;
    graph.add_edge(a_last, join, EdgeKind::Join)?;
    graph.add_edge(b_last, join, EdgeKind::Join)?;
    Ok((fork, join))
}

/// How many calls the sequential `fib(n)` makes: 2·fib(n) − 1 (computed in O(n)).
pub fn fib_call_count(n: u32) -> u64 {
    let (mut a, mut b) = (1u64, 1u64); // fib(0), fib(1)
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    2 * a - 1
}

/// The nodes of [`fib_join_graph`]`(n, cutoff)` (cutoff ≥ 1), without building it.
fn fib_join_graph_nodes(n: u32, cutoff: u32) -> u64 {
    // nodes(k) = 1 for k ≤ cutoff, else 2 + nodes(k − 1) + nodes(k − 2).
    let (mut before, mut last) = (1u64, 1u64); // nodes(k − 2), nodes(k − 1) at k = cutoff + 1
    if n <= cutoff {
        return 1;
    }
    for _ in cutoff + 1..=n {
        (before, last) = (last, last.saturating_add(before).saturating_add(2));
    }
    last
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
                    let value = fib_until(n, stop)?;
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
    fn fib_until_is_fib_unless_stopped() {
        let go = AtomicBool::new(false);
        for n in [0, 1, 10, STOP_CHECK_N - 1, STOP_CHECK_N, STOP_CHECK_N + 3] {
            assert_eq!(fib_until(n, &go), Some(fib(n)), "fib_until({n})");
        }
        let stopped = AtomicBool::new(true);
        assert_eq!(
            fib_until(STOP_CHECK_N - 1, &stopped),
            Some(fib(STOP_CHECK_N - 1))
        ); // too small a call to look at the flag
        assert_eq!(fib_until(60, &stopped), None); // fib(60) would take hours
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
    fn fib_join_graph_has_the_closed_forms() {
        use crate::work_span::work_span;
        let fib_calls = |n: u32| 2 * fib(n) - 1;
        for n in [0u32, 1, 2, 5, 12, 18] {
            for cutoff in [0u32, 1, 2, 4, 10, 30] {
                let graph = fib_join_graph(n, cutoff).unwrap();
                assert_eq!(graph.len() as u64, fib_join_graph_nodes(n, cutoff.max(1)));
                let ws = work_span(graph).unwrap();
                let c = cutoff.max(1);
                let span = if n > c {
                    (n - c) as u64 + fib_calls(c)
                } else {
                    fib_calls(n)
                };
                assert_eq!(
                    ws.work(),
                    fib_calls(n) as f64,
                    "work of fib({n}), cutoff {cutoff}"
                );
                assert_eq!(ws.span(), span as f64, "span of fib({n}), cutoff {cutoff}");
                // The critical path takes a spawn at every level above the cutoff.
                let spawns = n.saturating_sub(c) as f64;
                assert_eq!(ws.burdened_span(2.0).unwrap(), span as f64 + 2.0 * spawns);
            }
        }
        assert_eq!(fib_call_count(30), fib_calls(30));
    }

    #[test]
    fn fib_join_graph_has_a_fork_and_a_join_per_rayon_join() {
        // fib_join(n) calls rayon::join once per call above the cutoff.
        fn joins(n: u32, c: u32) -> usize {
            if n <= c.max(1) {
                0
            } else {
                1 + joins(n - 1, c) + joins(n - 2, c)
            }
        }
        let graph = fib_join_graph(15, 6).unwrap();
        let spawns = graph
            .edges()
            .iter()
            .filter(|e| e.kind == EdgeKind::Spawn)
            .count();
        let join_edges = graph
            .edges()
            .iter()
            .filter(|e| e.kind == EdgeKind::Join)
            .count();
        assert_eq!((spawns, join_edges), (2 * joins(15, 6), 2 * joins(15, 6)));
        assert_eq!(graph.labels()[0], "fib(15)");
        assert!(
            fib_join_graph(40, 25).unwrap().labels().is_empty(),
            "too big to label"
        );
    }

    #[test]
    fn fib_join_graph_refuses_what_it_cannot_hold() {
        assert!(fib_join_graph(41, 20)
            .unwrap_err()
            .to_string()
            .starts_with("n:"));
        let err = fib_join_graph(40, 2).unwrap_err().to_string();
        assert!(
            err.starts_with("cutoff: fib_join(40) with cutoff 2"),
            "{err}"
        );
    }

    #[test]
    fn best_of_keeps_the_value() {
        let (v, _) = best_of(3, || fib(15));
        assert_eq!(v, fib(15));
    }
}
