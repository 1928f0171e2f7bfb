//! Response headers that keep pages from running anything but this app's own code.

use axum::http::{header, HeaderValue};

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
