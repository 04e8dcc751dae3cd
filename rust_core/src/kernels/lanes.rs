//! The SIMD engine every vector path shares: the pixel definition on `LANES` pixels at
//! once, with four independent slots in flight so the multiply/add latency is hidden.
//!
//! Each lane of a slot iterates one pixel of the tile and runs exactly the scalar sequence
//! of IEEE operations, so its count is the scalar count bit for bit:
//!
//! - a lane's count is the iteration at which its `zr² + zi² > 4` first holds; from then
//!   on the lane is masked out of `active`, and its `z` (which may overflow to inf and
//!   NaN) is never looked at again. A lane still active never overflows: `|z|² ≤ 4` keeps
//!   the next `z` within `4 + |c|`, and `>` is false for NaN, as in Rust.
//! - *refill*: at the end of every block of `DEFER` steps, each lane whose pixel is done
//!   (escaped, at `max_iter`, or periodic) takes the tile's next pixel, with `z = 0`,
//!   while the other lanes go on. A lane idles at most until the block's end, not until
//!   the slowest pixel of its group is done: on the rim of the set, where neighbouring
//!   counts differ by hundreds, that is most of the difference (see [`LaneSteps`]).
//!   Every lane keeps its own start, so its count is the slot's clock minus its start.
//! - no fused multiply-add: only mul, add and sub, in the definition's order.
//!
//! Two exact savings on top (see [`Pixels::settle`]):
//!
//! - *deferred escape checks*: the four slots take `DEFER` steps without looking at
//!   `|z|²`, from a saved state; a slot in which a lane escaped inside the block is
//!   rolled back and redone with a check every step. One step is then 4 mul + 3 add/sub
//!   (`2·zr` is a multiply: `zr + zr` and `2.0 * zr` are the same double) instead of
//!   3 mul + 5 add/sub + 1 compare.
//! - *exact periodicity* (with `interior_shortcut`): at each block end a lane's `z` is
//!   compared with a saved orbit point of its own pixel (saved after 1, 2, 4, … blocks:
//!   Brent's doubling intervals); equal values mean the floating-point orbit is periodic
//!   and never escapes, so the count is `max_iter`.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::kernels::interior::is_interior;
use crate::kernels::TileWork;
use crate::mandelbrot::{pixel_to_point, Frame};
use crate::tiles::Tile;
use crate::timeline::LaneSteps;

/// The widest vector any path uses, in f64 lanes.
pub(super) const MAX_LANES: usize = 8;

/// Steps per block: unchecked ones (a lane escaping inside costs a redo of this many
/// steps), and the most a lane whose pixel is done waits for its next one.
const DEFER: u64 = 8;

/// A slot defers its checks only once its youngest lane is this many steps old: young
/// pixels escape often, and every escape inside a block costs a redo, so they check
/// every step.
const WARM: u64 = 32;

/// Slots with a lane at `|c|²` in this band always check every step: there a lane that
/// escaped inside a block might in floating point come back under `|z|² ≤ 4` by its end
/// (see [`Pixels::settle`]); everywhere else an escaped orbit keeps growing.
const CAREFUL_BAND: (f64, f64) = (3.5, 4.5);

/// One vector of f64 lanes on one instruction set.
///
/// # Safety
/// Every method may use instructions of the type's instruction set: call them only on a
/// CPU that supports it (the dispatcher checks at run time).
pub(super) trait Lanes: Copy {
    /// f64 lanes per vector (at most [`MAX_LANES`]).
    const LANES: usize;
    unsafe fn splat(x: f64) -> Self;
    /// The first `LANES` values.
    unsafe fn load(values: &[f64; MAX_LANES]) -> Self;
    /// Into the first `LANES` values.
    unsafe fn store(self, values: &mut [f64; MAX_LANES]);
    unsafe fn add(self, other: Self) -> Self;
    unsafe fn sub(self, other: Self) -> Self;
    unsafe fn mul(self, other: Self) -> Self;
    /// Bit k is set where lane k of `self` > lane k of `other` (false for NaN).
    unsafe fn gt_bits(self, other: Self) -> u32;
    /// Bit k is set where lane k of `self` ≤ lane k of `other` is false (true for NaN).
    unsafe fn not_le_bits(self, other: Self) -> u32;
    /// Bit k is set where lane k of `self` == lane k of `other` (false for NaN).
    unsafe fn eq_bits(self, other: Self) -> u32;
    /// Lane k of `other` where bit k of `bits` is set, of `self` elsewhere (only at a
    /// block's end, so through memory unless a path has a blend).
    #[inline(always)]
    unsafe fn select(self, bits: u32, other: Self) -> Self {
        let (mut mine, mut theirs) = ([0.0; MAX_LANES], [0.0; MAX_LANES]);
        self.store(&mut mine);
        other.store(&mut theirs);
        for k in 0..Self::LANES {
            if bits >> k & 1 == 1 {
                mine[k] = theirs[k];
            }
        }
        Self::load(&mine)
    }
}

