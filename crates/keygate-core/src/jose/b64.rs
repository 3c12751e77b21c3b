//! The two base64 flavours JOSE and §6 use, and the SHA-256 helper of §5.
//!
//! Decoding is strict: base64url without padding (RFC 7515 §2) and standard base64 with padding;
//! non-canonical trailing bits are refused by the `base64` engines' defaults.

use aws_lc_rs::digest;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// base64url without padding.
#[must_use]
pub fn b64url_encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` for anything else.
#[must_use]
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Standard base64 with padding.
#[must_use]
pub fn b64_std_encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 with padding; `None` for anything else.
#[must_use]
pub fn b64_std_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// base64url (no padding) of the SHA-256 of `bytes`: the form of `body_sha256` and `ath`.
#[must_use]
pub fn sha256_b64url(bytes: &[u8]) -> String {
    b64url_encode(digest::digest(&digest::SHA256, bytes))
}
