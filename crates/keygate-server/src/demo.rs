//! `keygate serve --demo` (docs/gateway.md): a sample card API served in-process behind signed,
//! encrypted gateway routes, and a demo client whose credentials are printed once. The card API
//! itself is an upstream like any other: `gateway::upstream::CardApi`.

use crate::config::{RouteConfig, Scheme, Signature};

/// The gateway routes of the demo.
pub fn routes() -> Vec<RouteConfig> {
    vec![
        RouteConfig {
            path: "/demo/cards/{id}".into(),
            methods: vec!["GET".into()],
            upstream: "keygate:demo".into(),
            signature: Signature::Required,
            encrypt_response: vec![
                "/data/card/number".into(),
                "/data/card/pin".into(),
                "/data/card/cvv".into(),
            ],
            decrypt_request: vec![],
            scheme: Scheme::Jwe,
            ..RouteConfig::default()
        },
        RouteConfig {
            path: "/demo/cards/{id}/pin".into(),
            methods: vec!["POST".into()],
            upstream: "keygate:demo".into(),
            signature: Signature::Required,
            encrypt_response: vec![],
            decrypt_request: vec!["/pin".into()],
            scheme: Scheme::Jwe,
            ..RouteConfig::default()
        },
    ]
}

/// The demo client is made by the registry (`Registry::ensure_demo_client`).
pub use keygate_registry::DemoClient;
