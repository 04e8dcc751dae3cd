//! The render contract: every strategy gives the sequential pixels, each tile is recorded
//! once on a valid thread, the time limit and cancellation are honoured, bad input is named.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use parlab_core::{
    render, render_one_tile, render_with, Error, Event, Frame, Kernel, RenderConfig, Strategy,
    Tile, Viewport, MAX_TILES,
};

fn views() -> Vec<RenderConfig> {
    vec![
        // The demo's view, smaller.
        RenderConfig {
            width: 160,
            height: 120,
            tile_w: 16,
            tile_h: 16,
            max_iter: 200,
            ..Default::default()
        },
        // A deep zoom near the boundary: neighbouring pixels differ in the last few bits.
        RenderConfig {
            width: 64,
            height: 48,
            tile_w: 8,
            tile_h: 8,
            max_iter: 2000,
            viewport: Viewport::new(
                -0.743_643_887_1,
                -0.743_643_886_9,
                0.131_825_904_1,
                0.131_825_904_3,
            ),
            ..Default::default()
        },
        // Odd sizes: clipped edge tiles on both axes.
        RenderConfig {
            width: 103,
            height: 57,
            tile_w: 20,
            tile_h: 13,
            max_iter: 300,
            ..Default::default()
        },
        // Tiles larger than the image, and 1-pixel tiles.
        RenderConfig {
            width: 9,
            height: 5,
            tile_w: 64,
            tile_h: 64,
            max_iter: 50,
            ..Default::default()
        },
        RenderConfig {
            width: 9,
            height: 5,
            tile_w: 1,
            tile_h: 1,
            max_iter: 50,
            ..Default::default()
        },
    ]
}

fn sequential(config: &RenderConfig) -> RenderConfig {
    RenderConfig {
        strategy: Strategy::Sequential,
        threads: Some(1),
        ..config.clone()
    }
}

#[test]
fn every_strategy_gives_the_sequential_pixels() {
    for view in views() {
        let expected = render(&sequential(&view)).unwrap();
        assert!(expected.iterations.iter().all(|&c| c >= 1));
        for strategy in Strategy::ALL {
            for threads in [1, 2, 3, 7] {
                if strategy == Strategy::Sequential && threads != 1 {
                    continue;
                }
                let run = render(&RenderConfig {
                    strategy,
                    threads: Some(threads),
                    ..view.clone()
                })
                .unwrap();
                assert_eq!(
                    run.iterations, expected.iterations,
                    "{strategy} × {threads} on {view:?}"
                );
            }
        }
    }
}

#[test]
fn each_tile_is_recorded_once_on_a_valid_thread() {
    for view in views() {
        for strategy in Strategy::ALL {
            let threads = if strategy == Strategy::Sequential {
                1
            } else {
                3
            };
            let run = render(&RenderConfig {
                strategy,
                threads: Some(threads),
                ..view.clone()
            })
            .unwrap();
            assert_eq!(run.completed_tiles(), run.total_tiles);
            assert!(!run.time_limited);
            let ids: HashSet<_> = run.records.iter().map(|r| r.task_id).collect();
            assert_eq!(ids.len(), run.total_tiles, "{strategy}");
            assert!(run
                .records
                .windows(2)
                .all(|w| w[0].start_us <= w[1].start_us));
            let pixels: usize = run.records.iter().map(|r| r.pixels).sum();
            assert_eq!(pixels, view.width * view.height);
            for r in &run.records {
                assert!(r.thread_id < threads, "{strategy}: {r:?}");
                assert_eq!(r.pixels, r.tile_w * r.tile_h);
                assert!(r.start_us >= 0.0 && r.duration_us >= 0.0);
                assert!(
                    r.end_us() <= run.elapsed_us + 1.0,
                    "{r:?} ends after the run ({})",
                    run.elapsed_us
                );
                let tile_sum: u64 = (r.tile_y..r.tile_y + r.tile_h)
                    .flat_map(|y| (r.tile_x..r.tile_x + r.tile_w).map(move |x| (x, y)))
                    .map(|(x, y)| u64::from(run.count(x, y)))
                    .sum();
                assert_eq!(r.iterations, tile_sum);
            }
        }
    }
}

#[test]
fn records_resolve_microseconds() {
    // Tiles of a few pixels take microseconds; the timeline must still tell them apart.
    let run = render(&RenderConfig {
        width: 64,
        height: 64,
        tile_w: 4,
        tile_h: 4,
        max_iter: 50,
        threads: Some(1),
        strategy: Strategy::Sequential,
        ..Default::default()
    })
    .unwrap();
    let distinct: HashSet<u64> = run.records.iter().map(|r| r.start_us.to_bits()).collect();
    assert!(
        distinct.len() > run.records.len() / 2,
        "start times collapse: {}",
        distinct.len()
    );
    // Microseconds, not whole milliseconds: some duration has a fraction of a millisecond
    // (a resolution check, which no load can break; how long a tile takes is not tested).
    assert!(
        run.records
            .iter()
            .any(|r| r.duration_us > 0.0 && r.duration_us % 1000.0 != 0.0),
        "every duration is a whole number of ms"
    );
}

