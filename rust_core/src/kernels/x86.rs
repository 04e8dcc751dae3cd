//! The x86_64 paths: AVX-512 (8 lanes) and AVX2 (4 lanes), each compiled for its
//! instruction set with `#[target_feature]` and chosen at run time. Only mul, add, sub
//! and an ordered compare: never `fmadd`, whose single rounding would change the counts.

use std::arch::x86_64::*;

use super::lanes::{self, Lanes, TileArgs, MAX_LANES};
use super::TileWork;
use crate::error::Result;

#[derive(Clone, Copy)]
pub(super) struct Avx512(__m512d);

impl Lanes for Avx512 {
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        Avx512(_mm512_set1_pd(x))
    }
    #[inline(always)]
    unsafe fn load(values: &[f64; MAX_LANES]) -> Self {
        Avx512(_mm512_loadu_pd(values.as_ptr()))
    }
    #[inline(always)]
    unsafe fn store(self, values: &mut [f64; MAX_LANES]) {
        _mm512_storeu_pd(values.as_mut_ptr(), self.0)
    }
    #[inline(always)]
    unsafe fn select(self, bits: u32, o: Self) -> Self {
        Avx512(_mm512_mask_blend_pd(bits as __mmask8, self.0, o.0))
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        Avx512(_mm512_add_pd(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        Avx512(_mm512_sub_pd(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        Avx512(_mm512_mul_pd(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn gt_bits(self, o: Self) -> u32 {
        u32::from(_mm512_cmp_pd_mask::<_CMP_GT_OQ>(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn not_le_bits(self, o: Self) -> u32 {
        u32::from(_mm512_cmp_pd_mask::<_CMP_NLE_UQ>(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn eq_bits(self, o: Self) -> u32 {
        u32::from(_mm512_cmp_pd_mask::<_CMP_EQ_OQ>(self.0, o.0))
    }
}

#[derive(Clone, Copy)]
pub(super) struct Avx2(__m256d);

impl Lanes for Avx2 {
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        Avx2(_mm256_set1_pd(x))
    }
    #[inline(always)]
    unsafe fn load(values: &[f64; MAX_LANES]) -> Self {
        Avx2(_mm256_loadu_pd(values.as_ptr()))
    }
    #[inline(always)]
    unsafe fn store(self, values: &mut [f64; MAX_LANES]) {
        _mm256_storeu_pd(values.as_mut_ptr(), self.0)
    }
    #[inline(always)]
    unsafe fn select(self, bits: u32, o: Self) -> Self {
        // All ones in lane k where bit k is set: blendv takes `o` there.
        let lane_bits = _mm256_set_epi64x(8, 4, 2, 1);
        let set = _mm256_and_si256(_mm256_set1_epi64x(i64::from(bits)), lane_bits);
        let mask = _mm256_castsi256_pd(_mm256_cmpeq_epi64(set, lane_bits));
        Avx2(_mm256_blendv_pd(self.0, o.0, mask))
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        Avx2(_mm256_add_pd(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        Avx2(_mm256_sub_pd(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        Avx2(_mm256_mul_pd(self.0, o.0))
    }
    #[inline(always)]
    unsafe fn gt_bits(self, o: Self) -> u32 {
        _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(self.0, o.0)) as u32
    }
    #[inline(always)]
    unsafe fn not_le_bits(self, o: Self) -> u32 {
        _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_NLE_UQ>(self.0, o.0)) as u32
    }
    #[inline(always)]
    unsafe fn eq_bits(self, o: Self) -> u32 {
        _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(self.0, o.0)) as u32
    }
}

/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn render_avx512(args: &TileArgs<'_>, out: &mut Vec<u32>) -> Result<TileWork> {
    lanes::render_tile::<Avx512>(args, out)
}

/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn render_avx2(args: &TileArgs<'_>, out: &mut Vec<u32>) -> Result<TileWork> {
    lanes::render_tile::<Avx2>(args, out)
}
