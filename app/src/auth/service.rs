//! Sign-in, and the creation of the first administrator.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use crate::audit::service::{record, Actor};
use crate::audit::{action, Outcome};
use crate::auth::{password, session, throttle, tokens};
use crate::db::begin_write;
use crate::entities::{settings, users};
use crate::error::AppError;
use crate::users::service::{count_active_admins, create_user, find_by_key};
use crate::users::{NewUser, Role, UserKey, PASSWORD_MAX, USER_KEY_MAX};

const SETUP_TOKEN: &str = "setup_token";

/// Checks a user key and password; on success starts a session and returns its cookie value.
/// Failures count against the account and the client address; the answer never says which of
/// user key or password was wrong.
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
    let account = throttle::account_bucket(&key_text.to_lowercase());
    let address = throttle::address_bucket(client_addr);
    throttle::check(db, &address, throttle::ADDRESS_LIMIT, now).await?;
    throttle::check(db, &account, throttle::ACCOUNT_LIMIT, now).await?;

    let user = match UserKey::parse(key_text) {
        Ok(key) => find_by_key(db, &key).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = password::verify_password(password_input, stored).await?;
    let actor = Actor {
        name: key_text.chars().take(255).collect(),
        client_addr: Some(client_addr.to_string()),
    };
    let user = match user {
        Some(user) if matches && user.is_active => user,
        _ => {
            // Both counters count this failure; past either limit it is answered 429.
            let by_account =
                throttle::record_failure(db, &account, throttle::ACCOUNT_LIMIT, now).await;
            let by_address =
                throttle::record_failure(db, &address, throttle::ADDRESS_LIMIT, now).await;
            record(db, &actor, action::SIGN_IN, None, Outcome::Failure, None).await?;
            by_account?;
            by_address?;
            return Err(AppError::InvalidCredentials);
        }
    };
    if !user.is_administrator && !user.is_backup_operator {
        record(
            db,
            &actor,
            action::SIGN_IN,
            None,
            Outcome::Denied,
            Some("no console role".into()),
        )
        .await?;
        return Err(AppError::BadRequest(
            "This account has no role in this console. Ask an administrator for one.".into(),
        ));
    }
    throttle::reset(db, &account).await?;
    let token = session::create(db, user.id, now).await?;
    record(db, &actor, action::SIGN_IN, None, Outcome::Success, None).await?;
    Ok((token, user))
}

/// What start-up does about the first administrator.
pub enum Bootstrap {
    /// An active administrator exists already.
    HasAdministrator,
    /// Created from `XRAY_KEYS_ADMIN_USER` / `XRAY_KEYS_ADMIN_PASSWORD`.
    Created(String),
    /// No administrator: this one-time token lets the first visitor set one up at `/setup`.
    SetupToken(String),
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
    let token = tokens::random_hex(24)?;
    let txn = begin_write(db).await?;
    settings::Entity::delete_by_id(SETUP_TOKEN.to_string())
        .exec(&txn)
        .await?;
    settings::ActiveModel {
        name: Set(SETUP_TOKEN.into()),
        value: Set(tokens::digest(&token)),
        updated_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Bootstrap::SetupToken(token))
}

/// Whether `token` is the pending setup token and no administrator exists yet.
pub async fn setup_token_valid(db: &DatabaseConnection, token: &str) -> Result<bool, AppError> {
    if count_active_admins(db).await? > 0 {
        return Ok(false);
    }
    let stored = settings::Entity::find_by_id(SETUP_TOKEN.to_string())
        .one(db)
        .await?;
    Ok(stored.is_some_and(|s| s.value == tokens::digest(token)))
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
