//! Shared data between threads: lost updates, the fixes and their price, false sharing,
//! deadlock, and message passing instead of sharing.
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use parlab_core::shared::{count, Counter};
//!
//! let stop = AtomicBool::new(false);
//! let run = count(Counter::FetchAdd, 2, 10_000, &stop).unwrap();
//! assert_eq!(run.total, 20_000); // fetch_add never loses an update
//! ```
//!
//! Every function takes a `stop` flag that its threads look at often, so a binding can end
//! a run on Ctrl-C (see [`crate::workloads::run_cancellable`]), and every lock wait has a
//! timeout, so nothing here can hang.

use std::fmt;
use std::hint::black_box;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Barrier, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::timeline::{micros, RunClock};

/// The most threads a run may start.
pub const MAX_THREADS: usize = 64;
/// The most increments one thread may make in one run (a contended lock takes ~100 ns each).
pub const MAX_INCREMENTS: u64 = 100_000_000;
/// The most rounds of the lock timeline and the deadlock runs (they record every round).
pub const MAX_ROUNDS: usize = 10_000;
/// The longest timeout of a lock wait, and the longest span held or worked in one round.
pub const MAX_WAIT: Duration = Duration::from_secs(2);
/// Increments between two looks at the stop flag: rare enough to cost nothing.
const CHECK_EVERY: u64 = 1 << 14;

// ---- 1. Lost updates and their fixes ----------------------------------------------------

/// One way for several threads to count into one total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// `load` then `store(n + 1)` on an `AtomicU64`: each step is atomic, the pair is not.
    LoadStore,
    /// `fetch_add(1)`: the read, the add and the write are one indivisible instruction.
    FetchAdd,
    /// A `Mutex<u64>`, locked for every increment.
    Mutex,
    /// Each thread counts in its own variable; the totals are summed at the end.
    PerThread,
}

impl Counter {
    pub const ALL: [Counter; 4] = [
        Counter::LoadStore,
        Counter::FetchAdd,
        Counter::Mutex,
        Counter::PerThread,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Counter::LoadStore => "load-store",
            Counter::FetchAdd => "fetch-add",
            Counter::Mutex => "mutex",
            Counter::PerThread => "per-thread",
        }
    }
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Counter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Counter::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
                Error::invalid(
                    "counter",
                    format!("must be one of {}, got {s:?}", names.join(", ")),
                )
            })
    }
}

/// One counting run: `threads` threads each made `increments` increments.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRun {
    pub counter: Counter,
    pub threads: usize,
    pub increments: u64,
    /// What the counter says at the end.
    pub total: u64,
    pub elapsed_us: f64,
    /// The run was stopped early: `expected()` was not attempted.
    pub stopped: bool,
}

impl CountRun {
    /// What the counter would say if no update were lost.
    pub fn expected(&self) -> u64 {
        self.threads as u64 * self.increments
    }

    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.total)
    }

    pub fn lost_fraction(&self) -> f64 {
        self.lost() as f64 / self.expected().max(1) as f64
    }

    /// Increments attempted per second, all threads together.
    pub fn per_second(&self) -> f64 {
        self.expected() as f64 / (self.elapsed_us.max(1e-3) * 1e-6)
    }
}

/// `threads` threads each increment one shared total `increments` times, the `counter` way.
pub fn count(
    counter: Counter,
    threads: usize,
    increments: u64,
    stop: &AtomicBool,
) -> Result<CountRun> {
    check_threads(threads, MAX_THREADS)?;
    check_increments(increments)?;
    let clock = RunClock::start();
    let total = match counter {
        Counter::LoadStore => count_load_store(threads, increments, stop),
        Counter::FetchAdd => count_fetch_add(threads, increments, stop),
        Counter::Mutex => count_mutex(threads, increments, stop),
        Counter::PerThread => count_per_thread(threads, increments, stop),
    }?;
    Ok(CountRun {
        counter,
        threads,
        increments,
        total,
        elapsed_us: micros(clock.elapsed()),
        stopped: stop.load(Relaxed),
    })
}

