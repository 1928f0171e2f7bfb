//! What the REST endpoints do, as plain functions that take the clock as an argument.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QuerySelect, RelationTrait,
};

use crate::api_keys::{ClientId, FailureReason};
use crate::auth::throttle::{self, Limit};
use crate::entities::{api_keys, users};
use crate::error::AppError;
use crate::state::AppState;

use super::owners::Owner;
use super::tokens::{Claims, SIGNING_KID_SETTING, TOKEN_LIFETIME};
use super::Whoami;

/// The largest authenticate body accepted; real ones are about 130 bytes.
pub const BODY_LIMIT: usize = 4096;

/// One client address may fail 50 times within 15 minutes; past that its failures are answered
/// 429 with `Retry-After`. Only failures count, and a right secret is always accepted: secrets
/// are 256 random bits, so counting per Client Id would protect nothing, while anyone who knows
/// a Client Id (they are not secret) could shut its owner out.
pub const API_ADDRESS_LIMIT: Limit = Limit {
    failures: 50,
    window: chrono::Duration::minutes(15),
};

/// A Client Id and the secret offered for it. No `Debug`: it holds a secret.
pub struct Credentials {
    pub client_id: ClientId,
    secret: String,
}

impl Credentials {
    pub fn new(client_id: ClientId, secret: String) -> Self {
        Credentials { client_id, secret }
    }
}

/// Reads an authenticate request: a JSON object with string fields `client_id` (32 hex) and
/// `client_secret` (64 hex). Every problem is a `BadRequest` naming it; the body is never echoed.
pub fn parse_credentials(content_type: Option<&str>, body: &[u8]) -> Result<Credentials, AppError> {
    let is_json = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(AppError::BadRequest(
            "The body must be JSON, sent with Content-Type: application/json.".into(),
        ));
    }
    if body.len() > BODY_LIMIT {
        return Err(AppError::PayloadTooLarge(BODY_LIMIT));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| AppError::BadRequest("The body is not valid JSON.".into()))?;
    let object = value.as_object().ok_or_else(|| {
        AppError::BadRequest(
            "The body must be a JSON object with client_id and client_secret.".into(),
        )
    })?;
    let field = |name: &str| -> Result<&str, AppError> {
        match object.get(name) {
            None | Some(serde_json::Value::Null) => Err(AppError::BadRequest(format!(
                "The field {name} is missing."
            ))),
            Some(serde_json::Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(AppError::BadRequest(format!(
                "The field {name} must be a string."
            ))),
        }
    };
    let id = field("client_id")?;
    let secret = field("client_secret")?;
    let client_id = ClientId::parse(id).map_err(|_| {
        AppError::BadRequest("The field client_id must be 32 hexadecimal characters.".into())
    })?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::BadRequest(
            "The field client_secret must be 64 hexadecimal characters.".into(),
        ));
    }
    Ok(Credentials::new(client_id, secret.to_string()))
}

#[derive(Debug, FromQueryResult)]
struct KeyOwner {
    client_id: String,
    secret_hash: String,
    secret_generation: i32,
    user_key: String,
    is_active: bool,
    signing_kid: Option<String>,
    key_active: bool,
    expires_at: Option<DateTime<Utc>>,
    previous_secret_hash: Option<String>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
    last_failed_at: Option<DateTime<Utc>>,
}

/// The current token-signing key id, read in the same query as the key it concerns.
fn signing_kid_column() -> sea_orm::sea_query::SimpleExpr {
    // A constant name, not input: written into the SQL as it is.
    Expr::cust(format!(
        "(SELECT value FROM settings WHERE name = '{SIGNING_KID_SETTING}')"
    ))
}

async fn key_owner(state: &AppState, client_id: &str) -> Result<Option<KeyOwner>, AppError> {
    Ok(api_keys::Entity::find()
        .select_only()
        .column(api_keys::Column::ClientId)
        .column(api_keys::Column::SecretHash)
        .column(api_keys::Column::SecretGeneration)
        .column(users::Column::UserKey)
        .column(users::Column::IsActive)
        .column_as(signing_kid_column(), "signing_kid")
        .column_as(api_keys::Column::IsActive, "key_active")
        .column(api_keys::Column::ExpiresAt)
        .column(api_keys::Column::PreviousSecretHash)
        .column(api_keys::Column::PreviousSecretExpiresAt)
        .column(api_keys::Column::LastFailedAt)
        .join(JoinType::InnerJoin, api_keys::Relation::User.def())
        .filter(api_keys::Column::ClientId.eq(client_id))
        .into_model::<KeyOwner>()
        .one(&state.db)
        .await?)
}

