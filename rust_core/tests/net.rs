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
    let mut elapsed = Vec::new();
    for mode in [Mode::Sequential, Mode::Threads(4), Mode::Async] {
        let run = net::download(&server, pages, mode).unwrap();
        let mut ids: Vec<usize> = run.jobs.iter().map(|j| j.id).collect();
        ids.sort();
        assert_eq!(ids, (0..pages).collect::<Vec<_>>(), "{mode}");
        assert!(run.jobs.iter().all(|j| j.duration_us >= 40e3), "{mode}");
        let lanes = match mode {
            Mode::Sequential => 1,
            Mode::Threads(n) => n,
            Mode::Async => pages,
        };
        assert!(run.lanes() <= lanes, "{mode}");
        elapsed.push(run.elapsed_us);
    }
    // Sequential waits 8 × 40 ms at least; the others overlap their waits. A wide margin.
    assert!(elapsed[0] >= 8.0 * 40e3);
    assert!(
        elapsed[1] < elapsed[0] && elapsed[2] < elapsed[0],
        "{elapsed:?}"
    );
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
