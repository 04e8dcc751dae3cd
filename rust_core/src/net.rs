//! The I/O-bound lesson (feature `net`): a local server that answers every request after
//! a fixed latency, and the same batch of jobs run three ways — one after another, on
//! threads, and as async tasks on a single thread — each recording a timeline.
//!
//! The server is async itself (tokio + hyper on one thread): waiting costs it nothing,
//! so it can hold hundreds of slow requests at once. The clients are real HTTP clients:
//! `ureq` (blocking) for the sequential and threaded versions, `hyper` for the async one.

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};

/// The async runtime of this lesson, for notebooks that write their own async code.
pub use tokio;

use crate::display::evcxr_show;
use crate::error::{Error, Result};
use crate::schedule;
use crate::timeline::{micros, RunClock, Span};
use crate::workloads::fib;

/// A local HTTP server on a free loopback port that answers `GET /page/<i>` after
/// `latency`: a stand-in for a slow web site. Stops when dropped.
///
/// It counts the requests it is answering at the same time ([`peak_in_flight`]), and after
/// [`rendezvous`]`(k, timeout)` it holds every request until `k` are in flight together:
/// evidence, the same on any machine, that a client's waits overlapped.
///
/// [`peak_in_flight`]: LatencyServer::peak_in_flight
/// [`rendezvous`]: LatencyServer::rendezvous
pub struct LatencyServer {
    addr: SocketAddr,
    latency: Duration,
    flight: Arc<InFlight>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

/// The requests being answered, and the rendezvous they may be held at.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
    requests: AtomicUsize,
    meet: Mutex<Meet>,
    met: Notify,
}

#[derive(Debug, Clone, Copy)]
struct Meet {
    k: usize,
    timeout: Duration,
    reached: bool,
    timed_out: bool,
}

impl Default for Meet {
    fn default() -> Self {
        Meet {
            k: 1,
            timeout: Duration::ZERO,
            reached: true,
            timed_out: false,
        }
    }
}

/// One request being answered: counted while it lives.
struct Answering<'a>(&'a InFlight);

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl InFlight {
    fn meet(&self) -> std::sync::MutexGuard<'_, Meet> {
        lock(&self.meet)
    }

    /// Counts a request in; it is answered when the guard is dropped.
    fn enter(&self) -> Answering<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.peak.fetch_max(now, Ordering::SeqCst);
        let mut meet = self.meet();
        if !meet.reached && now >= meet.k {
            meet.reached = true;
            self.met.notify_waiters();
        }
        Answering(self)
    }

    /// Holds the request until the rendezvous is reached, or once for its timeout.
    async fn wait(&self) {
        let timeout = self.meet().timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Created before the check: a notification in between is not missed.
            let met = self.met.notified();
            {
                let meet = self.meet();
                if meet.reached || meet.timed_out {
                    return;
                }
            }
            if tokio::time::timeout_at(deadline, met).await.is_err() {
                self.meet().timed_out = true;
                self.met.notify_waiters();
                return;
            }
        }
    }
}

impl LatencyServer {
    pub fn start(latency: Duration) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| net_error("could not start the server's runtime", e))?;
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| net_error("could not bind the server", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| net_error("could not read the server's address", e))?;
        let (stop, stopped) = oneshot::channel();
        let flight = Arc::new(InFlight::default());
        let counts = Arc::clone(&flight);
        let thread = thread::Builder::new()
            .name("parlab-latency-server".into())
            .spawn(move || runtime.block_on(serve(listener, latency, counts, stopped)))
            .map_err(|e| Error::ThreadPool(e.to_string()))?;
        Ok(LatencyServer {
            addr,
            latency,
            flight,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// The address of page `i`.
    pub fn url(&self, i: usize) -> String {
        format!("http://{}/page/{i}", self.addr)
    }

    /// The most requests this server was answering at once (since the last [`rendezvous`]).
    ///
    /// [`rendezvous`]: LatencyServer::rendezvous
    pub fn peak_in_flight(&self) -> usize {
        self.flight.peak.load(Ordering::SeqCst)
    }

    /// Requests received (since the last [`rendezvous`](LatencyServer::rendezvous)).
    pub fn requests(&self) -> usize {
        self.flight.requests.load(Ordering::SeqCst)
    }

    /// From now on, holds each request until `k` requests are in flight together, then
    /// answers after the latency as usual; a request that waits `timeout` in vain breaks the
    /// rendezvous (it and every later request are answered straight away). Resets the counts.
    /// Then [`check_rendezvous`](LatencyServer::check_rendezvous) tells whether the client
    /// ever had `k` requests waiting at once: concurrent code meets at once on any machine,
    /// code that waits for each answer before the next request never does.
    pub fn rendezvous(&self, k: usize, timeout: Duration) {
        let k = k.max(1);
        *self.flight.meet() = Meet {
            k,
            timeout,
            reached: k <= 1,
            timed_out: false,
        };
        self.flight.peak.store(0, Ordering::SeqCst);
        self.flight.requests.store(0, Ordering::SeqCst);
    }

    /// `Ok` if the last [`rendezvous`](LatencyServer::rendezvous) was reached; otherwise
    /// what the server saw, in plain words ("at most 1 page at a time").
    pub fn check_rendezvous(&self) -> Result<(), String> {
        let meet = *self.flight.meet();
        if meet.reached {
            return Ok(());
        }
        if self.requests() == 0 {
            return Err(
                "no page was requested from the server: fetch each page from it \
                        (its url(i) or addr())"
                    .into(),
            );
        }
        Err(crate::evidence::never_met(
            meet.k,
            "pages",
            self.peak_in_flight(),
            self.requests(),
            None,
        ))
    }

    /// Panics with [`check_rendezvous`](LatencyServer::check_rendezvous)'s message when it
    /// is an `Err`: for a test cell.
    #[track_caller]
    pub fn verify_rendezvous(&self) {
        if let Err(message) = self.check_rendezvous() {
            panic!("{message}");
        }
    }
}

impl Drop for LatencyServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for LatencyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LatencyServer(http://{}, {} ms per request)",
            self.addr,
            self.latency.as_millis()
        )
    }
}