/// Exchanges a Client Id and secret for a token acting as the key's user. Unknown ids, wrong
/// secrets, deleted keys, deactivated users and keys, expired keys and old secrets past their
/// grace period all get the same `InvalidCredentials` after the same verification work: a
/// secret that is not the current one is always checked against a second hash (the old
/// secret's, or a decoy), so a grace secret is not told apart by time either.
pub async fn authenticate(
    state: &AppState,
    credentials: Credentials,
    client_addr: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let owner = key_owner(state, credentials.client_id.as_str()).await?;
    let stored = owner
        .as_ref()
        .map(|o| o.secret_hash.clone())
        .unwrap_or_else(|| state.secret_hasher.decoy());
    let current = verify_secret(state, credentials.secret.clone(), stored).await?;
    let previous = if current {
        false
    } else {
        let stored = owner
            .as_ref()
            .and_then(|o| o.previous_secret_hash.clone())
            .unwrap_or_else(|| state.secret_hasher.decoy());
        verify_secret(state, credentials.secret, stored).await?
    };
    let refusal = match &owner {
        None => Some(None),
        Some(o) => refusal_of(o, current, previous, now).map(Some),
    };
    let owner = match (owner, refusal) {
        (Some(owner), None) => owner,
        (owner, refusal) => {
            let addr_bucket = format!("api-addr:{}", throttle::client_group(client_addr));
            tracing::info!(client_id = %credentials.client_id, client_addr, "API authentication failed");
            if let (Some(owner), Some(Some(reason))) = (owner, refusal) {
                // Noted within the last minute (as read with the key): no statement at all, so a
                // flood of failures stays reads.
                let noted_recently = owner
                    .last_failed_at
                    .is_some_and(|at| at > now - REFUSAL_NOTE_INTERVAL);
                if !noted_recently {
                    record_refusal(state, &owner.client_id, reason, client_addr, now).await?;
                }
            }
            // Over the limit already: answered without another write, so a flood is reads.
            throttle::check(&state.db, &addr_bucket, API_ADDRESS_LIMIT, now).await?;
            throttle::record_failure(&state.db, &addr_bucket, API_ADDRESS_LIMIT, now).await?;
            return Err(AppError::InvalidCredentials);
        }
    };
    let claims = Claims {
        iss: owner.client_id.clone(),
        sub: owner.user_key.clone(),
        aud: owner.client_id.clone(),
        iat: now.timestamp(),
        exp: (now + TOKEN_LIFETIME).timestamp(),
        // Which secret minted the token: the old secret's tokens end with its grace period.
        r#gen: if current {
            owner.secret_generation
        } else {
            owner.secret_generation - 1
        },
    };
    let token = state
        .token_keys
        .issue(&state.db, &claims, owner.signing_kid.as_deref())
        .await?;
    state.last_used.touch(&state.db, &owner.client_id, now);
    Ok(token)
}

/// Why a key's authentication is refused at `now`, if it is; `current`/`previous`: whether the
/// secret offered is the current or the old one.
fn refusal_of(
    owner: &KeyOwner,
    current: bool,
    previous: bool,
    now: DateTime<Utc>,
) -> Option<FailureReason> {
    let in_grace = owner
        .previous_secret_expires_at
        .is_some_and(|end| now < end);
    if !current && !previous {
        Some(FailureReason::WrongSecret)
    } else if previous && !in_grace {
        Some(FailureReason::OldSecretExpired)
    } else if !owner.key_active || !owner.is_active {
        Some(FailureReason::Inactive)
    } else if owner.expires_at.is_some_and(|at| at <= now) {
        Some(FailureReason::Expired)
    } else {
        None
    }
}