/// Read, then write one more. Another thread can write between the two steps, and its
/// update is overwritten: lost. It compiles because each step alone is atomic.
pub fn count_load_store(threads: usize, increments: u64, stop: &AtomicBool) -> Result<u64> {
    let counter = AtomicU64::new(0);
    on_threads(threads, |_| {
        repeat(increments, stop, || {
            let n = counter.load(Relaxed);
            // black_box keeps the read and the write two instructions (x86 would otherwise
            // fuse them into one `inc`, which a thread switch on one CPU cannot split).
            counter.store(black_box(n) + 1, Relaxed);
        })
    })?;
    Ok(counter.into_inner())
}

/// One indivisible read-add-write (`lock xadd` on x86): no update is lost.
pub fn count_fetch_add(threads: usize, increments: u64, stop: &AtomicBool) -> Result<u64> {
    let counter = AtomicU64::new(0);
    on_threads(threads, |_| {
        repeat(increments, stop, || {
            counter.fetch_add(1, Relaxed);
        })
    })?;
    Ok(counter.into_inner())
}

/// A lock around the plain read-modify-write: one thread at a time, none lost.
pub fn count_mutex(threads: usize, increments: u64, stop: &AtomicBool) -> Result<u64> {
    let counter = Mutex::new(0u64);
    on_threads(threads, |_| {
        repeat(increments, stop, || {
            // Nothing panics while holding the lock, so a poisoned lock still holds a good count.
            *counter.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        })
    })?;
    Ok(counter.into_inner().unwrap_or_else(PoisonError::into_inner))
}

/// Nothing shared while counting: each thread adds up its own, the totals meet at the end.
pub fn count_per_thread(threads: usize, increments: u64, stop: &AtomicBool) -> Result<u64> {
    let totals = on_threads(threads, |_| {
        let mut mine = 0u64;
        // black_box keeps one add per increment (else the compiler adds `increments` at once).
        repeat(increments, stop, || mine = black_box(mine) + 1);
        mine
    })?;
    Ok(totals.iter().sum())
}

// ---- 2. The price of a lock, on a timeline -----------------------------------------------

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

// ---- 3. False sharing ------------------------------------------------------------------

/// Counters side by side: 8 × 8 bytes, one 64-byte cache line (aligned to start one).
#[repr(C, align(64))]
#[derive(Default)]
pub struct SameLine(pub [AtomicU64; 8]);

/// One counter alone in 128 bytes: a cache line of its own, and its neighbour's too,
/// because Intel CPUs fetch lines in pairs (crossbeam's `CachePadded` does the same).
#[repr(align(128))]
#[derive(Default)]
pub struct Padded(pub AtomicU64);

/// One false-sharing run: each thread incremented its *own* counter.
#[derive(Debug, Clone, PartialEq)]
pub struct FalseSharingRun {
    pub padded: bool,
    pub threads: usize,
    pub increments: u64,
    /// Bytes between two neighbouring threads' counters.
    pub stride_bytes: usize,
    pub totals: Vec<u64>,
    pub elapsed_us: f64,
    pub stopped: bool,
}

impl FalseSharingRun {
    pub fn per_second(&self) -> f64 {
        (self.threads as u64 * self.increments) as f64 / (self.elapsed_us.max(1e-3) * 1e-6)
    }
}

/// `threads` threads (at most 8) each increment their own counter `increments` times; the
/// counters share one cache line, or (`padded`) each has its own.
pub fn false_sharing(
    padded: bool,
    threads: usize,
    increments: u64,
    stop: &AtomicBool,
) -> Result<FalseSharingRun> {
    check_threads(threads, 8)?;
    check_increments(increments)?;
    let same = SameLine::default();
    let apart: [Padded; 8] = Default::default();
    let counter = |i: usize| if padded { &apart[i].0 } else { &same.0[i] };
    let clock = RunClock::start();
    on_threads(threads, |i| {
        let mine = counter(i);
        repeat(increments, stop, || {
            mine.fetch_add(1, Relaxed);
        })
    })?;
    let elapsed_us = micros(clock.elapsed());
    Ok(FalseSharingRun {
        padded,
        threads,
        increments,
        stride_bytes: counter(1) as *const AtomicU64 as usize
            - counter(0) as *const AtomicU64 as usize,
        totals: (0..threads).map(|i| counter(i).load(Relaxed)).collect(),
        elapsed_us,
        stopped: stop.load(Relaxed),
    })
}

