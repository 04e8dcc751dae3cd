//! Atomics and an `UnsafeCell` that are std's on real threads and loom's inside a loom model.
//!
//! Loom can only check code written with its own types. The usual way (`#[cfg(loom)]`)
//! compiles the code twice; a notebook cannot. So these types decide when they are made:
//! made inside [`super::model::explore`] (or `check`, `outcomes`) they are loom's, made
//! anywhere else they are std's. One spin lock, written once, is then both timed on real
//! threads and proven under every interleaving loom explores.
//!
//! Under a model each operation is also written down ("thread 1: swap(true, Relaxed) read
//! false"), so that a failure can show the interleaving that broke it, in plain words.
//!
//! ```
//! use parlab_core::memory_model::sync::{AtomicBool, Ordering::{Acquire, Relaxed, Release}};
//!
//! let flag = AtomicBool::new(false);              // std's: made outside a model
//! assert!(flag.compare_exchange(false, true, Acquire, Relaxed).is_ok());
//! flag.store(false, Release);
//! assert!(!flag.load(Relaxed));
//! ```

use std::cell::{Cell, RefCell};
use std::sync::atomic as std_atomic;

pub use std::sync::atomic::Ordering;

thread_local! {
    /// Whether this thread is running a model (loom runs all its threads on this one).
    static IN_MODEL: Cell<bool> = const { Cell::new(false) };
    /// The operations of the execution being explored, in the order they happened.
    static TRACE: RefCell<Vec<Step>> = const { RefCell::new(Vec::new()) };
    /// How many atomics and cells the current execution has made (to name them).
    static MADE: Cell<usize> = const { Cell::new(0) };
}

/// One operation of an execution under loom: which thread, on what, and what it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Loom's thread number: 0 is the model's own thread, 1, 2, … those it spawned.
    pub thread: usize,
    /// What was touched: "AtomicBool #1", "UnsafeCell #2", "fence".
    pub object: String,
    /// What was done and seen: "swap(true, Relaxed) read false".
    pub action: String,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "thread {}: {} {}", self.thread, self.object, self.action)
    }
}

/// Whether the calling thread is inside a model (so new atomics are loom's).
pub fn in_model() -> bool {
    IN_MODEL.with(Cell::get)
}

/// Marks the calling thread as running a model until the guard is dropped.
pub(super) struct ModelGuard;

impl ModelGuard {
    pub(super) fn enter() -> ModelGuard {
        IN_MODEL.with(|m| m.set(true));
        ModelGuard
    }
}

impl Drop for ModelGuard {
    fn drop(&mut self) {
        IN_MODEL.with(|m| m.set(false));
    }
}

/// Forgets the previous execution's steps and names (loom calls the model once per execution).
pub(super) fn new_execution() {
    TRACE.with(|t| t.borrow_mut().clear());
    MADE.with(|m| m.set(0));
}

/// The steps of the execution being explored (or the last one, after it failed).
pub(super) fn trace() -> Vec<Step> {
    TRACE.with(|t| t.borrow().clone())
}

fn loom_thread() -> usize {
    // loom's ThreadId prints as "ThreadId(1)"; its number is all a reader needs.
    let id = format!("{:?}", loom::thread::current().id());
    id.trim_start_matches("ThreadId(")
        .trim_end_matches(')')
        .parse()
        .unwrap_or(usize::MAX)
}

fn record(object: &str, action: String) {
    let thread = loom_thread();
    TRACE.with(|t| {
        t.borrow_mut().push(Step {
            thread,
            object: object.to_string(),
            action,
        })
    });
}

fn next_name(kind: &str) -> String {
    let n = MADE.with(|m| {
        m.set(m.get() + 1);
        m.get()
    });
    format!("{kind} #{n}")
}

/// A spin loop's pause: `std::hint::spin_loop` on real threads; under loom, a yield, which
/// lets loom run another thread instead of exploring this one spinning forever.
pub fn spin_loop() {
    if in_model() {
        loom::hint::spin_loop();
    } else {
        std::hint::spin_loop();
    }
}

/// A memory fence (`std::sync::atomic::fence`, or loom's, which supports `fence(SeqCst)`).
pub fn fence(order: Ordering) {
    if in_model() {
        record("fence", format!("{order:?}"));
        loom::sync::atomic::fence(order);
    } else {
        std_atomic::fence(order);
    }
}