/// What one tile render needs, whichever the vector path.
pub(super) struct TileArgs<'a> {
    pub frame: &'a Frame,
    pub tile: &'a Tile,
    pub interior_shortcut: bool,
    pub stop: &'a AtomicBool,
}

/// One slot: a vector of lanes, each iterating a pixel of its own (or idle).
#[derive(Clone, Copy)]
struct Slot<V> {
    zr: V,
    zi: V,
    cr: V,
    ci: V,
    /// The saved orbit point of each lane, for periodicity, and the clock at which each
    /// lane saves its next one, with the clock its pixel started (both exact in f64): a
    /// vector each, so that the per-lane schedule costs a few vector operations per block
    /// and no branch (the old scalar loop mispredicted on every lane's save).
    pr: V,
    pi: V,
    save_at: V,
    born: V,
    /// Which lane iterates which pixel since when: plain memory, so that the rare
    /// bookkeeping can be out of line while the vectors stay in registers.
    book: Book,
}

/// A slot's lanes, as scalars.
#[derive(Clone, Copy)]
struct Book {
    /// Bit k: lane k iterates a pixel that is not done yet.
    active: u32,
    /// Bit k: lane k's `c` lies in [`CAREFUL_BAND`] (check every step while it is active).
    careful: u32,
    /// The smallest `start + max_iter` of the active lanes: when the first one is done.
    deadline: u64,
    /// The clock from which every lane is at least [`WARM`] steps old.
    warm_at: u64,
    /// Per lane: the clock when its pixel started (its count is the clock minus this),
    /// the pixel's index in the tile, and its `c`.
    start: [u64; MAX_LANES],
    pixel: [usize; MAX_LANES],
    crs: [f64; MAX_LANES],
    cis: [f64; MAX_LANES],
}

impl Book {
    /// Whether the slot takes the block from clock `t` unchecked: it is warm, has no
    /// careful lane, and no lane reaches `max_iter` inside the block (`step` must see
    /// every lane below it).
    #[inline(always)]
    fn defers(&self, t: u64) -> bool {
        self.active != 0
            && self.careful & self.active == 0
            && self.warm_at <= t
            && t + DEFER < self.deadline
    }
}

impl<V: Lanes> Slot<V> {
    /// One step of the definition's update, without the escape check.
    #[inline(always)]
    unsafe fn advance(&mut self, two: V) {
        let zr2 = self.zr.mul(self.zr);
        let zi2 = self.zi.mul(self.zi);
        self.zi = two.mul(self.zr).mul(self.zi).add(self.ci);
        self.zr = zr2.sub(zi2).add(self.cr);
    }

    /// A slot with no lane active.
    #[inline(always)]
    unsafe fn empty() -> Self {
        let zero = V::splat(0.0);
        Slot {
            zr: zero,
            zi: zero,
            cr: zero,
            ci: zero,
            pr: zero,
            pi: zero,
            save_at: V::splat(f64::INFINITY),
            born: zero,
            book: Book {
                active: 0,
                careful: 0,
                deadline: u64::MAX,
                warm_at: 0,
                start: [0; MAX_LANES],
                pixel: [0; MAX_LANES],
                crs: [0.0; MAX_LANES],
                cis: [0.0; MAX_LANES],
            },
        }
    }
}

/// Every lane of a vector of `V`.
#[inline(always)]
fn all_lanes<V: Lanes>() -> u32 {
    (1u32 << V::LANES) - 1
}

/// The tile's pixels in row order, handed to lanes one at a time, and where their counts go.
struct Pixels<'a> {
    /// The real part of each column and the imaginary part of each row of the tile.
    cr: Vec<f64>,
    ci: Vec<f64>,
    /// The next pixel: its column and row, and its index in the tile.
    x: usize,
    y: usize,
    next: usize,
    total: usize,
    max_iter: u32,
    interior_shortcut: bool,
    stop: &'a AtomicBool,
    out: &'a mut [u32],
    iterations: u64,
    lanes: LaneSteps,
}

