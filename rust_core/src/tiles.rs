//! Cutting an image into tiles: the independent tasks every strategy schedules.

/// One rectangular task. Edge tiles are clipped, so `w`/`h` may be smaller than requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    /// Position in row-major order, 0..n.
    pub task_id: usize,
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

impl Tile {
    pub const fn new(task_id: usize, x: usize, y: usize, w: usize, h: usize) -> Self {
        Tile {
            task_id,
            x,
            y,
            w,
            h,
        }
    }

    pub const fn pixels(&self) -> usize {
        self.w * self.h
    }
}

/// How many tiles of `tile_w × tile_h` cover a `width × height` image.
pub fn tile_count(width: usize, height: usize, tile_w: usize, tile_h: usize) -> usize {
    width.div_ceil(tile_w) * height.div_ceil(tile_h)
}

/// All tiles of the image in row-major order, edge tiles clipped to the image.
pub fn tile_grid(width: usize, height: usize, tile_w: usize, tile_h: usize) -> Vec<Tile> {
    let mut tiles = Vec::with_capacity(tile_count(width, height, tile_w, tile_h));
    for y in (0..height).step_by(tile_h) {
        for x in (0..width).step_by(tile_w) {
            let (w, h) = (tile_w.min(width - x), tile_h.min(height - y));
            tiles.push(Tile::new(tiles.len(), x, y, w, h));
        }
    }
    tiles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_the_image_once_in_row_major_order() {
        let tiles = tile_grid(105, 61, 50, 20);
        assert_eq!(tiles.len(), tile_count(105, 61, 50, 20));
        assert_eq!(tiles.len(), 3 * 4);
        assert_eq!(tiles.iter().map(Tile::pixels).sum::<usize>(), 105 * 61);
        assert_eq!(tiles[2], Tile::new(2, 100, 0, 5, 20));
        assert_eq!(tiles[11], Tile::new(11, 100, 60, 5, 1));
        assert!(tiles.iter().enumerate().all(|(i, t)| t.task_id == i));
    }

    #[test]
    fn a_tile_larger_than_the_image_is_clipped_to_it() {
        assert_eq!(tile_grid(7, 3, 100, 100), vec![Tile::new(0, 0, 0, 7, 3)]);
    }
}
