//! A spin lock: one `AtomicBool`, taken with `compare_exchange(false, true, Acquire, …)` and
//! given back with `store(false, Release)` (Mara Bos, *Rust Atomics and Locks*, ch. 4).
//!
//! Why those orderings: what the holder wrote inside the lock must be visible to the next
//! holder. The unlock's Release store and the next lock's Acquire read of it make the
//! first critical section *happen before* the second. With Relaxed, loom finds a run where
//! the second holder reads the data from before the first one's write (a data race on the
//! protected `UnsafeCell`); see the tests and `tests/loom_models.rs`.
//!
//! ```
//! use parlab_core::memory_model::spin::SpinLock;
//!
//! let lock = SpinLock::new(0u64);
//! std::thread::scope(|s| {
//!     for _ in 0..2 {
//!         s.spawn(|| for _ in 0..1000 { lock.with(|n| *n += 1); });
//!     }
//! });
//! assert_eq!(lock.into_inner(), 2000);
//! ```

use std::time::{Duration, Instant};

use super::sync::{
    spin_loop, AtomicBool,
    Ordering::{Acquire, Relaxed, Release},
    UnsafeCell,
};

/// A lock that waits by spinning: the waiter keeps its CPU, asking again and again.
pub struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock lets one thread at a time reach the value (the Acquire/Release pair
// orders one holder's accesses before the next one's), so sharing it only sends `T`.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Spins until the lock is free, takes it (Acquire: sees the last holder's writes).
    pub fn lock(&self) {
        while self
            .locked
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            // Wait with plain loads until it looks free: a failed compare_exchange takes
            // the cache line exclusively each time, a load shares it.
            while self.locked.load(Relaxed) {
                spin_loop();
            }
        }
    }

    /// Like [`lock`](Self::lock), giving up after `timeout`: whether it got the lock.
    pub fn try_lock_for(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        loop {
            if self
                .locked
                .compare_exchange_weak(false, true, Acquire, Relaxed)
                .is_ok()
            {
                return true;
            }
            while self.locked.load(Relaxed) {
                if start.elapsed() >= timeout {
                    return false;
                }
                spin_loop();
            }
        }
    }

    /// Gives the lock back (Release: publishes this holder's writes to the next one).
    ///
    /// Only the holder may call it: [`with`](Self::with) pairs `lock` and `unlock` for you.
    pub fn unlock(&self) {
        self.locked.store(false, Release);
    }

    /// Runs `f` on the value with the lock held.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.lock();
        let unlock = Unlock(self);
        // SAFETY: we hold the lock, so no other thread touches the value until `unlock`.
        let result = self.value.with_mut(|p| f(unsafe { &mut *p }));
        drop(unlock);
        result
    }

    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

/// Unlocks when dropped, so that a panic inside `with` does not leave the lock taken.
struct Unlock<'a, T>(&'a SpinLock<T>);

impl<T> Drop for Unlock<'_, T> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_model::model;
    use std::sync::Arc;

    #[test]
    fn real_threads_lose_no_update() {
        let lock = SpinLock::new(0u64);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| (0..20_000).for_each(|_| lock.with(|n| *n += 1)));
            }
        });
        assert_eq!(lock.into_inner(), 60_000);
    }

    #[test]
    fn a_held_lock_times_out() {
        let lock = SpinLock::new(());
        lock.lock();
        assert!(!lock.try_lock_for(Duration::from_millis(5)));
        lock.unlock();
        assert!(lock.try_lock_for(Duration::from_millis(5)));
    }

    #[test]
    fn loom_proves_it_for_two_threads() {
        let explored = model::check(|| {
            let lock = Arc::new(SpinLock::new(0));
            let other = {
                let lock = lock.clone();
                loom::thread::spawn(move || lock.with(|n| *n += 1))
            };
            lock.with(|n| *n += 1);
            other.join().unwrap();
            assert_eq!(lock.with(|n| *n), 2);
        });
        assert!(explored.executions > 1);
    }
}
