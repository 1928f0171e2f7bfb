//! Plain async functions over the users table; server functions and the CLI call these.

use chrono::Utc;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::{ImportOutcome, NewUser, Role, UserKey, UserPage, UserQuery, UserSummary, UserUpdate};
use crate::audit::service::{record, Actor};
use crate::audit::{action, Outcome};
use crate::auth::{password, session};
use crate::db::begin_write;
use crate::entities::users;
use crate::error::AppError;

pub const SEARCH_MAX: usize = 255;
pub const PER_PAGE_CHOICES: [u64; 4] = [10, 20, 50, 100];

pub fn summary(model: &users::Model) -> UserSummary {
    let mut roles = Vec::new();
    if model.is_administrator {
        roles.push(Role::Administrator);
    }
    if model.is_backup_operator {
        roles.push(Role::BackupOperator);
    }
    UserSummary {
        id: model.id,
        user_key: model.user_key.clone(),
        display_name: model.display_name.clone(),
        email: model.email.clone(),
        is_active: model.is_active,
        can_sign_in: model.password_hash.is_some(),
        roles,
        created_at: model.created_at,
    }
}

pub async fn find_by_key(
    db: &impl ConnectionTrait,
    key: &UserKey,
) -> Result<Option<users::Model>, AppError> {
    Ok(users::Entity::find()
        .filter(users::Column::UserKeyLower.eq(key.normalized()))
        .one(db)
        .await?)
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i32) -> Result<users::Model, AppError> {
    users::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("That user does not exist (any more).".into()))
}