/// How often a key's refusals are noted at most.
const REFUSAL_NOTE_INTERVAL: chrono::Duration = chrono::Duration::minutes(1);

/// Notes the refusal on the key and in the audit trail, at most once a minute per key (the
/// condition holds against two instances noting the same minute).
async fn record_refusal(
    state: &AppState,
    client_id: &str,
    reason: FailureReason,
    client_addr: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let written = api_keys::Entity::update_many()
        .col_expr(api_keys::Column::LastFailedAt, Expr::value(now))
        .col_expr(
            api_keys::Column::LastFailedReason,
            Expr::value(reason.code()),
        )
        .filter(api_keys::Column::ClientId.eq(client_id))
        .filter(
            sea_orm::Condition::any()
                .add(api_keys::Column::LastFailedAt.is_null())
                .add(api_keys::Column::LastFailedAt.lte(now - REFUSAL_NOTE_INTERVAL)),
        )
        .exec(&state.db)
        .await?
        .rows_affected;
    if written > 0 {
        crate::audit::service::record(
            &state.db,
            &crate::audit::service::Actor::api(client_addr),
            crate::audit::action::API_KEY_AUTH_REFUSED,
            Some(client_id),
            crate::audit::Outcome::Failure,
            Some(format!("reason: {}", reason.code())),
        )
        .await?;
    }
    Ok(())
}

/// Checks a secret; a slow (argon2id) check runs off the async runtime.
async fn verify_secret(
    state: &AppState,
    candidate: String,
    stored: String,
) -> Result<bool, AppError> {
    if stored.starts_with("$argon2") {
        let hasher = state.secret_hasher.clone();
        crate::auth::password::run_bounded(move || Ok(hasher.verify(&candidate, &stored))).await
    } else {
        Ok(state.secret_hasher.verify(&candidate, &stored))
    }
}

#[derive(Debug, FromQueryResult)]
struct TokenOwner {
    secret_generation: i32,
    user_key: String,
    display_name: String,
    is_active: bool,
    signing_kid: Option<String>,
    key_active: bool,
    expires_at: Option<DateTime<Utc>>,
    deactivated_at: Option<DateTime<Utc>>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
}

