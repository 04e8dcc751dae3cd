//! A one-shot channel: one message, sent once, received once (*Rust Atomics and Locks*,
//! ch. 5). The sender writes the message, *then* raises `ready` with Release; the receiver
//! takes `ready` with Acquire, *then* reads the message. The pair orders the write before
//! the read; with Relaxed (or with the read before the flag) loom finds the data race.
//!
//! ```
//! use parlab_core::memory_model::oneshot::OneShot;
//!
//! let channel = OneShot::new();
//! let got = std::thread::scope(|s| {
//!     s.spawn(|| channel.send("hello"));
//!     loop {
//!         if let Some(message) = channel.try_receive() { break message; }
//!         std::hint::spin_loop();
//!     }
//! });
//! assert_eq!(got, "hello");
//! ```

use super::sync::{
    AtomicBool,
    Ordering::{Acquire, Relaxed, Release},
    UnsafeCell,
};

/// One message from one thread to another.
pub struct OneShot<T> {
    message: UnsafeCell<Option<T>>,
    /// Raised by `send` once the message is written.
    ready: AtomicBool,
    /// Taken by the first `send`: a second one panics instead of racing the receiver.
    sent: AtomicBool,
}

// SAFETY: the message is written only before `ready` is raised (Release), and read only by
// the one receiver that took `ready` (Acquire swap): the accesses never overlap.
unsafe impl<T: Send> Sync for OneShot<T> {}

impl<T> Default for OneShot<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> OneShot<T> {
    pub fn new() -> Self {
        OneShot {
            message: UnsafeCell::new(None),
            ready: AtomicBool::new(false),
            sent: AtomicBool::new(false),
        }
    }

    /// Sends `message`. Panics if called twice (a one-shot channel carries one message).
    pub fn send(&self, message: T) {
        assert!(
            !self.sent.swap(true, Relaxed),
            "send: this one-shot channel was already used"
        );
        // SAFETY: no receiver reads before `ready` is raised below.
        self.message
            .with_mut(|slot| unsafe { *slot = Some(message) });
        self.ready.store(true, Release);
    }

    /// The message, if it has arrived and was not taken yet.
    pub fn try_receive(&self) -> Option<T> {
        if !self.ready.swap(false, Acquire) {
            return None;
        }
        // SAFETY: we took `ready` (only one thread can), after the sender's last write.
        self.message.with_mut(|slot| unsafe { (*slot).take() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_model::model;
    use std::sync::Arc;

    #[test]
    fn loom_proves_send_then_receive() {
        model::check(|| {
            let channel = Arc::new(OneShot::new());
            let sender = {
                let channel = channel.clone();
                loom::thread::spawn(move || channel.send(42))
            };
            let early = channel.try_receive();
            sender.join().unwrap();
            let got = early.or_else(|| channel.try_receive());
            assert_eq!(got, Some(42));
            assert_eq!(channel.try_receive(), None, "received once");
        });
    }

    #[test]
    #[should_panic(expected = "already used")]
    fn a_second_send_panics() {
        let channel = OneShot::new();
        channel.send(1);
        channel.send(2);
    }
}
