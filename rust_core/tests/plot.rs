//! Every chart renders, writes its file, and holds what it should (feature `plot`).
#![cfg(feature = "plot")]

use std::path::PathBuf;
use std::time::Duration;

use parlab_core::plot::{self, Span};
use parlab_core::{render, RenderConfig, Strategy};

/// Where the charts are written: look at them after `cargo test --features plot`.
fn out(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(strategy: Strategy, threads: usize) -> parlab_core::RenderRun {
    render(&RenderConfig {
        width: 320,
        height: 240,
        tile_w: 20,
        tile_h: 20,
        max_iter: 300,
        strategy,
        threads: Some(threads),
        ..Default::default()
    })
    .unwrap()
}

fn svg_file(name: &str, chart: &plot::Chart) -> String {
    let path = out(name);
    chart.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    text
}

#[test]
fn timeline_has_a_bar_per_tile_and_a_row_per_thread() {
    let run = run(Strategy::Dynamic, 3);
    let svg = svg_file("timeline.svg", &plot::timeline(&run).unwrap());
    assert!(svg.matches("<rect").count() >= run.records.len());
    for t in 0..3 {
        assert!(
            svg.contains(&format!("thread {t}")),
            "no label for thread {t}"
        );
    }
    assert!(svg.contains("time since the start (ms)"));
}

#[test]
fn compared_timelines_share_one_time_axis() {
    let seq = run(Strategy::Sequential, 1);
    let stat = run(Strategy::Static, 2);
    let chart = plot::compare_timelines(&[("sequential", &seq), ("static", &stat)]).unwrap();
    let svg = svg_file("compare_timelines.svg", &chart);
    assert!(svg.contains("sequential") && svg.contains("static"));
    assert!(svg.matches("<rect").count() >= 2 * seq.records.len());
}

#[test]
fn spans_timeline_draws_arbitrary_lanes() {
    let spans: Vec<Span> = (0..6)
        .map(|i| Span {
            lane: i % 3,
            start_us: i as f64 * 1e4,
            duration_us: 5e4,
            weight: 0.0,
        })
        .collect();
    let svg = svg_file(
        "spans.svg",
        &plot::spans_timeline("downloads", "task", 3, &spans).unwrap(),
    );
    assert!(svg.contains("task 2"));
}

#[test]
fn speedup_curve_needs_a_one_thread_time() {
    let times = [(1, 2.0), (2, 1.05), (3, 1.0), (4, 0.98)];
    let svg = svg_file(
        "speedup.svg",
        &plot::speedup("fib(32), rayon::join", &times, Some(2.0)).unwrap(),
    );
    assert!(svg.contains("ideal") && svg.contains("measured") && svg.contains("limit"));
    let err = plot::speedup("no base", &[(2, 1.0)], None).unwrap_err();
    assert!(err.to_string().starts_with("times:"), "{err}");
}

#[test]
fn grouped_bars_have_a_bar_per_value_and_check_their_shape() {
    let groups = ["sequential", "threads", "async"];
    let series = [
        ("CPU-bound", vec![1.0, 1.9, 1.0]),
        ("I/O-bound", vec![1.0, 9.5, 19.0]),
    ];
    let svg = svg_file(
        "bars.svg",
        &plot::grouped_bars("speedup over sequential", "speedup", &groups, &series).unwrap(),
    );
    for g in groups {
        assert!(svg.contains(&format!("\n{g}\n")), "{g}");
    }
    assert!(svg.contains("\n9.5\n"));
    let bad = plot::grouped_bars("x", "y", &groups, &[("short", vec![1.0])]);
    assert!(bad.is_err());
}

#[test]
fn mandelbrot_png_is_the_image_and_grey_where_not_rendered() {
    let run = run(Strategy::Sequential, 1);
    let png = plot::mandelbrot(&run).unwrap();
    let path = out("mandelbrot.png");
    png.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!((png.width, png.height), (320, 240));
    // Width and height sit at bytes 16..24 of the IHDR chunk.
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 320);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 240);
    assert_eq!(plot::color_of(0, 100), [128, 128, 128]);
    assert_ne!(plot::color_of(1, 100), plot::color_of(99, 100));

    let partial = render(&RenderConfig {
        width: 320,
        height: 240,
        tile_w: 20,
        tile_h: 20,
        max_iter: 300,
        strategy: Strategy::Sequential,
        time_limit: Some(Duration::ZERO),
        ..Default::default()
    })
    .unwrap();
    plot::mandelbrot(&partial)
        .unwrap()
        .save(out("mandelbrot_empty.png"))
        .unwrap();
}

#[test]
fn saving_to_a_missing_directory_is_an_error() {
    let chart = plot::timeline(&run(Strategy::Sequential, 1)).unwrap();
    let err = chart.save("/nonexistent-dir/x.svg").unwrap_err();
    assert!(err.to_string().contains("/nonexistent-dir/x.svg"), "{err}");
}
