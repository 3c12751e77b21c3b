//! A thin HTTP client for keygate's JSON API.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};

use crate::tls::TlsClientOptions;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach keygate at {url}: {source}")]
    Transport { url: String, source: reqwest::Error },
    #[error("keygate answered {status} {slug}: {message}")]
    Api {
        status: u16,
        slug: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// One answer: the status, the headers and the JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `error` slug of a failure envelope.
    pub fn slug(&self) -> Option<&str> {
        self.body.get("error").and_then(Value::as_str)
    }
    /// `data` of a success envelope.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    /// Ok when the status is 2xx, else the envelope's slug and message as an error.
    pub fn into_result(self) -> Result<Reply, ClientError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(ClientError::Api {
                status: self.status,
                slug: self.slug().unwrap_or("unknown").to_string(),
                message: self.body["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            })
        }
    }
}

#[derive(Debug, Clone)]
pub struct KeygateClient {
    base_url: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl KeygateClient {
    /// A client trusting the platform's roots (for an https keygate).
    pub fn new(base_url: impl Into<String>) -> Self {
        let http = crate::tls::http_builder(&TlsClientOptions::default())
            .and_then(|b| {
                b.build()
                    .map_err(|e| crate::tls::TlsSetupError::Rustls(e.to_string()))
            })
            .unwrap_or_default();
        KeygateClient {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            http,
            token: None,
        }
    }

    /// A client trusting the platform's roots and `ca_file` (`--cacert`, `KEYGATE_CACERT`: a
    /// private CA keygate's certificate is issued by).
    pub fn with_ca_file(base_url: impl Into<String>, ca_file: &Path) -> Result<Self, ClientError> {
        let options = TlsClientOptions {
            ca_file: Some(ca_file.to_owned()),
            identity: None,
        };
        let http = crate::tls::http_builder(&options)
            .map_err(|e| ClientError::Invalid(e.to_string()))?
            .build()
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        Ok(KeygateClient {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            http,
            token: None,
        })
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Send one request; the bearer token is added when the client has one.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        extra_headers: &[(&str, &str)],
    ) -> Result<Reply, ClientError> {
        let url = format!("{}{}", self.base_url, path);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        for (name, value) in extra_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ClientError::Invalid(e.to_string()))?;
            let value =
                HeaderValue::from_str(value).map_err(|e| ClientError::Invalid(e.to_string()))?;
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Transport {
                url: url.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|source| ClientError::Transport { url, source })?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<Reply, ClientError> {
        self.send(method, path, Some(body.to_string().into_bytes()), &[])
            .await
    }

    /// `POST /auth/login`; the raw reply (the token is in `data.access_token`).
    pub async fn login_reply(&self, api_key: &str, password: &str) -> Result<Reply, ClientError> {
        self.send_json(
            Method::POST,
            "/auth/login",
            &json!({"api_client": {"api_key": api_key, "password": password}}),
        )
        .await
    }

    /// Log in and keep the token.
    pub async fn login(&mut self, api_key: &str, password: &str) -> Result<Reply, ClientError> {
        let reply = self.login_reply(api_key, password).await?.into_result()?;
        let token = reply.data()["access_token"].as_str().ok_or_else(|| {
            ClientError::Invalid("the login answer carries no access_token".into())
        })?;
        self.token = Some(token.to_string());
        Ok(reply)
    }

    pub async fn logout(&self) -> Result<Reply, ClientError> {
        self.send(Method::POST, "/auth/logout", None, &[]).await
    }

    pub async fn upload_key(&self, pem: &str) -> Result<Reply, ClientError> {
        self.send_json(
            Method::POST,
            "/clients/api_key/public_key",
            &json!({"public_key": pem}),
        )
        .await
    }

    pub async fn current_key(&self) -> Result<Reply, ClientError> {
        self.send(Method::GET, "/clients/api_key/public_key", None, &[])
            .await
    }

    pub async fn revoke_key(&self, reason: Option<&str>) -> Result<Reply, ClientError> {
        match reason {
            Some(reason) => {
                self.send_json(
                    Method::DELETE,
                    "/clients/api_key/public_key",
                    &json!({"reason": reason}),
                )
                .await
            }
            None => {
                self.send(Method::DELETE, "/clients/api_key/public_key", None, &[])
                    .await
            }
        }
    }

    pub async fn list_keys(&self) -> Result<Reply, ClientError> {
        self.send(Method::GET, "/clients/api_key/public_keys", None, &[])
            .await
    }

    pub async fn view_key(&self, id: &str) -> Result<Reply, ClientError> {
        self.send(
            Method::GET,
            &format!("/clients/api_key/public_keys/{id}"),
            None,
            &[],
        )
        .await
    }
}
