//! The stand-in page's server function (administrators; only while the stand-in is on).

use leptos::prelude::*;

use super::StandinOverview;
use crate::error::AppError;

#[server]
pub async fn get_standin_overview(page: u64) -> Result<StandinOverview, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_admin().await?;
        if !ctx.state.config.xray_standin {
            return Err(AppError::NotFound(
                "The Xray stand-in is off. Start the server with XRAY_KEYS_XRAY_STANDIN=on to use it."
                    .into(),
            ));
        }
        super::service::overview(
            &ctx.state.db,
            ctx.state.config.xray_standin_requests,
            page,
            chrono::Utc::now(),
        )
        .await
    })
    .await
}
