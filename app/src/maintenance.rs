//! Housekeeping that keeps the tables from growing without bound: ended sessions, throttle
//! counters whose window is long over, and failed sign-ins older than the retention.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::audit::{action, Outcome};
use crate::entities::audit_log;
use crate::error::AppError;

/// How often the server prunes.
pub const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// What one pruning removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub throttles: u64,
    pub sign_in_failures: u64,
}

/// Deletes sessions that have ended, throttle counters and failed or refused sign-in entries
/// older than `retention_days`. Successful sign-ins and every other audit entry stay.
pub async fn prune(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<Pruned, AppError> {
    let cutoff = now - Duration::days(i64::from(retention_days));
    let sessions = crate::auth::session::prune(db, now).await?;
    // Every throttle window is 15 minutes: a counter an hour old counts nothing.
    let throttles = crate::auth::throttle::prune(db, now - Duration::hours(1)).await?;
    let sign_in_failures = audit_log::Entity::delete_many()
        .filter(audit_log::Column::Action.eq(action::SIGN_IN))
        .filter(
            audit_log::Column::Outcome.is_in([Outcome::Failure.as_str(), Outcome::Denied.as_str()]),
        )
        .filter(audit_log::Column::At.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected;
    Ok(Pruned {
        sessions,
        throttles,
        sign_in_failures,
    })
}

/// Prunes now and then every [`PRUNE_INTERVAL`], for as long as the server runs. Instances may
/// all do it: deleting what another instance deleted already is harmless.
pub fn spawn_pruning(db: DatabaseConnection, retention_days: u32) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_INTERVAL);
        loop {
            every.tick().await;
            match prune(&db, Utc::now(), retention_days).await {
                Ok(p) if p != Pruned::default() => tracing::info!(
                    sessions = p.sessions,
                    throttles = p.throttles,
                    sign_in_failures = p.sign_in_failures,
                    "pruned"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning failed; trying again later"),
            }
            // At start and hourly: the planner's picture of the tables follows their growth.
            if let Err(e) = crate::db::refresh_statistics(&db).await {
                tracing::warn!(error = %e, "refreshing the query planner's statistics failed");
            }
            if let Err(e) = crate::db::tidy_search_index(&db).await {
                tracing::warn!(error = %e, "tidying the API Keys search index failed");
            }
        }
    });
}
