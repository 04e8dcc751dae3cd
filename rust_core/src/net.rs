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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::display::evcxr_show;
use crate::error::{Error, Result};
use crate::timeline::{micros, RunClock};
use crate::workloads::fib;

/// A local HTTP server on a free loopback port that answers `GET /page/<i>` after
/// `latency`: a stand-in for a slow web site. Stops when dropped.
pub struct LatencyServer {
    addr: SocketAddr,
    latency: Duration,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
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
        let thread = thread::Builder::new()
            .name("parlab-latency-server".into())
            .spawn(move || runtime.block_on(serve(listener, latency, stopped)))
            .map_err(|e| Error::ThreadPool(e.to_string()))?;
        Ok(LatencyServer {
            addr,
            latency,
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

async fn serve(listener: TcpListener, latency: Duration, mut stopped: oneshot::Receiver<()>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = &mut stopped => return,
        };
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<Incoming>| async move {
                    tokio::time::sleep(latency).await;
                    let body = format!("<html><body>{}</body></html>\n", request.uri().path());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
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

/// One job of a batch: which lane ran it (a thread, or for async a task) and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: usize,
    pub lane: usize,
    pub start_us: f64,
    pub duration_us: f64,
}

/// A batch of jobs run one way, with its timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    pub what: String,
    pub mode: Mode,
    pub jobs: Vec<Job>,
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
        self.jobs.iter().map(|j| j.lane + 1).max().unwrap_or(1)
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
                get_async(addr, &format!("/page/{i}")).await.map(|_| ())
            })
        }
        _ => run_blocking(what, pages, mode, |i| {
            get_blocking(&server.url(i)).map(|_| ())
        }),
    }
}

/// Computes fib(`n`) `count` times under `mode`: CPU-bound jobs, for comparison.
pub fn compute(n: u32, count: usize, mode: Mode) -> Result<JobRun> {
    let what = format!("{count} × fib({n})");
    match mode {
        Mode::Async => run_async(what, count, move |_| async move {
            std::hint::black_box(fib(n));
            Ok(())
        }),
        _ => run_blocking(what, count, mode, |_| {
            std::hint::black_box(fib(n));
            Ok(())
        }),
    }
}

/// Runs jobs 0..count one after another, or on threads that pull the next job number.
fn run_blocking(
    what: String,
    count: usize,
    mode: Mode,
    job: impl Fn(usize) -> Result<()> + Sync,
) -> Result<JobRun> {
    let threads = match mode {
        Mode::Threads(n) if n >= 1 => n,
        Mode::Threads(_) => return Err(Error::invalid("threads", "must be at least 1")),
        _ => 1,
    };
    let clock = RunClock::start();
    let next = AtomicUsize::new(0);
    let jobs = Mutex::new(Vec::with_capacity(count));
    let worker = |lane: usize| -> Result<()> {
        loop {
            let id = next.fetch_add(1, Ordering::Relaxed);
            if id >= count {
                return Ok(());
            }
            let start = clock.elapsed();
            job(id)?;
            let end = clock.elapsed();
            let record = Job {
                id,
                lane,
                start_us: micros(start),
                duration_us: micros(end - start),
            };
            jobs.lock().map_err(|_| poisoned())?.push(record);
        }
    };
    if threads == 1 {
        worker(0)?;
    } else {
        thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|lane| s.spawn(move || worker(lane)))
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().map_err(|_| poisoned())?)
        })?;
    }
    let mut jobs = jobs.into_inner().map_err(|_| poisoned())?;
    jobs.sort_by(|a, b| a.start_us.total_cmp(&b.start_us));
    Ok(JobRun {
        what,
        mode,
        jobs,
        elapsed_us: micros(clock.elapsed()),
    })
}

/// Runs one async task per job on a single-threaded tokio runtime; task i is lane i.
fn run_async<F>(what: String, count: usize, job: impl Fn(usize) -> F) -> Result<JobRun>
where
    F: std::future::Future<Output = Result<()>> + 'static,
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
                let work = job(id);
                local.spawn_local(async move {
                    let start = clock.elapsed();
                    work.await?;
                    let end = clock.elapsed();
                    Ok::<_, Error>(Job {
                        id,
                        lane: id,
                        start_us: micros(start),
                        duration_us: micros(end - start),
                    })
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
    Error::Output(format!("{what}: {e}"))
}

fn poisoned() -> Error {
    Error::ThreadPool("a worker thread panicked".into())
}

#[cfg(feature = "plot")]
impl JobRun {
    /// The run's jobs as timeline bars.
    pub fn spans(&self) -> Vec<crate::plot::Span> {
        self.jobs
            .iter()
            .map(|j| crate::plot::Span {
                lane: j.lane,
                start_us: j.start_us,
                duration_us: j.duration_us,
                weight: 0.0,
            })
            .collect()
    }

    /// The run's timeline: a row per thread (or per task, for async runs).
    pub fn timeline(&self) -> Result<crate::plot::Chart> {
        crate::plot::spans_timeline(
            &self.to_string(),
            self.lane_name(),
            self.lanes(),
            &self.spans(),
        )
    }
}
