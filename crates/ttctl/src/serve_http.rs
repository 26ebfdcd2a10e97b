//! `serve`'s HTTP layer: HTTP/1.1 by hyper 1.x on a single-threaded tokio runtime, with every
//! resource a client can hold bounded. The answers themselves come from a handler that knows
//! nothing of HTTP (serve.rs), run on tokio's small blocking pool since reading the ledger
//! touches files.
//!
//! What a client can hold, and for how long:
//! - a request head of at most [`Limits::max_head_bytes`] and [`Limits::max_headers`] lines
//!   (else 431), read within [`Limits::header_timeout`] (else the connection is closed);
//! - no request body: a request that declares one is answered 413 and the connection closed
//!   without reading it, whatever length it declares;
//! - a connection that moves no byte either way for [`Limits::idle_timeout`] is closed, so a
//!   client that pipelines requests and never reads the answers is dropped too;
//! - at most [`Limits::max_connections`] connections (fewer when the descriptor limit is
//!   lower): the connection past the cap closes the oldest one that is not being answered
//!   (a stalled or idle one), or is itself closed when every one is being answered. Nothing
//!   waits in a queue, so a scrape is never stuck behind idle connections;
//! - a failed accept (out of descriptors) closes the oldest idle connection and backs off
//!   (10 ms doubling to 1 s) instead of ending the listener.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// What a client may hold of the server; see the module's documentation.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Open connections at most (lowered to fit the descriptor limit).
    pub max_connections: usize,
    /// Bytes of one request head (request line and headers) at most.
    pub max_head_bytes: usize,
    /// Header lines of one request at most.
    pub max_headers: usize,
    /// Time to send a whole request head.
    pub header_timeout: Duration,
    /// Time a connection may move no byte before it is closed.
    pub idle_timeout: Duration,
    /// Answers rendered at once; further requests wait for one of these threads.
    pub render_threads: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 256,
            max_head_bytes: 16 * 1024,
            max_headers: 64,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(15),
            render_threads: 4,
        }
    }
}

/// Descriptors kept free of connections for reading the ledger and for the runtime itself.
const FD_RESERVE: u64 = 48;

/// hyper refuses a read buffer smaller than this.
const HYPER_MIN_BUF: usize = 8192;

/// A request as the handler sees it.
pub struct Head {
    /// The method, as sent.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query, without `?` (empty when there is none).
    pub query: String,
}

/// An answer: status, content type, body.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The Content-Type header.
    pub content_type: &'static str,
    /// The body (left out for HEAD by hyper).
    pub body: String,
}

impl Answer {
    /// A 200 of `content_type`.
    pub fn ok(content_type: &'static str, body: String) -> Answer {
        Answer { status: 200, content_type, body }
    }

    /// Plain text with `status`.
    pub fn text(status: u16, body: String) -> Answer {
        Answer { status, content_type: "text/plain; charset=utf-8", body }
    }
}

/// What answers a request head; runs on a blocking thread.
pub type Handler = Arc<dyn Fn(&Head) -> Answer + Send + Sync>;

