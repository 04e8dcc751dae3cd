//! Timelines (Gantt charts): one row per thread, one bar per task.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{drawing, palette, Chart, Span};
use crate::error::Result;
use crate::render::RenderRun;

const WIDTH: u32 = 900;
const ROW_HEIGHT: u32 = 30;
const FRAME_HEIGHT: u32 = 90;

/// The timeline of one run: a row per thread, a bar per tile, darker for more iterations.
pub fn timeline(run: &RenderRun) -> Result<Chart> {
    compare_timelines(&[(&run.to_string(), run)])
}

/// Several runs' timelines stacked on one time axis, so that their lengths compare.
pub fn compare_timelines(runs: &[(&str, &RenderRun)]) -> Result<Chart> {
    let end_us = runs.iter().map(|(_, r)| r.elapsed_us).fold(0.0, f64::max);
    let max_weight = runs
        .iter()
        .flat_map(|(_, r)| r.records.iter().map(|t| t.iterations as f64))
        .fold(0.0, f64::max);
    let panels: Vec<Panel> = runs
        .iter()
        .map(|(title, run)| Panel {
            title: title.to_string(),
            lane_name: "thread".to_string(),
            lanes: run.threads,
            spans: run.records.iter().map(Span::from).collect(),
        })
        .collect();
    draw(&panels, end_us, max_weight)
}

/// A timeline of arbitrary spans (downloads, tasks): `lanes` rows named `lane_name 0..`.
pub fn spans_timeline(title: &str, lane_name: &str, lanes: usize, spans: &[Span]) -> Result<Chart> {
    let end_us = spans
        .iter()
        .map(|s| s.start_us + s.duration_us)
        .fold(0.0, f64::max);
    let max_weight = spans.iter().map(|s| s.weight).fold(0.0, f64::max);
    let lanes = lanes.max(spans.iter().map(|s| s.lane + 1).max().unwrap_or(1));
    let panel = Panel {
        title: title.to_string(),
        lane_name: lane_name.to_string(),
        lanes,
        spans: spans.to_vec(),
    };
    draw(&[panel], end_us, max_weight)
}

struct Panel {
    title: String,
    lane_name: String,
    lanes: usize,
    spans: Vec<Span>,
}

fn draw(panels: &[Panel], end_us: f64, max_weight: f64) -> Result<Chart> {
    let heights: Vec<u32> = panels
        .iter()
        .map(|p| FRAME_HEIGHT + ROW_HEIGHT * p.lanes.max(1) as u32)
        .collect();
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (WIDTH, heights.iter().sum())).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let mut rest = root.clone();
        for (panel, height) in panels.iter().zip(&heights) {
            let (area, below) = rest.split_vertically(*height);
            draw_panel(&area, panel, end_us, max_weight)?;
            rest = below;
        }
        root.present().map_err(drawing)?;
    }
    Ok(Chart { svg })
}

fn draw_panel(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    panel: &Panel,
    end_us: f64,
    max_weight: f64,
) -> Result<()> {
    let lanes = panel.lanes.max(1);
    let end_ms = (end_us / 1e3).max(1e-3) * 1.02;
    let label_style = ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(8)
        .x_label_area_size(32)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..end_ms, 0.0..lanes as f64)
        .map_err(drawing)?;
    // Lane 0 is drawn at the top, in the band [row, row + 1) of the y axis.
    let row = |lane: usize| (lanes - 1 - lane.min(lanes - 1)) as f64;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("time since the start (ms)")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(drawing)?;
    chart
        .draw_series(panel.spans.iter().map(|s| {
            let color = if max_weight > 0.0 {
                work_color(s.weight / max_weight)
            } else {
                palette(s.lane)
            };
            let (x0, x1) = (s.start_us / 1e3, (s.start_us + s.duration_us) / 1e3);
            Rectangle::new(
                [(x0, row(s.lane) + 0.12), (x1, row(s.lane) + 0.88)],
                color.filled(),
            )
        }))
        .map_err(drawing)?;
    for lane in 0..lanes {
        // backend_coord is in pixels of the whole image; `area` counts from its own corner.
        let (x, y) = chart.backend_coord(&(0.0, row(lane) + 0.5));
        let (x0, y0) = area.get_base_pixel();
        area.draw(&Text::new(
            format!("{} {lane}", panel.lane_name),
            (x - x0 - 8, y - y0),
            label_style.clone(),
        ))
        .map_err(drawing)?;
    }
    // A hairline between bars, so that neighbouring tiles of one thread stay apart.
    let edge = ShapeStyle {
        color: WHITE.mix(0.8),
        filled: false,
        stroke_width: 1,
    };
    chart
        .draw_series(panel.spans.iter().map(|s| {
            let (x0, x1) = (s.start_us / 1e3, (s.start_us + s.duration_us) / 1e3);
            Rectangle::new([(x0, row(s.lane) + 0.12), (x1, row(s.lane) + 0.88)], edge)
        }))
        .map_err(drawing)?;
    Ok(())
}

/// Light yellow for little work, dark red for the most: the tiles through the set stand out.
fn work_color(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(254.0, 150.0), lerp(217.0, 10.0), lerp(118.0, 40.0))
}
