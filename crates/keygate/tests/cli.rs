//! The binary, as an operator and a newcomer use it: `admin` on both databases, `serve` with
//! the embedded default, configuration layering, refusals of bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use keygate_testkit::process::{Binary, Server};
use keygate_testkit::{temp_dir, Backend, TestDatabase, Unwritable};

use keygate_client::http::KeygateClient;
use serde_json::Value;

/// The binary under test.
const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

fn keygate() -> Command {
    KEYGATE.command(None)
}

fn run_json(args: &[&str]) -> Value {
    let out = keygate().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "keygate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "keygate {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn admin_flow(url: &str) {
    // --database-url before or after the subcommand's own flags.
    let client = run_json(&[
        "--database-url",
        url,
        "admin",
        "client",
        "create",
        "--name",
        "Acme Bank",
        "--alias",
        "acme",
        "--json",
    ]);
    assert_eq!(client["name"], "Acme Bank");
    assert_eq!(client["alias"], "acme");
    let id = client["id"].as_str().unwrap().to_string();
    let key = run_json(&[
        "admin",
        "api-key",
        "create",
        "--client",
        "acme",
        "--alias",
        "payments",
        "--json",
        "--database-url",
        url,
    ]);
    assert_eq!(key["client_id"], id.as_str());
    for member in ["api_key_id", "api_key", "password"] {
        assert!(
            key[member].as_str().is_some_and(|s| !s.is_empty()),
            "{member}"
        );
    }
    let by_id = run_json(&[
        "admin",
        "api-key",
        "create",
        "--client",
        &id,
        "--alias",
        "cards",
        "--json",
        "--database-url",
        url,
    ]);
    assert_eq!(by_id["client_id"], id.as_str());
    let list = run_json(&[
        "admin",
        "api-key",
        "list",
        "--client",
        "acme",
        "--json",
        "--database-url",
        url,
    ]);
    assert_eq!(list["api_keys"].as_array().unwrap().len(), 2);
    assert!(
        !list.to_string().contains(key["password"].as_str().unwrap()),
        "passwords are shown only once"
    );
    let clients = run_json(&["admin", "client", "list", "--json", "--database-url", url]);
    assert_eq!(clients["clients"][0]["alias"], "acme");

    // Refusals: duplicate alias, bad alias, unknown client.
    for args in [
        vec![
            "admin", "client", "create", "--name", "Other", "--alias", "acme",
        ],
        vec![
            "admin",
            "client",
            "create",
            "--name",
            "Other",
            "--alias",
            "bad alias!",
        ],
        vec![
            "admin", "api-key", "create", "--client", "nobody", "--alias", "x",
        ],
        vec![
            "admin", "api-key", "create", "--client", "acme", "--alias", "payments",
        ],
    ] {
        let out = keygate()
            .args(&args)
            .args(["--database-url", url])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error: ") && err.len() > 20,
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // Revoke with nothing to revoke is a clear error.
    let out = keygate()
        .args([
            "admin",
            "public-key",
            "revoke",
            "--api-key-id",
            key["api_key_id"].as_str().unwrap(),
            "--reason",
            "test",
            "--database-url",
            url,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no active public key"));
}

#[test]
fn admin_on_sqlite() {
    let dir = temp_dir("cli");
    admin_flow(&format!("sqlite://{}/kg.db", dir.display()));
}

#[test]
fn admin_on_postgres() {
    let db = TestDatabase::new_blocking(Backend::Postgres);
    admin_flow(&db.url);
}

#[test]
fn unknown_database_scheme_is_refused() {
    let out = keygate()
        .args([
            "admin",
            "client",
            "list",
            "--database-url",
            "mysql://localhost/x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
}

#[test]
fn an_unwritable_sqlite_database_is_refused_at_start_in_one_line() {
    let dir = temp_dir("cli");
    let made = KEYGATE
        .command(Some(&dir))
        .args([
            "admin", "client", "create", "--name", "Acme", "--alias", "acme",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let file = dir.join("keygate.db");
    let _guard = Unwritable::make(&file);
    let started = std::time::Instant::now();
    let out = KEYGATE
        .command(Some(&dir))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "an unwritable database must refuse to start"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line: {err}");
    let line = lines[0];
    let path = file.canonicalize().unwrap().display().to_string();
    assert!(line.contains(&path), "the message names the path: {line}");
    assert!(line.contains("cannot be written"), "{line}");
    assert!(
        line.contains("writable by the user"),
        "says what to do: {line}"
    );
    assert_eq!(
        line.matches("readonly").count() + line.matches("not permitted").count(),
        1,
        "the cause is said once: {line}"
    );
}

#[test]
fn bad_configuration_is_refused_clearly() {
    let dir = temp_dir("cli");
    let file = dir.join("keygate.toml");
    std::fs::write(&file, "key_validity = \"a while\"\n").unwrap();
    let out = keygate()
        .current_dir(&dir)
        .args([
            "admin",
            "client",
            "list",
            "--config",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("key_validity"));
    std::fs::write(&file, "no_such_setting = 1\n").unwrap();
    let out = keygate()
        .current_dir(&dir)
        .args([
            "admin",
            "client",
            "list",
            "--config",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_setting"));
}

/// Start `keygate serve` on port 0 and read the address it prints.
fn serve(dir: &std::path::Path, extra_env: &[(&str, &str)]) -> (Server, String) {
    let (server, url, stdout) = KEYGATE.serve(dir, &[], extra_env);
    std::thread::spawn(move || for _ in stdout {});
    (server, url)
}

#[tokio::test]
async fn serve_with_the_embedded_default_and_walk_through() {
    let dir = temp_dir("cli");
    // The README's walkthrough: no --database-url, so the embedded sqlite://keygate.db.
    let created = run_json_in(
        &dir,
        &[
            "admin", "client", "create", "--name", "Acme", "--alias", "acme", "--json",
        ],
    );
    assert!(created["id"].is_string());
    let key = run_json_in(
        &dir,
        &[
            "admin", "api-key", "create", "--client", "acme", "--alias", "main", "--json",
        ],
    );
    assert!(dir.join("keygate.db").exists());
    let (_server, url) = serve(&dir, &[("KEYGATE_KEY_VALIDITY", "30d")]);
    let mut client = KeygateClient::new(&url);
    client
        .login(
            key["api_key"].as_str().unwrap(),
            key["password"].as_str().unwrap(),
        )
        .await
        .unwrap();
    let private = Command::new("openssl")
        .args(["genrsa", "2048"])
        .output()
        .unwrap()
        .stdout;
    let mut pubout = Command::new("openssl")
        .args(["rsa", "-pubout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(pubout.stdin.as_mut().unwrap(), &private).unwrap();
    let public = String::from_utf8(pubout.wait_with_output().unwrap().stdout).unwrap();
    let reply = client.upload_key(&public).await.unwrap();
    assert_eq!(reply.status, 201);
    // KEYGATE_KEY_VALIDITY reached the server: thirty days of validity.
    let issued = reply.data()["key"]["issued_at"]
        .as_str()
        .unwrap()
        .to_string();
    let expires = reply.data()["key"]["expires_at"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(issued[..10], expires[..10]);
    let id = reply.data()["key"]["id"].as_str().unwrap().to_string();
    // The operator's reason follows the API's rules: refused, and the key stays active.
    for bad in ["line\nbreak".to_string(), "x".repeat(501)] {
        let out = keygate()
            .current_dir(&dir)
            .args([
                "admin",
                "public-key",
                "revoke",
                "--api-key-id",
                key["api_key_id"].as_str().unwrap(),
                "--reason",
                &bad,
            ])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("reason:"));
    }
    assert_eq!(
        client.view_key(&id).await.unwrap().data()["key"]["status"],
        "ACTIVE"
    );
    // The operator revokes it from the command line, and the API sees it at once.
    let out = keygate()
        .current_dir(&dir)
        .args([
            "admin",
            "public-key",
            "revoke",
            "--api-key-id",
            key["api_key_id"].as_str().unwrap(),
            "--reason",
            "compromised laptop",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // At once: the node's reads are never left on an old snapshot (the readiness probe used
    // to drop SQLite's locks by closing a descriptor of the file; see check_writable).
    let view = client.view_key(&id).await.unwrap();
    assert_eq!(view.data()["key"]["status"], "REVOKED");
    assert_eq!(view.data()["key"]["revoke_reason"], "compromised laptop");
}

fn run_json_in(dir: &PathBuf, args: &[&str]) -> Value {
    let out = keygate().current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "keygate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