/// One open connection, as the registry knows it.
struct Slot {
    /// A request of it is being answered: it is not closed to make room.
    busy: AtomicBool,
    /// Raised to close it (to make room for a newer one).
    close: Notify,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Registry {
    next: u64,
    open: BTreeMap<u64, Arc<Slot>>,
}

impl Registry {
    /// Closes the oldest connection that is not being answered; false when there is none.
    fn close_oldest_idle(&mut self) -> bool {
        let victim = self.open.iter().find(|(_, slot)| !slot.busy.load(Ordering::Acquire));
        match victim.map(|(id, _)| *id).and_then(|id| self.open.remove(&id)) {
            Some(slot) => {
                slot.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Admits a new connection when there is room or room can be made.
    /// The flag says whether a connection was closed for it.
    fn admit(&mut self, cap: usize) -> Option<(u64, Arc<Slot>, bool)> {
        let full = self.open.len() >= cap;
        if full && !self.close_oldest_idle() {
            return None;
        }
        let id = self.next;
        self.next += 1;
        let slot = Arc::new(Slot { busy: AtomicBool::new(false), close: Notify::new() });
        self.open.insert(id, Arc::clone(&slot));
        Some((id, slot, full))
    }
}

/// What every connection task shares.
struct Shared {
    limits: Limits,
    handler: Handler,
    registry: Mutex<Registry>,
    epoch: Instant,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The connection cap that fits `limit` descriptors.
fn connection_cap(wanted: usize, nofile: Option<u64>) -> usize {
    let fits = nofile.map_or(wanted as u64, |limit| limit.saturating_sub(FD_RESERVE).max(1));
    wanted.min(usize::try_from(fits).unwrap_or(usize::MAX)).max(1)
}

/// Serves `listener` until `stop` resolves, then lets answers in flight finish (at most two
/// seconds). Returns the connection cap in force, for the start-up line.
pub fn run(
    listener: std::net::TcpListener,
    limits: Limits,
    handler: Handler,
    ready: impl FnOnce(SocketAddr, usize) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(limits.render_threads.max(1))
        .build()
        .context("starting serve's event loop")?;
    let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(soft, _)| soft);
    let cap = connection_cap(limits.max_connections, nofile);
    let addr = listener.local_addr().context("reading the address listened on")?;
    let result = runtime.block_on(async {
        listener.set_nonblocking(true).context("making the listening socket non-blocking")?;
        let listener = TcpListener::from_std(listener).context("registering the listener")?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let signals = stop_on_signals(stop_tx)?;
        ready(addr, cap)?;
        let shared = Arc::new(Shared {
            limits: Limits { max_connections: cap, ..limits },
            handler,
            registry: Mutex::new(Registry::default()),
            epoch: Instant::now(),
        });
        accept_loop(&listener, &shared, stop_rx.clone()).await;
        drop(listener);
        // Answers in flight get a moment to finish; idle connections close at once.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !shared.registry.lock().open.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        signals.abort();
        anyhow::Ok(())
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Raises `stop` on the first SIGINT or SIGTERM; a second one ends the process at once (exit
/// 1), should an answer be stuck.
fn stop_on_signals(stop: watch::Sender<bool>) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use anyhow::Context as _;
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(tokio::spawn(async move {
        for round in 0..2 {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if round == 0 {
                let _ = stop.send(true);
            } else {
                std::process::exit(1);
            }
        }
    }))
}

/// An accept error that says the process or system is out of something, not that one
/// connection failed.
fn out_of_resources(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc_errno::EMFILE | libc_errno::ENFILE | libc_errno::ENOBUFS | libc_errno::ENOMEM)
    )
}

/// The errno values [`out_of_resources`] looks for (Linux numbering, as nix exposes them).
mod libc_errno {
    pub const EMFILE: i32 = nix::errno::Errno::EMFILE as i32;
    pub const ENFILE: i32 = nix::errno::Errno::ENFILE as i32;
    pub const ENOBUFS: i32 = nix::errno::Errno::ENOBUFS as i32;
    pub const ENOMEM: i32 = nix::errno::Errno::ENOMEM as i32;
}

async fn accept_loop(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::ZERO;
    let mut warned: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((stream, _peer)) => {
                backoff = Duration::ZERO;
                let admitted = shared.registry.lock().admit(shared.limits.max_connections);
                match admitted {
                    Some((id, slot, closed_one)) => {
                        let task = connection(stream, id, slot, Arc::clone(shared), stop.clone());
                        tokio::spawn(task);
                        // Let the closed connection's task run and give its descriptor back
                        // before the next accept, so a burst does not outrun the cap.
                        if closed_one {
                            tokio::task::yield_now().await;
                        }
                    }
                    // Every connection is being answered: this one is refused, not queued.
                    None => drop(stream),
                }
            }
            Err(error) if out_of_resources(&error) => {
                // Once a minute at most: a flood must not become a flood of log lines.
                if warned.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                    warned = Some(Instant::now());
                    tracing::warn!(
                        "accepting a connection: {error}; closing the oldest idle connection \
                         and retrying with back-off (raise the limit with `ulimit -n` or lower \
                         --max-connections)"
                    );
                }
                shared.registry.lock().close_oldest_idle();
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => return,
                }
            }
            // One connection's failure (reset before accept): the next one starts afresh.
            Err(error) => tracing::debug!("accepting a connection: {error}"),
        }
    }
}

/// One connection, served until it ends, is closed to make room, idles past the limit or
/// the server stops.
async fn connection(
    stream: TcpStream,
    id: u64,
    slot: Arc<Slot>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(AtomicU64::new(shared.now_ms()));
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
        epoch: shared.epoch,
    });
    let limits = &shared.limits;
    let service = {
        let (slot, shared) = (Arc::clone(&slot), Arc::clone(&shared));
        hyper::service::service_fn(move |request| {
            answer(request, Arc::clone(&slot), Arc::clone(&shared))
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_head_bytes.max(HYPER_MIN_BUF))
        .max_header_size(limits.max_head_bytes)
        .max_headers(limits.max_headers);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let idle_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut stopping = false;
    loop {
        let quiet = shared.now_ms().saturating_sub(activity.load(Ordering::Relaxed));
        let wait = Duration::from_millis(idle_ms.saturating_sub(quiet).max(1));
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = slot.close.notified() => break,
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = tokio::time::sleep(wait) => {
                let quiet = shared.now_ms().saturating_sub(activity.load(Ordering::Relaxed));
                if quiet >= idle_ms && !slot.busy.load(Ordering::Acquire) {
                    break;
                }
            }
        }
    }
    shared.registry.lock().open.remove(&id);
}