/// The CPU's cache line size in bytes, where the operating system says (Linux).
pub fn cache_line_bytes() -> Option<usize> {
    if cfg!(target_os = "linux") {
        std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cache/index0/coherency_line_size")
            .ok()?
            .trim()
            .parse()
            .ok()
    } else {
        None
    }
}

// ---- 4. Deadlock -----------------------------------------------------------------------

/// In which order the two threads of [`two_locks`] take the locks A and B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockOrder {
    /// Thread 0 takes A then B, thread 1 takes B then A: they can deadlock.
    Opposite,
    /// Both take A then B: whoever has A will get B, no deadlock.
    Same,
}

impl LockOrder {
    pub const ALL: [LockOrder; 2] = [LockOrder::Opposite, LockOrder::Same];

    pub fn name(self) -> &'static str {
        match self {
            LockOrder::Opposite => "opposite",
            LockOrder::Same => "same",
        }
    }

    /// The locks thread `thread_id` takes, first one first.
    pub fn locks_of(self, thread_id: usize) -> [&'static str; 2] {
        match (self, thread_id) {
            (LockOrder::Opposite, 1) => ["B", "A"],
            _ => ["A", "B"],
        }
    }
}

impl FromStr for LockOrder {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        LockOrder::ALL
            .into_iter()
            .find(|o| o.name() == s)
            .ok_or_else(|| {
                Error::invalid("order", format!("must be 'opposite' or 'same', got {s:?}"))
            })
    }
}

/// Two threads, two locks A and B, `rounds` rounds. In each round a thread takes its first
/// lock, waits (at most `timeout / 4`) until the other thread holds a lock too, then asks
/// for its second lock with `timeout`: in the opposite order both hold one lock and want
/// the other, a deadlock, which the timeout detects (the thread gives up and lets go).
/// The meeting point makes the unlucky timing certain instead of rare.
pub fn two_locks(
    order: LockOrder,
    rounds: usize,
    hold: Duration,
    timeout: Duration,
    stop: &AtomicBool,
) -> Result<LockRun> {
    check_rounds(rounds)?;
    check_wait("hold_us", hold)?;
    check_wait("timeout_ms", timeout)?;
    if timeout.is_zero() {
        return Err(Error::invalid("timeout_ms", "must be positive, got 0"));
    }
    let (a, b) = (parking_lot::Mutex::new(()), parking_lot::Mutex::new(()));
    let lock = |name: &str| if name == "A" { &a } else { &b };
    let holding = AtomicUsize::new(0);
    let barrier = Barrier::new(2);
    let go = AtomicBool::new(true);
    let clock = RunClock::start();
    let run_thread = |thread_id: usize| {
        let mut log = SpanLog::new(thread_id, &clock);
        let [first, second] = order.locks_of(thread_id);
        for round in 0..rounds {
            // Both threads decide together whether to go on, so neither is left waiting.
            if barrier.wait().is_leader() {
                go.store(!stop.load(Relaxed), Relaxed);
            }
            barrier.wait();
            if !go.load(Relaxed) {
                break;
            }
            let t0 = Instant::now();
            let Some(held) = lock(first).try_lock_for(timeout) else {
                log.push(round, Activity::Wait, first, t0, true);
                continue;
            };
            log.push(round, Activity::Wait, first, t0, false);
            let t1 = Instant::now();
            holding.fetch_add(1, Relaxed);
            while holding.load(Relaxed) < 2 && t1.elapsed() < timeout / 4 {
                thread::sleep(Duration::from_micros(50));
            }
            log.push(round, Activity::Hold, first, t1, false);
            let t2 = Instant::now();
            match lock(second).try_lock_for(timeout) {
                None => log.push(round, Activity::Wait, second, t2, true),
                Some(both) => {
                    log.push(round, Activity::Wait, second, t2, false);
                    let t3 = Instant::now();
                    thread::sleep(hold);
                    log.push(round, Activity::Hold, "A+B", t3, false);
                    log.completed += 1;
                    drop(both);
                }
            }
            holding.fetch_sub(1, Relaxed);
            drop(held);
        }
        log
    };
    // Thread 1 runs on a new thread, thread 0 on this one: if the new thread cannot start,
    // nobody is left waiting at the barrier.
    let logs = thread::scope(|scope| {
        let other = thread::Builder::new()
            .name("parlab-shared-1".into())
            .spawn_scoped(scope, || run_thread(1))
            .map_err(|e| Error::ThreadPool(e.to_string()))?;
        let mine = run_thread(0);
        Ok::<_, Error>(vec![mine, join(other)])
    })?;
    let completed = logs.iter().map(|l| l.completed).sum();
    let spans = logs.into_iter().map(|l| l.spans).collect();
    Ok(lock_run(2, rounds, spans, &clock, completed, stop))
}

