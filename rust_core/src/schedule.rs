//! The scheduling strategies, side by side. Each one decides only *which thread renders
//! which tile*; the tile itself is rendered by the `render` function it is handed, which
//! returns `ControlFlow::Break` when the thread must stop (time limit or cancel).

use std::fmt;
use std::ops::ControlFlow;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::tiles::Tile;

/// Renders one tile on the thread with the given id; `Break` means "stop taking tiles".
pub type RenderFn<'a> = dyn Fn(usize, &Tile) -> ControlFlow<()> + Sync + 'a;

/// A way of handing tiles to threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// One thread, tiles in order.
    Sequential,
    /// The original demo's "concurrent" mode: thread k gets the k-th contiguous chunk.
    Static,
    /// Thread k takes tiles k, k+T, k+2T, …
    Interleaved,
    /// Threads take the next tile from a shared counter when they are free.
    Dynamic,
    /// rayon's work stealing on a pool of exactly `threads` threads.
    Rayon,
}

impl Strategy {
    pub const ALL: [Strategy; 5] = [
        Strategy::Sequential,
        Strategy::Static,
        Strategy::Interleaved,
        Strategy::Dynamic,
        Strategy::Rayon,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Strategy::Sequential => "sequential",
            Strategy::Static => "static",
            Strategy::Interleaved => "interleaved",
            Strategy::Dynamic => "dynamic",
            Strategy::Rayon => "rayon",
        }
    }

    /// Runs `render` over every tile on `threads` threads, returning when all have stopped.
    pub fn run(self, tiles: &[Tile], threads: usize, render: &RenderFn) -> Result<()> {
        match self {
            Strategy::Sequential => sequential(tiles, render),
            Strategy::Static => static_chunks(tiles, threads, render),
            Strategy::Interleaved => interleaved(tiles, threads, render),
            Strategy::Dynamic => dynamic(tiles, threads, render),
            Strategy::Rayon => work_stealing(tiles, threads, render),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Strategy::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Strategy::ALL.iter().map(|k| k.name()).collect();
                Error::invalid(
                    "strategy",
                    format!("unknown strategy {s:?}; choose one of {names:?}"),
                )
            })
    }
}

/// One thread (the caller's), tiles in row-major order. Generic over the item, like
/// [`dynamic`]: the I/O lesson runs its downloads with the same two functions.
pub fn sequential<T>(
    tiles: &[T],
    render: &(dyn Fn(usize, &T) -> ControlFlow<()> + '_),
) -> Result<()> {
    let _ = tiles.iter().try_for_each(|tile| render(0, tile));
    Ok(())
}

/// Contiguous chunks of ceil(n/threads) tiles, one per thread. Simple, and unbalanced
/// on the Mandelbrot set: the chunks through the middle of the set are far more work.
pub fn static_chunks(tiles: &[Tile], threads: usize, render: &RenderFn) -> Result<()> {
    let chunks: Vec<&[Tile]> = tiles.chunks(tiles.len().div_ceil(threads).max(1)).collect();
    spawn_workers(chunks.len(), |thread_id| {
        let _ = chunks[thread_id]
            .iter()
            .try_for_each(|tile| render(thread_id, tile));
    })
}

/// Thread k takes tiles k, k+T, k+2T, …: every thread samples every part of the image.
pub fn interleaved(tiles: &[Tile], threads: usize, render: &RenderFn) -> Result<()> {
    spawn_workers(threads, |thread_id| {
        let mut mine = tiles.iter().skip(thread_id).step_by(threads);
        let _ = mine.try_for_each(|tile| render(thread_id, tile));
    })
}

/// A shared counter hands out the next tile to whichever thread is free.
pub fn dynamic<T: Sync>(
    tiles: &[T],
    threads: usize,
    render: &(dyn Fn(usize, &T) -> ControlFlow<()> + Sync + '_),
) -> Result<()> {
    let next = AtomicUsize::new(0);
    spawn_workers(threads, |thread_id| {
        while let Some(tile) = tiles.get(next.fetch_add(1, Ordering::Relaxed)) {
            if render(thread_id, tile).is_break() {
                break;
            }
        }
    })
}

/// rayon splits the tiles and idle threads steal work from busy ones. The pool is local
/// to this call (the global pool is never touched).
pub fn work_stealing(tiles: &[Tile], threads: usize, render: &RenderFn) -> Result<()> {
    local_pool(threads, |pool| {
        let _ = pool.install(|| {
            tiles
                .par_iter()
                .try_for_each(|tile| render(rayon::current_thread_index().unwrap_or(0), tile))
        });
    })
}

/// Runs `op` with a rayon pool of exactly `threads` threads, and joins every one of them
/// before returning: no pool thread outlives the call.
pub fn local_pool<R>(threads: usize, op: impl FnOnce(&rayon::ThreadPool) -> R) -> Result<R> {
    thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .spawn_handler(|worker| {
                let name = format!("parlab-rayon-{}", worker.index());
                handles.push(
                    thread::Builder::new()
                        .name(name)
                        .spawn_scoped(scope, || worker.run())?,
                );
                Ok(())
            })
            .build()
            .map_err(|e| Error::ThreadPool(e.to_string()));
        let result = pool.map(|pool| op(&pool)); // dropping the pool tells its threads to exit
        join_all(handles);
        result
    })
}

