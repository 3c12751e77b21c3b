//! `keygate admin` and the audit trail (docs/audit.md), on both databases: every admin command
//! appends `admin.command` and its change appends its own event, by `operator:<OS user>`;
//! `audit list` filters and exports JSON lines; `audit verify` passes, then names the event
//! after a row is changed, removed or inserted directly in the database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use keygate_store::{NewKey, Store};
use keygate_testkit::process::Binary;
use keygate_testkit::{both_backends, temp_dir, Backend, TestDatabase};
use serde_json::Value;
use uuid::Uuid;

const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

both_backends!(admin_commands_are_audited_and_the_chain_shows_tampering);

struct Admin {
    url: String,
    dir: std::path::PathBuf,
}

impl Admin {
    fn run(&self, args: &[&str]) -> Output {
        KEYGATE
            .command(Some(&self.dir))
            .arg("admin")
            .args(args)
            .args(["--database-url", &self.url])
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "keygate admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    /// `audit list --json ARGS`, one event a line.
    fn events(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["audit", "list", "--json"];
        all.extend_from_slice(args);
        self.ok(&all)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// `audit verify`: `Ok(stdout)` or `Err(stderr)`.
    fn verify(&self) -> Result<String, String> {
        let out = self.run(&["audit", "verify"]);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        if out.status.success() {
            Ok(text(&out.stdout))
        } else {
            Err(text(&out.stderr))
        }
    }
}

/// Runs statements straight on the database, as someone with access to it could.
async fn sql(backend: Backend, url: &str, statements: &[&str]) {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

fn os_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn admin_commands_are_audited_and_the_chain_shows_tampering(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let dir = temp_dir("audit-cli");
    let admin = Admin {
        url: db.url.clone(),
        dir,
    };
    let operator = format!("operator:{}", os_user());

    let client = admin.json(&[
        "client",
        "create",
        "--name",
        "Acme Bank",
        "--alias",
        "acme",
        "--json",
    ]);
    let made = admin.json(&[
        "api-key", "create", "--client", "acme", "--alias", "payments", "--json",
    ]);
    let api_key_id = made["api_key_id"].as_str().unwrap().to_owned();
    // A key to revoke, stored as an upload would store it.
    let store = Store::connect(&admin.url).await.unwrap();
    let key_id = Uuid::new_v4();
    let now = chrono::Utc::now().timestamp();
    store
        .insert_key(
            NewKey {
                id: key_id,
                api_key_id: api_key_id.parse().unwrap(),
                public_key_pem: "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----".into(),
                fingerprint_sha256: format!("fp:{key_id}"),
                jwk_thumbprint: format!("tp:{key_id}"),
                bits: 2048,
                exponent: 65537,
            },
            now,
            86_400,
            &[],
        )
        .await
        .unwrap();
    store.close().await;
    admin.json(&[
        "public-key",
        "revoke",
        "--api-key-id",
        &api_key_id,
        "--reason",
        "lost laptop",
        "--json",
    ]);
    admin.json(&["system-key", "rotate", "--json"]);
    let renamed = admin.json(&[
        "client",
        "rename",
        "--client",
        "acme",
        "--name",
        "Acme Bank plc",
        "--json",
    ]);
    assert_eq!(renamed["name"], "Acme Bank plc");
    let reset = admin.json(&[
        "api-key",
        "reset-password",
        "--api-key-id",
        &api_key_id,
        "--json",
    ]);
    let new_password = reset["password"].as_str().unwrap().to_owned();
    assert_ne!(new_password, made["password"].as_str().unwrap());

    let events = admin.events(&[]);
    let of = |t: &str| -> Vec<&Value> { events.iter().filter(|e| e["event_type"] == t).collect() };
    for t in [
        "client.created",
        "api_key.created",
        "key.revoked",
        "system_key.created",
        "system_key.rotated",
        "client.updated",
        "api_key.updated",
    ] {
        let found = of(t);
        assert_eq!(found.len(), 1, "{t}: {events:?}");
        assert_eq!(found[0]["actor"], operator.as_str(), "{t}");
        assert_eq!(found[0]["source"], Value::Null, "{t}");
    }
    assert_eq!(of("client.created")[0]["client_id"], client["id"]);
    assert_eq!(of("key.revoked")[0]["key_id"], key_id.to_string().as_str());
    assert_eq!(of("key.revoked")[0]["details"]["reason"], "lost laptop");
    let updated = &of("client.updated")[0]["details"];
    assert_eq!(
        (&updated["previous_name"], &updated["name"]),
        (&Value::from("Acme Bank"), &Value::from("Acme Bank plc"))
    );
    assert_eq!(of("api_key.updated")[0]["details"]["changed"], "password");
    assert_eq!(of("api_key.updated")[0]["api_key_id"], api_key_id.as_str());
    // Every command, the list itself included, newest first.
    let commands: Vec<&str> = of("admin.command")
        .iter()
        .map(|e| e["details"]["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            "audit list",
            "api-key reset-password",
            "client rename",
            "system-key rotate",
            "public-key revoke",
            "api-key create",
            "client create"
        ]
    );
    assert!(of("admin.command")
        .iter()
        .all(|e| e["actor"] == operator.as_str()));
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(made["password"].as_str().unwrap()));
    assert!(!text.contains(&new_password));

    // Filters: a client's and an API key's events, and a time.
    let acme = admin.events(&["--client", "acme"]);
    assert!(acme.iter().all(|e| e["client_id"] == client["id"]));
    assert_eq!(acme.len(), 5, "{acme:?}");
    let by_key = admin.events(&["--api-key", &api_key_id]);
    assert_eq!(by_key.len(), 3, "{by_key:?}");
    assert!(admin.events(&["--since", "2100-01-01"]).is_empty());
    assert_eq!(admin.events(&["--limit", "2"]).len(), 2);
    let refused = admin.run(&["audit", "list", "--since", "soon"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--since"));

    // Untouched: verified.
    let ok = admin.verify().unwrap();
    assert!(ok.contains("audit chain verified"), "{ok}");

    // Changed: the client's name edited in place.
    let url = admin.url.clone();
    sql(
        backend,
        &url,
        &["UPDATE audit_events SET details = '{\"alias\":\"acme\",\"name\":\"Evil\"}' WHERE event_type = 'client.created'"],
    )
    .await;
    let seq = of("client.created")[0]["seq"].as_i64().unwrap();
    let broken = admin.verify().unwrap_err();
    assert!(
        broken.contains(&format!("event #{seq} (")) && broken.contains("changed"),
        "{broken}"
    );
    let original = of("client.created")[0]["details"].to_string();
    let restore = format!(
        "UPDATE audit_events SET details = '{}' WHERE event_type = 'client.created'",
        original.replace('\'', "''")
    );
    sql(backend, &url, &[&restore]).await;
    admin.verify().unwrap();

    // Removed: the revocation deleted.
    let seq = of("key.revoked")[0]["seq"].as_i64().unwrap();
    sql(
        backend,
        &url,
        &[
            "CREATE TABLE saved AS SELECT * FROM audit_events WHERE event_type = 'key.revoked'",
            "DELETE FROM audit_events WHERE event_type = 'key.revoked'",
        ],
    )
    .await;
    let broken = admin.verify().unwrap_err();
    assert!(
        broken.contains(&format!("event #{seq} was removed")),
        "{broken}"
    );
    sql(
        backend,
        &url,
        &[
            "INSERT INTO audit_events SELECT * FROM saved",
            "DROP TABLE saved",
        ],
    )
    .await;
    admin.verify().unwrap();

    // Inserted: a forged event after the last one, linked to it.
    sql(
        backend,
        &url,
        &[
            "INSERT INTO audit_events (seq, id, at, event_type, client_id, api_key_id, key_id, \
           actor, source, details, prev_hash, hash) \
           SELECT seq + 1, 'forged', at, 'key.uploaded', client_id, api_key_id, key_id, actor, \
           source, details, hash, hash FROM audit_events \
           WHERE seq = (SELECT MAX(seq) FROM audit_events)",
        ],
    )
    .await;
    let broken = admin.verify().unwrap_err();
    assert!(
        broken.contains("(forged)") && broken.contains("inserted"),
        "{broken}"
    );
}
