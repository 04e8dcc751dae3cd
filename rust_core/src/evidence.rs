//! Evidence that a grade can rest on: the same verdict on a quiet, a busy and a 1-CPU
//! machine. The core's twin of Python's `parlab.evidence`.
//!
//! A wall-clock time says little about concurrency: on a busy machine a parallel program can
//! be as slow as a sequential one. What does not depend on the machine is *what happened*:
//! whether k calls were in progress at the same time, how much work each thread did, which
//! threads did it.
//!
//! ```
//! use std::time::Duration;
//! use parlab_core::evidence::Rendezvous;
//!
//! let meet = Rendezvous::new(2, Duration::from_secs(5), "calls");
//! let half = meet.task(|n: u64| n * 2);            // handed to the code under test
//! let (a, b) = std::thread::scope(|s| {
//!     let a = s.spawn(|| half(1)); // started, then the other half on this thread
//!     let b = half(2);
//!     (a.join().unwrap(), b)
//! });
//! assert_eq!((a, b), (2, 4));
//! assert!(meet.check().is_ok(), "{}", meet.check().unwrap_err());
//! ```
//!
//! Each call through [`Rendezvous::task`] (or [`Rendezvous::arrive`]) waits, up to `timeout`,
//! until k calls are in progress together. Code that really runs k calls at once meets at
//! once, on any machine: threads that share one CPU are all *in progress* while they take
//! turns. Code that runs the calls one after another, inside one lock, or starts a thread
//! and joins it before starting the next, never gets there: the first call waits out the
//! timeout, every later call runs straight through, and [`Rendezvous::check`] says what
//! was seen ("at most 1 fib call at a time").

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct State {
    in_progress: usize,
    peak: usize,
    calls: usize,
    reached: bool,
    timed_out: bool,
    /// Per thread, in the order threads first called: (thread, calls, work).
    by_thread: Vec<(ThreadId, usize, f64)>,
}

/// Counts the calls in progress and holds each until `k` are in progress together (or
/// until one call has waited `timeout` in vain; later calls then run straight through).
#[derive(Debug)]
pub struct Rendezvous {
    pub k: usize,
    pub timeout: Duration,
    /// What a call is, in messages: "tiles", "pages", "calls".
    pub what: String,
    state: Mutex<State>,
    met: Condvar,
}

/// A call in progress (see [`Rendezvous::arrive`]): it leaves when dropped.
#[derive(Debug)]
pub struct Arrival<'a> {
    meet: &'a Rendezvous,
    thread: ThreadId,
    work: f64,
}

impl Arrival<'_> {
    /// Sets the work this call did (default 1), added to its thread's total when it leaves.
    pub fn work(&mut self, work: f64) {
        self.work = work;
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        let mut state = self.meet.lock();
        state.in_progress -= 1;
        if let Some(entry) = state.by_thread.iter_mut().find(|e| e.0 == self.thread) {
            entry.2 += self.work;
        }
    }
}

impl Rendezvous {
    /// A rendezvous of `k` calls (at least 1), each waiting at most `timeout`; `what` names
    /// the calls in messages ("tiles").
    pub fn new(k: usize, timeout: Duration, what: &str) -> Self {
        let k = k.max(1);
        Rendezvous {
            k,
            timeout,
            what: what.to_string(),
            state: Mutex::new(State {
                reached: k <= 1,
                ..State::default()
            }),
            met: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking call cannot poison the records for the others.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Enters a call: counts it, waits until `k` calls are in progress (or the timeout),
    /// and returns a guard that leaves when dropped.
    pub fn arrive(&self) -> Arrival<'_> {
        let thread = thread::current().id();
        let mut state = self.lock();
        state.in_progress += 1;
        state.calls += 1;
        state.peak = state.peak.max(state.in_progress);
        match state.by_thread.iter_mut().find(|e| e.0 == thread) {
            Some(entry) => entry.1 += 1,
            None => state.by_thread.push((thread, 1, 0.0)),
        }
        if state.in_progress >= self.k && !state.reached {
            state.reached = true;
            self.met.notify_all();
        }
        let deadline = Instant::now() + self.timeout;
        while !(state.reached || state.timed_out) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.timed_out = true;
                self.met.notify_all();
                break;
            }
            state = self
                .met
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        drop(state);
        Arrival {
            meet: self,
            thread,
            work: 1.0,
        }
    }

