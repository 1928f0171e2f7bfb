//! The API Keys server functions: each captures the request, checks the role and calls
//! `service`. Choices arrive as the forms send them (a filter's name, "never"/days/a date for an
//! expiry, hours of grace) and are parsed here, so a wrong one is a clear error, never a 500.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use super::KeyDetails;
use super::{ApiKeyPage, BulkChange, BulkResult, IssuedKey, KeyCandidate, Regeneration, Selection};
use crate::error::AppError;

#[cfg(feature = "ssr")]
fn parse_filter(name: &str) -> Result<super::KeyFilter, AppError> {
    if name.trim().is_empty() {
        return Ok(super::KeyFilter::All);
    }
    super::KeyFilter::parse(name)
        .ok_or_else(|| AppError::validation("filter", "Show one of the listed choices"))
}

#[server]
pub async fn list_api_keys(
    search: String,
    page: u64,
    per_page: u64,
    #[server(default)] filter: String,
    #[server(default)] after: String,
    #[server(default)] before: String,
) -> Result<ApiKeyPage, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_admin().await?;
        super::service::list(
            &ctx.state.db,
            super::KeyQuery {
                search,
                filter: parse_filter(&filter)?,
                page,
                per_page,
                start: super::PageStart::from_query(&after, &before)?,
            },
        )
        .await
    })
    .await
}

#[server]
pub async fn key_candidates(search: String) -> Result<Vec<KeyCandidate>, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_admin().await?;
        super::service::candidates(&ctx.state.db, &search).await
    })
    .await
}

/// `expires`: "never", days from now, or a date (YYYY-MM-DD, the key expires at its end, UTC);
/// empty: the policy's default.
#[server]
pub async fn create_api_key(
    user_key: String,
    #[server(default)] description: String,
    #[server(default)] expires: String,
) -> Result<IssuedKey, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        ctx.no_store();
        let now = chrono::Utc::now();
        let choice = if expires.trim().is_empty() {
            crate::key_policy::service::load(&ctx.state.db)
                .await?
                .default_choice()
        } else {
            super::ExpiryChoice::parse(&expires)?
        };
        let details = KeyDetails {
            description,
            expires_at: choice.at(now)?,
        };
        super::service::create_with_details(
            &ctx.state.db,
            &ctx.state.secret_hasher,
            &actor,
            &user_key,
            details,
            now,
        )
        .await
    })
    .await
}

#[server(input = Json)]
pub async fn delete_api_keys(selection: Selection) -> Result<u64, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        let (db, owners) = (ctx.state.db.clone(), ctx.state.owners.clone());
        crate::state::run_to_completion(async move {
            let deleted = super::service::delete(&db, &actor, selection).await;
            // This instance's cached token owners go before the answer does.
            owners.invalidate();
            deleted
        })
        .await
    })
    .await
}

#[server(input = Json)]
pub async fn regenerate_api_keys(
    selection: Selection,
    #[server(default)] grace_hours: u32,
) -> Result<Vec<IssuedKey>, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        ctx.no_store();
        let grace = super::grace_from_hours(grace_hours)?;
        let state = ctx.state.clone();
        crate::state::run_to_completion(async move {
            let issued = super::service::regenerate_with_grace(
                &state.db,
                &state.secret_hasher,
                &actor,
                selection,
                grace,
                chrono::Utc::now(),
            )
            .await;
            state.owners.invalidate();
            issued
        })
        .await
    })
    .await
}

