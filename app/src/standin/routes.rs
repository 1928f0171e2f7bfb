//! The stand-in's REST endpoints, v1 and v2 paths alike, for bearer tokens this server issued.
//! Off (`XRAY_KEYS_XRAY_STANDIN` unset or off), they answer as unknown paths do.

use axum::body::to_bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;

use super::import::{self, IMPORT_LIMIT};
use super::junit::JunitQuery;
use super::ImportedExecution;
use crate::error::AppError;
use crate::state::AppState;
use crate::xray_api::routes::ApiError;
use crate::xray_api::service;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/import/execution", post(import_execution))
        .route("/api/v2/import/execution", post(import_execution))
        .route("/api/v1/import/execution/junit", post(import_junit))
        .route("/api/v2/import/execution/junit", post(import_junit))
}

/// The caller's user key, from a bearer token this server issued; off: "no such endpoint".
async fn caller(state: &AppState, authorization: Option<String>) -> Result<String, AppError> {
    if !state.config.xray_standin {
        return Err(AppError::NotFound("There is no such endpoint.".into()));
    }
    let token = service::bearer_token(authorization.as_deref())?;
    Ok(service::caller(state, token, Utc::now()).await?.user_key)
}

fn authorization(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn import_execution(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<ImportedExecution>, ApiError> {
    let user_key = caller(&state, authorization(&request)).await?;
    let body = to_bytes(request.into_body(), IMPORT_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge(IMPORT_LIMIT))?;
    let parsed = import::parse(&body)?;
    let imported = import::import(
        &state.db,
        parsed,
        &user_key,
        &state.config.public_url,
        Utc::now(),
    )
    .await?;
    Ok(Json(imported))
}

async fn import_junit(
    State(state): State<AppState>,
    query: Result<Query<JunitQuery>, QueryRejection>,
    request: Request,
) -> Result<Json<ImportedExecution>, ApiError> {
    let user_key = caller(&state, authorization(&request)).await?;
    let Query(query) = query.map_err(|_| {
        AppError::validation(
            "query",
            "The query is not projectKey=…&testExecKey=…&testPlanKey=…&testEnvironments=…",
        )
    })?;
    let given = |v: &Option<String>| v.as_deref().is_some_and(|k| !k.trim().is_empty());
    if !given(&query.project_key) && !given(&query.test_exec_key) {
        return Err(AppError::validation(
            "projectKey",
            "Give projectKey (or testExecKey, to update an execution) in the query",
        )
        .into());
    }
    let body = to_bytes(request.into_body(), IMPORT_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge(IMPORT_LIMIT))?;
    let parsed = super::junit::to_import(&body, query)?;
    let imported = import::import(
        &state.db,
        parsed,
        &user_key,
        &state.config.public_url,
        Utc::now(),
    )
    .await?;
    Ok(Json(imported))
}
