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

/// `n` distinct RSA-2048 key pairs made by keygate's client crate on every core: the load and
/// memory benchmarks need one registered key per API key, and the store refuses a key twice.
pub fn rsa_key_pairs(n: usize) -> Vec<keygate_client::crypto::GeneratedKeyPair> {
    let threads = std::thread::available_parallelism().map_or(2, |t| t.get());
    (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                (0..n.div_ceil(threads))
                    .map(|_| keygate_client::crypto::generate_rsa_2048().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .take(n)
        .collect()
}

/// `n` API keys of one new client, written through the store (one argon2 hash shared by all,
/// so setting up thousands is quick), each with a live session: the client's id, and each API
/// key's id and bearer token.
pub async fn api_keys_with_sessions(
    store: &keygate_store::Store,
    n: usize,
    now: i64,
) -> (uuid::Uuid, Vec<(uuid::Uuid, String)>) {
    use uuid::Uuid;
    let hash = keygate_server::auth::hash_password("bench-password").unwrap();
    let client = store
        .create_client(
            "Bench",
            &format!("bench-{}", &Uuid::new_v4().simple().to_string()[..8]),
            now,
            |_| Vec::new(),
        )
        .await
        .unwrap();
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let key = store
            .create_api_key(
                client.id,
                &format!("k{i}"),
                &format!("kg_bench_{}", Uuid::new_v4().simple()),
                &hash,
                now,
                |_| Vec::new(),
            )
            .await
            .unwrap();
        let token = format!("bench-token-{}", Uuid::new_v4().simple());
        store
            .create_session(
                &keygate_server::auth::token_hash(&token),
                key.id,
                now,
                now + 3600,
                &[],
            )
            .await
            .unwrap();
        keys.push((key.id, token));
    }
    (client.id, keys)
}
