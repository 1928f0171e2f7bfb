//! Reading and changing the API Key Policy (a JSON value in `settings`), and applying its
//! maximum lifetime to the keys that exist.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter,
};

use super::{KeyPolicy, MaximumPreview};
use crate::audit::service::{record, Actor};
use crate::audit::{action, Outcome};
use crate::db::begin_write;
use crate::entities::{api_keys, settings};
use crate::error::AppError;

const SETTING: &str = "api_key_policy";

/// The policy in force; the defaults until an administrator saves one.
pub async fn load(db: &impl ConnectionTrait) -> Result<KeyPolicy, AppError> {
    let stored = settings::Entity::find_by_id(SETTING.to_string())
        .one(db)
        .await?;
    from_stored(stored.map(|s| s.value).as_deref())
}

/// A query for the stored policy's text (no row while none is saved), for a statement that reads
/// it beside other values.
pub fn stored_query() -> SelectStatement {
    Query::select()
        .column(settings::Column::Value)
        .from(settings::Entity)
        .and_where(settings::Column::Name.eq(SETTING))
        .to_owned()
}

/// The policy that `stored` (the text [`stored_query`] reads) says: the defaults when none is.
pub fn from_stored(stored: Option<&str>) -> Result<KeyPolicy, AppError> {
    match stored {
        None => Ok(KeyPolicy::default()),
        Some(value) => serde_json::from_str(value)
            .map_err(AppError::logged("the stored API Key Policy is unreadable")),
    }
}

/// Saves `policy` (checked) and audits what it now says.
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    policy: KeyPolicy,
) -> Result<KeyPolicy, AppError> {
    let policy = policy.checked()?;
    let value =
        serde_json::to_string(&policy).map_err(AppError::logged("encoding the API Key Policy"))?;
    let txn = begin_write(db).await?;
    crate::vault::put_setting(&txn, SETTING, &value).await?;
    record(
        &txn,
        actor,
        action::KEY_POLICY_CHANGE,
        None,
        Outcome::Success,
        Some(describe(&policy)),
    )
    .await?;
    txn.commit().await?;
    Ok(policy)
}

fn describe(policy: &KeyPolicy) -> String {
    let days =
        |d: Option<u32>, none: &str| d.map_or_else(|| none.to_string(), |d| format!("{d} days"));
    format!(
        "default expiry: {}; maximum lifetime: {}; warn before: {} days; unused after: {} days",
        days(policy.default_expiry_days, "never"),
        days(policy.max_lifetime_days, "none"),
        policy
            .warn_days
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        policy.unused_days
    )
}

/// Keys that would get a new expiry if the maximum were applied at `now`.
fn beyond(latest: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(api_keys::Column::ExpiresAt.is_null())
        .add(api_keys::Column::ExpiresAt.gt(latest))
}

/// How many keys applying the maximum at `now` would change, and the expiry they would get.
/// `None`: the policy has no maximum.
pub async fn preview_maximum(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Option<MaximumPreview>, AppError> {
    let policy = load(db).await?;
    let Some(latest) = policy.latest_expiry(now) else {
        return Ok(None);
    };
    let affected = api_keys::Entity::find()
        .filter(beyond(latest))
        .count(db)
        .await?;
    Ok(Some(MaximumPreview {
        affected,
        expires_at: latest,
    }))
}

/// Gives every key with no expiry or a later one the latest expiry the policy allows at `now`,
/// all or none, one audit entry per key. `expected` is the count the administrator confirmed:
/// if it changed meanwhile, nothing happens.
pub async fn apply_maximum(
    db: &DatabaseConnection,
    actor: &Actor,
    expected: u64,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let txn = begin_write(db).await?;
    let policy = load(&txn).await?;
    let Some(latest) = policy.latest_expiry(now) else {
        return Err(AppError::validation(
            "max_lifetime_days",
            "Set a maximum lifetime first",
        ));
    };
    let keys = api_keys::Entity::find()
        .filter(beyond(latest))
        .all(&txn)
        .await?;
    if keys.len() as u64 != expected {
        return Err(AppError::Conflict(format!(
            "The keys without an allowed expiry changed: there are now {}, you confirmed {expected}. Nothing was changed; review and try again.",
            keys.len()
        )));
    }
    let ids: Vec<i32> = keys.iter().map(|k| k.id).collect();
    for chunk in ids.chunks(500) {
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::ExpiresAt, Expr::value(latest))
            .filter(api_keys::Column::Id.is_in(chunk.to_vec()))
            .exec(&txn)
            .await?;
    }
    let detail = format!("expires: {} (policy maximum)", latest.to_rfc3339());
    for key in &keys {
        record(
            &txn,
            actor,
            action::KEY_POLICY_APPLY_MAXIMUM,
            Some(&key.client_id),
            Outcome::Success,
            Some(detail.clone()),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(keys.len() as u64)
}
