//! `keygate serve --demo` and the `keygate client` commands, as the README walkthrough runs them:
//! keygen → login → upload-key → call (decrypted card) → PIN change → decrypt; rotation of the
//! system key with `keygate admin system-key rotate`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keygate_testkit::process::{Binary, Server};
use keygate_testkit::{temp_dir, SELF_CHECK_ORDER};
use serde_json::Value;

/// The binary under test.
const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

fn keygate(dir: &Path) -> Command {
    KEYGATE.command(Some(dir))
}

/// `keygate serve --demo` on port 0: the URL and what it printed on stdout about the demo client.
fn serve_demo(dir: &Path) -> (Server, String, Vec<String>) {
    let (server, url, mut out) = KEYGATE.serve(
        dir,
        &["--demo"],
        &[("KEYGATE_USAGE_FLUSH_INTERVAL", "200ms")],
    );
    let mut printed = Vec::new();
    loop {
        let line = out
            .next()
            .expect("keygate printed nothing about the demo client")
            .unwrap();
        let last = line.starts_with("try:") || line.contains("exists");
        printed.push(line);
        if last {
            break;
        }
    }
    std::thread::spawn(move || for _ in out {});
    (server, url, printed)
}

fn value_of<'a>(printed: &'a [String], label: &str) -> &'a str {
    printed
        .iter()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label} in {printed:?}"))
}

