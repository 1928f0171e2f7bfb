//! The Audit server function.

use leptos::prelude::*;

use super::{AuditFilter, AuditPage as AuditData};
use crate::error::AppError;

#[server]
pub async fn list_audit(filter: AuditFilter) -> Result<AuditData, AppError> {
    crate::auth::context::serve(|ctx| async move {
        ctx.require_admin().await?;
        super::service::list(&ctx.state.db, filter).await
    })
    .await
}
