//! Timelines (Gantt charts): one row per worker, one bar per [`Span`].
//!
//! Every bar is drawn at least [`MIN_BAR_PX`] pixels wide: plotters rounds to whole
//! pixels, and a tile shorter than a pixel would otherwise vanish, its gap reading as
//! idle time. Bars are shaded by their work (for tiles: mean iterations per pixel) on one
//! scale for every panel, explained by a colour bar under the chart.
//!
//! A bar whose CPU time is known (a tile's `cpu_us`) has it spread through it: the bar is
//! hatched grey all along (waiting) under its colour at an opacity equal to its CPU share,
//! `cpu_us / duration_us`. Three threads taking turns on one CPU then draw three faded
//! bars, not three solid ones that would read as running in parallel. A line under the
//! chart says so.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{drawing, palette, Chart};
use crate::error::Result;
use crate::render::RenderRun;
use crate::timeline::Span;

const WIDTH: u32 = 900;
const ROW_HEIGHT: u32 = 30;
const FRAME_HEIGHT: u32 = 100;
const COLOR_BAR_HEIGHT: u32 = 56;
/// The line under the chart that explains a bar's fill, and the label line over it.
const LEGEND_HEIGHT: u32 = 30;
const LABEL_HEIGHT: u32 = 28;
/// Pixels between the hatch lines of a bar's waiting share.
const HATCH_PX: f64 = 6.0;
/// How a bar's waiting share is drawn: a light grey, hatched darker (`#969696`).
const WAIT_FILL: RGBColor = RGBColor(238, 238, 238);
const WAIT_HATCH: RGBColor = RGBColor(150, 150, 150);
/// What the fill of a bar with a CPU time means (the legend line).
pub const CPU_LEGEND: &str = "faded, hatched: waiting for a CPU (fill = CPU time / wall time)";
/// The narrowest bar drawn, in pixels: a sub-pixel tile still shows as a thin line.
pub const MIN_BAR_PX: f64 = 2.0;
/// Bars at least this wide get a white hairline edge, so that neighbours stay apart;
/// narrower ones would be all edge.
const EDGE_MIN_PX: f64 = 5.0;
/// What a tile's shade measures.
pub const TILE_SHADING: &str = "mean iterations per pixel of the tile";

/// The timeline of one run: a row per thread, a bar per tile, darker for harder pixels.
/// Titled with the strategy, threads, kernel, tiles and elapsed time.
pub fn timeline(run: &RenderRun) -> Result<Chart> {
    compare_timelines(&[(run.strategy.name(), run)])
}

/// Several runs' timelines stacked on one time axis and one colour scale, so that their
/// lengths and shades compare. Each panel's title starts with its `name`.
/// Each tile's CPU share is spread through its bar (see the module's documentation).
pub fn compare_timelines(runs: &[(&str, &RenderRun)]) -> Result<Chart> {
    draw(&tile_panels(runs), Some(TILE_SHADING), None)
}

/// [`compare_timelines`] under a `label` line saying under what conditions the times were
/// taken, e.g. `"1.4 of 2 CPUs free during these runs"`; one run: `&[("dynamic", &run)]`.
pub fn compare_timelines_labelled(runs: &[(&str, &RenderRun)], label: &str) -> Result<Chart> {
    draw(&tile_panels(runs), Some(TILE_SHADING), Some(label))
}

fn tile_panels(runs: &[(&str, &RenderRun)]) -> Vec<Panel> {
    runs.iter()
        .map(|(name, run)| Panel {
            title: run_title(name, run),
            lane_name: "thread".to_string(),
            lanes: run.threads,
            bars: run
                .records
                .iter()
                .map(|r| Bar {
                    span: Span::from(r),
                    cpu_share: r.cpu_share(),
                })
                .collect(),
            end_us: run.elapsed_us,
        })
        .collect()
}

/// `"dynamic: 2 threads, scalar kernel, 192/192 tiles in 231.4 ms"`: what a reader needs
/// to read a panel, in words.
pub fn run_title(name: &str, run: &RenderRun) -> String {
    let threads = match run.threads {
        1 => "1 thread".to_string(),
        n => format!("{n} threads"),
    };
    let limited = if run.time_limited {
        ", time limit hit"
    } else {
        ""
    };
    format!(
        "{name}: {threads}, {} kernel, {}/{} tiles in {:.1} ms{limited}",
        run.kernel.name(),
        run.completed_tiles(),
        run.total_tiles,
        run.elapsed_us / 1e3
    )
}

