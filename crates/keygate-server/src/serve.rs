//! The accept loop and each connection's limits: a slow or silent client cannot hold a
//! connection, and the node holds at most `max_connections` (docs/decisions.md, "Connections").
//!
//! `axum::serve` has none of these knobs, so the loop drives hyper's HTTP/1 connection itself.
//! The deadlines live in the socket's read path, as hyper's own header timer does, and cost the
//! hot path a few atomic operations per request:
//!
//! - from accept, and from the first byte of a later request, the headers must be complete
//!   within `header_read_timeout`;
//! - between requests (after a response, before the next request's first byte), the connection
//!   may wait `idle_timeout`; while a response is still being written the same deadline bounds
//!   how long a client may take to read it;
//! - while a request is being handled, no socket deadline applies (the upstream has its own,
//!   `upstream_timeout`); its body must arrive within `body_read_timeout` of the headers' end,
//!   which [`TimedBody`] enforces where the handler reads it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use futures::task::AtomicWaker;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::front::{Front, MakeFront};

/// The limits the loop applies, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

/// Where a connection is between requests, shared by its socket ([`TimedIo`]) and its service
/// (`front::Front`). Both are polled by the connection's one task, so relaxed atomics suffice.
pub struct ConnClock {
    origin: Instant,
    /// The phase in the top two bits, and when it began (milliseconds since `origin`) below.
    state: AtomicU64,
    /// The connection's task, as last seen by a read that waited while a request was handled:
    /// woken when the response is ready, so the read is polled again and arms the idle
    /// deadline (hyper does not poll a read that is already waiting).
    reader: AtomicWaker,
}

const PHASE_SHIFT: u32 = 62;
const SINCE_MASK: u64 = (1 << PHASE_SHIFT) - 1;
/// Accepted; waiting for the first request's headers.
const FRESH: u64 = 0;
/// A response was given; waiting for the next request's first byte.
const IDLE: u64 = 1;
/// A request's first byte came; waiting for the rest of its headers.
const HEADERS: u64 = 2;
/// A request is being handled.
const BUSY: u64 = 3;

impl ConnClock {
    fn new() -> ConnClock {
        ConnClock {
            origin: Instant::now(),
            state: AtomicU64::new(FRESH << PHASE_SHIFT),
            reader: AtomicWaker::new(),
        }
    }

    fn set(&self, phase: u64) {
        let since = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(SINCE_MASK);
        self.state.store(
            (phase << PHASE_SHIFT) | (since & SINCE_MASK),
            Ordering::Relaxed,
        );
    }

    fn phase(&self) -> (u64, u64) {
        let state = self.state.load(Ordering::Relaxed);
        (state >> PHASE_SHIFT, state & SINCE_MASK)
    }

    /// The service has the request's headers.
    pub fn busy(&self) {
        self.set(BUSY);
    }

    /// The service has its response.
    pub fn idle(&self) {
        self.set(IDLE);
        self.reader.wake();
    }

    fn first_byte(&self) {
        if self.phase().0 == IDLE {
            self.set(HEADERS);
        }
    }

    /// When a read that is still waiting must give up, and which limit that is; `None` while a
    /// request is being handled.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, &'static str)> {
        let (phase, since) = self.phase();
        let (limit, name) = match phase {
            FRESH | HEADERS => (limits.header_read_timeout, "header_read_timeout"),
            IDLE => (limits.idle_timeout, "idle_timeout"),
            _ => return None,
        };
        Some((self.origin + Duration::from_millis(since) + limit, name))
    }
}

/// A connection's socket with the deadlines of [`ConnClock`] on its reads. A read past its
/// deadline fails with `TimedOut`, and hyper closes the connection.
struct TimedIo<S = TcpStream> {
    inner: S,
    clock: Arc<ConnClock>,
    limits: Limits,
    sleep: Option<(Pin<Box<Sleep>>, Instant)>,
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.clock.first_byte();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let Some((deadline, name)) = this.clock.deadline(&this.limits) else {
                    this.clock.reader.register(cx.waker());
                    return Poll::Pending;
                };
                let sleep = match &mut this.sleep {
                    Some((sleep, armed)) => {
                        if *armed != deadline {
                            sleep.as_mut().reset(deadline);
                            *armed = deadline;
                        }
                        sleep
                    }
                    None => {
                        &mut this
                            .sleep
                            .insert((Box::pin(tokio::time::sleep_until(deadline)), deadline))
                            .0
                    }
                };
                ready!(sleep.as_mut().poll(cx));
                metrics::counter!("keygate_connection_timeouts_total", "limit" => name)
                    .increment(1);
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, name)))
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The request body did not arrive within `body_read_timeout`; the handler answers 408
/// (`ApiError::from_body_error`).
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within body_read_timeout")]
pub struct BodyTimeout;