// ---- 5. Message passing ----------------------------------------------------------------

/// Values per message of [`histogram_channel`]: one message per block, like one per tile.
pub const BLOCK: usize = 4096;

/// The bin of `value`: bin v counts the values equal to v, the last bin every larger one.
pub fn bin_of(value: u32, bins: usize) -> usize {
    (value as usize).min(bins - 1)
}

/// The histogram of `values` on one thread: the reference.
pub fn histogram_sequential(values: &[u32], bins: usize) -> Result<Vec<u64>> {
    check_bins(bins)?;
    let mut counts = vec![0u64; bins];
    for &v in values {
        counts[bin_of(v, bins)] += 1;
    }
    Ok(counts)
}

/// Shared data: every thread adds into one histogram of atomic counters.
pub fn histogram_shared(
    values: &[u32],
    bins: usize,
    threads: usize,
    stop: &AtomicBool,
) -> Result<Vec<u64>> {
    check_bins(bins)?;
    check_threads(threads, MAX_THREADS)?;
    let counts: Vec<AtomicU64> = (0..bins).map(|_| AtomicU64::new(0)).collect();
    let part = values.len().div_ceil(threads).max(1);
    on_threads(threads, |i| {
        for block in values.chunks(part).nth(i).unwrap_or(&[]).chunks(BLOCK) {
            if stop.load(Relaxed) {
                return;
            }
            for &v in block {
                counts[bin_of(v, bins)].fetch_add(1, Relaxed);
            }
        }
    })?;
    Ok(counts.into_iter().map(AtomicU64::into_inner).collect())
}

/// Message passing: each worker counts a block into its own small histogram and *sends* it;
/// the calling thread alone adds them up. Nothing is shared but the channel. The renderer
/// works the same way: workers send finished tiles to the thread that called `render`.
/// Returns the histogram and the number of messages received.
pub fn histogram_channel(
    values: &[u32],
    bins: usize,
    threads: usize,
    stop: &AtomicBool,
) -> Result<(Vec<u64>, usize)> {
    check_bins(bins)?;
    check_threads(threads, MAX_THREADS)?;
    let blocks: Vec<&[u32]> = values.chunks(BLOCK).collect();
    let next = AtomicUsize::new(0); // the next block to take: dynamic scheduling
    let (tx, rx) = mpsc::channel::<Vec<u64>>();
    thread::scope(|scope| {
        for i in 0..threads {
            let (tx, blocks, next) = (tx.clone(), &blocks, &next);
            thread::Builder::new()
                .name(format!("parlab-shared-{i}"))
                .spawn_scoped(scope, move || {
                    while let Some(block) = blocks.get(next.fetch_add(1, Relaxed)) {
                        if stop.load(Relaxed) {
                            return;
                        }
                        let mut mine = vec![0u64; bins];
                        for &v in *block {
                            mine[bin_of(v, bins)] += 1;
                        }
                        if tx.send(mine).is_err() {
                            return; // the receiver is gone
                        }
                    }
                })
                .map_err(|e| Error::ThreadPool(e.to_string()))?;
        }
        drop(tx); // the channel closes when the last worker drops its sender
        let mut counts = vec![0u64; bins];
        let mut messages = 0;
        for mine in rx {
            messages += 1;
            counts.iter_mut().zip(mine).for_each(|(c, m)| *c += m);
        }
        Ok((counts, messages))
    })
}

