//! What a server function knows about its request: the app state, the caller, their address.

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use chrono::Utc;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::audit::service::Actor;
use crate::auth::session;
use crate::entities::users;
use crate::error::AppError;
use crate::state::AppState;
use crate::users::Role;

pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal
    })
}

fn parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("request parts missing from the server function context");
        AppError::Internal
    })
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when the server
/// is configured to trust its reverse proxy.
pub fn client_addr_of(parts: &Parts, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(forwarded) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        {
            return forwarded.to_string();
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub fn client_addr() -> Result<String, AppError> {
    let state = app_state()?;
    Ok(client_addr_of(&parts()?, state.config.trust_proxy))
}

/// The session cookie's value on this request, if any.
pub fn session_token() -> Result<Option<String>, AppError> {
    let parts = parts()?;
    Ok(parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(session::token_from_cookie_header)
        .map(str::to_string))
}

/// The signed-in user making this request, if any.
pub async fn current_user() -> Result<Option<users::Model>, AppError> {
    let Some(token) = session_token()? else {
        return Ok(None);
    };
    let state = app_state()?;
    session::lookup(&state.db, &token, Utc::now()).await
}

/// The caller, who must be signed in and hold one of `roles`.
pub async fn require_any(roles: &[Role]) -> Result<(users::Model, Actor), AppError> {
    let user = current_user().await?.ok_or(AppError::Unauthenticated)?;
    let allowed = roles.iter().any(|role| match role {
        Role::Administrator => user.is_administrator,
        Role::BackupOperator => user.is_backup_operator,
    });
    if !allowed {
        return Err(AppError::Forbidden);
    }
    let actor = Actor {
        name: user.user_key.clone(),
        client_addr: client_addr().ok(),
    };
    Ok((user, actor))
}

pub async fn require_admin() -> Result<(users::Model, Actor), AppError> {
    require_any(&[Role::Administrator]).await
}

/// Sets the HTTP status (and `Retry-After`) of the response from the error a server function
/// returns, so user errors never come back as 500.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        if let Some(response) = use_context::<ResponseOptions>() {
            if let Ok(status) = axum::http::StatusCode::from_u16(err.status_code()) {
                response.set_status(status);
            }
            if let AppError::TooManyRequests { retry_after_secs } = err {
                response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
        }
    }
    result
}

pub fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(value),
    ) {
        response.append_header(header::SET_COOKIE, value);
    }
}
