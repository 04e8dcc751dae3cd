//! False sharing: each thread counts in its own variable, yet they slow each other down
//! when those variables share one cache line.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use super::checks::{check_increments, check_threads};
use super::threads::{on_threads, repeat};
use crate::error::Result;
use crate::timeline::{micros, RunClock};

/// Counters side by side: 8 × 8 bytes, one 64-byte cache line (aligned to start one).
#[repr(C, align(64))]
#[derive(Default)]
pub struct SameLine(pub [AtomicU64; 8]);

/// One counter alone in 128 bytes: a cache line of its own, and its neighbour's too,
/// because Intel CPUs fetch lines in pairs (crossbeam's `CachePadded` does the same).
#[repr(align(128))]
#[derive(Default)]
pub struct Padded(pub AtomicU64);

/// One false-sharing run: each thread incremented its *own* counter.
#[derive(Debug, Clone, PartialEq)]
pub struct FalseSharingRun {
    pub padded: bool,
    pub threads: usize,
    pub increments: u64,
    /// Bytes between two neighbouring threads' counters.
    pub stride_bytes: usize,
    pub totals: Vec<u64>,
    pub elapsed_us: f64,
    pub stopped: bool,
}

impl FalseSharingRun {
    pub fn per_second(&self) -> f64 {
        (self.threads as u64 * self.increments) as f64 / (self.elapsed_us.max(1e-3) * 1e-6)
    }
}

/// `threads` threads (at most 8) each increment their own counter `increments` times; the
/// counters share one cache line, or (`padded`) each has its own.
pub fn false_sharing(
    padded: bool,
    threads: usize,
    increments: u64,
    stop: &AtomicBool,
) -> Result<FalseSharingRun> {
    check_threads(threads, 8)?;
    check_increments(threads, increments)?;
    let same = SameLine::default();
    let apart: [Padded; 8] = Default::default();
    let counter = |i: usize| if padded { &apart[i].0 } else { &same.0[i] };
    let clock = RunClock::start();
    on_threads(threads, |i| {
        let mine = counter(i);
        repeat(increments, stop, || {
            mine.fetch_add(1, Relaxed);
        })
    })?;
    let elapsed_us = micros(clock.elapsed());
    Ok(FalseSharingRun {
        padded,
        threads,
        increments,
        stride_bytes: counter(1) as *const AtomicU64 as usize
            - counter(0) as *const AtomicU64 as usize,
        totals: (0..threads).map(|i| counter(i).load(Relaxed)).collect(),
        elapsed_us,
        stopped: stop.load(Relaxed),
    })
}

/// The CPU's cache line size in bytes, where the operating system says (Linux).
pub fn cache_line_bytes() -> Option<usize> {
    if cfg!(target_os = "linux") {
        std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cache/index0/coherency_line_size")
            .ok()?
            .trim()
            .parse()
            .ok()
    } else {
        None
    }
}
