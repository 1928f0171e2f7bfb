//! Throttling of failed sign-ins per account and per client address. Counters live in the
//! database so that every instance sees the same ones.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ConnectionTrait, EntityTrait, Set};

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
            let secs = Ord::max((window_end - now).num_seconds(), 1) as u64;
            return Err(AppError::TooManyRequests {
                retry_after_secs: secs,
            });
        }
    }
    Ok(())
}

/// Counts one failure against `bucket`, starting a new window when the last one is over, and
/// answers `Err(TooManyRequests)` when this failure went past the limit.
///
/// One atomic upsert: concurrent failures from one attacker each count (a read-then-write would
/// lose increments and let a parallel attacker past the limit), and each learns the count its
/// own failure made, so no more than `limit.failures` failures are ever answered as such.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    bucket: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let in_window =
        Expr::col((throttle::Entity, throttle::Column::WindowStart)).gt(now - limit.window);
    let on_conflict = OnConflict::column(throttle::Column::Bucket)
        .value(
            throttle::Column::Failures,
            Expr::case(
                in_window.clone(),
                Expr::col((throttle::Entity, throttle::Column::Failures)).add(1),
            )
            .finally(1),
        )
        .value(
            throttle::Column::WindowStart,
            Expr::case(
                in_window,
                Expr::col((throttle::Entity, throttle::Column::WindowStart)),
            )
            .finally(now),
        )
        .to_owned();
    let row = throttle::Entity::insert(throttle::ActiveModel {
        bucket: Set(bucket.to_string()),
        window_start: Set(now),
        failures: Set(1),
    })
    .on_conflict(on_conflict)
    .exec_with_returning(db)
    .await?;
    if row.failures > limit.failures {
        let secs = Ord::max((row.window_start + limit.window - now).num_seconds(), 1) as u64;
        return Err(AppError::TooManyRequests {
            retry_after_secs: secs,
        });
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
