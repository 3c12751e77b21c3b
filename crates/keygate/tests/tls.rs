//! TLS in (issue 11): `serve` over TLS with a certificate made by openssl, curl with `--cacert`,
//! a plain-HTTP client refused, SIGHUP rotating the certificate while an open connection keeps
//! working, and `keygate client login / upload-key / call` with `--cacert`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufReader, Lines, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{ChildStdout, Command};
use std::sync::Arc;
use std::time::Duration;

use keygate_testkit::process::{Binary, Server};
use keygate_testkit::{temp_dir, Pki};
use serde_json::Value;

/// The binary under test.
const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `GET /healthz` over https with curl, trusting `ca`, naming the server `localhost` (its
/// certificate's name) at 127.0.0.1:`port`; `extra` are more curl options.
fn curl_healthz(ca: &Path, port: u16, extra: &[&str]) -> (bool, String) {
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}/healthz");
    let mut args = vec!["--cacert", ca.to_str().unwrap(), "--resolve", &resolve];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

/// The subject CN of the certificate the server shows on a new handshake (openssl s_client).
fn served_issuer(port: u16) -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.contains("issuer="))
        .unwrap_or_default()
        .to_owned()
}

/// A TLS client over one kept-alive connection, trusting `ca` (rustls, as the client crate).
struct KeptConnection {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl KeptConnection {
    fn open(port: u16, ca: &Path) -> KeptConnection {
        let options = keygate_client::tls::TlsClientOptions {
            ca_file: Some(ca.to_owned()),
            identity: None,
        };
        let config = keygate_client::tls::client_config(&options).unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        KeptConnection {
            tls: rustls::StreamOwned::new(conn, tcp),
        }
    }

    /// GET /healthz on the same connection; the status line.
    fn healthz(&mut self) -> String {
        self.tls
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = self.tls.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// `keygate serve` over TLS in `dir` (SQLite), with `cert` and `key` copied in as
/// `server.pem` and `server.key` (the files SIGHUP re-reads) and `extra_env` added: the server,
/// its URL, its port, and its stdout (kept open while the server runs).
fn serve_tls(
    dir: &Path,
    cert: &Path,
    key: &Path,
    extra_env: &[(&str, &str)],
) -> (Server, String, u16, Lines<BufReader<ChildStdout>>) {
    std::fs::copy(cert, dir.join("server.pem")).unwrap();
    std::fs::copy(key, dir.join("server.key")).unwrap();
    let mut env = vec![
        ("KEYGATE_DATABASE_URL", "sqlite://tls.db"),
        ("KEYGATE_TLS_CERT_FILE", "server.pem"),
        ("KEYGATE_TLS_KEY_FILE", "server.key"),
    ];
    env.extend_from_slice(extra_env);
    let (server, url, stdout) = KEYGATE.serve(dir, &[], &env);
    let port = url.rsplit(':').next().unwrap().parse().unwrap();
    (server, url, port, stdout)
}

#[test]
fn serve_over_tls_with_sighup_rotation_and_the_client() {
    let dir = temp_dir("tls");
    let pki = Pki::at(&dir);
    let (ca, cert, key) = pki.server("first");
    let (ca2, cert2, key2) = pki.server("second");
    let (server, url, port, _stdout) = serve_tls(&dir, &cert, &key, &[]);
    assert!(url.starts_with("https://"), "{url}");
    let https = format!("https://localhost:{port}");

    // curl with the CA answers; without it the certificate is refused; plain HTTP is refused.
    let (ok, text) = curl_healthz(&ca, port, &[]);
    assert!(ok, "{text}");
    let (ok, _) = curl(&[
        "--resolve",
        &format!("localhost:{port}:127.0.0.1"),
        &format!("{https}/healthz"),
    ]);
    assert!(
        !ok,
        "a certificate from an unknown CA must be refused by curl"
    );
    let (ok, text) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("http://127.0.0.1:{port}/healthz"),
    ]);
    assert!(
        !ok || !text.starts_with("200"),
        "plain HTTP must not be served on the TLS port: {text}"
    );
    // A TLS 1.1 client is refused (TLS 1.2 and 1.3 only).
    let (ok, _) = curl_healthz(&ca, port, &["--tls-max", "1.1"]);
    assert!(!ok, "TLS 1.1 must be refused");

