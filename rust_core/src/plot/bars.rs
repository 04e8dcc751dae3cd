//! Speedup curves and grouped bars.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{drawing, palette, Chart};
use crate::error::{Error, Result};

const SIZE: (u32, u32) = (720, 440);

/// Speedup against thread count from measured times `(threads, seconds)`, next to the
/// ideal line (speedup = threads) and, given `ceiling`, the machine's limit (its effective
/// parallelism). The speedup at k threads is t(1)/t(k); a 1-thread time is required.
pub fn speedup(title: &str, times: &[(usize, f64)], ceiling: Option<f64>) -> Result<Chart> {
    let label = ceiling.map(|c| format!("this machine's limit: {c}"));
    let limits: Vec<(&str, f64)> = label.as_deref().zip(ceiling).into_iter().collect();
    speedup_lines(title, times, &limits)
}

/// [`speedup`] with any number of named horizontal lines, e.g. the limit the hardware card
/// predicts and the capacity measured now (`workloads::capacity`).
pub fn speedup_lines(title: &str, times: &[(usize, f64)], limits: &[(&str, f64)]) -> Result<Chart> {
    let base = times
        .iter()
        .find(|(k, _)| *k == 1)
        .map(|(_, t)| *t)
        .filter(|t| *t > 0.0)
        .ok_or_else(|| Error::invalid("times", "needs a positive time at 1 thread"))?;
    let mut points: Vec<(f64, f64)> = times
        .iter()
        .filter(|(_, t)| *t > 0.0)
        .map(|(k, t)| (*k as f64, base / t))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let max_threads = points.last().map_or(1.0, |p| p.0).max(2.0);
    let y_max = points
        .iter()
        .map(|p| p.1)
        .chain(limits.iter().map(|l| l.1))
        .fold(max_threads, f64::max)
        * 1.1;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0.5..max_threads + 0.5, 0.0..y_max)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_labels(max_threads as usize + 1)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("threads")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .light_line_style(WHITE.mix(0.0))
            .y_desc("speedup over 1 thread")
            .draw()
            .map_err(drawing)?;
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(DashedLineSeries::new(
                [(1.0, 1.0), (max_threads, max_threads)],
                6,
                4,
                grey.stroke_width(2),
            ))
            .map_err(drawing)?
            .label("ideal: speedup = threads")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], grey.stroke_width(2)));
        for (i, &(name, c)) in limits.iter().enumerate() {
            let color = palette([5, 3, 2][i % 3]);
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.5, c), (max_threads + 0.5, c)],
                    3,
                    3,
                    color.stroke_width(2),
                ))
                .map_err(drawing)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        let blue = palette(0);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                blue.stroke_width(3),
            ))
            .map_err(drawing)?
            .label("measured")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], blue.stroke_width(3)));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 5, blue.filled())))
            .map_err(drawing)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(drawing)?;
        root.present().map_err(drawing)?;
    }
    Ok(Chart { svg })
}

/// Grouped bars: one group per entry of `groups` (e.g. modes), one bar per series in each
/// group (e.g. workloads), every series giving one value per group.
pub fn grouped_bars(
    title: &str,
    y_desc: &str,
    groups: &[&str],
    series: &[(&str, Vec<f64>)],
) -> Result<Chart> {
    if groups.is_empty() || series.iter().any(|(_, v)| v.len() != groups.len()) {
        return Err(Error::invalid(
            "series",
            "every series needs exactly one value per group",
        ));
    }
    let y_max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.3;
    let n = groups.len() as f64;
    let width = 0.8 / series.len().max(1) as f64;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n, 0.0..y_max)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(y_desc)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(drawing)?;
        for (s, (name, values)) in series.iter().enumerate() {
            let color = palette(s);
            chart
                .draw_series(values.iter().enumerate().map(|(g, &v)| {
                    let x0 = g as f64 + 0.1 + s as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width, v.max(0.0))], color.filled())
                }))
                .map_err(drawing)?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled())
                });
            chart
                .draw_series(values.iter().enumerate().map(|(g, &v)| {
                    let x = g as f64 + 0.1 + (s as f64 + 0.5) * width;
                    Text::new(
                        short(v),
                        (x, v.max(0.0)),
                        ("sans-serif", 12)
                            .into_font()
                            .color(&BLACK)
                            .pos(Pos::new(HPos::Center, VPos::Bottom)),
                    )
                }))
                .map_err(drawing)?;
        }
        // The group names under the axis, centred on their groups.
        let label_style = ("sans-serif", 15)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        for (g, name) in groups.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
            root.draw(&Text::new(
                name.to_string(),
                (x, y + 8),
                label_style.clone(),
            ))
            .map_err(drawing)?;
        }
        if series.len() > 1 || !series[0].0.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .draw()
                .map_err(drawing)?;
        }
        root.present().map_err(drawing)?;
    }
    Ok(Chart { svg })
}

/// A bar's value with three significant digits at most: 227, 9.5, 1.92.
fn short(v: f64) -> String {
    let text = match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}
