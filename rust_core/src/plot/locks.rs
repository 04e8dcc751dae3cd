//! The lock timeline of the shared-data lesson: per thread, working, waiting and holding.

use plotters::prelude::*;

use super::gantt::Lanes;
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
    let rows = run.threads.max(1) as u32;
    let end_ms = (run.elapsed_us / 1e3).max(1e-3) * 1.02;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 150 + 34 * rows)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let (legend, body) = root.split_vertically(30);
        draw_legend(&legend)?;
        let Lanes { mut chart, rows } = Lanes::new(&body, title, end_ms, run.threads, "thread")?;
        for activity in [Activity::Work, Activity::Wait, Activity::Hold] {
            chart
                .draw_series(
                    (run.spans.iter())
                        .filter(|s| s.activity == activity)
                        .map(|s| {
                            let (x0, x1) = (s.start_us / 1e3, s.end_us() / 1e3);
                            let rect = rows.bar(s.thread_id, x0, x1, 0.15);
                            Rectangle::new(rect, color(activity).filled())
                        }),
                )
                .map_err(drawing)?;
        }
        // A timed-out wait ends in a black mark: there the thread gave up and let go.
        chart
            .draw_series(run.spans.iter().filter(|s| s.timed_out).map(|s| {
                let x = s.end_us() / 1e3;
                let rect = rows.bar(s.thread_id, x - end_ms / 300.0, x, 0.1);
                Rectangle::new(rect, BLACK.filled())
            }))
            .map_err(drawing)?;
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
