//! Running a test under loom: every interleaving of its threads, and every value each load
//! may read under the C11 memory model, explored one execution after another.
//!
//! ```
//! use std::sync::Arc;
//! use parlab_core::memory_model::model;
//! use parlab_core::memory_model::sync::{AtomicUsize, Ordering::Relaxed};
//!
//! // Store buffering with Relaxed: loom finds that both threads can read 0.
//! let seen = model::outcomes(|| {
//!     let (x, y) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
//!     let (x2, y2) = (x.clone(), y.clone());
//!     let other = loom::thread::spawn(move || { y2.store(1, Relaxed); x2.load(Relaxed) });
//!     x.store(1, Relaxed);
//!     let r1 = y.load(Relaxed);
//!     (r1, other.join().unwrap())
//! }).unwrap();
//! assert!(seen.outcomes.contains(&(0, 0)));
//! ```
//!
//! A failure (a panic in the test, a data race on an [`UnsafeCell`](super::sync::UnsafeCell),
//! a deadlock, a loop that never lets another thread run) comes back as a [`Failure`]: what
//! loom said, the same in plain words, and the steps of the execution that broke.

use std::collections::BTreeSet;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use super::sync::{self, ModelGuard, Step};

/// Preemptions per execution that loom explores unless `LOOM_MAX_PREEMPTIONS` says
/// otherwise: enough for every bug of the lesson (each needs one or two thread switches at
/// the wrong moment), small enough that every model runs in well under a second.
pub const DEFAULT_PREEMPTIONS: usize = 3;

/// What an exploration did: how many executions loom ran, and in how long.
#[derive(Debug, Clone, PartialEq)]
pub struct Explored {
    pub executions: usize,
    pub elapsed: Duration,
    /// The preemption bound it ran with (`None`: unbounded).
    pub preemptions: Option<usize>,
}

/// The outcomes a model allows (each execution's return value), and the exploration.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcomes<T> {
    pub outcomes: BTreeSet<T>,
    pub explored: Explored,
}

/// A model that failed in one of the executions loom explored.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What the test (or loom) panicked with.
    pub message: String,
    /// The same in plain words, with what to change.
    pub explanation: String,
    /// The steps of the failing execution, in the order they happened.
    pub steps: Vec<Step>,
    /// Which execution failed (1 = the first loom tried).
    pub execution: usize,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.explanation)?;
        writeln!(
            f,
            "\nThe interleaving that broke it (execution {} of loom's search):",
            self.execution
        )?;
        let shown = 40;
        let skip = self.steps.len().saturating_sub(shown);
        if skip > 0 {
            writeln!(f, "  … {skip} earlier steps")?;
        }
        for step in &self.steps[skip..] {
            writeln!(f, "  {step}")?;
        }
        if self.steps.is_empty() {
            writeln!(
                f,
                "  (no operation on parlab_core::memory_model::sync's atomics or cells: loom sees only those)"
            )?;
        }
        write!(f, "loom: {}", self.message)
    }
}

impl std::error::Error for Failure {}

/// Runs `f` under loom, once per execution, until every execution (within the preemption
/// bound) has been explored or one fails.
pub fn explore(f: impl Fn() + Sync + Send + 'static) -> Result<Explored, Failure> {
    quiet_panics_in_models();
    let executions = Arc::new(AtomicUsize::new(0));
    let counted = executions.clone();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    let preemptions = builder.preemption_bound;
    let start = Instant::now();
    let result = {
        let _inside = ModelGuard::enter();
        panic::catch_unwind(AssertUnwindSafe(|| {
            builder.check(move || {
                counted.fetch_add(1, Relaxed);
                sync::new_execution();
                f();
            })
        }))
    };
    let execution = executions.load(Relaxed);
    match result {
        Ok(()) => Ok(Explored {
            executions: execution,
            elapsed: start.elapsed(),
            preemptions,
        }),
        Err(payload) => {
            let message = panic_text(payload.as_ref());
            let steps = sync::trace();
            Err(Failure {
                explanation: explain(&message, &steps),
                message,
                steps,
                execution,
            })
        }
    }
}

/// Runs `f` under loom and collects what each execution returned: the set of outcomes the
/// memory model allows (as far as loom explores it: see the module of [`super::litmus`]).
pub fn outcomes<T>(f: impl Fn() -> T + Sync + Send + 'static) -> Result<Outcomes<T>, Failure>
where
    T: Ord + Send + 'static,
{
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let into = seen.clone();
    let explored = explore(move || {
        let outcome = f();
        into.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(outcome);
    })?;
    let outcomes = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Outcomes { outcomes, explored })
}

