//! The SIMD engine every vector path shares: the pixel definition on `LANES` pixels at
//! once, with four independent groups in flight so the multiply/add latency is hidden.
//!
//! A *group* is a small block of neighbouring pixels (`BLOCK_W` × `LANES / BLOCK_W`), one
//! per lane, which escape at similar iterations. Each lane runs exactly the scalar
//! sequence of IEEE operations, so its count is the scalar count bit for bit:
//!
//! - a lane's count is the iteration at which its `zr² + zi² > 4` first holds; from then
//!   on the lane is masked out of `active` for good, and its `z` (which may overflow to
//!   inf and NaN) is never looked at again. A lane still active never overflows:
//!   `|z|² ≤ 4` keeps the next `z` within `4 + |c|`, and `>` is false for NaN, as in Rust.
//! - when every lane of a group has escaped, or the group reached `max_iter`, that slot
//!   takes the next group at once while the other three keep iterating.
//! - no fused multiply-add: only mul, add and sub, in the definition's order.
//!
//! Two exact savings on top (see [`Blocks::defer`] and [`Blocks::settle`]):
//!
//! - *deferred escape checks*: the four groups take `DEFER` steps without looking at
//!   `|z|²`, from a saved state; a group in which a lane escaped inside the block is
//!   rolled back and redone with a check every step. One step is then 4 mul + 3 add/sub
//!   (`2·zr` is a multiply: `zr + zr` and `2.0 * zr` are the same double) instead of
//!   3 mul + 5 add/sub + 1 compare.
//! - *exact periodicity* (with `interior_shortcut`): at each block end a lane's `z` is
//!   compared with a saved orbit point (Brent's doubling intervals); equal values mean
//!   the floating-point orbit is periodic and never escapes, so the count is `max_iter`.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::kernels::interior::is_interior;
use crate::mandelbrot::{pixel_to_point, Frame};
use crate::tiles::Tile;

/// The widest vector any path uses, in f64 lanes.
pub(super) const MAX_LANES: usize = 8;

/// Steps per unchecked block (a lane escaping inside costs a redo of this many steps).
const DEFER: u32 = 8;

/// A group defers its checks only from this iteration on: young groups escape often, and
/// every escape inside a block costs a redo, so they check every step.
const WARM: u32 = 32;

/// Groups with a pixel at `|c|²` in this band always check every step: there a lane that
/// escaped inside a block might in floating point come back under `|z|² ≤ 4` by its end
/// (see [`Blocks::settle`]); everywhere else an escaped orbit keeps growing.
const CAREFUL_BAND: (f64, f64) = (3.5, 4.5);

/// One vector of f64 lanes on one instruction set.
///
/// # Safety
/// Every method may use instructions of the type's instruction set: call them only on a
/// CPU that supports it (the dispatcher checks at run time).
pub(super) trait Lanes: Copy {
    /// f64 lanes per vector (at most [`MAX_LANES`]).
    const LANES: usize;
    /// Width of a group's block of pixels; its height is `LANES / BLOCK_W`.
    const BLOCK_W: usize;
    unsafe fn splat(x: f64) -> Self;
    /// The first `LANES` values.
    unsafe fn load(values: &[f64; MAX_LANES]) -> Self;
    unsafe fn add(self, other: Self) -> Self;
    unsafe fn sub(self, other: Self) -> Self;
    unsafe fn mul(self, other: Self) -> Self;
    /// Bit k is set where lane k of `self` > lane k of `other` (false for NaN).
    unsafe fn gt_bits(self, other: Self) -> u32;
    /// Bit k is set where lane k of `self` ≤ lane k of `other` is false (true for NaN).
    unsafe fn not_le_bits(self, other: Self) -> u32;
    /// Bit k is set where lane k of `self` == lane k of `other` (false for NaN).
    unsafe fn eq_bits(self, other: Self) -> u32;
}

/// What one tile render needs, whichever the vector path.
pub(super) struct TileArgs<'a> {
    pub frame: &'a Frame,
    pub tile: &'a Tile,
    pub interior_shortcut: bool,
    pub stop: &'a AtomicBool,
}

/// One slot: a group of pixels in flight.
#[derive(Clone, Copy)]
struct Group<V> {
    zr: V,
    zi: V,
    cr: V,
    ci: V,
    /// Bit k: lane k is a pixel that has not escaped yet.
    active: u32,
    /// The iteration the next check is for (the definition's `i`).
    i: u32,
    /// Index in the tile of the block's top-left pixel (one register, not two).
    base: usize,
    /// A lane's `c` lies in [`CAREFUL_BAND`]: check every step.
    careful: bool,
    /// The saved orbit point for periodicity, and Brent's interval (in blocks) to the
    /// next save.
    pr: V,
    pi: V,
    since: u32,
    limit: u32,
}

impl<V: Lanes> Group<V> {
    /// One step of the definition's update, without the escape check.
    #[inline(always)]
    unsafe fn advance(&mut self, two: V) {
        let zr2 = self.zr.mul(self.zr);
        let zi2 = self.zi.mul(self.zi);
        self.zi = two.mul(self.zr).mul(self.zi).add(self.ci);
        self.zr = zr2.sub(zi2).add(self.cr);
    }