    /// `f` wrapped: each call arrives at the rendezvous, then runs `f`.
    pub fn task<'a, A, R>(&'a self, f: impl Fn(A) -> R + Sync + 'a) -> impl Fn(A) -> R + Sync + 'a {
        move |arg| {
            let _call = self.arrive();
            f(arg)
        }
    }

    /// `f` wrapped as [`task`](Self::task), with `cost(&result)` as the work of each call.
    pub fn task_with_cost<'a, A, R>(
        &'a self,
        f: impl Fn(A) -> R + Sync + 'a,
        cost: impl Fn(&R) -> f64 + Sync + 'a,
    ) -> impl Fn(A) -> R + Sync + 'a {
        move |arg| {
            let mut call = self.arrive();
            let result = f(arg);
            call.work(cost(&result));
            result
        }
    }

    /// The most calls ever in progress at once.
    pub fn peak(&self) -> usize {
        self.lock().peak
    }

    /// Calls started.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// Whether `k` calls were in progress together at least once.
    pub fn reached(&self) -> bool {
        self.lock().reached
    }

    /// Whether a call waited `timeout` without meeting `k - 1` others.
    pub fn timed_out(&self) -> bool {
        self.lock().timed_out
    }

    /// How many distinct threads made calls.
    pub fn threads(&self) -> usize {
        self.lock().by_thread.len()
    }

    /// The threads that made calls, in the order they first called.
    pub fn thread_ids(&self) -> Vec<ThreadId> {
        self.lock().by_thread.iter().map(|e| e.0).collect()
    }

    /// Calls per thread, in the order the threads first called.
    pub fn calls_by_thread(&self) -> Vec<usize> {
        self.lock().by_thread.iter().map(|e| e.1).collect()
    }

    /// The work each thread did (1 per call, or the cost given), in the same order.
    pub fn work_by_thread(&self) -> Vec<f64> {
        self.lock().by_thread.iter().map(|e| e.2).collect()
    }

    /// `Ok` if `k` calls were in progress at once; otherwise what was seen, in plain words.
    pub fn check(&self) -> Result<(), String> {
        let state = self.lock();
        if state.reached {
            return Ok(());
        }
        let threads = state.by_thread.len();
        Err(never_met(
            self.k,
            &self.what,
            state.peak,
            state.calls,
            Some(threads),
        ))
    }

    /// As [`check`](Self::check), and exactly `threads` threads made the calls.
    pub fn check_threads(&self, threads: usize) -> Result<(), String> {
        self.check()?;
        let seen = self.threads();
        if seen != threads {
            return Err(format!(
                "{} ran on {seen} thread(s), expected {threads}",
                self.what
            ));
        }
        Ok(())
    }

    /// Panics with [`check`](Self::check)'s message when it is an `Err`: for a test cell
    /// (`meet.verify();`). The panic names the caller's line, not this one.
    #[track_caller]
    pub fn verify(&self) {
        if let Err(message) = self.check() {
            panic!("{message}");
        }
    }
}

/// An `AtomicU64` (the same `load`, `store` and `fetch_add`) that notes which threads use
/// it: each thread's first use waits (up to `timeout`) until `threads` threads are using it
/// together, and every operation is counted. A test hands it to the student's code and then
/// [`verify`](WatchedAtomic::verify)s that the increments came from that many threads running
/// at the same time, one at a time: a one-thread or a start-then-join answer cannot pass.
#[derive(Debug)]
pub struct WatchedAtomic {
    value: AtomicU64,
    id: usize,
    meet: Rendezvous,
    adds: AtomicU64,
    stores: AtomicU64,
}

