//! The gateway's header policy (docs/gateway.md): what is forwarded upstream, what comes back,
//! and the headers every gateway answer gets because it shares keygate's origin.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;

use crate::error::ApiError;

/// Gateway answers share keygate's origin with its web page (docs/gateway.md, "Origin"): no
/// answer is sniffed into another type, and one that is not JSON is sandboxed (an opaque
/// origin, no scripts), so an upstream's HTML cannot act on keygate's own pages. The sandbox is
/// a policy of its own, added beside any the upstream sent: browsers enforce both.
pub(super) fn origin_headers(response: &mut Response) {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !is_json {
        headers.append(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        );
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded, in either direction.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Toward the upstream: hop-by-hop headers, the caller's credentials, what keygate sets itself
/// (so a caller cannot spoof `X-Keygate-*` or `X-Forwarded-For`), and what would let a
/// framework behind keygate serve another method or path than the route table allowed.
fn is_dropped_request_header(name: &HeaderName) -> bool {
    is_hop_by_hop(name)
        || matches!(
            name.as_str(),
            "host" | "content-length" | "authorization" | "x-request-signature"
        )
        || reads_as_prefix(name, "x-keygate-")
        || reads_as(name, "x-forwarded-for")
        || is_override_header(name)
}

/// Headers that frameworks read as the "real" method or path (Symfony's `X-Original-URL` and
/// `X-Rewrite-URL`, the method-override headers of Express, Spring, Rails and ASP.NET): a
/// caller allowed `POST /cards/{id}` must not reach `DELETE /admin` through them (issue 8:
/// the route table is an allow-list, of methods too).
fn is_override_header(name: &HeaderName) -> bool {
    [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-original-method",
        "x-original-url",
        "x-rewrite-url",
    ]
    .iter()
    .any(|h| reads_as(name, h))
}

/// Headers saying who called and how (`Forwarded`, `X-Forwarded-*`, `X-Real-IP`): written by
/// the proxy in front when `trust_forwarded_for` is set, else forgeable by anyone.
fn is_forwarding_header(name: &HeaderName) -> bool {
    reads_as(name, "forwarded")
        || reads_as(name, "x-real-ip")
        || reads_as_prefix(name, "x-forwarded-")
}

/// `name` is `canonical`, reading `_` as `-`: a WSGI or CGI upstream reads `X_Keygate_Client_Id`
/// as `HTTP_X_KEYGATE_CLIENT_ID`, the same variable as keygate's own header (issue 8).
fn reads_as(name: &HeaderName, canonical: &str) -> bool {
    name.as_str().len() == canonical.len() && reads_as_prefix(name, canonical)
}

/// `name` starts with `prefix`, reading `_` as `-` (as [`reads_as`]).
fn reads_as_prefix(name: &HeaderName, prefix: &str) -> bool {
    let name = name.as_str().as_bytes();
    let prefix = prefix.as_bytes();
    name.len() >= prefix.len()
        && name
            .iter()
            .zip(prefix)
            .all(|(&c, &p)| c == p || (c == b'_' && p == b'-'))
}

/// The `Cookie` header without keygate's own cookies (the web session is a credential like the
/// bearer token); `None` when nothing is left.
fn without_own_cookies(value: &HeaderValue, own_cookies: &[&str]) -> Option<HeaderValue> {
    let text = value.to_str().ok()?;
    let kept: Vec<&str> = text
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name).trim();
            !pair.is_empty() && !own_cookies.contains(&name)
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    HeaderValue::from_str(&kept.join("; ")).ok()
}

/// Toward the caller: hop-by-hop headers, and the length (the body may be re-encrypted).
fn is_dropped_response_header(name: &HeaderName) -> bool {
    is_hop_by_hop(name) || name.as_str() == "content-length"
}

/// An upstream's `Set-Cookie` for one of keygate's own cookies: dropped, as the upstream shares
/// keygate's origin and could otherwise fix or clear a user's web session (docs/gateway.md).
fn sets_own_cookie(name: &HeaderName, value: &HeaderValue, own_cookies: &[&str]) -> bool {
    if name != header::SET_COOKIE {
        return false;
    }
    let Ok(text) = value.to_str() else {
        return true; // not readable, so not provably harmless
    };
    let cookie = text.split(';').next().unwrap_or_default();
    let cookie_name = cookie.split_once('=').map_or(cookie, |(n, _)| n).trim();
    own_cookies
        .iter()
        .any(|own| own.eq_ignore_ascii_case(cookie_name))
}

/// Headers named in `Connection` are hop-by-hop too.
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// What the upstream is told about a call, besides the caller's own headers.
pub(super) struct Forwarding<'a> {
    /// `X-Keygate-Client-Id`.
    pub client_id: &'a str,
    /// `X-Keygate-Api-Key-Id`.
    pub api_key_id: &'a str,
    /// `X-Forwarded-For`: the caller's address as keygate determined it
    /// ([`crate::auth::client_address`]), the one address the login limits and the audit
    /// trail use.
    pub address: std::net::IpAddr,
    /// `trust_forwarded_for`: the proxy in front wrote the other forwarding headers, which then
    /// pass; without it they are the caller's and are dropped.
    pub trust_forwarded: bool,
    /// keygate's own cookies, removed from `Cookie`.
    pub own_cookies: &'a [&'a str],
    /// A route with confidential response fields: the caller's `Accept-Encoding` is replaced
    /// by `identity`, because keygate must read the answer to encrypt its fields and a
    /// compressed one could only be refused (docs/gateway.md, "Request flow").
    pub plain_answer: bool,
}

