//! Long work on worker threads while the calling thread keeps watch: it receives what the
//! workers send and, every [`TICK`] without news, asks whether to go on. This is how the
//! Python binding keeps Ctrl-C working during a render or a batch of calls: its answer
//! checks Python's signals, and `Break` raises the workers' stop flag.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// How often the calling thread wakes up without news, to check for interrupts.
pub const TICK: Duration = Duration::from_millis(10);

/// Receives from `news` until every sender is gone, calling `on_news(Some(message))` for
/// each message and `on_news(None)` after each [`TICK`] without one. When `on_news` returns
/// `Break`, `stop` is raised and `on_news` is not called again, but the rest is still
/// received, so that the workers can finish their send and stop. Returns whether it stopped.
pub fn watch<M>(
    news: &Receiver<M>,
    stop: &AtomicBool,
    mut on_news: impl FnMut(Option<M>) -> ControlFlow<()>,
) -> bool {
    let mut stopped = false;
    loop {
        let message = match news.recv_timeout(TICK) {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return stopped,
        };
        if !stopped && on_news(message).is_break() {
            stopped = true;
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Runs `job` on a scoped thread while this thread calls `on_tick` every [`TICK`]; when
/// `on_tick` returns `Break`, the job's stop flag is raised. Returns the job's result once
/// it has finished, and whether it was asked to stop. A panic in `job` is re-raised here.
pub fn run_cancellable<T: Send>(
    job: impl FnOnce(&AtomicBool) -> T + Send,
    mut on_tick: impl FnMut() -> ControlFlow<()>,
) -> (T, bool) {
    let stop = AtomicBool::new(false);
    let (done, news) = mpsc::channel::<()>();
    thread::scope(|scope| {
        let stop = &stop;
        let worker = scope.spawn(move || {
            let value = job(stop);
            drop(done); // the end of the news: `watch` returns
            value
        });
        let asked = watch(&news, stop, |_| on_tick());
        match worker.join() {
            Ok(value) => (value, asked),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_job_stops_when_asked() {
        let mut ticks = 0;
        let (spins, asked) = run_cancellable(
            |stop| {
                let mut spins = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    spins += 1;
                    std::hint::spin_loop();
                }
                spins
            },
            || {
                ticks += 1;
                if ticks == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert!(asked && spins > 0);
        assert_eq!(ticks, 3, "no tick after the one that asked to stop");
    }

    #[test]
    fn a_job_that_ends_keeps_its_value_and_says_whether_it_was_asked() {
        // However the ticks fall on a busy machine: the value is the job's, and "asked"
        // is true exactly when a tick came (this one always answers Break).
        let mut ticks = 0;
        let (value, asked) = run_cancellable(
            |_| 7,
            || {
                ticks += 1;
                ControlFlow::Break(())
            },
        );
        assert_eq!(value, 7);
        assert_eq!(asked, ticks > 0);
        assert!(ticks <= 1);
    }

    #[test]
    fn a_panicking_job_panics_here_instead_of_hanging() {
        let outcome = std::panic::catch_unwind(|| {
            run_cancellable(|_| -> u32 { panic!("boom") }, || ControlFlow::Continue(()))
        });
        assert!(outcome.is_err());
    }

    #[test]
    fn watch_passes_every_message_and_stops_asking_after_break() {
        let (send, news) = mpsc::channel();
        let stop = AtomicBool::new(false);
        let sender = thread::spawn(move || (0..5).for_each(|i| send.send(i).unwrap()));
        let mut seen = Vec::new();
        let stopped = watch(&news, &stop, |message| {
            if let Some(i) = message {
                seen.push(i);
            }
            if seen.len() == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        sender.join().unwrap();
        assert!(stopped && stop.load(Ordering::Relaxed));
        assert_eq!(seen, [0, 1, 2]);
    }
}