/// [`explore`], panicking with the failure in plain words: for a test (or a graded cell).
pub fn check(f: impl Fn() + Sync + Send + 'static) -> Explored {
    match explore(f) {
        Ok(explored) => explored,
        Err(failure) => panic!("{failure}"),
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// What loom's message means for the code under test, and what to change.
fn explain(message: &str, steps: &[Step]) -> String {
    let lower = message.to_lowercase();
    let atomics = steps
        .iter()
        .any(|s| s.object.starts_with("Atomic") || s.object == "fence");
    if !atomics && !lower.contains("not yet implemented") {
        return "loom saw no atomic operation of the code under test (only the steps below). \
                Make every atomic it shares one of parlab_core::memory_model::sync's types \
                (AtomicBool, AtomicUsize), which are loom's inside a model: std's atomics are \
                invisible to loom, so it cannot see them order anything."
            .to_string();
    }
    if lower.contains("causality violation") {
        return race(steps);
    }
    if lower.contains("maximum number of branches") || lower.contains("max_branches") {
        return "An execution went on for more than loom's limit of steps: a thread kept \
                looping while nothing it waited for could change (for instance spinning on a \
                lock that is never unlocked, or on a flag no one sets)."
            .to_string();
    }
    if lower.contains("deadlock") {
        return "Every thread was waiting and none could go on: a deadlock.".to_string();
    }
    if lower.contains("not yet implemented") {
        return "The code under test is not written yet (todo!()).".to_string();
    }
    if lower.contains("leak") {
        return format!("Something loom tracks was never freed: {message}");
    }
    format!("In this interleaving the test's own check failed: {message}")
}

/// The data race that loom caught, told from the trace: the last step is the access it
/// caught; the one it raced with is the last earlier access to the same cell by another
/// thread, with at least one of the two a write.
fn race(steps: &[Step]) -> String {
    let Some(caught) = steps
        .iter()
        .rev()
        .find(|s| s.object.starts_with("UnsafeCell"))
    else {
        return "A data race: two threads accessed the same memory and nothing ordered one \
                access before the other."
            .to_string();
    };
    let writes = |s: &Step| s.action == "written";
    let other = steps.iter().rev().find(|s| {
        s.object == caught.object && s.thread != caught.thread && (writes(s) || writes(caught))
    });
    let what = |s: &Step| if writes(s) { "write" } else { "read" };
    let pair = match other {
        Some(o) => format!(
            "thread {}'s {} of {} is not ordered after thread {}'s {} of it",
            caught.thread,
            what(caught),
            caught.object,
            o.thread,
            what(o)
        ),
        None => format!(
            "thread {} accessed {} unordered",
            caught.thread, caught.object
        ),
    };
    format!(
        "A data race on {}: {pair} (nothing makes one happen before the other). To order \
         them, the first thread must publish with a Release store (or unlock) *after* its \
         access, and the second must read that store with an Acquire load (or lock) *before* \
         its own: a Relaxed flag, or a flag checked after the access, orders nothing.",
        caught.object
    )
}

/// Inside a model, loom's own panics (and the test's) are caught and reported as a
/// [`Failure`]: the default hook's "thread panicked at" lines for them would only be noise.
fn quiet_panics_in_models() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !sync::in_model() {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_model::sync::{AtomicBool, UnsafeCell};
    use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

    /// An `UnsafeCell` shared on purpose: loom is there to catch the unordered accesses.
    struct Shared(UnsafeCell<i32>);
    // SAFETY: only ever shared inside a loom model, which checks every access.
    unsafe impl Sync for Shared {}

    #[test]
    fn a_relaxed_flag_is_a_data_race_and_the_trace_shows_it() {
        let failure = explore(|| {
            let data = Arc::new(Shared(UnsafeCell::new(0)));
            let ready = Arc::new(AtomicBool::new(false));
            let (d, r) = (data.clone(), ready.clone());
            let writer = loom::thread::spawn(move || {
                // SAFETY: loom checks this access (that is the point of the test).
                d.0.with_mut(|p| unsafe { *p = 42 });
                r.store(true, Relaxed);
            });
            if ready.load(Relaxed) {
                // SAFETY: as above.
                data.0.with(|p| unsafe { *p });
            }
            writer.join().unwrap();
        })
        .unwrap_err();
        assert!(failure.message.contains("Causality violation"), "{failure}");
        assert!(failure.explanation.contains("data race on UnsafeCell #1"));
        let text = failure.to_string();
        assert!(text.contains("thread 1: UnsafeCell #1 written"), "{text}");
        assert!(text.contains("store(true, Relaxed)"), "{text}");
        assert!(
            !sync::in_model(),
            "the model's mark is cleared after a failure"
        );
    }

    #[test]
    fn release_acquire_passes_and_the_executions_are_counted() {
        let explored = explore(|| {
            let data = Arc::new(Shared(UnsafeCell::new(0)));
            let ready = Arc::new(AtomicBool::new(false));
            let (d, r) = (data.clone(), ready.clone());
            let writer = loom::thread::spawn(move || {
                // SAFETY: published by the Release store below.
                d.0.with_mut(|p| unsafe { *p = 42 });
                r.store(true, Release);
            });
            if ready.load(Acquire) {
                // SAFETY: the Acquire load saw the Release store.
                assert_eq!(data.0.with(|p| unsafe { *p }), 42);
            }
            writer.join().unwrap();
        })
        .unwrap();
        assert!(explored.executions >= 2, "{explored:?}");
    }

    #[test]
    fn std_atomics_are_invisible_and_the_failure_says_so() {
        let failure = explore(|| {
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let f = flag.clone();
            loom::thread::spawn(move || f.store(true, Release))
                .join()
                .unwrap();
            assert!(!flag.load(Acquire), "made to fail");
        })
        .unwrap_err();
        assert!(failure
            .explanation
            .contains("std's atomics are invisible to loom"));
    }
}