/// A request body that fails with [`BodyTimeout`] when a read is still waiting at its deadline.
/// The timer is made only when a read has to wait, so a body that came with its headers costs
/// none.
pub struct TimedBody {
    inner: Incoming,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl TimedBody {
    pub fn new(inner: Incoming, deadline: Instant) -> TimedBody {
        TimedBody {
            inner,
            deadline,
            sleep: None,
        }
    }
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                ready!(sleep.as_mut().poll(cx));
                metrics::counter!("keygate_connection_timeouts_total", "limit" => "body_read_timeout")
                    .increment(1);
                Poll::Ready(Some(Err(Box::new(BodyTimeout))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Is `error`, or anything it was caused by, a [`BodyTimeout`]?
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<BodyTimeout>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// Accept and serve connections until `shutdown` completes; then stop accepting (the listener
/// is closed, so new connections are refused), let the requests in flight finish within
/// `shutdown_timeout` (or until `force` completes), and close what is still open after it
/// (docs/decisions.md, "Stopping").
pub async fn serve(
    listener: TcpListener,
    make: MakeFront,
    limits: Limits,
    tls: Option<Arc<crate::tls::TlsFiles>>,
    shutdown: impl Future<Output = ()>,
    force: impl Future<Output = ()>,
) {
    warn_if_file_limit_is_low(limits.max_connections);
    let mut http = hyper::server::conn::http1::Builder::new();
    // The loop's own deadlines replace hyper's header timer (which would also end idle
    // keep-alive connections at the header deadline).
    http.header_read_timeout(None);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // At max_connections the loop stops accepting: new connections wait in the kernel's
        // listen backlog until a connection closes (the deadlines above bound how long that is).
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let clock = Arc::new(ConnClock::new());
        let io = TimedIo {
            inner: stream,
            clock: clock.clone(),
            limits,
            sleep: None,
        };
        let front = make.front(remote, clock);
        match &tls {
            None => {
                let conn = http.serve_connection(TokioIo::new(io), front);
                connections.spawn(connection(conn, remote, closing_rx.clone(), permit));
            }
            // The handshake runs in the connection's task (a slow one cannot hold up the
            // accept loop) over the timed socket, so header_read_timeout bounds it too.
            Some(files) => {
                let acceptor = files.acceptor();
                let http = http.clone();
                let closing = closing_rx.clone();
                connections.spawn(async move {
                    match acceptor.accept(io).await {
                        Ok(stream) => {
                            let conn = http.serve_connection(TokioIo::new(stream), front);
                            connection(conn, remote, closing, permit).await;
                        }
                        Err(e) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
    let open = connections.len();
    if open > 0 {
        tracing::info!(
            open,
            "stopped accepting; waiting for the requests in flight"
        );
    }
    let drained = tokio::select! {
        drained = tokio::time::timeout(limits.shutdown_timeout, async {
            while connections.join_next().await.is_some() {}
        }) => drained.is_ok(),
        () = force => false,
    };
    if !drained {
        tracing::warn!(
            open = connections.len(),
            "shutdown_timeout passed; closing the connections still open"
        );
        connections.shutdown().await;
    }
}

/// Warns when the process may run out of file descriptors before `max_connections`: each
/// connection can hold a socket and an upstream socket (docs/decisions.md, "Connections").
/// Linux only (`/proc/self/limits`); elsewhere, or when unreadable, it says nothing.
fn warn_if_file_limit_is_low(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = open_file_soft_limit(&limits);
    let needed = max_connections.saturating_mul(2).saturating_add(100);
    if let Some(soft) = soft.filter(|soft| *soft < needed) {
        tracing::warn!(
            open_file_limit = soft,
            max_connections,
            "the open-file limit is below what max_connections may need (2 per connection, \
             plus ~100); raise it (LimitNOFILE, ulimit -n) or lower max_connections"
        );
    }
}

/// The soft "Max open files" of a `/proc/PID/limits` text (`None` when absent or unlimited).
fn open_file_soft_limit(limits: &str) -> Option<usize> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse::<usize>().ok())
}

/// Serve one connection; when the node stops, finish the request in flight and close.
async fn connection<I>(
    conn: hyper::server::conn::http1::Connection<TokioIo<I>, Front>,
    remote: SocketAddr,
    mut closing: watch::Receiver<bool>,
    _slot: tokio::sync::OwnedSemaphorePermit,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = async { drop(closing.wait_for(|closing| *closing).await) } => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%remote, error = %e, "connection closed with an error");
    }
}

/// As axum's loop does: a connection reset before accept is the peer's business; anything
/// else (e.g. out of file descriptors) is logged and retried after a pause.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_open_file_limit_is_read_from_proc_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             96362                96362                processes \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(open_file_soft_limit(text), Some(1024));
        assert_eq!(
            open_file_soft_limit(
                "Max open files            unlimited            unlimited            files\n"
            ),
            None
        );
        assert_eq!(open_file_soft_limit(""), None);
    }

    #[test]
    fn the_clock_gives_each_phase_its_deadline() {
        let limits = Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections: 1,
            shutdown_timeout: Duration::from_secs(1),
        };
        let clock = ConnClock::new();
        let (deadline, name) = clock.deadline(&limits).unwrap();
        assert_eq!(name, "header_read_timeout");
        assert!(deadline <= clock.origin + Duration::from_millis(10_001));
        // The first byte of the first request does not move the header deadline.
        clock.first_byte();
        assert_eq!(clock.deadline(&limits).unwrap().0, deadline);
        clock.busy();
        assert!(clock.deadline(&limits).is_none());
        clock.idle();
        assert_eq!(clock.deadline(&limits).unwrap().1, "idle_timeout");
        clock.first_byte();
        assert_eq!(clock.deadline(&limits).unwrap().1, "header_read_timeout");
    }
}
