//! Spinning against sleeping under contention: the spin lock of [`super::spin`] beside
//! `std::sync::Mutex` and `parking_lot::Mutex`, timed on real threads, and drawn on the
//! shared-data lesson's lock timeline with the CPU time each wait burnt.
//!
//! A spin lock's waiter keeps asking, on its CPU. With a CPU each, that is the quickest way
//! to notice the unlock. With fewer CPUs than threads (pinned to one, or a busy machine),
//! the waiter spins while the holder is not even running, to the end of its time slice: the
//! CPU time is burnt for nothing. A mutex's waiter sleeps (after a short spin) and is woken
//! by the unlock. What decides between the two sentences is the CPU share the runs got
//! ([`crate::measure`]), never a fixed time.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::spin::SpinLock;
use crate::error::{Error, Result};
use crate::measure::{self, Comparison};
use crate::shared::{Activity, LockRun, LockSpan};
use crate::timeline::{micros, thread_cpu_us, RunClock};

/// The most threads of these runs.
pub const MAX_THREADS: usize = 16;
/// The most increments per thread of one run of [`compare_locks`].
pub const MAX_INCREMENTS: u64 = 10_000_000;
/// The most rounds of one [`spin_vs_sleep`] timeline.
pub const MAX_ROUNDS: usize = 2_000;
/// The longest work or hold of one round, and the timeout of every wait.
pub const MAX_WAIT: Duration = Duration::from_millis(200);

/// The locks compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lock {
    /// [`SpinLock`]: waits by spinning.
    Spin,
    /// `std::sync::Mutex`: spins briefly, then sleeps on a futex.
    StdMutex,
    /// `parking_lot::Mutex`: spins briefly (yielding), then parks the thread.
    ParkingLot,
}

impl Lock {
    pub const ALL: [Lock; 3] = [Lock::Spin, Lock::StdMutex, Lock::ParkingLot];

    pub fn name(self) -> &'static str {
        match self {
            Lock::Spin => "spin lock",
            Lock::StdMutex => "std Mutex",
            Lock::ParkingLot => "parking_lot",
        }
    }
}

/// `threads` threads each add 1 to one shared `u64`, `increments` times, taking `lock` for
/// every increment. Returns the total (which must be threads × increments).
pub fn count_with(lock: Lock, threads: usize, increments: u64, stop: &AtomicBool) -> Result<u64> {
    check(threads, increments)?;
    let each = |step: &(dyn Fn() + Sync)| {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for i in 0..increments {
                        if i % 4096 == 0 && stop.load(Relaxed) {
                            break;
                        }
                        step();
                    }
                });
            }
        })
    };
    Ok(match lock {
        Lock::Spin => {
            let counter = SpinLock::new(0u64);
            each(&|| counter.with(|n| *n = black_box(*n) + 1));
            counter.into_inner()
        }
        Lock::StdMutex => {
            let counter = std::sync::Mutex::new(0u64);
            each(&|| {
                let mut n = counter.lock().unwrap_or_else(|e| e.into_inner());
                *n = black_box(*n) + 1;
            });
            counter.into_inner().unwrap_or_else(|e| e.into_inner())
        }
        Lock::ParkingLot => {
            let counter = parking_lot::Mutex::new(0u64);
            each(&|| {
                let mut n = counter.lock();
                *n = black_box(*n) + 1;
            });
            counter.into_inner()
        }
    })
}

fn check(threads: usize, increments: u64) -> Result<()> {
    if !(1..=MAX_THREADS).contains(&threads) {
        return Err(Error::invalid(
            "threads",
            format!("must be between 1 and {MAX_THREADS}, got {threads}"),
        ));
    }
    if !(1..=MAX_INCREMENTS).contains(&increments) {
        return Err(Error::invalid(
            "increments",
            format!("must be between 1 and {MAX_INCREMENTS}, got {increments}"),
        ));
    }
    Ok(())
}