/// Creates a user; `password`, when given, lets them sign in. Refuses a taken key (any case).
pub async fn create_user(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewUser,
    password: Option<String>,
) -> Result<UserSummary, AppError> {
    let key = UserKey::parse(&new.user_key)?;
    let display_name = super::validate_display_name(&new.display_name)?;
    let email = super::validate_email(&new.email)?;
    let password_hash = match password {
        Some(p) => {
            super::validate_password(&p)?;
            Some(password::hash_password(p).await?)
        }
        None => None,
    };
    let now = Utc::now();
    let txn = begin_write(db).await?;
    if find_by_key(&txn, &key).await?.is_some() {
        return Err(taken(&key));
    }
    let inserted = users::ActiveModel {
        user_key: Set(key.as_str().to_string()),
        user_key_lower: Set(key.normalized()),
        display_name_lower: Set(display_name.to_lowercase()),
        display_name: Set(display_name),
        email: Set(email),
        is_active: Set(true),
        is_administrator: Set(new.roles.contains(&Role::Administrator)),
        is_backup_operator: Set(new.roles.contains(&Role::BackupOperator)),
        password_hash: Set(password_hash),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    // Another administrator created the same key between our check and insert.
    .map_err(|e| crate::db::conflict_or(e, || taken(&key)))?;
    record(
        &txn,
        actor,
        action::USER_CREATE,
        Some(key.as_str()),
        Outcome::Success,
        Some(roles_detail(&new.roles)),
    )
    .await?;
    txn.commit().await?;
    Ok(summary(&inserted))
}

fn taken(key: &UserKey) -> AppError {
    AppError::Conflict(format!("A user with key {key} already exists."))
}

fn roles_detail(roles: &[Role]) -> String {
    if roles.is_empty() {
        "roles: none".into()
    } else {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        format!("roles: {}", names.join(", "))
    }
}

/// Changes display name, e-mail and roles. An administrator cannot remove their own
/// administrator role, so the console never locks itself out.
pub async fn update_user(
    db: &DatabaseConnection,
    actor: &Actor,
    actor_id: Option<i32>,
    update: UserUpdate,
) -> Result<UserSummary, AppError> {
    let display_name = super::validate_display_name(&update.display_name)?;
    let email = super::validate_email(&update.email)?;
    let is_admin = update.roles.contains(&Role::Administrator);
    if actor_id == Some(update.id) && !is_admin {
        return Err(AppError::validation(
            "roles",
            "You cannot remove your own administrator role.",
        ));
    }
    let txn = begin_write(db).await?;
    let user = find_by_id(&txn, update.id).await?;
    let key = user.user_key.clone();
    let mut active: users::ActiveModel = user.into();
    active.display_name_lower = Set(display_name.to_lowercase());
    active.display_name = Set(display_name);
    active.email = Set(email);
    active.is_administrator = Set(is_admin);
    active.is_backup_operator = Set(update.roles.contains(&Role::BackupOperator));
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    record(
        &txn,
        actor,
        action::USER_UPDATE,
        Some(&key),
        Outcome::Success,
        Some(roles_detail(&update.roles)),
    )
    .await?;
    txn.commit().await?;
    Ok(summary(&updated))
}

/// Deactivates or reactivates a user. Deactivation ends all of their sessions at once.
pub async fn set_active(
    db: &DatabaseConnection,
    actor: &Actor,
    actor_id: Option<i32>,
    id: i32,
    active_flag: bool,
) -> Result<UserSummary, AppError> {
    if actor_id == Some(id) && !active_flag {
        return Err(AppError::BadRequest(
            "You cannot deactivate yourself.".into(),
        ));
    }
    let txn = begin_write(db).await?;
    let user = find_by_id(&txn, id).await?;
    let key = user.user_key.clone();
    let mut active: users::ActiveModel = user.into();
    active.is_active = Set(active_flag);
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    if !active_flag {
        session::end_all_for_user(&txn, id).await?;
        // Tokens carry their key's generation: moving it on refuses every token issued before,
        // so reactivating the user does not bring them back. The secret itself stays valid.
        crate::entities::api_keys::Entity::update_many()
            .col_expr(
                crate::entities::api_keys::Column::SecretGeneration,
                sea_orm::sea_query::Expr::col(crate::entities::api_keys::Column::SecretGeneration)
                    .add(1),
            )
            .filter(crate::entities::api_keys::Column::UserId.eq(id))
            .exec(&txn)
            .await?;
    }
    let act = if active_flag {
        action::USER_REACTIVATE
    } else {
        action::USER_DEACTIVATE
    };
    record(&txn, actor, act, Some(&key), Outcome::Success, None).await?;
    txn.commit().await?;
    Ok(summary(&updated))
}

/// Sets a new password and ends all of the user's sessions.
pub async fn set_password(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    new_password: String,
) -> Result<(), AppError> {
    super::validate_password(&new_password)?;
    let hash = password::hash_password(new_password).await?;
    let txn = begin_write(db).await?;
    let user = find_by_id(&txn, id).await?;
    let key = user.user_key.clone();
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(Some(hash));
    active.updated_at = Set(Utc::now());
    active.update(&txn).await?;
    session::end_all_for_user(&txn, id).await?;
    record(
        &txn,
        actor,
        action::USER_SET_PASSWORD,
        Some(&key),
        Outcome::Success,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A page of users whose key or display name contains `search` (case-insensitive), by key.
pub async fn search(db: &impl ConnectionTrait, query: UserQuery) -> Result<UserPage, AppError> {
    let search = query.search.trim().to_lowercase();
    if search.chars().count() > SEARCH_MAX {
        return Err(AppError::validation(
            "search",
            format!("Search for at most {SEARCH_MAX} characters."),
        ));
    }
    let per_page = match query.per_page {
        0 => 10,
        n if PER_PAGE_CHOICES.contains(&n) => n,
        _ => {
            return Err(AppError::validation(
                "per_page",
                "Show 10, 20, 50 or 100 users a page.",
            ))
        }
    };
    let mut finder = users::Entity::find();
    if !search.is_empty() {
        finder = finder.filter(name_contains(db.get_database_backend(), &search));
    }
    let crate::db::Page { total, page, rows } = crate::db::fetch_page(
        finder.order_by_asc(users::Column::UserKeyLower),
        db,
        query.page,
        per_page,
    )
    .await?;
    let users = rows.iter().map(summary).collect();
    Ok(UserPage {
        users,
        total,
        page,
        per_page,
    })
}

/// Users whose user key or display name contains `search` (trimmed, lower-cased, not empty), as
/// a condition on `users`. Read from the trigram index of the two names (migration
/// `m20261206_000020_add_user_search_index`) where it can answer; row by row on SQLite for fewer
/// than three characters (the trigram tokenizer matches no shorter phrase) and on both for a
/// search holding a control character (the index joins the names with a line break, so one
/// would match across the two).
pub fn name_contains(backend: DbBackend, search: &str) -> Condition {
    let indexable = !search.chars().any(char::is_control);
    match backend {
        // Word for word the indexed expression: the planner matches it only as written.
        DbBackend::Postgres if indexable => Condition::all().add(
            Expr::cust(
                "(\"users\".\"user_key_lower\" || chr(10) || \"users\".\"display_name_lower\")",
            )
            .like(LikeExpr::new(format!("%{}%", escape_like(search))).escape('\\')),
        ),
        DbBackend::Sqlite if indexable && search.chars().count() >= 3 => Condition::all().add(
            Expr::col((users::Entity, users::Column::Id))
                .in_subquery(crate::db::trigram_matches("user_search", search)),
        ),
        _ => name_contains_scanned(search),
    }
}

/// [`name_contains`] tested on each user's row: for a few rows, or where the index cannot answer.
pub fn name_contains_scanned(search: &str) -> Condition {
    let pattern = format!("%{}%", escape_like(search));
    Condition::any()
        .add(
            Expr::col((users::Entity, users::Column::UserKeyLower))
                .like(LikeExpr::new(&pattern).escape('\\')),
        )
        .add(
            Expr::col((users::Entity, users::Column::DisplayNameLower))
                .like(LikeExpr::new(&pattern).escape('\\')),
        )
}

/// Escapes `%`, `_` and `\` so a search matches them literally.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub async fn count_active_admins(db: &impl ConnectionTrait) -> Result<u64, AppError> {
    Ok(users::Entity::find()
        .filter(users::Column::IsAdministrator.eq(true))
        .filter(users::Column::IsActive.eq(true))
        .count(db)
        .await?)
}

/// Imports users from CSV (`user_key,display_name,email,roles`, roles separated by `;` or `|`,
/// an optional header line) or from JSON (an array of objects with those fields, `roles` an array
/// or a string). Each line is created in its own transaction: one bad line never stops the others.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    content: &str,
) -> Result<Vec<ImportOutcome>, AppError> {
    let rows = parse_import(content)?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        let new = match row {
            Ok(new) => new,
            Err(reason) => {
                outcomes.push(ImportOutcome::Rejected { line, reason });
                continue;
            }
        };
        let key_text = new.user_key.trim().to_string();
        match UserKey::parse(&new.user_key) {
            Ok(key) if find_by_key(db, &key).await?.is_some() => {
                outcomes.push(ImportOutcome::Skipped(key.to_string()));
                continue;
            }
            _ => {}
        }
        match create_user(db, actor, new, None).await {
            Ok(user) => outcomes.push(ImportOutcome::Created(user.user_key)),
            Err(AppError::Conflict(_)) => outcomes.push(ImportOutcome::Skipped(key_text)),
            Err(AppError::Validation { message, .. }) => outcomes.push(ImportOutcome::Rejected {
                line,
                reason: message,
            }),
            Err(other) => return Err(other),
        }
    }
    Ok(outcomes)
}

