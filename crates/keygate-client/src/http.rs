//! A thin HTTP client for keygate's JSON API. Answers come back as a raw [`Reply`] (status,
//! headers, JSON), which [`Reply::answer`] reads into the wire types of `keygate-api`.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use std::path::Path;

use keygate_api::{Envelope, ErrorBody, ErrorSlug, LoginAnswer, LoginBody, SystemKey};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::tls::TlsClientOptions;

/// The self-check of a signed request (docs/design.md §5, "Self-check"); sign for this path.
pub const SIGNATURE_CHECK_PATH: &str = "/clients/api_key/public_key/check";

/// The self-check's encryption challenge: `GET` one, `POST` the answer.
pub const ENCRYPTION_CHECK_PATH: &str = "/clients/api_key/public_key/check/encryption";

/// What can go wrong talking to keygate.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// keygate could not be reached, or the answer could not be read.
    #[error("cannot reach keygate at {url}: {source}")]
    Transport {
        /// The URL asked.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// keygate refused: the error envelope's slug and message. The slug is kept as text so
    /// that a slug this client does not know yet still comes through ([`Self::slug`] types it).
    #[error("keygate answered {status} {slug}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The envelope's `error`.
        slug: String,
        /// The envelope's `message`, for people.
        message: String,
    },
    /// Bad input on this side, or an answer that is not the documented shape.
    #[error("{0}")]
    Invalid(String),
}

impl ClientError {
    /// The refusal, when keygate refused with a slug this client knows.
    pub fn slug(&self) -> Option<ErrorSlug> {
        match self {
            ClientError::Api { slug, .. } => {
                serde_json::from_value(Value::String(slug.clone())).ok()
            }
            _ => None,
        }
    }
}

