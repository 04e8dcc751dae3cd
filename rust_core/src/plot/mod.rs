//! Charts for the Rust notebooks (feature `plot`): per-thread timelines, speedup curves,
//! grouped bars and the Mandelbrot image.
//!
//! Every chart is drawn into an SVG string ([`Chart`]) and the image into PNG bytes
//! ([`Png`]); both can be saved to a file and are shown inline by the evcxr Jupyter kernel
//! when they are the last value of a cell:
//!
//! ```no_run
//! # fn main() -> parlab_core::Result<()> {
//! use parlab_core::{plot, render, RenderConfig};
//! let run = render(&RenderConfig::default())?;
//! plot::timeline(&run)?.save("timeline.svg")?;
//! plot::mandelbrot(&run)?.save("mandelbrot.png")?;
//! # Ok(())
//! # }
//! ```
//!
//! Only plotters' SVG backend is used, so no font rasteriser or image codec stack is
//! compiled: a cold first notebook cell stays quick.

use std::fmt::Display;
use std::path::Path;

use base64::Engine as _;

use crate::display::evcxr_show;
use crate::error::{Error, Result};

mod bars;
mod gantt;
mod image;
mod locks;

pub use crate::timeline::Span;
pub use bars::{grouped_bars, speedup, speedup_lines};
pub use gantt::{
    compare_timelines, compare_timelines_labelled, run_title, spans_timeline, timeline, CPU_LEGEND,
    MIN_BAR_PX, TILE_SHADING,
};
pub use image::{color_of, mandelbrot};
pub use locks::lock_timeline;

/// An SVG chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    svg: String,
}

impl Chart {
    /// The SVG document.
    pub fn as_svg(&self) -> &str {
        &self.svg
    }

    /// Writes the SVG document to `path` (conventionally `*.svg`).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write(path.as_ref(), self.svg.as_bytes())
    }

    /// Shows the chart as the output of an evcxr cell.
    pub fn evcxr_display(&self) {
        evcxr_show("image/svg+xml", &self.svg);
    }
}

/// A PNG image.
#[derive(Debug, Clone, PartialEq)]
pub struct Png {
    pub width: usize,
    pub height: usize,
    bytes: Vec<u8>,
}

impl Png {
    /// The encoded PNG file.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write(path.as_ref(), &self.bytes)
    }

    /// Shows the image as the output of an evcxr cell (base64, as Jupyter expects).
    pub fn evcxr_display(&self) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&self.bytes);
        evcxr_show("image/png", &encoded);
    }
}

/// Colours for series and lanes (colour-blind friendly, Okabe–Ito).
pub(crate) const PALETTE: [(u8, u8, u8); 7] = [
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
    (240, 228, 66),
];

pub(crate) fn palette(i: usize) -> plotters::style::RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    plotters::style::RGBColor(r, g, b)
}

/// Turns a drawing error into the core's error.
pub(crate) fn drawing(e: impl Display) -> Error {
    Error::Output(format!("could not draw the chart: {e}"))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes)
        .map_err(|e| Error::Output(format!("could not write {}: {e}", path.display())))
}
