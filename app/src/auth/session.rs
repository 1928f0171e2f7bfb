//! Server-side sessions in the database, so every instance behind a load balancer shares them.
//! The cookie holds 256 random bits; the table holds only their SHA-256.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, Set,
};

use crate::crypto;
use crate::entities::{sessions, users};
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "xk_session";
/// A session unused for this long ends.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, used or not.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often per session, not on every request.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// Starts a session for `user_id`; returns the cookie value.
pub async fn create(
    db: &impl ConnectionTrait,
    user_id: i32,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let token = crypto::random_hex(32)?;
    sessions::ActiveModel {
        id_hash: Set(crypto::digest(&token)),
        user_id: Set(user_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + ABSOLUTE_TIMEOUT),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The active user a cookie value belongs to, if its session is still alive.
pub async fn lookup(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<users::Model>, AppError> {
    // A value of the wrong shape is not looked up at all.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let hash = crypto::digest(token);
    // The session and its user in one statement: every signed-in request starts here.
    let Some((session, user)) = sessions::Entity::find_by_id(hash.clone())
        .find_also_related(users::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if session.expires_at <= now || session.last_seen_at + IDLE_TIMEOUT <= now {
        sessions::Entity::delete_by_id(hash).exec(db).await?;
        return Ok(None);
    }
    let Some(user) = user else {
        return Ok(None);
    };
    if !user.is_active {
        return Ok(None);
    }
    if session.last_seen_at + TOUCH_INTERVAL <= now {
        sessions::Entity::update_many()
            .col_expr(
                sessions::Column::LastSeenAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(sessions::Column::IdHash.eq(hash))
            .exec(db)
            .await?;
    }
    Ok(Some(user))
}

/// Ends the session of this cookie value (sign-out).
pub async fn end(db: &impl ConnectionTrait, token: &str) -> Result<(), AppError> {
    sessions::Entity::delete_by_id(crypto::digest(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of a user (deactivation, password change).
pub async fn end_all_for_user(db: &impl ConnectionTrait, user_id: i32) -> Result<u64, AppError> {
    let result = sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// The session cookie's name over https (`secure`): the `__Host-` prefix makes browsers take it
/// only when it is `Secure`, for this host alone and its whole path, so no other site under the
/// same domain and no plain-http answer can set or replace it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-xk_session";

/// The session cookie's name on a server served over https (`secure`) or plain http.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The `Set-Cookie` value for a new session.
pub fn cookie(token: &str, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        cookie_name(secure),
        ABSOLUTE_TIMEOUT.num_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clearing_cookie(secure: bool) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

/// The session cookie's value in a `Cookie` request header (the name `secure` calls for).
pub fn token_from_cookie_header(header: &str, secure: bool) -> Option<&str> {
    let name = cookie_name(secure);
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// The session cookie's value among a request's `Cookie` headers.
pub fn token_from_headers(headers: &axum::http::HeaderMap, secure: bool) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| token_from_cookie_header(h, secure))
        .map(str::to_string)
}

/// Deletes sessions past their absolute or idle limit at `now`.
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, AppError> {
    Ok(sessions::Entity::delete_many()
        .filter(
            sessions::Column::ExpiresAt
                .lte(now)
                .or(sessions::Column::LastSeenAt.lte(now - IDLE_TIMEOUT)),
        )
        .exec(db)
        .await?
        .rows_affected)
}
