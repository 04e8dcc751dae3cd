//! The lock timeline of the shared-data lesson: per thread, working, waiting and holding.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{drawing, Chart};
use crate::error::Result;
use crate::shared::{Activity, LockRun};

/// Grey for work, orange-red for waiting, blue for holding (Okabe–Ito, as the Python plot).
fn color(activity: Activity) -> RGBColor {
    match activity {
        Activity::Work => RGBColor(184, 184, 184),
        Activity::Wait => RGBColor(213, 94, 0),
        Activity::Hold => RGBColor(0, 114, 178),
    }
}

/// One row per thread: grey work, orange-red waiting for a lock, blue holding it. A wait
/// that gave up (timed out) ends in a black bar; a row above the chart names the colours.
pub fn lock_timeline(title: &str, run: &LockRun) -> Result<Chart> {
    let lanes = run.threads.max(1);
    let end_ms = (run.elapsed_us / 1e3).max(1e-3) * 1.02;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (900, 150 + 34 * lanes as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let (legend, body) = root.split_vertically(30);
        draw_legend(&legend)?;
        let mut chart = ChartBuilder::on(&body)
            .caption(title, ("sans-serif", 20))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..end_ms, 0.0..lanes as f64)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("time since the start (ms)")
            .label_style(("sans-serif", 14))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(drawing)?;
        let row = |lane: usize| (lanes - 1 - lane.min(lanes - 1)) as f64;
        for activity in [Activity::Work, Activity::Wait, Activity::Hold] {
            chart
                .draw_series(
                    run.spans
                        .iter()
                        .filter(|s| s.activity == activity)
                        .map(|s| {
                            let (x0, x1) = (s.start_us / 1e3, s.end_us() / 1e3);
                            let y = row(s.thread_id);
                            Rectangle::new(
                                [(x0, y + 0.15), (x1, y + 0.85)],
                                color(activity).filled(),
                            )
                        }),
                )
                .map_err(drawing)?;
        }
        // A timed-out wait ends in a black mark: there the thread gave up and let go.
        chart
            .draw_series(run.spans.iter().filter(|s| s.timed_out).map(|s| {
                let (x, y) = (s.end_us() / 1e3, row(s.thread_id));
                Rectangle::new(
                    [(x - end_ms / 300.0, y + 0.1), (x, y + 0.9)],
                    BLACK.filled(),
                )
            }))
            .map_err(drawing)?;
        let style = ("sans-serif", 14)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for lane in 0..lanes {
            let (x, y) = chart.backend_coord(&(0.0, row(lane) + 0.5));
            root.draw(&Text::new(
                format!("thread {lane}"),
                (x - 8, y),
                style.clone(),
            ))
            .map_err(drawing)?;
        }
        root.present().map_err(drawing)?;
    }
    Ok(Chart { svg })
}

/// The colours' names in a row above the chart, where they cover no bar.
fn draw_legend(area: &DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<()> {
    let items = [
        ("work", color(Activity::Work)),
        ("waiting for a lock", color(Activity::Wait)),
        ("holding it", color(Activity::Hold)),
        ("gave up (timeout)", BLACK),
    ];
    let mut x = 90;
    for (name, fill) in items {
        area.draw(&Rectangle::new([(x, 10), (x + 14, 24)], fill.filled()))
            .map_err(drawing)?;
        area.draw(&Text::new(name, (x + 20, 10), ("sans-serif", 14)))
            .map_err(drawing)?;
        x += 40 + 8 * name.len() as i32;
    }
    Ok(())
}
