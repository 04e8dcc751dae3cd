//! The loom models of the memory-model lesson (rust/07), as `cargo test --features loom`:
//! the core's primitives pass under every interleaving loom explores, and each too-weak
//! ordering that the lesson's wrong answers try fails, every time, with a message in plain
//! words. Run with `--nocapture` to see each model's executions and time.

use std::sync::Arc;

use parlab_core::memory_model::graded::{self, Channel, RawLock};
use parlab_core::memory_model::litmus::{run_loom, Litmus};
use parlab_core::memory_model::model::{self, Explored, Failure};
use parlab_core::memory_model::sync::{
    fence, spin_loop, AtomicBool, AtomicUsize, Ordering,
    Ordering::{Acquire, Relaxed, Release},
    UnsafeCell,
};
use parlab_core::memory_model::{arc, oneshot, spin};

fn passes(name: &str, result: Result<Explored, Failure>) {
    match result {
        Ok(e) => eprintln!(
            "{name}: {} executions in {:.0} ms",
            e.executions,
            e.elapsed.as_secs_f64() * 1e3
        ),
        Err(failure) => panic!("{name} should pass:\n{failure}"),
    }
}

fn fails(name: &str, result: Result<Explored, Failure>, because: &str) -> Failure {
    match result {
        Ok(e) => panic!("{name} should fail, but loom passed it ({e:?})"),
        Err(failure) => {
            eprintln!("{name}: fails at execution {}", failure.execution);
            let text = failure.to_string();
            assert!(
                text.contains(because),
                "{name}: expected {because:?} in\n{text}"
            );
            failure
        }
    }
}

// ---- spin locks ------------------------------------------------------------------------

/// A spin lock with the orderings and the shape given by its type parameters.
struct Lock<const KIND: u8>(AtomicBool);

const CAS: u8 = 0; // compare_exchange(Acquire) / store(Release): the reference
const SWAP: u8 = 1; // swap(true, Acquire) / store(Release): also right
const RELAXED: u8 = 2; // compare_exchange(Relaxed) / store(Relaxed)
const SWAP_RELAXED: u8 = 3; // swap(true, Relaxed) / store(Release)
const RELAXED_UNLOCK: u8 = 4; // compare_exchange(Acquire) / store(Relaxed)
const NO_LOOP: u8 = 5; // one compare_exchange, its failure ignored
const STD_ATOMIC: u8 = 6; // right orderings on std's AtomicBool, which loom cannot see

static STD_FLAG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl<const KIND: u8> RawLock for Lock<KIND> {
    fn new() -> Self {
        STD_FLAG.store(false, Relaxed);
        Lock(AtomicBool::new(false))
    }

    fn lock(&self) {
        let take = |success: Ordering| {
            while self
                .0
                .compare_exchange(false, true, success, Relaxed)
                .is_err()
            {
                spin_loop();
            }
        };
        match KIND {
            CAS => take(Acquire),
            RELAXED => take(Relaxed),
            RELAXED_UNLOCK => take(Acquire),
            SWAP => {
                while self.0.swap(true, Acquire) {
                    spin_loop();
                }
            }
            SWAP_RELAXED => {
                while self.0.swap(true, Relaxed) {
                    spin_loop();
                }
            }
            NO_LOOP => {
                let _ = self.0.compare_exchange(false, true, Acquire, Relaxed);
            }
            _ => {
                while STD_FLAG.swap(true, Acquire) {
                    std::hint::spin_loop();
                }
            }
        }
    }

    fn unlock(&self) {
        match KIND {
            RELAXED | RELAXED_UNLOCK => self.0.store(false, Relaxed),
            STD_ATOMIC => STD_FLAG.store(false, Release),
            _ => self.0.store(false, Release),
        }
    }
}

/// The core's own spin lock, as a RawLock.
struct Core(spin::SpinLock<()>);

impl RawLock for Core {
    fn new() -> Self {
        Core(spin::SpinLock::new(()))
    }
    fn lock(&self) {
        self.0.lock();
    }
    fn unlock(&self) {
        self.0.unlock();
    }
}

