//! Sign-in, and the creation of the first administrator.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use crate::audit::service::{record, Actor};
use crate::audit::{action, Outcome};
use crate::auth::{password, session, throttle};
use crate::crypto;
use crate::db::begin_write;
use crate::entities::{settings, users};
use crate::error::AppError;
use crate::users::service::{count_active_admins, create_user, find_by_key};
use crate::users::{NewUser, Role, UserKey, PASSWORD_MAX, USER_KEY_MAX};

const SETUP_TOKEN: &str = "setup_token";

/// Checks a user key and password; on success starts a session and returns its cookie value.
/// The answer never says which of user key or password was wrong, nor whether a right password
/// belongs to an account without a console role.
///
/// Throttles, so that nobody can lock out somebody else: each attempt is taken from the
/// (account, client address) and the address's allowances before the password is checked (past
/// either, refused even when right, until the window ends); account-wide failures from every
/// address only slow further sign-ins down.
pub async fn sign_in(
    db: &DatabaseConnection,
    user_key: &str,
    password_input: String,
    client_addr: &str,
    now: DateTime<Utc>,
) -> Result<(String, users::Model), AppError> {
    let key_text = user_key.trim();
    if key_text.is_empty() {
        return Err(AppError::validation("user_key", "Enter your user key."));
    }
    if password_input.is_empty() {
        return Err(AppError::validation("password", "Enter your password."));
    }
    if key_text.chars().count() > USER_KEY_MAX || password_input.chars().count() > PASSWORD_MAX {
        return Err(AppError::InvalidCredentials);
    }
    let account_key = key_text.to_lowercase();
    let group = throttle::client_group(client_addr);
    let pair = throttle::account_address_bucket(&account_key, &group);
    let address = throttle::address_bucket(&group);
    let account = throttle::account_bucket(&account_key);
    throttle::reserve(db, &pair, throttle::ACCOUNT_ADDRESS_LIMIT, now).await?;
    if let Err(refused) = throttle::reserve(db, &address, throttle::ADDRESS_LIMIT, now).await {
        // Not checked, so not this account's attempt.
        throttle::release(db, &pair).await?;
        return Err(refused);
    }
    let recent = throttle::failures(db, &account, throttle::ACCOUNT_SLOWDOWN, now).await?;
    let wait = throttle::slowdown(recent);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }

    let user = match UserKey::parse(key_text) {
        Ok(key) => find_by_key(db, &key).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = password::verify_password(password_input, stored).await?;
    let actor = Actor {
        // What was typed for an unknown account is often a password in the wrong field.
        name: user
            .as_ref()
            .map_or_else(|| "(unknown user)".to_string(), |u| u.user_key.clone()),
        client_addr: Some(client_addr.to_string()),
    };
    let (outcome, note) = match &user {
        Some(u) if matches && u.is_active && (u.is_administrator || u.is_backup_operator) => {
            (Outcome::Success, None)
        }
        Some(u) if matches && u.is_active => (Outcome::Denied, Some("no console role".into())),
        _ => (Outcome::Failure, None),
    };
    let Some(user) = user.filter(|_| outcome == Outcome::Success) else {
        throttle::record_failure(db, &account, throttle::ACCOUNT_SLOWDOWN, now)
            .await
            .or_else(|e| match e {
                // Past the slowdown's threshold is what the slowdown is for, not a refusal.
                AppError::TooManyRequests { .. } => Ok(()),
                other => Err(other),
            })?;
        record(db, &actor, action::SIGN_IN, None, outcome, note).await?;
        return Err(AppError::InvalidCredentials);
    };
    throttle::reset(db, &pair).await?;
    throttle::reset(db, &account).await?;
    throttle::release(db, &address).await?;
    let token = session::create(db, user.id, now).await?;
    record(db, &actor, action::SIGN_IN, None, Outcome::Success, None).await?;
    Ok((token, user))
}

/// Signs in from a browser that may hold a session already: that session ends first (the id is
/// cycled at every sign-in), then [`sign_in`].
pub async fn sign_in_replacing(
    db: &DatabaseConnection,
    old_token: Option<String>,
    user_key: &str,
    password_input: String,
    client_addr: &str,
) -> Result<(String, users::Model), AppError> {
    if let Some(old) = old_token {
        session::end(db, &old).await?;
    }
    sign_in(db, user_key, password_input, client_addr, Utc::now()).await
}

/// Ends the browser's session, audited for the user it belonged to.
pub async fn sign_out(
    db: &DatabaseConnection,
    user: Option<&users::Model>,
    client_addr: &str,
    token: Option<String>,
) -> Result<(), AppError> {
    if let Some(user) = user {
        let actor = Actor {
            name: user.user_key.clone(),
            client_addr: Some(client_addr.to_string()),
        };
        record(db, &actor, action::SIGN_OUT, None, Outcome::Success, None).await?;
    }
    if let Some(token) = token {
        session::end(db, &token).await?;
    }
    Ok(())
}