    // An open connection, then SIGHUP with a new certificate (another CA).
    let mut kept = KeptConnection::open(port, &ca);
    assert!(kept.healthz().contains("200"));
    assert!(served_issuer(port).contains("first-ca"));
    std::fs::copy(&cert2, dir.join("server.pem")).unwrap();
    std::fs::copy(&key2, dir.join("server.key")).unwrap();
    let pid = server.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let mut rotated = false;
    for _ in 0..50 {
        if served_issuer(port).contains("second-ca") {
            rotated = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(rotated, "the next handshake sees the new certificate");
    assert!(
        kept.healthz().contains("200"),
        "the open connection keeps working"
    );
    // A bad file keeps the current certificate.
    std::fs::write(dir.join("server.pem"), "not a certificate").unwrap();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        served_issuer(port).contains("second-ca"),
        "a bad file keeps the old certificate"
    );
    let (ok, text) = curl_healthz(&ca2, port, &[]);
    assert!(ok, "{text}");

    // keygate client over https with --cacert: login, upload-key, call.
    let out = KEYGATE
        .command(Some(&dir))
        .args([
            "admin",
            "client",
            "create",
            "--name",
            "TLS Bank",
            "--alias",
            "tls",
            "--database-url",
            "sqlite://tls.db",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = KEYGATE
        .command(Some(&dir))
        .args([
            "admin",
            "api-key",
            "create",
            "--client",
            "tls",
            "--alias",
            "main",
            "--json",
            "--database-url",
            "sqlite://tls.db",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds: Value = serde_json::from_slice(&out.stdout).unwrap();
    let client = |args: &[&str]| {
        let out = KEYGATE
            .command(Some(&dir))
            .args([
                "client",
                "--url",
                &https,
                "--cacert",
                ca2.to_str().unwrap(),
                "--state",
                "state.json",
            ])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, text) = client(&[
        "login",
        "--api-key",
        creds["api_key"].as_str().unwrap(),
        "--password",
        creds["password"].as_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let (ok, text) = client(&["keygen", "--out", "keys"]);
    assert!(ok, "{text}");
    let (ok, text) = client(&["upload-key", "keys/public.pem"]);
    assert!(ok, "{text}");
    let (ok, text) = client(&["call", "GET", "/nowhere", "--key", "keys/private.pem"]);
    assert!(
        text.contains("not_found"),
        "the signed call reached keygate over TLS: {ok} {text}"
    );
    // Without --cacert the client refuses keygate's certificate.
    let out = KEYGATE
        .command(Some(&dir))
        .args([
            "client",
            "--url",
            &https,
            "--state",
            "other.json",
            "login",
            "--api-key",
            "x",
            "--password",
            "y",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    drop(server);
}

/// A client that opens a TLS connection and then says nothing, starts its ClientHello and
/// stops, or trickles it a byte at a time, is cut at `header_read_timeout` (docs/deployment.md: the handshake runs inside the
/// same deadline as the request's headers), so silent TLS connections cannot pile up; the
/// node serves others meanwhile.
#[test]
fn a_silent_or_stalled_tls_handshake_is_cut_at_header_read_timeout() {
    let dir = temp_dir("tls-slow");
    let pki = Pki::at(&dir);
    let (ca, cert, key) = pki.server("slow");
    let (server, _url, port, _stdout) =
        serve_tls(&dir, &cert, &key, &[("KEYGATE_HEADER_READ_TIMEOUT", "1s")]);

    let silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut stalled = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A TLS record header announcing a 512-byte handshake message, then two bytes of it.
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
        .unwrap();
    // One that trickles its ClientHello a byte every 200 ms: the deadline is for the whole
    // handshake, not each read, so it is cut at the same time. The writer stops at the cut
    // (its write fails) or after 8 s.
    let trickled = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut trickler = trickled.try_clone().unwrap();
    std::thread::spawn(move || {
        let hello = [
            0x16u8, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ];
        for byte in hello.iter().chain(std::iter::repeat(&0u8)).take(40) {
            if trickler.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let started = std::time::Instant::now();

    // Meanwhile a real client is served.
    let (ok, text) = curl_healthz(&ca, port, &[]);
    assert!(ok, "{text}");

    for (name, mut conn) in [
        ("silent", silent),
        ("stalled", stalled),
        ("trickled", trickled),
    ] {
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 64];
        let cut = match conn.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => {
                // An alert before the close is fine; then the end must follow.
                match conn.read(&mut buf) {
                    Ok(0) => true,
                    Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                    Ok(_) => false,
                }
            }
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(cut, "the {name} connection was not closed");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(8),
            "the {name} connection was cut after {waited:?}, not at header_read_timeout (1 s)"
        );
    }
    drop(server);
}