/// A timeline of arbitrary spans (downloads, calls): `lanes` rows named `lane_name 0..`.
/// With `shading` (the name of what a span's `work` measures) bars are shaded by work
/// under a colour bar; without it each row has its own colour.
pub fn spans_timeline(
    title: &str,
    lane_name: &str,
    lanes: usize,
    spans: &[Span],
    shading: Option<&str>,
) -> Result<Chart> {
    let panel = Panel {
        title: title.to_string(),
        lane_name: lane_name.to_string(),
        lanes: lanes.max(spans.iter().map(|s| s.worker + 1).max().unwrap_or(1)),
        bars: spans
            .iter()
            .map(|s| Bar {
                span: s.clone(),
                cpu_share: None,
            })
            .collect(),
        end_us: spans.iter().map(Span::end_us).fold(0.0, f64::max),
    };
    draw(&[panel], shading, None)
}

struct Panel {
    title: String,
    lane_name: String,
    lanes: usize,
    bars: Vec<Bar>,
    end_us: f64,
}

/// A span and the share of it its worker was on a CPU (0..=1), if known.
struct Bar {
    span: Span,
    cpu_share: Option<f64>,
}

fn draw(panels: &[Panel], shading: Option<&str>, label: Option<&str>) -> Result<Chart> {
    let spans = || panels.iter().flat_map(|p| p.bars.iter().map(|b| &b.span));
    let end_us = spans()
        .map(Span::end_us)
        .chain(panels.iter().map(|p| p.end_us))
        .fold(0.0, f64::max);
    let max_work = spans().map(|s| s.work).fold(0.0, f64::max);
    let cpu_known = panels
        .iter()
        .any(|p| p.bars.iter().any(|b| b.cpu_share.is_some()));
    // Shade only when asked and there is something to shade by.
    let scale = shading
        .filter(|_| max_work > 0.0)
        .map(|name| (name, max_work));
    let heights: Vec<u32> = panels
        .iter()
        .map(|p| FRAME_HEIGHT + ROW_HEIGHT * p.lanes.max(1) as u32)
        .collect();
    let bar_height = if scale.is_some() { COLOR_BAR_HEIGHT } else { 0 };
    let legend_height = if cpu_known { LEGEND_HEIGHT } else { 0 };
    let label_height = if label.is_some() { LABEL_HEIGHT } else { 0 };
    let mut svg = String::new();
    {
        let total = label_height + heights.iter().sum::<u32>() + bar_height + legend_height;
        let root = SVGBackend::with_string(&mut svg, (WIDTH, total)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let (top, mut rest) = root.split_vertically(label_height);
        if let Some(label) = label {
            let style = ("sans-serif", 16)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center));
            top.draw(&Text::new(label, (WIDTH as i32 / 2, 16), style))
                .map_err(drawing)?;
        }
        for (panel, height) in panels.iter().zip(&heights) {
            let (area, below) = rest.split_vertically(*height);
            draw_panel(&area, panel, end_us, scale.map(|s| s.1))?;
            rest = below;
        }
        if cpu_known {
            let (area, below) = rest.split_vertically(legend_height);
            cpu_legend(&area)?;
            rest = below;
        }
        if let Some((name, max)) = scale {
            color_bar(&rest, name, max)?;
        }
        root.present().map_err(drawing)?;
    }
    Ok(Chart { svg })
}

/// A chart of `lanes` rows over 0..`end_ms`, lane 0 on top, with its time axis and a name
/// per row (`"thread 0"`, …). Bars placed with [`Lanes::bar`] are at least [`MIN_BAR_PX`]
/// wide. Both timelines (tiles and spans here, locks in `locks.rs`) draw on one.
pub(super) struct Lanes<'a, 'b> {
    pub chart: ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    pub rows: Rows,
}

/// Where the bars of a [`Lanes`] chart go (a copy, so that it can place bars while the
/// chart draws them).
#[derive(Debug, Clone, Copy)]
pub(super) struct Rows {
    lanes: usize,
    /// Milliseconds per pixel of the plotting area.
    ms_per_px: f64,
    /// Pixels per lane (the height of a row).
    px_per_lane: f64,
}

