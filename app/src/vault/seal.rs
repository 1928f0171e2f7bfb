//! The master key and sealed values.
//!
//! A sealed value reads `xk1$<key id>$<nonce>$<ciphertext>`: XChaCha20-Poly1305 with a fresh
//! random 192-bit nonce per write, and additional data naming the record it belongs to, so a
//! ciphertext copied onto another record fails to open. The key id (derived from the key) lets a
//! wrong master key be told apart from damaged data, and lets keys rotate.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::error::AppError;

pub(super) const PREFIX: &str = "xk1$";

/// The 256-bit key-encryption key. No `Debug`: a secret.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    id: String,
}

impl MasterKey {
    pub fn new(key: [u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"xray-keys master key id\0")
            .chain_update(key)
            .finalize();
        MasterKey {
            key,
            id: hex::encode(&digest[..4]),
        }
    }

    /// A key written as 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim()).map_err(|_| "is not hexadecimal".to_string())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must be exactly 64 hexadecimal characters (256 bits)".to_string())?;
        Ok(Self::new(key))
    }

    pub fn generate() -> Result<Self, AppError> {
        Ok(Self::new(crate::crypto::random_bytes::<32>()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.key)
    }

    /// A short public name of this key (not secret: derived one-way).
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Why a sealed value could not be opened. Says nothing about the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the value is not a sealed value of this server")]
    Malformed,
    #[error("the value was sealed under another master key (key id {0})")]
    OtherKey(String),
    #[error("the value does not belong to this record or was altered")]
    Forged,
}

impl MasterKey {
    /// Encrypts `plaintext` for the record named by `record` (the additional data).
    pub fn seal(&self, plaintext: &[u8], record: &str) -> Result<String, AppError> {
        let sealed = self.seal_bytes(plaintext, record)?;
        let (nonce, ciphertext) = sealed.split_at(24);
        Ok(format!(
            "{PREFIX}{}${}${}",
            self.id,
            STANDARD_NO_PAD.encode(nonce),
            STANDARD_NO_PAD.encode(ciphertext)
        ))
    }

    /// Decrypts a value sealed for `record`.
    pub fn open(&self, sealed: &str, record: &str) -> Result<Vec<u8>, OpenError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(OpenError::Malformed)?;
        let mut parts = rest.split('$');
        let (Some(key_id), Some(nonce), Some(ciphertext), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed);
        };
        if key_id != self.id {
            return Err(OpenError::OtherKey(key_id.chars().take(8).collect()));
        }
        let nonce = STANDARD_NO_PAD
            .decode(nonce)
            .ok()
            .filter(|n| n.len() == 24)
            .ok_or(OpenError::Malformed)?;
        let ciphertext = STANDARD_NO_PAD
            .decode(ciphertext)
            .map_err(|_| OpenError::Malformed)?;
        XChaCha20Poly1305::new((&self.key).into())
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: record.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Forged)
    }
}

impl MasterKey {
    /// Encrypts `plaintext` for `record` as bytes: the 24-byte nonce, then the ciphertext (for
    /// files, where text would cost a third more).
    pub fn seal_bytes(&self, plaintext: &[u8], record: &str) -> Result<Vec<u8>, AppError> {
        let nonce = crate::crypto::random_bytes::<24>()?;
        let mut out = nonce.to_vec();
        out.extend(
            XChaCha20Poly1305::new((&self.key).into())
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: plaintext,
                        aad: record.as_bytes(),
                    },
                )
                .map_err(|_| {
                    tracing::error!("AEAD encryption failed");
                    AppError::Internal
                })?,
        );
        Ok(out)
    }

    /// Decrypts what [`MasterKey::seal_bytes`] made for `record`; `None` if it was not.
    pub fn open_bytes(&self, sealed: &[u8], record: &str) -> Option<Vec<u8>> {
        if sealed.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(24);
        XChaCha20Poly1305::new((&self.key).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: record.as_bytes(),
                },
            )
            .ok()
    }
}

/// Whether a stored value is sealed (rather than plain).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// The additional data of a sealed settings row.
pub fn settings_record(name: &str) -> String {
    format!("settings:{name}")
}

/// The key id a sealed value names (at most 8 characters), or "?".
pub(super) fn key_id_of(sealed: &str) -> String {
    sealed
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split('$').next())
        .unwrap_or("?")
        .chars()
        .take(8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_record_and_key() {
        let key = MasterKey::new([7u8; 32]);
        let sealed = key.seal(b"top secret", "settings:a").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("top secret"));
        assert_eq!(key.open(&sealed, "settings:a").unwrap(), b"top secret");
        assert_eq!(key.open(&sealed, "settings:b"), Err(OpenError::Forged));
        let other = MasterKey::new([8u8; 32]);
        assert!(matches!(
            other.open(&sealed, "settings:a"),
            Err(OpenError::OtherKey(_))
        ));
        // Two seals of the same text differ (fresh nonce).
        assert_ne!(sealed, key.seal(b"top secret", "settings:a").unwrap());
    }

    #[test]
    fn altered_or_malformed_values_are_refused() {
        let key = MasterKey::new([7u8; 32]);
        let sealed = key.seal(b"top secret", "r").unwrap();
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        assert_eq!(key.open(&altered, "r"), Err(OpenError::Forged));
        for bad in ["", "plain", "xk1$", "xk1$abc", &format!("{sealed}$x")] {
            assert!(key.open(bad, "r").is_err(), "{bad}");
        }
    }

    #[test]
    fn master_keys_are_64_hex_characters() {
        assert!(MasterKey::from_hex(&"ab".repeat(32)).is_ok());
        assert!(MasterKey::from_hex(&"ab".repeat(31)).is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
        let key = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(MasterKey::from_hex(&key.to_hex()).unwrap().id(), key.id());
    }
}
