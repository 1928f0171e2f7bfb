//! The checks at every start (and before every command), before anything is written: the pepper
//! against the database's pepper check, the master key against its canary. A key is generated
//! only where nothing depends on it yet; a missing or different one stops start-up with a
//! message naming its setting.

use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};

use crate::api_keys::secret::{HashScheme, Pepper, SecretHasher};
use crate::config::{self, Config, ConfigError, KeySource};
use crate::crypto::random_hex;
use crate::entities::settings;
use crate::error::AppError;

use super::key_files::{
    blamed_setting, pending_key_path, read_key, write_generated_key, MASTER_KEY_FILES, PEPPER_FILES,
};
use super::seal::key_id_of;
use super::{put_setting, settings_record, MasterKey, OpenError};

/// The settings row whose sealed value proves, at start-up, that the master key is the right one.
pub const CANARY_SETTING: &str = "vault_canary";
const CANARY_TEXT: &[u8] = b"xray-keys master key canary";

/// The setting that identifies the pepper (see `SecretHasher::pepper_check`).
pub const PEPPER_CHECK_SETTING: &str = "pepper_check";

/// The two server-held keys, checked against the database before anything is written: the pepper
/// that Client Secret hashes need, and the master key that sealed secrets need. A key is
/// generated only where nothing depends on it yet; a missing or different one stops start-up
/// (and every command) with a message naming its setting.
pub async fn load_keys(
    config: &Config,
    db: &impl ConnectionTrait,
) -> Result<(SecretHasher, MasterKey), ConfigError> {
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
    let pepper_path = config.data_dir.join(PEPPER_FILES.data_file);
    let setting = blamed_setting(&config.pepper, &PEPPER_FILES);
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
    let settings = MASTER_KEY_FILES;
    // The setting to blame when the key does not open the stored secrets.
    let setting = blamed_setting(&config.master_key, &settings);
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
            write_generated_key(&path, &key.to_hex())?;
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

/// The secret hasher the configuration asks for, and the pepper's hex when none exists yet and
/// one was generated: the caller writes it to `<data dir>/pepper` only after every key check has
/// passed (see `vault::load_keys`).
pub fn hasher_from_config(config: &Config) -> Result<(SecretHasher, Option<String>), ConfigError> {
    let scheme = HashScheme::parse(&config.secret_hash).ok_or_else(|| {
        ConfigError::new(config::SECRET_HASH.name, "is not hmac-sha256 or argon2id")
    })?;
    let parse =
        |text: &str| Pepper::from_hex(text).map_err(|m| format!("{m} (give 64+ hex characters)"));
    match read_key(&config.pepper, &PEPPER_FILES, &config.data_dir, parse)? {
        Some(pepper) => Ok((SecretHasher::new(scheme, pepper), None)),
        None => {
            let hex = random_hex(32)
                .map_err(|_| ConfigError::new(config::DATA_DIR.name, "cannot generate a pepper"))?;
            let pepper =
                Pepper::from_hex(&hex).map_err(|m| ConfigError::new(config::DATA_DIR.name, m))?;
            Ok((SecretHasher::new(scheme, pepper), Some(hex)))
        }
    }
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