async fn serve(
    listener: TcpListener,
    latency: Duration,
    flight: Arc<InFlight>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = &mut stopped => return,
        };
        let flight = Arc::clone(&flight);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let flight = Arc::clone(&flight);
                async move {
                    let _answering = flight.enter();
                    flight.wait().await;
                    tokio::time::sleep(latency).await;
                    let body = format!("<html><body>{}</body></html>\n", request.uri().path());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
                }
            });
            // A client that hangs up early is not the server's problem.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Downloads `url` with the blocking `ureq` client; returns the body's length.
pub fn get_blocking(url: &str) -> Result<usize> {
    let body = ureq::get(url)
        .call()
        .map_err(|e| net_error(url, e))?
        .into_body()
        .read_to_vec()
        .map_err(|e| net_error(url, e))?;
    Ok(body.len())
}

/// Downloads page `i` of the server at `addr` with `hyper`'s async client.
pub async fn get_async(addr: SocketAddr, path: &str) -> Result<usize> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| net_error(path, e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| net_error(path, e))?;
    // The connection does the actual reading and writing: it runs as its own task.
    tokio::spawn(connection);
    let request = Request::get(path)
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| net_error(path, e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| net_error(path, e))?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| net_error(path, e))?;
    Ok(body.to_bytes().len())
}

/// How a batch of jobs is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One job after another on this thread.
    Sequential,
    /// This many threads, each taking the next job when it is free.
    Threads(usize),
    /// One async task per job, all on a single thread (tokio's current-thread runtime).
    Async,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Sequential => f.write_str("sequential"),
            Mode::Threads(n) => write!(f, "{n} threads"),
            Mode::Async => f.write_str("async, 1 thread"),
        }
    }
}

/// A batch of jobs run one way, with its timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    pub what: String,
    pub mode: Mode,
    /// One span per job, by start time: `worker` is the thread, or for async the task.
    pub jobs: Vec<Span>,
    pub elapsed_us: f64,
}

impl JobRun {
    /// "thread" or, for async runs, "task": what a lane of the timeline is.
    pub fn lane_name(&self) -> &'static str {
        match self.mode {
            Mode::Async => "task",
            _ => "thread",
        }
    }

    pub fn lanes(&self) -> usize {
        self.jobs.iter().map(|j| j.worker + 1).max().unwrap_or(1)
    }

    pub fn evcxr_display(&self) {
        evcxr_show("text/plain", &self.to_string());
    }
}

impl fmt::Display for JobRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {}: {} jobs in {:.1} ms",
            self.what,
            self.mode,
            self.jobs.len(),
            self.elapsed_us / 1e3
        )
    }
}

/// Downloads pages 0..`pages` from `server` under `mode`.
pub fn download(server: &LatencyServer, pages: usize, mode: Mode) -> Result<JobRun> {
    let what = format!("{pages} downloads");
    match mode {
        Mode::Async => {
            let addr = server.addr();
            run_async(what, pages, move |i| async move {
                get_async(addr, &format!("/page/{i}")).await.map(|_| 0.0)
            })
        }
        _ => run_blocking(what, pages, mode, |i| {
            get_blocking(&server.url(i)).map(|_| 0.0)
        }),
    }
}

