//! Secrets the server must read back (the token-signing key, stored third-party credentials) are
//! kept in the database encrypted under a master key that never enters the database.
//!
//! A sealed value reads `xk1$<key id>$<nonce>$<ciphertext>`: XChaCha20-Poly1305 with a fresh
//! random 192-bit nonce per write, and additional data naming the record it belongs to, so a
//! ciphertext copied onto another record fails to open. The key id (derived from the key) lets a
//! wrong master key be told apart from damaged data, and lets keys rotate.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use sha2::{Digest, Sha256};

use crate::config::{self, read_key, Config, ConfigError, KeySettings, KeySource};
use crate::entities::settings;
use crate::error::AppError;

const PREFIX: &str = "xk1$";
/// The settings row whose sealed value proves, at start-up, that the master key is the right one.
pub const CANARY_SETTING: &str = "vault_canary";
const CANARY_TEXT: &[u8] = b"xray-keys master key canary";

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
        let nonce = crate::crypto::random_bytes::<24>()?;
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let ciphertext = cipher
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
            })?;
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

/// Whether a stored value is sealed (rather than plain).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// The additional data of a sealed settings row.
pub fn settings_record(name: &str) -> String {
    format!("settings:{name}")
}

/// The master key the configuration names, checked against the database's canary.
///
/// With nothing configured the key lives in `<data dir>/master.key`; it is generated there (mode
/// 0600, with a loud log line) only while the database holds no sealed secret, so a lost key file
/// stops start-up instead of quietly replacing the key that the stored secrets need.
pub async fn load_master_key(
    config: &Config,
    db: &impl ConnectionTrait,
) -> Result<MasterKey, ConfigError> {
    let canary = settings::Entity::find_by_id(CANARY_SETTING.to_string())
        .one(db)
        .await
        .map_err(|e| {
            ConfigError::new(
                config::DATABASE_URL.name,
                format!("cannot read the master key check: {e}"),
            )
        })?;
    let settings = KeySettings {
        inline: &config::MASTER_KEY,
        file: &config::MASTER_KEY_FILE,
        data_file: "master.key",
    };
    // The setting to blame when the key does not open the stored secrets.
    let setting = match &config.master_key {
        KeySource::File(_) => settings.file.name,
        KeySource::Inline(_) | KeySource::DataDir => settings.inline.name,
    };
    let key = match read_key(
        &config.master_key,
        &settings,
        &config.data_dir,
        MasterKey::from_hex,
    )? {
        Some(key) => key,
        None => {
            let path = config.data_dir.join(settings.data_file);
            if canary.is_some() {
                return Err(ConfigError::new(
                    config::MASTER_KEY.name,
                    format!(
                        "the database holds encrypted secrets but no master key is configured \
                         and {} does not exist: restore that file, or set XRAY_KEYS_MASTER_KEY \
                         or XRAY_KEYS_MASTER_KEY_FILE to the key the secrets were stored with",
                        path.display()
                    ),
                ));
            }
            let key = MasterKey::generate().map_err(|_| {
                ConfigError::new(config::DATA_DIR.name, "cannot generate a master key")
            })?;
            crate::api_keys::secret::write_generated_key(&path, &key.to_hex())?;
            tracing::warn!(
                path = %path.display(),
                "GENERATED A NEW MASTER KEY for secrets stored in the database: back this file up apart from the database; without it the stored secrets cannot be read"
            );
            key
        }
    };
    match canary {
        Some(row) => match key.open(&row.value, &settings_record(CANARY_SETTING)) {
            Ok(text) if text == CANARY_TEXT => Ok(key),
            // A rotation committed the database but stopped before the new key file took the
            // old one's place: finish it.
            Err(OpenError::OtherKey(_)) if matches!(config.master_key, KeySource::DataDir) => {
                let next = pending_key_path(config);
                let pending = std::fs::read_to_string(&next)
                    .ok()
                    .and_then(|text| MasterKey::from_hex(&text).ok())
                    .filter(|k| opens_canary(k, &row.value));
                match pending {
                    Some(pending) => {
                        std::fs::rename(&next, config.data_dir.join("master.key")).map_err(|e| {
                            ConfigError::new(
                                config::DATA_DIR.name,
                                format!("cannot finish the master key rotation: {e}"),
                            )
                        })?;
                        tracing::warn!("finished an interrupted master key rotation: master.key now holds the new key");
                        Ok(pending)
                    }
                    None => Err(ConfigError::new(
                        setting,
                        format!(
                            "is not the key the stored secrets were encrypted with (this key's id is {}, \
                             the database's is {})",
                            key.id(),
                            key_id_of(&row.value)
                        ),
                    )),
                }
            }
            Ok(_) | Err(OpenError::Forged | OpenError::Malformed) => Err(ConfigError::new(
                setting,
                "the stored master key check is damaged; the stored secrets cannot be trusted",
            )),
            Err(OpenError::OtherKey(stored)) => Err(ConfigError::new(
                setting,
                format!(
                    "is not the key the stored secrets were encrypted with (this key's id is {}, \
                     the database's is {stored})",
                    key.id()
                ),
            )),
        },
        None => {
            write_canary(db, &key).await.map_err(|_| {
                ConfigError::new(
                    config::DATABASE_URL.name,
                    "cannot store the master key check",
                )
            })?;
            Ok(key)
        }
    }
}

