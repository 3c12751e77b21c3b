//! The HTTP(S) upstream: the URL a request is sent to, the call, the answer read within its
//! bound, and what a failed exchange answers (docs/gateway.md).

use axum::body::Bytes;
use axum::http::HeaderMap;

use super::{CallUpstream, UpstreamReply, UpstreamRequest};
use crate::error::ApiError;

/// An HTTP(S) upstream: its base URL as configured (no trailing `/`), that URL's path part, and
/// the client that calls it (one per TLS profile, shared by the routes that have it).
#[derive(Debug, Clone)]
pub struct HttpUpstream {
    base: String,
    base_path: String,
    /// The pooled client of this upstream's TLS profile (no redirects followed).
    pub client: reqwest::Client,
}

impl HttpUpstream {
    pub(in crate::gateway) fn parse(
        configured: &str,
        client: reqwest::Client,
    ) -> Result<HttpUpstream, String> {
        let base = configured.trim_end_matches('/');
        let url = reqwest::Url::parse(base)
            .map_err(|e| format!("upstream {configured:?} is not a URL: {e}"))?;
        let scheme_len = if base.starts_with("https://") {
            "https://".len()
        } else {
            "http://".len()
        };
        let base_path = match base.get(scheme_len..).and_then(|rest| rest.find('/')) {
            Some(at) => base[scheme_len + at..].to_owned(),
            None => String::new(),
        };
        // The base must already be in the form a URL parser keeps (no dot segments, nothing
        // it would re-encode), or `url` below could never match it.
        let parsed_path = if base_path.is_empty() {
            "/"
        } else {
            &base_path
        };
        if url.path() != parsed_path
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(format!(
                "upstream must be http(s)://host:port[/base] with a plain base path, not {configured:?}"
            ));
        }
        Ok(HttpUpstream {
            base: base.to_owned(),
            base_path,
            client,
        })
    }

    /// The URL to send a request to: `<base><path and query as received>`, checked after it is
    /// parsed, so a URL library that resolves or re-encodes anything cannot send the request
    /// elsewhere (docs/gateway.md, "The request target"). `None` when the parsed URL differs.
    pub fn url(&self, path_and_query: &str) -> Option<reqwest::Url> {
        let url = reqwest::Url::parse(&format!("{}{path_and_query}", self.base)).ok()?;
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let same = url.path().strip_prefix(self.base_path.as_str()) == Some(path)
            && url.query() == query
            && url.fragment().is_none();
        same.then_some(url)
    }
}

impl CallUpstream for HttpUpstream {
    async fn call(
        &self,
        request: UpstreamRequest<'_>,
        headers: impl FnOnce() -> Result<HeaderMap, ApiError> + Send,
    ) -> Result<UpstreamReply, ApiError> {
        let route = request.route;
        let Some(url) = self.url(request.path_and_query) else {
            tracing::warn!(route = %route, "the upstream URL would differ from base + path; refused");
            return Err(ApiError::InvalidRequest(
                "the request target cannot be forwarded unchanged".into(),
            ));
        };
        let response = self
            .client
            .request(request.method, url)
            .headers(headers()?)
            .body(request.body)
            .send()
            .await
            .map_err(|e| upstream_error(e, route))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_bounded(response, request.max_reply, route).await?;
        Ok(UpstreamReply {
            status,
            headers,
            body,
        })
    }
}

/// The upstream's answer, read up to `max_upstream_body_bytes`: a larger one is refused (502)
/// rather than held in memory whole.
async fn read_bounded(
    mut response: reqwest::Response,
    max: usize,
    route: &str,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        tracing::warn!(route = %route, max, "the upstream's answer is larger than max_upstream_body_bytes; refused");
        ApiError::UpstreamUnavailable
    };
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    // Most answers arrive in one chunk: it is kept as it is, without a copy.
    let Some(first) = response
        .chunk()
        .await
        .map_err(|e| upstream_error(e, route))?
    else {
        return Ok(Bytes::new());
    };
    if first.len() > max {
        return Err(too_large());
    }
    let mut body: Option<Vec<u8>> = None;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| upstream_error(e, route))?
    {
        let body = body.get_or_insert_with(|| first.to_vec());
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.map_or(first, Bytes::from))
}

/// A failed upstream exchange: 504 on a timeout, else 502; the warning names the route and the
/// whole cause (e.g. rustls's "invalid peer certificate: UnknownIssuer"), never a key.
fn upstream_error(e: reqwest::Error, route: &str) -> ApiError {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        cause.push_str(": ");
        cause.push_str(&inner.to_string());
        source = inner.source();
    }
    if e.is_timeout() {
        tracing::warn!(route = %route, error = %cause, "upstream timed out");
        ApiError::UpstreamTimeout
    } else {
        tracing::warn!(route = %route, error = %cause, "upstream unavailable");
        ApiError::UpstreamUnavailable
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_url_sent_is_base_plus_target_or_nothing() {
        keygate_client::tls::install_crypto_provider();
        let client = reqwest::Client::builder().build().unwrap();
        let with_base = HttpUpstream::parse("http://127.0.0.1:9/docs/", client.clone()).unwrap();
        let bare = HttpUpstream::parse("https://127.0.0.1:9", client.clone()).unwrap();
        assert_eq!(
            with_base.url("/files/a?x=1").unwrap().as_str(),
            "http://127.0.0.1:9/docs/files/a?x=1"
        );
        assert_eq!(bare.url("/").unwrap().as_str(), "https://127.0.0.1:9/");
        // What a URL library would resolve or re-encode never leaves (defence in depth: the
        // target check refuses these before routing).
        for target in [
            "/files/../cards/42",
            "/files/x\\..\\cards",
            "/a b",
            "/%2e%2e/x",
            "/a#b",
        ] {
            assert!(with_base.url(target).is_none(), "{target}");
            assert!(bare.url(target).is_none(), "{target}");
        }
        for bad in [
            "http://h/docs/../x",
            "http://u:p@h/x",
            "http://h/x?q=1",
            "http://h/a b",
        ] {
            assert!(HttpUpstream::parse(bad, client.clone()).is_err(), "{bad}");
        }
    }
}
