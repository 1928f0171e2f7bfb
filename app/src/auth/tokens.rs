//! Random tokens from the operating system's generator, and their stored digests.

use rand::TryRngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.try_fill_bytes(&mut buf).map_err(|e| {
        tracing::error!(error = %e, "the OS random generator failed");
        AppError::Internal
    })?;
    Ok(hex::encode(buf))
}

/// SHA-256 of a high-entropy token, as stored in place of the token itself.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
