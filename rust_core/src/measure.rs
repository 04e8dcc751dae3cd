//! Timing claims decided by what happened during the runs themselves: the core's twin of
//! Python's `parlab.measure`, with the same names and the same rules.
//!
//! A speedup measured now and a "CPUs free" probe taken a moment before disagree on a
//! busy machine: other programs come and go. So a comparison measures, for every run it
//! times, the CPU time this process obtained over the wall time it took (its *CPU share*:
//! about k for k threads computing on k free CPUs, less when others compete), and a lesson
//! decides its sentence and its assertions from those shares:
//!
//! ```
//! use parlab_core::{measure, workloads::fib};
//!
//! let cmp = measure::compare(3)
//!     .variant("1 thread", 1, || fib(20))
//!     .variant("2 threads", 2, || std::thread::scope(|s| {
//!         let a = s.spawn(|| fib(19));
//!         fib(18) + a.join().unwrap()
//!     }))
//!     .run();
//! assert_eq!(cmp.result("2 threads"), &fib(20));
//! let _ = (cmp.speedup("1 thread", "2 threads"), cmp.situation(), cmp.label());
//! ```
//!
//! The variants run interleaved (A, B, A, B, …) so that a disturbance hits all of them
//! alike, and each keeps its fastest run, as a benchmark does. [`Comparison::situation`] is
//! "one-cpu" whenever this process may use only one CPU (affinity or quota), whatever the
//! shares: one CPU is the explanation then, not a busy machine.

use std::fmt;
use std::time::{Duration, Instant};

use crate::display::evcxr_show;

/// A share at least this fraction of the CPUs a run could use counts as "free".
pub const FREE_FRACTION: f64 = 0.8;

/// The CPU time this process has used so far, all its threads together (including threads
/// that have ended), or `None` where the platform does not tell.
pub fn process_cpu_time() -> Option<Duration> {
    cpu_clock::process_cpu_time()
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod cpu_clock {
    use std::time::Duration;

    /// `struct timespec` on 64-bit Linux (glibc and musl): two 64-bit fields.
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }

    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;

    extern "C" {
        // From the C library that std links anyway: no extra crate for one call.
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }

    pub fn process_cpu_time() -> Option<Duration> {
        let mut ts = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        let secs = u64::try_from(ts.tv_sec).ok()?;
        let nanos = u32::try_from(ts.tv_nsec).ok()?;
        (rc == 0).then(|| Duration::new(secs, nanos))
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
mod cpu_clock {
    pub fn process_cpu_time() -> Option<std::time::Duration> {
        None
    }
}

/// The CPUs this process may use (affinity and CPU quota): the card's effective parallelism.
pub fn allowed_cpus() -> usize {
    crate::hardware::detect().effective_parallelism
}

/// One timed call: wall time, process CPU time (where readable), and their ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub variant: String,
    pub round: usize,
    pub wall: Duration,
    pub cpu: Option<Duration>,
}

impl Run {
    pub fn wall_s(&self) -> f64 {
        self.wall.as_secs_f64()
    }

    pub fn cpu_s(&self) -> Option<f64> {
        self.cpu.map(|c| c.as_secs_f64())
    }

    /// CPU seconds per wall second during the call: about k for k busy threads on k free CPUs.
    pub fn share(&self) -> Option<f64> {
        let wall = self.wall_s();
        self.cpu_s()
            .map(|cpu| if wall > 0.0 { cpu / wall } else { 0.0 })
    }
}

/// Calls `f` once: its result, and the [`Run`] with wall time, process CPU time and share.
pub fn run_share<T>(f: impl FnOnce() -> T) -> (T, Run) {
    let (cpu0, wall0) = (process_cpu_time(), Instant::now());
    let value = f();
    let (wall, cpu1) = (wall0.elapsed(), process_cpu_time());
    let cpu = cpu0.zip(cpu1).map(|(a, b)| b.saturating_sub(a));
    let run = Run {
        variant: String::new(),
        round: 0,
        wall,
        cpu,
    };
    (value, run)
}

/// Where the CPUs were during a comparison's runs (see [`Comparison::situation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Situation {
    /// This process may use only one CPU (affinity or quota): no run can be parallel.
    OneCpu,
    /// The widest variant's fastest run got at least 80 % of the CPUs it could use.
    Free,
    /// Other programs took part of the CPUs during the runs.
    Busy,
    /// The CPU time of this process cannot be read on this platform.
    Unknown,
}

