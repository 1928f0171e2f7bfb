//! The Xray Credentials server functions: each captures the request, checks the role and calls
//! `service`.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{connection, destination::HostPolicy, service};
use super::{CredentialsForm, CredentialsPage, CredentialsView};
use crate::error::AppError;

#[server]
pub async fn get_xray_credentials() -> Result<CredentialsPage, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (user, _) = ctx.require_any(service::ROLES).await?;
        let stored = service::load_checked(&ctx.state.db, &ctx.state.master_key).await?;
        let db = &ctx.state.db;
        Ok(CredentialsPage {
            issued_here: service::issued_here(db, stored.as_ref()).await?,
            checks: service::recent_checks(db, 5).await?,
            backup_health: crate::xray_backups::service::health(db, chrono::Utc::now()).await?,
            stored,
            viewer_is_admin: user.is_administrator,
        })
    })
    .await
}

/// Called when the operator opens edit mode: audited, and answers the freshest values.
#[server]
pub async fn begin_credentials_edit() -> Result<Option<CredentialsView>, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_any(service::ROLES).await?;
        service::begin_edit(&ctx.state.db, &ctx.state.master_key, &actor).await
    })
    .await
}

/// Saves, then tests the connection; answers the stored view with the test's result.
#[server]
pub async fn save_xray_credentials(form: CredentialsForm) -> Result<CredentialsView, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_any(service::ROLES).await?;
        service::save(
            &ctx.state.db,
            &ctx.state.master_key,
            &actor,
            &form,
            &HostPolicy::for_server(&ctx.state.config),
        )
        .await?;
        test_as(&ctx, &actor).await
    })
    .await
}

#[server]
pub async fn test_xray_connection() -> Result<CredentialsView, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_any(service::ROLES).await?;
        test_as(&ctx, &actor).await
    })
    .await
}

/// Tests the stored credentials the way this server is configured to reach them.
#[cfg(feature = "ssr")]
async fn test_as(
    ctx: &crate::auth::context::RequestCtx,
    actor: &crate::audit::service::Actor,
) -> Result<CredentialsView, AppError> {
    let state = &ctx.state;
    service::test_stored(
        &state.db,
        &state.master_key,
        actor,
        &connection::Tester::for_server(&state.config),
    )
    .await
}
