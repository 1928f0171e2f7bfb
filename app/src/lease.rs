//! Leases: a job that one instance at a time may run (the key sweep, later the backups) holds a
//! row in `leases` until it expires. A holder renews its own lease; a crashed holder's lease
//! runs out and the next instance takes it.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, QuerySelect, Set};

use crate::db::begin_write;
use crate::entities::leases;
use crate::error::AppError;

/// Takes or renews the lease `name` for `holder` until `now + length`. `false`: another holder's
/// lease has not run out.
pub async fn acquire(
    db: &DatabaseConnection,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    length: Duration,
) -> Result<bool, AppError> {
    let txn = begin_write(db).await?;
    let current = leases::Entity::find_by_id(name.to_string())
        .lock_exclusive()
        .one(&txn)
        .await?;
    let until = now + length;
    match current {
        Some(lease) if lease.holder != holder && lease.expires_at > now => return Ok(false),
        Some(lease) => {
            let mut renewed: leases::ActiveModel = lease.into();
            renewed.holder = Set(holder.to_string());
            renewed.expires_at = Set(until);
            renewed.update(&txn).await?;
        }
        None => {
            let taken = leases::ActiveModel {
                name: Set(name.to_string()),
                holder: Set(holder.to_string()),
                expires_at: Set(until),
            }
            .insert(&txn)
            .await;
            // Another instance inserted the row first (PostgreSQL has no row to lock yet).
            if let Err(e) = taken {
                return if crate::db::is_unique_violation(&e) {
                    Ok(false)
                } else {
                    Err(e.into())
                };
            }
        }
    }
    txn.commit().await?;
    Ok(true)
}
