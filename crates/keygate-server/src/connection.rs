//! A connection's deadlines (docs/decisions.md, "Connections"): [`ConnClock`], shared by the
//! socket (`TimedIo`) and the front door, and [`TimedBody`], a request body that must arrive
//! within `body_read_timeout`. Below both the accept loop (`serve`) and the front door
//! (`front`), and read by `error` (a body timeout answers 408), so imports point one way.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use futures::task::AtomicWaker;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// The limits the loop applies, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `header_read_timeout`: a request's headers must arrive within it.
    pub header_read_timeout: Duration,
    /// `idle_timeout`: a keep-alive connection with no new request is closed after it.
    pub idle_timeout: Duration,
    /// `max_connections`: past it, accepting pauses until a connection closes.
    pub max_connections: usize,
    /// `shutdown_timeout`: how long requests in flight may finish after a stop signal.
    pub shutdown_timeout: Duration,
}

/// Where a connection is between requests, shared by its socket (`TimedIo`) and its service
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
    pub(crate) fn new() -> ConnClock {
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
pub(crate) struct TimedIo<S = TcpStream> {
    inner: S,
    clock: Arc<ConnClock>,
    limits: Limits,
    sleep: Option<(Pin<Box<Sleep>>, Instant)>,
}

impl<S> TimedIo<S> {
    pub(crate) fn new(inner: S, clock: Arc<ConnClock>, limits: Limits) -> TimedIo<S> {
        TimedIo {
            inner,
            clock,
            limits,
            sleep: None,
        }
    }
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
    /// Wrap `inner`, which must be read completely by `deadline`.
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
