//! A small `Arc` (*Rust Atomics and Locks*, ch. 6): a reference count beside the value.
//! `clone` adds 1 with Relaxed (nothing is published by making a reference); `drop`
//! subtracts 1 with Release, and the thread that took the count to 0 makes an Acquire
//! fence before freeing, so that every other owner's last use of the value happens before
//! the value is dropped. With a Relaxed `fetch_sub` and no fence, loom finds the drop racing
//! with another thread's last read.
//!
//! ```
//! use parlab_core::memory_model::arc::Arc;
//!
//! let a = Arc::new(vec![1, 2, 3]);
//! let b = a.clone();
//! let sum = std::thread::spawn(move || b.iter().sum::<i32>()).join().unwrap();
//! assert_eq!((sum, Arc::count(&a)), (6, 1));
//! ```

use std::ops::Deref;
use std::ptr::NonNull;

use super::sync::{
    fence, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};

struct Shared<T> {
    count: AtomicUsize,
    value: T,
}

/// Shared ownership of a `T` across threads, freed when the last owner lets go.
pub struct Arc<T> {
    shared: NonNull<Shared<T>>,
}

// SAFETY: as std's Arc: sharing hands out `&T` to several threads (T: Sync) and the last
// owner, on any thread, drops the `T` (T: Send).
unsafe impl<T: Send + Sync> Send for Arc<T> {}
unsafe impl<T: Send + Sync> Sync for Arc<T> {}

impl<T> Arc<T> {
    pub fn new(value: T) -> Self {
        let shared = Box::new(Shared {
            count: AtomicUsize::new(1),
            value,
        });
        Arc {
            shared: NonNull::from(Box::leak(shared)),
        }
    }

    fn shared(&self) -> &Shared<T> {
        // SAFETY: the allocation lives while any Arc (this one included) points to it.
        unsafe { self.shared.as_ref() }
    }

    /// How many `Arc`s point to the value now (a snapshot: others may change it).
    pub fn count(this: &Self) -> usize {
        this.shared().count.load(Relaxed)
    }
}

impl<T> Clone for Arc<T> {
    fn clone(&self) -> Self {
        // Far below usize::MAX in practice; std aborts past isize::MAX, so do we.
        if self.shared().count.fetch_add(1, Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
        Arc {
            shared: self.shared,
        }
    }
}

impl<T> Deref for Arc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.shared().value
    }
}

impl<T> Drop for Arc<T> {
    fn drop(&mut self) {
        if self.shared().count.fetch_sub(1, Release) == 1 {
            fence(Acquire);
            // SAFETY: the count reached 0: this was the last Arc, nobody else can reach it.
            drop(unsafe { Box::from_raw(self.shared.as_ptr()) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_model::{model, sync::UnsafeCell};

    /// A value whose reads and whose drop loom checks (the drop writes to the cell).
    struct Watched(UnsafeCell<u32>);
    // SAFETY: shared inside loom models only, which check every access to the cell.
    unsafe impl Sync for Watched {}

    impl Drop for Watched {
        fn drop(&mut self) {
            // SAFETY: loom checks that no read is unordered with this write.
            self.0.with_mut(|p| unsafe { *p = 0 });
        }
    }

    #[test]
    fn loom_proves_the_last_drop_comes_after_every_use() {
        model::check(|| {
            let a = Arc::new(Watched(UnsafeCell::new(7)));
            let b = a.clone();
            let other = loom::thread::spawn(move || {
                // SAFETY: a read while this Arc keeps the value alive.
                assert_eq!(b.0.with(|p| unsafe { *p }), 7);
                drop(b);
            });
            assert_eq!(a.0.with(|p| unsafe { *p }), 7);
            drop(a);
            other.join().unwrap();
        });
    }

    #[test]
    fn real_threads_free_it_once() {
        use std::sync::atomic::{AtomicUsize as Count, Ordering::SeqCst};
        static DROPS: Count = Count::new(0);
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, SeqCst);
            }
        }
        let a = Arc::new(Counted);
        std::thread::scope(|s| {
            for _ in 0..4 {
                let mine = a.clone();
                s.spawn(move || drop(mine));
            }
        });
        assert_eq!((Arc::count(&a), DROPS.load(SeqCst)), (1, 0));
        drop(a);
        assert_eq!(DROPS.load(SeqCst), 1);
    }
}
