//! What a server function knows about its request: the app state, the caller, their address.
//!
//! Leptos keeps the request's context in the reactive owner, which is only certain to be current
//! until the function's first `.await`. So a server function takes a [`RequestCtx`] first thing,
//! synchronously, and uses only that afterwards.

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use chrono::Utc;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::audit::service::Actor;
use crate::auth::session;
use crate::entities::users;
use crate::error::AppError;
use crate::state::AppState;
use crate::users::Role;

/// The user whose session the server's page guard checked for this request, so rendering the
/// page does not look the session up a second time. Only the server sets it (a request extension
/// cannot come from the client).
#[derive(Clone)]
pub struct SignedIn(pub users::Model);

/// The request a server function serves, captured before anything is awaited.
#[derive(Clone)]
pub struct RequestCtx {
    pub state: AppState,
    parts: Parts,
    response: Option<ResponseOptions>,
    pub client_addr: String,
}

impl RequestCtx {
    /// Call synchronously at the start of a server function.
    pub fn current() -> Result<Self, AppError> {
        let state = use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the server function context");
            AppError::Internal
        })?;
        let parts = use_context::<Parts>().ok_or_else(|| {
            tracing::error!("request parts missing from the server function context");
            AppError::Internal
        })?;
        let client_addr = client_addr_of(&parts, state.config.trust_proxy_hops);
        Ok(RequestCtx {
            state,
            parts,
            response: use_context::<ResponseOptions>(),
            client_addr,
        })
    }

    /// The session cookie's value on this request, if any.
    pub fn session_token(&self) -> Option<String> {
        session::token_from_headers(&self.parts.headers, self.state.config.secure_cookies)
    }

    /// The signed-in user making this request, if any.
    pub async fn current_user(&self) -> Result<Option<users::Model>, AppError> {
        if let Some(SignedIn(user)) = self.parts.extensions.get::<SignedIn>() {
            return Ok(Some(user.clone()));
        }
        let Some(token) = self.session_token() else {
            return Ok(None);
        };
        session::lookup(&self.state.db, &token, Utc::now()).await
    }

    /// The caller, who must be signed in and hold one of `roles`.
    pub async fn require_any(&self, roles: &[Role]) -> Result<(users::Model, Actor), AppError> {
        let user = self
            .current_user()
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let allowed = roles.iter().any(|role| match role {
            Role::Administrator => user.is_administrator,
            Role::BackupOperator => user.is_backup_operator,
        });
        if !allowed {
            return Err(AppError::Forbidden);
        }
        let actor = Actor {
            name: user.user_key.clone(),
            client_addr: Some(self.client_addr.clone()),
        };
        Ok((user, actor))
    }

    pub async fn require_admin(&self) -> Result<(users::Model, Actor), AppError> {
        self.require_any(&[Role::Administrator]).await
    }

    /// Sets the HTTP status (and `Retry-After`) of the response from the error the server
    /// function returns, so user errors never come back as 500. A form the browser posted
    /// itself (a page served without the client) keeps the framework's redirect back to the
    /// form, which carries the error in its address: a browser shows a 4xx body as it is.
    pub fn respond<T>(&self, result: Result<T, AppError>) -> Result<T, AppError> {
        if let (Err(err), Some(response)) = (&result, &self.response) {
            if let (Ok(status), false) = (
                StatusCode::from_u16(err.status_code()),
                self.posted_by_a_form(),
            ) {
                response.set_status(status);
            }
            if let AppError::TooManyRequests { retry_after_secs } = err {
                response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
        }
        result
    }

    /// Whether a plain HTML form sent this request: it asks for a page, not for JSON, and
    /// `server_fn` answers it with a redirect back to the form's page.
    fn posted_by_a_form(&self) -> bool {
        self.parts
            .headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    }

    pub fn set_cookie(&self, value: &str) {
        if let (Some(response), Ok(value)) = (&self.response, HeaderValue::from_str(value)) {
            response.append_header(header::SET_COOKIE, value);
        }
    }

    /// Marks the response as not to be stored by any cache (it shows a secret).
    pub fn no_store(&self) {
        if let Some(response) = &self.response {
            response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
}

/// The client's address: the socket peer, or, behind `hops` trusted reverse proxies, the
/// `X-Forwarded-For` entry the outermost of them appended (counted from the right: entries to
/// its left are whatever the client sent, and the client chooses them).
pub fn client_addr_of(parts: &Parts, hops: usize) -> String {
    let peer = parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if hops == 0 {
        if !forwarded.is_empty() && peer.is_some_and(|ip| ip.is_loopback()) {
            warn_proxy_untrusted();
        }
    } else if forwarded.len() >= hops {
        if let Ok(ip) = forwarded[forwarded.len() - hops].parse::<std::net::IpAddr>() {
            return ip.to_string();
        }
    }
    peer.map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Said once per process: every client of a proxy would share the proxy's throttles.
fn warn_proxy_untrusted() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "requests arrive from loopback with X-Forwarded-For while XRAY_KEYS_TRUST_PROXY is \
             off: behind a reverse proxy every client looks like 127.0.0.1 and shares one sign-in \
             throttle; set XRAY_KEYS_TRUST_PROXY=on (or the number of proxies)"
        );
    });
}

/// Runs a server function body with the request captured first; sets the response status
/// from its error.
pub async fn serve<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(RequestCtx) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let ctx = RequestCtx::current()?;
    let result = body(ctx.clone()).await;
    ctx.respond(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(forwarded: &[&str]) -> Parts {
        let mut request = axum::http::Request::builder();
        for value in forwarded {
            request = request.header("x-forwarded-for", *value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                40000,
            ))));
        parts
    }

    #[test]
    fn the_client_address_is_the_one_the_trusted_proxies_appended() {
        // The client wrote "6.6.6.6"; the outer proxy appended the client's real address.
        let chain = parts(&["6.6.6.6, 203.0.113.7", "10.0.0.2"]);
        assert_eq!(client_addr_of(&chain, 0), "127.0.0.1");
        assert_eq!(client_addr_of(&chain, 1), "10.0.0.2");
        assert_eq!(client_addr_of(&chain, 2), "203.0.113.7");
        assert_eq!(client_addr_of(&chain, 3), "6.6.6.6");
        // Fewer entries than proxies, or garbage where the address should be: the peer.
        assert_eq!(client_addr_of(&chain, 4), "127.0.0.1");
        assert_eq!(client_addr_of(&parts(&["not an address"]), 1), "127.0.0.1");
        assert_eq!(client_addr_of(&parts(&[]), 1), "127.0.0.1");
    }
}
