//! Message passing instead of sharing: a histogram counted three ways.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc;
use std::thread;

use super::checks::{check_bins, check_threads};
use super::threads::on_threads;
use super::MAX_THREADS;
use crate::error::{Error, Result};

/// The most bins of a histogram.
pub const MAX_BINS: usize = 1 << 20;

/// Values per message of [`histogram_channel`]: one message per block, like one per tile.
pub const BLOCK: usize = 4096;

/// The bin of `value`: bin v counts the values equal to v, the last bin every larger one.
pub fn bin_of(value: u32, bins: usize) -> usize {
    (value as usize).min(bins - 1)
}

/// The histogram of `values` on one thread: the reference.
pub fn histogram_sequential(values: &[u32], bins: usize) -> Result<Vec<u64>> {
    check_bins(bins)?;
    let mut counts = vec![0u64; bins];
    for &v in values {
        counts[bin_of(v, bins)] += 1;
    }
    Ok(counts)
}

/// Shared data: every thread adds into one histogram of atomic counters.
pub fn histogram_shared(
    values: &[u32],
    bins: usize,
    threads: usize,
    stop: &AtomicBool,
) -> Result<Vec<u64>> {
    check_bins(bins)?;
    check_threads(threads, MAX_THREADS)?;
    let counts: Vec<AtomicU64> = (0..bins).map(|_| AtomicU64::new(0)).collect();
    let part = values.len().div_ceil(threads).max(1);
    on_threads(threads, |i| {
        for block in values.chunks(part).nth(i).unwrap_or(&[]).chunks(BLOCK) {
            if stop.load(Relaxed) {
                return;
            }
            for &v in block {
                counts[bin_of(v, bins)].fetch_add(1, Relaxed);
            }
        }
    })?;
    Ok(counts.into_iter().map(AtomicU64::into_inner).collect())
}

/// Message passing: each worker counts a block into its own small histogram and *sends* it;
/// the calling thread alone adds them up. Nothing is shared but the channel. The renderer
/// works the same way: workers send finished tiles to the thread that called `render`.
/// Returns the histogram and the number of messages received.
pub fn histogram_channel(
    values: &[u32],
    bins: usize,
    threads: usize,
    stop: &AtomicBool,
) -> Result<(Vec<u64>, usize)> {
    check_bins(bins)?;
    check_threads(threads, MAX_THREADS)?;
    let blocks: Vec<&[u32]> = values.chunks(BLOCK).collect();
    let next = AtomicUsize::new(0); // the next block to take: dynamic scheduling
    let (tx, rx) = mpsc::channel::<Vec<u64>>();
    thread::scope(|scope| {
        for i in 0..threads {
            let (tx, blocks, next) = (tx.clone(), &blocks, &next);
            thread::Builder::new()
                .name(format!("parlab-shared-{i}"))
                .spawn_scoped(scope, move || {
                    while let Some(block) = blocks.get(next.fetch_add(1, Relaxed)) {
                        if stop.load(Relaxed) {
                            return;
                        }
                        let mut mine = vec![0u64; bins];
                        for &v in *block {
                            mine[bin_of(v, bins)] += 1;
                        }
                        if tx.send(mine).is_err() {
                            return; // the receiver is gone
                        }
                    }
                })
                .map_err(|e| Error::ThreadPool(e.to_string()))?;
        }
        drop(tx); // the channel closes when the last worker drops its sender
        let mut counts = vec![0u64; bins];
        let mut messages = 0;
        for mine in rx {
            messages += 1;
            counts.iter_mut().zip(mine).for_each(|(c, m)| *c += m);
        }
        Ok((counts, messages))
    })
}
