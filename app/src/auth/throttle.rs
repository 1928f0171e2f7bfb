//! Throttling of sign-ins per account and client address, and of failed API authentications
//! per client address. Counters live in the
//! database so that every instance sees the same ones.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entities::throttle;
use crate::error::AppError;

#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub failures: i32,
    pub window: Duration,
}

/// Five sign-ins for one account from one client address within 15 minutes; past them that
/// address is refused for the account until the window ends, even with the right password.
pub const ACCOUNT_ADDRESS_LIMIT: Limit = Limit {
    failures: 5,
    window: Duration::minutes(15),
};
/// One address may fail 20 times within 15 minutes, across accounts.
pub const ADDRESS_LIMIT: Limit = Limit {
    failures: 20,
    window: Duration::minutes(15),
};
/// Account-wide failures (from any address) within 15 minutes after which every sign-in to the
/// account is slowed down (not refused: the right password from another address still passes).
pub const ACCOUNT_SLOWDOWN: Limit = Limit {
    failures: 5,
    window: Duration::minutes(15),
};
/// The longest an account-wide slowdown holds a sign-in back.
pub const SLOWDOWN_MAX: std::time::Duration = std::time::Duration::from_secs(8);

/// The account-wide bucket (failures from every address).
pub fn account_bucket(user_key_lower: &str) -> String {
    format!("account:{user_key_lower}")
}

/// One account from one client group.
pub fn account_address_bucket(user_key_lower: &str, group: &str) -> String {
    format!("account-addr:{user_key_lower}@{group}")
}

pub fn address_bucket(group: &str) -> String {
    format!("addr:{group}")
}

/// The group a client address is counted in: itself for IPv4, its /64 for IPv6 (one host is
/// usually given a whole /64, so counting single IPv6 addresses would count nothing).
pub fn client_group(addr: &str) -> String {
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        _ => addr.to_string(),
    }
}

/// How long a sign-in waits when its account has `failures` recent failures: nothing below the
/// slowdown's threshold, then 250 ms doubling with each further failure, at most [`SLOWDOWN_MAX`].
pub fn slowdown(failures: i32) -> std::time::Duration {
    let over = failures - ACCOUNT_SLOWDOWN.failures;
    if over < 0 {
        return std::time::Duration::ZERO;
    }
    let millis = 250u64.saturating_mul(1u64 << Ord::min(over, 16));
    Ord::min(std::time::Duration::from_millis(millis), SLOWDOWN_MAX)
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
            return Err(too_many(window_end, now));
        }
    }
    Ok(())
}

/// The failures `bucket` holds within its current window.
pub async fn failures(
    db: &impl ConnectionTrait,
    bucket: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<i32, AppError> {
    Ok(throttle::Entity::find_by_id(bucket.to_string())
        .one(db)
        .await?
        .filter(|row| row.window_start + limit.window > now)
        .map_or(0, |row| row.failures))
}

fn too_many(window_end: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    AppError::TooManyRequests {
        retry_after_secs: Ord::max((window_end - now).num_seconds(), 1) as u64,
    }
}

/// Takes one attempt from `bucket` before the password or secret is checked, so that parallel
/// attempts cannot all pass a check made before any of them failed; `Err(TooManyRequests)` when
/// this attempt is past the limit (and is not to be checked at all). An attempt that succeeds
/// is given back with [`release`]; a failed one stays counted.
pub async fn reserve(
    db: &impl ConnectionTrait,
    bucket: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    record_failure(db, bucket, limit, now).await
}

/// Gives back an attempt taken by [`reserve`] that turned out to be no failure.
pub async fn release(db: &impl ConnectionTrait, bucket: &str) -> Result<(), AppError> {
    throttle::Entity::update_many()
        .col_expr(
            throttle::Column::Failures,
            Expr::col(throttle::Column::Failures).sub(1),
        )
        .filter(throttle::Column::Bucket.eq(bucket))
        .filter(throttle::Column::Failures.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets every counter of the account `user_key_lower` (all addresses); returns how many.
pub async fn unlock_account(
    db: &impl ConnectionTrait,
    user_key_lower: &str,
) -> Result<u64, AppError> {
    let prefix = account_address_bucket(user_key_lower, "");
    // LIKE would read `_` in a user key as a wildcard: match the prefix exactly here.
    let pair_buckets: Vec<String> = throttle::Entity::find()
        .filter(throttle::Column::Bucket.starts_with(&prefix))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.bucket)
        .filter(|b| b.starts_with(&prefix))
        .collect();
    let mut buckets = pair_buckets;
    buckets.push(account_bucket(user_key_lower));
    let deleted = throttle::Entity::delete_many()
        .filter(throttle::Column::Bucket.is_in(buckets))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// Deletes counters whose window ended before `cutoff`.
pub async fn prune(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> Result<u64, AppError> {
    Ok(throttle::Entity::delete_many()
        .filter(throttle::Column::WindowStart.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
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
        return Err(too_many(row.window_start + limit.window, now));
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
