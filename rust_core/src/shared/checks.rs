//! The checks of every lesson's arguments, each error naming its parameter.

use std::time::Duration;

use super::deadlock::LockOrder;
use super::messages::MAX_BINS;
use super::{MAX_INCREMENTS, MAX_ROUNDS, MAX_RUN, MAX_TOTAL_INCREMENTS, MAX_WAIT};
use crate::error::{Error, Result};

pub(super) fn check_threads(threads: usize, most: usize) -> Result<()> {
    if (1..=most).contains(&threads) {
        Ok(())
    } else {
        Err(Error::invalid(
            "threads",
            format!("must be between 1 and {most}, got {threads}"),
        ))
    }
}

/// `increments` per thread, and all threads' together within [`MAX_TOTAL_INCREMENTS`].
pub(super) fn check_increments(threads: usize, increments: u64) -> Result<()> {
    if !(1..=MAX_INCREMENTS).contains(&increments) {
        return Err(Error::invalid(
            "increments",
            format!("must be between 1 and {MAX_INCREMENTS}, got {increments}"),
        ));
    }
    let total = (threads as u64).saturating_mul(increments);
    if total > MAX_TOTAL_INCREMENTS {
        return Err(Error::invalid(
            "increments",
            format!(
                "{threads} threads × {increments} increments is {total}, over the limit of \
                 {MAX_TOTAL_INCREMENTS} per run (shared::MAX_TOTAL_INCREMENTS, a minute of \
                 contended counting); ask for fewer threads or increments"
            ),
        ));
    }
    Ok(())
}

pub(super) fn check_rounds(rounds: usize) -> Result<()> {
    if (1..=MAX_ROUNDS).contains(&rounds) {
        Ok(())
    } else {
        Err(Error::invalid(
            "rounds",
            format!("must be between 1 and {MAX_ROUNDS}, got {rounds}"),
        ))
    }
}

pub(super) fn check_wait(name: &'static str, d: Duration) -> Result<()> {
    if d <= MAX_WAIT {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            format!("must be at most {} ms, got {:?}", MAX_WAIT.as_millis(), d),
        ))
    }
}

/// A wait given as `value` units of `unit` seconds (1e-6 for µs, 1e-3 for ms), as a caller
/// outside Rust gives it (any float), as a [`Duration`]: an error naming `name`, in the
/// caller's units, for NaN, a negative value or more than [`MAX_WAIT`].
pub fn wait_in(name: &'static str, value: f64, unit: f64) -> Result<Duration> {
    let wait = Duration::try_from_secs_f64(value * unit)
        .map_err(|_| Error::invalid(name, format!("must be a number ≥ 0, got {value}")))?;
    if wait > MAX_WAIT {
        return Err(Error::invalid(
            name,
            format!("must be at most {} ms, got {value}", MAX_WAIT.as_millis()),
        ));
    }
    Ok(wait)
}

pub(super) fn check_bins(bins: usize) -> Result<()> {
    if (1..=MAX_BINS).contains(&bins) {
        Ok(())
    } else {
        Err(Error::invalid(
            "bins",
            format!("must be between 1 and {MAX_BINS}, got {bins}"),
        ))
    }
}

/// A lock timeline takes at least its holds one after another (one holder at a time), and
/// each thread its own rounds of work and hold: refused if that is over [`MAX_RUN`].
pub(super) fn check_lock_run(
    threads: usize,
    rounds: usize,
    work: Duration,
    hold: Duration,
) -> Result<()> {
    let holding = hold.as_secs_f64() * threads as f64 * rounds as f64;
    let own = (work + hold).as_secs_f64() * rounds as f64;
    check_run(
        "rounds",
        holding.max(own),
        format!(
            "{threads} threads × {rounds} rounds of work_us={} and hold_us={}",
            micros_text(work),
            micros_text(hold)
        ),
    )
}

/// A deadlock run in the opposite order deadlocks every round, by design: each round
/// waits out `timeout` before one thread gives up and the other holds both for `hold`; in
/// the same order the two threads hold both locks one after the other. Refused if all
/// rounds of that are over [`MAX_RUN`].
pub(super) fn check_deadlock_run(
    order: LockOrder,
    rounds: usize,
    hold: Duration,
    timeout: Duration,
) -> Result<()> {
    let round = match order {
        LockOrder::Opposite => timeout + hold,
        LockOrder::Same => 2 * hold,
    };
    check_run(
        "rounds",
        round.as_secs_f64() * rounds as f64,
        format!(
            "{rounds} rounds in the {} order of hold_us={} with timeout_ms={}",
            order.name(),
            micros_text(hold),
            timeout.as_secs_f64() * 1e3
        ),
    )
}

fn check_run(name: &'static str, seconds: f64, what: String) -> Result<()> {
    if seconds <= MAX_RUN.as_secs_f64() {
        return Ok(());
    }
    Err(Error::invalid(
        name,
        format!(
            "{what} would take at least {}, over the limit of {} s a run (shared::MAX_RUN); \
             ask for fewer rounds or threads, or shorter spans",
            human_seconds(seconds),
            MAX_RUN.as_secs()
        ),
    ))
}

fn micros_text(d: Duration) -> String {
    format!("{}", d.as_secs_f64() * 1e6)
}

/// 90 s as "1.5 min", 1.3e6 s as "14.8 days".
fn human_seconds(s: f64) -> String {
    match s {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.1} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(result: Result<()>) -> (String, String) {
        match result {
            Err(Error::InvalidParameter { name, reason }) => (name.to_string(), reason),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn days_of_lock_holding_are_refused_with_the_bound_named() {
        let two_s = Duration::from_secs(2);
        let (name, reason) = refusal(check_lock_run(64, 10_000, two_s, two_s));
        assert_eq!(name, "rounds");
        assert!(
            reason.contains("14.8 days") && reason.contains("MAX_RUN"),
            "{reason}"
        );
        // A lesson's run, and the longest single thread's run that fits, are fine.
        check_lock_run(
            2,
            30,
            Duration::from_micros(100),
            Duration::from_micros(150),
        )
        .unwrap();
        check_lock_run(1, 100, Duration::ZERO, two_s).unwrap();
        refusal(check_lock_run(2, 100, Duration::ZERO, two_s));
    }

    #[test]
    fn deadlock_runs_are_bounded_by_the_timeouts_they_wait_out() {
        let two_s = Duration::from_secs(2);
        check_deadlock_run(LockOrder::Opposite, 100, Duration::ZERO, two_s).unwrap();
        let (name, reason) = refusal(check_deadlock_run(
            LockOrder::Opposite,
            10_000,
            two_s,
            two_s,
        ));
        assert!(name == "rounds" && reason.contains("opposite"), "{reason}");
        check_deadlock_run(LockOrder::Same, 75, two_s, two_s).unwrap();
        refusal(check_deadlock_run(LockOrder::Same, 76, two_s, two_s));
    }

    #[test]
    fn increments_are_bounded_per_thread_and_per_run() {
        check_increments(2, MAX_INCREMENTS).unwrap();
        let (name, reason) = refusal(check_increments(64, MAX_INCREMENTS));
        assert!(
            name == "increments" && reason.contains("MAX_TOTAL_INCREMENTS"),
            "{reason}"
        );
        assert_eq!(
            refusal(check_increments(1, MAX_INCREMENTS + 1)).0,
            "increments"
        );
        assert_eq!(refusal(check_increments(1, 0)).0, "increments");
    }
}
