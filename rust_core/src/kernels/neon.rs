//! The aarch64 path: NEON, 2 lanes of f64. NEON is part of every aarch64 CPU that runs
//! Linux or macOS, but the path is still chosen at run time like the x86 ones.
//! `vmulq`/`vaddq`/`vsubq` only: never `vfmaq`, whose single rounding would change counts.

use std::arch::aarch64::*;

use super::lanes::{self, Lanes, TileArgs, MAX_LANES};
use super::TileWork;
use crate::error::Result;

#[derive(Clone, Copy)]
pub(super) struct Neon(float64x2_t);

impl Lanes for Neon {
    const LANES: usize = 2;

    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        Neon(vdupq_n_f64(x))
    }
    #[inline(always)]
    unsafe fn load(values: &[f64; MAX_LANES]) -> Self {
        Neon(vld1q_f64(values.as_ptr()))
    }
    #[inline(always)]
    unsafe fn store(self, values: &mut [f64; MAX_LANES]) {
        vst1q_f64(values.as_mut_ptr(), self.0)
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        Neon(vaddq_f64(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        Neon(vsubq_f64(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        Neon(vmulq_f64(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn gt_bits(self, o: Self) -> u32 {
        let m = vcgtq_f64(self.0, o.0);
        (vgetq_lane_u64::<0>(m) & 1 | (vgetq_lane_u64::<1>(m) & 1) << 1) as u32
    }
    #[inline(always)]
    unsafe fn not_le_bits(self, o: Self) -> u32 {
        let m = vcleq_f64(self.0, o.0); // all ones where ≤ (false for NaN)
        (!vgetq_lane_u64::<0>(m) & 1 | (!vgetq_lane_u64::<1>(m) & 1) << 1) as u32
    }
    #[inline(always)]
    unsafe fn eq_bits(self, o: Self) -> u32 {
        let m = vceqq_f64(self.0, o.0);
        (vgetq_lane_u64::<0>(m) & 1 | (vgetq_lane_u64::<1>(m) & 1) << 1) as u32
    }
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn render_neon(args: &TileArgs<'_>, out: &mut Vec<u32>) -> Result<TileWork> {
    lanes::render_tile::<Neon>(args, out)
}
