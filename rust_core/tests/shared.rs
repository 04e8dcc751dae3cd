//! The shared-data lessons' core: correct counters are exact, locks exclude, the opposite
//! lock order deadlocks (and the timeout sees it), the same order does not, messages add up.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use parlab_core::shared::*;
use parlab_core::Error;

fn go() -> AtomicBool {
    AtomicBool::new(false)
}

#[test]
fn correct_counters_never_lose_an_update() {
    for counter in [Counter::FetchAdd, Counter::Mutex, Counter::PerThread] {
        let run = count(counter, 4, 50_000, &go()).unwrap();
        assert_eq!((run.total, run.lost()), (200_000, 0), "{counter}");
        assert!(!run.stopped);
    }
}

#[test]
fn load_then_store_never_counts_more_than_expected() {
    // Whether it loses depends on timing (the notebooks show it); it can never gain.
    let run = count(Counter::LoadStore, 2, 100_000, &go()).unwrap();
    assert!(run.total <= run.expected() && run.total >= 100_000);
    assert_eq!(
        count(Counter::LoadStore, 1, 1000, &go()).unwrap().total,
        1000
    );
}

#[test]
fn a_raised_stop_flag_ends_a_count_early() {
    let stop = AtomicBool::new(true);
    let run = count(Counter::Mutex, 2, MAX_INCREMENTS, &stop).unwrap();
    assert!(run.stopped && run.total == 0);
}

#[test]
fn counter_names_round_trip() {
    for c in Counter::ALL {
        assert_eq!(c.name().parse::<Counter>().unwrap(), c);
    }
    let err = "atomic".parse::<Counter>().unwrap_err();
    assert!(err
        .to_string()
        .starts_with("counter: must be one of load-store"));
}

#[test]
fn bad_arguments_name_the_parameter() {
    let name = |e: Error| match e {
        Error::InvalidParameter { name, .. } => name,
        other => panic!("{other}"),
    };
    assert_eq!(
        name(count(Counter::Mutex, 0, 1, &go()).unwrap_err()),
        "threads"
    );
    assert_eq!(
        name(count(Counter::Mutex, 65, 1, &go()).unwrap_err()),
        "threads"
    );
    assert_eq!(
        name(count(Counter::Mutex, 1, 0, &go()).unwrap_err()),
        "increments"
    );
    assert_eq!(
        name(count(Counter::Mutex, 1, MAX_INCREMENTS + 1, &go()).unwrap_err()),
        "increments"
    );
    assert_eq!(
        name(false_sharing(true, 9, 1, &go()).unwrap_err()),
        "threads"
    );
    let long = Duration::from_secs(60);
    assert_eq!(
        name(lock_timeline(2, 0, Duration::ZERO, Duration::ZERO, &go()).unwrap_err()),
        "rounds"
    );
    assert_eq!(
        name(lock_timeline(2, 1, long, Duration::ZERO, &go()).unwrap_err()),
        "work_us"
    );
    assert_eq!(
        name(two_locks(LockOrder::Same, 1, Duration::ZERO, Duration::ZERO, &go()).unwrap_err()),
        "timeout_ms"
    );
    assert_eq!(
        name(histogram_channel(&[1], 0, 1, &go()).unwrap_err()),
        "bins"
    );
    assert_eq!(name("both".parse::<LockOrder>().unwrap_err()), "order");
}

#[test]
fn the_lock_timeline_shows_one_holder_at_a_time() {
    let us = Duration::from_micros;
    let run = lock_timeline(3, 50, us(20), us(50), &go()).unwrap();
    assert_eq!((run.completed, run.timeouts), (150, 0));
    assert!(!run.holds_overlap("lock"));
    let holds = run.spans.iter().filter(|s| s.activity == Activity::Hold);
    assert_eq!(holds.count(), 150);
    // Every hold lasted at least its 50 µs.
    assert!(run
        .time_in(Activity::Hold)
        .iter()
        .all(|&t| t >= 50.0 * 50.0));
}

