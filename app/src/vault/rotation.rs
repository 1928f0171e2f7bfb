//! Master-key rotation: every sealed value re-encrypted under a new key in one transaction, with
//! the new key file in place before the database depends on it.

use std::path::PathBuf;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set,
};

use crate::audit::service::Actor;
use crate::config::{Config, ConfigError, KeySource};
use crate::entities::{settings, xray_credentials as creds};
use crate::error::AppError;

use super::key_files::{pending_key_path, write_key_file};
use super::seal::PREFIX;
use super::{put_setting, settings_record, MasterKey};

/// What a finished rotation did.
pub struct Rotated {
    /// How many sealed values were re-encrypted.
    pub count: u64,
    /// The data-folder key file that now holds the new key; `None` when the key comes from a
    /// setting, which the operator changes next.
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("the new master key is the current one")]
    SameKey,
    #[error("{0}")]
    App(#[from] AppError),
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The database is re-encrypted under the new key, but its file could not take the old one's
    /// place; the next start finishes this.
    #[error(
        "the secrets are re-encrypted, but {} could not replace {}: {source}; the next start \
         finishes this",
        pending.display(),
        target.display()
    )]
    KeySwap {
        pending: PathBuf,
        target: PathBuf,
        source: std::io::Error,
    },
}

/// Rotates every sealed value from `old` to `new`, audited. Stored credentials must carry the
/// current binding first (`credentials::service::upgrade_binding`, which every start runs). With
/// the key in the data folder, the new key reaches the disk (as `master.key.next`) before the
/// database depends on it, and takes `master.key`'s place after; start-up completes the swap if
/// this stops half-way.
pub async fn rotate(
    db: &DatabaseConnection,
    config: &Config,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<Rotated, RotationError> {
    if new.id() == old.id() {
        return Err(RotationError::SameKey);
    }
    let pending = matches!(config.master_key, KeySource::DataDir).then(|| pending_key_path(config));
    if let Some(path) = &pending {
        let _ = std::fs::remove_file(path);
        write_key_file(path, new)?;
    }
    let count = rotate_master_key(db, old, new).await?;
    crate::audit::service::record(
        db,
        &Actor::cli(),
        crate::audit::action::MASTER_KEY_ROTATED,
        None,
        crate::audit::Outcome::Success,
        Some(format!(
            "key id {} -> {}; {count} values re-encrypted",
            old.id(),
            new.id()
        )),
    )
    .await?;
    let key_file = match pending {
        Some(path) => {
            let target = config.data_dir.join("master.key");
            std::fs::rename(&path, &target).map_err(|source| RotationError::KeySwap {
                pending: path.clone(),
                target: target.clone(),
                source,
            })?;
            Some(target)
        }
        None => None,
    };
    Ok(Rotated { count, key_file })
}

/// Re-encrypts every sealed value (settings and stored credentials) from `old` to `new` in one
/// transaction; returns how many values changed. The canary is a sealed setting, so it moves too.
pub async fn rotate_master_key(
    db: &DatabaseConnection,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<u64, AppError> {
    // The write lock first: a save running meanwhile waits, then finds the canary moved.
    let txn = crate::db::begin_write(db).await?;
    // Locked before they are read (PostgreSQL): a save that commits meanwhile is waited for and
    // re-encrypted, not overwritten with the value read before it.
    super::lock_canary(&txn).await?;
    let rows = creds::Entity::find().lock_exclusive().all(&txn).await?;
    let mut count = reseal_settings(&txn, old, new).await?;
    for row in rows {
        let record_name = row.secret_binding();
        let plain = old.open(&row.secret_sealed, &record_name).map_err(|e| {
            tracing::error!(error = %e, id = row.id, "cannot decrypt stored Xray credentials");
            AppError::Internal
        })?;
        let mut active: creds::ActiveModel = row.into();
        active.secret_sealed = Set(new.seal(&plain, &record_name)?);
        active.update(&txn).await?;
        count += 1;
    }
    txn.commit().await?;
    Ok(count)
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
