//! Every kernel this CPU supports, forced one by one, gives the scalar kernel's counts bit
//! for bit, on every strategy, with and without the interior shortcuts.

use parlab_core::{
    escape_time, pixel_to_point, render, render_tile_with, tile_grid, Error, Frame, Kernel,
    RenderConfig, Strategy, Viewport,
};
use std::sync::atomic::AtomicBool;

/// Cheap views that between them cover deep zooms, max_iter from 1 to 100,000, clipped
/// edge tiles, widths that are no multiple of any lane count, and 1-pixel tiles.
fn views() -> Vec<RenderConfig> {
    let whole = [-2.5, 1.0, -1.0, 1.0];
    let seahorse = [-0.7436438871, -0.7436438869, 0.1318259041, 0.1318259043];
    #[rustfmt::skip]
    let table: [(usize, usize, usize, usize, u32, [f64; 4]); 21] = [
        (120, 90, 16, 16, 200, whole),
        (103, 57, 20, 13, 300, whole),
        (9, 5, 64, 64, 50, whole),
        (9, 5, 1, 1, 50, whole),
        (31, 17, 7, 3, 1, whole),
        (31, 17, 5, 5, 2, whole),
        (33, 19, 11, 19, 3, whole),
        (64, 48, 8, 8, 2000, seahorse),
        // Deeper: neighbouring pixels differ by a few ulps.
        (37, 23, 9, 7, 5000, [-1.7687788, -1.7687787999999, 0.0017389, 0.0017389000001]),
        (11, 7, 6, 5, 100_000, [-0.7489, -0.7487, 0.0535, 0.0537]),
        // Across the cardioid's and the bulb's rims, where the shortcut must stop.
        (29, 19, 16, 8, 2_000, [-0.8, -0.7, -0.05, 0.05]),
        (19, 13, 10, 10, 3_000, [0.2, 0.3, -0.05, 0.05]),
        (23, 23, 12, 12, 1_000, [-1.3, -0.7, -0.3, 0.3]),
        // Far outside, and a huge viewport whose points overflow to inf at once.
        (17, 9, 4, 4, 1000, [1e150, 1e300, -1e300, 1e300]),
        // Subnormal imaginary parts.
        (23, 11, 5, 5, 1000, [-1e-300, 1e-300, -5e-324, 5e-324]),
        // Views dominated by other bulbs (periods 3, 4 and 3 on the antenna), for the
        // periodicity shortcut, and a deep zoom on a period-3 bulb's rim.
        (41, 29, 9, 7, 3_000, [-0.2, -0.05, 0.65, 0.85]),
        (37, 31, 8, 8, 3_000, [-1.36, -1.26, -0.05, 0.05]),
        (33, 21, 7, 7, 3_000, [-1.78, -1.74, -0.015, 0.015]),
        (29, 23, 6, 6, 20_000, [-0.12, -0.1199999999, 0.649, 0.6490000001]),
        // The antenna's tip and the |c| = 2 circle: the careful band of the SIMD engine.
        (47, 15, 8, 8, 2_000, [-2.05, -1.95, -0.02, 0.02]),
        (31, 31, 9, 9, 500, [1.3, 1.5, 1.3, 1.5]),
    ];
    table
        .into_iter()
        .map(
            |(width, height, tile_w, tile_h, max_iter, [a, b, c, d])| RenderConfig {
                width,
                height,
                tile_w,
                tile_h,
                max_iter,
                viewport: Viewport::new(a, b, c, d),
                strategy: Strategy::Sequential,
                threads: Some(1),
                ..Default::default()
            },
        )
        .collect()
}

fn with(config: &RenderConfig, kernel: Kernel, shortcut: bool) -> RenderConfig {
    RenderConfig {
        kernel,
        interior_shortcut: shortcut,
        ..config.clone()
    }
}

#[test]
fn the_reference_is_the_definition() {
    for view in views() {
        let run = render(&with(&view, Kernel::Scalar, false)).unwrap();
        assert_eq!(run.kernel, Kernel::Scalar);
        for (y, x) in [
            (0, 0),
            (view.height - 1, view.width - 1),
            (view.height / 2, 3),
        ] {
            let (cr, ci) = pixel_to_point(&view.frame(), x, y);
            assert_eq!(run.count(x, y), escape_time(cr, ci, view.max_iter));
        }
    }
}

#[test]
fn every_available_kernel_gives_the_scalar_counts() {
    let available = Kernel::available();
    assert!(available.contains(&Kernel::Portable));
    for view in views() {
        let expected = render(&with(&view, Kernel::Scalar, false)).unwrap();
        for &kernel in &available {
            for shortcut in [false, true] {
                let run = render(&with(&view, kernel, shortcut)).unwrap();
                assert_eq!(run.kernel, kernel);
                assert_eq!(run.interior_shortcut, shortcut);
                assert!(
                    run.iterations == expected.iterations,
                    "{kernel} (shortcut {shortcut}) differs on {view:?}"
                );
                let work: Vec<_> = run.records.iter().map(|r| r.iterations).collect();
                let expected_work: Vec<_> = expected.records.iter().map(|r| r.iterations).collect();
                assert_eq!(work, expected_work, "{kernel}");
            }
        }
    }
}

