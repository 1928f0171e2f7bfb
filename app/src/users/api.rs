//! The Users server functions: each captures the request, checks the role and calls `service`.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::Role;
use super::{UserPage, UserSummary};
use crate::error::AppError;

#[cfg(feature = "ssr")]
fn roles_from(administrator: bool, backup_operator: bool) -> Vec<Role> {
    let mut roles = Vec::new();
    if administrator {
        roles.push(Role::Administrator);
    }
    if backup_operator {
        roles.push(Role::BackupOperator);
    }
    roles
}

#[server]
pub async fn list_users(search: String, page: u64, per_page: u64) -> Result<UserPage, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_admin().await?;
        super::service::search(
            &ctx.state.db,
            super::UserQuery {
                search,
                page,
                per_page,
            },
        )
        .await
    })
    .await
}

#[server]
pub async fn add_user(
    user_key: String,
    display_name: String,
    email: String,
    #[server(default)] administrator: bool,
    #[server(default)] backup_operator: bool,
    password: String,
) -> Result<UserSummary, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        let password = (!password.is_empty()).then_some(password);
        super::service::create_user(
            &ctx.state.db,
            &actor,
            super::NewUser {
                user_key,
                display_name,
                email,
                roles: roles_from(administrator, backup_operator),
            },
            password,
        )
        .await
    })
    .await
}

#[server]
pub async fn edit_user(
    id: i32,
    display_name: String,
    email: String,
    #[server(default)] administrator: bool,
    #[server(default)] backup_operator: bool,
) -> Result<UserSummary, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (me, actor) = ctx.require_admin().await?;
        super::service::update_user(
            &ctx.state.db,
            &actor,
            Some(me.id),
            super::UserUpdate {
                id,
                display_name,
                email,
                roles: roles_from(administrator, backup_operator),
            },
        )
        .await
    })
    .await
}

#[server]
pub async fn set_user_active(id: i32, active: bool) -> Result<UserSummary, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (me, actor) = ctx.require_admin().await?;
        let changed =
            super::service::set_active(&ctx.state.db, &actor, Some(me.id), id, active).await;
        // This instance's cached token owners go before the answer does.
        ctx.state.owners.invalidate();
        changed
    })
    .await
}

#[server]
pub async fn reset_user_password(id: i32, password: String) -> Result<(), AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        super::service::set_password(&ctx.state.db, &actor, id, password).await
    })
    .await
}
