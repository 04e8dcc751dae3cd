//! Lost updates and their fixes: several threads count into one total, four ways.

use std::fmt;
use std::hint::black_box;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use super::checks::{check_increments, check_threads};
use super::threads::{on_threads, repeat};
use super::MAX_THREADS;
use crate::error::{Error, Result};
use crate::timeline::{micros, RunClock};

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
    check_increments(threads, increments)?;
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