macro_rules! dual_atomic {
    ($(#[$doc:meta])* $name:ident, $value:ty, $kind:literal) => {
        $(#[$doc])*
        pub struct $name(Inner<std_atomic::$name, loom::sync::atomic::$name, $value>);

        impl $name {
            /// std's atomic outside a model, loom's inside one.
            pub fn new(value: $value) -> Self {
                if in_model() {
                    $name(Inner::Loom(loom::sync::atomic::$name::new(value), next_name($kind), Cell::new(None)))
                } else {
                    $name(Inner::Std(std_atomic::$name::new(value)))
                }
            }

            pub fn load(&self, order: Ordering) -> $value {
                match &self.0 {
                    Inner::Std(a) => a.load(order),
                    Inner::Loom(a, name, last) => {
                        let value = a.load(order);
                        record(name, format!("load({order:?}) read {value}"));
                        // The same value loaded again by this thread: it is waiting for
                        // another thread, so let loom run one (see `spin_loop`).
                        if last.replace(Some((loom_thread(), value))) == Some((loom_thread(), value)) {
                            loom::hint::spin_loop();
                        }
                        value
                    }
                }
            }

            pub fn store(&self, value: $value, order: Ordering) {
                match &self.0 {
                    Inner::Std(a) => a.store(value, order),
                    Inner::Loom(a, name, last) => {
                        a.store(value, order);
                        record(name, format!("store({value}, {order:?})"));
                        last.set(None);
                    }
                }
            }

            pub fn compare_exchange(
                &self,
                current: $value,
                new: $value,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$value, $value> {
                match &self.0 {
                    Inner::Std(a) => a.compare_exchange(current, new, success, failure),
                    Inner::Loom(a, name, last) => {
                        let result = a.compare_exchange(current, new, success, failure);
                        last.set(None);
                        match result {
                            Ok(_) => record(name, format!(
                                "compare_exchange({current} → {new}, {success:?}) succeeded")),
                            Err(seen) => {
                                record(name, format!(
                                    "compare_exchange({current} → {new}, {failure:?}) failed: read {seen}"));
                                loom::hint::spin_loop(); // failed: waiting for another thread
                                return Err(seen);
                            }
                        }
                        result
                    }
                }
            }

            /// As std's: may fail spuriously on some CPUs (loom's never does).
            pub fn compare_exchange_weak(
                &self,
                current: $value,
                new: $value,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$value, $value> {
                match &self.0 {
                    Inner::Std(a) => a.compare_exchange_weak(current, new, success, failure),
                    Inner::Loom(..) => self.compare_exchange(current, new, success, failure),
                }
            }

            /// The value, when no other thread can touch the atomic any more.
            pub fn into_inner(self) -> $value {
                match self.0 {
                    Inner::Std(a) => a.into_inner(),
                    Inner::Loom(a, ..) => a.into_inner(),
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new(Default::default())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match &self.0 {
                    Inner::Std(a) => a.fmt(f),
                    Inner::Loom(_, name, _) => f.write_str(name),
                }
            }
        }
    };
}

/// std's atomic, or loom's with its name and the last value a thread loaded from it.
enum Inner<S, L, V> {
    Std(S),
    Loom(L, String, LastLoad<V>),
}

/// (thread, value) of the last load, to tell a thread that loads the same value again.
type LastLoad<V> = Cell<Option<(usize, V)>>;

// SAFETY: the `Std` variant is std's atomic, which is Sync and Send. The `Loom` variant is
// only usable inside a model, where loom runs all its threads on the one OS thread that
// made it, one at a time (each loom operation would panic on another OS thread, before the
// `Cell` is touched): its `Cell` is never accessed by two threads at once.
unsafe impl<S: Sync, L: Sync, V> Sync for Inner<S, L, V> {}
unsafe impl<S: Send, L: Send, V: Send> Send for Inner<S, L, V> {}

dual_atomic!(
    /// An `AtomicBool`: std's, or loom's inside a model.
    AtomicBool,
    bool,
    "AtomicBool"
);
dual_atomic!(
    /// An `AtomicUsize`: std's, or loom's inside a model.
    AtomicUsize,
    usize,
    "AtomicUsize"
);

impl AtomicBool {
    /// Stores `value`, returning the previous value.
    ///
    /// Under loom it is done as `compare_exchange(!value, value, order, …)`: a swap that
    /// reads `value` then writes nothing, which is the same for a lock or a flag. loom
    /// mishandles a real read-modify-write racing a plain store (tokio-rs/loom#254, #389:
    /// it can read a value that the modification order has already replaced), which would
    /// fail a correct `swap`-based lock or channel.
    pub fn swap(&self, value: bool, order: Ordering) -> bool {
        match &self.0 {
            Inner::Std(a) => a.swap(value, order),
            Inner::Loom(a, name, last) => {
                let failure = match order {
                    Ordering::Release | Ordering::Relaxed => Ordering::Relaxed,
                    Ordering::AcqRel | Ordering::Acquire => Ordering::Acquire,
                    _ => Ordering::SeqCst,
                };
                let old = match a.compare_exchange(!value, value, order, failure) {
                    Ok(old) | Err(old) => old,
                };
                record(name, format!("swap({value}, {order:?}) read {old}"));
                last.set(None);
                if old == value {
                    loom::hint::spin_loop(); // changed nothing: waiting for another thread
                }
                old
            }
        }
    }
}

/// Read-modify-write operations of [`AtomicUsize`], one per name: std's, or loom's recorded
/// as a step of the interleaving (what it wrote, what it read).
macro_rules! usize_rmw {
    ($($op:ident),+) => {
        impl AtomicUsize {
            $(
                pub fn $op(&self, value: usize, order: Ordering) -> usize {
                    match &self.0 {
                        Inner::Std(a) => a.$op(value, order),
                        Inner::Loom(a, name, last) => {
                            let old = a.$op(value, order);
                            record(name, format!(concat!(stringify!($op), "({}, {:?}) read {}"), value, order, old));
                            last.set(None);
                            old
                        }
                    }
                }
            )+
        }
    };
}
usize_rmw!(swap, fetch_add, fetch_sub);

/// An `UnsafeCell` whose accesses loom checks: two accesses from different threads that are
/// not ordered by happens-before (at least one of them a write) are a data race, and loom
/// fails the model there ("causality violation"). On real threads, std's `UnsafeCell`.
///
/// As loom's: the pointer is only valid inside the closure.
pub struct UnsafeCell<T>(CellInner<T>);

enum CellInner<T> {
    Std(std::cell::UnsafeCell<T>),
    Loom(loom::cell::UnsafeCell<T>, String),
}

impl<T> UnsafeCell<T> {
    pub fn new(value: T) -> Self {
        if in_model() {
            UnsafeCell(CellInner::Loom(
                loom::cell::UnsafeCell::new(value),
                next_name("UnsafeCell"),
            ))
        } else {
            UnsafeCell(CellInner::Std(std::cell::UnsafeCell::new(value)))
        }
    }

    /// Reads through `*const T` inside `f` (loom records a read).
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        match &self.0 {
            CellInner::Std(c) => f(c.get()),
            CellInner::Loom(c, name) => {
                record(name, "read".to_string());
                c.with(f)
            }
        }
    }

    /// Writes through `*mut T` inside `f` (loom records a write).
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        match &self.0 {
            CellInner::Std(c) => f(c.get()),
            CellInner::Loom(c, name) => {
                record(name, "written".to_string());
                c.with_mut(f)
            }
        }
    }

    pub fn into_inner(self) -> T {
        match self.0 {
            CellInner::Std(c) => c.into_inner(),
            CellInner::Loom(c, _) => c.into_inner(),
        }
    }
}

impl<T: Default> Default for UnsafeCell<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

    #[test]
    fn outside_a_model_they_are_std_types() {
        assert!(!in_model());
        let a = AtomicUsize::new(3);
        assert_eq!(a.swap(4, Relaxed), 3);
        assert_eq!(a.compare_exchange(4, 5, Acquire, Relaxed), Ok(4));
        assert_eq!(a.compare_exchange(4, 6, Acquire, Relaxed), Err(5));
        a.store(7, Release);
        assert_eq!(a.into_inner(), 7);
        let cell = UnsafeCell::new(1);
        // SAFETY: one thread, no other access.
        cell.with_mut(|p| unsafe { *p += 1 });
        assert_eq!(cell.with(|p| unsafe { *p }), 2);
        assert!(trace().is_empty(), "nothing is recorded outside a model");
    }
}
