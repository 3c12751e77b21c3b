//! What the fuzz targets share: the input framing, the fixed test keys and the request every
//! signed-request input is checked against.
//!
//! Input framing (the same for every target, so seeds are easy to write by hand): the first
//! byte selects a mode, the rest is split into parts on NUL bytes (PEM, JSON, JWS and JWE text
//! never hold a raw NUL). [`frame`] builds such an input.
//!
//! The keys in `fuzz/keys/` are throwaway RSA-2048 keys made with
//! `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 | openssl pkcs8 -topk8 -nocrypt
//! -outform DER`, used only here.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt::Debug;
use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use keygate_core::jose::{ClientKey, RequestFacts, SystemKey};
use uuid::Uuid;

/// The client's private key (PKCS#8 DER): signs requests, decrypts response fields.
pub const CLIENT_PKCS8: &[u8] = include_bytes!("../keys/client.pk8");
/// keygate's current system key (PKCS#8 DER).
pub const SYSTEM_PKCS8: &[u8] = include_bytes!("../keys/system.pk8");
/// keygate's previous system key, still in its grace period (PKCS#8 DER).
pub const SYSTEM_OLD_PKCS8: &[u8] = include_bytes!("../keys/system-old.pk8");

/// The id of the client's key (its `kid`).
pub const CLIENT_KEY_ID: Uuid = Uuid::from_u128(0x0682dd3c_5f1e_4c3a_9b5e_6b0c1d2e3f40);

/// The server's clock for every signed-request input.
pub const NOW: i64 = 1_800_000_000;
/// The request every signed-request input is checked against.
pub const FACTS: RequestFacts<'static> = RequestFacts {
    method: "POST",
    path_and_query: "/cards/42/pin?full=1",
    body: br#"{"pin":"1234"}"#,
    bearer_token: "kg-fuzz-bearer-token",
};

/// Panics with `what` when test-fixture setup fails (it cannot, with the committed keys).
pub fn setup<T, E: Debug>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("fuzz fixture setup failed: {what}: {e:?}"),
    }
}

/// The client's key pair, its private half (for JWE, OAEP and PKCS#1 decryption), and the
/// [`ClientKey`]
/// keygate builds from the public half.
pub struct Client {
    pub pair: RsaKeyPair,
    pub private: PrivateDecryptingKey,
    pub oaep: OaepPrivateDecryptingKey,
    pub pkcs1: Pkcs1PrivateDecryptingKey,
    pub key: ClientKey,
    pub spki_der: Vec<u8>,
}

pub fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let pair = setup(RsaKeyPair::from_pkcs8(CLIENT_PKCS8), "client key pair");
        let private = setup(
            PrivateDecryptingKey::from_pkcs8(CLIENT_PKCS8),
            "client decrypting key",
        );
        let spki_der = setup(pair.public_key().as_der(), "client SPKI")
            .as_ref()
            .to_vec();
        let key = setup(
            ClientKey::from_spki_der(&spki_der, CLIENT_KEY_ID),
            "client key",
        );
        let oaep = setup(
            OaepPrivateDecryptingKey::new(private.clone()),
            "client OAEP key",
        );
        let pkcs1 = setup(
            Pkcs1PrivateDecryptingKey::new(private.clone()),
            "client PKCS#1 key",
        );
        Client {
            pair,
            private,
            oaep,
            pkcs1,
            key,
            spki_der,
        }
    })
}

/// keygate's system keys, current first, and their public halves for OAEP encryption.
pub struct System {
    pub keys: [SystemKey; 2],
    pub public: [OaepPublicEncryptingKey; 2],
}

pub fn system() -> &'static System {
    static SYSTEM: OnceLock<System> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        let load = |der: &[u8]| setup(SystemKey::from_pkcs8_der(der), "system key");
        let keys = [load(SYSTEM_PKCS8), load(SYSTEM_OLD_PKCS8)];
        let public = |k: &SystemKey| {
            let public = setup(
                PublicEncryptingKey::from_der(k.public_spki_der()),
                "system public key",
            );
            setup(OaepPublicEncryptingKey::new(public), "system OAEP key")
        };
        let public = [public(&keys[0]), public(&keys[1])];
        System { keys, public }
    })
}

/// The mode byte and the NUL-separated parts of a fuzz input (an empty input is mode 0 with one
/// empty part).
pub fn unframe(data: &[u8]) -> (u8, Vec<&[u8]>) {
    match data.split_first() {
        Some((mode, rest)) => (*mode, rest.split(|b| *b == 0).collect()),
        None => (0, vec![&[][..]]),
    }
}

/// The input [`unframe`] reads as `mode` and `parts`.
pub fn frame(mode: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![mode];
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part);
    }
    out
}

/// A part as text: the bytes when they are UTF-8, else a lossy conversion (so no input is
/// wasted on the UTF-8 check the HTTP layer does before keygate-core ever sees the text).
pub fn text(part: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(part)
}

/// The part at `i`, or empty.
pub fn part<'a>(parts: &[&'a [u8]], i: usize) -> &'a [u8] {
    parts.get(i).copied().unwrap_or_default()
}

/// The member names of a JSON object's text, in order, duplicates kept; `None` when the text is
/// not a JSON object.
pub fn member_names(json: &[u8]) -> Option<Vec<String>> {
    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

    struct Names(Vec<String>);
    impl<'de> Deserialize<'de> for Names {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct NamesVisitor;
            impl<'de> Visitor<'de> for NamesVisitor {
                type Value = Names;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Names, M::Error> {
                    let mut names = Vec::new();
                    while let Some((name, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                        names.push(name);
                    }
                    Ok(Names(names))
                }
            }
            deserializer.deserialize_map(NamesVisitor)
        }
    }
    serde_json::from_slice::<Names>(json).ok().map(|n| n.0)
}