/// The user a bearer token acts for, if the token is valid at `now` and its key is alive: not
/// deleted, not regenerated since, its user active, and the token signed with the current key.
/// One indexed query, or the answer cached while the database provably has not changed since
/// (see [`super::owners`]), so revocation is immediate on every instance.
pub async fn caller(state: &AppState, token: &str, now: DateTime<Utc>) -> Result<Whoami, AppError> {
    let (kid, claims) = state.token_keys.verify(&state.db, token, now).await?;
    let before = state.owners.stamp();
    let owner = match state.owners.get(&claims.iss, before) {
        Some(owner) => owner,
        None => {
            let owner = api_keys::Entity::find()
                .select_only()
                .column(api_keys::Column::SecretGeneration)
                .column(users::Column::UserKey)
                .column(users::Column::DisplayName)
                .column(users::Column::IsActive)
                .column_as(signing_kid_column(), "signing_kid")
                .column_as(api_keys::Column::IsActive, "key_active")
                .column(api_keys::Column::ExpiresAt)
                .column(api_keys::Column::DeactivatedAt)
                .column(api_keys::Column::PreviousSecretExpiresAt)
                .join(JoinType::InnerJoin, api_keys::Relation::User.def())
                .filter(api_keys::Column::ClientId.eq(claims.iss.as_str()))
                .into_model::<TokenOwner>()
                .one(&state.db)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            let owner = Owner {
                secret_generation: owner.secret_generation,
                user_key: owner.user_key,
                display_name: owner.display_name,
                is_active: owner.is_active,
                signing_kid: owner.signing_kid,
                key_active: owner.key_active,
                expires_at: owner.expires_at,
                deactivated_at: owner.deactivated_at,
                previous_secret_expires_at: owner.previous_secret_expires_at,
            };
            state.owners.put(&claims.iss, before, owner.clone());
            owner
        }
    };
    // The current secret's tokens, or the old one's while its grace period runs.
    let minted_by_a_live_secret = claims.r#gen == owner.secret_generation
        || (claims.r#gen == owner.secret_generation - 1
            && owner
                .previous_secret_expires_at
                .is_some_and(|end| now < end));
    let alive = minted_by_a_live_secret
        && owner.key_active
        && owner.expires_at.is_none_or(|at| now < at)
        && owner
            .deactivated_at
            .is_none_or(|at| claims.iat > at.timestamp())
        && owner.is_active
        && owner.user_key == claims.sub
        && owner.signing_kid.as_deref() == Some(kid.as_str());
    if !alive {
        return Err(AppError::Unauthenticated);
    }
    state.last_used.touch(&state.db, &claims.iss, now);
    Ok(Whoami {
        user_key: owner.user_key,
        display_name: owner.display_name,
        client_id: claims.iss,
    })
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str, AppError> {
    let value = header.ok_or(AppError::Unauthenticated)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(AppError::Unauthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AppError::Unauthenticated);
    }
    // Some clients keep the quotes of the JSON string authenticate returned.
    Ok(token.trim().trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "8CF3CEA946DB4059A9999D3AF4035EFE";

    fn secret() -> String {
        "ab".repeat(32)
    }

    fn parse(ct: Option<&str>, body: &str) -> Result<Credentials, AppError> {
        parse_credentials(ct, body.as_bytes())
    }

    fn message(r: Result<Credentials, AppError>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepts_the_xray_body() {
        let body = format!(r#"{{"client_id":"{ID}","client_secret":"{}"}}"#, secret());
        let c = parse(Some("application/json; charset=utf-8"), &body).unwrap();
        assert_eq!(c.client_id.as_str(), ID);
    }

    #[test]
    fn names_each_problem() {
        let json = Some("application/json");
        let s = secret();
        let cases: Vec<(Option<&str>, String, &str)> = vec![
            (
                Some("text/plain"),
                format!(r#"{{"client_id":"{ID}","client_secret":"{s}"}}"#),
                "Content-Type",
            ),
            (None, "{}".into(), "Content-Type"),
            (json, "{not json".into(), "not valid JSON"),
            (json, "[1,2]".into(), "JSON object"),
            (
                json,
                format!(r#"{{"client_secret":"{s}"}}"#),
                "client_id is missing",
            ),
            (
                json,
                format!(r#"{{"client_id":"{ID}"}}"#),
                "client_secret is missing",
            ),
            (
                json,
                format!(r#"{{"client_id":42,"client_secret":"{s}"}}"#),
                "client_id must be a string",
            ),
            (
                json,
                format!(r#"{{"client_id":"{ID}","client_secret":["x"]}}"#),
                "client_secret must be a string",
            ),
            (
                json,
                format!(r#"{{"client_id":"abc","client_secret":"{s}"}}"#),
                "32 hexadecimal",
            ),
            (
                json,
                format!(
                    r#"{{"client_id":"{ID}","client_secret":"{}"}}"#,
                    "g".repeat(64)
                ),
                "64 hexadecimal",
            ),
            (
                json,
                format!(
                    r#"{{"client_id":"{ID}","client_secret":"{}"}}"#,
                    "a".repeat(65)
                ),
                "64 hexadecimal",
            ),
        ];
        for (ct, body, expected) in cases {
            let m = message(parse(ct, &body));
            assert!(m.contains(expected), "{body}: {m}");
            assert!(!m.contains(&s), "the secret must not be echoed");
        }
        let big = format!(
            r#"{{"client_id":"{ID}","client_secret":"{s}","pad":"{}"}}"#,
            "x".repeat(5000)
        );
        assert!(matches!(
            parse(json, &big),
            Err(AppError::PayloadTooLarge(_))
        ));
    }

    #[test]
    fn reads_bearer_headers() {
        assert_eq!(
            bearer_token(Some("Bearer abc.def.ghi")).unwrap(),
            "abc.def.ghi"
        );
        assert_eq!(bearer_token(Some("bearer \"abc\"")).unwrap(), "abc");
        for bad in [None, Some(""), Some("Basic abc"), Some("Bearer")] {
            assert!(bearer_token(bad).is_err(), "{bad:?}");
        }
    }
}
