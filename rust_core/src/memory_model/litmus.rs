//! Litmus tests: two threads, two or three memory operations each, and the question which
//! values the loads may return. Each runs on real threads (many times, counting outcomes)
//! and under loom (every outcome the C11 model allows, as far as loom explores it).
//!
//! - **Store buffering** (SB): thread A stores `x = 1` then loads `y`; thread B stores
//!   `y = 1` then loads `x`. Both reading 0 is impossible if the four operations happen in
//!   some interleaving (sequential consistency). On x86 it happens: each store waits in its
//!   core's store buffer while the load after it already reads the cache. `SeqCst` forbids
//!   it (the store becomes `xchg`, which drains the buffer), and so does a `fence(SeqCst)`
//!   between store and load (`mfence`).
//! - **Message passing** (MP): A writes `data = 1` then `flag = 1`; B reads `flag`, then
//!   `data`. Seeing the flag but not the data is allowed with Relaxed and forbidden with
//!   Release/Acquire. x86 (TSO) never reorders two stores or two loads, so on x86 it never
//!   shows even with Relaxed; aarch64 and POWER do show it, and loom shows what the model
//!   allows on any machine.
//!
//! What loom does not do (its README): it treats `SeqCst` loads and stores as `AcqRel`, so
//! it reports SB with `SeqCst` as able to read (0, 0) — a false alarm; `fence(SeqCst)` it
//! does model. And it does not explore *load buffering*, so it can miss such bugs.
//!
//! ```
//! use parlab_core::memory_model::litmus::{Litmus, run_real, run_loom};
//!
//! let real = run_real(Litmus::MessagePassingReleaseAcquire, 1_000).unwrap();
//! assert_eq!(real.count(Litmus::MessagePassingReleaseAcquire.forbidden()), 0);
//! let model = run_loom(Litmus::MessagePassingRelaxed).unwrap();
//! assert!(model.outcomes.contains(&Litmus::MessagePassingRelaxed.forbidden()));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::model::{self, Failure, Outcomes};
use super::sync::{fence, AtomicUsize, Ordering};
use crate::error::{Error, Result};
use crate::measure;

/// The most rounds of one real-thread run (each round is a few µs).
pub const MAX_ROUNDS: usize = 10_000_000;

/// One litmus test with its orderings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Litmus {
    /// SB, every access Relaxed.
    StoreBufferingRelaxed,
    /// SB, every access SeqCst.
    StoreBufferingSeqCst,
    /// SB, Relaxed accesses with a `fence(SeqCst)` between each thread's store and load.
    StoreBufferingFenced,
    /// MP, every access Relaxed.
    MessagePassingRelaxed,
    /// MP, the flag stored with Release and loaded with Acquire (the data Relaxed).
    MessagePassingReleaseAcquire,
}

impl Litmus {
    pub const ALL: [Litmus; 5] = [
        Litmus::StoreBufferingRelaxed,
        Litmus::StoreBufferingSeqCst,
        Litmus::StoreBufferingFenced,
        Litmus::MessagePassingRelaxed,
        Litmus::MessagePassingReleaseAcquire,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Litmus::StoreBufferingRelaxed => "store buffering, Relaxed",
            Litmus::StoreBufferingSeqCst => "store buffering, SeqCst",
            Litmus::StoreBufferingFenced => "store buffering, Relaxed + fence(SeqCst)",
            Litmus::MessagePassingRelaxed => "message passing, Relaxed",
            Litmus::MessagePassingReleaseAcquire => "message passing, Release/Acquire",
        }
    }

    /// What the outcome (r1, r2) is: SB (A's load of y, B's load of x); MP (flag, data) as B read them.
    pub fn outcome_names(self) -> &'static str {
        if self.is_store_buffering() {
            "(r1 = y seen by A, r2 = x seen by B)"
        } else {
            "(flag, data) as the reader saw them"
        }
    }

    pub fn is_store_buffering(self) -> bool {
        matches!(
            self,
            Litmus::StoreBufferingRelaxed
                | Litmus::StoreBufferingSeqCst
                | Litmus::StoreBufferingFenced
        )
    }

    /// The outcome that no interleaving of the operations gives: SB (0, 0), MP (1, 0).
    pub fn forbidden(self) -> (usize, usize) {
        if self.is_store_buffering() {
            (0, 0)
        } else {
            (1, 0)
        }
    }

    /// Whether the C11 model allows the forbidden outcome with these orderings.
    pub fn model_allows_forbidden(self) -> bool {
        matches!(
            self,
            Litmus::StoreBufferingRelaxed | Litmus::MessagePassingRelaxed
        )
    }

    /// Thread A's part: SB stores x then loads y; MP writes data then the flag (returns 0).
    fn thread_a(self, x: &AtomicUsize, y: &AtomicUsize) -> usize {
        use Ordering::{Relaxed, Release, SeqCst};
        match self {
            Litmus::StoreBufferingRelaxed => {
                x.store(1, Relaxed);
                y.load(Relaxed)
            }
            Litmus::StoreBufferingSeqCst => {
                x.store(1, SeqCst);
                y.load(SeqCst)
            }
            Litmus::StoreBufferingFenced => {
                x.store(1, Relaxed);
                fence(SeqCst);
                y.load(Relaxed)
            }
            // MP: x is the data, y the flag.
            Litmus::MessagePassingRelaxed => {
                x.store(1, Relaxed);
                y.store(1, Relaxed);
                0
            }
            Litmus::MessagePassingReleaseAcquire => {
                x.store(1, Relaxed);
                y.store(1, Release);
                0
            }
        }
    }

    /// Thread B's part: SB stores y then loads x; MP reads the flag then the data.
    fn thread_b(self, x: &AtomicUsize, y: &AtomicUsize) -> (usize, usize) {
        use Ordering::{Acquire, Relaxed, SeqCst};
        match self {
            Litmus::StoreBufferingRelaxed => {
                y.store(1, Relaxed);
                (0, x.load(Relaxed))
            }
            Litmus::StoreBufferingSeqCst => {
                y.store(1, SeqCst);
                (0, x.load(SeqCst))
            }
            Litmus::StoreBufferingFenced => {
                y.store(1, Relaxed);
                fence(SeqCst);
                (0, x.load(Relaxed))
            }
            Litmus::MessagePassingRelaxed => {
                let flag = y.load(Relaxed);
                (flag, x.load(Relaxed))
            }
            Litmus::MessagePassingReleaseAcquire => {
                let flag = y.load(Acquire);
                (flag, x.load(Relaxed))
            }
        }
    }

    /// The outcome of one round from A's result and B's.
    fn outcome(self, a: usize, b: (usize, usize)) -> (usize, usize) {
        if self.is_store_buffering() {
            (a, b.1)
        } else {
            b
        }
    }
}

