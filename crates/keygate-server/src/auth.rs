//! Bearer tokens, the caller's address and the `Authenticated` extractor: the HTTP side of
//! login. The rules (limits, password checks, sessions) are the registry's (`keygate_registry`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use keygate_core::audit::Origin;
use keygate_core::model::{Principal, UnixTime};

// Below the gateway, which reads the bearer token too (imports point one way).
pub use crate::bearer::bearer_token;
use crate::error::ApiError;
use crate::state::AppState;

// Credentials belong to the registry; re-exported for the callers that have always found them
// here (tests, the load example, `keygate admin`).
pub use keygate_registry::credentials::{
    hash_password, new_credentials, random_secret, token_hash,
};

/// Drops expired sessions and login failures older than the window, once a minute, so neither
/// table grows without bound. Runs while the node serves.
pub async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.registry.purge_expired().await;
    }
}

/// Resolve a bearer token to who it speaks for (the registry's session lookup), and name the
/// caller in the request's log line; shared by the API and the web page.
pub async fn authenticate_token(
    state: &AppState,
    token: &str,
) -> Result<(Principal, UnixTime), ApiError> {
    let found = state.registry.session(token).await?;
    crate::request_log::set_caller(found.0.client.id, found.0.api_key.id);
    Ok(found)
}

/// The caller's address for login limits, the audit trail and the upstream's
/// `X-Forwarded-For`: the peer, or behind a trusted proxy the *last* `X-Forwarded-For` entry,
/// the one that proxy wrote. Entries before it came with the request and anyone can forge them
/// (a proxy that appends, as nginx's `$proxy_add_x_forwarded_for` and most load balancers do,
/// keeps what the caller sent in front); docs/decisions.md, "Login limits".
pub fn client_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded_for: bool,
) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .flatten();
    forwarded
        .or(peer.map(|p| p.ip()))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The TCP peer of a request, as the server recorded it (`front::Front` inserts it).
fn peer_of(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// [`client_address`] of a request: who called, for the audit trail and the upstream's
/// `X-Forwarded-For`.
pub fn caller_address(parts: &Parts, trust_forwarded_for: bool) -> IpAddr {
    client_address(&parts.headers, peer_of(parts), trust_forwarded_for)
}

/// The request's source address for the audit trail (docs/design.md §11): the same address
/// the login limits count ([`client_address`]).
pub fn request_source(parts: &Parts, state: &AppState) -> String {
    caller_address(parts, state.settings.trust_forwarded_for).to_string()
}

/// A request with a valid bearer token.
pub struct Authenticated {
    /// Who the token belongs to (client and API key).
    pub principal: Principal,
    /// The token's SHA-256 as the store keeps it (lowercase hex); logout deletes by it.
    pub token_hash: String,
    /// Who acts (the API key) and from where, for the audit trail.
    pub origin: Origin,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        let (principal, _) = authenticate_token(state, token).await?;
        let origin = Origin::api_key(principal.api_key.id, Some(request_source(parts, state)));
        Ok(Authenticated {
            principal,
            token_hash: token_hash(token),
            origin,
        })
    }
}

/// The peer address, when the server was started with connect info.
pub struct PeerAddress(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddress(peer_of(parts)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(lines: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append("x-forwarded-for", line.parse().unwrap());
        }
        map
    }

    #[test]
    fn only_the_entry_the_trusted_proxy_wrote_counts() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 2], 4000)));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Untrusted: the peer, whatever the header says.
        assert_eq!(
            client_address(&headers(&["6.6.6.6"]), peer, false),
            ip("10.0.0.2")
        );
        // Behind a proxy that overwrites: its one entry.
        assert_eq!(
            client_address(&headers(&["203.0.113.9"]), peer, true),
            ip("203.0.113.9")
        );
        // Behind a proxy that appends: the caller's forged entries come first and do not count.
        assert_eq!(
            client_address(&headers(&["6.6.6.6, 7.7.7.7,203.0.113.9"]), peer, true),
            ip("203.0.113.9")
        );
        // A proxy that adds a header line of its own after the caller's.
        assert_eq!(
            client_address(&headers(&["6.6.6.6", "2001:db8::7"]), peer, true),
            ip("2001:db8::7")
        );
        // Nothing usable written by the proxy: the peer, never a forged entry before it.
        for bad in [&["6.6.6.6, not-an-address"][..], &["6.6.6.6,"], &[]] {
            assert_eq!(
                client_address(&headers(bad), peer, true),
                ip("10.0.0.2"),
                "{bad:?}"
            );
        }
    }
}