/// Computes fib(`n`) `count` times under `mode`: CPU-bound jobs, for comparison.
pub fn compute(n: u32, count: usize, mode: Mode) -> Result<JobRun> {
    let what = format!("{count} × fib({n})");
    match mode {
        Mode::Async => run_async(what, count, move |_| async move {
            Ok(std::hint::black_box(fib(n)) as f64)
        }),
        _ => run_blocking(what, count, mode, |_| {
            Ok(std::hint::black_box(fib(n)) as f64)
        }),
    }
}

/// Runs jobs 0..count one after another on this thread, or on threads that take the next
/// job from a shared counter: the same two functions that schedule a render's tiles. A job
/// returns its work (see [`Span`]); the first failure stops the batch and is returned.
fn run_blocking(
    what: String,
    count: usize,
    mode: Mode,
    job: impl Fn(usize) -> Result<f64> + Sync,
) -> Result<JobRun> {
    let ids: Vec<usize> = (0..count).collect();
    let clock = RunClock::start();
    let jobs = Mutex::new(Vec::with_capacity(count));
    let failure = Mutex::new(None);
    let run_one = |worker: usize, &id: &usize| -> ControlFlow<()> {
        let start = clock.elapsed();
        let outcome = job(id);
        let end = clock.elapsed();
        match outcome {
            Ok(work) => {
                let span = job_span(&what, worker, id, start, end, work);
                lock(&jobs).push(span);
                ControlFlow::Continue(())
            }
            Err(e) => {
                lock(&failure).get_or_insert(e);
                ControlFlow::Break(())
            }
        }
    };
    match mode {
        Mode::Threads(0) => return Err(Error::invalid("threads", "must be at least 1")),
        Mode::Threads(n) => schedule::dynamic(&ids, n, &run_one)?,
        _ => schedule::sequential(&ids, &run_one)?,
    }
    if let Some(e) = lock(&failure).take() {
        return Err(e);
    }
    let mut jobs = std::mem::take(&mut *lock(&jobs));
    jobs.sort_by(|a, b| a.start_us.total_cmp(&b.start_us));
    Ok(JobRun {
        what,
        mode,
        jobs,
        elapsed_us: micros(clock.elapsed()),
    })
}

/// Job `id` of the batch `what`, run by `worker` between two readings of the run's clock.
fn job_span(
    what: &str,
    worker: usize,
    id: usize,
    start: Duration,
    end: Duration,
    work: f64,
) -> Span {
    Span {
        worker,
        id,
        start_us: micros(start),
        duration_us: micros(end.saturating_sub(start)),
        label: format!("{what}: job {id}"),
        work,
    }
}

/// A lock that a panicking job cannot poison for the others: the data are plain records.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs one async task per job on a single-threaded tokio runtime; task i is lane i.
fn run_async<F>(what: String, count: usize, job: impl Fn(usize) -> F) -> Result<JobRun>
where
    F: std::future::Future<Output = Result<f64>> + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| net_error("could not start a tokio runtime", e))?;
    let clock = RunClock::start();
    let jobs = runtime.block_on(async {
        let local = tokio::task::LocalSet::new();
        let tasks: Vec<_> = (0..count)
            .map(|id| {
                let future = job(id);
                let what = what.clone();
                local.spawn_local(async move {
                    let start = clock.elapsed();
                    let work = future.await?;
                    let end = clock.elapsed();
                    Ok::<_, Error>(job_span(&what, id, id, start, end, work))
                })
            })
            .collect();
        local
            .run_until(async {
                let mut jobs = Vec::with_capacity(count);
                for task in tasks {
                    jobs.push(task.await.map_err(|e| net_error("a task failed", e))??);
                }
                Ok::<_, Error>(jobs)
            })
            .await
    })?;
    Ok(JobRun {
        what,
        mode: Mode::Async,
        jobs,
        elapsed_us: micros(clock.elapsed()),
    })
}

fn net_error(what: &str, e: impl fmt::Display) -> Error {
    Error::Network(format!("{what}: {e}"))
}

#[cfg(feature = "plot")]
impl JobRun {
    /// The run's timeline: a row per thread (or per task, for async runs), coloured by row.
    pub fn timeline(&self) -> Result<crate::plot::Chart> {
        crate::plot::spans_timeline(
            &self.to_string(),
            self.lane_name(),
            self.lanes(),
            &self.jobs,
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_job_stops_the_batch_with_its_error() {
        for mode in [Mode::Sequential, Mode::Threads(2)] {
            let err = run_blocking("batch".into(), 50, mode, |id| {
                if id == 3 {
                    Err(Error::Network(format!("job {id} failed")))
                } else {
                    Ok(1.0)
                }
            })
            .unwrap_err();
            assert_eq!(err, Error::Network("job 3 failed".into()), "{mode}");
        }
        let err = run_blocking("batch".into(), 5, Mode::Threads(0), |_| Ok(0.0)).unwrap_err();
        assert!(err.to_string().starts_with("threads:"), "{err}");
    }
}
