//! `keygate admin ...`: clients, API keys and revocation, through the registry service (the
//! same rules as the API and the web page), on the database of the configuration.

use clap::Subcommand;
use keygate_core::audit::Origin;
use keygate_core::model::Client;
use keygate_registry::{Clock, Registry, RegistryError};
use keygate_server::config::Settings;
use keygate_store::Store;
use serde_json::json;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Business clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// A client's API keys (login identifiers with a password).
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Public keys.
    PublicKey {
        #[command(subcommand)]
        command: PublicKeyCommand,
    },
    /// keygate's own encryption key (docs/design.md §6).
    SystemKey {
        #[command(subcommand)]
        command: SystemKeyCommand,
    },
    /// The audit trail (docs/audit.md): verify the chain, list or export events.
    Audit {
        #[command(subcommand)]
        command: crate::audit::AuditCommand,
    },
    /// Webhook deliveries that failed for good, and sending them again (docs/webhooks.md).
    Webhooks {
        #[command(subcommand)]
        command: crate::admin_webhooks::WebhooksCommand,
    },
}

#[derive(Subcommand)]
pub enum SystemKeyCommand {
    /// Make a new current system key; the previous one keeps decrypting for `system_key_grace`.
    Rotate {
        #[arg(long)]
        json: bool,
    },
    /// List the system keys.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ClientCommand {
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        alias: String,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change a client's name (its alias and id stay).
    Rename {
        /// The client's alias or id.
        #[arg(long)]
        client: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    Create {
        /// The client's alias or id.
        #[arg(long)]
        client: String,
        #[arg(long)]
        alias: String,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        client: String,
        #[arg(long)]
        json: bool,
    },
    /// Give an API key a new password (shown only now) and end its sessions.
    ResetPassword {
        #[arg(long)]
        api_key_id: Uuid,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum PublicKeyCommand {
    /// Revoke an API key's active public key.
    Revoke {
        #[arg(long)]
        api_key_id: Uuid,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
}

fn humanize(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else {
        format!("{secs}s")
    }
}

/// The registry's refusals in the operator's words, where the command line says more.
fn explain(err: RegistryError) -> anyhow::Error {
    match err {
        RegistryError::UnknownClient(alias_or_id) => anyhow::anyhow!(
            "no client has the alias or id `{alias_or_id}`; see `keygate admin client list`"
        ),
        RegistryError::InvalidClientName => anyhow::anyhow!("--name must be 1 to 200 characters"),
        RegistryError::UnknownApiKey(id) => anyhow::anyhow!(
            "no API key has the id {id}; see `keygate admin api-key list --client ALIAS`"
        ),
        other => other.into(),
    }
}

/// The command's name and its arguments for `admin.command` (docs/design.md §11). No admin
/// command takes a secret: passwords and keys are made by keygate and only printed.
fn described(command: &AdminCommand) -> (&'static str, serde_json::Value) {
    match command {
        AdminCommand::Client { command } => match command {
            ClientCommand::Create { name, alias, .. } => {
                ("client create", json!({"name": name, "alias": alias}))
            }
            ClientCommand::List { .. } => ("client list", json!({})),
            ClientCommand::Rename { client, name, .. } => {
                ("client rename", json!({"client": client, "name": name}))
            }
        },
        AdminCommand::ApiKey { command } => match command {
            ApiKeyCommand::Create { client, alias, .. } => {
                ("api-key create", json!({"client": client, "alias": alias}))
            }
            ApiKeyCommand::List { client, .. } => ("api-key list", json!({"client": client})),
            ApiKeyCommand::ResetPassword { api_key_id, .. } => {
                ("api-key reset-password", json!({"api_key_id": api_key_id}))
            }
        },
        AdminCommand::PublicKey { command } => match command {
            PublicKeyCommand::Revoke {
                api_key_id, reason, ..
            } => (
                "public-key revoke",
                json!({"api_key_id": api_key_id, "reason": reason}),
            ),
        },
        AdminCommand::SystemKey { command } => match command {
            SystemKeyCommand::Rotate { .. } => ("system-key rotate", json!({})),
            SystemKeyCommand::List { .. } => ("system-key list", json!({})),
        },
        AdminCommand::Audit { command } => crate::audit::described(command),
        AdminCommand::Webhooks { command } => crate::admin_webhooks::described(command),
    }
}

/// Who runs `keygate admin`: `operator:<OS user>` (the account the process runs as).
fn operator() -> Origin {
    Origin::operator(whoami::fallible::username().unwrap_or_else(|_| "unknown".to_owned()))
}

fn client_json(c: &Client) -> serde_json::Value {
    json!({"id": c.id, "name": c.name, "alias": c.alias})
}

pub async fn run(command: &AdminCommand, settings: &Settings) -> anyhow::Result<()> {
    let store =
        Store::connect_with_timeout(&settings.database_url, settings.database_timeout).await?;
    let registry = Registry::new(
        store.clone(),
        Clock::system(),
        keygate_server::state::registry_settings(settings),
    );
    let now = || registry.now();
    let origin = operator();
    // Recorded before the command runs, so an attempt that fails is on the trail too.
    let (name, arguments) = described(command);
    let arguments = match arguments {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    registry
        .record_admin_command(&origin, name, arguments)
        .await
        .map_err(explain)?;
    match command {
        AdminCommand::Client { command } => match command {
            ClientCommand::Rename { client, name, json } => {
                let client = registry
                    .rename_client(client, name, &origin)
                    .await
                    .map_err(explain)?;
                if *json {
                    println!("{}", client_json(&client));
                } else {
                    println!("renamed client {} to {}", client.alias, client.name);
                }
            }
            ClientCommand::Create { name, alias, json } => {
                let client = registry
                    .create_client(name, alias, &origin)
                    .await
                    .map_err(explain)?;
                if *json {
                    println!("{}", client_json(&client));
                } else {
                    println!(
                        "created client {} ({}) id {}",
                        client.name, client.alias, client.id
                    );
                }
            }
            ClientCommand::List { json } => {
                let clients = registry.clients().await.map_err(explain)?;
                if *json {
                    let list: Vec<_> = clients.iter().map(client_json).collect();
                    println!("{}", json!({"clients": list}));
                } else {
                    for c in &clients {
                        println!("{}  {:<24} {}", c.id, c.alias, c.name);
                    }
                }
            }
        },
        AdminCommand::ApiKey { command } => match command {
            ApiKeyCommand::ResetPassword { api_key_id, json } => {
                let made = registry
                    .reset_password(*api_key_id, &origin)
                    .await
                    .map_err(explain)?;
                let (key, password) = (made.api_key, made.password);
                if *json {
                    println!(
                        "{}",
                        json!({"api_key_id": key.id, "api_key": key.api_key, "password": password})
                    );
                } else {
                    println!("new password for API key {} ({})", key.alias, key.id);
                    println!("  password:   {password}   (shown only now; store it safely)");
                    println!("  its sessions have ended: log in again with the new password");
                }
            }
            ApiKeyCommand::Create {
                client,
                alias,
                json,
            } => {
                let made = registry
                    .create_api_key(client, alias, &origin)
                    .await
                    .map_err(explain)?;
                let (client, key, password) = (made.client, made.api_key, made.password);
                let login = &key.api_key;
                if *json {
                    println!(
                        "{}",
                        json!({"client_id": client.id, "api_key_id": key.id, "api_key": login, "password": password})
                    );
                } else {
                    println!("created API key {} for client {}", key.alias, client.alias);
                    println!("  api_key_id: {}", key.id);
                    println!("  api_key:    {login}");
                    println!("  password:   {password}   (shown only now; store it safely)");
                }
            }
            ApiKeyCommand::List { client, json } => {
                let keys = registry.api_keys(client).await.map_err(explain)?;
                if *json {
                    let list: Vec<_> = keys
                        .iter()
                        .map(|k| json!({"id": k.id, "alias": k.alias, "api_key": k.api_key, "client_id": k.client_id}))
                        .collect();
                    println!("{}", json!({"api_keys": list}));
                } else {
                    for k in &keys {
                        println!("{}  {:<24} {}", k.id, k.alias, k.api_key);
                    }
                }
            }
        },
        AdminCommand::SystemKey { command } => match command {
            SystemKeyCommand::Rotate { json } => {
                let master = keygate_server::system_key::load_master_key(settings)?;
                // Make the first key if this database has none yet, then rotate.
                let grace = i64::try_from(settings.system_key_grace.as_secs()).unwrap_or(i64::MAX);
                let before = keygate_server::system_key::load_keyring(
                    &store,
                    &master,
                    now(),
                    grace,
                    Some(&origin),
                )
                .await?;
                let kid =
                    keygate_server::system_key::rotate(&store, &master, now(), &origin).await?;
                let previous = before.current.kid().to_owned();
                if *json {
                    println!(
                        "{}",
                        json!({"kid": kid, "previous_kid": previous, "grace_seconds": grace})
                    );
                } else {
                    println!(
                        "new system key {kid}; the previous key {previous} keeps decrypting for {}",
                        humanize(settings.system_key_grace)
                    );
                }
            }
            SystemKeyCommand::List { json } => {
                let rows = store.system_keys().await?;
                if *json {
                    let list: Vec<_> = rows
                        .iter()
                        .map(|r| json!({"kid": r.kid, "created_at": r.created_at, "retired_at": r.retired_at}))
                        .collect();
                    println!("{}", json!({"system_keys": list}));
                } else {
                    for r in &rows {
                        let state = if r.retired_at.is_some() {
                            "retired"
                        } else {
                            "current"
                        };
                        println!("{}  {state}", r.kid);
                    }
                }
            }
        },
        AdminCommand::Audit { command } => crate::audit::run(command, &registry).await?,
        AdminCommand::Webhooks { command } => {
            crate::admin_webhooks::run(command, &store, settings, now()).await?;
        }
        AdminCommand::PublicKey { command } => match command {
            PublicKeyCommand::Revoke {
                api_key_id,
                reason,
                json,
            } => {
                // The registry's revoke: the same reason rule as the API and the web page.
                let record = match registry.revoke(*api_key_id, Some(reason), &origin).await {
                    Err(RegistryError::NoActiveKey) => {
                        anyhow::bail!("API key {api_key_id} has no active public key")
                    }
                    other => other.map_err(explain)?,
                };
                if *json {
                    println!(
                        "{}",
                        json!({"api_key_id": api_key_id, "key_id": record.id, "status": "REVOKED"})
                    );
                } else {
                    println!("revoked key {} of API key {api_key_id}", record.id);
                }
            }
        },
    }
    Ok(())
}