impl Situation {
    /// "one-cpu", "free", "busy" or "unknown", as in Python's `Comparison.situation`.
    pub fn as_str(self) -> &'static str {
        match self {
            Situation::OneCpu => "one-cpu",
            Situation::Free => "free",
            Situation::Busy => "busy",
            Situation::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Situation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`compare`] measured: every run, per variant its fastest run, and each variant's
/// last result. Methods taking a variant's name panic, naming the variants there are, when
/// given another name (a typo in a notebook, as Python's `KeyError`).
#[derive(Debug, Clone)]
pub struct Comparison<T = ()> {
    pub runs: Vec<Run>,
    /// Each variant (in the order given) with the CPU-bound threads it runs.
    pub threads: Vec<(String, usize)>,
    /// CPUs this process could use (affinity, quota) when the runs were made.
    pub allowed: usize,
    /// Each variant's last result, in the order given.
    pub results: Vec<(String, T)>,
}

impl<T> Comparison<T> {
    pub fn variants(&self) -> Vec<&str> {
        self.threads.iter().map(|(v, _)| v.as_str()).collect()
    }

    fn known(&self, variant: &str) {
        assert!(
            self.threads.iter().any(|(v, _)| v == variant),
            "variant: no runs of {variant:?}; have {:?}",
            self.variants()
        );
    }

    /// The fastest run of `variant`.
    pub fn best(&self, variant: &str) -> &Run {
        self.known(variant);
        self.runs
            .iter()
            .filter(|r| r.variant == variant)
            .min_by(|a, b| a.wall.cmp(&b.wall))
            .unwrap_or_else(|| panic!("variant: {variant:?} has no runs"))
    }

    /// The fastest wall time of `variant`, in seconds.
    pub fn best_s(&self, variant: &str) -> f64 {
        self.best(variant).wall_s()
    }

    /// The CPU share (CPU seconds per wall second) during `variant`'s fastest run.
    pub fn share(&self, variant: &str) -> Option<f64> {
        self.best(variant).share()
    }

    /// How many times faster `other`'s fastest run was than `base`'s.
    pub fn speedup(&self, base: &str, other: &str) -> f64 {
        self.best_s(base) / self.best_s(other)
    }

    /// The CPUs a variant's threads could use at most: min(threads, allowed), at least 1.
    pub fn could_use(&self, variant: &str) -> usize {
        self.known(variant);
        let threads = self
            .threads
            .iter()
            .find(|(v, _)| v == variant)
            .map_or(1, |(_, k)| *k);
        threads.min(self.allowed).max(1)
    }

    /// The variant that could use the most CPUs (the first such).
    pub fn widest(&self) -> &str {
        let mut widest = self.threads[0].0.as_str();
        for (v, _) in &self.threads {
            if self.could_use(v) > self.could_use(widest) {
                widest = v;
            }
        }
        widest
    }

    /// CPUs this process obtained during the widest variant's fastest run, at most `allowed`.
    pub fn cpus_free(&self) -> Option<f64> {
        self.share(self.widest())
            .map(|share| share.min(self.allowed as f64))
    }

    /// `OneCpu` (only one CPU may be used), `Free` (the widest variant's fastest run got at
    /// least 80 % of the CPUs it could use) or `Busy` (others took the rest).
    pub fn situation(&self) -> Situation {
        if self.allowed <= 1 {
            return Situation::OneCpu;
        }
        let Some(free) = self.cpus_free() else {
            return Situation::Unknown;
        };
        // When no variant could show parallelism, say only whether one CPU was free.
        let wanted = self.could_use(self.widest()) as f64;
        if free >= FREE_FRACTION * wanted {
            Situation::Free
        } else {
            Situation::Busy
        }
    }

