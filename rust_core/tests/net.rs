//! The latency server, both HTTP clients and the three modes (feature `net`).
#![cfg(feature = "net")]

use std::time::Duration;

use parlab_core::net::{self, LatencyServer, Mode};
use parlab_core::Error;

const LATENCY: Duration = Duration::from_millis(40);

#[test]
fn blocking_and_async_clients_fetch_a_page_after_the_latency() {
    let server = LatencyServer::start(LATENCY).unwrap();
    let (len, took) = parlab_core::workloads::timed(|| net::get_blocking(&server.url(3)));
    assert!(len.unwrap() > 0);
    assert!(took >= LATENCY);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let len = runtime
        .block_on(net::get_async(server.addr(), "/page/3"))
        .unwrap();
    assert_eq!(len, "<html><body>/page/3</body></html>\n".len());
}

#[test]
fn every_mode_downloads_every_page_once() {
    let server = LatencyServer::start(LATENCY).unwrap();
    let pages = 8;
    for mode in [Mode::Sequential, Mode::Threads(4), Mode::Async] {
        // Threads and async must have that many requests waiting together: evidence that
        // their waits overlap, whatever the machine's load (no clock involved).
        let together = match mode {
            Mode::Sequential => 1,
            Mode::Threads(n) => n,
            Mode::Async => pages,
        };
        server.rendezvous(together, Duration::from_secs(20));
        let run = net::download(&server, pages, mode).unwrap();
        let mut ids: Vec<usize> = run.jobs.iter().map(|j| j.id).collect();
        ids.sort();
        assert_eq!(ids, (0..pages).collect::<Vec<_>>(), "{mode}");
        assert!(run.jobs.iter().all(|j| j.duration_us >= 40e3), "{mode}");
        assert!(run.lanes() <= together, "{mode}");
        assert_eq!(server.check_rendezvous(), Ok(()), "{mode}");
        assert_eq!(server.requests(), pages, "{mode}");
        if mode == Mode::Sequential {
            // One request at a time, and each waits the latency: a lower bound, never a race.
            assert_eq!(server.peak_in_flight(), 1);
            assert!(run.elapsed_us >= 8.0 * 40e3, "{}", run.elapsed_us);
        }
    }
}

#[test]
fn a_rendezvous_tells_sequential_requests_from_overlapping_ones() {
    let server = LatencyServer::start(Duration::from_millis(1)).unwrap();
    server.rendezvous(3, Duration::from_millis(100));
    for i in 0..3 {
        net::get_blocking(&server.url(i)).unwrap();
    }
    let err = server.check_rendezvous().unwrap_err();
    assert!(
        err.starts_with("your code never had 3 pages in progress at once: at most 1 page at a time. 3 pages ran, each finished"),
        "{err}"
    );
    assert_eq!((server.peak_in_flight(), server.requests()), (1, 3));
    // Reset and met: three threads wait together.
    server.rendezvous(3, Duration::from_secs(20));
    std::thread::scope(|s| {
        for i in 0..3 {
            let url = server.url(i);
            s.spawn(move || net::get_blocking(&url).unwrap());
        }
    });
    assert_eq!(server.check_rendezvous(), Ok(()));
    assert_eq!((server.peak_in_flight(), server.requests()), (3, 3));
}

#[test]
fn cpu_jobs_run_under_every_mode() {
    for mode in [Mode::Sequential, Mode::Threads(2), Mode::Async] {
        let run = net::compute(18, 6, mode).unwrap();
        assert_eq!(run.jobs.len(), 6, "{mode}");
    }
    assert!(net::compute(18, 6, Mode::Threads(0)).is_err());
}

#[cfg(feature = "plot")]
#[test]
fn a_download_timeline_renders() {
    let server = LatencyServer::start(LATENCY).unwrap();
    let run = net::download(&server, 5, Mode::Async).unwrap();
    let chart = run.timeline().unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plots");
    std::fs::create_dir_all(&dir).unwrap();
    chart.save(dir.join("downloads_async.svg")).unwrap();
    assert!(chart.as_svg().contains("task 4"));
}

#[test]
fn a_refused_connection_is_a_network_error() {
    let server = LatencyServer::start(LATENCY).unwrap();
    let (url, addr) = (server.url(0), server.addr());
    drop(server); // the port is closed now
    let err = net::get_blocking(&url).unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    assert!(err.to_string().starts_with("network: "), "{err}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = runtime
        .block_on(net::get_async(addr, "/page/0"))
        .unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
}

#[test]
fn every_job_is_a_span_on_its_own_worker() {
    let run = net::compute(18, 12, Mode::Threads(3)).unwrap();
    assert!(run.jobs.iter().all(|s| s.worker < 3), "{:?}", run.jobs);
    assert!(run.jobs.windows(2).all(|w| w[0].start_us <= w[1].start_us));
    // The article's fib(18) is 4181: also the leaves of its recursion, the span's work.
    assert!(run.jobs.iter().all(|s| s.work == 4181.0));
    let run = net::compute(18, 5, Mode::Async).unwrap();
    let mut tasks: Vec<usize> = run.jobs.iter().map(|s| s.worker).collect();
    tasks.sort();
    assert_eq!(tasks, [0, 1, 2, 3, 4]);
}
