//! Passwords, secrets and token digests: the building blocks of logins and API keys.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use aws_lc_rs::{digest, rand};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::RegistryError;

/// argon2id with the crate's default (OWASP) parameters. Slow on purpose: call it off the
/// async threads (`tokio::task::spawn_blocking`).
///
/// # Errors
/// [`RegistryError::Internal`] if hashing fails (it does not with these parameters).
pub fn hash_password(password: &str) -> Result<String, RegistryError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(RegistryError::internal)
}

/// Whether `password` matches the PHC string `hash` (a malformed hash matches nothing).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// `n` random bytes, base64url: API key identifiers, passwords, tokens.
///
/// # Errors
/// [`RegistryError::Internal`] if the system random generator fails.
pub fn random_secret(n: usize) -> Result<String, RegistryError> {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes)
        .map_err(|_| RegistryError::internal("the system random generator failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A new API key's login identifier and password. The password never starts with `-`, which a
/// command line (`keygate client login --password ...`) would read as an option.
///
/// # Errors
/// [`RegistryError::Internal`] if the system random generator fails.
pub fn new_credentials() -> Result<(String, String), RegistryError> {
    let login = format!("kg_{}", random_secret(18)?);
    Ok((login, new_password()?))
}

/// A new password: 24 random bytes, base64url, never starting with `-` (so a command line
/// never takes it for a flag).
pub fn new_password() -> Result<String, RegistryError> {
    let password = random_secret(24)?;
    Ok(match password.strip_prefix('-') {
        Some(rest) => format!("_{rest}"),
        None => password,
    })
}

/// Tokens are stored only as their SHA-256 (lowercase hex), so a database dump holds no usable
/// token.
pub fn token_hash(token: &str) -> String {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hash `password` on a blocking thread (argon2 would stall the async workers).
pub(crate) async fn hash_password_blocking(password: &str) -> Result<String, RegistryError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(RegistryError::internal)?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_safe_on_a_command_line() {
        // 1 in 64 raw base64url secrets starts with `-`; 2,000 draws meet that case ~31 times.
        for _ in 0..2000 {
            let (login, password) = new_credentials().unwrap();
            assert!(login.starts_with("kg_") && login.len() == 27, "{login}");
            assert!(!password.starts_with('-'), "{password}");
            assert_eq!(password.len(), 32);
        }
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("right").unwrap();
        assert!(verify_password("right", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("right", "not a hash"));
    }

    #[test]
    fn token_hashes_are_lowercase_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
