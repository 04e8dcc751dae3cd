//! Timelines (Gantt charts): one row per worker, one bar per [`Span`].
//!
//! Every bar is drawn at least [`MIN_BAR_PX`] pixels wide: plotters rounds to whole
//! pixels, and a tile shorter than a pixel would otherwise vanish, its gap reading as
//! idle time. Bars are shaded by their work (for tiles: mean iterations per pixel) on one
//! scale for every panel, explained by a colour bar under the chart.

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
pub fn compare_timelines(runs: &[(&str, &RenderRun)]) -> Result<Chart> {
    let panels: Vec<Panel> = runs
        .iter()
        .map(|(name, run)| Panel {
            title: run_title(name, run),
            lane_name: "thread".to_string(),
            lanes: run.threads,
            spans: run.records.iter().map(Span::from).collect(),
            end_us: run.elapsed_us,
        })
        .collect();
    draw(&panels, Some(TILE_SHADING))
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
        spans: spans.to_vec(),
        end_us: spans.iter().map(Span::end_us).fold(0.0, f64::max),
    };
    draw(&[panel], shading)
}

struct Panel {
    title: String,
    lane_name: String,
    lanes: usize,
    spans: Vec<Span>,
    end_us: f64,
}

fn draw(panels: &[Panel], shading: Option<&str>) -> Result<Chart> {
    let end_us = panels
        .iter()
        .flat_map(|p| p.spans.iter().map(Span::end_us).chain([p.end_us]))
        .fold(0.0, f64::max);
    let max_work = panels
        .iter()
        .flat_map(|p| p.spans.iter().map(|s| s.work))
        .fold(0.0, f64::max);
    // Shade only when asked and there is something to shade by.
    let scale = shading
        .filter(|_| max_work > 0.0)
        .map(|name| (name, max_work));
    let heights: Vec<u32> = panels
        .iter()
        .map(|p| FRAME_HEIGHT + ROW_HEIGHT * p.lanes.max(1) as u32)
        .collect();
    let bar_height = if scale.is_some() { COLOR_BAR_HEIGHT } else { 0 };
    let mut svg = String::new();
    {
        let total = heights.iter().sum::<u32>() + bar_height;
        let root = SVGBackend::with_string(&mut svg, (WIDTH, total)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let mut rest = root.clone();
        for (panel, height) in panels.iter().zip(&heights) {
            let (area, below) = rest.split_vertically(*height);
            draw_panel(&area, panel, end_us, scale.map(|s| s.1))?;
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
        let plot_px = chart.plotting_area().dim_in_pixel().0.max(1) as f64;
        let rows = Rows {
            lanes,
            ms_per_px: end_ms / plot_px,
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
    chart
        .draw_series(panel.spans.iter().map(|s| {
            let color = match max_work {
                Some(max) => work_color(s.work / max),
                None => palette(s.worker),
            };
            Rectangle::new(bar(s), color.filled())
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
                .spans
                .iter()
                .filter(wide)
                .map(|s| Rectangle::new(bar(s), edge)),
        )
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