    pub fn free(&self) -> bool {
        self.situation() == Situation::Free
    }

    /// For a figure's title: "1.9 of 2 CPUs free during these runs".
    pub fn label(&self) -> String {
        let cpus = if self.allowed == 1 {
            "1 CPU".to_string()
        } else {
            format!("{} CPUs", self.allowed)
        };
        match self.cpus_free() {
            Some(free) => format!("{free:.1} of {cpus} free during these runs"),
            None => format!("{cpus} allowed; CPU time not readable here"),
        }
    }

    /// The speedup `other` could reach over `base` with the CPU its runs really got: the
    /// ratio of their shares (the same CPU work done at that many more CPU seconds per second).
    pub fn parallel_ceiling(&self, base: &str, other: &str) -> Option<f64> {
        Some(self.share(other)? / self.share(base)?.max(1e-9))
    }

    /// `variant`'s last result.
    pub fn result(&self, variant: &str) -> &T {
        self.known(variant);
        self.results
            .iter()
            .rev()
            .find(|(v, _)| v == variant)
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("variant: {variant:?} has no result"))
    }

    /// One line per variant: fastest time and the CPU share it got, then the situation.
    pub fn summary(&self) -> String {
        let mut lines: Vec<String> = self
            .variants()
            .into_iter()
            .map(|v| {
                let n = self.runs.iter().filter(|r| r.variant == v).count();
                let share = self.share(v).map_or("CPU time unknown".to_string(), |s| {
                    format!("{s:.2} CPUs during it")
                });
                format!(
                    "{v}: fastest {:.1} ms of {n}, {share}",
                    self.best_s(v) * 1e3
                )
            })
            .collect();
        lines.push(format!("{} ({})", self.label(), self.situation()));
        lines.join("\n")
    }

    /// Shows the summary as a cell's output in evcxr.
    pub fn evcxr_display(&self) {
        evcxr_show("text/plain", &self.summary());
    }
}

impl<T> fmt::Display for Comparison<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

type Job<'a, T> = Box<dyn FnMut() -> T + 'a>;

/// A comparison being set up: see [`compare`].
pub struct Compare<'a, T> {
    rounds: usize,
    warmup: bool,
    variants: Vec<(String, usize, Job<'a, T>)>,
}

/// Sets up a comparison of `rounds` interleaved rounds (at least 1):
/// `compare(3).variant(name, threads, f).variant(...).run()`.
pub fn compare<'a, T>(rounds: usize) -> Compare<'a, T> {
    Compare {
        rounds: rounds.clamp(1, 1000),
        warmup: true,
        variants: Vec::new(),
    }
}

impl<'a, T> Compare<'a, T> {
    /// Adds a variant: its name, how many CPU-bound threads it runs (which decides how many
    /// CPUs it could use, and so whether its share means "free" or "busy"), and the call.
    pub fn variant(mut self, name: &str, threads: usize, f: impl FnMut() -> T + 'a) -> Self {
        self.variants
            .push((name.to_string(), threads.max(1), Box::new(f)));
        self
    }

    /// Whether each variant is first called once, untimed (caches, page faults, thread
    /// pools); on by default.
    pub fn warmup(mut self, warmup: bool) -> Self {
        self.warmup = warmup;
        self
    }