#[test]
fn right_spin_locks_pass() {
    passes("core SpinLock", graded::lock_model::<Core>());
    passes(
        "compare_exchange Acquire / store Release",
        graded::lock_model::<Lock<CAS>>(),
    );
    passes(
        "swap Acquire / store Release",
        graded::lock_model::<Lock<SWAP>>(),
    );
    graded::check_lock::<Lock<CAS>>(); // and on real threads
}

#[test]
fn too_weak_spin_locks_fail_with_a_data_race() {
    for (name, result) in [
        ("Relaxed everywhere", graded::lock_model::<Lock<RELAXED>>()),
        (
            "swap without Acquire",
            graded::lock_model::<Lock<SWAP_RELAXED>>(),
        ),
        (
            "unlock with a Relaxed store",
            graded::lock_model::<Lock<RELAXED_UNLOCK>>(),
        ),
        (
            "no loop: one compare_exchange",
            graded::lock_model::<Lock<NO_LOOP>>(),
        ),
    ] {
        let failure = fails(name, result, "data race on UnsafeCell");
        assert!(failure.to_string().contains("thread 1:"), "{failure}");
    }
    fails(
        "std's AtomicBool",
        graded::lock_model::<Lock<STD_ATOMIC>>(),
        "std's atomics are invisible to loom",
    );
}

// ---- one-shot channels -----------------------------------------------------------------

struct Chan<const KIND: u8> {
    message: UnsafeCell<Option<String>>,
    ready: AtomicBool,
}

unsafe impl<const KIND: u8> Sync for Chan<KIND> {}

const RIGHT: u8 = 0; // write, then store(true, Release); load(Acquire), then take
const RIGHT_SWAP: u8 = 1; // as RIGHT, receiving with swap(false, Acquire)
const RELAXED_FLAG: u8 = 2; // store(Relaxed) / load(Relaxed)
const READ_FIRST: u8 = 3; // the receiver takes the message, then looks at the flag
const FLAG_FIRST: u8 = 4; // the sender raises the flag, then writes the message

impl<const KIND: u8> Channel<String> for Chan<KIND> {
    fn new() -> Self {
        Chan {
            message: UnsafeCell::new(None),
            ready: AtomicBool::new(false),
        }
    }

    fn send(&self, message: String) {
        let write = || self.message.with_mut(|p| unsafe { *p = Some(message) });
        match KIND {
            RELAXED_FLAG => {
                write();
                self.ready.store(true, Relaxed);
            }
            FLAG_FIRST => {
                self.ready.store(true, Release);
                write();
            }
            _ => {
                write();
                self.ready.store(true, Release);
            }
        }
    }

    fn try_receive(&self) -> Option<String> {
        let take = || self.message.with_mut(|p| unsafe { (*p).take() });
        match KIND {
            RIGHT_SWAP => self.ready.swap(false, Acquire).then(take).flatten(),
            RELAXED_FLAG => self.ready.load(Relaxed).then(take).flatten(),
            READ_FIRST => {
                let message = take();
                self.ready.load(Acquire).then_some(message).flatten()
            }
            _ => self.ready.load(Acquire).then(take).flatten(),
        }
    }
}

struct CoreChannel(oneshot::OneShot<String>);

impl Channel<String> for CoreChannel {
    fn new() -> Self {
        CoreChannel(oneshot::OneShot::new())
    }
    fn send(&self, message: String) {
        self.0.send(message);
    }
    fn try_receive(&self) -> Option<String> {
        self.0.try_receive()
    }
}

#[test]
fn right_channels_pass() {
    passes("core OneShot", graded::channel_model::<CoreChannel>());
    passes(
        "core OneShot, spinning receiver",
        graded::channel_spin_model::<CoreChannel>(),
    );
    passes(
        "Release / Acquire load",
        graded::channel_model::<Chan<RIGHT>>(),
    );
    passes(
        "Release / Acquire swap",
        graded::channel_model::<Chan<RIGHT_SWAP>>(),
    );
    passes(
        "Release / Acquire, spinning",
        graded::channel_spin_model::<Chan<RIGHT>>(),
    );
    graded::check_channel::<Chan<RIGHT>>();
}