#[test]
fn opposite_order_deadlocks_and_the_timeout_sees_it() {
    let timeout = Duration::from_millis(200);
    let run = two_locks(
        LockOrder::Opposite,
        2,
        Duration::from_millis(1),
        timeout,
        &go(),
    )
    .unwrap();
    // Each round, both held their first lock and waited for the other's: someone gave up.
    let gave_up: Vec<&LockSpan> = run.spans.iter().filter(|s| s.timed_out).collect();
    assert!(gave_up.len() >= 2, "{:?}", run.spans);
    assert!(gave_up
        .iter()
        .all(|s| s.activity == Activity::Wait && s.duration_us >= 200_000.0));
    // A thread that gave up waited for its *second* lock, the one the other held.
    assert!(gave_up
        .iter()
        .all(|s| s.lock == LockOrder::Opposite.locks_of(s.thread_id)[1]));
}

#[test]
fn the_same_order_never_deadlocks() {
    let timeout = Duration::from_millis(500);
    let run = two_locks(LockOrder::Same, 3, Duration::from_millis(1), timeout, &go()).unwrap();
    assert_eq!((run.timeouts, run.completed), (0, 6));
    assert!(!run.holds_overlap("A+B"));
}

#[test]
fn a_stopped_deadlock_run_ends_without_hanging() {
    let stop = AtomicBool::new(true);
    let run = two_locks(LockOrder::Opposite, 100, Duration::ZERO, MAX_WAIT, &stop).unwrap();
    assert!(run.stopped && run.spans.is_empty());
}

#[test]
fn false_sharing_runs_count_their_own_counters() {
    for padded in [false, true] {
        let run = false_sharing(padded, 2, 10_000, &go()).unwrap();
        assert_eq!(run.totals, vec![10_000, 10_000]);
        assert_eq!(run.stride_bytes, if padded { 128 } else { 8 });
    }
    assert_eq!(std::mem::align_of::<SameLine>(), 64);
    assert_eq!(std::mem::size_of::<SameLine>(), 64);
    if cfg!(target_os = "linux") {
        assert!(matches!(cache_line_bytes(), Some(32..=256) | None));
    }
}

#[test]
fn every_histogram_agrees() {
    let values: Vec<u32> = (0..90_000u32).map(|i| (i * 7919) % 300).collect();
    let reference = histogram_sequential(&values, 256).unwrap();
    assert_eq!(reference.iter().sum::<u64>(), 90_000);
    assert_eq!(reference[255], 45 * 300); // each of 0..300 occurs 300 times; 255..300 in the last bin
    for threads in [1, 3] {
        assert_eq!(
            histogram_shared(&values, 256, threads, &go()).unwrap(),
            reference
        );
        let (counts, messages) = histogram_channel(&values, 256, threads, &go()).unwrap();
        assert_eq!(counts, reference);
        assert_eq!(messages, values.len().div_ceil(BLOCK));
    }
    assert_eq!(
        histogram_channel(&[], 4, 2, &go()).unwrap(),
        (vec![0; 4], 0)
    );
}

#[cfg(feature = "plot")]
#[test]
fn the_lock_timeline_draws_every_activity() {
    let run = two_locks(
        LockOrder::Opposite,
        1,
        Duration::from_millis(1),
        Duration::from_millis(100),
        &go(),
    )
    .unwrap();
    let svg = parlab_core::plot::lock_timeline("two locks", &run).unwrap();
    for text in [
        "two locks",
        "thread 0",
        "thread 1",
        "waiting for a lock",
        "holding it",
        "gave up",
    ] {
        assert!(svg.as_svg().contains(text), "{text}");
    }
}

#[test]
fn a_wait_from_outside_rust_is_checked_in_its_units() {
    assert_eq!(
        wait_in("hold_us", 50.0, 1e-6).unwrap(),
        Duration::from_micros(50)
    );
    assert_eq!(wait_in("timeout_ms", 0.0, 1e-3).unwrap(), Duration::ZERO);
    for bad in [-1.0, f64::NAN, f64::INFINITY, 3e6, 1e300] {
        let err = wait_in("hold_us", bad, 1e-6).unwrap_err().to_string();
        assert!(
            err.contains("hold_us") && err.contains(&bad.to_string()),
            "{err}"
        );
    }
}
