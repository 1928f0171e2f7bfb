//! The cryptographic primitives the app uses, in one place: random bytes from the operating
//! system, SHA-256 digests of high-entropy tokens, HMAC-SHA256, and constant-time comparison.
//! Sealing with the master key (XChaCha20-Poly1305) is in `vault`; password and secret hashing
//! (argon2id) in `auth::password` and `api_keys::secret`.

use hmac::{Hmac, Mac};
use rand::TryRngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Fills `buf` from the operating system's generator. A failure is logged and is an internal
/// error: nothing random is ever made up another way.
pub fn fill_random(buf: &mut [u8]) -> Result<(), AppError> {
    rand::rngs::OsRng
        .try_fill_bytes(buf)
        .map_err(AppError::logged("the OS random generator failed"))
}

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut buf = [0u8; N];
    fill_random(&mut buf)?;
    Ok(buf)
}

/// `bytes` random bytes as lowercase hex (session ids, setup tokens, Client Secrets, keys).
pub fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf)?;
    Ok(hex::encode(buf))
}

/// SHA-256 of a high-entropy token, as lowercase hex: what is stored in place of the token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<Vec<u8>, AppError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| AppError::Internal)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// Whether the HMAC-SHA256 of `data` under `key` is `expected`, in constant time.
pub fn hmac_sha256_matches(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(data);
    mac.verify_slice(expected).is_ok()
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_differ_and_have_their_length() {
        let (a, b) = (random_hex(16).unwrap(), random_hex(16).unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_ne!(random_bytes::<32>().unwrap(), [0u8; 32]);
    }

    #[test]
    fn hmac_matches_rfc_4231_and_compares_in_constant_time() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(
            hex::encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(hmac_sha256_matches(
            b"Jefe",
            b"what do ya want for nothing?",
            &mac
        ));
        assert!(!hmac_sha256_matches(
            b"Jefe",
            b"what do ya want for nothing!",
            &mac
        ));
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"diff"));
        assert!(!constant_time_eq(b"same", b"sam"));
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
