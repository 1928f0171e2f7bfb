//! Server-function errors raised by the framework itself (arguments that do not decode, for
//! example) are answered 500 by `server_fn`, before our code can set a status. This layer gives
//! every server-function error the status its `AppError` names, so user errors are never 500.
//! It wraps the server functions' router only.

use app::AppError;
use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Error bodies are small JSON; anything larger is not one of ours and passes unchanged.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn from_app_error(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(error = %err, "cannot read a server function error body");
            return Response::from_parts(parts, Body::empty());
        }
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.status_code()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