/// One answer: the status, the headers and the JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The body as JSON, as received.
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
    /// The error envelope of a refusal, when the body is one (typed; `None` for a slug this
    /// client does not know: [`Reply::slug`] still has it).
    pub fn error(&self) -> Option<ErrorBody> {
        serde_json::from_value(self.body.clone()).ok()
    }
    /// Ok when the status is 2xx, else the envelope's slug and message as an error.
    pub fn into_result(self) -> Result<Reply, ClientError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(self.refusal())
        }
    }
    /// `data` of a success envelope read into its wire type (e.g. `keygate_api::KeyTable` for
    /// `list_keys`), or the refusal as [`ClientError::Api`].
    pub fn answer<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        if !(200..300).contains(&self.status) {
            return Err(self.refusal());
        }
        Envelope::<T>::deserialize(&self.body)
            .map(|envelope| envelope.data)
            .map_err(|e| {
                ClientError::Invalid(format!("keygate's answer has an unexpected shape: {e}"))
            })
    }
    fn refusal(&self) -> ClientError {
        ClientError::Api {
            status: self.status,
            slug: self.slug().unwrap_or("unknown").to_string(),
            message: self.body["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// A client of one keygate, with the bearer token once logged in.
#[derive(Debug, Clone)]
pub struct KeygateClient {
    base_url: String,
    http: reqwest::Client,
    token: Option<String>,
}

/// The staged successor's route (docs/design.md §4).
const SUCCESSOR: &str = "/clients/api_key/public_key/successor";

/// `X-Keygate-Key-Expires`: on answers while the active key is in its last
/// `key_expiry_warning` with no successor staged; the key's `expires_at`, RFC 3339.
pub const KEY_EXPIRES_HEADER: &str = "x-keygate-key-expires";

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

    /// The same client, sending this bearer token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The bearer token, once logged in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// keygate's base URL, without a trailing `/`.
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

    /// Send a JSON body.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<Reply, ClientError> {
        self.send(method, path, Some(body.to_string().into_bytes()), &[])
            .await
    }

    /// Send a request body of the API's own types as JSON.
    pub async fn send_typed(
        &self,
        method: Method,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<Reply, ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Invalid(e.to_string()))?;
        self.send(method, path, Some(body), &[]).await
    }

    /// `POST /auth/login`; the raw reply (the token is in `data.access_token`).
    pub async fn login_reply(&self, api_key: &str, password: &str) -> Result<Reply, ClientError> {
        let body = LoginBody {
            api_client: keygate_api::Credentials {
                api_key: api_key.to_owned(),
                password: password.to_owned(),
            },
        };
        self.send_typed(Method::POST, "/auth/login", &body).await
    }

    /// Log in and keep the token; the answer says who is logged in, and for how long.
    pub async fn login(
        &mut self,
        api_key: &str,
        password: &str,
    ) -> Result<LoginAnswer, ClientError> {
        let answer: LoginAnswer = self.login_reply(api_key, password).await?.answer()?;
        self.token = Some(answer.access_token.clone());
        Ok(answer)
    }

    /// `GET /system/public_key`: the key to encrypt confidential fields to.
    pub async fn system_key(&self) -> Result<SystemKey, ClientError> {
        self.send(Method::GET, "/system/public_key", None, &[])
            .await?
            .answer()
    }

    /// `POST /auth/logout`: the token stops working.
    pub async fn logout(&self) -> Result<Reply, ClientError> {
        self.send(Method::POST, "/auth/logout", None, &[]).await
    }

    /// `POST /clients/api_key/public_key` (`data`: `keygate_api::KeyAnswer`).
    pub async fn upload_key(&self, pem: &str) -> Result<Reply, ClientError> {
        let body = keygate_api::UploadBody {
            public_key: pem.to_owned(),
        };
        self.send_typed(Method::POST, "/clients/api_key/public_key", &body)
            .await
    }

    /// `GET /clients/api_key/public_key` (`data`: `keygate_api::KeyAnswer`).
    pub async fn current_key(&self) -> Result<Reply, ClientError> {
        self.send(Method::GET, "/clients/api_key/public_key", None, &[])
            .await
    }

    /// `DELETE /clients/api_key/public_key`, with a reason or without a body
    /// (`data`: `keygate_api::KeyData`).
    pub async fn revoke_key(&self, reason: Option<&str>) -> Result<Reply, ClientError> {
        match reason {
            Some(reason) => {
                let body = keygate_api::RevokeBody {
                    reason: Some(reason.to_owned()),
                };
                self.send_typed(Method::DELETE, "/clients/api_key/public_key", &body)
                    .await
            }
            None => {
                self.send(Method::DELETE, "/clients/api_key/public_key", None, &[])
                    .await
            }
        }
    }

    /// `PUT /clients/api_key/public_key/successor`: stage the active key's successor
    /// (`data`: `keygate_api::KeyAnswer`, status `PENDING`).
    pub async fn stage_successor(&self, pem: &str) -> Result<Reply, ClientError> {
        let body = keygate_api::UploadBody {
            public_key: pem.to_owned(),
        };
        self.send_typed(Method::PUT, SUCCESSOR, &body).await
    }

    /// `GET /clients/api_key/public_key/successor`: the pending successor
    /// (`data`: `keygate_api::KeyAnswer`), or 404 `no_successor`.
    pub async fn successor(&self) -> Result<Reply, ClientError> {
        self.send(Method::GET, SUCCESSOR, None, &[]).await
    }

    /// `DELETE /clients/api_key/public_key/successor`: withdraw it (`data`:
    /// `keygate_api::KeyData`, status `WITHDRAWN`).
    pub async fn withdraw_successor(&self) -> Result<Reply, ClientError> {
        self.send(Method::DELETE, SUCCESSOR, None, &[]).await
    }

    /// `POST /clients/api_key/public_key/successor/activate`: the successor becomes the active
    /// key now (`data`: `keygate_api::KeyAnswer`).
    pub async fn activate_successor(&self) -> Result<Reply, ClientError> {
        self.send(Method::POST, &format!("{SUCCESSOR}/activate"), None, &[])
            .await
    }

    /// `GET /clients/api_key/public_keys`: the status table (`data`: `keygate_api::KeyTable`).
    pub async fn list_keys(&self) -> Result<Reply, ClientError> {
        self.send(Method::GET, "/clients/api_key/public_keys", None, &[])
            .await
    }

    /// `GET /clients/api_key/audit` (`data`: `keygate_api::AuditPage`): the API key's own audit
    /// trail, newest first; `limit` events (server default 50), from `cursor` (the previous
    /// page's `next_cursor`).
    pub async fn audit_trail(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Reply, ClientError> {
        let mut url = reqwest::Url::parse("http://keygate/clients/api_key/audit")
            .map_err(|e| ClientError::Invalid(e.to_string()))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
        }
        let path = match url.query() {
            Some(q) if !q.is_empty() => format!("{}?{q}", url.path()),
            _ => url.path().to_owned(),
        };
        self.send(Method::GET, &path, None, &[]).await
    }

    /// `GET /clients/api_key/public_keys/{id}` (`data`: `keygate_api::KeyViewData`).
    pub async fn view_key(&self, id: &str) -> Result<Reply, ClientError> {
        self.send(
            Method::GET,
            &format!("/clients/api_key/public_keys/{id}"),
            None,
            &[],
        )
        .await
    }

    /// `POST /clients/api_key/public_key/check` ([`SIGNATURE_CHECK_PATH`]): the self-check of a
    /// signed request. `signature` must be made for `POST`, that path and `body`, as for a
    /// protected call (`data`: `keygate_api::SignatureCheck`).
    pub async fn check_signature(
        &self,
        body: Option<Vec<u8>>,
        signature: &str,
    ) -> Result<Reply, ClientError> {
        self.send(
            Method::POST,
            SIGNATURE_CHECK_PATH,
            body,
            &[("X-Request-Signature", signature)],
        )
        .await
    }

    /// `GET /clients/api_key/public_key/check/encryption`: a new encryption challenge
    /// (`data`: `keygate_api::EncryptionChallenge`).
    pub async fn encryption_challenge(&self) -> Result<Reply, ClientError> {
        self.send(Method::GET, ENCRYPTION_CHECK_PATH, None, &[])
            .await
    }

    /// `POST /clients/api_key/public_key/check/encryption`: answer a challenge with its
    /// decrypted text (`data`: `keygate_api::ChallengeResult`).
    pub async fn answer_challenge(
        &self,
        challenge_id: &str,
        plaintext: &str,
    ) -> Result<Reply, ClientError> {
        let body = keygate_api::ChallengeAnswerBody {
            challenge_id: challenge_id.to_owned(),
            plaintext: plaintext.to_owned(),
        };
        self.send_typed(Method::POST, ENCRYPTION_CHECK_PATH, &body)
            .await
    }
}