impl fmt::Display for Litmus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A litmus test run `rounds` times on two real threads: how often each outcome came out.
#[derive(Debug, Clone, PartialEq)]
pub struct RealCounts {
    pub test: Litmus,
    pub rounds: usize,
    pub counts: BTreeMap<(usize, usize), usize>,
    /// Wall time, CPU time and CPU share of the whole run (`measure::run_share`).
    pub run: measure::Run,
    /// CPUs this process could use during the run.
    pub allowed: usize,
}

impl RealCounts {
    pub fn count(&self, outcome: (usize, usize)) -> usize {
        self.counts.get(&outcome).copied().unwrap_or(0)
    }

    /// Whether both threads really ran at once for most of the run (CPU share ≥ 1.6), so
    /// that a reordering had its chance; on one CPU they only take turns.
    pub fn raced(&self) -> bool {
        self.allowed >= 2 && self.run.share().is_some_and(|s| s >= 1.6)
    }
}

/// Runs `test` `rounds` times on two threads. Each round uses fresh variables, and both
/// threads start it together: each announces it is ready and spins until the other is
/// too, then thread B waits a varying few spins (0–31), so that over many rounds the two
/// threads' operations meet at every small offset, where a store buffer shows.
pub fn run_real(test: Litmus, rounds: usize) -> Result<RealCounts> {
    if !(1..=MAX_ROUNDS).contains(&rounds) {
        return Err(Error::invalid(
            "rounds",
            format!("must be between 1 and {MAX_ROUNDS}, got {rounds}"),
        ));
    }
    let x: Vec<AtomicUsize> = (0..rounds).map(|_| AtomicUsize::new(0)).collect();
    let y: Vec<AtomicUsize> = (0..rounds).map(|_| AtomicUsize::new(0)).collect();
    let ready = std::sync::atomic::AtomicUsize::new(0);
    let (results, run) = measure::run_share(|| {
        std::thread::scope(|s| {
            let a = s.spawn(|| {
                (0..rounds)
                    .map(|i| {
                        meet(&ready, i);
                        test.thread_a(&x[i], &y[i])
                    })
                    .collect::<Vec<_>>()
            });
            let b = s.spawn(|| {
                (0..rounds)
                    .map(|i| {
                        meet(&ready, i);
                        for _ in 0..(i * 7) % 32 {
                            std::hint::spin_loop();
                        }
                        test.thread_b(&x[i], &y[i])
                    })
                    .collect::<Vec<_>>()
            });
            (a.join(), b.join())
        })
    });
    let (Ok(a), Ok(b)) = results else {
        return Err(Error::ThreadPool("a litmus thread panicked".into()));
    };
    let mut counts = BTreeMap::new();
    for (ra, rb) in a.into_iter().zip(b) {
        *counts.entry(test.outcome(ra, rb)).or_insert(0) += 1;
    }
    Ok(RealCounts {
        test,
        rounds,
        counts,
        run,
        allowed: measure::allowed_cpus(),
    })
}

