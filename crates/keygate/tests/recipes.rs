//! The README's client recipes (docs/recipes: Python with PyJWT, Node with `jose`, openssl and
//! curl) run as written against `keygate serve --demo`: tools nobody here wrote, signing
//! requests and decrypting the confidential fields keygate returns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use keygate_client::crypto::generate_rsa_2048;
use keygate_client::http::KeygateClient;
use keygate_testkit::process::Binary;
use keygate_testkit::temp_dir;

/// The binary under test.
const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

fn recipes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/recipes")
}

fn value_of(printed: &[String], label: &str) -> String {
    printed
        .iter()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label} in {printed:?}"))
}

/// Runs one recipe; returns what it printed.
/// Runs in the key's directory: the shell recipe writes `system.pem` where it runs.
fn run(program: &str, script: &str, key: &Path, env: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .current_dir(key.parent().expect("the key is in a directory"))
        .arg(recipes().join(script))
        .arg(key)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{program} is required for the recipe tests: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A 16-digit card number after `card number:`.
fn card_number(printed: &str) -> String {
    let number = printed
        .split("card number:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no card number in {printed}"))
        .to_string();
    assert!(
        number.len() == 16 && number.chars().all(|c| c.is_ascii_digit()),
        "{printed}"
    );
    number
}

#[tokio::test]
async fn recipes_run_against_the_demo() {
    let dir = temp_dir("recipes");
    let (_server, url, mut stdout) = KEYGATE.serve(&dir, &["--demo"], &[]);
    let mut printed = Vec::new();
    for line in stdout.by_ref() {
        let line = line.unwrap();
        let last = line.starts_with("try:") || line.contains("exists");
        printed.push(line);
        if last {
            break;
        }
    }
    std::thread::spawn(move || for _ in stdout {});

    let mut client = KeygateClient::new(&url);
    client
        .login(
            &value_of(&printed, "api_key:"),
            &value_of(&printed, "password:"),
        )
        .await
        .unwrap();
    let pair = generate_rsa_2048().unwrap();
    let key_file = dir.join("private.pem");
    std::fs::write(&key_file, &pair.private_pkcs8_pem).unwrap();
    let reply = client.upload_key(&pair.public_spki_pem).await.unwrap();
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let kid = reply.data()["key"]["id"].as_str().unwrap().to_string();
    let token = client.token().unwrap().to_string();
    let env = [
        ("KEYGATE_URL", url.as_str()),
        ("KEYGATE_TOKEN", token.as_str()),
        ("KEYGATE_KID", kid.as_str()),
    ];

    let python = run("python3", "python_client.py", &key_file, &env);
    let number = card_number(&python);
    assert!(python.contains("new pin:"), "{python}");

    let node = run("node", "node_client.mjs", &key_file, &env);
    assert_eq!(card_number(&node), number, "{node}");
    assert!(node.contains("new pin:"), "{node}");

    let shell = run("bash", "openssl_client.sh", &key_file, &env);
    // The shell recipe shows what travels: the number as a JWE, never in plaintext.
    assert!(shell.contains("\"number\":\"eyJ"), "{shell}");
    assert!(!shell.contains(&number), "{shell}");
}
