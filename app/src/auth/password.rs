//! Password hashing: argon2id at OWASP's minimum (19 MiB, t = 2, p = 1), run off the async runtime,
//! with the number of hashes in flight bounded so a flood of sign-ins cannot exhaust memory.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// At most this many hashes run at once (19 MiB each); further sign-ins wait their turn.
const MAX_HASHES_IN_FLIGHT: usize = 4;
static HASH_PERMITS: Semaphore = Semaphore::const_new(MAX_HASHES_IN_FLIGHT);

/// 16 random bytes from the OS generator, as a PHC salt.
pub(crate) fn new_salt() -> Result<SaltString, AppError> {
    let bytes = crate::crypto::random_bytes::<16>()?;
    SaltString::encode_b64(&bytes).map_err(AppError::logged("salt encoding"))
}

/// argon2id at OWASP's minimum; also used for Client Secrets under the argon2id scheme.
pub(crate) fn argon2() -> Result<Argon2<'static>, AppError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(AppError::logged("argon2 parameters"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    run_bounded(move || {
        let salt = new_salt()?;
        argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::logged("password hashing failed"))
    })
    .await
}

/// Whether `password` matches `stored`. With no stored hash (unknown user, no password set) it
/// still does one hash's work, so timing does not tell whether the account exists.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, AppError> {
    run_bounded(move || {
        let argon2 = argon2()?;
        match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(hash)) => Ok(argon2.verify_password(password.as_bytes(), &hash).is_ok()),
            Some(Err(e)) => {
                tracing::error!(error = %e, "stored password hash is malformed");
                Ok(false)
            }
            None => {
                let salt = new_salt()?;
                let _ = argon2.hash_password(password.as_bytes(), &salt);
                Ok(false)
            }
        }
    })
    .await
}

pub(crate) async fn run_bounded<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let permit = HASH_PERMITS
        .acquire()
        .await
        .map_err(|_| AppError::Internal)?;
    // The permit goes with the hash, not with this future: a request cancelled by a timeout
    // stops waiting, but its blocking hash runs on, and still counts until it ends.
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(AppError::logged("password hashing task failed"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests here count the process-wide permits: one at a time.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test]
    async fn a_cancelled_hash_keeps_its_permit_until_it_has_finished() {
        let _turn = SERIAL.lock().await;
        let before = HASH_PERMITS.available_permits();
        let cancelled = tokio::time::timeout(
            std::time::Duration::from_millis(1),
            verify_password("anything".into(), None),
        )
        .await;
        assert!(cancelled.is_err(), "the hash takes longer than 1 ms");
        // The hash (tens of milliseconds) is still running on its blocking thread.
        assert_eq!(HASH_PERMITS.available_permits(), before - 1);
        let start = std::time::Instant::now();
        while HASH_PERMITS.available_permits() < before {
            assert!(start.elapsed() < std::time::Duration::from_secs(10));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn hashes_are_argon2id_at_owasp_minimum_and_verify() {
        let _turn = SERIAL.lock().await;
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify_password("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse battery".into(), Some(hash))
            .await
            .unwrap());
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }
}