    /// A group with no lane active.
    #[inline(always)]
    unsafe fn empty() -> Self {
        let zero = V::splat(0.0);
        Group {
            zr: zero,
            zi: zero,
            cr: zero,
            ci: zero,
            active: 0,
            i: 0,
            base: 0,
            careful: false,
            pr: zero,
            pi: zero,
            since: 0,
            limit: 1,
        }
    }
}

/// The tile's pixels as a sequence of blocks, and where their counts go.
struct Blocks<'a> {
    /// The real part of each column and the imaginary part of each row of the tile.
    cr: Vec<f64>,
    ci: Vec<f64>,
    w: usize,
    h: usize,
    blocks_x: usize,
    next: usize,
    total: usize,
    max_iter: u32,
    interior_shortcut: bool,
    stop: &'a AtomicBool,
    cancelled: bool,
    out: &'a mut [u32],
    iterations: u64,
}

impl<'a> Blocks<'a> {
    fn new<V: Lanes>(args: &TileArgs<'a>, out: &'a mut [u32]) -> Self {
        let t = args.tile;
        let point = |x, y| pixel_to_point(args.frame, x, y);
        let block_h = V::LANES / V::BLOCK_W;
        let blocks_x = t.w.div_ceil(V::BLOCK_W);
        Blocks {
            cr: (t.x..t.x + t.w).map(|x| point(x, t.y).0).collect(),
            ci: (t.y..t.y + t.h).map(|y| point(t.x, y).1).collect(),
            w: t.w,
            h: t.h,
            blocks_x,
            next: 0,
            total: blocks_x * t.h.div_ceil(block_h),
            max_iter: args.frame.max_iter,
            interior_shortcut: args.interior_shortcut,
            stop: args.stop,
            cancelled: false,
            out,
            iterations: 0,
        }
    }

    /// Position in the tile of lane `k` of the block at (x, y), if that lane is in the tile.
    #[inline(always)]
    fn lane_pixel<V: Lanes>(&self, x: usize, y: usize, k: usize) -> Option<(usize, usize)> {
        let (x, y) = (x + k % V::BLOCK_W, y + k / V::BLOCK_W);
        (x < self.w && y < self.h).then_some((x, y))
    }

    /// Writes `count` for every lane set in `bits`.
    #[inline(always)]
    fn record<V: Lanes>(&mut self, group: &Group<V>, mut bits: u32, count: u32) {
        while bits != 0 {
            let k = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            // Only lanes inside the tile are ever active.
            self.out[group.base + (k / V::BLOCK_W) * self.w + k % V::BLOCK_W] = count;
            self.iterations += u64::from(count);
        }
    }

    /// The next group with at least one pixel to iterate, or an empty one (no lane
    /// active) at the end of the tile or once `stop` is raised (checked once per group).
    #[inline(always)]
    unsafe fn next_group<V: Lanes>(&mut self) -> Group<V> {
        while self.next < self.total && !self.cancelled {
            if self.stop.load(Ordering::Relaxed) {
                self.cancelled = true;
                break;
            }
            let x = (self.next % self.blocks_x) * V::BLOCK_W;
            let y = (self.next / self.blocks_x) * (V::LANES / V::BLOCK_W);
            self.next += 1;
            let (mut cr, mut ci) = ([0.0; MAX_LANES], [0.0; MAX_LANES]);
            let mut active = 0u32;
            let mut careful = false;
            for k in 0..V::LANES {
                let Some((px, py)) = self.lane_pixel::<V>(x, y, k) else {
                    continue;
                };
                (cr[k], ci[k]) = (self.cr[px], self.ci[py]);
                if self.interior_shortcut && is_interior(cr[k], ci[k]) {
                    self.out[py * self.w + px] = self.max_iter;
                    self.iterations += u64::from(self.max_iter);
                } else {
                    active |= 1 << k;
                    let m = cr[k] * cr[k] + ci[k] * ci[k];
                    careful |= CAREFUL_BAND.0 <= m && m <= CAREFUL_BAND.1;
                }
            }
            if active != 0 {
                return Group {
                    cr: V::load(&cr),
                    ci: V::load(&ci),
                    active,
                    base: y * self.w + x,
                    careful,
                    ..Group::empty()
                };
            }
        }
        Group::empty()
    }

    /// True once every group has been handed out (or the render was cancelled).
    #[inline(always)]
    fn exhausted(&self) -> bool {
        self.next >= self.total || self.cancelled
    }