/// The three locks compared the way a benchmark does ([`measure::compare`]: interleaved,
/// fastest of `rounds`, with the CPU share of every run). Each result is the total counted.
pub fn compare_locks(
    threads: usize,
    increments: u64,
    rounds: usize,
    stop: &AtomicBool,
) -> Result<Comparison<u64>> {
    check(threads, increments)?;
    let cmp = Lock::ALL
        .into_iter()
        .fold(measure::compare(rounds), |c, lock| {
            c.variant(lock.name(), threads, move || {
                count_with(lock, threads, increments, stop).unwrap_or(0)
            })
        })
        .run();
    Ok(cmp)
}

/// A lock timeline ([`LockRun`], drawn by `plot::lock_timeline`) with, per thread, the CPU
/// time its thread used while it waited: about the waits' wall time for a spinner that has
/// a CPU, near 0 for a sleeper.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitTimeline {
    pub lock: Lock,
    pub run: LockRun,
    /// Per thread (index = thread id): CPU µs used during its waits (`None`: unreadable).
    pub wait_cpu_us: Vec<Option<f64>>,
}

impl WaitTimeline {
    /// Wall µs spent waiting, all threads.
    pub fn waited_us(&self) -> f64 {
        self.run.time_in(Activity::Wait).iter().sum()
    }

    /// CPU time used while waiting over the time waited (0 to 1): near 1 for a spinner
    /// with a CPU to itself, near 0 for a sleeper; `None` without a CPU clock or waits.
    pub fn wait_cpu_share(&self) -> Option<f64> {
        let waited = self.waited_us();
        let cpu = self.wait_cpu_total_us()?;
        (waited > 0.0).then(|| (cpu / waited).clamp(0.0, 1.0))
    }

    /// CPU µs used while waiting, all threads (`None` where a thread's CPU time is unreadable).
    pub fn wait_cpu_total_us(&self) -> Option<f64> {
        self.wait_cpu_us.iter().copied().sum()
    }
}

