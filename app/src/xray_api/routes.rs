//! The REST endpoints. Every answer is JSON, every error `{"error": "..."}` with its status;
//! handlers return `Result<Json<T>, ApiError>`.

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use chrono::Utc;

use crate::auth::context::client_addr_of;
use crate::error::AppError;
use crate::state::AppState;

use super::service::{self, BODY_LIMIT};
use super::{Whoami, INVALID_CLIENT_CREDENTIALS, INVALID_TOKEN};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/authenticate", post(authenticate))
        .route("/api/v2/authenticate", post(authenticate))
        .route("/api/v2/whoami", get(whoami))
        .route("/api/openapi.json", get(openapi))
        .merge(crate::standin::routes::routes())
        .route("/api/v1/{*rest}", any(unknown_endpoint))
        .route("/api/v2/{*rest}", any(unknown_endpoint))
        .method_not_allowed_fallback(method_not_allowed)
}

/// An error as the REST API answers it.
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match &self.0 {
            AppError::InvalidCredentials => INVALID_CLIENT_CREDENTIALS.to_string(),
            AppError::Unauthenticated => INVALID_TOKEN.to_string(),
            other => other.to_string(),
        };
        let mut response = error_response(status, &message);
        match self.0 {
            AppError::TooManyRequests { retry_after_secs } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            AppError::Unauthenticated => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// Cache-Control is set for every answer by the REST router's own layer (the server crate).
pub(crate) fn error_response(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// A token for the key's user: a bare JSON string, as Xray Cloud answers.
async fn authenticate(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    // The stand-in's faults (`standin fault add --target authenticate`) answer first, as an
    // Xray in another region or without a licence answers whatever is sent.
    if state.config.xray_standin {
        use crate::standin::faults::{take, Target};
        if let Some(fault) = take(&state.db, Target::Authenticate, |_| true).await? {
            return Ok(crate::standin::routes::fault_response(fault).await);
        }
    }
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(AppError::PayloadTooLarge(BODY_LIMIT).into());
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body = to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge(BODY_LIMIT))?;
    let credentials = service::parse_credentials(content_type, &body)?;
    let client_addr = client_addr_of(&parts, state.config.trust_proxy_hops);
    let token = service::authenticate(&state, credentials, &client_addr, Utc::now()).await?;
    Ok(Json(token).into_response())
}

/// Who the bearer token acts for.
async fn whoami(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Whoami>, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = service::bearer_token(header)?;
    Ok(Json(service::caller(&state, token, Utc::now()).await?))
}

async fn openapi(State(state): State<AppState>) -> Response {
    Json(super::openapi::document(&state.config.public_url)).into_response()
}

async fn unknown_endpoint() -> Response {
    error_response(StatusCode::NOT_FOUND, "There is no such endpoint.")
}

async fn method_not_allowed() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "This endpoint does not accept that method.",
    )
}
