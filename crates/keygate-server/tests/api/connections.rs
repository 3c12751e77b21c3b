//! Slow and silent clients (issue 8, item 2): over raw TCP, against a real server with small
//! limits. The database does not matter here, so these run on SQLite only.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use keygate_server::config::{RouteConfig, Scheme, Signature};
use keygate_testkit::*;

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base_url.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connect")
}

/// Read until the server closes the connection (EOF or reset); everything read, and when.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<(Vec<u8>, Instant)> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|at| (all, at))
}

/// One response's head and body (Content-Length framed), read without closing.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("a response within 5 s")
            .expect("read");
        assert!(n > 0, "closed before a whole response: {all:?}");
        all.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&all).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

const GET_HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: keygate\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_sent_a_byte_at_a_time_are_cut_at_header_read_timeout() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.header_read_timeout = Duration::from_secs(1);
        s.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = connect(&app).await;
    let start = Instant::now();
    // A never-ending header, one byte every 100 ms: each byte alone would reset a per-read
    // timer; the deadline is for the whole header.
    let (mut reader, mut writer) = stream.split();
    let dribble = async {
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain([b'a'; 200].iter())
        {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let closed = async {
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(_) => {}
            }
        }
    };
    let closed_at = tokio::select! {
        at = closed => at,
        () = dribble => panic!("the server still read the header after 20 s"),
    };
    let after = closed_at - start;
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(4),
        "closed after {after:?}, expected about 1 s"
    );
    drop(stream);

    // A connection that sends nothing at all is closed at the same deadline.
    let mut silent = connect(&app).await;
    let start = Instant::now();
    let (_, at) = read_until_closed(&mut silent, Duration::from_secs(10))
        .await
        .expect("a silent connection is closed");
    let after = at - start;
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(4),
        "silent connection closed after {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_at_idle_timeout() {
    // idle_timeout longer than header_read_timeout: the wait between requests is the idle limit,
    // not the header one.
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.header_read_timeout = Duration::from_secs(1);
        s.idle_timeout = Duration::from_secs(3);
    })
    .await;
    let mut stream = connect(&app).await;
    stream.write_all(GET_HEALTHZ).await.unwrap();
    let first = read_response(&mut stream).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Idle for twice header_read_timeout: still open, and serves the next request.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stream.write_all(GET_HEALTHZ).await.unwrap();
    let second = read_response(&mut stream).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    let idle_from = Instant::now();
    let (rest, at) = read_until_closed(&mut stream, Duration::from_secs(15))
        .await
        .expect("the idle connection is closed");
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    let after = at - idle_from;
    assert!(
        after >= Duration::from_millis(2800) && after < Duration::from_secs(6),
        "closed after {after:?} idle, expected about 3 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_completes_answers_408_and_closes() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.body_read_timeout = Duration::from_secs(1);
        s.idle_timeout = Duration::from_secs(30);
    })
    .await;
    for path in ["/auth/login", "/some/gateway/path"] {
        let mut stream = connect(&app).await;
        let start = Instant::now();
        stream
            .write_all(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: keygate\r\nContent-Type: application/json\r\n\
                     Authorization: Bearer whatever\r\nContent-Length: 100\r\n\r\n{{\"api_cl"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let (response, at) = read_until_closed(&mut stream, Duration::from_secs(10))
            .await
            .expect("the connection is closed");
        let response = String::from_utf8_lossy(&response);
        let after = at - start;
        if path == "/auth/login" {
            assert!(response.starts_with("HTTP/1.1 408"), "{response}");
            assert!(response.contains("\"request_timeout\""), "{response}");
            assert!(
                after >= Duration::from_millis(900) && after < Duration::from_secs(4),
                "answered after {after:?}"
            );
        } else {
            // Refused before its body is read; the connection does not wait for the rest.
            eprintln!("{path}: {after:?} {response}");
            assert!(after < Duration::from_secs(4), "closed after {after:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_new_connections_wait_for_a_free_slot() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.max_connections = 2;
        s.header_read_timeout = Duration::from_secs(30);
        s.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let mut first = connect(&app).await;
    first.write_all(GET_HEALTHZ).await.unwrap();
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));
    let mut second = connect(&app).await;
    second.write_all(GET_HEALTHZ).await.unwrap();
    assert!(read_response(&mut second).await.starts_with("HTTP/1.1 200"));

    // A third connection is held in the listen backlog: its request is not served...
    let mut third = connect(&app).await;
    third.write_all(GET_HEALTHZ).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_secs(1), third.read(&mut buf)).await;
    assert!(early.is_err(), "the third connection was served: {early:?}");
    // ... while the two open ones still are.
    first.write_all(GET_HEALTHZ).await.unwrap();
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));

    // Once one closes, the waiting connection is accepted and served.
    drop(second);
    let answer = read_response(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_an_answer_is_cut_at_idle_timeout() {
    // An upstream with a 48 MiB answer: more than the loopback socket buffers hold, so keygate
    // is still writing it when the client stops reading.
    const SIZE: usize = 48 * 1024 * 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let mut body = vec![b' '; SIZE];
                body[0] = b'[';
                body[SIZE - 1] = b']';
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {SIZE}\r\n\r\n"
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.idle_timeout = Duration::from_secs(2);
        s.max_upstream_body_bytes = 2 * SIZE;
        s.routes = vec![RouteConfig {
            path: "/big".into(),
            methods: vec!["GET".into()],
            upstream: upstream.clone(),
            signature: Signature::None,
            encrypt_response: vec![],
            decrypt_request: vec![],
            scheme: Scheme::Jwe,
            ..Default::default()
        }];
    })
    .await;
    let (client, _) = app.logged_in().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(
            format!(
                "GET /big HTTP/1.1\r\nHost: keygate\r\nAuthorization: Bearer {}\r\n\r\n",
                client.token().unwrap()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // Read the head and a little, then stop reading for longer than idle_timeout.
    let mut buf = vec![0u8; 64 * 1024];
    let first = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
        .await
        .expect("the answer starts")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..first]).starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Keygate has given up: what is left to read is what the socket buffers held, then the
    // connection ends, well short of the whole answer.
    let (rest, _) = read_until_closed(&mut stream, Duration::from_secs(20))
        .await
        .expect("the connection is closed");
    let received = first + rest.len();
    assert!(
        received < SIZE,
        "the whole answer ({received} bytes) was delivered to a client that stopped reading"
    );
}
