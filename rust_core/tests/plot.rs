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

/// The width of every `<rect>` of an SVG document, in document order.
fn rect_widths(svg: &str) -> Vec<f64> {
    svg.split("<rect")
        .skip(1)
        .map(|rect| {
            let tag = &rect[..rect.find('>').expect("a closed <rect> tag")];
            let start = tag.find(" width=\"").expect("a width attribute") + 8;
            let len = tag[start..].find('"').unwrap();
            tag[start..start + len].parse().unwrap()
        })
        .collect()
}

/// Filled bars (not the hairline edges, which have `fill="none"`).
fn filled_rects(svg: &str) -> usize {
    svg.split("<rect")
        .skip(1)
        .filter(|r| !r[..r.find('>').unwrap()].contains("fill=\"none\""))
        .count()
}

#[test]
fn no_bar_of_a_timeline_has_zero_width() {
    // A default-view run: the tiles outside the set take a few µs, those through it
    // milliseconds. Before MIN_BAR_PX most bars of such a chart were 0 px wide.
    let seq = render(&RenderConfig {
        max_iter: 300,
        strategy: Strategy::Sequential,
        threads: Some(1),
        ..Default::default()
    })
    .unwrap();
    let dynamic = run(Strategy::Dynamic, 2);
    let chart = plot::compare_timelines(&[("sequential", &seq), ("dynamic", &dynamic)]).unwrap();
    let svg = svg_file("timeline_tiny_tiles.svg", &chart);
    let widths = rect_widths(&svg);
    let zero = widths.iter().filter(|w| **w <= 0.0).count();
    // One background rectangle, one bar per tile, 60 steps of the colour bar, edges.
    let bars = seq.records.len() + dynamic.records.len();
    assert!(
        filled_rects(&svg) >= bars + 60,
        "{} < {bars}",
        filled_rects(&svg)
    );
    assert_eq!(
        zero,
        0,
        "{zero} of {} rectangles have zero width",
        widths.len()
    );
    assert!(svg.contains(plot::TILE_SHADING), "no colour bar");

    // A 1 µs span on a 100 ms axis is 0.009 px wide: it is still drawn, at MIN_BAR_PX.
    let spans = [
        Span {
            worker: 0,
            id: 0,
            start_us: 0.0,
            duration_us: 1e5,
            label: "long".into(),
            work: 1.0,
        },
        Span {
            worker: 1,
            id: 1,
            start_us: 5e4,
            duration_us: 1.0,
            label: "tiny".into(),
            work: 0.0,
        },
    ];
    let svg = plot::spans_timeline("one tiny span", "worker", 2, &spans, None).unwrap();
    let widths = rect_widths(svg.as_svg());
    assert!(
        widths.iter().all(|w| *w >= plot::MIN_BAR_PX - 1.0),
        "{widths:?}"
    );
}

#[test]
fn a_timeline_is_titled_for_people() {
    let run = run(Strategy::Dynamic, 3);
    let svg = plot::timeline(&run).unwrap();
    let title = plot::run_title("dynamic", &run);
    assert!(title.starts_with("dynamic: 3 threads, ") && title.contains(" kernel, "));
    assert!(title.ends_with(" ms"), "{title}");
    assert!(svg.as_svg().contains(&title) && !svg.as_svg().contains("RenderRun("));
}

#[test]
fn a_tile_shades_by_iterations_per_pixel() {
    let run = run(Strategy::Sequential, 1);
    for r in &run.records {
        let span = Span::from(r);
        assert_eq!(span.work, r.iterations as f64 / r.pixels as f64);
        assert_eq!((span.worker, span.id), (r.thread_id, r.task_id));
        assert_eq!(span.end_us(), r.end_us());
    }
}

#[test]
fn timeline_has_a_bar_per_tile_and_a_row_per_thread() {
    let run = run(Strategy::Dynamic, 3);
    let svg = svg_file("timeline.svg", &plot::timeline(&run).unwrap());
    assert!(filled_rects(&svg) >= run.records.len());
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
    assert!(filled_rects(&svg) >= 2 * seq.records.len());
}

