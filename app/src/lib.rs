//! xray-keys: shared types, components, pages and server functions.
//!
//! Compiled with `ssr` into the server and with `hydrate` into the browser bundle, never both.

// Leptos view types nest deeply; the API Keys page needs more than the default 128.
#![recursion_limit = "256"]

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod browser;
pub mod credentials;
pub mod error;
pub mod key_policy;
pub mod layout;
pub mod pages;
pub mod standin;
pub mod ui;
pub mod users;
pub mod xray_backups;

#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod entities;
#[cfg(feature = "ssr")]
pub mod lease;
#[cfg(feature = "ssr")]
pub mod maintenance;
#[cfg(feature = "ssr")]
pub mod owner_only;
#[cfg(feature = "ssr")]
pub mod security;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod vault;
#[cfg(feature = "ssr")]
pub mod xray_api;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};

/// Pages only a signed-in user sees (each checks the role too). A signed-out visitor is sent to
/// sign in by the server, with nothing of the page.
pub const SIGNED_IN_PAGES: &[&str] = &[
    "/api-keys",
    "/xray-credentials",
    "/xray-backups",
    "/users",
    "/audit",
    "/xray-standin",
];
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use leptos_router::SsrMode;

pub use error::AppError;

/// Pages served as plain HTML, without the WASM client: their forms post to the server and work
/// without a script, so a first visit downloads none. The sign-in page is what every visitor
/// opens first; a page reached from it by a link loads the client as usual.
pub const PAGES_WITHOUT_CLIENT: &[&str] = &[auth::SIGN_IN_PAGE];

/// Whether the page at `path` runs the WASM client (see [`PAGES_WITHOUT_CLIENT`]).
pub fn runs_client(path: &str) -> bool {
    !PAGES_WITHOUT_CLIENT.contains(&path)
}

/// The name cargo-leptos gives the compiled JS, WASM and CSS (`/pkg/xray-keys.*`).
pub const OUTPUT_NAME: &str = "xray-keys";

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let with_client = use_context::<axum::http::request::Parts>()
        .is_none_or(|request| runs_client(request.uri.path()));
    #[cfg(not(feature = "ssr"))]
    let with_client = true;
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                // No favicon request (and no 404 in the console).
                <link rel="icon" href="data:," />
                <HashedStylesheet options=options.clone() id="app-style" />
                {with_client.then(|| view! { <HydrationScripts options /> })}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    #[cfg(feature = "ssr")]
    security::set_page_policy();
    provide_meta_context();
    auth::provide_current_user();
    // The API Keys page is rendered whole (`SsrMode::Async`) rather than streamed: its data takes
    // a millisecond, and one write of the page saves the server the streamed parts' templates
    // and scripts (docs/performance-changes.md).
    view! {
        <Title formatter=|page: String| format!("{page} · xray-keys") />
        <Router>
            <a class="skip-link" href="#main">
                "Skip to main content"
            </a>
            <layout::AppHeader />
            <main id="main" class="page" tabindex="-1">
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::HomePage />
                    <Route path=path!("/login") view=pages::LoginPage />
                    <Route
                        path=path!("/api-keys")
                        view=pages::ApiKeysRoute::lazily()
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/api-key-policy") view=pages::KeyPolicyRoute::lazily() />
                    <Route
                        path=path!("/xray-credentials")
                        view=pages::XrayCredentialsRoute::lazily()
                    />
                    <Route path=path!("/xray-backups") view=pages::XrayBackupsRoute::lazily() />
                    <Route path=path!("/users") view=pages::UsersRoute::lazily() />
                    <Route path=path!("/xray-standin") view=pages::StandinRoute::lazily() />
                    <Route path=path!("/audit") view=pages::AuditRoute::lazily() />
                    <Route path=path!("/setup") view=pages::SetupPage />
                </Routes>
            </main>
        </Router>
    }
}

/// Marks `<body data-hydrated="true">` once the client has taken over the server-rendered page, so
/// browser tests interact only with a live page.
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
