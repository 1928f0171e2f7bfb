//! The router answers its probes and unknown pages as documented.

use crate::harness;

use app::state::AppState;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use tower::ServiceExt;

fn state_with(db: DatabaseConnection) -> AppState {
    harness::app_state(db)
}

async fn get(state: AppState, path: &str) -> (StatusCode, String) {
    let response = server::serve::router(state)
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn health_and_readiness_answer_when_the_database_does() {
    harness::block_on(async {
        harness::each_backend(|backend| async move {
            let (status, body) = get(state_with(backend.db.clone()), "/healthz").await;
            assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
            let (status, body) = get(state_with(backend.db.clone()), "/readyz").await;
            assert_eq!((status, body.as_str()), (StatusCode::OK, "ready"));
        })
        .await;
    });
}

#[test]
fn readiness_fails_while_the_database_is_unreachable() {
    harness::block_on(async {
        let mut options = sea_orm::ConnectOptions::new("postgres://nobody@127.0.0.1:1/none");
        options
            .connect_lazy(true)
            .connect_timeout(std::time::Duration::from_millis(500))
            .acquire_timeout(std::time::Duration::from_millis(500));
        let db = sea_orm::Database::connect(options)
            .await
            .expect("lazy pool");
        let (status, _) = get(state_with(db.clone()), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let (status, _) = get(state_with(db), "/healthz").await;
        assert_eq!(status, StatusCode::OK, "the process itself is still up");
    });
}

#[test]
fn home_page_is_rendered_on_the_server() {
    harness::block_on(async {
        harness::each_backend(|backend| async move {
            let (status, body) = get(state_with(backend.db), "/").await;
            assert_eq!(status, StatusCode::OK);
            assert!(body.contains("<h1>Overview"), "{body}");
            assert!(
                body.contains("/pkg/xray-keys.js"),
                "hydration script is linked"
            );
        })
        .await;
    });
}

/// A file the build named by its content is kept by browsers for a year (a second visit
/// downloads no WASM); a file with a plain name is asked for again each time; a missing file
/// is a 404 nobody keeps.
#[test]
fn client_files_named_by_their_content_are_cached_for_good() {
    harness::block_on(async {
        harness::each_backend(|backend| async move {
            let site = tempfile::tempdir().unwrap();
            let pkg = site.path().join("pkg");
            std::fs::create_dir_all(&pkg).unwrap();
            std::fs::write(pkg.join("xray-keys.AbCdEfGhIjKlMnOp_-StUv.wasm"), b"\0asm").unwrap();
            std::fs::write(pkg.join("chunk_7.88UcexrTnQQUsH-gpML6hQ.wasm"), b"\0asm").unwrap();
            std::fs::write(pkg.join("xray-keys.wasm"), b"\0asm").unwrap();
            let state = harness::app_state_serving(backend.db.clone(), site.path());
            let cache_control = |path: &'static str| {
                let state = state.clone();
                async move {
                    let response = server::serve::router(state)
                        .oneshot(Request::get(path).body(Body::empty()).unwrap())
                        .await
                        .unwrap();
                    let policy = response
                        .headers()
                        .get(header::CACHE_CONTROL)
                        .map(|v| v.to_str().unwrap().to_string());
                    (response.status(), policy)
                }
            };
            let forever = Some("public, max-age=31536000, immutable".to_string());
            assert_eq!(
                cache_control("/pkg/xray-keys.AbCdEfGhIjKlMnOp_-StUv.wasm").await,
                (StatusCode::OK, forever.clone())
            );
            assert_eq!(
                cache_control("/pkg/chunk_7.88UcexrTnQQUsH-gpML6hQ.wasm").await,
                (StatusCode::OK, forever)
            );
            assert_eq!(
                cache_control("/pkg/xray-keys.wasm").await,
                (StatusCode::OK, Some("no-cache".to_string()))
            );
            let (status, policy) =
                cache_control("/pkg/xray-keys.ZZZZZZZZZZZZZZZZZZZZZZ.wasm").await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert_ne!(
                policy.as_deref(),
                Some("public, max-age=31536000, immutable")
            );
        })
        .await;
    });
}

#[test]
fn unknown_page_is_a_404_with_a_way_back() {
    harness::block_on(async {
        harness::each_backend(|backend| async move {
            let (status, body) = get(state_with(backend.db), "/no-such-page").await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert!(body.contains("Page not found"));
            assert!(body.contains("href=\"/\""));
        })
        .await;
    });
}

fn header_of(response: &axum::response::Response, name: axum::http::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn every_response_carries_the_security_headers_and_pages_allow_only_their_own_scripts() {
    harness::block_on(async {
        harness::each_backend(|backend| async move {
            for path in ["/", "/login", "/no-such-page", "/api/v2/whoami", "/healthz"] {
                let response = server::serve::router(state_with(backend.db.clone()))
                    .oneshot(Request::get(path).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                assert_eq!(
                    header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
                    "nosniff",
                    "{path}"
                );
                assert_eq!(
                    header_of(&response, header::REFERRER_POLICY),
                    "same-origin",
                    "{path}"
                );
                assert_eq!(
                    header_of(&response, header::X_FRAME_OPTIONS),
                    "DENY",
                    "{path}"
                );
                let policy = header_of(&response, header::CONTENT_SECURITY_POLICY);
                assert!(
                    policy.contains("frame-ancestors 'none'"),
                    "{path}: {policy}"
                );
                let is_page = response
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|t| t.starts_with("text/html"));
                let body = response.into_body().collect().await.unwrap().to_bytes();
                let body = String::from_utf8_lossy(&body);
                if is_page {
                    // The one nonce of this response, on every script of the page and nowhere else.
                    let nonce = policy
                        .split("'nonce-")
                        .nth(1)
                        .and_then(|rest| rest.split('\'').next())
                        .unwrap_or_else(|| panic!("{path}: no nonce in {policy}"));
                    assert!(nonce.len() >= 16, "{path}: {nonce}");
                    assert!(!policy.contains("unsafe-inline"), "{path}");
                    let scripts = body.matches("<script").count();
                    assert!(scripts > 0, "{path}");
                    // The sign-in page is served without the client (`PAGES_WITHOUT_CLIENT`).
                    let runs_client = !app::PAGES_WITHOUT_CLIENT.contains(&path);
                    assert_eq!(body.contains("modulepreload"), runs_client, "{path}");
                    assert_eq!(
                        body.matches(&format!("nonce=\"{nonce}\"")).count(),
                        scripts,
                        "{path}: every script carries the nonce"
                    );
                } else {
                    assert_eq!(policy, app::security::NON_PAGE_POLICY, "{path}");
                }
            }
            // A new nonce per response.
            let policy =
                |r: &axum::response::Response| header_of(r, header::CONTENT_SECURITY_POLICY);
            let one = server::serve::router(state_with(backend.db.clone()))
                .oneshot(Request::get("/").body(Body::empty()).unwrap())
                .await
                .unwrap();
            let two = server::serve::router(state_with(backend.db.clone()))
                .oneshot(Request::get("/").body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_ne!(policy(&one), policy(&two));
        })
        .await;
    });
}

/// A TCP relay to PostgreSQL that the test can cut and restore, on a fixed port.
struct Relay {
    port: u16,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start(port: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let tasks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                held.lock().unwrap().push(relay);
            }
        });
        tasks.lock().unwrap().push(accept);
        Relay { port, tasks }
    }

    /// The database "goes away": no new connection, every open one cut.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[test]
fn while_the_database_is_away_requests_get_503_and_the_app_recovers_by_itself() {
    harness::block_on(async {
        harness::each_backend(|backend| async move {
            if backend.kind != app::config::DatabaseKind::Postgres {
                return;
            }
            let relay = Relay::start(0).await;
            let url = backend
                .url
                .expose()
                .replace(":5432/", &format!(":{}/", relay.port));
            let mut options = sea_orm::ConnectOptions::new(url);
            options
                .connect_timeout(std::time::Duration::from_millis(500))
                .acquire_timeout(std::time::Duration::from_millis(1500));
            let db = sea_orm::Database::connect(options)
                .await
                .expect("through the relay");
            let state = state_with(db);
            let authenticate = |state: AppState| async move {
                let body = format!(
                    r#"{{"client_id":"{}","client_secret":"{}"}}"#,
                    "A".repeat(32),
                    "b".repeat(64)
                );
                server::serve::router(state)
                    .oneshot(
                        Request::post("/api/v2/authenticate")
                            .header("content-type", "application/json")
                            .body(Body::from(body))
                            .unwrap(),
                    )
                    .await
                    .unwrap()
                    .status()
            };
            assert_eq!(get(state.clone(), "/readyz").await.0, StatusCode::OK);
            assert_eq!(authenticate(state.clone()).await, StatusCode::UNAUTHORIZED);

            relay.cut();
            assert_eq!(
                get(state.clone(), "/readyz").await.0,
                StatusCode::SERVICE_UNAVAILABLE
            );
            assert_eq!(
                authenticate(state.clone()).await,
                StatusCode::SERVICE_UNAVAILABLE,
                "a clear 503, not a 500"
            );

            // Back on the same address: the pool reconnects by itself.
            let _relay = Relay::start(relay.port).await;
            let mut recovered = false;
            for _ in 0..60 {
                if get(state.clone(), "/readyz").await.0 == StatusCode::OK {
                    recovered = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            assert!(recovered, "ready again without a restart");
            assert_eq!(authenticate(state).await, StatusCode::UNAUTHORIZED);
        })
        .await;
    });
}

#[tokio::test]
async fn a_response_that_stops_making_progress_is_ended_not_left_open() {
    use futures::StreamExt;
    let stalls_after_first_chunk = || async {
        let first = futures::stream::once(async { Ok::<_, std::convert::Infallible>("first") });
        Body::from_stream(first.chain(futures::stream::pending()))
    };
    let app = server::serve::bounded(
        axum::Router::new()
            .route("/quick", axum::routing::get(|| async { "ok" }))
            .route(
                "/never",
                axum::routing::get(std::future::pending::<&'static str>),
            )
            .route("/stalls", axum::routing::get(stalls_after_first_chunk)),
        std::time::Duration::from_millis(200),
    );
    let call = |path: &'static str| {
        app.clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
    };

    let quick = call("/quick").await.unwrap();
    assert_eq!(quick.status(), StatusCode::OK);
    assert_eq!(
        axum::body::HttpBody::size_hint(quick.body()).exact(),
        Some(2),
        "a body of known length keeps it (and so its Content-Length)"
    );
    assert_eq!(quick.into_body().collect().await.unwrap().to_bytes(), "ok");

    // No head at all: a clear 503 instead of waiting forever.
    let never = call("/never").await.unwrap();
    assert_eq!(never.status(), StatusCode::SERVICE_UNAVAILABLE);

    // A streamed body that stops: cut off with an error, so the connection closes.
    let stalled = call("/stalls").await.unwrap();
    assert_eq!(stalled.status(), StatusCode::OK);
    assert!(stalled.into_body().collect().await.is_err());
}

#[test]
fn a_bulk_change_that_began_is_finished_even_when_its_response_is_cut_off() {
    harness::block_on(harness::each_backend(|b| async move {
        use leptos::server_fn::ServerFn;
        let state = harness::app_state_of(&b);
        let admin = harness::signed_in(&b.db, "admin", vec![app::users::Role::Administrator]).await;
        let made = app::api_keys::service::seed(&b.db, &harness::test_hasher(), 0, 3000)
            .await
            .unwrap();
        // Long enough to let the change start.
        let router =
            server::serve::router_with_stall_limit(state, std::time::Duration::from_millis(150));
        let body = serde_json::json!({
            "selection": { "AllMatching": { "search": "", "expected": made } }
        });
        let request = Request::post(app::api_keys::RegenerateApiKeys::PATH)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("host", "127.0.0.1:3000")
            .header("cookie", admin)
            .body(Body::from(body.to_string()))
            .unwrap();
        // Another writer holds the keys until the answer has been cut off, so the cut does not
        // depend on how fast this machine regenerates 3,000 keys.
        let holder = app::db::begin_write(&b.db).await.unwrap();
        if b.kind == app::config::DatabaseKind::Postgres {
            sea_orm::ConnectionTrait::execute_unprepared(
                &holder,
                "LOCK TABLE api_keys IN EXCLUSIVE MODE",
            )
            .await
            .unwrap();
        }
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "the answer was cut off"
        );
        holder.rollback().await.unwrap();
        // …but the change runs to its end: every key regenerated, each with its audit entry.
        let started = std::time::Instant::now();
        loop {
            let audited = app::entities::audit_log::Entity::find()
                .filter(
                    app::entities::audit_log::Column::Action
                        .eq(app::audit::action::API_KEY_REGENERATE),
                )
                .count(&b.db)
                .await
                .unwrap();
            if audited > 0 {
                assert_eq!(audited, made, "all or nothing");
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(120),
                "the regeneration was dropped with its response"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let unchanged = app::entities::api_keys::Entity::find()
            .filter(app::entities::api_keys::Column::SecretGeneration.eq(1))
            .count(&b.db)
            .await
            .unwrap();
        assert_eq!(unchanged, 0);
    }));
}
