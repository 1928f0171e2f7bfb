//! The web server: routes, probes, start-up and graceful shutdown.

use std::time::Duration;

use app::config::{Config, LogFormat};
use app::state::AppState;
use app::{shell, App, OUTPUT_NAME};
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::routing::get;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list_with_exclusions, LeptosRoutes};
use migrations::{Migrator, MigratorTrait};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{TimeoutBody, TimeoutLayer};
use tower_http::trace::TraceLayer;

use crate::error::CliError;

/// Logs go to stderr. The server logs from `info`; a command prints its results on stdout and
/// logs only warnings and errors, unless `XRAY_KEYS_LOG` says otherwise.
pub fn init_tracing(config: &Config, serving: bool) {
    let default = if serving { "info" } else { "warn" };
    // The filter was validated with the configuration; fall back to the default all the same.
    let filter =
        tracing_subscriber::EnvFilter::try_new(config.log_filter.as_deref().unwrap_or(default))
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

pub async fn serve(config: Config) -> Result<(), CliError> {
    let db = app::db::connect(&config.database_url).await?;
    Migrator::up(&db, None).await.map_err(CliError::Migrate)?;
    let (secret_hasher, master_key) = app::vault::load_keys(&config, &db).await?;
    bootstrap_admin(&db, &config).await?;

    let hashed_names = built_with_hashed_names();
    let leptos_options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .env(leptos::config::Env::PROD)
        .hash_files(hashed_names)
        .build();
    let pkg = config.site_root.join("pkg");
    if !pkg.is_dir() {
        tracing::warn!(
            site_root = %config.site_root.display(),
            "the compiled client (pkg/) is not in the site root: pages will render but not hydrate; \
             build with `make build` (cargo leptos build --release --split) or set XRAY_KEYS_SITE_ROOT"
        );
    } else if !hashed_names && !pkg.join(format!("{OUTPUT_NAME}.wasm")).is_file() {
        tracing::warn!(
            site_root = %config.site_root.display(),
            "the compiled client's files are named by their content, but hash.txt, which names \
             them, is not beside this binary: pages will render but not hydrate; keep the build's \
             hash.txt beside the binary"
        );
    }
    let resealed = app::credentials::service::upgrade_binding(&db, &master_key).await?;
    if resealed > 0 {
        tracing::info!(
            resealed,
            "stored Xray credentials are now bound to their Client ID and API URL"
        );
    }
    let listen = config.listen;
    let state = AppState::new(db, config, leptos_options, secret_hasher, master_key);
    state
        .token_keys
        .ensure(&state.db)
        .await
        .map_err(|source| CliError::Startup {
            what: "load or create the token-signing key",
            source,
        })?;
    app::xray_api::owners::spawn_change_listener(&state.db, state.change_feed.clone());
    app::maintenance::spawn_pruning(state.db.clone(), state.config.retention_days);
    app::api_keys::sweep::spawn_sweeping(state.db.clone());
    app::xray_backups::scheduler::spawn_scheduling(
        app::xray_backups::scheduler::Scheduler::for_server(&state),
    );
    let app = router(state);

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| CliError::Listen {
            address: listen,
            source,
        })?;
    tracing::info!(address = %listen, "listening on http://{listen}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(CliError::Server)?;
    tracing::info!("stopped");
    Ok(())
}

/// Whether cargo-leptos named the client's files by their content (`hash-files`), which it records
/// in `hash.txt` beside the server binary. Then a page names only files of the build it came from:
/// a browser holding an older page or cache never loads a WASM chunk of another build. Leptos
/// reads the names from that file while rendering; without it the plain names are served.
fn built_with_hashed_names() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|file| file.is_file())
}

pub fn router(state: AppState) -> Router {
    router_with_stall_limit(state, STALL_LIMIT)
}

/// [`router`] with another stall limit (tests shorten it). Each audience gets its own router and
/// layers: probes, the token-authenticated REST API, and what browsers use.
pub fn router_with_stall_limit(state: AppState, stall_limit: Duration) -> Router {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(rest_api())
        .merge(browser(&state));
    let app = app::security::with_security_headers(app).with_state(state);
    // Traces name the path, never the query: a setup link's token travels in it.
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request| {
        tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
    });
    bounded(app, stall_limit).layer(trace)
}

/// The REST API Xray clients call with a bearer token. No cookies, so nothing to forge and no
/// CSRF check; every answer is JSON and none may be cached (tokens, who a token acts for).
fn rest_api() -> Router<AppState> {
    app::xray_api::routes::routes().layer(SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
}

/// What browsers use, all behind the same-origin check for state-changing requests: the pages,
/// which need a session before they render, and the server functions, whose errors answer with
/// the status their `AppError` names.
fn browser(state: &AppState) -> Router<AppState> {
    let context_state = state.clone();
    let provide_state = move || provide_context(context_state.clone());
    let shell_options = state.leptos_options.clone();
    let functions: Vec<(&'static str, axum::http::Method)> =
        leptos::server_fn::axum::server_fn_paths().collect();
    // Leptos would route the server functions among the pages; they get their own router here.
    let excluded = functions.iter().map(|(path, _)| path.to_string()).collect();
    let pages = Router::new()
        .leptos_routes_with_context(
            state,
            generate_route_list_with_exclusions(App, Some(excluded)),
            provide_state.clone(),
            move || shell(shell_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_state.clone(), shell))
        .layer(axum::middleware::from_fn(client_files_cached))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages_need_a_session,
        ));
    let mut server_functions = Router::new();
    for (path, method) in functions {
        let Ok(filter) = axum::routing::MethodFilter::try_from(method.clone()) else {
            tracing::error!(path, %method, "a server function with an unroutable method is left out");
            continue;
        };
        let provide_state = provide_state.clone();
        let handler = move |request: Request| {
            let provide_state = provide_state.clone();
            async move { leptos_axum::handle_server_fns_with_context(provide_state, request).await }
        };
        server_functions = server_functions.route(path, axum::routing::on(filter, handler));
    }
    let server_functions = server_functions.layer(axum::middleware::from_fn(
        crate::error_status::from_app_error,
    ));
    pages
        .merge(server_functions)
        .merge(app::xray_backups::downloads::routes())
        .layer(axum::middleware::from_fn(crate::csrf::same_origin_only))
}