/// The headers sent upstream: the caller's, less what [`is_dropped_request_header`] and
/// `Connection` name, less keygate's own cookies and untrusted forwarding headers, plus what
/// [`Forwarding`] says.
pub(super) fn forward_headers(
    incoming: &HeaderMap,
    with: &Forwarding<'_>,
) -> Result<HeaderMap, ApiError> {
    let listed = connection_listed(incoming);
    let mut out = HeaderMap::with_capacity(incoming.len() + 4);
    for (name, value) in incoming {
        if is_dropped_request_header(name)
            || listed.iter().any(|l| l == name.as_str())
            // A proxy writes the dashed names; `X_Forwarded_Host` is the caller's even behind
            // one, and a WSGI upstream would read it as the proxy's `HTTP_X_FORWARDED_HOST`.
            || (is_forwarding_header(name)
                && (!with.trust_forwarded || name.as_str().contains('_')))
            || (with.plain_answer && name == header::ACCEPT_ENCODING)
        {
            continue;
        }
        if name == header::COOKIE {
            if let Some(value) = without_own_cookies(value, with.own_cookies) {
                out.append(header::COOKIE, value);
            }
        } else {
            out.append(name.clone(), value.clone());
        }
    }
    out.insert(
        HeaderName::from_static("x-keygate-client-id"),
        HeaderValue::from_str(with.client_id).map_err(ApiError::internal)?,
    );
    out.insert(
        HeaderName::from_static("x-keygate-api-key-id"),
        HeaderValue::from_str(with.api_key_id).map_err(ApiError::internal)?,
    );
    out.insert(
        HeaderName::from_static("x-forwarded-for"),
        HeaderValue::from_str(&with.address.to_string()).map_err(ApiError::internal)?,
    );
    if with.plain_answer {
        out.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
    }
    Ok(out)
}

/// The upstream answer's content coding when it is not `identity` (RFC 9110 §8.4): such a body
/// is not the JSON text its fields are found in, whatever its bytes look like.
pub(super) fn content_coding(headers: &HeaderMap) -> Option<String> {
    let codings: Vec<String> = headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("unreadable").split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect();
    (!codings.is_empty()).then(|| codings.join(", "))
}

