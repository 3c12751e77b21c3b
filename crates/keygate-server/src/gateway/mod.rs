//! The gateway (docs/gateway.md): configured routes proxied to their upstreams with
//! signed-request verification, replay detection and confidential-field rules.
//!
//! One module per job:
//! - `node`: the [`Gateway`] a node holds — routes, caches, replay guard, system keys;
//! - `background`: the work it runs beside requests (listener, replay purge, key ring refresh);
//! - `pipeline`: [`Gateway::handle`], a request from route match to answer, in the order of
//!   checks written there;
//! - `headers`: the header policy, both ways;
//! - `upstream`: where requests go — HTTP(S) or the in-process demo, one interface;
//! - `routes`, `target`, `cache`, `replay`, `listener`, `health`: the route table, the
//!   request-target check, the hot path's memory, `jti` records, invalidations, and the
//!   database's state as this node sees it;
//! - `usage`: signed calls counted per key in memory, flushed in batches.
//!
//! Imports point one way: the gateway imports the crate's leaves (`error`, `config`,
//! `system_key`, `bearer`, `request_log`) and never `state`, `auth`, `web`, `api`, `front` or
//! `telemetry`, which sit above it (docs/architecture.md).

mod background;
pub mod cache;
mod headers;
pub mod health;
mod key_state;
pub mod listener;
mod node;
mod pipeline;
pub mod replay;
pub mod routes;
pub mod upstream;
pub mod usage;

pub use background::spawn_background;
pub use node::{Gateway, GatewayParts};
pub use pipeline::{expiry_header, KEY_EXPIRES};
