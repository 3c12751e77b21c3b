//! A client's key pair, made by openssl as a user makes it, and the signatures it makes.

use std::sync::Arc;

use keygate_client::crypto::{sign_request, ClientPrivateKey};
use keygate_core::jose::SigAlg;

use crate::pki::{genrsa, pubout};

/// An RSA-2048 key pair: the PEMs a user holds, and the key parsed by the client crate.
#[derive(Clone)]
pub struct KeyPair {
    /// `openssl genrsa 2048` (PKCS#8).
    pub private_pem: String,
    /// `openssl rsa -pubout` of it: what is uploaded.
    pub public_pem: String,
    /// The private key as keygate's client crate holds it.
    pub key: Arc<ClientPrivateKey>,
}

impl KeyPair {
    /// A fresh pair made with openssl.
    pub fn openssl() -> KeyPair {
        let private_pem = genrsa(2048);
        let public_pem = pubout(&private_pem);
        let key = Arc::new(ClientPrivateKey::from_pem(&private_pem).expect("openssl's key parses"));
        KeyPair {
            private_pem,
            public_pem,
            key,
        }
    }

    /// The `X-Request-Signature` of a request, made by keygate's own client crate at `iat`,
    /// with a fresh jti.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &self,
        alg: SigAlg,
        kid: Option<&str>,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        bearer_token: Option<&str>,
        iat: i64,
    ) -> String {
        sign_request(
            &self.key,
            alg,
            kid,
            method,
            path_and_query,
            body,
            bearer_token,
            iat,
            &new_jti(),
        )
        .expect("sign the request")
    }
}

/// A fresh, valid jti.
pub fn new_jti() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
