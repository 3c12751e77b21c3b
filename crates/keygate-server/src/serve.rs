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
//!   which `connection::TimedBody` enforces where the handler reads it.
//!
//! The deadlines themselves live in `connection`, below the front door that shares them.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

pub use crate::connection::{is_body_timeout, BodyTimeout, Limits, TimedBody};
use crate::connection::{ConnClock, TimedIo};
use crate::front::{Front, MakeFront};

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
        let io = TimedIo::new(stream, clock.clone(), limits);
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
}
