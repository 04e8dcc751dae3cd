//! Kernels: *how* the pixels of one tile are computed. The scalar kernel is the reference
//! ([`crate::mandelbrot::render_tile`], one pixel at a time); the SIMD kernels run the same
//! definition on several pixels per instruction (data-level parallelism), bit for bit.
//!
//! Every SIMD path is the same engine ([`lanes`]) over a different vector type: AVX-512
//! (8 lanes) and AVX2 (4 lanes) on x86_64, NEON (2 lanes) on aarch64, and a portable
//! path of plain Rust arrays that the compiler vectorises for the baseline CPU. Which
//! one runs is decided at run time, so one build runs on every CPU of its architecture.

mod interior;
mod lanes;
#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;

pub use interior::{escape_time_periodic, is_interior};

use crate::error::{Error, Result};
use crate::mandelbrot::{render_tile as render_tile_scalar, render_tile_by, Frame};
use crate::tiles::Tile;
use crate::timeline::LaneSteps;

/// What rendering a tile took: the sum of its escape counts (the work it was) and the
/// lane-steps the kernel issued for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TileWork {
    pub iterations: u64,
    pub lanes: LaneSteps,
}

impl TileWork {
    /// A scalar kernel's work: one lane, every step useful.
    fn scalar(iterations: u64) -> Self {
        TileWork {
            iterations,
            lanes: LaneSteps::scalar(iterations),
        }
    }
}

/// A kernel to render tiles with: a request (`Auto`, `Simd`) or one concrete path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Kernel {
    /// The fastest exact kernel this CPU supports (today: the best SIMD path).
    #[default]
    Auto,
    /// The reference: one pixel at a time.
    Scalar,
    /// The best SIMD path this CPU supports.
    Simd,
    /// Plain Rust over arrays of 4 lanes, vectorised by the compiler for the baseline CPU.
    Portable,
    /// x86_64 AVX2: 4 lanes of f64.
    Avx2,
    /// x86_64 AVX-512: 8 lanes of f64.
    Avx512,
    /// aarch64 NEON: 2 lanes of f64.
    Neon,
}

impl Kernel {
    pub const ALL: [Kernel; 7] = [
        Kernel::Auto,
        Kernel::Scalar,
        Kernel::Simd,
        Kernel::Portable,
        Kernel::Avx2,
        Kernel::Avx512,
        Kernel::Neon,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Kernel::Auto => "auto",
            Kernel::Scalar => "scalar",
            Kernel::Simd => "simd",
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
            Kernel::Neon => "neon",
        }
    }

    /// Whether this CPU can run the kernel (requests are always runnable).
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Auto | Kernel::Scalar | Kernel::Simd | Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The concrete kernels this CPU runs, the reference first and the fastest last.
    pub fn available() -> Vec<Kernel> {
        [
            Kernel::Scalar,
            Kernel::Portable,
            Kernel::Neon,
            Kernel::Avx2,
            Kernel::Avx512,
        ]
        .into_iter()
        .filter(|k| k.is_supported())
        .collect()
    }

    /// The concrete kernel a request runs as on this CPU, or an error naming `kernel`
    /// when a forced path is not supported here.
    pub fn resolve(self) -> Result<Kernel> {
        match self {
            Kernel::Auto | Kernel::Simd => Ok(Kernel::available()
                .last()
                .copied()
                .unwrap_or(Kernel::Portable)),
            k if k.is_supported() => Ok(k),
            k => {
                let names: Vec<_> = Kernel::available().iter().map(|k| k.name()).collect();
                Err(Error::invalid(
                    "kernel",
                    format!(
                        "{:?} is not supported by this CPU ({}); available: {names:?}",
                        k.name(),
                        std::env::consts::ARCH
                    ),
                ))
            }
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernel {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Kernel::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Kernel::ALL.iter().map(|k| k.name()).collect();
                Error::invalid(
                    "kernel",
                    format!("unknown kernel {s:?}; choose one of {names:?}"),
                )
            })
    }
}

/// Renders one tile of `frame` with `kernel` into `out` (row-major, `tile.w × tile.h`) and
/// returns the sum of its escape counts, exactly as [`render_tile_scalar`] would. With
/// `interior_shortcut`, points of the main cardioid and the period-2 bulb (which never
/// escape) get `max_iter` without iterating, and orbits that repeat exactly in floating
/// point (periodic, so they never escape) stop early with `max_iter`. Returns
/// `Err(Cancelled)` soon after `stop`.
pub fn render_tile_with(
    kernel: Kernel,
    interior_shortcut: bool,
    frame: &Frame,
    tile: &Tile,
    stop: &AtomicBool,
    out: &mut Vec<u32>,
) -> Result<u64> {
    render_tile_work(kernel, interior_shortcut, frame, tile, stop, out).map(|w| w.iterations)
}

/// [`render_tile_with`], with the lane-steps the kernel issued and used (a SIMD kernel
/// counts them as it goes; the scalar one has one lane, always busy).
pub fn render_tile_work(
    kernel: Kernel,
    interior_shortcut: bool,
    frame: &Frame,
    tile: &Tile,
    stop: &AtomicBool,
    out: &mut Vec<u32>,
) -> Result<TileWork> {
    let args = lanes::TileArgs {
        frame,
        tile,
        interior_shortcut,
        stop,
    };
    match kernel.resolve()? {
        // SAFETY: resolve() returns a hardware path only when this CPU supports it.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { x86::render_avx512(&args, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { x86::render_avx2(&args, out) },
        #[cfg(target_arch = "aarch64")]
        Kernel::Neon => unsafe { neon::render_neon(&args, out) },
        Kernel::Portable => portable::render_portable(&args, out),
        // resolve() never returns Auto or Simd, nor a path of another architecture.
        _ if interior_shortcut => {
            scalar_with_shortcut(frame, tile, stop, out).map(TileWork::scalar)
        }
        _ => render_tile_scalar(frame, tile, stop, out).map(TileWork::scalar),
    }
}

/// The scalar reference, skipping the points [`is_interior`] knows never escape.
fn scalar_with_shortcut(
    frame: &Frame,
    tile: &Tile,
    stop: &AtomicBool,
    out: &mut Vec<u32>,
) -> Result<u64> {
    let max_iter = frame.max_iter;
    render_tile_by(frame, tile, stop, out, |cr, ci| {
        if is_interior(cr, ci) {
            max_iter
        } else {
            escape_time_periodic(cr, ci, max_iter)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in Kernel::ALL {
            assert_eq!(k.name().parse::<Kernel>().unwrap(), k);
        }
        let err = "fastest".parse::<Kernel>().unwrap_err();
        assert!(err.to_string().starts_with("kernel:"), "{err}");
    }

    #[test]
    fn requests_resolve_to_the_best_available_path() {
        let available = Kernel::available();
        assert_eq!(available[..2], [Kernel::Scalar, Kernel::Portable]);
        let best = *available.last().unwrap();
        assert_eq!(Kernel::Auto.resolve().unwrap(), best);
        assert_eq!(Kernel::Simd.resolve().unwrap(), best);
        for k in available {
            assert_eq!(k.resolve().unwrap(), k);
        }
    }

    #[test]
    fn a_path_of_another_architecture_is_refused_by_name() {
        #[cfg(target_arch = "x86_64")]
        let foreign = Kernel::Neon;
        #[cfg(not(target_arch = "x86_64"))]
        let foreign = Kernel::Avx2;
        let err = foreign.resolve().unwrap_err();
        assert!(err.to_string().starts_with("kernel:"), "{err}");
    }
}