impl<'a, 'b> Lanes<'a, 'b> {
    pub fn new(
        area: &'a DrawingArea<SVGBackend<'b>, Shift>,
        title: &str,
        end_ms: f64,
        lanes: usize,
        lane_name: &str,
    ) -> Result<Self> {
        let lanes = lanes.max(1);
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(42)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..end_ms, 0.0..lanes as f64)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("time since the start (ms)")
            .x_label_formatter(&|ms| short_ms(*ms))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(drawing)?;
        let (plot_w, plot_h) = chart.plotting_area().dim_in_pixel();
        let rows = Rows {
            lanes,
            ms_per_px: end_ms / plot_w.max(1) as f64,
            px_per_lane: plot_h as f64 / lanes as f64,
        };
        let label_style = ("sans-serif", 14)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for lane in 0..lanes {
            // backend_coord is in pixels of the whole image; `area` counts from its own corner.
            let (x, y) = chart.backend_coord(&(0.0, rows.row(lane) + 0.5));
            let (x0, y0) = area.get_base_pixel();
            area.draw(&Text::new(
                format!("{lane_name} {lane}"),
                (x - x0 - 8, y - y0),
                label_style.clone(),
            ))
            .map_err(drawing)?;
        }
        Ok(Self { chart, rows })
    }
}

impl Rows {
    /// The bottom of `lane`'s band [row, row + 1) on the y axis.
    pub fn row(&self, lane: usize) -> f64 {
        (self.lanes - 1 - lane.min(self.lanes - 1)) as f64
    }

    /// A bar from `x0` to `x1` ms in `lane`, `inset` from the band's edges, widened to
    /// [`MIN_BAR_PX`] if shorter.
    pub fn bar(&self, lane: usize, x0: f64, x1: f64, inset: f64) -> [(f64, f64); 2] {
        let y = self.row(lane);
        let x1 = x1.max(x0 + MIN_BAR_PX * self.ms_per_px);
        [(x0, y + inset), (x1, y + 1.0 - inset)]
    }

    /// How many pixels `ms` milliseconds cover.
    pub fn px(&self, ms: f64) -> f64 {
        ms / self.ms_per_px
    }

    /// Lines at 45° every [`HATCH_PX`] pixels across the bar `[(x0, y0), (x1, y1)]`, each
    /// cut to the bar.
    pub fn hatch(&self, [(x0, y0), (x1, y1)]: [(f64, f64); 2]) -> Vec<[(f64, f64); 2]> {
        // In pixels a line rises as much as it runs: over the bar's height h px it runs
        // h px, i.e. `run` ms.
        let run = (y1 - y0) * self.px_per_lane * self.ms_per_px;
        let step = HATCH_PX * self.ms_per_px;
        if run <= 0.0 || step <= 0.0 {
            return Vec::new();
        }
        let y_at = |start: f64, x: f64| y0 + (x - start) / run * (y1 - y0);
        let mut lines = Vec::new();
        let mut start = x0 - run + step;
        while start < x1 {
            let (a, b) = (start.max(x0), (start + run).min(x1));
            if b > a {
                lines.push([(a, y_at(start, a)), (b, y_at(start, b))]);
            }
            start += step;
        }
        lines
    }
}

