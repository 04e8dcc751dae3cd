//! Shared data between threads: lost updates, the fixes and their price, false sharing,
//! deadlock, and message passing instead of sharing. One lesson per file:
//!
//! - [`counting`]: lost updates and their fixes ([`count`], [`Counter`]);
//! - [`locks`]: the price of a lock, on a timeline ([`lock_timeline`]);
//! - [`false_sharing`]: counters apart that share a cache line ([`false_sharing()`]);
//! - [`deadlock`]: two locks taken in opposite orders ([`two_locks`]);
//! - [`messages`]: a histogram by message passing instead of sharing ([`histogram_channel`]).
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use parlab_core::shared::{count, Counter};
//!
//! let stop = AtomicBool::new(false);
//! let run = count(Counter::FetchAdd, 2, 10_000, &stop).unwrap();
//! assert_eq!(run.total, 20_000); // fetch_add never loses an update
//! ```
//!
//! Every function takes a `stop` flag that its threads look at often, so a binding can end
//! a run on Ctrl-C (see [`crate::cancel::run_cancellable`]), every lock wait has a timeout,
//! so nothing here can hang, and a run that could not end within [`MAX_RUN`] is refused
//! before it starts.

use std::time::Duration;

mod checks;
pub mod counting;
pub mod deadlock;
pub mod false_sharing;
pub mod locks;
pub mod messages;
mod threads;

pub use checks::wait_in;
pub use counting::{
    count, count_fetch_add, count_load_store, count_mutex, count_per_thread, CountRun, Counter,
};
pub use deadlock::{two_locks, LockOrder};
pub use false_sharing::{cache_line_bytes, false_sharing, FalseSharingRun, Padded, SameLine};
pub use locks::{lock_timeline, Activity, LockRun, LockSpan};
pub use messages::{
    bin_of, histogram_channel, histogram_sequential, histogram_shared, BLOCK, MAX_BINS,
};

/// The most threads a run of these lessons may start (a render may start more:
/// [`crate::MAX_THREADS`]).
pub const MAX_THREADS: usize = 64;
/// The most increments one thread may make in one run (a contended lock takes ~100 ns each).
pub const MAX_INCREMENTS: u64 = 100_000_000;
/// The most increments of one run, all threads together: threads × increments. A contended
/// mutex managed ~10⁷ increments per second on a 2-CPU machine, so the largest run stays
/// within a minute; 64 threads × [`MAX_INCREMENTS`] would have taken about ten.
pub const MAX_TOTAL_INCREMENTS: u64 = 400_000_000;
/// The most rounds of the lock timeline and the deadlock runs (they record every round).
pub const MAX_ROUNDS: usize = 10_000;
/// The longest timeout of a lock wait, and the longest span held or worked in one round.
pub const MAX_WAIT: Duration = Duration::from_secs(2);
/// The most time a lock run may be sure to take (its spans held one after another, its
/// deadlocks waited out): a long cell of a lesson, not days (64 threads × 10,000 rounds ×
/// 2 s held would hold the lock for 15 days).
pub const MAX_RUN: Duration = Duration::from_secs(300);
