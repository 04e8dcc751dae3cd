//! Every strategy at 1 and 2 threads on the original demo's workload (800×600, 50×50
//! tiles, max_iter 1000), plus the bare kernel over the same tiles with no threads, no
//! records and no channel: the difference to `sequential` is what recording costs.
//! Then the kernels (`dynamic` strategy): scalar against each SIMD path this CPU has, at
//! 1 and 2 threads, with and without the interior shortcuts.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use parlab_core::{render, render_tile, tile_grid, Kernel, RenderConfig, Strategy, Tile, Viewport};

/// `tiles` of `config` through the scalar kernel on this thread: no threads, no records,
/// no channel. Returns the iterations, so the work cannot be optimised away.
fn bare_kernel(config: &RenderConfig, tiles: &[Tile]) -> u64 {
    let (frame, stop, mut out) = (config.frame(), AtomicBool::new(false), Vec::new());
    tiles
        .iter()
        .map(|tile| render_tile(&frame, tile, &stop, &mut out).unwrap())
        .sum()
}

fn strategies(c: &mut Criterion) {
    let base = RenderConfig::default();
    let mut group = c.benchmark_group("demo_800x600");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));

    let tiles = tile_grid(base.width, base.height, base.tile_w, base.tile_h);
    group.bench_function("bare_kernel", |b| b.iter(|| bare_kernel(&base, &tiles)));
    for strategy in Strategy::ALL {
        for threads in [1, 2] {
            if strategy == Strategy::Sequential && threads != 1 {
                continue;
            }
            let config = RenderConfig {
                strategy,
                threads: Some(threads),
                kernel: Kernel::Scalar,
                ..base.clone()
            };
            group.bench_with_input(
                BenchmarkId::new(strategy.name(), threads),
                &config,
                |b, config| b.iter(|| black_box(render(config).unwrap())),
            );
        }
    }
    group.finish();
}

/// Recording cost per tile: 10,000 one-pixel tiles of one iteration each, so that nearly
/// all the time is bookkeeping (clock reads, the record, the channel to the caller).
fn recording(c: &mut Criterion) {
    let config = RenderConfig {
        width: 100,
        height: 100,
        tile_w: 1,
        tile_h: 1,
        max_iter: 1,
        strategy: Strategy::Sequential,
        threads: Some(1),
        kernel: Kernel::Scalar,
        ..RenderConfig::default()
    };
    let mut group = c.benchmark_group("tiny_tiles_10000");
    group.sample_size(30);
    let tiles = tile_grid(config.width, config.height, config.tile_w, config.tile_h);
    group.bench_function("bare_kernel", |b| b.iter(|| bare_kernel(&config, &tiles)));
    group.bench_function("recorded", |b| {
        b.iter(|| black_box(render(&config).unwrap()))
    });
    group.finish();
}

/// Scalar against every SIMD path on the demo workload: `kernels/<kernel>[+shortcut]/<threads>`.
fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernels_800x600");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));
    for kernel in Kernel::available() {
        for shortcut in [false, true] {
            for threads in [1, 2] {
                let config = RenderConfig {
                    kernel,
                    interior_shortcut: shortcut,
                    threads: Some(threads),
                    ..RenderConfig::default()
                };
                let name = if shortcut {
                    format!("{kernel}+shortcut")
                } else {
                    kernel.to_string()
                };
                group.bench_with_input(BenchmarkId::new(name, threads), &config, |b, config| {
                    b.iter(|| black_box(render(config).unwrap()))
                });
            }
        }
    }
    group.finish();
}

/// The periodicity shortcut per view, best kernel at 2 threads, brute force against
/// `+shortcut`: the seed view, views dominated by the period-3 and period-4 bulbs and the
/// period-3 bulb on the antenna, and an interior-only view (the ceiling's). Each view's
/// lane utilisation is printed before its times.
fn views(c: &mut Criterion) {
    let mut group = c.benchmark_group("views_400x300");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    let views = [
        ("seed", Viewport::default()),
        ("period3", Viewport::new(-0.2, -0.05, 0.65, 0.85)),
        ("period4", Viewport::new(-1.36, -1.26, -0.05, 0.05)),
        ("antenna3", Viewport::new(-1.78, -1.74, -0.015, 0.015)),
        ("interior", Viewport::new(-0.15, 0.1, -0.12, 0.12)),
    ];
    for (name, viewport) in views {
        for shortcut in [false, true] {
            let config = RenderConfig {
                width: 400,
                height: 300,
                viewport,
                interior_shortcut: shortcut,
                threads: Some(2),
                ..RenderConfig::default()
            };
            let label = if shortcut { "shortcut" } else { "brute" };
            // Counted, not timed: how busy the SIMD lanes were on this view (beside the times).
            let run = render(&config).unwrap();
            println!(
                "views_400x300/{name}/{label}: {} lanes busy {:.1}% (useful / issued lane-steps)",
                run.kernel,
                100.0 * parlab_core::timeline::lane_utilization(&run.records)
            );
            group.bench_with_input(BenchmarkId::new(name, label), &config, |b, config| {
                b.iter(|| black_box(render(config).unwrap()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, strategies, recording, kernels, views);
criterion_main!(benches);
