//! `keygate client ...` (docs/design.md §9): what a client developer runs, through the keygate-client
//! crate. The session (URL, token, key id) is kept in a small JSON state file.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use keygate_client::api::KeyAnswer;
use keygate_client::crypto::{
    decrypt_field, encrypt_value_for_system, generate_rsa_2048, sign_request, ClientPrivateKey,
};
use keygate_client::http::{KeygateClient, Reply};
use keygate_core::jose::{Scheme, SigAlg};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Args)]
pub struct ClientArgs {
    /// keygate's base URL (default: the one of the last login, else http://127.0.0.1:8080).
    #[arg(long, env = "KEYGATE_URL", global = true)]
    url: Option<String>,
    /// The session state file (default ~/.keygate/session.json).
    #[arg(long, env = "KEYGATE_STATE", global = true)]
    state: Option<PathBuf>,
    /// A PEM file of CA certificates to trust beside the platform's roots (a private CA that
    /// issued keygate's certificate).
    #[arg(long, env = "KEYGATE_CACERT", global = true)]
    cacert: Option<PathBuf>,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Make an RSA-2048 key pair: DIR/private.pem (mode 0600) and DIR/public.pem.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Log in with an API key and its password; the token goes to the state file.
    Login {
        #[arg(long, env = "KEYGATE_API_KEY")]
        api_key: String,
        #[arg(long, env = "KEYGATE_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Upload a public key (PEM file).
    UploadKey { file: PathBuf },
    /// The status table of this API key's keys with each key's usage (a line per used key on
    /// standard error), and a warning when the active key expires soon and no successor is
    /// staged.
    Status,
    /// Stage the successor of the active key (PEM file): it takes over when the active key
    /// expires or is revoked, or at `activate-successor`.
    StageSuccessor { file: PathBuf },
    /// Make the staged successor the active key now.
    ActivateSuccessor,
    /// Revoke the active key.
    Revoke {
        #[arg(long)]
        reason: Option<String>,
    },
    /// Send a signed request and print the answer with confidential fields decrypted.
    Call {
        method: String,
        path: String,
        /// The JSON body.
        #[arg(long)]
        data: Option<String>,
        /// The private key that signs and decrypts.
        #[arg(long, env = "KEYGATE_KEY", default_value = "private.pem")]
        key: PathBuf,
        /// RS256 or PS256.
        #[arg(long, default_value = "PS256")]
        alg: String,
        /// Encrypt this field of --data (JSON pointer) to keygate's system key first (repeatable).
        #[arg(long = "encrypt-field")]
        encrypt_field: Vec<String>,
        /// Print the answer as received (no decryption).
        #[arg(long)]
        raw: bool,
    },
    /// Run both self-checks (a signed request, an encryption challenge) and print a report;
    /// fails when any check fails.
    Check {
        /// The private key that signs and decrypts.
        #[arg(long, env = "KEYGATE_KEY", default_value = "private.pem")]
        key: PathBuf,
        /// RS256 or PS256.
        #[arg(long, default_value = "PS256")]
        alg: String,
    },
    /// Decrypt one confidential value (jwe, rsa-oaep-256 or rsa-pkcs1, told apart by shape).
    Decrypt {
        value: String,
        #[arg(long, env = "KEYGATE_KEY", default_value = "private.pem")]
        key: PathBuf,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SessionState {
    url: Option<String>,
    token: Option<String>,
    api_key_id: Option<String>,
    key_id: Option<String>,
    /// The staged successor's id, which becomes `key_id` once it is activated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    successor_key_id: Option<String>,
}

fn state_path(args: &ClientArgs) -> PathBuf {
    args.state.clone().unwrap_or_else(|| {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        home.join(".keygate").join("session.json")
    })
}

fn load_state(path: &Path) -> SessionState {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
    }
    #[cfg(not(unix))]
    options.open(path)?.write_all(bytes)?;
    Ok(())
}

fn save_state(path: &Path, state: &SessionState) -> anyhow::Result<()> {
    write_private(path, serde_json::to_string_pretty(state)?.as_bytes())
}

fn print_reply(reply: &Reply) -> anyhow::Result<()> {
    // Printed as received: through `call` it is an upstream's answer, which has no wire type.
    println!("{}", serde_json::to_string_pretty(&reply.body)?);
    if (200..300).contains(&reply.status) {
        Ok(())
    } else {
        anyhow::bail!(
            "keygate answered {} {}",
            reply.status,
            reply.slug().unwrap_or("(no slug)")
        )
    }
}

/// The `kid` to sign with: the id of the registered key this private key belongs to (found by
/// its fingerprint in the status table), so during a rotation's overlap `--key` may be the old
/// key or the new one, and a key that is over gets its own answer (`public_key_revoked`, …)
/// rather than "does not verify" (docs/design.md §2); else the key id remembered at the last
/// upload, status or activation.
async fn signing_kid(
    client: &KeygateClient,
    private: &ClientPrivateKey,
    remembered: Option<&str>,
) -> Option<String> {
    let fallback = || remembered.map(str::to_owned);
    let Ok(fingerprint) = private.public_fingerprint_sha256() else {
        return fallback();
    };
    let Ok(reply) = client.list_keys().await else {
        return fallback();
    };
    let Ok(table) = reply.answer::<keygate_client::api::KeyTable>() else {
        return fallback();
    };
    table
        .keys
        .iter()
        .find(|row| row.row.fingerprint_sha256 == fingerprint)
        .map(|row| row.row.id.to_string())
        .or_else(fallback)
}

/// One key's usage for people (docs/design.md §5, "Usage"), or `None` when nothing was counted:
/// `usage of key ID (ACTIVE): 12 accepted, last used AT; 2 refused (signature_stale 2); last
/// refusal signature_stale at AT`.
fn usage_line(row: &keygate_client::api::KeyTableRow) -> Option<String> {
    let usage = &row.usage;
    if usage.accepted == 0 && usage.refused == 0 {
        return None;
    }
    let status = serde_json::to_value(row.row.status).ok()?;
    let mut line = format!(
        "usage of key {} ({}): {} accepted",
        row.row.id,
        status.as_str().unwrap_or("?"),
        usage.accepted
    );
    if let Some(at) = usage.last_used_at {
        line.push_str(&format!(", last used {}", at.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    line.push_str(&format!("; {} refused", usage.refused));
    if !usage.refusals.is_empty() {
        let by_slug: Vec<String> = usage
            .refusals
            .iter()
            .map(|r| format!("{} {}", r.slug, r.count))
            .collect();
        line.push_str(&format!(" ({})", by_slug.join(", ")));
    }
    if let Some(last) = &usage.last_refusal {
        line.push_str(&format!(
            "; last refusal {} at {}",
            last.slug,
            last.at.format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    Some(line)
}

fn read_key(path: &Path) -> anyhow::Result<ClientPrivateKey> {
    let pem = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the private key {}: {e} (use --key FILE)",
            path.display()
        )
    })?;
    Ok(ClientPrivateKey::from_pem(&pem)?)
}

/// Decrypts a value by its shape: five dot-separated parts are a JWE; otherwise base64 of one
/// RSA block, tried as OAEP-SHA256 then PKCS#1 v1.5. `None` when it is not a ciphertext for us.
pub fn decrypt_by_shape(key: &ClientPrivateKey, value: &str) -> Option<String> {
    if value.split('.').count() == 5 {
        return decrypt_field(key, value, Scheme::Jwe).ok();
    }
    let len = keygate_core::jose::b64_std_decode(value)?.len();
    if !matches!(len, 256 | 384 | 512 | 768 | 1024) {
        return None;
    }
    decrypt_field(key, value, Scheme::RsaOaep256)
        .or_else(|_| decrypt_field(key, value, Scheme::RsaPkcs1))
        .ok()
}

/// Replaces every string that decrypts with its plaintext (JSON text that parses becomes JSON).
fn decrypt_tree(key: &ClientPrivateKey, value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(plain) = decrypt_by_shape(key, s) {
                *value = match serde_json::from_str::<Value>(&plain) {
                    Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
                    _ => Value::String(plain),
                };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| decrypt_tree(key, v)),
        Value::Object(map) => map.values_mut().for_each(|v| decrypt_tree(key, v)),
        _ => {}
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

pub async fn run(args: &ClientArgs) -> anyhow::Result<()> {
    let path = state_path(args);
    let mut state = load_state(&path);
    let url = args
        .url
        .clone()
        .or_else(|| state.url.clone())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let connect = || -> anyhow::Result<KeygateClient> {
        Ok(match &args.cacert {
            Some(ca) => KeygateClient::with_ca_file(&url, ca)?,
            None => KeygateClient::new(&url),
        })
    };
    let authed = |state: &SessionState| -> anyhow::Result<KeygateClient> {
        let token = state
            .token
            .clone()
            .ok_or_else(|| anyhow::anyhow!("not logged in: run `keygate client login` first"))?;
        Ok(connect()?.with_token(token))
    };
    match &args.command {
        ClientCommand::Keygen { out } => {
            let pair = generate_rsa_2048()?;
            std::fs::create_dir_all(out)?;
            let private = out.join("private.pem");
            if private.exists() {
                anyhow::bail!(
                    "{} exists; not overwriting a private key",
                    private.display()
                );
            }
            write_private(&private, pair.private_pkcs8_pem.as_bytes())?;
            std::fs::write(out.join("public.pem"), pair.public_spki_pem.as_bytes())?;
            println!(
                "wrote {} (mode 0600, keep it secret) and {}",
                private.display(),
                out.join("public.pem").display()
            );
            println!(
                "next: keygate client upload-key {}",
                out.join("public.pem").display()
            );
        }
        ClientCommand::Login { api_key, password } => {
            let mut client = connect()?;
            let login = client.login(api_key, password).await?;
            state.url = Some(url.clone());
            state.token = Some(login.access_token);
            state.api_key_id = Some(login.api_key.id.to_string());
            // No active key yet (404) is fine: the next upload-key records it.
            let current = client.current_key().await?.answer::<KeyAnswer>();
            state.key_id = current.ok().map(|answer| answer.key.id.to_string());
            save_state(&path, &state)?;
            println!(
                "logged in as API key {} of client {}; token valid for {} s (saved in {})",
                login.api_key.alias,
                login.client.alias,
                login.expires_in,
                path.display()
            );
        }
        ClientCommand::UploadKey { file } => {
            let pem = std::fs::read_to_string(file)?;
            let reply = authed(&state)?.upload_key(&pem).await?;
            if let Ok(answer) = reply.answer::<KeyAnswer>() {
                state.key_id = Some(answer.key.id.to_string());
                save_state(&path, &state)?;
            }
            print_reply(&reply)?;
        }
        ClientCommand::Status => {
            let client = authed(&state)?;
            let reply = client.list_keys().await?;
            print_reply(&reply)?;
            // Standard output stays the JSON answer; the usage is said for people beside it.
            if let Ok(table) = reply.answer::<keygate_client::api::KeyTable>() {
                for row in &table.keys {
                    if let Some(line) = usage_line(row) {
                        eprintln!("{line}");
                    }
                }
            }
            // The active key, as the server sees it now: a successor may have taken over.
            let current = client.current_key().await?;
            if let Ok(answer) = current.answer::<KeyAnswer>() {
                let id = answer.key.id.to_string();
                if state.key_id.as_deref() != Some(id.as_str()) {
                    if state.successor_key_id.as_deref() == Some(id.as_str()) {
                        state.successor_key_id = None;
                    }
                    state.key_id = Some(id);
                    save_state(&path, &state)?;
                }
            }
            if let Some(at) = current
                .headers
                .get(keygate_client::http::KEY_EXPIRES_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                eprintln!(
                    "warning: the active key expires at {at} and no successor is staged; \
                     stage one with `keygate client stage-successor FILE`"
                );
            }
        }
        ClientCommand::StageSuccessor { file } => {
            let pem = std::fs::read_to_string(file)?;
            let reply = authed(&state)?.stage_successor(&pem).await?;
            if let Ok(answer) = reply.answer::<KeyAnswer>() {
                state.successor_key_id = Some(answer.key.id.to_string());
                save_state(&path, &state)?;
            }
            print_reply(&reply)?;
        }
        ClientCommand::ActivateSuccessor => {
            let reply = authed(&state)?.activate_successor().await?;
            if let Ok(answer) = reply.answer::<KeyAnswer>() {
                state.key_id = Some(answer.key.id.to_string());
                state.successor_key_id = None;
                save_state(&path, &state)?;
            }
            print_reply(&reply)?;
        }
        ClientCommand::Revoke { reason } => {
            let reply = authed(&state)?.revoke_key(reason.as_deref()).await?;
            print_reply(&reply)?;
        }
        ClientCommand::Call {
            method,
            path: target,
            data,
            key,
            alg,
            encrypt_field,
            raw,
        } => {
            let client = authed(&state)?;
            let private = read_key(key)?;
            let alg = SigAlg::from_name(alg)
                .ok_or_else(|| anyhow::anyhow!("--alg must be RS256 or PS256"))?;
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())?;
            let body = match data {
                None => None,
                Some(text) => {
                    let mut doc: Value = serde_json::from_str(text)
                        .map_err(|e| anyhow::anyhow!("--data is not JSON: {e}"))?;
                    if !encrypt_field.is_empty() {
                        let system = connect()?.system_key().await?;
                        for pointer in encrypt_field {
                            let field = doc.pointer_mut(pointer).ok_or_else(|| {
                                anyhow::anyhow!(
                                    "--encrypt-field {pointer}: --data has no such field"
                                )
                            })?;
                            *field = Value::String(encrypt_value_for_system(
                                system.public_key.as_bytes(),
                                field,
                                Scheme::Jwe,
                                Some(&system.kid),
                            )?);
                        }
                    }
                    Some(serde_json::to_vec(&doc)?)
                }
            };
            let kid = signing_kid(&client, &private, state.key_id.as_deref()).await;
            let jti = uuid::Uuid::new_v4().simple().to_string();
            let signature = sign_request(
                &private,
                alg,
                kid.as_deref(),
                method.as_str(),
                target,
                body.as_deref().unwrap_or_default(),
                client.token(),
                now(),
                &jti,
            )?;
            let mut reply = client
                .send(
                    method,
                    target,
                    body,
                    &[("X-Request-Signature", signature.as_str())],
                )
                .await?;
            if !*raw {
                decrypt_tree(&private, &mut reply.body);
            }
            print_reply(&reply)?;
        }
        ClientCommand::Check { key, alg } => {
            let client = authed(&state)?;
            let private = read_key(key)?;
            let alg = SigAlg::from_name(alg)
                .ok_or_else(|| anyhow::anyhow!("--alg must be RS256 or PS256"))?;
            let kid = signing_kid(&client, &private, state.key_id.as_deref()).await;
            crate::client_check::run(&client, &private, alg, kid.as_deref(), now()).await?;
        }
        ClientCommand::Decrypt { value, key } => {
            let private = read_key(key)?;
            let plain = decrypt_by_shape(&private, value.trim()).ok_or_else(|| {
                anyhow::anyhow!("this value does not decrypt with this private key")
            })?;
            println!("{plain}");
        }
    }
    Ok(())
}
