//! Exact interior shortcuts: points of the main cardioid and of the period-2 bulb never
//! escape, so their count is `max_iter` without iterating.
//!
//! c is in the main cardioid when the fixed point of z² + c attracts, i.e. its multiplier
//! λ = 1 − √(1 − 4c) has |λ| < 1, and in the period-2 bulb when the 2-cycle's multiplier
//! 4(c + 1) has modulus < 1. Near the boundary (|λ| → 1) the orbit converges ever more
//! slowly and a rounding error could matter, so both tests keep a 1 % margin inside:
//! a shortcut point is one the full iteration gives `max_iter` for, whatever `max_iter`.

/// The definition's count (as [`crate::mandelbrot::escape_time`]), which stops early,
/// with `max_iter`, once the orbit repeats a saved point exactly (Brent: the point is
/// saved after 1, 2, 4, … steps). Equal values mean every later step repeats steps whose
/// checks passed, so the orbit never escapes: exact for every `max_iter`.
pub fn escape_time_periodic(cr: f64, ci: f64, max_iter: u32) -> u32 {
    periodic_orbit(cr, ci, max_iter).0
}

/// The count of [`escape_time_periodic`] and the steps it took to know it.
fn periodic_orbit(cr: f64, ci: f64, max_iter: u32) -> (u32, u32) {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    let (mut pr, mut pi) = (0.0f64, 0.0f64);
    let (mut since, mut limit) = (0u32, 1u32);
    for i in 0..max_iter {
        let (zr2, zi2) = (zr * zr, zi * zi);
        if zr2 + zi2 > 4.0 {
            return (i, i);
        }
        zi = (2.0 * zr) * zi + ci;
        zr = (zr2 - zi2) + cr;
        if zr == pr && zi == pi {
            return (max_iter, i + 1);
        }
        since += 1;
        if since == limit {
            (pr, pi, since) = (zr, zi, 0);
            limit = limit.saturating_mul(2);
        }
    }
    (max_iter, max_iter)
}

/// How far inside (as a multiplier modulus) a point must be to be shortcut.
const MARGIN: f64 = 0.99;

/// True only for points that provably never escape (see the module notes).
#[inline]
pub fn is_interior(cr: f64, ci: f64) -> bool {
    in_period2_bulb(cr, ci) || in_main_cardioid(cr, ci)
}

/// |4(c + 1)| ≤ MARGIN: the disk of radius 1/4 around −1, shrunk by the margin.
#[inline]
fn in_period2_bulb(cr: f64, ci: f64) -> bool {
    let x = cr + 1.0;
    let r = 0.25 * MARGIN;
    x * x + ci * ci <= r * r
}

/// |1 − √(1 − 4c)| ≤ MARGIN.
#[inline]
fn in_main_cardioid(cr: f64, ci: f64) -> bool {
    // The cardioid lies within |c| ≤ 3/4: most points outside are refused here, cheaply.
    if cr * cr + ci * ci > 0.5625 {
        return false;
    }
    // s = √w for w = 1 − 4c, the principal root computed without cancellation.
    let (wr, wi) = (1.0 - 4.0 * cr, -4.0 * ci);
    let m = (wr * wr + wi * wi).sqrt();
    if m == 0.0 {
        return false; // c = 1/4, the cusp: on the boundary
    }
    let (sr, si) = if wr >= 0.0 {
        let sr = ((m + wr) / 2.0).sqrt();
        (sr, wi / (2.0 * sr))
    } else {
        let si = ((m - wr) / 2.0).sqrt().copysign(wi);
        (wi / (2.0 * si), si)
    };
    let (lr, li) = (1.0 - sr, -si);
    lr * lr + li * li <= MARGIN * MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mandelbrot::escape_time;

    #[test]
    fn periodicity_gives_the_definition_on_a_grid() {
        // Periods 1, 2, 3, 4 (bulbs and the antenna), boundaries and the outside.
        for max_iter in [1, 2, 7, 100, 5_000] {
            for y in 0..61 {
                for x in 0..91 {
                    let (cr, ci) = (-2.1 + x as f64 * 0.0271, -1.2 + y as f64 * 0.04);
                    assert_eq!(
                        escape_time_periodic(cr, ci, max_iter),
                        escape_time(cr, ci, max_iter),
                        "({cr}, {ci}) max_iter {max_iter}"
                    );
                }
            }
        }
    }

    #[test]
    fn periodicity_stops_early_inside() {
        // Centres of the period-1, 2, 3 (both kinds) and 4 bulbs: exact cycles long
        // before max_iter.
        let max_iter = 100_000_000;
        for c in [
            (-0.1, 0.1),
            (-1.0, 0.05),
            (-0.1226, 0.7449),
            (-1.7549, 0.0),
            (-1.3107, 0.0),
        ] {
            let (count, steps) = periodic_orbit(c.0, c.1, max_iter);
            assert_eq!(count, max_iter, "{c:?}");
            assert!(steps < 10_000, "{c:?}: {steps} steps");
        }
    }

    #[test]
    fn known_points() {
        for (cr, ci) in [
            (0.0, 0.0),
            (-0.5, 0.0),
            (0.2, 0.0),
            (-0.1, 0.6),
            (-1.0, 0.0),
            (-1.1, 0.1),
        ] {
            assert!(is_interior(cr, ci), "({cr}, {ci})");
        }
        // The cusp, the cardioid/bulb junction, boundary points and the outside.
        for (cr, ci) in [
            (0.25, 0.0),
            (-0.75, 0.0),
            (-1.25, 0.0),
            (0.3, 0.0),
            (-2.0, 0.0),
            (0.0, 1.0),
            (0.5, 0.5),
        ] {
            assert!(!is_interior(cr, ci), "({cr}, {ci})");
        }
    }

    /// Points c(λ) = λ/2 − λ²/4 of the cardioid, and −1 + μ/4 of the bulb, for |λ|, |μ| = r.
    fn rim(r: f64, n: usize) -> Vec<(f64, f64)> {
        let mut points = Vec::new();
        for k in 0..n {
            let t = std::f64::consts::TAU * k as f64 / n as f64;
            let (lr, li) = (r * t.cos(), r * t.sin());
            points.push((
                lr / 2.0 - (lr * lr - li * li) / 4.0,
                li / 2.0 - lr * li / 2.0,
            ));
            points.push((-1.0 + lr / 4.0, li / 4.0));
        }
        points
    }

    #[test]
    fn points_on_the_shortcut_rim_never_escape() {
        // The hardest points the shortcut takes: just inside its margin.
        let max_iter = 100_000;
        let taken: Vec<_> = rim(MARGIN * (1.0 - 1e-9), 180)
            .into_iter()
            .filter(|&(cr, ci)| is_interior(cr, ci))
            .collect();
        assert!(taken.len() > 300, "{}", taken.len());
        for (cr, ci) in taken {
            assert_eq!(escape_time(cr, ci, max_iter), max_iter, "({cr}, {ci})");
        }
    }

    #[test]
    fn the_margin_refuses_points_near_the_boundary() {
        assert!(rim(MARGIN * (1.0 + 1e-6), 360)
            .into_iter()
            .all(|(cr, ci)| !is_interior(cr, ci)));
        assert!(rim(1.0, 360)
            .into_iter()
            .all(|(cr, ci)| !is_interior(cr, ci)));
    }
}
