//! The API Keys server functions: each captures the request, checks the role and calls
//! `service`.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::{ApiKeyPage, IssuedKey, KeyCandidate, Selection};
use crate::error::AppError;

#[server]
pub async fn list_api_keys(
    search: String,
    page: u64,
    per_page: u64,
) -> Result<ApiKeyPage, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_admin().await?;
        super::service::list(
            &ctx.state.db,
            super::KeyQuery {
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
pub async fn key_candidates(search: String) -> Result<Vec<KeyCandidate>, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_admin().await?;
        super::service::candidates(&ctx.state.db, &search).await
    })
    .await
}

#[server]
pub async fn create_api_key(user_key: String) -> Result<IssuedKey, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        ctx.no_store();
        super::service::create(&ctx.state.db, &ctx.state.secret_hasher, &actor, &user_key).await
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
pub async fn regenerate_api_keys(selection: Selection) -> Result<Vec<IssuedKey>, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        ctx.no_store();
        let state = ctx.state.clone();
        crate::state::run_to_completion(async move {
            let issued =
                super::service::regenerate(&state.db, &state.secret_hasher, &actor, selection)
                    .await;
            state.owners.invalidate();
            issued
        })
        .await
    })
    .await
}