/// The row's Regenerate Client Secret: `seen_generation` is the secret the dialog was opened
/// on; `update_credentials` is the rotation handshake (for users who may edit the Xray
/// Credentials), followed by a connection test.
#[server]
pub async fn regenerate_api_key(
    client_id: String,
    seen_generation: i32,
    #[server(default)] grace_hours: u32,
    #[server(default)] update_credentials: bool,
) -> Result<Regeneration, AppError> {
    crate::auth::context::serve(|ctx| async move {
        // Administrators are among the roles that may edit the Xray Credentials.
        let (_, actor) = ctx.require_admin().await?;
        ctx.no_store();
        let grace = super::grace_from_hours(grace_hours)?;
        let state = ctx.state.clone();
        let tester = crate::credentials::connection::Tester::for_server(&state.config);
        crate::state::run_to_completion(async move {
            let done = super::service::regenerate_key(
                &state.db,
                &state.secret_hasher,
                &actor,
                super::service::RegenerateOne {
                    client_id: &client_id,
                    seen_generation: Some(seen_generation),
                    grace,
                    update_credentials: update_credentials.then_some(&state.master_key),
                },
                chrono::Utc::now(),
            )
            .await;
            state.owners.invalidate();
            let done = done?;
            let mut credentials_connected = false;
            let credentials = if done.credentials_updated {
                let view = crate::credentials::service::test_stored(
                    &state.db,
                    &state.master_key,
                    &actor,
                    &tester,
                )
                .await?;
                credentials_connected = view.last_test.as_ref().is_some_and(|t| t.outcome.is_ok());
                Some(view.last_test.map_or_else(
                    || "Xray Credentials updated.".to_string(),
                    |test| {
                        if test.outcome.is_ok() {
                            "Xray Credentials updated and connected.".to_string()
                        } else {
                            format!(
                                "Xray Credentials updated, but the connection test failed: {}",
                                test.outcome.explanation()
                            )
                        }
                    },
                ))
            } else {
                None
            };
            Ok(Regeneration {
                issued: done.issued,
                credentials,
                credentials_connected,
            })
        })
        .await
    })
    .await
}

/// "Edit details": `expires` as in [`create_api_key`], but required.
#[server]
pub async fn edit_api_key(
    client_id: String,
    description: String,
    expires: String,
) -> Result<(), AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        let now = chrono::Utc::now();
        let expires_at = if expires.trim() == "keep" {
            super::service::details(&ctx.state.db, &client_id)
                .await?
                .expires_at
        } else {
            super::ExpiryChoice::parse(&expires)?.at(now)?
        };
        let details = KeyDetails {
            description,
            expires_at,
        };
        let (db, owners) = (ctx.state.db.clone(), ctx.state.owners.clone());
        crate::state::run_to_completion(async move {
            let edited = super::service::edit_details(&db, &actor, &client_id, details, now).await;
            owners.invalidate();
            edited
        })
        .await
    })
    .await
}

#[server]
pub async fn set_api_key_active(client_id: String, active: bool) -> Result<(), AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        let (db, owners) = (ctx.state.db.clone(), ctx.state.owners.clone());
        crate::state::run_to_completion(async move {
            let changed =
                super::service::set_active(&db, &actor, &client_id, active, chrono::Utc::now())
                    .await;
            owners.invalidate();
            changed
        })
        .await
    })
    .await
}

#[server]
pub async fn revoke_old_secret(client_id: String) -> Result<(), AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        let (db, owners) = (ctx.state.db.clone(), ctx.state.owners.clone());
        crate::state::run_to_completion(async move {
            let revoked =
                super::service::revoke_old_secret(&db, &actor, &client_id, chrono::Utc::now())
                    .await;
            owners.invalidate();
            revoked
        })
        .await
    })
    .await
}

/// The bulk menu's Deactivate, Reactivate and Set expiry….
#[server(input = Json)]
pub async fn change_api_keys(
    selection: Selection,
    change: BulkChange,
) -> Result<BulkResult, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        let (db, owners) = (ctx.state.db.clone(), ctx.state.owners.clone());
        crate::state::run_to_completion(async move {
            let changed =
                super::service::bulk_change(&db, &actor, selection, change, chrono::Utc::now())
                    .await;
            owners.invalidate();
            changed
        })
        .await
    })
    .await
}