/// `threads` threads each do `rounds` rounds of: `work` (spinning, as real work), then wait
/// for one shared lock of kind `lock` (spin lock, or parking_lot: std's mutex has no
/// timeout) with a timeout of [`MAX_WAIT`], and hold it for `hold`. Every span is recorded,
/// and the CPU time each wait used.
pub fn spin_vs_sleep(
    lock: Lock,
    threads: usize,
    rounds: usize,
    work: Duration,
    hold: Duration,
    stop: &AtomicBool,
) -> Result<WaitTimeline> {
    check(threads, 1)?;
    if !(1..=MAX_ROUNDS).contains(&rounds) {
        return Err(Error::invalid(
            "rounds",
            format!("must be between 1 and {MAX_ROUNDS}, got {rounds}"),
        ));
    }
    for (name, d) in [("work", work), ("hold", hold)] {
        if d > MAX_WAIT {
            return Err(Error::invalid(
                name,
                format!("must be at most {} ms, got {d:?}", MAX_WAIT.as_millis()),
            ));
        }
    }
    if lock == Lock::StdMutex {
        return Err(Error::invalid(
            "lock",
            "std's Mutex cannot wait with a timeout: use Lock::ParkingLot as the sleeping lock",
        ));
    }
    let spin = SpinLock::new(());
    let parked = parking_lot::Mutex::new(());
    let start = std::sync::Barrier::new(threads);
    let clock = RunClock::start();
    let per_thread: Vec<(Vec<LockSpan>, Option<f64>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|thread_id| {
                let (spin, parked, clock, start) = (&spin, &parked, &clock, &start);
                s.spawn(move || {
                    start.wait(); // all contend from the first round
                    let mut spans = Vec::with_capacity(3 * rounds);
                    let mut wait_cpu = Some(0.0);
                    let mut completed = 0;
                    let mut span =
                        |round, activity, lock: &'static str, start: Instant, timed_out| {
                            spans.push(LockSpan {
                                thread_id,
                                round,
                                activity,
                                lock,
                                start_us: clock.micros_at(start),
                                duration_us: micros(start.elapsed()),
                                timed_out,
                            })
                        };
                    for round in 0..rounds {
                        if stop.load(Relaxed) {
                            break;
                        }
                        let t0 = Instant::now();
                        spin_for(work);
                        span(round, Activity::Work, "", t0, false);
                        let (t1, cpu0) = (Instant::now(), thread_cpu_us());
                        let got = match lock {
                            Lock::Spin => spin.try_lock_for(MAX_WAIT).then_some(None),
                            _ => parked.try_lock_for(MAX_WAIT).map(Some),
                        };
                        let cpu1 = thread_cpu_us();
                        wait_cpu = wait_cpu
                            .zip(cpu0.zip(cpu1))
                            .map(|(w, (a, b))| w + (b - a).max(0.0));
                        span(round, Activity::Wait, "lock", t1, got.is_none());
                        let Some(guard) = got else { continue };
                        let t2 = Instant::now();
                        spin_for(hold);
                        completed += 1;
                        span(round, Activity::Hold, "lock", t2, false); // before unlocking
                        match guard {
                            Some(parked_guard) => drop(parked_guard),
                            None => spin.unlock(),
                        }
                    }
                    (spans, wait_cpu, completed)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut spans = Vec::new();
    let mut wait_cpu_us = Vec::new();
    let mut completed = 0;
    for (mine, cpu, done) in per_thread {
        spans.extend(mine);
        wait_cpu_us.push(cpu);
        completed += done;
    }
    spans.sort_by(|a, b| a.start_us.total_cmp(&b.start_us));
    let run = LockRun {
        threads,
        rounds,
        timeouts: spans.iter().filter(|s| s.timed_out).count(),
        spans,
        elapsed_us: micros(clock.elapsed()),
        completed,
        stopped: stop.load(Relaxed),
    };
    Ok(WaitTimeline {
        lock,
        run,
        wait_cpu_us,
    })
}

/// Busy for `d`: a spinning thread stands for real work (it keeps its CPU).
fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lock_counts_every_increment() {
        let stop = AtomicBool::new(false);
        for lock in Lock::ALL {
            assert_eq!(
                count_with(lock, 3, 10_000, &stop).unwrap(),
                30_000,
                "{}",
                lock.name()
            );
        }
        let cmp = compare_locks(2, 1_000, 1, &stop).unwrap();
        assert!(Lock::ALL.iter().all(|l| *cmp.result(l.name()) == 2_000));
    }

    #[test]
    fn bad_input_names_the_parameter() {
        let stop = AtomicBool::new(false);
        let err = count_with(Lock::Spin, 0, 1, &stop).unwrap_err();
        assert!(err.to_string().starts_with("threads:"), "{err}");
        let err =
            spin_vs_sleep(Lock::StdMutex, 2, 1, Duration::ZERO, Duration::ZERO, &stop).unwrap_err();
        assert!(err.to_string().starts_with("lock:"), "{err}");
    }

    #[test]
    fn a_sleeper_uses_little_cpu_while_it_waits_a_spinner_uses_some() {
        let stop = AtomicBool::new(false);
        let (work, hold) = (Duration::from_micros(50), Duration::from_micros(300));
        let spin = spin_vs_sleep(Lock::Spin, 2, 20, work, hold, &stop).unwrap();
        let sleep = spin_vs_sleep(Lock::ParkingLot, 2, 20, work, hold, &stop).unwrap();
        for t in [&spin, &sleep] {
            assert_eq!((t.run.completed, t.run.timeouts), (40, 0));
            assert!(!t.run.holds_overlap("lock"));
        }
        // Evidence, not a clock: the CPU time used while waiting, per µs waited.
        let (Some(spun), Some(slept)) = (spin.wait_cpu_share(), sleep.wait_cpu_share()) else {
            return; // no per-thread CPU clock here
        };
        assert!(
            slept < 0.5,
            "the parked waiters used {slept:.2} CPU-µs per µs waited"
        );
        // How much CPU the spinner got while waiting depends on who else runs (on a busy
        // machine, little): only that a spinning wait is CPU time is certain.
        assert!(spun > 0.0, "the spinning waits used no CPU time at all");
    }
}
