//! The threads every lesson runs on, and the loops they run.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Increments between two looks at the stop flag: rare enough to cost nothing.
const CHECK_EVERY: u64 = 1 << 14;

/// Runs `f(i)` on `threads` scoped threads (i = 0..threads) and returns their results.
pub(super) fn on_threads<T: Send>(threads: usize, f: impl Fn(usize) -> T + Sync) -> Result<Vec<T>> {
    thread::scope(|scope| {
        let f = &f;
        let handles = (0..threads)
            .map(|i| {
                thread::Builder::new()
                    .name(format!("parlab-shared-{i}"))
                    .spawn_scoped(scope, move || f(i))
                    .map_err(|e| Error::ThreadPool(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(handles.into_iter().map(join).collect())
    })
}

pub(super) fn join<T>(handle: thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Calls `step` `times` times, looking at `stop` every [`CHECK_EVERY`] calls.
pub(super) fn repeat(times: u64, stop: &AtomicBool, mut step: impl FnMut()) {
    let mut done = 0;
    while done < times && !stop.load(Relaxed) {
        let chunk = CHECK_EVERY.min(times - done);
        for _ in 0..chunk {
            step();
        }
        done += chunk;
    }
}

/// Busy for `d` (a spinning thread stands for real work: it keeps its CPU).
pub(super) fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}