/// Starts `count` scoped threads running `work(thread_id)` and waits for all of them.
fn spawn_workers(count: usize, work: impl Fn(usize) + Sync) -> Result<()> {
    let work = &work;
    thread::scope(|scope| {
        let mut handles = Vec::with_capacity(count);
        for thread_id in 0..count {
            let spawned = thread::Builder::new()
                .name(format!("parlab-worker-{thread_id}"))
                .spawn_scoped(scope, move || work(thread_id));
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    join_all(handles);
                    return Err(Error::ThreadPool(e.to_string()));
                }
            }
        }
        join_all(handles);
        Ok(())
    })
}

/// Joins each thread for real (the OS thread has exited when this returns), which a
/// scope's implicit join does not promise: it only waits for the closures to finish.
fn join_all<T>(handles: Vec<thread::ScopedJoinHandle<'_, T>>) {
    for handle in handles {
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn assignment(strategy: Strategy, n: usize, threads: usize) -> Vec<(usize, usize)> {
        let tiles: Vec<Tile> = (0..n).map(|i| Tile::new(i, i, 0, 1, 1)).collect();
        let seen = Mutex::new(Vec::new());
        strategy
            .run(&tiles, threads, &|thread_id, tile| {
                seen.lock().unwrap().push((tile.task_id, thread_id));
                ControlFlow::Continue(())
            })
            .unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        seen
    }

    #[test]
    fn names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(s.name().parse::<Strategy>().unwrap(), s);
        }
        let err = "fastest".parse::<Strategy>().unwrap_err();
        assert!(err.to_string().starts_with("strategy:"), "{err}");
    }

    #[test]
    fn static_gives_contiguous_chunks() {
        let owners: Vec<_> = assignment(Strategy::Static, 7, 2)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(owners, [0, 0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn interleaved_deals_round_robin() {
        let owners: Vec<_> = assignment(Strategy::Interleaved, 7, 3)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(owners, [0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn every_strategy_runs_each_tile_once_on_a_valid_thread() {
        for s in Strategy::ALL {
            let threads = if s == Strategy::Sequential { 1 } else { 3 };
            let seen = assignment(s, 50, threads);
            assert_eq!(
                seen.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
                (0..50).collect::<Vec<_>>(),
                "{s}"
            );
            assert!(seen.iter().all(|(_, id)| *id < threads), "{s}");
        }
    }

    #[test]
    fn break_stops_a_thread_taking_tiles() {
        for s in Strategy::ALL {
            let tiles: Vec<Tile> = (0..100).map(|i| Tile::new(i, i, 0, 1, 1)).collect();
            let count = AtomicUsize::new(0);
            s.run(&tiles, 2, &|_, _| {
                count.fetch_add(1, Ordering::Relaxed);
                ControlFlow::Break(())
            })
            .unwrap();
            // Each thread sees at most one tile before it stops.
            assert!(count.load(Ordering::Relaxed) <= 2, "{s}");
        }
    }
}
