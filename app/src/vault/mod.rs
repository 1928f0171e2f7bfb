//! Everything about the server's own keys, readable in one sitting with `crypto.rs` (the
//! primitives):
//!
//! - [`seal`]: the master key and sealed values. Secrets the server must read back (the
//!   token-signing key, stored Xray credentials) are kept in the database encrypted under a
//!   master key that never enters the database.
//! - [`key_files`]: where the pepper and the master key come from (a setting, a file it names, or
//!   a file generated in the data folder) and how key files are written.
//! - [`startup`]: the checks at every start, before anything is written: the pepper against the
//!   database's pepper check, the master key against its canary.
//! - [`rotation`]: re-encrypting every sealed value under a new master key.

pub mod key_files;
pub mod rotation;
pub mod seal;
pub mod startup;

pub use key_files::{pending_key_path, write_key_file};
pub use rotation::{reseal_settings, rotate_master_key, Rotated, RotationError};
pub use seal::{is_sealed, settings_record, MasterKey, OpenError};
pub use startup::{
    canary_opens, load_keys, load_master_key, lock_canary, write_canary, CANARY_SETTING,
    PEPPER_CHECK_SETTING,
};

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::entities::settings;
use crate::error::AppError;

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
