//! The people and keys tests start from.

use app::api_keys::IssuedKey;
use app::audit::service::Actor;
use app::users::{service as users, NewUser, Role};
use sea_orm::DatabaseConnection;

/// The password of users made by [`person`] and [`signed_in`].
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// A user named "<key> name" with `roles` and, when given, a password; returns the user's id.
pub async fn person(
    db: &DatabaseConnection,
    key: &str,
    roles: Vec<Role>,
    password: Option<&str>,
) -> i32 {
    users::create_user(
        db,
        &Actor::cli(),
        NewUser {
            user_key: key.into(),
            display_name: format!("{key} name"),
            email: String::new(),
            roles,
        },
        password.map(str::to_string),
    )
    .await
    .expect("create user")
    .id
}

/// A user with `roles` and a live session; returns the `Cookie` header value.
pub async fn signed_in(db: &DatabaseConnection, key: &str, roles: Vec<Role>) -> String {
    let id = person(db, key, roles, Some(TEST_PASSWORD)).await;
    let token = app::auth::session::create(db, id, chrono::Utc::now())
        .await
        .expect("create session");
    format!("xk_session={token}")
}

/// A user without roles or password, shown as `display_name`.
pub async fn named_user(db: &DatabaseConnection, key: &str, display_name: &str) {
    users::create_user(
        db,
        &Actor::cli(),
        NewUser {
            user_key: key.into(),
            display_name: display_name.into(),
            ..Default::default()
        },
        None,
    )
    .await
    .expect("create user");
}

/// A user shown as "Name of <key>".
pub async fn user(db: &DatabaseConnection, key: &str) {
    named_user(db, key, &format!("Name of {key}")).await;
}

/// A new user shown as `display_name` with an API key; the key as issued, secret included.
pub async fn named_key(db: &DatabaseConnection, user_key: &str, display_name: &str) -> IssuedKey {
    named_user(db, user_key, display_name).await;
    app::api_keys::service::create(db, &super::test_hasher(), &Actor::cli(), user_key)
        .await
        .expect("create key")
}

/// A new user shown as "Name of <key>" with an API key.
pub async fn key_for(db: &DatabaseConnection, user_key: &str) -> IssuedKey {
    named_key(db, user_key, &format!("Name of {user_key}")).await
}