fn client(dir: &Path, url: &str, args: &[&str]) -> Output {
    keygate(dir)
        .args(["client", "--url", url, "--state", "session.json"])
        .args(args)
        .output()
        .unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn demo_walkthrough_with_the_client_commands() {
    let dir: PathBuf = temp_dir("demo");
    let (server, url, printed) = serve_demo(&dir);
    let api_key = value_of(&printed, "api_key:").to_string();
    let password = value_of(&printed, "password:").to_string();

    let out = client(&dir, &url, &["keygen", "--out", "keys"]);
    assert!(out.status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("keys/private.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = client(
        &dir,
        &url,
        &["login", "--api-key", &api_key, "--password", &password],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // No key yet: refused, never plaintext.
    let out = client(
        &dir,
        &url,
        &["call", "GET", "/demo/cards/42", "--key", "keys/private.pem"],
    );
    assert!(!out.status.success());
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"], "public_key_required");

    ok_json(&client(&dir, &url, &["upload-key", "keys/public.pem"]));
    let card = ok_json(&client(
        &dir,
        &url,
        &["call", "GET", "/demo/cards/42", "--key", "keys/private.pem"],
    ));
    assert_eq!(card["data"]["card"]["number"], "4242424242424242");
    assert_eq!(card["data"]["card"]["pin"], "0042");
    let raw = ok_json(&client(
        &dir,
        &url,
        &[
            "call",
            "GET",
            "/demo/cards/42",
            "--key",
            "keys/private.pem",
            "--raw",
            "--alg",
            "RS256",
        ],
    ));
    let jwe = raw["data"]["card"]["number"].as_str().unwrap().to_string();
    assert!(!raw.to_string().contains("4242424242424242"));
    assert_eq!(jwe.split('.').count(), 5);
    let out = client(&dir, &url, &["decrypt", &jwe, "--key", "keys/private.pem"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "4242424242424242"
    );

    // PIN change with the field encrypted to the system key.
    let changed = ok_json(&client(
        &dir,
        &url,
        &[
            "call",
            "POST",
            "/demo/cards/42/pin",
            "--data",
            r#"{"pin":"9876"}"#,
            "--encrypt-field",
            "/pin",
            "--key",
            "keys/private.pem",
        ],
    ));
    assert_eq!(changed["data"]["card"]["pin_changed"], true);
    let card = ok_json(&client(
        &dir,
        &url,
        &["call", "GET", "/demo/cards/42", "--key", "keys/private.pem"],
    ));
    assert_eq!(card["data"]["card"]["pin"], "9876");

    // A call signed with another key pair: refused, and counted against the active key.
    assert!(client(&dir, &url, &["keygen", "--out", "other"])
        .status
        .success());
    let out = client(
        &dir,
        &url,
        &[
            "call",
            "GET",
            "/demo/cards/42",
            "--key",
            "other/private.pem",
        ],
    );
    assert!(!out.status.success());
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"], "signature_invalid");

    // `status`: the table with each key's usage (4 calls accepted, 1 refused), flushed every
    // 200 ms here; on standard error, the same in a line.
    let mut status = Value::Null;
    let mut said = String::new();
    for _ in 0..50 {
        let out = client(&dir, &url, &["status"]);
        status = ok_json(&out);
        said = String::from_utf8_lossy(&out.stderr).into_owned();
        if status["data"]["keys"][0]["usage"]["refused"] == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(status["data"]["keys"][0]["status"], "ACTIVE");
    let usage = &status["data"]["keys"][0]["usage"];
    assert_eq!(usage["accepted"], 4, "{status}");
    assert_eq!(
        usage["refusals"],
        serde_json::json!([{"slug": "signature_invalid", "count": 1}])
    );
    assert_eq!(usage["last_refusal"]["slug"], "signature_invalid");
    let key_id = status["data"]["keys"][0]["id"].as_str().unwrap();
    assert!(
        said.contains(&format!(
            "usage of key {key_id} (ACTIVE): 4 accepted, last used "
        )) && said
            .contains("; 1 refused (signature_invalid 1); last refusal signature_invalid at "),
        "{said}"
    );

    // Rotation from the admin command; the running node picks it up (5 s refresh).
    let out = keygate(&dir)
        .args(["admin", "system-key", "rotate", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(rotated["kid"], rotated["previous_kid"]);
    drop(server);

    // A later start on the same database says the demo client exists.
    let (_server, _url, printed) = serve_demo(&dir);
    assert!(printed.iter().any(|l| l.contains("exists")), "{printed:?}");
    assert!(!printed.iter().any(|l| l.contains("password")));
}

/// A rotation with the client commands (docs/design.md §2, "Rotation"): `status` warns while
/// the key is inside `key_expiry_warning` with no successor staged; `stage-successor` silences
/// it; `activate-successor` makes the new key the one `call` signs with; the old key is refused.
#[test]
fn rotation_with_the_client_commands() {
    let dir: PathBuf = temp_dir("demo-rotation");
    // Every key is inside the warning window from its upload.
    let (_server, url, mut out) =
        KEYGATE.serve(&dir, &["--demo"], &[("KEYGATE_KEY_EXPIRY_WARNING", "400d")]);
    let mut printed = Vec::new();
    for line in out.by_ref() {
        let line = line.unwrap();
        let last = line.starts_with("try:") || line.contains("exists");
        printed.push(line);
        if last {
            break;
        }
    }
    std::thread::spawn(move || for _ in out {});
    let api_key = value_of(&printed, "api_key:").to_string();
    let password = value_of(&printed, "password:").to_string();
    for args in [
        &["keygen", "--out", "keys"][..],
        &["keygen", "--out", "keys2"],
        &["login", "--api-key", &api_key, "--password", &password],
    ] {
        let out = client(&dir, &url, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ok_json(&client(&dir, &url, &["upload-key", "keys/public.pem"]));
    let warned = |out: &Output| {
        String::from_utf8_lossy(&out.stderr).contains("warning: the active key expires at")
    };
    let status = client(&dir, &url, &["status"]);
    ok_json(&status);
    assert!(
        warned(&status),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    let staged = ok_json(&client(
        &dir,
        &url,
        &["stage-successor", "keys2/public.pem"],
    ));
    assert_eq!(staged["data"]["key"]["status"], "PENDING");
    let status = client(&dir, &url, &["status"]);
    let table = ok_json(&status);
    assert_eq!(table["data"]["keys"][0]["status"], "PENDING");
    assert!(
        !warned(&status),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    let activated = ok_json(&client(&dir, &url, &["activate-successor"]));
    assert_eq!(activated["data"]["key"]["status"], "ACTIVE");
    assert_eq!(activated["data"]["key"]["id"], staged["data"]["key"]["id"]);
    let card = ok_json(&client(
        &dir,
        &url,
        &[
            "call",
            "GET",
            "/demo/cards/42",
            "--key",
            "keys2/private.pem",
        ],
    ));
    assert_eq!(card["data"]["card"]["number"], "4242424242424242");
    // rotation_overlap is 0s by default: the old key is revoked at the activation. (`call`
    // finds the old key's id by its fingerprint and names it as `kid`, so the answer says why.)
    let out = client(
        &dir,
        &url,
        &["call", "GET", "/demo/cards/42", "--key", "keys/private.pem"],
    );
    assert!(!out.status.success());
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"], "public_key_revoked");
    let table = ok_json(&client(&dir, &url, &["status"]));
    assert_eq!(table["data"]["keys"][1]["status"], "REVOKED");
}

/// `keygate client check`: both self-checks pass with the right private key, and name what fails
/// with another one (docs/design.md §5, "Self-check").
#[test]
fn client_check_reports_both_self_checks() {
    let dir: PathBuf = temp_dir("check");
    let (_server, url, printed) = serve_demo(&dir);
    let api_key = value_of(&printed, "api_key:").to_string();
    let password = value_of(&printed, "password:").to_string();
    for out in ["keys", "other"] {
        assert!(client(&dir, &url, &["keygen", "--out", out])
            .status
            .success());
    }
    let login = ["login", "--api-key", &api_key, "--password", &password];
    assert!(client(&dir, &url, &login).status.success());

    // No key yet: key_state fails, and no challenge can be made.
    let out = client(&dir, &url, &["check", "--key", "keys/private.pem"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("FAIL  key_state"), "{text}");
    assert!(text.contains("no_active_key"), "{text}");

    ok_json(&client(&dir, &url, &["upload-key", "keys/public.pem"]));
    let out = client(
        &dir,
        &url,
        &["check", "--key", "keys/private.pem", "--alg", "RS256"],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in SELF_CHECK_ORDER
        .into_iter()
        .chain(["jwe", "rsa-oaep-256", "rsa-pkcs1", "answer"])
    {
        assert!(text.contains(&format!("ok    {name} ")), "{name}: {text}");
    }
    assert!(text.contains("All checks passed"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");

    // Another key: the signature and every decryption fail, by name; the exit status says so.
    let out = client(&dir, &url, &["check", "--key", "other/private.pem"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{text}");
    for name in ["signature", "jwe", "rsa-oaep-256", "rsa-pkcs1"] {
        assert!(text.contains(&format!("FAIL  {name} ")), "{name}: {text}");
    }
    assert!(text.contains("ok    htu "), "{text}");
}