    /// Times every variant `rounds` times, interleaved, with the CPU share of every run.
    /// Panics if no variant was added.
    pub fn run(mut self) -> Comparison<T> {
        assert!(
            !self.variants.is_empty(),
            "compare: add at least one variant before run()"
        );
        let allowed = allowed_cpus();
        if self.warmup {
            for (_, _, f) in &mut self.variants {
                f();
            }
        }
        let mut runs = Vec::with_capacity(self.rounds * self.variants.len());
        let mut results: Vec<(String, T)> = Vec::with_capacity(self.variants.len());
        for round in 0..self.rounds {
            for (name, _, f) in &mut self.variants {
                let (value, run) = run_share(&mut *f);
                runs.push(Run {
                    variant: name.clone(),
                    round,
                    ..run
                });
                results.retain(|(v, _)| v != name);
                results.push((name.clone(), value));
            }
        }
        let order: Vec<&String> = self.variants.iter().map(|(v, _, _)| v).collect();
        results.sort_by_key(|(v, _)| order.iter().position(|o| *o == v));
        Comparison {
            runs,
            threads: self
                .variants
                .iter()
                .map(|(v, k, _)| (v.clone(), *k))
                .collect(),
            allowed,
            results,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::fib;

    fn run(variant: &str, wall_ms: u64, cpu_ms: u64) -> Run {
        Run {
            variant: variant.into(),
            round: 0,
            wall: Duration::from_millis(wall_ms),
            cpu: Some(Duration::from_millis(cpu_ms)),
        }
    }

    fn made_of(runs: Vec<Run>, allowed: usize) -> Comparison {
        Comparison {
            runs,
            threads: vec![("one".into(), 1), ("two".into(), 2)],
            allowed,
            results: vec![],
        }
    }

    #[test]
    fn cpu_time_is_read_and_grows_with_work() {
        let before = process_cpu_time().expect("readable on 64-bit Linux");
        std::hint::black_box(fib(27));
        assert!(process_cpu_time().unwrap() > before);
    }

    #[test]
    fn the_fastest_run_decides_and_shares_are_ratios() {
        let cmp = made_of(
            vec![
                run("one", 100, 100),
                run("two", 60, 110),
                run("one", 120, 100),
                run("two", 55, 105),
            ],
            2,
        );
        assert_eq!(cmp.best_s("two"), 0.055);
        assert!((cmp.speedup("one", "two") - 100.0 / 55.0).abs() < 1e-12);
        assert!((cmp.share("two").unwrap() - 105.0 / 55.0).abs() < 1e-12);
        assert!((cmp.parallel_ceiling("one", "two").unwrap() - 105.0 / 55.0).abs() < 1e-12);
        assert_eq!(cmp.widest(), "two");
        assert_eq!(cmp.situation(), Situation::Free);
        assert_eq!(cmp.label(), "1.9 of 2 CPUs free during these runs");
    }

    #[test]
    fn one_cpu_wins_over_busy_and_busy_is_a_low_share() {
        let slow = vec![run("one", 100, 100), run("two", 100, 100)];
        assert_eq!(made_of(slow.clone(), 1).situation(), Situation::OneCpu);
        assert_eq!(
            made_of(slow.clone(), 1).label(),
            "1.0 of 1 CPU free during these runs"
        );
        assert_eq!(made_of(slow, 2).situation(), Situation::Busy);
        let unknown = Comparison::<()> {
            runs: vec![Run {
                cpu: None,
                ..run("one", 10, 0)
            }],
            threads: vec![("one".into(), 1)],
            allowed: 4,
            results: vec![],
        };
        assert_eq!(unknown.situation(), Situation::Unknown);
        assert_eq!(unknown.share("one"), None);
    }

    #[test]
    #[should_panic(expected = "no runs of \"three\"")]
    fn an_unknown_variant_is_named() {
        made_of(vec![run("one", 1, 1), run("two", 1, 1)], 2).best_s("three");
    }

    #[test]
    fn compare_interleaves_and_keeps_the_last_results() {
        let mut order = Vec::new();
        let calls = std::cell::RefCell::new(&mut order);
        let cmp = compare(3)
            .warmup(false)
            .variant("a", 1, || {
                calls.borrow_mut().push('a');
                fib(15)
            })
            .variant("b", 2, || {
                calls.borrow_mut().push('b');
                fib(16)
            })
            .run();
        assert_eq!(order.iter().collect::<String>(), "ababab");
        assert_eq!(cmp.runs.len(), 6);
        assert_eq!((*cmp.result("a"), *cmp.result("b")), (fib(15), fib(16)));
        assert_eq!(cmp.variants(), ["a", "b"]);
        assert!(cmp.runs.iter().all(|r| r.cpu.is_some()));
        assert!(!cmp.summary().is_empty());
    }
}