#[test]
fn wrong_channels_fail_with_a_data_race() {
    for (name, result) in [
        (
            "Relaxed flag",
            graded::channel_model::<Chan<RELAXED_FLAG>>(),
        ),
        (
            "Relaxed flag, spinning",
            graded::channel_spin_model::<Chan<RELAXED_FLAG>>(),
        ),
        (
            "reads before the flag",
            graded::channel_model::<Chan<READ_FIRST>>(),
        ),
        (
            "flag before the message",
            graded::channel_model::<Chan<FLAG_FIRST>>(),
        ),
    ] {
        fails(name, result, "data race on UnsafeCell");
    }
}

// ---- Arc -------------------------------------------------------------------------------

/// A value whose drop writes to a checked cell, so that a drop racing a read is caught.
struct Watched(UnsafeCell<u32>);
// SAFETY: shared inside loom models only, which check every access to the cell.
unsafe impl Sync for Watched {}

impl Drop for Watched {
    fn drop(&mut self) {
        self.0.with_mut(|p| unsafe { *p = 0 });
    }
}

/// The count of a small Arc dropped with `order`, with or without the Acquire fence.
fn arc_model(order: Ordering, with_fence: bool) -> Result<Explored, Failure> {
    struct Shared {
        count: AtomicUsize,
        value: Watched,
    }
    // SAFETY: shared inside a loom model only, which checks every access to the value.
    unsafe impl Sync for Shared {}
    model::explore(move || {
        let shared = Arc::new(Shared {
            count: AtomicUsize::new(2),
            value: Watched(UnsafeCell::new(7)),
        });
        let drop_one = move |shared: &Shared| {
            assert_eq!(shared.value.0.with(|p| unsafe { *p }), 7);
            if shared.count.fetch_sub(1, order) == 1 {
                if with_fence {
                    fence(Acquire);
                }
                shared.value.0.with_mut(|p| unsafe { *p = 0 }); // what dropping the value does
            }
        };
        let other = {
            let shared = shared.clone();
            loom::thread::spawn(move || drop_one(&shared))
        };
        drop_one(&shared);
        other.join().unwrap();
    })
}

#[test]
fn the_small_arc_needs_release_and_an_acquire_fence() {
    passes(
        "core Arc",
        model::explore(|| {
            let a = arc::Arc::new(Watched(UnsafeCell::new(7)));
            let b = a.clone();
            let other = loom::thread::spawn(move || {
                assert_eq!(b.0.with(|p| unsafe { *p }), 7);
            });
            assert_eq!(a.0.with(|p| unsafe { *p }), 7);
            drop(a);
            other.join().unwrap();
        }),
    );
    passes(
        "fetch_sub Release + fence Acquire",
        arc_model(Release, true),
    );
    fails(
        "fetch_sub Relaxed + fence Acquire",
        arc_model(Relaxed, true),
        "data race",
    );
    fails(
        "fetch_sub Release, no fence",
        arc_model(Release, false),
        "data race",
    );
}

// ---- litmus ----------------------------------------------------------------------------

#[test]
fn litmus_outcome_sets() {
    for test in Litmus::ALL {
        let seen = run_loom(test).unwrap();
        eprintln!(
            "{test}: {:?} in {} executions, {:.0} ms",
            seen.outcomes,
            seen.explored.executions,
            seen.explored.elapsed.as_secs_f64() * 1e3
        );
        let forbidden = seen.outcomes.contains(&test.forbidden());
        // loom regards SeqCst accesses as AcqRel (its README): a false alarm on SB/SeqCst.
        let expected = test.model_allows_forbidden() || test == Litmus::StoreBufferingSeqCst;
        assert_eq!(forbidden, expected, "{test}: {:?}", seen.outcomes);
    }
}
