//! Client Ids, Client Secrets and how secrets are stored.
//!
//! A stored secret is a self-describing string, so the scheme can change without breaking keys:
//! - `$hmac-sha256$v=1$<base64 digest>`: HMAC-SHA256 keyed by the server's pepper (default). The
//!   secrets are 256 random bits, so a slow KDF adds cost and no strength.
//! - `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`: for sites whose policy demands a slow hash.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;

use crate::auth::password::{argon2, new_salt};
use crate::crypto::random_hex;
use crate::error::AppError;

const HMAC_PREFIX: &str = "$hmac-sha256$v=1$";

/// The scheme new and regenerated secrets are stored with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashScheme {
    HmacSha256,
    Argon2id,
}

impl HashScheme {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hmac-sha256" => Some(HashScheme::HmacSha256),
            "argon2id" => Some(HashScheme::Argon2id),
            _ => None,
        }
    }
}

/// The server-side key of the HMAC scheme, held outside the database. No `Debug`: a secret.
#[derive(Clone)]
pub struct Pepper(Vec<u8>);

impl Pepper {
    pub const MIN_BYTES: usize = 32;

    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < Self::MIN_BYTES {
            return Err(format!("must be at least {} bytes", Self::MIN_BYTES));
        }
        Ok(Pepper(bytes))
    }

    /// Reads a pepper written as hex (64+ hex characters).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim()).map_err(|_| "is not hexadecimal".to_string())?;
        Self::new(bytes)
    }
}

/// How secrets are hashed and checked on this server.
#[derive(Clone)]
pub struct SecretHasher {
    pub scheme: HashScheme,
    pepper: Pepper,
}

impl SecretHasher {
    pub fn new(scheme: HashScheme, pepper: Pepper) -> Self {
        SecretHasher { scheme, pepper }
    }

    /// The stored form of `secret` under the configured scheme.
    pub fn hash(&self, secret: &ClientSecret) -> Result<String, AppError> {
        match self.scheme {
            HashScheme::HmacSha256 => Ok(format!(
                "{HMAC_PREFIX}{}",
                STANDARD_NO_PAD.encode(self.hmac(secret.0.as_bytes())?)
            )),
            HashScheme::Argon2id => {
                let salt = new_salt()?;
                argon2()?
                    .hash_password(secret.0.as_bytes(), &salt)
                    .map(|h| h.to_string())
                    .map_err(AppError::logged(
                        "argon2id hashing of a client secret failed",
                    ))
            }
        }
    }

    /// Whether `candidate` matches `stored`, whatever scheme `stored` was made with. Constant-time.
    pub fn verify(&self, candidate: &str, stored: &str) -> bool {
        if let Some(digest) = stored.strip_prefix(HMAC_PREFIX) {
            let Ok(expected) = STANDARD_NO_PAD.decode(digest) else {
                return false;
            };
            return crate::crypto::hmac_sha256_matches(
                &self.pepper.0,
                candidate.as_bytes(),
                &expected,
            );
        }
        if stored.starts_with("$argon2") {
            let Ok(hash) = PasswordHash::new(stored) else {
                return false;
            };
            return argon2::Argon2::default()
                .verify_password(candidate.as_bytes(), &hash)
                .is_ok();
        }
        tracing::error!("a stored client secret has an unknown hash scheme");
        false
    }

    /// A stored value of the configured scheme that no secret matches. Checking a candidate
    /// against it costs what a real check costs, so an unknown Client Id answers in the same time
    /// as a wrong secret.
    pub fn decoy(&self) -> String {
        static ARGON2_DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        match self.scheme {
            HashScheme::HmacSha256 => format!("{HMAC_PREFIX}{}", STANDARD_NO_PAD.encode([0u8; 32])),
            HashScheme::Argon2id => ARGON2_DECOY
                .get_or_init(|| {
                    ClientSecret::generate()
                        .and_then(|s| self.hash(&s))
                        .unwrap_or_else(|_| {
                            format!("{HMAC_PREFIX}{}", STANDARD_NO_PAD.encode([0u8; 32]))
                        })
                })
                .clone(),
        }
    }

    /// A value that identifies the pepper without revealing it (an HMAC of a constant), kept in
    /// the database so that start-up notices a missing or different pepper.
    pub fn pepper_check(&self) -> Result<String, AppError> {
        Ok(hex::encode(self.hmac(b"xray-keys pepper check")?))
    }

    fn hmac(&self, data: &[u8]) -> Result<Vec<u8>, AppError> {
        crate::crypto::hmac_sha256(&self.pepper.0, data)
    }
}

/// 32 uppercase hex characters: 128 random bits.
pub fn new_client_id() -> Result<String, AppError> {
    Ok(random_hex(16)?.to_uppercase())
}

/// A freshly generated Client Secret: 64 lowercase hex characters, 256 random bits.
/// No `Debug`, no `Serialize`: it leaves the server only inside the one response that shows it.
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn generate() -> Result<Self, AppError> {
        Ok(ClientSecret(random_hex(32)?))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(scheme: HashScheme) -> SecretHasher {
        SecretHasher::new(scheme, Pepper::new(vec![7u8; 32]).unwrap())
    }

    #[test]
    fn key_material_has_the_xray_shapes() {
        let id = new_client_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
        let secret = ClientSecret::generate().unwrap();
        assert_eq!(secret.expose().len(), 64);
        assert!(secret
            .expose()
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_ne!(secret.expose(), ClientSecret::generate().unwrap().expose());
    }

    #[test]
    fn hmac_hashes_are_self_describing_and_verify() {
        let h = hasher(HashScheme::HmacSha256);
        let secret = ClientSecret::generate().unwrap();
        let stored = h.hash(&secret).unwrap();
        assert!(stored.starts_with("$hmac-sha256$v=1$"), "{stored}");
        assert!(!stored.contains(secret.expose()));
        assert!(h.verify(secret.expose(), &stored));
        assert!(!h.verify(&"0".repeat(64), &stored));
        let other_pepper =
            SecretHasher::new(HashScheme::HmacSha256, Pepper::new(vec![8u8; 32]).unwrap());
        assert!(
            !other_pepper.verify(secret.expose(), &stored),
            "the pepper matters"
        );
    }

    #[test]
    fn argon2id_hashes_verify_under_either_configured_scheme() {
        let secret = ClientSecret::generate().unwrap();
        let stored = hasher(HashScheme::Argon2id).hash(&secret).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        // A server switched back to HMAC still accepts keys stored with argon2id.
        assert!(hasher(HashScheme::HmacSha256).verify(secret.expose(), &stored));
        assert!(!hasher(HashScheme::Argon2id).verify("wrong", &stored));
    }

    #[test]
    fn unknown_or_garbled_stored_forms_never_verify() {
        let h = hasher(HashScheme::HmacSha256);
        for stored in [
            "",
            "plain",
            "$md5$abc",
            "$hmac-sha256$v=1$!!!",
            "$argon2id$garbage",
        ] {
            assert!(!h.verify("anything", stored), "{stored}");
        }
    }

    #[test]
    fn peppers_must_be_long_enough() {
        assert!(Pepper::new(vec![1; 16]).is_err());
        assert!(Pepper::from_hex("zz").is_err());
        assert!(Pepper::from_hex(&"ab".repeat(32)).is_ok());
    }
}