fn draw_panel(
    area: &DrawingArea<SVGBackend, Shift>,
    panel: &Panel,
    end_us: f64,
    max_work: Option<f64>,
) -> Result<()> {
    let end_ms = (end_us / 1e3).max(1e-3) * 1.02;
    let Lanes { mut chart, rows } =
        Lanes::new(area, &panel.title, end_ms, panel.lanes, &panel.lane_name)?;
    let bar = |s: &Span| rows.bar(s.worker, s.start_us / 1e3, s.end_us() / 1e3, 0.12);
    // A bar with a CPU share: hatched waiting all along, under its colour at that opacity.
    let timed = || panel.bars.iter().filter(|b| b.cpu_share.is_some());
    chart
        .draw_series(timed().map(|b| Rectangle::new(bar(&b.span), WAIT_FILL.filled())))
        .map_err(drawing)?;
    let hatch = ShapeStyle {
        color: WAIT_HATCH.to_rgba(),
        filled: false,
        stroke_width: 1,
    };
    chart
        .draw_series(
            timed()
                .filter(|b| b.cpu_share.is_some_and(|share| share < 0.95))
                .flat_map(|b| rows.hatch(bar(&b.span)))
                .map(|line| PathElement::new(line.to_vec(), hatch)),
        )
        .map_err(drawing)?;
    chart
        .draw_series(panel.bars.iter().map(|b| {
            let s = &b.span;
            let color = match max_work {
                Some(max) => work_color(s.work / max),
                None => palette(s.worker),
            };
            Rectangle::new(bar(s), color.mix(b.cpu_share.unwrap_or(1.0)).filled())
        }))
        .map_err(drawing)?;
    // A hairline between wide bars, so that neighbouring tiles of one thread stay apart.
    let edge = ShapeStyle {
        color: WHITE.mix(0.8),
        filled: false,
        stroke_width: 1,
    };
    let wide = |s: &&Span| rows.px(s.duration_us / 1e3) >= EDGE_MIN_PX;
    chart
        .draw_series(
            panel
                .bars
                .iter()
                .map(|b| &b.span)
                .filter(wide)
                .map(|s| Rectangle::new(bar(s), edge)),
        )
        .map_err(drawing)?;
    Ok(())
}

/// The line that explains a bar's fill: a solid swatch ("computing"), a faded and
/// hatched one (a bar that had a CPU a third of its time), and [`CPU_LEGEND`].
fn cpu_legend(area: &DrawingArea<SVGBackend, Shift>) -> Result<()> {
    let text = ("sans-serif", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (top, bottom, y) = (6, 22, 14);
    let grey = RGBColor(90, 90, 90);
    area.draw(&Rectangle::new([(90, top), (114, bottom)], grey.filled()))
        .map_err(drawing)?;
    area.draw(&Text::new("solid: computing", (120, y), text.clone()))
        .map_err(drawing)?;
    let faded = [(270, top), (294, bottom)];
    area.draw(&Rectangle::new(faded, WAIT_FILL.filled()))
        .map_err(drawing)?;
    for x in (266..294).step_by(HATCH_PX as usize) {
        // 45° lines cut to the swatch: from (x, bottom) up to the right.
        let (a, b) = (x.max(270), (x + bottom - top).min(294));
        let line = [(a, bottom - (a - x)), (b, bottom - (b - x))];
        area.draw(&PathElement::new(line.to_vec(), WAIT_HATCH))
            .map_err(drawing)?;
    }
    area.draw(&Rectangle::new(faded, grey.mix(1.0 / 3.0).filled()))
        .map_err(drawing)?;
    area.draw(&Text::new(CPU_LEGEND, (300, y), text))
        .map_err(drawing)?;
    Ok(())
}

/// The colour bar under the chart: the shading from no work to `max`, named.
fn color_bar(area: &DrawingArea<SVGBackend, Shift>, name: &str, max: f64) -> Result<()> {
    const STEPS: i32 = 60;
    const STEP_PX: i32 = 5;
    let (left, top) = (90, 8);
    for i in 0..STEPS {
        let x = left + i * STEP_PX;
        let color = work_color((f64::from(i) + 0.5) / f64::from(STEPS));
        area.draw(&Rectangle::new(
            [(x, top), (x + STEP_PX, top + 16)],
            color.filled(),
        ))
        .map_err(drawing)?;
    }
    let right = left + STEPS * STEP_PX;
    let small = ("sans-serif", 13).into_font().color(&BLACK);
    let at = |h| small.clone().pos(Pos::new(h, VPos::Top));
    area.draw(&Text::new("0", (left, top + 20), at(HPos::Center)))
        .map_err(drawing)?;
    area.draw(&Text::new(
        format!("{max:.0}"),
        (right, top + 20),
        at(HPos::Center),
    ))
    .map_err(drawing)?;
    area.draw(&Text::new(
        format!("bar colour: {name}"),
        (right + 16, top + 8),
        ("sans-serif", 14)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))
    .map_err(drawing)?;
    Ok(())
}

/// A tick label: "250" rather than "250.0", but "0.5" stays.
fn short_ms(ms: f64) -> String {
    let text = format!("{ms:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_string)
}

/// Light yellow for little work, dark red for the most: the tiles through the set stand out.
pub(crate) fn work_color(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(254.0, 150.0), lerp(217.0, 10.0), lerp(118.0, 40.0))
}
