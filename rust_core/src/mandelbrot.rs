//! The pixel definition every renderer, strategy and language in parlab shares.
//!
//! Pixel (x, y) of a `width`×`height` image maps to
//! `c = ((x/width)·(re_max−re_min) + re_min, (y/height)·(im_max−im_min) + im_min)`,
//! each step one IEEE double operation in that order, and its escape count is the
//! first `i` in `0..max_iter` with `zr²+zi² > 4` (or `max_iter`). Rust never fuses a
//! multiply and an add on its own, so these results are bit-for-bit reproducible by any
//! independent implementation of the same definition (numpy, numba, C without -ffast-math).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::tiles::Tile;

/// The rectangle of the complex plane an image shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub re_min: f64,
    pub re_max: f64,
    pub im_min: f64,
    pub im_max: f64,
}

impl Default for Viewport {
    /// The original course demo's view of the whole set.
    fn default() -> Self {
        Viewport::new(-2.5, 1.0, -1.0, 1.0)
    }
}

impl Viewport {
    pub const fn new(re_min: f64, re_max: f64, im_min: f64, im_max: f64) -> Self {
        Viewport {
            re_min,
            re_max,
            im_min,
            im_max,
        }
    }
}

/// An image of the complex plane: which rectangle, how many pixels, how many iterations
/// at most. Everything a tile's pixels depend on, besides the tile itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub view: Viewport,
    pub width: usize,
    pub height: usize,
    pub max_iter: u32,
}

impl Default for Frame {
    /// The original course demo: the whole set in 800×600 pixels, 1000 iterations.
    fn default() -> Self {
        Frame {
            view: Viewport::default(),
            width: 800,
            height: 600,
            max_iter: 1000,
        }
    }
}

/// The point of the complex plane at the top-left corner of pixel (x, y).
#[inline]
pub fn pixel_to_point(frame: &Frame, x: usize, y: usize) -> (f64, f64) {
    let view = &frame.view;
    let cr = (x as f64 / frame.width as f64) * (view.re_max - view.re_min) + view.re_min;
    let ci = (y as f64 / frame.height as f64) * (view.im_max - view.im_min) + view.im_min;
    (cr, ci)
}

/// How many iterations of z ← z² + c, from z = 0, stay within |z| ≤ 2 (at most `max_iter`).
#[inline]
pub fn escape_time(cr: f64, ci: f64, max_iter: u32) -> u32 {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for i in 0..max_iter {
        let (zr2, zi2) = (zr * zr, zi * zi);
        if zr2 + zi2 > 4.0 {
            return i;
        }
        zi = (2.0 * zr) * zi + ci;
        zr = (zr2 - zi2) + cr;
    }
    max_iter
}

/// Renders one tile of `frame` into `out` (row-major, `tile.w × tile.h`) and returns the
/// sum of its escape counts, or `Err(Cancelled)` as soon as `stop` is raised (checked per
/// pixel, so even a tile of deep zooms stops within microseconds).
pub fn render_tile(
    frame: &Frame,
    tile: &Tile,
    stop: &AtomicBool,
    out: &mut Vec<u32>,
) -> Result<u64> {
    render_tile_by(frame, tile, stop, out, |cr, ci| {
        escape_time(cr, ci, frame.max_iter)
    })
}

/// The tile loop of [`render_tile`], with the count of each point given by `count`
/// (the interior shortcut plugs in here).
pub fn render_tile_by(
    frame: &Frame,
    tile: &Tile,
    stop: &AtomicBool,
    out: &mut Vec<u32>,
    count: impl Fn(f64, f64) -> u32,
) -> Result<u64> {
    out.clear();
    out.reserve(tile.pixels());
    let mut iterations = 0u64;
    for y in tile.y..tile.y + tile.h {
        for x in tile.x..tile.x + tile.w {
            if stop.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            let (cr, ci) = pixel_to_point(frame, x, y);
            let c = count(cr, ci);
            iterations += u64::from(c);
            out.push(c);
        }
    }
    Ok(iterations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_never_escapes() {
        assert_eq!(escape_time(0.0, 0.0, 1000), 1000);
    }

    #[test]
    fn far_points_escape_after_one_step() {
        // z1 = c lies outside |z| ≤ 2, so the check at i = 1 fires.
        assert_eq!(escape_time(3.0, 0.0, 1000), 1);
        assert_eq!(escape_time(-2.5, -1.0, 1000), 1);
    }

    #[test]
    fn every_count_is_at_least_one() {
        assert_eq!(escape_time(100.0, 100.0, 1), 1);
        assert_eq!(escape_time(0.0, 0.0, 1), 1);
    }

    #[test]
    fn known_escape_counts() {
        // c = 1: z = 0, 1, 2, 5 → |5|² > 4 at i = 3.
        assert_eq!(escape_time(1.0, 0.0, 100), 3);
        // c = -2 stays on the boundary forever: 0, -2, 2, 2, ...
        assert_eq!(escape_time(-2.0, 0.0, 100), 100);
        // c = i is periodic: 0, i, -1+i, -i, -1+i, ...
        assert_eq!(escape_time(0.0, 1.0, 500), 500);
    }

    #[test]
    fn pixel_mapping_follows_the_definition() {
        let frame = Frame::default();
        assert_eq!(pixel_to_point(&frame, 0, 0), (-2.5, -1.0));
        assert_eq!(pixel_to_point(&frame, 400, 300), (-0.75, 0.0));
    }

    #[test]
    fn render_tile_stops_when_asked() {
        let stop = AtomicBool::new(true);
        let tile = Tile::new(0, 0, 0, 4, 4);
        let mut out = Vec::new();
        let result = render_tile(&Frame::default(), &tile, &stop, &mut out);
        assert_eq!(result, Err(Error::Cancelled));
    }
}
