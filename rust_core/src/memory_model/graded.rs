//! The loom models that grade the lesson's exercises (rust/07): a student's spin lock and
//! one-shot channel, implemented as [`RawLock`] and [`Channel`], run under every
//! interleaving loom explores. A too-weak ordering fails every time (loom's search is
//! deterministic), with what broke in plain words and the interleaving that broke it.
//! `tests/loom_models.rs` runs the same models on the core's primitives and on the wrong
//! answers of the lesson.
//!
//! ```
//! use parlab_core::memory_model::graded::{self, RawLock};
//! use parlab_core::memory_model::sync::{AtomicBool, Ordering::Relaxed};
//!
//! struct TooWeak(AtomicBool);
//! impl RawLock for TooWeak {
//!     fn new() -> Self { TooWeak(AtomicBool::new(false)) }
//!     fn lock(&self) { while self.0.compare_exchange(false, true, Relaxed, Relaxed).is_err() {} }
//!     fn unlock(&self) { self.0.store(false, Relaxed); }
//! }
//! let failure = graded::lock_model::<TooWeak>().unwrap_err();
//! assert!(failure.explanation.contains("data race"));
//! ```

use std::sync::Arc;

use super::model::{self, Explored, Failure};
use super::sync::UnsafeCell;

/// A lock without data: `lock` waits until it is free and takes it, `unlock` lets go.
pub trait RawLock: Send + Sync + 'static {
    fn new() -> Self;
    fn lock(&self);
    fn unlock(&self);
}

/// A one-shot channel: `send` once, `try_receive` gives the message once it has arrived
/// (and `None` before, and after it was taken).
pub trait Channel<T>: Send + Sync + 'static {
    fn new() -> Self;
    fn send(&self, message: T);
    fn try_receive(&self) -> Option<T>;
}

/// A counter behind a lock of type `L`: each access goes through loom's checked cell.
struct Guarded<L> {
    lock: L,
    count: UnsafeCell<u64>,
}

// SAFETY: the count is only touched between `lock` and `unlock`: if the lock under test
// does not exclude, loom reports the data race (that is what the model checks).
unsafe impl<L: Sync> Sync for Guarded<L> {}

impl<L: RawLock> Guarded<L> {
    fn add_one(&self) {
        self.lock.lock();
        // SAFETY: see the Sync impl.
        let n = self.count.with(|p| unsafe { *p });
        self.count.with_mut(|p| unsafe { *p = n + 1 });
        self.lock.unlock();
    }
}

/// Two threads each take the lock, add 1 to a counter it guards, and let go; then the
/// counter must be 2, and no access to it may race.
pub fn lock_model<L: RawLock>() -> Result<Explored, Failure> {
    model::explore(|| {
        let guarded = Arc::new(Guarded {
            lock: L::new(),
            count: UnsafeCell::new(0),
        });
        let other = {
            let guarded = guarded.clone();
            loom::thread::spawn(move || guarded.add_one())
        };
        guarded.add_one();
        other.join().expect("the other thread panicked");
        guarded.lock.lock();
        // SAFETY: both threads are done; we hold the lock.
        let total = guarded.count.with(|p| unsafe { *p });
        guarded.lock.unlock();
        assert_eq!(
            total, 2,
            "two threads each added 1 under the lock, the counter says {total}: an update was lost"
        );
    })
}

/// One thread sends `"hello"` while another tries to receive it once before and (if it
/// got nothing) once after joining the sender: it must get the message exactly once, and
/// the message's memory must never be read while it is being written.
pub fn channel_model<C: Channel<String>>() -> Result<Explored, Failure> {
    model::explore(|| {
        let channel = Arc::new(C::new());
        let sender = {
            let channel = channel.clone();
            loom::thread::spawn(move || channel.send("hello".to_string()))
        };
        let early = channel.try_receive();
        sender.join().expect("the sending thread panicked");
        let got = match early {
            Some(message) => Some(message),
            None => channel.try_receive(),
        };
        assert_eq!(
            got.as_deref(),
            Some("hello"),
            "after the sender finished, try_receive gave {got:?}, not the message sent"
        );
        let again = channel.try_receive();
        assert!(
            again.is_none(),
            "a one-shot channel gives its message once; the second try_receive gave {again:?}"
        );
    })
}

/// A receiver that spins on `try_receive` until the message comes: it must come, intact.
pub fn channel_spin_model<C: Channel<String>>() -> Result<Explored, Failure> {
    model::explore(|| {
        let channel = Arc::new(C::new());
        let sender = {
            let channel = channel.clone();
            loom::thread::spawn(move || channel.send("hello".to_string()))
        };
        let got = loop {
            if let Some(message) = channel.try_receive() {
                break message;
            }
            super::sync::spin_loop();
        };
        sender.join().expect("the sending thread panicked");
        assert_eq!(got, "hello", "the message arrived changed");
    })
}

/// `lock_model` for a graded cell: panics with the failure in plain words (the student's
/// type named), and prints nothing on success.
pub fn check_lock<L: RawLock>() {
    if let Err(failure) = lock_model::<L>() {
        panic!("your lock under loom, two threads each adding 1 under it:\n{failure}");
    }
    real_threads_lock::<L>();
}

/// The channel models for a graded cell: panics with the failure in plain words.
pub fn check_channel<C: Channel<String>>() {
    for (what, model) in [
        (
            "a receive before and after the send",
            channel_model::<C> as fn() -> _,
        ),
        (
            "a receiver spinning until the message comes",
            channel_spin_model::<C>,
        ),
    ] {
        if let Err(failure) = model() {
            panic!("your channel under loom, {what}:\n{failure}");
        }
    }
}

/// The lock on real threads too (loom explores at most a few preemptions): 2 threads ×
/// 20000 increments must all count.
fn real_threads_lock<L: RawLock>() {
    let guarded = Guarded {
        lock: L::new(),
        count: UnsafeCell::new(0),
    };
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| (0..20_000).for_each(|_| guarded.add_one()));
        }
    });
    let total = guarded.count.into_inner();
    assert_eq!(
        total, 40_000,
        "on real threads, 2 × 20000 increments under your lock counted {total}: it let two threads in at once"
    );
}