/// Heavy enough that no strategy finishes it within the limits used below.
fn heavy(strategy: Strategy, threads: usize) -> RenderConfig {
    RenderConfig {
        width: 2000,
        height: 2000,
        tile_w: 50,
        tile_h: 50,
        max_iter: 20_000,
        strategy,
        threads: Some(threads),
        viewport: Viewport::new(-1.0, 0.5, -0.75, 0.75),
        ..Default::default()
    }
}

#[test]
fn no_tile_starts_after_the_time_limit() {
    for strategy in Strategy::ALL {
        let threads = if strategy == Strategy::Sequential {
            1
        } else {
            2
        };
        let limit = Duration::from_millis(30);
        let run = render(&RenderConfig {
            time_limit: Some(limit),
            ..heavy(strategy, threads)
        })
        .unwrap();
        // Evidence, not the clock: a worker refused a tile because the limit had passed
        // (`time_limited`), so the run stopped with tiles left; the times are printed.
        assert!(run.time_limited, "{strategy}: no worker saw the limit");
        assert!(
            run.completed_tiles() < run.total_tiles,
            "{strategy}: {} of {} tiles done",
            run.completed_tiles(),
            run.total_tiles
        );
        let last_start = run.records.iter().map(|r| r.start_us).fold(0.0, f64::max);
        println!(
            "{strategy}: {} of {} tiles, the last started at {:.1} ms (limit {} ms)",
            run.completed_tiles(),
            run.total_tiles,
            last_start / 1e3,
            limit.as_millis()
        );
        let rendered: HashSet<(usize, usize)> = run
            .records
            .iter()
            .flat_map(|r| {
                (r.tile_y..r.tile_y + r.tile_h)
                    .flat_map(move |y| (r.tile_x..r.tile_x + r.tile_w).map(move |x| (x, y)))
            })
            .collect();
        for y in (0..2000).step_by(37) {
            for x in (0..2000).step_by(41) {
                assert_eq!(
                    run.count(x, y) >= 1,
                    rendered.contains(&(x, y)),
                    "{strategy} ({x}, {y})"
                );
            }
        }
    }
}

#[test]
fn a_zero_time_limit_renders_nothing() {
    let run = render(&RenderConfig {
        time_limit: Some(Duration::ZERO),
        ..heavy(Strategy::Dynamic, 2)
    })
    .unwrap();
    assert_eq!(run.completed_tiles(), 0);
    assert!(run.time_limited);
    assert!(run.iterations.iter().all(|&c| c == 0));
}

#[test]
fn a_generous_time_limit_is_not_reported() {
    let run = render(&RenderConfig {
        time_limit: Some(Duration::from_secs(60)),
        ..views()[0].clone()
    })
    .unwrap();
    assert!(!run.time_limited);
    assert_eq!(run.completed_tiles(), run.total_tiles);
}

