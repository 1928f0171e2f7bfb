//! The API Key Policy server functions (administrators).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::{KeyPolicy, MaximumPreview};
use crate::error::AppError;

#[server]
pub async fn get_key_policy() -> Result<KeyPolicy, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_admin().await?;
        super::service::load(&ctx.state.db).await
    })
    .await
}

#[server(input = Json)]
pub async fn save_key_policy(policy: KeyPolicy) -> Result<KeyPolicy, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        super::service::save(&ctx.state.db, &actor, policy).await
    })
    .await
}

#[server]
pub async fn preview_policy_maximum() -> Result<Option<MaximumPreview>, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_admin().await?;
        super::service::preview_maximum(&ctx.state.db, chrono::Utc::now()).await
    })
    .await
}

#[server]
pub async fn apply_policy_maximum(expected: u64) -> Result<u64, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_admin().await?;
        let (db, owners) = (ctx.state.db.clone(), ctx.state.owners.clone());
        crate::state::run_to_completion(async move {
            let changed =
                super::service::apply_maximum(&db, &actor, expected, chrono::Utc::now()).await;
            owners.invalidate();
            changed
        })
        .await
    })
    .await
}