/// The upstream's headers onto the caller's answer, less hop-by-hop ones, the length, and any
/// `Set-Cookie` for one of keygate's own cookies.
pub(super) fn copy_response_headers(from: &HeaderMap, to: &mut HeaderMap, own_cookies: &[&str]) {
    let listed = connection_listed(from);
    for (name, value) in from {
        if !is_dropped_response_header(name)
            && !listed.iter().any(|l| l == name.as_str())
            && !sets_own_cookie(name, value, own_cookies)
        {
            to.append(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn only_identity_or_no_coding_is_plain() {
        assert_eq!(content_coding(&with(&[])), None);
        assert_eq!(
            content_coding(&with(&[("content-encoding", b"Identity ")])),
            None
        );
        assert_eq!(
            content_coding(&with(&[("content-encoding", b"gzip")])).as_deref(),
            Some("gzip")
        );
        assert_eq!(
            content_coding(&with(&[
                ("content-encoding", b"identity, BR"),
                ("content-encoding", b"gzip"),
            ]))
            .as_deref(),
            Some("br, gzip")
        );
        assert_eq!(
            content_coding(&with(&[("content-encoding", b"\xff")])).as_deref(),
            Some("unreadable")
        );
    }

    fn forwarding(trust_forwarded: bool, plain_answer: bool) -> Forwarding<'static> {
        Forwarding {
            client_id: "c",
            api_key_id: "k",
            address: std::net::IpAddr::from([192, 0, 2, 7]),
            trust_forwarded,
            own_cookies: &[],
            plain_answer,
        }
    }

    #[test]
    fn a_plain_answer_is_asked_for_on_confidential_routes_only() {
        let incoming = with(&[("accept-encoding", b"gzip, br"), ("accept", b"*/*")]);
        let plain = forward_headers(&incoming, &forwarding(false, true)).unwrap();
        assert_eq!(plain.get_all("accept-encoding").iter().count(), 1);
        assert_eq!(plain["accept-encoding"], "identity");
        let passed = forward_headers(&incoming, &forwarding(false, false)).unwrap();
        assert_eq!(passed["accept-encoding"], "gzip, br");
        assert_eq!(passed["accept"], "*/*");
    }

    #[test]
    fn no_header_can_change_the_method_path_or_caller_the_upstream_sees() {
        let incoming = with(&[
            ("x-http-method-override", b"DELETE"),
            ("x_http_method", b"DELETE"),
            ("x-method-override", b"PUT"),
            ("x-original-method", b"DELETE"),
            ("x-original-url", b"/admin"),
            ("x_rewrite_url", b"/admin"),
            ("x-forwarded-for", b"6.6.6.6"),
            ("x_forwarded_for", b"6.6.6.6"),
            ("x-forwarded-proto", b"https"),
            ("x_forwarded_host", b"bank.example"),
            ("forwarded", b"for=6.6.6.6"),
            ("x-real-ip", b"6.6.6.6"),
            ("x-request-id-of-mine", b"kept"),
        ]);
        let out = forward_headers(&incoming, &forwarding(false, false)).unwrap();
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "x-forwarded-for",
                "x-keygate-api-key-id",
                "x-keygate-client-id",
                "x-request-id-of-mine"
            ]
        );
        assert_eq!(out.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(out["x-forwarded-for"], "192.0.2.7");

        // Behind a trusted proxy, what it wrote about the call passes; the caller's address is
        // still the one keygate determined, and the overrides still never pass.
        let out = forward_headers(&incoming, &forwarding(true, false)).unwrap();
        assert_eq!(out["x-forwarded-for"], "192.0.2.7");
        assert_eq!(out["x-forwarded-proto"], "https");
        assert_eq!(out["forwarded"], "for=6.6.6.6");
        assert!(
            out.get("x_forwarded_host").is_none(),
            "no proxy writes the underscore form: the caller did"
        );
        assert!(out.get("x-original-url").is_none() && out.get("x_rewrite_url").is_none());
        assert!(out.get("x-http-method-override").is_none());
    }
}