/// The setting that identifies the pepper (see `SecretHasher::pepper_check`).
pub const PEPPER_CHECK_SETTING: &str = "pepper_check";

/// The two server-held keys, checked against the database before anything is written: the pepper
/// that Client Secret hashes need, and the master key that sealed secrets need. A key is
/// generated only where nothing depends on it yet; a missing or different one stops start-up
/// (and every command) with a message naming its setting.
pub async fn load_keys(
    config: &Config,
    db: &impl ConnectionTrait,
) -> Result<(crate::api_keys::secret::SecretHasher, MasterKey), ConfigError> {
    use crate::api_keys::secret::{hasher_from_config, write_generated_key, PEPPER_SETTINGS};
    let db_error = |e: AppError| {
        ConfigError::new(
            config::DATABASE_URL.name,
            format!("cannot check the keys: {e}"),
        )
    };
    let (hasher, generated) = hasher_from_config(config)?;
    let mine = hasher.pepper_check().map_err(db_error)?;
    let stored = settings::Entity::find_by_id(PEPPER_CHECK_SETTING.to_string())
        .one(db)
        .await
        .map_err(|e| db_error(e.into()))?
        .map(|row| row.value);
    let keys_exist = crate::entities::api_keys::Entity::find()
        .one(db)
        .await
        .map_err(|e| db_error(e.into()))?
        .is_some();
    let pepper_path = config.data_dir.join(PEPPER_SETTINGS.data_file);
    let setting = match &config.pepper {
        KeySource::File(_) => PEPPER_SETTINGS.file.name,
        KeySource::Inline(_) | KeySource::DataDir => PEPPER_SETTINGS.inline.name,
    };
    let write_check = match (&stored, keys_exist) {
        (Some(check), _) if *check == mine => false,
        // No API key depends on a pepper yet: a new or different one costs nothing.
        (_, false) => true,
        (_, true) if generated.is_some() => {
            return Err(ConfigError::new(
                config::PEPPER.name,
                format!(
                    "the database holds API keys hashed with a pepper, but no pepper is \
                     configured and {} does not exist: restore that file, or set \
                     XRAY_KEYS_PEPPER or XRAY_KEYS_PEPPER_FILE to the pepper the keys were \
                     issued with",
                    pepper_path.display()
                ),
            ))
        }
        (Some(_), true) => {
            return Err(ConfigError::new(
                setting,
                "is not the pepper the stored API keys were hashed with: configure that one \
                 (XRAY_KEYS_PEPPER or XRAY_KEYS_PEPPER_FILE), or none of them can authenticate",
            ))
        }
        // Keys from before the pepper check existed: the configured pepper is taken as theirs.
        (None, true) => true,
    };
    let master_key = load_master_key(config, db).await?;
    if let Some(hex) = generated {
        write_generated_key(&pepper_path, &hex)?;
        tracing::warn!(
            path = %pepper_path.display(),
            "GENERATED A NEW PEPPER for Client Secret hashes: back this file up with the database; without it no stored API key can authenticate"
        );
    }
    if write_check {
        put_setting(db, PEPPER_CHECK_SETTING, &mine)
            .await
            .map_err(|_| {
                ConfigError::new(config::DATABASE_URL.name, "cannot store the pepper check")
            })?;
    }
    Ok((hasher, master_key))
}