    /// One iteration of one group: check, record escapes, update z; refill when done.
    #[inline(always)]
    unsafe fn step<V: Lanes>(&mut self, g: &mut Group<V>, four: V, two: V) {
        let zr2 = g.zr.mul(g.zr);
        let zi2 = g.zi.mul(g.zi);
        let escaped = zr2.add(zi2).gt_bits(four) & g.active;
        if escaped != 0 {
            self.record(g, escaped, g.i);
            g.active &= !escaped;
        }
        g.zi = two.mul(g.zr).mul(g.zi).add(g.ci);
        g.zr = zr2.sub(zi2).add(g.cr);
        g.i += 1;
        if g.active == 0 || g.i == self.max_iter {
            let never_escaped = g.active;
            self.record(g, never_escaped, self.max_iter);
            *g = self.next_group();
        }
    }

    /// Whether group `g` takes its next `DEFER` steps unchecked: it is warm, not careful,
    /// and does not reach `max_iter` inside the block (`step` must see `i < max_iter`).
    #[inline(always)]
    fn defers<V: Lanes>(&self, g: &Group<V>) -> bool {
        g.active != 0 && !g.careful && WARM <= g.i && g.i + DEFER < self.max_iter
    }

    /// Ends an unchecked block of group `g`, begun from `z = saved` (and `g.i`).
    ///
    /// If a lane is not at `|z|² ≤ 4` (escaped, or inf/NaN after escaping), the block is
    /// redone from `saved` with a check every step. This finds every escape inside the
    /// block because an escaped orbit outside the careful band never comes back: the
    /// check `zr² + zi² > 4` in floating point means `|z|² > 4(1 − 2⁻⁵²)`, then for
    /// `|c| ≤ 1.9`, `|z'| ≥ |z|² − |c| − (rounding ≪ 0.1) > 2.09` and it grows from there
    /// on; for `|c| ≥ 2.1` the lane escapes at `i = 1` (`z = c`) and `|z|` grows as
    /// `|z|(|z| − 1)`. Otherwise the block is accepted, and under `interior_shortcut`
    /// lanes whose `z` equals the saved orbit point are periodic: `max_iter`.
    #[inline(always)]
    unsafe fn settle<V: Lanes>(&mut self, g: &mut Group<V>, saved: (V, V), four: V, two: V) {
        let zr2 = g.zr.mul(g.zr);
        let zi2 = g.zi.mul(g.zi);
        if zr2.add(zi2).not_le_bits(four) & g.active != 0 {
            (g.zr, g.zi) = saved;
            for _ in 0..DEFER {
                self.step(g, four, two);
            }
            return;
        }
        g.i += DEFER;
        if !self.interior_shortcut {
            return;
        }
        let periodic = g.zr.eq_bits(g.pr) & g.zi.eq_bits(g.pi) & g.active;
        if periodic != 0 {
            self.record(g, periodic, self.max_iter);
            g.active &= !periodic;
            if g.active == 0 {
                *g = self.next_group();
                return;
            }
        }
        g.since += 1;
        if g.since == g.limit {
            (g.pr, g.pi) = (g.zr, g.zi);
            g.since = 0;
            g.limit = g.limit.saturating_mul(2);
        }
    }
}

/// Renders one tile on vector type `V`; the same contract as the scalar `render_tile`.
///
/// # Safety
/// The CPU must support `V`'s instruction set. Inlined into each path's
/// `#[target_feature]` function, so that the whole loop is compiled for it.
#[inline(always)]
pub(super) unsafe fn render_tile<V: Lanes>(args: &TileArgs<'_>, out: &mut Vec<u32>) -> Result<u64> {
    out.clear();
    out.resize(args.tile.pixels(), 0);
    let mut blocks = Blocks::new::<V>(args, out);
    let (four, two) = (V::splat(4.0), V::splat(2.0));
    let mut a = blocks.next_group::<V>();
    let mut b = blocks.next_group::<V>();
    let mut c = blocks.next_group::<V>();
    let mut d = blocks.next_group::<V>();
    // While groups remain, all four slots are busy; then the last ones drain together
    // (an empty slot just idles along: cheaper than a check per step).
    loop {
        // Each group either takes DEFER unchecked steps (settled at the end) or DEFER
        // checked ones; the four are interleaved either way.
        let defers = [&a, &b, &c, &d].map(|g| blocks.defers(g));
        let saved = [(a.zr, a.zi), (b.zr, b.zi), (c.zr, c.zi), (d.zr, d.zi)];
        // Written out (not a loop over `&mut` slots) so that the groups stay in registers.
        macro_rules! each {
            ($body:ident) => {
                $body!(a, 0);
                $body!(b, 1);
                $body!(c, 2);
                $body!(d, 3);
            };
        }
        macro_rules! one_step {
            ($g:ident, $k:literal) => {
                if defers[$k] {
                    $g.advance(two);
                } else {
                    blocks.step(&mut $g, four, two);
                }
            };
        }
        macro_rules! settle {
            ($g:ident, $k:literal) => {
                if defers[$k] {
                    blocks.settle(&mut $g, saved[$k], four, two);
                }
            };
        }
        for _ in 0..DEFER {
            each!(one_step);
        }
        each!(settle);
        if blocks.exhausted() && (a.active | b.active | c.active | d.active) == 0 {
            break;
        }
    }
    if blocks.cancelled {
        return Err(Error::Cancelled);
    }
    Ok(blocks.iterations)
}
