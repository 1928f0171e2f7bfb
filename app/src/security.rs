//! The security headers of every response, set here and nowhere else: the page policy (with each
//! page's script nonce) while a page renders, and the headers every answer gets from the router's
//! outermost layers.

use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of HTML pages: scripts only with this response's nonce (the hydration script, which
/// then loads the app's module and WASM), styles and everything else only from this site, no
/// framing, no plugins, forms posting only here.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy of every other response (JSON, files): nothing may load from it, nothing may frame it.
pub const NON_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Sets the page policy on the response being rendered; call while rendering the app on the server.
pub fn set_page_policy() {
    let (Some(response), Some(nonce)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        leptos::nonce::use_nonce(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Wraps every route of `router`: the strict policy for anything that did not set its own (pages
/// do, with their nonce), no MIME sniffing, no referrer beyond this site, no framing.
pub fn with_security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NON_PAGE_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}