#[test]
fn cancelling_stops_every_strategy_promptly() {
    for strategy in Strategy::ALL {
        let threads = if strategy == Strategy::Sequential {
            1
        } else {
            2
        };
        let started = Instant::now();
        let mut tiles_seen = 0;
        let result = render_with(&heavy(strategy, threads), |event| {
            if let Event::Tile { .. } = event {
                tiles_seen += 1;
            }
            if started.elapsed() > Duration::from_millis(20) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        // render_with returns only once every worker has stopped (scoped threads): returning
        // at all, cancelled, with the heavy image unfinished, is the check; the time is shown.
        let took = started.elapsed();
        assert_eq!(result.unwrap_err(), Error::Cancelled, "{strategy}");
        let total = parlab_core::tile_count(2000, 2000, 50, 50);
        assert!(tiles_seen < total, "{strategy}: all {total} tiles finished");
        println!(
            "{strategy}: stopped {took:?} after it started, {tiles_seen} of {total} tiles done"
        );
    }
}

#[test]
fn events_arrive_while_workers_run() {
    let mut events = Vec::new();
    let run = render_with(
        &RenderConfig {
            threads: Some(2),
            ..views()[2].clone()
        },
        |event| {
            if let Event::Tile { record, pixels } = event {
                assert_eq!(pixels.len(), record.pixels);
                events.push(record.task_id);
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!(events.len(), run.total_tiles);
}

#[test]
fn bad_input_names_the_parameter() {
    let ok = RenderConfig::default();
    let cases = [
        (
            "width",
            RenderConfig {
                width: 0,
                ..ok.clone()
            },
        ),
        (
            "height",
            RenderConfig {
                height: 0,
                ..ok.clone()
            },
        ),
        (
            "tile_w",
            RenderConfig {
                tile_w: 0,
                ..ok.clone()
            },
        ),
        (
            "tile_h",
            RenderConfig {
                tile_h: 0,
                ..ok.clone()
            },
        ),
        (
            "width",
            RenderConfig {
                width: 20_000,
                height: 20_000,
                ..ok.clone()
            },
        ),
        (
            "width",
            RenderConfig {
                width: usize::MAX,
                height: 2,
                ..ok.clone()
            },
        ),
        (
            "max_iter",
            RenderConfig {
                max_iter: 0,
                ..ok.clone()
            },
        ),
        (
            "max_iter",
            RenderConfig {
                max_iter: 1_000_001,
                ..ok.clone()
            },
        ),
        (
            "threads",
            RenderConfig {
                threads: Some(0),
                ..ok.clone()
            },
        ),
        (
            "threads",
            RenderConfig {
                threads: Some(1025),
                ..ok.clone()
            },
        ),
        (
            "threads",
            RenderConfig {
                strategy: Strategy::Sequential,
                threads: Some(2),
                ..ok.clone()
            },
        ),
        (
            "viewport",
            RenderConfig {
                viewport: Viewport::new(1.0, 1.0, 0.0, 1.0),
                ..ok.clone()
            },
        ),
        (
            "viewport",
            RenderConfig {
                viewport: Viewport::new(0.0, 1.0, f64::NAN, 1.0),
                ..ok.clone()
            },
        ),
    ];
    for (name, config) in cases {
        match render(&config) {
            Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name, "{config:?}"),
            other => panic!("{config:?} gave {other:?}"),
        }
    }
    assert!(parlab_core::time_limit_from_ms(-1.0).is_err());
    assert!(parlab_core::time_limit_from_ms(f64::NAN).is_err());
    assert!(parlab_core::time_limit_from_ms(f64::INFINITY).is_err());
    assert_eq!(
        parlab_core::time_limit_from_ms(1.5).unwrap(),
        Duration::from_micros(1500)
    );
}

#[test]
fn default_threads_is_at_least_one() {
    let run = render(&RenderConfig {
        threads: None,
        ..views()[3].clone()
    })
    .unwrap();
    assert!(run.threads >= 1);
    assert_eq!(run.threads, parlab_core::default_threads());
}

#[test]
fn too_many_tiles_are_refused_by_name_before_allocating() {
    // 100 M tiles of 1×1 pixel: a tile grid of gigabytes, had it been built.
    let config = RenderConfig {
        width: 10_000,
        height: 10_000,
        tile_w: 1,
        tile_h: 1,
        max_iter: 1,
        ..Default::default()
    };
    let err = render(&config).unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { name: "tile_w", .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&MAX_TILES.to_string()), "{err}");
    // Just at the limit is fine.
    let at_limit = RenderConfig {
        width: 1000,
        height: 1000,
        ..config
    };
    assert_eq!(at_limit.validate().map(|_| ()), Ok(()));
}

/// An image whose counts vary from pixel to pixel (1 to 49) but never reach `max_iter`:
/// right of the main cardioid, outside the set.
fn outside_frame(max_iter: u32) -> Frame {
    Frame {
        view: Viewport::new(0.45, 0.9, 0.0, 0.5),
        width: 90,
        height: 70,
        max_iter,
    }
}

#[test]
fn one_tile_has_the_counts_of_the_whole_render() {
    for max_iter in [300, 1_000_000] {
        let frame = outside_frame(max_iter);
        let whole = render(&RenderConfig {
            width: frame.width,
            height: frame.height,
            max_iter,
            viewport: frame.view,
            kernel: Kernel::Scalar,
            ..Default::default()
        })
        .unwrap();
        for kernel in Kernel::available() {
            for tile in [Tile::new(0, 0, 0, 90, 70), Tile::new(0, 13, 7, 41, 29)] {
                // With max_iter 1e6 the tile is rendered in many parts.
                let (mut parts, mut out) = (1, Vec::new());
                let between = || {
                    parts += 1;
                    ControlFlow::Continue(())
                };
                let work =
                    render_one_tile(&frame, &tile, kernel, false, between, &mut out).unwrap();
                let expected: Vec<u32> = (tile.y..tile.y + tile.h)
                    .flat_map(|y| (tile.x..tile.x + tile.w).map(move |x| (x, y)))
                    .map(|(x, y)| whole.count(x, y))
                    .collect();
                assert_eq!(out, expected, "{kernel:?}, {tile:?}, max_iter {max_iter}");
                assert_eq!(work, expected.iter().map(|&c| u64::from(c)).sum::<u64>());
                assert_eq!(parts > 1, max_iter == 1_000_000, "{parts} parts");
            }
        }
    }
}

#[test]
fn one_tile_can_be_cancelled_between_parts() {
    let frame = outside_frame(1_000_000);
    let tile = Tile::new(0, 0, 0, 90, 70);
    let mut calls = 0;
    let stop_at_third = || {
        calls += 1;
        if calls == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let result = render_one_tile(
        &frame,
        &tile,
        Kernel::Auto,
        false,
        stop_at_third,
        &mut Vec::new(),
    );
    assert_eq!(result, Err(Error::Cancelled));
    assert_eq!(calls, 3);
}

#[test]
fn one_tile_checks_the_frame_and_the_tile() {
    let frame = Frame::default();
    let cases = [
        ("tile_x", frame, Tile::new(0, 790, 0, 20, 10)),
        ("tile_y", frame, Tile::new(0, 0, 600, 10, 1)),
        ("tile_x", frame, Tile::new(0, usize::MAX, 0, 2, 1)),
        ("tile_w", frame, Tile::new(0, 0, 0, 0, 10)),
        ("tile_h", frame, Tile::new(0, 0, 0, 10, 0)),
        (
            "width",
            Frame { width: 0, ..frame },
            Tile::new(0, 0, 0, 1, 1),
        ),
        (
            "max_iter",
            Frame {
                max_iter: 0,
                ..frame
            },
            Tile::new(0, 0, 0, 1, 1),
        ),
        (
            "viewport",
            Frame {
                view: Viewport::new(1.0, 0.0, 0.0, 1.0),
                ..frame
            },
            Tile::new(0, 0, 0, 1, 1),
        ),
    ];
    for (name, frame, tile) in cases {
        let never = || ControlFlow::Continue(());
        match render_one_tile(&frame, &tile, Kernel::Auto, false, never, &mut Vec::new()) {
            Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name, "{tile:?}"),
            other => panic!("{frame:?}, {tile:?} gave {other:?}"),
        }
    }
}

// --- lane utilisation: counted, so exact on any machine ---------------------------------

/// The demo's view, smaller, and the ceiling's interior-only view (nothing escapes).
fn lane_views() -> [RenderConfig; 2] {
    let base = RenderConfig {
        width: 200,
        height: 150,
        tile_w: 25,
        tile_h: 25,
        max_iter: 500,
        strategy: Strategy::Dynamic,
        threads: Some(2),
        ..Default::default()
    };
    [
        base.clone(),
        RenderConfig {
            viewport: Viewport::new(-0.15, 0.1, -0.12, 0.12),
            ..base
        },
    ]
}

#[test]
fn the_scalar_kernel_uses_its_one_lane_fully() {
    for config in lane_views() {
        let run = render(&RenderConfig {
            kernel: Kernel::Scalar,
            ..config
        })
        .unwrap();
        assert!(run.records.iter().all(|r| r.lanes.issued == r.lanes.useful));
        assert_eq!(parlab_core::timeline::lane_utilization(&run.records), 1.0);
    }
}

#[test]
fn simd_lane_utilisation_is_a_fraction_and_useful_steps_are_the_counts() {
    let [seed, interior] = lane_views();
    for kernel in Kernel::available().into_iter().skip(1) {
        for shortcut in [false, true] {
            let run = |config: &RenderConfig| {
                render(&RenderConfig {
                    kernel,
                    interior_shortcut: shortcut,
                    ..config.clone()
                })
                .unwrap()
            };
            let (seed_run, inside) = (run(&seed), run(&interior));
            for r in seed_run.records.iter().chain(&inside.records) {
                let u = r.lane_utilization();
                assert!(0.0 < u && u <= 1.0, "{kernel} {shortcut}: {u} in {r:?}");
                assert!(r.lanes.useful <= r.lanes.issued, "{kernel}: {r:?}");
                if !shortcut {
                    // Every lane-step that did work is one step of the definition.
                    assert_eq!(r.lanes.useful, r.iterations, "{kernel}: {r:?}");
                }
            }
            let (u_seed, u_inside) = (
                parlab_core::timeline::lane_utilization(&seed_run.records),
                parlab_core::timeline::lane_utilization(&inside.records),
            );
            println!("{kernel} shortcut={shortcut}: seed {u_seed:.4}, interior {u_inside:.4}");
            if !shortcut {
                // Every pixel runs to max_iter (500, not a multiple of the 8-step block:
                // 4 idle steps per pixel), and a tile's last pixels fill few lanes.
                assert!(u_inside > 0.98, "{kernel}: interior {u_inside}");
                // Refilled lanes idle at most until their block's end.
                assert!(u_seed > 0.9, "{kernel}: seed {u_seed}");
            }
        }
    }
}