impl<'a> Pixels<'a> {
    fn new(args: &TileArgs<'a>, out: &'a mut [u32]) -> Self {
        let t = args.tile;
        let point = |x, y| pixel_to_point(args.frame, x, y);
        Pixels {
            cr: (t.x..t.x + t.w).map(|x| point(x, t.y).0).collect(),
            ci: (t.y..t.y + t.h).map(|y| point(t.x, y).1).collect(),
            x: 0,
            y: 0,
            next: 0,
            total: t.w * t.h,
            max_iter: args.frame.max_iter,
            interior_shortcut: args.interior_shortcut,
            stop: args.stop,
            out,
            iterations: 0,
            lanes: LaneSteps::default(),
        }
    }

    /// True once every pixel has been handed out.
    #[inline(always)]
    fn exhausted(&self) -> bool {
        self.next >= self.total
    }

    /// The next pixel to iterate (its index and `c`); pixels the interior shortcut
    /// knows get `max_iter` on the way, without a lane.
    #[inline(always)]
    fn take(&mut self) -> Option<(usize, f64, f64)> {
        while self.next < self.total {
            let (p, cr, ci) = (self.next, self.cr[self.x], self.ci[self.y]);
            self.next += 1;
            self.x += 1;
            if self.x == self.cr.len() {
                (self.x, self.y) = (0, self.y + 1);
            }
            if self.interior_shortcut && is_interior(cr, ci) {
                self.out[p] = self.max_iter;
                self.iterations += u64::from(self.max_iter);
            } else {
                return Some((p, cr, ci));
            }
        }
        None
    }

    /// Lane `k` of `book` is done: its pixel's count is `count`, reached in `steps` steps.
    #[inline(always)]
    fn finish(&mut self, book: &Book, k: usize, count: u32, steps: u64) {
        self.out[book.pixel[k]] = count;
        self.iterations += u64::from(count);
        self.lanes.useful += steps;
    }

    /// Lanes that reached `max_iter` by clock `now` are done; the deadline moves to the
    /// next lane's.
    #[inline(never)]
    fn expire(&mut self, book: &mut Book, now: u64) {
        let max_iter = u64::from(self.max_iter);
        let mut deadline = u64::MAX;
        let mut bits = book.active;
        while bits != 0 {
            let k = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let end = book.start[k] + max_iter;
            if end <= now {
                self.finish(book, k, self.max_iter, max_iter);
                book.active &= !(1 << k);
            } else {
                deadline = deadline.min(end);
            }
        }
        book.deadline = deadline;
    }

    /// Lanes `bits` escaped at clock `now` (below max_iter: `step` expires lanes first).
    #[inline(never)]
    fn escape(&mut self, book: &mut Book, mut bits: u32, now: u64) {
        book.active &= !bits;
        while bits != 0 {
            let k = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let steps = now - book.start[k];
            self.finish(book, k, steps as u32, steps);
        }
    }

    /// Idle lanes among `lanes` take the tile's next pixels, starting at clock `now`;
    /// returns the lanes filled.
    #[inline(never)]
    fn fill(&mut self, book: &mut Book, lanes: u32, now: u64) -> u32 {
        let mut idle = lanes & !book.active;
        let mut filled = 0u32;
        while idle != 0 {
            let Some((p, cr, ci)) = self.take() else {
                break;
            };
            let k = idle.trailing_zeros() as usize;
            idle &= idle - 1;
            (book.crs[k], book.cis[k], book.pixel[k], book.start[k]) = (cr, ci, p, now);
            let m = cr * cr + ci * ci;
            if CAREFUL_BAND.0 <= m && m <= CAREFUL_BAND.1 {
                book.careful |= 1 << k;
            } else {
                book.careful &= !(1 << k);
            }
            filled |= 1 << k;
        }
        if filled != 0 {
            book.active |= filled;
            book.deadline = book.deadline.min(now + u64::from(self.max_iter));
            book.warm_at = now + WARM;
        }
        filled
    }