type ImportRow = (usize, Result<NewUser, String>);

fn parse_import(content: &str) -> Result<Vec<ImportRow>, AppError> {
    let trimmed = content.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with('[') {
        return parse_import_json(trimmed);
    }
    let mut rows = Vec::new();
    for (index, raw) in trimmed.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let fields = match split_csv_line(raw) {
            Ok(f) => f,
            Err(reason) => {
                rows.push((line, Err(reason)));
                continue;
            }
        };
        if line == 1
            && fields
                .first()
                .is_some_and(|f| f.trim().eq_ignore_ascii_case("user_key"))
        {
            continue;
        }
        if fields.len() < 2 || fields.len() > 4 {
            rows.push((
                line,
                Err(format!(
                    "expected user_key,display_name,email,roles but found {} field(s)",
                    fields.len()
                )),
            ));
            continue;
        }
        let roles = fields.get(3).map(String::as_str).unwrap_or("");
        rows.push((
            line,
            parse_roles(roles.split([';', '|'])).map(|roles| NewUser {
                user_key: fields[0].clone(),
                display_name: fields[1].clone(),
                email: fields.get(2).cloned().unwrap_or_default(),
                roles,
            }),
        ));
    }
    Ok(rows)
}

fn parse_roles<'a>(names: impl Iterator<Item = &'a str>) -> Result<Vec<Role>, String> {
    let mut roles = Vec::new();
    for name in names.map(str::trim).filter(|n| !n.is_empty()) {
        let role = Role::parse(name).map_err(|e| e.to_string())?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

/// Splits one CSV line (RFC 4180 quoting, no embedded line breaks).
fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            ('"', true) => in_quotes = false,
            ('"', false) if current.trim().is_empty() => {
                current.clear();
                in_quotes = true;
            }
            (',', false) => fields.push(std::mem::take(&mut current)),
            (c, _) => current.push(c),
        }
    }
    if in_quotes {
        return Err("a quoted field is not closed".into());
    }
    fields.push(current);
    Ok(fields.into_iter().map(|f| f.trim().to_string()).collect())
}

fn parse_import_json(content: &str) -> Result<Vec<ImportRow>, AppError> {
    let items: Vec<serde_json::Value> = serde_json::from_str(content)
        .map_err(|e| AppError::BadRequest(format!("the file is not a JSON array of users: {e}")))?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (i + 1, json_user(&item)))
        .collect())
}

fn json_user(item: &serde_json::Value) -> Result<NewUser, String> {
    let obj = item.as_object().ok_or("entry is not an object")?;
    let text = |name: &str, required: bool| -> Result<String, String> {
        match obj.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            None | Some(serde_json::Value::Null) if !required => Ok(String::new()),
            None => Err(format!("{name} is missing")),
            Some(_) => Err(format!("{name} must be a string")),
        }
    };
    let roles = match obj.get("roles") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => parse_roles(s.split([';', '|', ',']))?,
        Some(serde_json::Value::Array(items)) => {
            let names: Result<Vec<&str>, String> = items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| "roles must be strings".to_string())
                })
                .collect();
            parse_roles(names?.into_iter())?
        }
        Some(_) => return Err("roles must be a string or an array of strings".into()),
    };
    Ok(NewUser {
        user_key: text("user_key", true)?,
        display_name: text("display_name", true)?,
        email: text("email", false)?,
        roles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_with_quotes() {
        assert_eq!(
            split_csv_line(r#"a,"Doe, Jane",j@x.io,"administrator""#).unwrap(),
            vec!["a", "Doe, Jane", "j@x.io", "administrator"]
        );
        assert_eq!(
            split_csv_line(r#"a,"say ""hi""""#).unwrap(),
            vec!["a", r#"say "hi""#]
        );
        assert!(split_csv_line(r#"a,"open"#).is_err());
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
