//! The Mandelbrot image as a PNG: escape counts turned into colours.

use super::Png;
use crate::error::{Error, Result};
use crate::render::RenderRun;

/// The colour of a pixel with escape count `count` out of `max_iter`: black for the fast
/// escapes, through blue and orange to cream for the slowest ones; the set itself (never
/// escaped) is dark. Count 0 means "not rendered" (a time-limited run): mid grey.
pub fn color_of(count: u32, max_iter: u32) -> [u8; 3] {
    if count == 0 {
        return [128, 128, 128];
    }
    if count >= max_iter {
        return [20, 12, 40];
    }
    // Counts cluster near 1: a log scale spreads the interesting ones out.
    let t = ((count as f64).ln() / (max_iter as f64).ln()).clamp(0.0, 1.0);
    const STOPS: [(f64, [f64; 3]); 4] = [
        (0.0, [0.0, 7.0, 100.0]),
        (0.35, [32.0, 107.0, 203.0]),
        (0.7, [255.0, 170.0, 0.0]),
        (1.0, [255.0, 250.0, 220.0]),
    ];
    let i = STOPS
        .iter()
        .rposition(|(at, _)| *at <= t)
        .unwrap_or(0)
        .min(2);
    let ((t0, c0), (t1, c1)) = (STOPS[i], STOPS[i + 1]);
    let f = (t - t0) / (t1 - t0);
    std::array::from_fn(|k| (c0[k] + (c1[k] - c0[k]) * f).round() as u8)
}

/// The run's image, pixel for pixel, with `max_iter` the largest count it may hold.
pub fn mandelbrot(run: &RenderRun) -> Result<Png> {
    let max_iter = run.iterations.iter().copied().max().unwrap_or(1).max(1);
    let rgb: Vec<u8> = run
        .iterations
        .iter()
        .flat_map(|&c| color_of(c, max_iter))
        .collect();
    let (width, height) = (run.width, run.height);
    let mut bytes = Vec::new();
    {
        let dims =
            |v: usize| u32::try_from(v).map_err(|_| Error::invalid("width", "too large for a PNG"));
        let mut encoder = png::Encoder::new(&mut bytes, dims(width)?, dims(height)?);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(encoding)?;
        writer.write_image_data(&rgb).map_err(encoding)?;
        writer.finish().map_err(encoding)?;
    }
    Ok(Png {
        width,
        height,
        bytes,
    })
}

fn encoding(e: png::EncodingError) -> Error {
    Error::Output(format!("could not encode the PNG: {e}"))
}
