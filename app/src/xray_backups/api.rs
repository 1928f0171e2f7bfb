//! The Xray Backups server functions: each captures the request, checks the role and calls
//! `service` or `scheduler`.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::{BackupsOverview, RunRow, Schedule};
use crate::error::AppError;

#[server]
pub async fn get_xray_backups(
    page: u64,
    details: Option<i32>,
) -> Result<BackupsOverview, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_any(super::ROLES).await?;
        super::service::overview(&ctx.state.db, page, details, chrono::Utc::now()).await
    })
    .await
}

/// Queues a run and starts it on this instance; answers the queued run.
#[server]
pub async fn run_backup_now() -> Result<RunRow, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_any(super::ROLES).await?;
        let scheduler = super::scheduler::Scheduler::for_server(&ctx.state);
        let queued = super::scheduler::start_now(&scheduler, &actor.name).await?;
        Ok(super::service::row_of(&queued))
    })
    .await
}

#[server]
pub async fn cancel_backup_run() -> Result<RunRow, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_any(super::ROLES).await?;
        super::service::cancel(&ctx.state.db, &actor).await
    })
    .await
}

#[server(input = Json)]
pub async fn save_backup_schedule(schedule: Schedule) -> Result<Schedule, AppError> {
    crate::auth::context::serve(|ctx| async move {
        let (_, actor) = ctx.require_any(super::ROLES).await?;
        super::service::save_schedule(&ctx.state.db, &actor, schedule).await
    })
    .await
}
