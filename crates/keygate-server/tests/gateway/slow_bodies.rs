//! A signed call whose body never completes (issue 8, item 2), on the gateway's own path: 408
//! at `body_read_timeout`, the connection closed, nothing forwarded.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Gw;
use keygate_testkit::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_body_that_never_completes_answers_408() {
    let gw = Gw::start_with(Backend::Sqlite, |s| {
        s.body_read_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = gw.app.base_url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let start = Instant::now();
    let head = format!(
        "POST /cards/42/pin HTTP/1.1\r\nHost: keygate\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"pin\":",
        gw.client.token().unwrap()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the connection is closed")
        .ok();
    let after = start.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(4),
        "answered after {after:?}"
    );
    assert_eq!(gw.upstream.count(), 0, "nothing reaches the upstream");
}