/// A signed-out visitor of a page that needs a session is sent to sign in (303 See Other, and
/// back afterwards) before anything of the page is rendered; a signed-in visitor of the sign-in
/// page is sent on to where it leads (a form posted without the client lands there after
/// signing in).
async fn pages_need_a_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let is_page_read = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let path = request.uri().path();
    let needs_session = app::SIGNED_IN_PAGES.contains(&path);
    let is_sign_in = path == app::auth::SIGN_IN_PAGE;
    if !(is_page_read && (needs_session || is_sign_in)) {
        return next.run(request).await;
    }
    let token =
        app::auth::session::token_from_headers(request.headers(), state.config.secure_cookies);
    let signed_in = match token {
        Some(token) => app::auth::session::lookup(&state.db, &token, chrono::Utc::now()).await,
        None => Ok(None),
    };
    let see_other = |to: String| (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    match signed_in {
        Ok(Some(_)) if is_sign_in => {
            let onward =
                axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(
                    request.uri(),
                )
                .ok()
                .and_then(|query| query.0.get("next").cloned())
                .unwrap_or_default();
            see_other(app::auth::safe_next(&onward))
        }
        Ok(Some(user)) => {
            request
                .extensions_mut()
                .insert(app::auth::context::SignedIn(user));
            next.run(request).await
        }
        Ok(None) if needs_session => {
            let here = request
                .uri()
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_string();
            see_other(app::ui::url::login_path(&here))
        }
        // Signed out on the sign-in page; or a database failure, left to the page, which says so.
        _ => next.run(request).await,
    }
}

/// The compiled client's files (`/pkg/…`) as browsers may keep them. A file the build named by
/// its content (cargo-leptos' `hash-files`: `name.<22 characters>.ext`) never changes under
/// that name, so a browser keeps it for a year without asking again and a second visit
/// downloads no WASM; any other file there is asked for again on each use (its ETag makes
/// that a 304 while it is unchanged).
async fn client_files_cached(request: Request, next: Next) -> axum::response::Response {
    let policy = request
        .uri()
        .path()
        .strip_prefix("/pkg/")
        .map(client_file_cache_policy);
    let mut response = next.run(request).await;
    let served = matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED);
    if let (Some(policy), true) = (policy, served) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// The `Cache-Control` of the client file named `name` (its path under `/pkg/`).
fn client_file_cache_policy(name: &str) -> &'static str {
    const HASH_CHARS: usize = 22;
    let named_by_content = name.rsplit_once('.').is_some_and(|(stem, _extension)| {
        stem.rsplit_once('.').is_some_and(|(base, hash)| {
            !base.is_empty()
                && !base.contains('/')
                && hash.len() == HASH_CHARS
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    });
    if named_by_content {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// How long a response may make no progress. Nothing this server does legitimately takes that
/// long (waiting for a database connection gives up after 10 s); a panic inside a page's render task
/// would otherwise leave its response open forever.
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// Bounds every response: no head within `limit` answers 503; a streamed body that produces
/// nothing for `limit` is cut off, which closes the connection so the client sees an error, not
/// a hang. Bodies of known length are left alone: they cannot stall, and wrapping them would
/// lose their Content-Length.
pub fn bounded(router: Router, limit: Duration) -> Router {
    router
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| async move {
                let response = next.run(request).await;
                if response.body().size_hint().exact().is_some() {
                    return response;
                }
                response.map(|body| Body::new(TimeoutBody::new(limit, body)))
            },
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limit,
        ))
}

/// Makes sure an administrator can be had: from the settings, or through a one-time setup link
/// printed on standard output (the link is a secret, so it never goes to the log stream).
async fn bootstrap_admin(
    db: &sea_orm::DatabaseConnection,
    config: &Config,
) -> Result<(), CliError> {
    use app::auth::service::{bootstrap_admin, Bootstrap};
    let from_config = config
        .admin_bootstrap
        .as_ref()
        .map(|b| (b.user_key.clone(), b.password.clone()));
    match bootstrap_admin(db, from_config).await {
        Ok(Bootstrap::HasAdministrator) => {}
        Ok(Bootstrap::Created(key)) => {
            tracing::warn!(user_key = %key, "created the first administrator from XRAY_KEYS_ADMIN_USER");
        }
        Ok(Bootstrap::OnlyInactiveAdministrators) => {
            tracing::warn!(
                "every administrator is deactivated: reactivate one, or add one, with the \
                 command line (xray-keys users add <user-key> --role administrator \
                 --password-stdin)"
            );
        }
        Ok(Bootstrap::SetupToken(token)) => {
            tracing::warn!(
                "no administrator exists: a one-time setup link (valid for one hour) was printed on standard output"
            );
            println!(
                "\n  No administrator exists yet. Open this one-time link within an hour to create one:\n\n    {}/setup?token={token}\n",
                config.public_url
            );
        }
        Err(err) => {
            return Err(CliError::Startup {
                what: "create the first administrator",
                source: err,
            })
        }
    }
    Ok(())
}

/// The process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers; a load balancer sends no traffic here until it does.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match app::db::ping(&state.db).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM; axum then stops accepting and lets in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
