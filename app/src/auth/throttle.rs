//! Throttling of failed sign-ins per account and per client address. Counters live in the
//! database so that every instance sees the same ones.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::entities::throttle;
use crate::error::AppError;

#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub failures: i32,
    pub window: Duration,
}

/// Five wrong passwords for one account within 15 minutes lock it for the rest of the window.
pub const ACCOUNT_LIMIT: Limit = Limit {
    failures: 5,
    window: Duration::minutes(15),
};
/// One address may fail 20 times within 15 minutes, across accounts.
pub const ADDRESS_LIMIT: Limit = Limit {
    failures: 20,
    window: Duration::minutes(15),
};

pub fn account_bucket(user_key_lower: &str) -> String {
    format!("account:{user_key_lower}")
}

pub fn address_bucket(addr: &str) -> String {
    format!("addr:{addr}")
}

/// `Err(TooManyRequests)` when `bucket` has used up its failures in the current window.
pub async fn check(
    db: &impl ConnectionTrait,
    bucket: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if let Some(row) = throttle::Entity::find_by_id(bucket.to_string())
        .one(db)
        .await?
    {
        let window_end = row.window_start + limit.window;
        if row.failures >= limit.failures && window_end > now {
            let secs = (window_end - now).num_seconds().max(1) as u64;
            return Err(AppError::TooManyRequests {
                retry_after_secs: secs,
            });
        }
    }
    Ok(())
}

/// Counts one failure against `bucket`, starting a new window when the last one is over.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    bucket: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let existing = throttle::Entity::find_by_id(bucket.to_string())
        .one(db)
        .await?;
    match existing {
        Some(row) if row.window_start + limit.window > now => {
            let failures = row.failures + 1;
            let mut active: throttle::ActiveModel = row.into();
            active.failures = Set(failures);
            active.update(db).await?;
        }
        Some(row) => {
            let mut active: throttle::ActiveModel = row.into();
            active.window_start = Set(now);
            active.failures = Set(1);
            active.update(db).await?;
        }
        None => {
            throttle::ActiveModel {
                bucket: Set(bucket.to_string()),
                window_start: Set(now),
                failures: Set(1),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Forgets the failures of `bucket` (after a successful sign-in).
pub async fn reset(db: &impl ConnectionTrait, bucket: &str) -> Result<(), AppError> {
    throttle::Entity::delete_by_id(bucket.to_string())
        .exec(db)
        .await?;
    Ok(())
}