/// What start-up does about the first administrator.
pub enum Bootstrap {
    /// An active administrator exists already.
    HasAdministrator,
    /// Created from `XRAY_KEYS_ADMIN_USER` / `XRAY_KEYS_ADMIN_PASSWORD`.
    Created(String),
    /// No administrator: this one-time token lets the first visitor set one up at `/setup`.
    SetupToken(String),
    /// Administrators exist, but none is active.
    OnlyInactiveAdministrators,
}

/// A setup link works for this long after it was printed.
pub const SETUP_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::hours(1);

async fn any_administrator(db: &impl sea_orm::ConnectionTrait) -> Result<bool, AppError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(users::Entity::find()
        .filter(users::Column::IsAdministrator.eq(true))
        .one(db)
        .await?
        .is_some())
}

/// With no active administrator, creates one from the given user key and password, or else
/// issues a fresh one-time setup token (the previous one stops working).
pub async fn bootstrap_admin(
    db: &DatabaseConnection,
    from_config: Option<(String, String)>,
) -> Result<Bootstrap, AppError> {
    if count_active_admins(db).await? > 0 {
        return Ok(Bootstrap::HasAdministrator);
    }
    if from_config.is_none() && any_administrator(db).await? {
        // Every administrator is deactivated: the command line recovers that, not a link
        // anyone who reads the log could use.
        return Ok(Bootstrap::OnlyInactiveAdministrators);
    }
    if let Some((key, password)) = from_config {
        let parsed = UserKey::parse(&key)?;
        if let Some(existing) = find_by_key(db, &parsed).await? {
            // The named user exists but is not an active administrator: make them one.
            let id = existing.id;
            let mut active: users::ActiveModel = existing.into();
            active.is_administrator = Set(true);
            active.is_active = Set(true);
            active.updated_at = Set(Utc::now());
            active.update(db).await?;
            crate::users::service::set_password(db, &Actor::system(), id, password).await?;
        } else {
            create_user(
                db,
                &Actor::system(),
                NewUser {
                    user_key: key.clone(),
                    display_name: "Administrator".into(),
                    email: String::new(),
                    roles: vec![Role::Administrator, Role::BackupOperator],
                },
                Some(password),
            )
            .await?;
        }
        return Ok(Bootstrap::Created(parsed.to_string()));
    }
    let token = crypto::random_hex(24)?;
    let txn = begin_write(db).await?;
    settings::Entity::delete_by_id(SETUP_TOKEN.to_string())
        .exec(&txn)
        .await?;
    settings::ActiveModel {
        name: Set(SETUP_TOKEN.into()),
        value: Set(crypto::digest(&token)),
        updated_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Bootstrap::SetupToken(token))
}

/// Whether `token` is the pending setup token, printed less than an hour ago, and no
/// administrator (active or not) exists yet.
pub async fn setup_token_valid(db: &DatabaseConnection, token: &str) -> Result<bool, AppError> {
    setup_token_valid_at(db, token, Utc::now()).await
}

pub async fn setup_token_valid_at(
    db: &DatabaseConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    if any_administrator(db).await? {
        return Ok(false);
    }
    let stored = settings::Entity::find_by_id(SETUP_TOKEN.to_string())
        .one(db)
        .await?;
    Ok(stored.is_some_and(|s| {
        s.updated_at + SETUP_TOKEN_LIFETIME > now
            && crypto::constant_time_eq(s.value.as_bytes(), crypto::digest(token).as_bytes())
    }))
}

/// Creates the first administrator with the setup token, which then stops working.
pub async fn complete_setup(
    db: &DatabaseConnection,
    token: &str,
    user_key: &str,
    display_name: &str,
    password: String,
    client_addr: &str,
) -> Result<(String, users::Model), AppError> {
    if !setup_token_valid(db, token).await? {
        return Err(AppError::BadRequest(
            "This setup link is no longer valid. An administrator exists already, or the server \
             was restarted and printed a new link."
                .into(),
        ));
    }
    let actor = Actor {
        name: "setup".into(),
        client_addr: Some(client_addr.to_string()),
    };
    let created = create_user(
        db,
        &actor,
        NewUser {
            user_key: user_key.to_string(),
            display_name: display_name.to_string(),
            email: String::new(),
            roles: vec![Role::Administrator, Role::BackupOperator],
        },
        Some(password),
    )
    .await?;
    settings::Entity::delete_by_id(SETUP_TOKEN.to_string())
        .exec(db)
        .await?;
    record(
        db,
        &actor,
        action::SETUP,
        Some(&created.user_key),
        Outcome::Success,
        None,
    )
    .await?;
    let now = Utc::now();
    let token = session::create(db, created.id, now).await?;
    let user = crate::users::service::find_by_id(db, created.id).await?;
    Ok((token, user))
}
