//! The keygate binary: thin; everything it does lives in the library crates.
#![forbid(unsafe_code)]

mod admin;
mod admin_webhooks;
mod audit;
mod client;
mod client_check;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: the gateway's hot path makes many small,
/// short-lived allocations (JSON trees, header maps, JWE pieces), where glibc malloc cost
/// ~10% of the CPU time under load (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use keygate_server::config::{Overrides, Settings};

#[derive(Parser)]
#[command(
    name = "keygate",
    version,
    about = "Client public-key registry and signing gateway"
)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// sqlite://PATH, sqlite:///abs/path, postgres://... (default sqlite://keygate.db).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a keygate node.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
        #[arg(long)]
        listen: Option<String>,
        /// Mount the sample card API and create a demo client.
        #[arg(long)]
        demo: bool,
    },
    /// Operator commands, run directly on the configured database.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// A client developer's commands: keys, login, signed calls (through the keygate-client crate).
    Client(client::ClientArgs),
}

impl Cli {
    fn settings(&self, listen: Option<String>, demo: bool) -> anyhow::Result<Settings> {
        let overrides = Overrides {
            listen,
            database_url: self.database_url.clone(),
            demo,
        };
        Ok(Settings::load(
            self.config.as_deref(),
            std::env::vars(),
            &overrides,
        )?)
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    keygate_client::tls::install_crypto_provider();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: a wrapper that already shows its
/// source's text (as most of ours do) is not followed by that text again.
fn describe(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve { listen, demo } => {
            let settings = cli.settings(listen.clone(), *demo)?;
            keygate_server::telemetry::init_logs(settings.log_format);
            let app = keygate_server::Application::build(settings).await?;
            let addr = app.local_addr()?;
            match app.demo_client() {
                Some(keygate_server::demo::DemoClient::Created {
                    api_key_id,
                    api_key,
                    password,
                }) => {
                    println!("demo client DEMO created; its credentials are shown only now:");
                    println!("  api_key_id: {api_key_id}");
                    println!("  api_key:    {api_key}");
                    println!("  password:   {password}");
                    println!("try: keygate client login --url http://{addr} --api-key {api_key} --password '{password}'");
                }
                Some(keygate_server::demo::DemoClient::Exists) => {
                    println!("demo client DEMO exists (its credentials were printed when it was created)");
                }
                None => {}
            }
            let scheme = if app.serves_tls() { "https" } else { "http" };
            eprintln!("keygate listening on {scheme}://{addr}");
            app.run().await?;
            Ok(())
        }
        Command::Admin { command } => {
            let settings = cli.settings(None, false)?;
            admin::run(command, &settings).await
        }
        Command::Client(args) => client::run(args).await,
    }
}
