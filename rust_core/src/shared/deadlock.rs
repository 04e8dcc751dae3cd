//! Deadlock: two threads, two locks, taken in opposite orders (or the same order).

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use super::checks::{check_deadlock_run, check_rounds, check_wait};
use super::locks::{lock_run, Activity, LockRun, SpanLog};
use super::threads::join;
use crate::error::{Error, Result};
use crate::timeline::RunClock;

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
    check_deadlock_run(order, rounds, hold, timeout)?;
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
