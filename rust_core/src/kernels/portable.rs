//! The portable path: plain Rust over arrays of 4 lanes. The compiler turns each array
//! operation into vector instructions of the baseline CPU (SSE2 on x86_64, NEON on
//! aarch64), and it runs anywhere else as plain scalar code.

use super::lanes::{self, Lanes, TileArgs, MAX_LANES};
use super::TileWork;
use crate::error::Result;

#[derive(Clone, Copy)]
pub(super) struct Portable([f64; 4]);

impl Lanes for Portable {
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        Portable([x; 4])
    }
    #[inline(always)]
    unsafe fn load(values: &[f64; MAX_LANES]) -> Self {
        Portable([values[0], values[1], values[2], values[3]])
    }
    #[inline(always)]
    unsafe fn store(self, values: &mut [f64; MAX_LANES]) {
        values[..4].copy_from_slice(&self.0);
    }
    #[inline(always)]
    unsafe fn select(self, bits: u32, o: Self) -> Self {
        Portable(std::array::from_fn(|k| {
            if bits >> k & 1 == 1 {
                o.0[k]
            } else {
                self.0[k]
            }
        }))
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k] + o.0[k]))
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k] - o.0[k]))
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        Portable(std::array::from_fn(|k| self.0[k] * o.0[k]))
    }
    #[inline(always)]
    unsafe fn gt_bits(self, o: Self) -> u32 {
        (0..4).fold(0, |bits, k| bits | (u32::from(self.0[k] > o.0[k]) << k))
    }
    #[inline(always)]
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(x <= y)` is true for NaN, `x > y` is not
    unsafe fn not_le_bits(self, o: Self) -> u32 {
        (0..4).fold(0, |bits, k| bits | (u32::from(!(self.0[k] <= o.0[k])) << k))
    }
    #[inline(always)]
    unsafe fn eq_bits(self, o: Self) -> u32 {
        (0..4).fold(0, |bits, k| bits | (u32::from(self.0[k] == o.0[k]) << k))
    }
}

pub(super) fn render_portable(args: &TileArgs<'_>, out: &mut Vec<u32>) -> Result<TileWork> {
    // SAFETY: plain Rust, valid on every CPU.
    unsafe { lanes::render_tile::<Portable>(args, out) }
}