/// Marks a slot busy while a request of it is answered.
struct Busy(Arc<Slot>);

impl Busy {
    fn new(slot: Arc<Slot>) -> Busy {
        slot.busy.store(true, Ordering::Release);
        Busy(slot)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Release);
    }
}

/// True when `request` says a body follows.
fn declares_body(request: &Request<Incoming>) -> bool {
    let headers = request.headers();
    headers.contains_key(TRANSFER_ENCODING)
        || headers.get_all(CONTENT_LENGTH).iter().any(|length| length.as_bytes() != b"0")
}

async fn answer(
    request: Request<Incoming>,
    slot: Arc<Slot>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let _busy = Busy::new(slot);
    if declares_body(&request) {
        let refused = Answer::text(413, "ttctl serve takes no request body; send GET\n".into());
        return Ok(response(refused, true));
    }
    let head = Head {
        method: request.method().as_str().to_owned(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or("").to_owned(),
    };
    let handler = Arc::clone(&shared.handler);
    let answer = tokio::task::spawn_blocking(move || handler(&head)).await.unwrap_or_else(|e| {
        tracing::warn!("answering a request: {e}");
        Answer::text(500, "ttctl serve: the answer failed; see the server's log\n".into())
    });
    Ok(response(answer, false))
}

fn response(answer: Answer, close: bool) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    if close {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A socket that notes when it last moved a byte, for the idle timeout.
struct Watched {
    inner: TcpStream,
    activity: Arc<AtomicU64>,
    epoch: Instant,
}

impl Watched {
    fn moved(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.activity.store(now, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.moved();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_descriptors_for_the_ledger() {
        assert_eq!(connection_cap(256, None), 256);
        assert_eq!(connection_cap(256, Some(1024)), 256);
        assert_eq!(connection_cap(256, Some(200)), 152);
        assert_eq!(connection_cap(256, Some(10)), 1);
    }

    #[test]
    fn the_cap_closes_the_oldest_idle_connection_or_refuses_when_all_are_busy() {
        let mut registry = Registry::default();
        let (first, a, _) = registry.admit(2).unwrap();
        let (_, b, closed) = registry.admit(2).unwrap();
        assert!(!closed);
        a.busy.store(true, Ordering::Release);
        // The first is being answered: the second, idle, makes room.
        let (third, _, closed) = registry.admit(2).unwrap();
        assert!(closed);
        assert_eq!(registry.open.keys().copied().collect::<Vec<_>>(), vec![first, third]);
        drop(b);
        registry.open.values().for_each(|slot| slot.busy.store(true, Ordering::Release));
        assert!(registry.admit(2).is_none());
        assert_eq!(registry.open.len(), 2);
    }
}
