//! keygate's HTTP layer: the JSON API, configuration and the application that binds them.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod registry;
pub mod state;
pub mod telemetry;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use keygate_core::public_key::KeyPolicy;
use keygate_store::Store;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::config::Settings;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] keygate_store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// The whole HTTP surface for one state.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    Router::new()
        .merge(api::router())
        .merge(web::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("nothing is served at this path")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A bound, ready-to-run keygate node.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connect the store (migrations run here), then bind. `listen` port 0 picks a free port.
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        telemetry::init_metrics();
        let store = Store::connect(&settings.database_url).await?;
        let dummy = tokio::task::spawn_blocking(|| {
            let password = auth::random_secret(24)?;
            auth::hash_password(&password)
        })
        .await
        .map_err(|e| StartError::Other(e.to_string()))?
        .map_err(|e| StartError::Other(e.to_string()))?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let state = AppState {
            store,
            key_policy: Arc::new(KeyPolicy {
                allowed_bits: settings.allowed_key_bits.clone(),
            }),
            settings: Arc::new(settings),
            dummy_password_hash: Arc::from(dummy),
        };
        Ok(Application { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until the future `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Serve until Ctrl-C / SIGTERM.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    }
}