#[test]
fn spans_timeline_draws_arbitrary_lanes() {
    let spans: Vec<Span> = (0..6)
        .map(|i| Span {
            worker: i % 3,
            id: i,
            start_us: i as f64 * 1e4,
            duration_us: 5e4,
            label: format!("page {i}"),
            work: i as f64,
        })
        .collect();
    let svg = svg_file(
        "spans.svg",
        &plot::spans_timeline("downloads", "task", 3, &spans, None).unwrap(),
    );
    assert!(svg.contains("task 2") && !svg.contains("bar colour"));
    let shaded = plot::spans_timeline("calls", "task", 3, &spans, Some("bytes")).unwrap();
    assert!(shaded.as_svg().contains("bar colour: bytes"));
}

#[test]
fn speedup_curve_needs_a_one_thread_time() {
    let times = [(1, 2.0), (2, 1.05), (3, 1.0), (4, 0.98)];
    let svg = svg_file(
        "speedup.svg",
        &plot::speedup("fib(32), rayon::join", &times, Some(2.0)).unwrap(),
    );
    assert!(svg.contains("ideal") && svg.contains("measured") && svg.contains("limit"));
    let lines = [("predicted: 1 CPU", 1.0), ("measured now: 1.6", 1.6)];
    let svg = svg_file(
        "speedup_lines.svg",
        &plot::speedup_lines("two limits", &times, &lines).unwrap(),
    );
    assert!(svg.contains("predicted: 1 CPU") && svg.contains("measured now: 1.6"));
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

/// The `opacity` of every filled `<rect>` of an SVG document (1 where not set).
fn rect_opacities(svg: &str) -> Vec<f64> {
    svg.split("<rect")
        .skip(1)
        .map(|rect| &rect[..rect.find('>').unwrap()])
        .filter(|tag| !tag.contains("fill=\"none\""))
        .map(|tag| {
            tag.find(" opacity=\"").map_or(1.0, |i| {
                let rest = &tag[i + 10..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
        })
        .collect()
}

/// The colour of the hatch lines of a bar's waiting share.
const HATCH: &str = "stroke=\"#969696\"";

#[test]
fn a_tiles_cpu_time_is_spread_through_its_bar() {
    let mut run = run(Strategy::Dynamic, 3);
    assert!(
        run.records.iter().all(|r| r.cpu_us.is_some()),
        "a Unix thread has a CPU clock: every tile has a CPU time"
    );
    // The real run, to look at: pinned (`taskset -c 0 cargo test ...`) its bars are faded.
    let real = plot::compare_timelines_labelled(&[("dynamic", &run)], "a real run").unwrap();
    let svg = svg_file("timeline_cpu_share.svg", &real);
    assert!(svg.contains(plot::CPU_LEGEND) && svg.contains("a real run"));
    // Three threads taking turns on one CPU: each tile had a CPU a third of its time.
    for r in &mut run.records {
        r.cpu_us = Some(r.duration_us / 3.0);
    }
    let svg = plot::timeline(&run).unwrap().as_svg().to_string();
    let thirds = rect_opacities(&svg)
        .iter()
        .filter(|o| (**o - 0.333).abs() < 0.01)
        .count();
    // Every bar, and the legend's swatch of a bar that had a CPU a third of its time.
    assert_eq!(thirds, run.records.len() + 1, "every bar a third filled");
    assert!(svg.contains(HATCH), "the waiting share is hatched");
    // Without CPU times (records built by hand), bars are solid and nothing is explained.
    for r in &mut run.records {
        r.cpu_us = None;
    }
    let svg = plot::timeline(&run).unwrap().as_svg().to_string();
    assert!(!svg.contains(plot::CPU_LEGEND) && !svg.contains(HATCH));
    assert!(rect_opacities(&svg).iter().all(|o| *o == 1.0));
}
