//! Logs: structured, to stderr, level from `RUST_LOG` (default `info`). Bodies and headers are
//! never logged, so a pasted private key or a password cannot reach a log line.

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