    /// Idle lanes of `s` take the tile's next pixels, from `z = 0` at clock `now`.
    #[inline(always)]
    unsafe fn refill<V: Lanes>(&mut self, s: &mut Slot<V>, now: u64) {
        if s.book.active == all_lanes::<V>() || self.exhausted() {
            return;
        }
        let filled = self.fill(&mut s.book, all_lanes::<V>(), now);
        if filled == 0 {
            return;
        }
        (s.cr, s.ci) = (V::load(&s.book.crs), V::load(&s.book.cis));
        let zero = V::splat(0.0);
        s.zr = s.zr.select(filled, zero);
        s.zi = s.zi.select(filled, zero);
        // No saved orbit point yet: NaN equals nothing (a lane may start at a block's end,
        // where `z = 0` is compared).
        let none = V::splat(f64::NAN);
        s.pr = s.pr.select(filled, none);
        s.pi = s.pi.select(filled, none);
        // The first save one block after the start, then at twice the age each time.
        s.born = s.born.select(filled, V::splat(now as f64));
        s.save_at = s.save_at.select(filled, V::splat((now + DEFER) as f64));
    }

    /// One checked step of slot `s` at clock `now`: lanes at `max_iter` are done, then
    /// the check and the update; lanes whose pixel is done take the next one at once.
    #[inline(always)]
    unsafe fn step<V: Lanes>(&mut self, s: &mut Slot<V>, now: u64, four: V, two: V) {
        if now >= s.book.deadline {
            self.expire(&mut s.book, now);
            self.refill(s, now);
        }
        let zr2 = s.zr.mul(s.zr);
        let zi2 = s.zi.mul(s.zi);
        let escaped = zr2.add(zi2).gt_bits(four) & s.book.active;
        s.zi = two.mul(s.zr).mul(s.zi).add(s.ci);
        s.zr = zr2.sub(zi2).add(s.cr);
        if escaped != 0 {
            self.escape(&mut s.book, escaped, now);
            // A slot whose every lane is done refills at once (its first check is the
            // next step's, from z = 0); otherwise idle lanes wait for the block's end,
            // one refill for all of them (cheaper per pixel where pixels escape fast).
            if s.book.active == 0 {
                self.refill(s, now + 1);
            }
        }
    }

    /// Ends the block of slot `s` begun at clock `t` (from `z = saved` when it was
    /// `deferred`; `busy` if a lane was active then), then refills its idle lanes.
    ///
    /// A deferred block in which a lane is not at `|z|² ≤ 4` (escaped, or inf/NaN after
    /// escaping) is redone from `saved` with a check every step. This finds every escape
    /// inside the block because an escaped orbit outside the careful band never comes
    /// back: the check `zr² + zi² > 4` in floating point means `|z|² > 4(1 − 2⁻⁵²)`, then
    /// for `|c| ≤ 1.9`, `|z'| ≥ |z|² − |c| − (rounding ≪ 0.1) > 2.09` and it grows from
    /// there on; for `|c| ≥ 2.1` the lane escapes at `i = 1` (`z = c`) and `|z|` grows as
    /// `|z|(|z| − 1)`. Otherwise the block is accepted, and under `interior_shortcut`
    /// lanes whose `z` equals their saved orbit point are periodic: `max_iter`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)] // one slot's block: its state and the constants
    unsafe fn settle<V: Lanes>(
        &mut self,
        s: &mut Slot<V>,
        deferred: bool,
        busy: bool,
        saved: (V, V),
        t: u64,
        four: V,
        two: V,
    ) {
        let lane_steps = V::LANES as u64 * DEFER;
        if busy {
            self.lanes.issued += lane_steps;
        }
        if deferred {
            let zr2 = s.zr.mul(s.zr);
            let zi2 = s.zi.mul(s.zi);
            if zr2.add(zi2).not_le_bits(four) & s.book.active != 0 {
                self.lanes.issued += lane_steps;
                (s.zr, s.zi) = saved;
                for j in 0..DEFER {
                    self.step(s, t + j, four, two);
                }
            }
        }
        if t + DEFER >= s.book.deadline {
            self.expire(&mut s.book, t + DEFER);
        }
        // Every lane still active passed every check so far, deferred or not.
        if self.interior_shortcut && s.book.active != 0 {
            self.periodicity(s, t + DEFER);
        }
        self.refill(s, t + DEFER);
    }

