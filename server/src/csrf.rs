//! Cross-site request forgery protection: a state-changing request from a browser must come from
//! this site. Browsers say where a request comes from in `Sec-Fetch-Site` and `Origin`; a request
//! with neither is not from a browser page (curl, scripts) and carries no ambient authority worth
//! forging.
//!
//! Only the browser's router has this layer: the token-authenticated REST API has its own.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn same_origin_only(request: Request<Body>, next: Next) -> Response {
    if is_safe_method(request.method()) {
        return next.run(request).await;
    }
    match verdict(&request) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(path = %request.uri().path(), reason, "cross-site request refused");
            (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"error":"Cross-site request refused."}"#,
            )
                .into_response()
        }
    }
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn verdict(request: &Request<Body>) -> Result<(), &'static str> {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // `none`: typed into the address bar or opened from a bookmark by the user.
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err("Sec-Fetch-Site is not same-origin"),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or("Origin without Host")?;
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or("Origin is not http(s)")?;
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err("Origin does not match Host")
    }
}