// ---- helpers ---------------------------------------------------------------------------

/// Runs `f(i)` on `threads` scoped threads (i = 0..threads) and returns their results.
fn on_threads<T: Send>(threads: usize, f: impl Fn(usize) -> T + Sync) -> Result<Vec<T>> {
    thread::scope(|scope| {
        let f = &f;
        let handles = (0..threads)
            .map(|i| {
                thread::Builder::new()
                    .name(format!("parlab-shared-{i}"))
                    .spawn_scoped(scope, move || f(i))
                    .map_err(|e| Error::ThreadPool(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(handles.into_iter().map(join).collect())
    })
}

fn join<T>(handle: thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Calls `step` `times` times, looking at `stop` every [`CHECK_EVERY`] calls.
fn repeat(times: u64, stop: &AtomicBool, mut step: impl FnMut()) {
    let mut done = 0;
    while done < times && !stop.load(Relaxed) {
        let chunk = CHECK_EVERY.min(times - done);
        for _ in 0..chunk {
            step();
        }
        done += chunk;
    }
}

/// Busy for `d` (a spinning thread stands for real work: it keeps its CPU).
fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// One thread's spans, timed on the run's clock.
struct SpanLog<'a> {
    thread_id: usize,
    clock: &'a RunClock,
    spans: Vec<LockSpan>,
    completed: usize,
}

impl<'a> SpanLog<'a> {
    fn new(thread_id: usize, clock: &'a RunClock) -> Self {
        SpanLog {
            thread_id,
            clock,
            spans: Vec::new(),
            completed: 0,
        }
    }

    /// Records a span from `start` until now.
    fn push(
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

fn lock_run(
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

fn check_threads(threads: usize, most: usize) -> Result<()> {
    if (1..=most).contains(&threads) {
        Ok(())
    } else {
        Err(Error::invalid(
            "threads",
            format!("must be between 1 and {most}, got {threads}"),
        ))
    }
}

fn check_increments(increments: u64) -> Result<()> {
    if (1..=MAX_INCREMENTS).contains(&increments) {
        Ok(())
    } else {
        Err(Error::invalid(
            "increments",
            format!("must be between 1 and {MAX_INCREMENTS}, got {increments}"),
        ))
    }
}

fn check_rounds(rounds: usize) -> Result<()> {
    if (1..=MAX_ROUNDS).contains(&rounds) {
        Ok(())
    } else {
        Err(Error::invalid(
            "rounds",
            format!("must be between 1 and {MAX_ROUNDS}, got {rounds}"),
        ))
    }
}

fn check_wait(name: &'static str, d: Duration) -> Result<()> {
    if d <= MAX_WAIT {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            format!("must be at most {} ms, got {:?}", MAX_WAIT.as_millis(), d),
        ))
    }
}

/// A wait given as `value` units of `unit` seconds (1e-6 for µs, 1e-3 for ms), as a caller
/// outside Rust gives it (any float), as a [`Duration`]: an error naming `name`, in the
/// caller's units, for NaN, a negative value or more than [`MAX_WAIT`].
pub fn wait_in(name: &'static str, value: f64, unit: f64) -> Result<Duration> {
    let wait = Duration::try_from_secs_f64(value * unit)
        .map_err(|_| Error::invalid(name, format!("must be a number ≥ 0, got {value}")))?;
    if wait > MAX_WAIT {
        return Err(Error::invalid(
            name,
            format!("must be at most {} ms, got {value}", MAX_WAIT.as_millis()),
        ));
    }
    Ok(wait)
}

fn check_bins(bins: usize) -> Result<()> {
    if (1..=1 << 20).contains(&bins) {
        Ok(())
    } else {
        Err(Error::invalid(
            "bins",
            format!("must be between 1 and {}, got {bins}", 1 << 20),
        ))
    }
}