#[test]
fn every_strategy_runs_every_kernel() {
    let view = &views()[1];
    let expected = render(&with(view, Kernel::Scalar, false)).unwrap();
    for strategy in Strategy::ALL {
        for kernel in [Kernel::Auto, Kernel::Simd] {
            let threads = if strategy == Strategy::Sequential {
                1
            } else {
                3
            };
            let run = render(&RenderConfig {
                strategy,
                threads: Some(threads),
                ..with(view, kernel, false)
            })
            .unwrap();
            assert_eq!(run.iterations, expected.iterations, "{strategy} {kernel}");
            assert_eq!(run.kernel, *Kernel::available().last().unwrap());
        }
    }
}

#[test]
fn the_demo_view_is_identical() {
    // The demo's view at a tenth of its size (the Python tests compare the full image).
    let demo = RenderConfig {
        width: 80,
        height: 60,
        tile_w: 25,
        tile_h: 25,
        threads: Some(2),
        ..RenderConfig::default()
    };
    let expected = render(&with(&demo, Kernel::Scalar, false)).unwrap();
    for kernel in Kernel::available() {
        for shortcut in [false, true] {
            let run = render(&with(&demo, kernel, shortcut)).unwrap();
            assert!(run.iterations == expected.iterations, "{kernel} {shortcut}");
        }
    }
}

#[test]
fn single_tiles_of_every_shape() {
    // Every width and height from 1 to 11 at a tile's corner, so every partial block.
    let frame = Frame {
        view: Viewport::new(-0.76, -0.74, 0.09, 0.11),
        width: 23,
        height: 23,
        max_iter: 500,
    };
    let stop = AtomicBool::new(false);
    for w in 1..=11 {
        for h in 1..=11 {
            for tile in tile_grid(23, 23, w, h).into_iter().step_by(5) {
                let mut expected = Vec::new();
                let sum =
                    render_tile_with(Kernel::Scalar, false, &frame, &tile, &stop, &mut expected)
                        .unwrap();
                for kernel in Kernel::available() {
                    let mut out = vec![7; 3];
                    let got = render_tile_with(kernel, false, &frame, &tile, &stop, &mut out);
                    assert_eq!(got, Ok(sum), "{kernel} {tile:?}");
                    assert_eq!(out, expected, "{kernel} {tile:?}");
                }
            }
        }
    }
}

#[test]
fn every_kernel_stops_when_asked() {
    let stop = AtomicBool::new(true);
    let tile = tile_grid(64, 64, 64, 64)[0];
    for kernel in Kernel::available() {
        for shortcut in [false, true] {
            let mut out = Vec::new();
            let frame = Frame {
                width: 64,
                height: 64,
                ..Frame::default()
            };
            let result = render_tile_with(kernel, shortcut, &frame, &tile, &stop, &mut out);
            assert_eq!(result, Err(Error::Cancelled), "{kernel}");
        }
    }
}

#[test]
fn an_unsupported_kernel_is_refused_by_name() {
    for kernel in Kernel::ALL.into_iter().filter(|k| !k.is_supported()) {
        match render(&with(&views()[0], kernel, false)) {
            Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "kernel"),
            other => panic!("{kernel}: {other:?}"),
        }
    }
}

/// A small xorshift generator: the random views are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn random_views_give_the_definition_with_every_kernel() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let stop = AtomicBool::new(false);
    for _ in 0..60 {
        // Centres around the set, zooms from the whole set to 10⁻¹³, odd sizes.
        let (x, y) = (-2.2 + 2.8 * rng.next(), -1.2 + 2.4 * rng.next());
        let half = 1.5 * 10f64.powf(-13.0 * rng.next());
        let view = Viewport::new(x - half, x + half, y - 0.7 * half, y + 0.7 * half);
        let (width, height) = (
            5 + (30.0 * rng.next()) as usize,
            3 + (20.0 * rng.next()) as usize,
        );
        let max_iter = [1, 2, 9, 100, 1000, 4000][(6.0 * rng.next()) as usize];
        let tile = tile_grid(width, height, width, height)[0];
        let frame = Frame {
            view,
            width,
            height,
            max_iter,
        };
        let expected: Vec<u32> = (0..height)
            .flat_map(|py| (0..width).map(move |px| (px, py)))
            .map(|(px, py)| {
                let (cr, ci) = pixel_to_point(&frame, px, py);
                escape_time(cr, ci, max_iter)
            })
            .collect();
        for kernel in Kernel::available() {
            for shortcut in [false, true] {
                let mut out = Vec::new();
                render_tile_with(kernel, shortcut, &frame, &tile, &stop, &mut out).unwrap();
                assert!(
                    out == expected,
                    "{kernel} {shortcut} {view:?} {width}×{height} {max_iter}"
                );
            }
        }
    }
}