/// Both threads arrive at round `round` before either goes on: spins, then yields (on one
/// CPU the other thread can only arrive if this one lets it run).
fn meet(ready: &std::sync::atomic::AtomicUsize, round: usize) {
    use std::sync::atomic::Ordering::SeqCst;
    ready.fetch_add(1, SeqCst);
    let target = 2 * (round + 1);
    let mut spins = 0u32;
    while ready.load(SeqCst) < target {
        spins += 1;
        if spins < 200 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Every outcome loom finds for `test`: thread A runs on a spawned loom thread, B on the
/// model's own.
pub fn run_loom(test: Litmus) -> std::result::Result<Outcomes<(usize, usize)>, Failure> {
    model::outcomes(move || {
        let x = Arc::new(AtomicUsize::new(0));
        let y = Arc::new(AtomicUsize::new(0));
        let (xa, ya) = (x.clone(), y.clone());
        let a = loom::thread::spawn(move || test.thread_a(&xa, &ya));
        let b = test.thread_b(&x, &y);
        let a = a.join().expect("thread A of a litmus test cannot panic");
        test.outcome(a, b)
    })
}

/// One row of the notebook's table: a test's counts on real threads beside loom's set.
#[derive(Debug, Clone)]
pub struct Row {
    pub real: RealCounts,
    pub loom: Outcomes<(usize, usize)>,
}

/// The four outcomes of a two-load test, in the table's order.
pub const OUTCOMES: [(usize, usize); 4] = [(0, 0), (0, 1), (1, 0), (1, 1)];

impl Row {
    /// Real runs and loom for `test`.
    pub fn of(test: Litmus, rounds: usize) -> Result<Row> {
        let real = run_real(test, rounds)?;
        let loom = run_loom(test).map_err(|f| Error::Output(f.to_string()))?;
        Ok(Row { real, loom })
    }
}

/// A text table, one row per test: the counts of each outcome on real threads, then
/// whether loom allows it ("✓" allowed, "·" not), and loom's executions and time.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<42} {:>26}   {:^15}  {}\n",
        "test (outcome: two loads' values)",
        "real threads: 00 01 10 11",
        "loom: 00 01 10 11",
        "loom's search"
    );
    for row in rows {
        let counts: Vec<String> = OUTCOMES
            .iter()
            .map(|o| row.real.count(*o).to_string())
            .collect();
        let allowed: Vec<&str> = OUTCOMES
            .iter()
            .map(|o| {
                if row.loom.outcomes.contains(o) {
                    "✓"
                } else {
                    "·"
                }
            })
            .collect();
        let e = &row.loom.explored;
        out.push_str(&format!(
            "{:<42} {:>26}   {:^15}  {} executions, {:.0} ms\n",
            row.real.test.name(),
            counts.join(" "),
            allowed.join("  "),
            e.executions,
            e.elapsed.as_secs_f64() * 1e3
        ));
    }
    out
}

/// How long a real run took, for a sentence ("100000 rounds in 85 ms").
pub fn took(counts: &RealCounts) -> Duration {
    counts.run.wall
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_runs_never_show_what_x86_and_the_orderings_forbid() {
        for test in [
            Litmus::StoreBufferingSeqCst,
            Litmus::StoreBufferingFenced,
            Litmus::MessagePassingReleaseAcquire,
        ] {
            let counts = run_real(test, 5_000).unwrap();
            assert_eq!(counts.counts.values().sum::<usize>(), 5_000);
            assert_eq!(counts.count(test.forbidden()), 0, "{test}: {counts:?}");
        }
    }

    #[test]
    fn loom_finds_exactly_what_the_model_allows_bar_its_seqcst_false_alarm() {
        for test in Litmus::ALL {
            let seen = run_loom(test).unwrap().outcomes;
            let allows = seen.contains(&test.forbidden());
            if test == Litmus::StoreBufferingSeqCst {
                // loom treats SeqCst accesses as AcqRel: its documented false alarm.
                assert!(allows, "loom's README: SeqCst accesses regarded as AcqRel");
            } else {
                assert_eq!(allows, test.model_allows_forbidden(), "{test}: {seen:?}");
            }
            // Every interleaving's outcome is there too.
            let sc: &[(usize, usize)] = if test.is_store_buffering() {
                &[(0, 1), (1, 0), (1, 1)]
            } else {
                &[(0, 0), (0, 1), (1, 1)]
            };
            assert!(sc.iter().all(|o| seen.contains(o)), "{test}: {seen:?}");
        }
    }

    #[test]
    fn rounds_are_checked_and_the_table_has_a_row_per_test() {
        assert!(matches!(
            run_real(Litmus::StoreBufferingRelaxed, 0),
            Err(Error::InvalidParameter { name: "rounds", .. })
        ));
        let rows = vec![Row::of(Litmus::MessagePassingRelaxed, 100).unwrap()];
        let text = table(&rows);
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("message passing, Relaxed"), "{text}");
    }
}
