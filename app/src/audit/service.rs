//! Writing and reading the audit trail.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::{AuditEntryView, AuditFilter, AuditPage, Outcome};
use crate::entities::audit_log;
use crate::error::AppError;

/// Who acted and from where.
#[derive(Clone, Debug)]
pub struct Actor {
    pub name: String,
    pub client_addr: Option<String>,
}

impl Actor {
    pub fn cli() -> Self {
        Actor {
            name: "cli".into(),
            client_addr: None,
        }
    }

    /// A caller of the REST API from `client_addr`, before any key is known to be theirs.
    pub fn api(client_addr: &str) -> Self {
        Actor {
            name: "api".into(),
            client_addr: Some(client_addr.to_string()),
        }
    }

    pub fn system() -> Self {
        Actor {
            name: "system".into(),
            client_addr: None,
        }
    }
}

/// Appends one entry. Runs on the caller's connection or transaction, so an entry is written
/// exactly when the change it describes is.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<&str>,
    outcome: Outcome,
    detail: Option<String>,
) -> Result<(), AppError> {
    audit_log::ActiveModel {
        at: Set(Utc::now()),
        actor: Set(truncate(&actor.name, 255)),
        action: Set(action.to_string()),
        target: Set(target.map(|t| truncate(t, 255))),
        client_addr: Set(actor.client_addr.as_deref().map(|a| truncate(a, 64))),
        outcome: Set(outcome.as_str().to_string()),
        detail: Set(detail),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One entry per target of a bulk change, all alike but for the target and its detail: a few
/// multi-row INSERTs instead of one statement per entry (10,000 keys in milliseconds).
pub async fn record_many(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    outcome: Outcome,
    entries: impl IntoIterator<Item = (String, Option<String>)>,
) -> Result<(), AppError> {
    // Eight columns a row, well under every database's parameter limit.
    const ROWS: usize = 500;
    let at = Utc::now();
    let actor_name = truncate(&actor.name, 255);
    let client_addr = actor.client_addr.as_deref().map(|a| truncate(a, 64));
    let rows: Vec<audit_log::ActiveModel> = entries
        .into_iter()
        .map(|(target, detail)| audit_log::ActiveModel {
            at: Set(at),
            actor: Set(actor_name.clone()),
            action: Set(action.to_string()),
            target: Set(Some(truncate(&target, 255))),
            client_addr: Set(client_addr.clone()),
            outcome: Set(outcome.as_str().to_string()),
            detail: Set(detail),
            ..Default::default()
        })
        .collect();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(ROWS).collect();
        audit_log::Entity::insert_many(chunk).exec(db).await?;
    }
    Ok(())
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

pub const MAX_PER_PAGE: u64 = 100;

pub async fn list(db: &impl ConnectionTrait, filter: AuditFilter) -> Result<AuditPage, AppError> {
    let per_page = match filter.per_page {
        0 => 20,
        n if n > MAX_PER_PAGE => {
            return Err(AppError::validation(
                "per_page",
                format!("At most {MAX_PER_PAGE} entries a page."),
            ))
        }
        n => n,
    };
    let mut query = audit_log::Entity::find();
    if let Some(actor) = filter
        .actor
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if actor.chars().count() > 255 {
            return Err(AppError::validation(
                "actor",
                "An actor has at most 255 characters.",
            ));
        }
        query = query.filter(audit_log::Column::Actor.eq(actor));
    }
    if let Some(action) = filter.action.as_deref().filter(|s| !s.is_empty()) {
        if !super::action::ALL.contains(&action) {
            return Err(AppError::validation(
                "action",
                "Pick an action from the list.",
            ));
        }
        query = query.filter(audit_log::Column::Action.eq(action));
    }
    if let Some(from) = parse_day(filter.from.as_deref(), "from")? {
        query =
            query.filter(audit_log::Column::At.gte(from.and_hms_opt(0, 0, 0).map(|t| t.and_utc())));
    }
    if let Some(to) = parse_day(filter.to.as_deref(), "to")? {
        let next = to.succ_opt().unwrap_or(to);
        query =
            query.filter(audit_log::Column::At.lt(next.and_hms_opt(0, 0, 0).map(|t| t.and_utc())));
    }
    let crate::db::Page { total, page, rows } = crate::db::fetch_page(
        query.order_by_desc(audit_log::Column::Id),
        db,
        filter.page,
        per_page,
    )
    .await?;
    let entries = rows
        .into_iter()
        .map(|m| AuditEntryView {
            id: m.id,
            at: m.at,
            actor: m.actor,
            action: m.action,
            target: m.target,
            client_addr: m.client_addr,
            outcome: m.outcome,
            detail: m.detail,
        })
        .collect();
    Ok(AuditPage {
        entries,
        total,
        page,
        per_page,
    })
}

fn parse_day(input: Option<&str>, field: &str) -> Result<Option<NaiveDate>, AppError> {
    match input.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::validation(field, "Enter a date as YYYY-MM-DD.")),
    }
}
