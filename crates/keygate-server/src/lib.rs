//! keygate's HTTP layer: the JSON API, configuration and the application that binds them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod audit;
pub mod auth;
pub mod bearer;
pub mod config;
pub mod connection;
pub mod demo;
pub mod error;
pub mod front;
pub mod gateway;
pub mod messages;
pub mod own_routes;
pub mod request_log;
pub mod router;
pub mod self_check;
pub mod serve;
pub mod state;
pub mod system_key;
pub mod telemetry;
pub mod tls;
pub mod web;
pub mod webhooks;

pub use router::router;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use keygate_store::Store;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::state::AppState;

/// Why a node could not start ([`Application::build`]); the binary prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Store(#[from] keygate_store::StoreError),
    /// The `listen` address could not be bound (in use, or not this host's).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The `listen` setting.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The master key or the system key ring could not be loaded.
    #[error("{0}")]
    Keyring(#[from] system_key::KeyringError),
    /// `tls_cert_file` / `tls_key_file` could not be loaded.
    #[error("TLS: {0}")]
    Tls(#[from] keygate_client::tls::TlsSetupError),
    /// A route of the configuration cannot be served (its upstream, CA or client certificate).
    #[error("invalid configuration: {0}")]
    Routes(#[from] gateway::routes::RouteError),
    /// The dummy password hash for unknown API keys could not be made (docs/design.md §4).
    #[error("login setup: {0}")]
    Login(#[source] keygate_registry::RegistryError),
    /// `--demo`: the demo client could not be made.
    #[error("cannot create the demo client: {0}")]
    DemoClient(#[source] keygate_registry::RegistryError),
    /// The gateway could not be put together.
    #[error("{0}")]
    Gateway(String),
    /// A file holding a secret (`tls_key_file`) is not a regular file, or others can read or
    /// change it (docs/deployment.md, "Secret files").
    #[error("invalid configuration: {0}")]
    SecretFile(#[from] config::SecretFileError),
    /// A `[[webhooks]]` entry cannot be used (its secret, its TLS setup).
    #[error("invalid configuration: {0}")]
    Webhooks(#[from] webhooks::WebhookSetupError),
}

/// How long closing the database pools may take when the node stops.
const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The first SIGTERM or SIGINT, then the second (docs/design.md §9: systemd and Kubernetes stop a
/// service with SIGTERM).
fn stop_signals() -> std::io::Result<(
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Receiver<()>,
)> {
    let (first_tx, first) = tokio::sync::oneshot::channel();
    let (second_tx, second) = tokio::sync::oneshot::channel();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        tokio::spawn(async move {
            let mut next = async || {
                tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = interrupt.recv() => "SIGINT",
                }
            };
            let name = next().await;
            tracing::info!(signal = name, "stopping: no new connections; finishing the requests in flight (a second signal stops at once)");
            let _ = first_tx.send(());
            let name = next().await;
            tracing::warn!(signal = name, "stopping at once");
            let _ = second_tx.send(());
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = first_tx.send(());
        let _ = tokio::signal::ctrl_c().await;
        let _ = second_tx.send(());
    });
    Ok((first, second))
}

/// A bound, ready-to-run keygate node.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    demo_client: Option<demo::DemoClient>,
    /// With `tls_cert_file` and `tls_key_file`: the certificate served, reloaded on SIGHUP.
    tls: Option<Arc<tls::TlsFiles>>,
    /// The webhook relay, started with `serve` (docs/webhooks.md).
    relay: webhooks::Relay,
}

impl Application {
    /// Connect the store (migrations run here), then bind. `listen` port 0 picks a free port.
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        Application::build_with_clock(settings, keygate_registry::Clock::system()).await
    }

    /// [`Application::build`] reading *now* from `clock` (a test's manual clock sets the time
    /// instead of sleeping).
    pub async fn build_with_clock(
        settings: Settings,
        clock: keygate_registry::Clock,
    ) -> Result<Application, StartError> {
        // The certificate first: a bad file is a configuration error, found before anything
        // else is touched.
        let tls = match (&settings.tls_cert_file, &settings.tls_key_file) {
            (Some(cert), Some(key)) => {
                config::secret_file::check(key, "tls_key_file")?;
                Some(Arc::new(tls::TlsFiles::load(cert, key)?))
            }
            _ => None,
        };
        // The webhooks' secrets next: a missing one is a configuration error too.
        let webhooks = webhooks::from_settings(&settings, |name| std::env::var(name).ok())?;
        telemetry::init_metrics();
        let store =
            Store::connect_with_timeout(&settings.database_url, settings.database_timeout).await?;
        // The one clock, held by the registry (docs/architecture.md).
        let registry = keygate_registry::Registry::new(
            store.clone(),
            clock,
            state::registry_settings(&settings),
        );
        registry.prepare_login().await.map_err(StartError::Login)?;
        let now = registry.now();
        let master = system_key::load_master_key(&settings)?;
        let grace = i64::try_from(settings.system_key_grace.as_secs()).unwrap_or(i64::MAX);
        let keyring = system_key::load_keyring(
            &store,
            &master,
            now,
            grace,
            Some(&keygate_core::audit::Origin::keygate()),
        )
        .await?;
        let mut route_configs = settings.routes.clone();
        let mut demo_client = None;
        let mut card_api = None;
        if settings.demo {
            route_configs.extend(demo::routes());
            card_api = Some(Arc::new(gateway::upstream::CardApi::new()));
            demo_client = Some(
                registry
                    .ensure_demo_client()
                    .await
                    .map_err(StartError::DemoClient)?,
            );
        }
        // keygate's own paths are served first (docs/gateway.md, "Request flow"): a route under
        // one of their first segments would never be reached, so it is refused, not shadowed.
        if let Some(shadowed) = route_configs
            .iter()
            .find(|route| front::is_own_path(&route.path))
        {
            return Err(gateway::routes::RouteError::new(
                &shadowed.path,
                "its first segment is one of keygate's own paths (the JSON API and the web \
                 page, docs/gateway.md), so no request would reach it: choose another path",
            )
            .into());
        }
        let routes = gateway::routes::RouteTable::new(
            &route_configs,
            settings.upstream_timeout,
            settings.upstream_ca_file.as_deref(),
            card_api,
        )?;
        let gateway = Arc::new(
            gateway::Gateway::new(
                &store,
                gateway::GatewayParts {
                    routes,
                    keyring,
                    master,
                    grace: settings.system_key_grace,
                    max_skew: settings.signature_max_skew,
                    max_body: settings.max_body_bytes,
                    max_upstream_body: settings.max_upstream_body_bytes,
                    own_cookies: &web::session::OWN_COOKIES,
                    trust_forwarded_for: settings.trust_forwarded_for,
                    clock: registry.clock().clone(),
                    usage_flush_interval: settings.usage_flush_interval,
                },
            )
            .map_err(StartError::Gateway)?,
        );
        gateway::spawn_background(store.clone(), &gateway);
        let relay = webhooks::Relay::new(
            store.clone(),
            registry.clock().clone(),
            webhooks,
            settings.webhook_poll_interval,
        );
        relay.prepare().await?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        // Uploads, revokes and logouts drop this node's cache entries at once.
        let registry = registry.with_caches(gateway.clone());
        let state = AppState {
            store,
            settings: Arc::new(settings),
            registry,
            gateway,
        };
        Ok(Application {
            listener,
            state,
            demo_client,
            tls,
            relay,
        })
    }

    /// Does `serve` listen with TLS (`tls_cert_file`, `tls_key_file`)?
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The address actually bound (the port chosen when `listen` asked for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state the handlers will see (tests reach the store, registry and clock here).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// With `--demo`: the demo client's credentials when they were made by this start.
    pub fn demo_client(&self) -> Option<&demo::DemoClient> {
        self.demo_client.as_ref()
    }

    /// Serve until the future `shutdown` completes, then stop gracefully: stop accepting, let
    /// the requests in flight finish within `shutdown_timeout`, write the usage counts, close
    /// the database pools.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve(shutdown, std::future::pending()).await
    }

    /// Serve until SIGTERM or SIGINT (Ctrl-C), then stop gracefully; a second signal stops
    /// waiting for the requests in flight.
    pub async fn run(self) -> std::io::Result<()> {
        let (first, second) = stop_signals()?;
        self.serve(
            async {
                let _ = first.await;
            },
            async {
                let _ = second.await;
            },
        )
        .await
    }

    async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()>,
        force: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(auth::housekeeping(self.state.clone()));
        let audit_sweep = tokio::spawn(audit::sweep(self.state.clone()));
        let relay = tokio::spawn(self.relay.clone().run());
        let settings = &self.state.settings;
        let limits = serve::Limits {
            header_read_timeout: settings.header_read_timeout,
            idle_timeout: settings.idle_timeout,
            max_connections: settings.max_connections,
            shutdown_timeout: settings.shutdown_timeout,
        };
        let app = front::MakeFront::new(self.state.clone());
        let reloader = match &self.tls {
            Some(files) => Some(files.reload_on_sighup()?),
            None => None,
        };
        serve::serve(
            self.listener,
            app,
            limits,
            self.tls.clone(),
            shutdown,
            force,
        )
        .await;
        if let Some(reloader) = reloader {
            reloader.abort();
        }
        housekeeping.abort();
        audit_sweep.abort();
        // Wait for the relay to end, so no attempt outlives the node (its lease hands any
        // delivery cut short to the next taker).
        relay.abort();
        let _ = relay.await;
        // The usage counted since the last flush, before the pools close (docs/design.md §5).
        self.state.gateway.usage.flush(&self.state.store).await;
        // Closing the pools ends each database session cleanly (PostgreSQL logs no broken
        // connection); bounded, so a connection still held cannot keep the process alive.
        if tokio::time::timeout(POOL_CLOSE_TIMEOUT, self.state.store.close())
            .await
            .is_err()
        {
            tracing::warn!("the database pools did not close within {POOL_CLOSE_TIMEOUT:?}");
        }
        tracing::info!("stopped");
        Ok(())
    }
}
