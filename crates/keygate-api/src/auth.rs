//! `POST /auth/login` and `POST /auth/logout`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The login request: `{"api_client": {"api_key": …, "password": …}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = LoginRequest)]
pub struct LoginBody {
    /// The API key's credentials.
    pub api_client: Credentials,
}

/// An API key and its password (at most 256 and 1024 bytes, neither empty).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct Credentials {
    /// The login identifier (`kg_…`).
    pub api_key: String,
    /// The API key's password.
    #[schema(format = Password)]
    pub password: String,
}

/// The password stays out of logs and panics.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

/// `data` of a login: the bearer token and who it speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = LoginData)]
pub struct LoginAnswer {
    /// The bearer token (also in the answer's `Authorization` header).
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds the token is valid for.
    pub expires_in: u64,
    /// The client the API key belongs to.
    pub client: ClientRef,
    /// The API key that logged in.
    pub api_key: ApiKeyRef,
}

/// A client, as answers name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientRef {
    /// The client's id.
    pub id: Uuid,
    /// Its display name.
    pub name: String,
    /// Its short, unique alias.
    pub alias: String,
}

/// An API key, as the login answer names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyRef {
    /// The API key's id.
    pub id: Uuid,
    /// Its alias within the client.
    pub alias: String,
}

/// `data` of a logout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = LogoutData)]
pub struct LogoutAnswer {
    /// Always `true`: the token no longer works.
    pub logged_out: bool,
}
