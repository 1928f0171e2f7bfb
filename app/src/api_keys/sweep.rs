//! The periodic sweep of API keys. Expiry and grace endings take effect without it (every check
//! compares with the clock); the sweep tidies after them and records what happened: it drops
//! old secrets whose grace period is over, audits expiries, and records the events "expiring"
//! (once per warning lead time), "expired", "old secret expired" and "unused" for notifications
//! to read. One instance at a time runs it, under a lease.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};

use crate::audit::service::{record, Actor};
use crate::audit::{action, Outcome};
use crate::db::begin_write;
use crate::entities::{api_keys, key_events};
use crate::error::AppError;

/// The lease that makes one instance the sweeper.
pub const SWEEP_LEASE: &str = "api_key_sweep";
/// How often each instance tries to sweep.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a sweeper's lease lasts; it renews it every run.
const LEASE_LENGTH: Duration = Duration::minutes(5);

/// The event kinds.
pub mod kind {
    pub const EXPIRING: &str = "expiring";
    pub const EXPIRED: &str = "expired";
    pub const OLD_SECRET_EXPIRED: &str = "old_secret_expired";
    pub const UNUSED: &str = "unused";
}

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub old_secrets_ended: u64,
    pub expired: u64,
    pub expiring: u64,
    pub unused: u64,
}

/// Sweeps at `now` as `holder` (an instance's name). `None`: another instance holds the lease.
pub async fn sweep(
    db: &DatabaseConnection,
    holder: &str,
    now: DateTime<Utc>,
) -> Result<Option<Swept>, AppError> {
    if !crate::lease::acquire(db, SWEEP_LEASE, holder, now, LEASE_LENGTH).await? {
        return Ok(None);
    }
    let txn = begin_write(db).await?;
    // Lead times and the unused threshold come from the API Key Policy.
    let policy = crate::key_policy::service::load(&txn).await?;
    let system = Actor::system();
    let mut swept = Swept::default();

    let graces_over = api_keys::Entity::find()
        .filter(api_keys::Column::PreviousSecretHash.is_not_null())
        .filter(api_keys::Column::PreviousSecretExpiresAt.lte(now))
        .all(&txn)
        .await?;
    for key in graces_over {
        let client_id = key.client_id.clone();
        let mut ended: api_keys::ActiveModel = key.into();
        ended.previous_secret_hash = Set(None);
        ended.previous_secret_expires_at = Set(None);
        ended.update(&txn).await?;
        record_event(&txn, &client_id, kind::OLD_SECRET_EXPIRED, None, now).await?;
        record(
            &txn,
            &system,
            action::API_KEY_OLD_SECRET_EXPIRED,
            Some(&client_id),
            Outcome::Success,
            None,
        )
        .await?;
        swept.old_secrets_ended += 1;
    }

    let expired = api_keys::Entity::find()
        .filter(api_keys::Column::ExpiresAt.lte(now))
        .all(&txn)
        .await?;
    for key in expired {
        let Some(at) = key.expires_at else { continue };
        let detail = at.to_rfc3339();
        if record_once(&txn, &key.client_id, kind::EXPIRED, &detail, now).await? {
            record(
                &txn,
                &system,
                action::API_KEY_EXPIRED,
                Some(&key.client_id),
                Outcome::Success,
                Some(format!("expired at {detail}")),
            )
            .await?;
            swept.expired += 1;
        }
    }

    for lead in policy
        .warn_days
        .iter()
        .map(|d| Duration::days(i64::from(*d)))
    {
        let soon = api_keys::Entity::find()
            .filter(api_keys::Column::ExpiresAt.gt(now))
            .filter(api_keys::Column::ExpiresAt.lte(now + lead))
            .all(&txn)
            .await?;
        for key in soon {
            let Some(at) = key.expires_at else { continue };
            // Once per lead time and expiry: a key given a later expiry is warned again.
            let detail = format!("{} days before {}", lead.num_days(), at.to_rfc3339());
            if record_once(&txn, &key.client_id, kind::EXPIRING, &detail, now).await? {
                swept.expiring += 1;
            }
        }
    }

    let cutoff = now - policy.window().unused();
    let idle = api_keys::Entity::find()
        .filter(
            Condition::any()
                .add(api_keys::Column::LastUsedAt.lte(cutoff))
                .add(
                    Condition::all()
                        .add(api_keys::Column::LastUsedAt.is_null())
                        .add(api_keys::Column::CreatedAt.lte(cutoff)),
                ),
        )
        .all(&txn)
        .await?;
    for key in idle {
        // Once per stretch of disuse: a key used again and then idle again is flagged again.
        let since = key.last_used_at.unwrap_or(key.created_at).to_rfc3339();
        let detail = format!("unused since {since}");
        if record_once(&txn, &key.client_id, kind::UNUSED, &detail, now).await? {
            swept.unused += 1;
        }
    }
    txn.commit().await?;
    Ok(Some(swept))
}

async fn record_event(
    db: &impl ConnectionTrait,
    client_id: &str,
    kind: &str,
    detail: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    key_events::ActiveModel {
        client_id: Set(client_id.to_string()),
        kind: Set(kind.to_string()),
        at: Set(now),
        detail: Set(detail),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records the event unless the same one (key, kind, detail) is recorded already; whether it
/// was new.
async fn record_once(
    db: &impl ConnectionTrait,
    client_id: &str,
    kind: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let known = key_events::Entity::find()
        .filter(key_events::Column::ClientId.eq(client_id))
        .filter(key_events::Column::Kind.eq(kind))
        .filter(key_events::Column::Detail.eq(detail))
        .count(db)
        .await?;
    if known > 0 {
        return Ok(false);
    }
    record_event(db, client_id, kind, Some(detail.to_string()), now).await?;
    Ok(true)
}

/// Sweeps every [`SWEEP_INTERVAL`] for as long as the server runs; the lease lets one instance
/// do it while the others wait their turn.
pub fn spawn_sweeping(db: DatabaseConnection) {
    let holder = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_INTERVAL);
        loop {
            every.tick().await;
            match sweep(&db, &holder, Utc::now()).await {
                Ok(Some(s)) if s != Swept::default() => tracing::info!(
                    old_secrets_ended = s.old_secrets_ended,
                    expired = s.expired,
                    expiring = s.expiring,
                    unused = s.unused,
                    "swept API keys"
                ),
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "the API key sweep failed; it runs again later");
                }
            }
        }
    });
}
