//! The memory model (feature `loom`): what the hardware and the compiler may reorder, shown
//! on real threads and proven with loom, and the primitives built on it.
//!
//! - [`sync`]: atomics and an `UnsafeCell` that are std's on real threads and loom's inside
//!   a model, so one piece of code is both timed and proven;
//! - [`model`]: running a test under loom ([`model::check`], [`model::outcomes`]), with a
//!   failure told in plain words and the interleaving that broke it;
//! - [`litmus`]: store buffering and message passing, counted on real threads and
//!   enumerated by loom;
//! - [`spin`], [`oneshot`], [`arc`]: a spin lock, a one-shot channel and a small `Arc`;
//! - [`graded`]: the loom models that grade the lesson's exercises ([`graded::RawLock`],
//!   [`graded::Channel`]);
//! - [`contention`]: the spin lock against `std` and `parking_lot` mutexes, timed, and the
//!   CPU a spinning wait burns, on the lock timeline.
//!
//! The loom models of these primitives also run as `cargo test --features loom` (the unit
//! tests here, and `tests/loom_models.rs`, which also checks wrong orderings fail).

pub mod arc;
pub mod contention;
pub mod graded;
pub mod litmus;
pub mod model;
pub mod oneshot;
pub mod spin;
pub mod sync;

/// The loom crate itself, for models written outside the core (a notebook's `:dep` names
/// only `parlab_core`): `loom::thread::spawn` inside [`model::explore`].
pub use loom;