    /// Lanes `periodic` are back at their saved orbit point at clock `now`: done with
    /// `max_iter` (any point of a lane's own orbit is exact).
    #[inline(never)]
    fn periodic(&mut self, book: &mut Book, mut periodic: u32, now: u64) {
        book.active &= !periodic;
        while periodic != 0 {
            let k = periodic.trailing_zeros() as usize;
            periodic &= periodic - 1;
            self.finish(book, k, self.max_iter, now - book.start[k]);
        }
    }

    /// At the end of an accepted block (clock `now`): lanes back at their saved orbit
    /// point are done with `max_iter`; lanes whose save clock came save their point, and
    /// the next save comes at twice their age (Brent's doubling intervals find long
    /// periods). Branch-free but for the rare periodic lane.
    #[inline(always)]
    unsafe fn periodicity<V: Lanes>(&mut self, s: &mut Slot<V>, now: u64) {
        let periodic = s.zr.eq_bits(s.pr) & s.zi.eq_bits(s.pi) & s.book.active;
        if periodic != 0 {
            self.periodic(&mut s.book, periodic, now);
        }
        let now_v = V::splat(now as f64);
        let save = !s.save_at.gt_bits(now_v) & all_lanes::<V>();
        s.pr = s.pr.select(save, s.zr);
        s.pi = s.pi.select(save, s.zi);
        s.save_at = s.save_at.select(save, now_v.add(now_v).sub(s.born));
    }
}

/// Renders one tile on vector type `V`; the same contract as the scalar `render_tile`,
/// and the lane-steps it took.
///
/// # Safety
/// The CPU must support `V`'s instruction set. Inlined into each path's
/// `#[target_feature]` function, so that the whole loop is compiled for it.
#[inline(always)]
pub(super) unsafe fn render_tile<V: Lanes>(
    args: &TileArgs<'_>,
    out: &mut Vec<u32>,
) -> Result<TileWork> {
    out.clear();
    out.resize(args.tile.pixels(), 0);
    let mut pixels = Pixels::new(args, out);
    let (four, two) = (V::splat(4.0), V::splat(2.0));
    let (mut a, mut b, mut c, mut d) = (
        Slot::<V>::empty(),
        Slot::<V>::empty(),
        Slot::<V>::empty(),
        Slot::<V>::empty(),
    );
    for s in [&mut a, &mut b, &mut c, &mut d] {
        pixels.refill(s, 0);
    }
    // The slots' shared clock: every slot takes DEFER steps per block.
    let mut t = 0u64;
    // While pixels remain, every lane is busy but for the rest of a block; then the last
    // ones drain together (an empty slot just idles along: cheaper than a check per step).
    loop {
        // Cancelling costs one load per block.
        if pixels.stop.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        if (a.book.active | b.book.active | c.book.active | d.book.active) == 0 {
            break;
        }
        // Each slot either takes DEFER unchecked steps (settled at the end) or DEFER
        // checked ones; the four are interleaved either way.
        let defers = [&a, &b, &c, &d].map(|s| s.book.defers(t));
        let busy = [&a, &b, &c, &d].map(|s| s.book.active != 0);
        let saved = [(a.zr, a.zi), (b.zr, b.zi), (c.zr, c.zi), (d.zr, d.zi)];
        // Written out (not a loop over `&mut` slots) so that the slots stay in registers.
        macro_rules! each {
            ($body:ident) => {
                $body!(a, 0);
                $body!(b, 1);
                $body!(c, 2);
                $body!(d, 3);
            };
        }
        if defers == [true; 4] {
            // The common case inside the set: no per-step branch on which slot defers.
            for _ in 0..DEFER {
                macro_rules! advance {
                    ($s:ident, $k:literal) => {
                        $s.advance(two);
                    };
                }
                each!(advance);
            }
        } else {
            for j in 0..DEFER {
                macro_rules! one_step {
                    ($s:ident, $k:literal) => {
                        if defers[$k] {
                            $s.advance(two);
                        } else {
                            pixels.step(&mut $s, t + j, four, two);
                        }
                    };
                }
                each!(one_step);
            }
        }
        macro_rules! settle {
            ($s:ident, $k:literal) => {
                pixels.settle(&mut $s, defers[$k], busy[$k], saved[$k], t, four, two);
            };
        }
        each!(settle);
        t += DEFER;
    }
    Ok(TileWork {
        iterations: pixels.iterations,
        lanes: pixels.lanes,
    })
}