static NEXT_WATCHED: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// The last `WatchedAtomic` (by id) this thread has used: a thread arrives once per counter.
    static LAST_WATCHED: Cell<usize> = const { Cell::new(0) };
}

impl WatchedAtomic {
    /// A counter starting at `value`, expecting `threads` threads to use it together.
    pub fn new(value: u64, threads: usize, timeout: Duration) -> Self {
        WatchedAtomic {
            value: AtomicU64::new(value),
            id: NEXT_WATCHED.fetch_add(1, Ordering::Relaxed),
            meet: Rendezvous::new(threads, timeout, "threads"),
            adds: AtomicU64::new(0),
            stores: AtomicU64::new(0),
        }
    }

    fn note(&self) {
        if LAST_WATCHED.with(|last| last.replace(self.id)) != self.id {
            drop(self.meet.arrive());
        }
    }

    pub fn load(&self, order: Ordering) -> u64 {
        self.note();
        self.value.load(order)
    }

    pub fn store(&self, value: u64, order: Ordering) {
        self.note();
        self.stores.fetch_add(1, Ordering::Relaxed);
        self.value.store(value, order);
    }

    pub fn fetch_add(&self, n: u64, order: Ordering) -> u64 {
        self.note();
        self.adds.fetch_add(1, Ordering::Relaxed);
        self.value.fetch_add(n, order)
    }

    /// The value now, read without being noted as a use (for the test itself).
    pub fn value(&self) -> u64 {
        self.value.load(Ordering::SeqCst)
    }

    /// How many distinct threads used the counter.
    pub fn threads(&self) -> usize {
        self.meet.threads()
    }

    /// `fetch_add` calls made.
    pub fn adds(&self) -> u64 {
        self.adds.load(Ordering::Relaxed)
    }

    /// `Ok` if `threads` threads used the counter at the same time and together made exactly
    /// `increments` calls of `fetch_add`, nothing else; otherwise what was seen, in plain words.
    pub fn check(&self, threads: usize, increments: u64) -> Result<(), String> {
        let seen = self.threads();
        if seen == 0 {
            return Err("the counter the test handed in was never used".into());
        }
        if seen < threads {
            return Err(format!(
                "only {seen} thread(s) used the counter, expected {threads}: start {threads} \
                 threads, each doing its own increments"
            ));
        }
        if !self.meet.reached() {
            return Err(format!(
                "your {seen} threads never used the counter at the same time (at most {} at \
                 once): start every thread before you join any",
                self.meet.peak()
            ));
        }
        let stores = self.stores.load(Ordering::Relaxed);
        if stores > 0 {
            return Err(format!(
                "{stores} store(s): a load then a store is two steps, and another thread's \
                 update in between is lost; use one indivisible fetch_add"
            ));
        }
        let adds = self.adds();
        if adds != increments {
            return Err(format!(
                "{adds} fetch_add calls for {increments} increments: add 1 at a time, \
                 `increments` times on each thread"
            ));
        }
        Ok(())
    }

    /// Panics with [`check`](Self::check)'s message when it is an `Err`: for a test cell.
    #[track_caller]
    pub fn verify(&self, threads: usize, increments: u64) {
        if let Err(message) = self.check(threads, increments) {
            panic!("{message}");
        }
    }
}

