//! The keygate binary: thin; everything it does lives in the library crates.
#![forbid(unsafe_code)]

mod admin;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
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
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve { listen, demo } => {
            let settings = cli.settings(listen.clone(), *demo)?;
            keygate_server::telemetry::init_logs();
            let app = keygate_server::Application::build(settings).await?;
            let addr = app.local_addr()?;
            eprintln!("keygate listening on http://{addr}");
            app.run().await?;
            Ok(())
        }
        Command::Admin { command } => {
            let settings = cli.settings(None, false)?;
            admin::run(command, &settings).await
        }
    }
}
