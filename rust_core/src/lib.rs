//! parlab's core: the Mandelbrot set rendered in tiles under several scheduling
//! strategies, with a record of what every thread did, to the microsecond.
//!
//! ```
//! use parlab_core::{render, RenderConfig, Strategy};
//!
//! let config = RenderConfig { width: 64, height: 48, tile_w: 16, tile_h: 16, max_iter: 100,
//!                             strategy: Strategy::Dynamic, threads: Some(2), ..Default::default() };
//! let run = render(&config).unwrap();
//! assert_eq!(run.completed_tiles(), run.total_tiles);
//! assert!(run.records.iter().all(|r| r.thread_id < 2));
//! ```
//!
//! Within a tile, a [`Kernel`] computes the pixels: the scalar reference one at a time, or
//! a SIMD path (AVX-512, AVX2, NEON, portable) chosen at run time, with identical counts.
//!
//! Pure Rust, no Python: the PyO3 binding and the evcxr notebooks use this same crate.

pub mod cancel;
pub mod chrome_trace;
pub mod display;
pub mod error;
pub mod evidence;
pub mod hardware;
pub mod kernels;
pub mod mandelbrot;
pub mod measure;
#[cfg(feature = "loom")]
pub mod memory_model;
#[cfg(feature = "net")]
pub mod net;
#[cfg(feature = "plot")]
pub mod plot;
pub mod render;
pub mod schedule;
pub mod shared;
pub mod source;
pub mod tiles;
pub mod timeline;
pub mod work_span;
pub mod workloads;

pub use display::{PerThread, RecordTable, ThreadStats};
pub use error::{Error, Result};
pub use hardware::{detect, HardwareInfo};
pub use kernels::{is_interior, render_tile_with, render_tile_work, Kernel, TileWork};
pub use mandelbrot::{escape_time, pixel_to_point, render_tile, Frame, Viewport};
pub use render::{
    check_max_iter, checked_tile_count, default_threads, render, render_one_tile, render_with,
    time_limit_from_ms, Event, RenderConfig, RenderRun, MAX_ITER, MAX_PIXELS, MAX_THREADS,
    MAX_TILES,
};
pub use schedule::Strategy;
pub use tiles::{tile_count, tile_grid, Tile};
pub use timeline::{LaneSteps, Span, TaskRecord};
pub use work_span::{work_span, TaskGraph, WorkSpan};