/// What a rendezvous of `k` `what` (a plural: "tiles") that was never reached saw: at most
/// `peak` in progress at once, `calls` calls, on `threads` threads where known. Shared by
/// [`Rendezvous`] and the latency server, so that every exercise says it the same way.
pub fn never_met(
    k: usize,
    what: &str,
    peak: usize,
    calls: usize,
    threads: Option<usize>,
) -> String {
    if calls == 0 {
        return format!("no {what} were made through the function the test handed in");
    }
    let hint = if peak <= 1 {
        let on = threads.map_or(String::new(), |t| format!(" on {t} thread(s)"));
        format!(
            "{calls} {what} ran{on}, each finished before the next started. Start every thread \
             (or task) before you join (or await) any, and do not hold a lock around the work itself."
        )
    } else {
        format!("{k} were expected to run together.")
    };
    let one = if peak == 1 {
        what.strip_suffix('s').unwrap_or(what)
    } else {
        what
    };
    format!("your code never had {k} {what} in progress at once: at most {peak} {one} at a time. {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(50);

    #[test]
    fn calls_on_k_threads_meet() {
        let meet = Rendezvous::new(3, Duration::from_secs(10), "tiles");
        let tile = meet.task_with_cost(|n: u64| n, |&n| n as f64);
        thread::scope(|s| {
            for n in 1..=3 {
                let tile = &tile;
                s.spawn(move || tile(n));
            }
        });
        assert_eq!(meet.check(), Ok(()));
        assert_eq!(meet.check_threads(3), Ok(()));
        assert_eq!((meet.peak(), meet.calls(), meet.timed_out()), (3, 3, false));
        let mut work = meet.work_by_thread();
        work.sort_by(f64::total_cmp);
        assert_eq!(work, [1.0, 2.0, 3.0]);
        assert_eq!(meet.calls_by_thread(), [1, 1, 1]);
    }

    #[test]
    fn calls_one_after_another_are_named() {
        let meet = Rendezvous::new(2, SHORT, "calls");
        let half = meet.task(|n: u64| n + 1);
        // Start, then join at once: sequential.
        for n in 0..2 {
            thread::scope(|s| s.spawn(|| half(n)).join().unwrap());
        }
        let err = meet.check().unwrap_err();
        assert!(
            err.starts_with("your code never had 2 calls in progress at once: at most 1 call at a time. 2 calls ran on 2 thread(s)"),
            "{err}"
        );
        assert!(meet.timed_out());
    }

    #[test]
    fn no_calls_and_wrong_thread_counts_are_named() {
        let meet = Rendezvous::new(2, SHORT, "pages");
        assert_eq!(
            meet.check().unwrap_err(),
            "no pages were made through the function the test handed in"
        );
        let meet = Rendezvous::new(1, SHORT, "pages");
        let page = meet.task(|i: usize| i);
        (0..3).for_each(|i| {
            page(i);
        });
        assert_eq!(meet.check(), Ok(()));
        assert_eq!(
            meet.check_threads(2).unwrap_err(),
            "pages ran on 1 thread(s), expected 2"
        );
    }

    #[test]
    fn a_watched_counter_tells_threads_together_from_one_thread() {
        let counter = WatchedAtomic::new(7, 3, Duration::from_secs(10));
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(counter.check(3, 3000), Ok(()));
        assert_eq!(counter.value(), 3007);
        let one = WatchedAtomic::new(0, 2, SHORT);
        one.fetch_add(2000, Ordering::Relaxed);
        assert!(one
            .check(2, 2000)
            .unwrap_err()
            .starts_with("only 1 thread(s) used"));
        let turns = WatchedAtomic::new(0, 2, SHORT);
        for _ in 0..2 {
            thread::scope(|s| {
                s.spawn(|| turns.fetch_add(1, Ordering::Relaxed))
                    .join()
                    .unwrap()
            });
        }
        let err = turns.check(2, 2).unwrap_err();
        assert!(
            err.starts_with("your 2 threads never used the counter at the same time"),
            "{err}"
        );
    }

    #[test]
    fn verify_panics_with_the_message_alone() {
        let meet = Rendezvous::new(2, SHORT, "calls");
        let err = std::panic::catch_unwind(|| meet.verify()).unwrap_err();
        assert_eq!(
            err.downcast_ref::<String>().map(String::as_str),
            Some("no calls were made through the function the test handed in")
        );
    }
}