/// Where a rotation writes the new key (data-folder keys only) until the database holds secrets
/// sealed under it; start-up finishes a rotation that stopped in between.
pub fn pending_key_path(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("master.key.next")
}

/// Writes a new key file readable by its owner only; fails if the file exists.
pub fn write_key_file(path: &std::path::Path, key: &MasterKey) -> Result<(), ConfigError> {
    crate::api_keys::secret::write_generated_key(path, &key.to_hex())
}

fn key_id_of(sealed: &str) -> String {
    sealed
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split('$').next())
        .unwrap_or("?")
        .chars()
        .take(8)
        .collect()
}

/// Whether the database's canary opens under `key` (true when there is none yet). Locks the
/// canary's row until the transaction ends (PostgreSQL), as [`lock_canary`] does.
pub async fn canary_opens(db: &impl ConnectionTrait, key: &MasterKey) -> Result<bool, AppError> {
    let canary = settings::Entity::find_by_id(CANARY_SETTING.to_string())
        .lock_exclusive()
        .one(db)
        .await?;
    Ok(canary.is_none_or(|row| opens_canary(key, &row.value)))
}

fn opens_canary(key: &MasterKey, sealed: &str) -> bool {
    key.open(sealed, &settings_record(CANARY_SETTING))
        .is_ok_and(|text| text == CANARY_TEXT)
}

/// Takes the canary's row lock (PostgreSQL; SQLite's write transaction holds the whole file):
/// whoever changes what the master key seals takes it first.
pub async fn lock_canary(db: &impl ConnectionTrait) -> Result<(), AppError> {
    settings::Entity::find_by_id(CANARY_SETTING.to_string())
        .lock_exclusive()
        .one(db)
        .await?;
    Ok(())
}

/// Stores (or replaces) the canary sealed under `key`.
pub async fn write_canary(db: &impl ConnectionTrait, key: &MasterKey) -> Result<(), AppError> {
    put_setting(
        db,
        CANARY_SETTING,
        &key.seal(CANARY_TEXT, &settings_record(CANARY_SETTING))?,
    )
    .await
}

/// Inserts or replaces a settings row.
pub async fn put_setting(
    db: &impl ConnectionTrait,
    name: &str,
    value: &str,
) -> Result<(), AppError> {
    settings::Entity::insert(settings::ActiveModel {
        name: Set(name.to_string()),
        value: Set(value.to_string()),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(settings::Column::Name)
            .update_columns([settings::Column::Value, settings::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Re-seals every sealed settings row under `new`. Runs inside the caller's transaction; returns
/// how many values were re-encrypted.
pub async fn reseal_settings(
    db: &impl ConnectionTrait,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<u64, AppError> {
    let rows = settings::Entity::find()
        .filter(settings::Column::Value.starts_with(PREFIX))
        .all(db)
        .await?;
    let mut count = 0;
    for row in rows {
        let record = settings_record(&row.name);
        let plain = old.open(&row.value, &record).map_err(|e| {
            tracing::error!(setting = %row.name, error = %e, "cannot open a sealed setting");
            AppError::Internal
        })?;
        put_setting(db, &row.name, &new.seal(&plain, &record)?).await?;
        count += 1;
    }
    Ok(count)
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
