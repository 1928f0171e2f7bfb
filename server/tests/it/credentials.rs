//! The stored Xray credentials: validation, encryption, concurrent saves, master-key rotation,
//! every connection-test outcome, role checks and audit, and that the secret never leaks.

use crate::harness;
use crate::harness::{page, send};

use std::net::SocketAddr;
use std::time::Duration;

use app::audit::service::Actor;
use app::credentials::connection::{Tester, XraySecret};
use app::credentials::destination::HostPolicy;
use app::credentials::{service, BaseUrl, CredentialsForm, Outcome};
use app::entities::xray_credentials as creds;
use app::error::AppError;
use app::users::Role;
use app::vault::MasterKey;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use leptos::server_fn::ServerFn;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

const ID_A: &str = "8CF3CEA946DB4059A9999D3AF4035EFE";
const ID_B: &str = "0123456789ABCDEF0123456789ABCDEF";

fn secret(c: char) -> String {
    c.to_string().repeat(64)
}

fn form(id: &str, secret: &str, base: &str, custom: &str, version: i64) -> CredentialsForm {
    CredentialsForm {
        client_id: id.into(),
        client_secret: secret.into(),
        base_url: base.into(),
        custom_url: custom.into(),
        version,
    }
}

/// Loopback is listed, as an operator lists a test stand: these tests reach stubs over http.
fn policy() -> HostPolicy {
    HostPolicy::new(&["127.0.0.1".into(), "localhost".into()], &[])
}

fn operator() -> Actor {
    Actor {
        name: "backup-op".into(),
        client_addr: Some("127.0.0.1".into()),
    }
}

async fn stored(db: &DatabaseConnection, key: &MasterKey) -> Option<(String, String, String)> {
    service::read_stored(db, key)
        .await
        .unwrap()
        .map(|(row, s)| (row.client_id.clone(), s.expose().to_string(), row.base_url))
}

#[test]
fn nothing_is_saved_until_every_field_passes() {
    harness::block_on(harness::each_backend(|b| async move {
        let key = harness::test_master_key();
        for (bad, field) in [
            (form("", &secret('a'), "global", "", 0), "client_id"),
            (form("XYZ", &secret('a'), "global", "", 0), "client_id"),
            (form(ID_A, "", "global", "", 0), "client_secret"),
            (
                form(ID_A, &"a".repeat(63), "global", "", 0),
                "client_secret",
            ),
            (
                form(ID_A, &"g".repeat(64), "global", "", 0),
                "client_secret",
            ),
            (form(ID_A, &secret('a'), "mars", "", 0), "base_url"),
            (
                form(ID_A, &secret('a'), "custom", "http://example.com/api", 0),
                "custom_url",
            ),
            (
                form(
                    ID_A,
                    &secret('a'),
                    "custom",
                    &format!("https://x/{}", "a".repeat(3000)),
                    0,
                ),
                "custom_url",
            ),
        ] {
            let err = service::save(&b.db, &key, &operator(), &bad, &policy())
                .await
                .unwrap_err();
            assert!(err.field_message(field).is_some(), "{field}: {err:?}");
            assert!(
                !err.to_string().contains(&"a".repeat(63)),
                "the secret is never echoed"
            );
        }
        assert!(service::load(&b.db).await.unwrap().is_none());

        // Trimmed on the way in.
        let version = service::save(
            &b.db,
            &key,
            &operator(),
            &form(
                &format!("  {ID_A}\n"),
                &format!(" {} ", secret('b')),
                "eu",
                "",
                0,
            ),
            &policy(),
        )
        .await
        .unwrap();
        assert_eq!(version, 1);
        assert_eq!(
            stored(&b.db, &key).await,
            Some((ID_A.into(), secret('b'), "eu".into()))
        );
        let view = service::load(&b.db).await.unwrap().unwrap();
        assert_eq!(view.base_url, BaseUrl::XrayEu);
        assert_eq!(view.updated_by, "backup-op");
        assert!(view.last_test.is_none());
    }));
}

#[test]
fn the_secret_is_sealed_at_rest_and_bound_to_its_row() {
    harness::block_on(harness::each_backend(|b| async move {
        let key = harness::test_master_key();
        service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_A, &secret('c'), "global", "", 0),
            &policy(),
        )
        .await
        .unwrap();
        let row = creds::Entity::find_by_id(service::RECORD_ID)
            .one(&b.db)
            .await
            .unwrap()
            .unwrap();
        assert!(row.secret_sealed.starts_with("xk1$"));
        assert!(!row.secret_sealed.contains(&secret('c')));
        assert!(!row.secret_sealed.to_ascii_lowercase().contains("cccccccc"));
        // Two saves of the same secret store different ciphertexts (fresh nonce).
        service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_A, &secret('c'), "global", "", 1),
            &policy(),
        )
        .await
        .unwrap();
        let again = creds::Entity::find_by_id(service::RECORD_ID)
            .one(&b.db)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(again.secret_sealed, row.secret_sealed);

        // The same ciphertext on another row does not open there.
        let mut copy: creds::ActiveModel = again.clone().into();
        copy.id = Set(2);
        copy.insert(&b.db).await.unwrap();
        assert!(key
            .open(
                &again.secret_sealed,
                &service::secret_binding(2, ID_A, "global")
            )
            .is_err());
        assert!(key
            .open(
                &again.secret_sealed,
                &app::vault::settings_record("anything")
            )
            .is_err());
        assert_eq!(
            key.open(
                &again.secret_sealed,
                &service::secret_binding(1, ID_A, "global")
            )
            .unwrap(),
            secret('c').into_bytes()
        );
        // Under another master key, reading fails with a clear 503, never the plaintext.
        let other = MasterKey::new([1u8; 32]);
        assert_eq!(
            service::read_stored(&b.db, &other).await.err(),
            Some(AppError::Unavailable)
        );
    }));
}

#[test]
fn an_empty_secret_keeps_the_stored_one_unless_someone_saved_meanwhile() {
    harness::block_on(harness::each_backend(|b| async move {
        let key = harness::test_master_key();
        let v1 = service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_A, &secret('d'), "global", "", 0),
            &policy(),
        )
        .await
        .unwrap();
        // Keep the secret with the same Client ID and API.
        let v2 = service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_A, "", "global", "", v1),
            &policy(),
        )
        .await
        .unwrap();
        assert_eq!(v2, v1 + 1);
        assert_eq!(
            stored(&b.db, &key).await,
            Some((ID_A.into(), secret('d'), "global".into()))
        );
        // Someone saves a new pair; an edit started before it may not keep "the" secret.
        service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_A, &secret('e'), "global", "", v2),
            &policy(),
        )
        .await
        .unwrap();
        let err = service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_A, "", "global", "", v2),
            &policy(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
        assert!(err.to_string().contains("Nothing was saved"));
        assert_eq!(
            stored(&b.db, &key).await,
            Some((ID_A.into(), secret('e'), "global".into())),
            "the failed save left the previous credentials intact"
        );
        // A full save (with a secret) is complete on its own: it wins whatever it started from.
        service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_B, &secret('f'), "eu", "", 1),
            &policy(),
        )
        .await
        .unwrap();
        assert_eq!(
            stored(&b.db, &key).await,
            Some((ID_B.into(), secret('f'), "eu".into()))
        );
    }));
}

#[test]
fn concurrent_saves_never_mix_two_forms() {
    harness::block_on(harness::each_backend(|b| async move {
        let key = harness::test_master_key();
        service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_A, &secret('0'), "global", "", 0),
            &policy(),
        )
        .await
        .unwrap();
        // Each writer's Client ID, secret and URL belong together; whichever wins, they match.
        let writers: Vec<_> = (1..=8u8)
            .map(|n| {
                let db = b.db.clone();
                let key = key.clone();
                tokio::spawn(async move {
                    let hex = format!("{n:X}");
                    let id = hex.repeat(32);
                    let base = ["global", "us", "eu", "au"][n as usize % 4];
                    service::save(
                        &db,
                        &key,
                        &operator(),
                        &form(&id, &hex.to_lowercase().repeat(64), base, "", 0),
                        &policy(),
                    )
                    .await
                    .map(|_| n)
                })
            })
            .collect();
        let mut saved = 0;
        for w in writers {
            match w.await.unwrap() {
                Ok(_) => saved += 1,
                // Under contention a writer may be told to try again; never anything else.
                Err(AppError::Conflict(_)) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(saved >= 1);
        let (id, secret, base) = stored(&b.db, &key).await.unwrap();
        let n = u8::from_str_radix(&id[..1], 16).unwrap();
        assert_eq!(id, format!("{n:X}").repeat(32));
        assert_eq!(
            secret,
            format!("{n:x}").repeat(64),
            "never a mix of two saves"
        );
        assert_eq!(base, ["global", "us", "eu", "au"][n as usize % 4]);
    }));
}

#[test]
fn rotating_the_master_key_reencrypts_every_secret_at_once() {
    harness::block_on(harness::each_backend(|b| async move {
        let old = harness::test_master_key();
        let state = harness::app_state_of(&b);
        // The canary and the signing key are sealed settings; the credentials a sealed row.
        app::vault::write_canary(&b.db, &old).await.unwrap();
        state.token_keys.ensure(&b.db).await.unwrap();
        service::save(
            &b.db,
            &old,
            &operator(),
            &form(ID_A, &secret('7'), "global", "", 0),
            &policy(),
        )
        .await
        .unwrap();
        let new = MasterKey::new([3u8; 32]);
        let count = app::vault::rotate_master_key(&b.db, &old, &new)
            .await
            .unwrap();
        assert_eq!(count, 3, "canary, signing key, credentials");
        assert_eq!(stored(&b.db, &new).await.map(|s| s.1), Some(secret('7')));
        assert!(service::read_stored(&b.db, &old).await.is_err());
        let config = app::config::Config::from_vars(vec![(
            "XRAY_KEYS_MASTER_KEY".to_string(),
            new.to_hex(),
        )])
        .unwrap();
        assert!(app::vault::load_master_key(&config, &b.db).await.is_ok());
        let config = app::config::Config::from_vars(vec![(
            "XRAY_KEYS_MASTER_KEY".to_string(),
            old.to_hex(),
        )])
        .unwrap();
        assert!(app::vault::load_master_key(&config, &b.db).await.is_err());
        // Rotating with the wrong "old" key changes nothing.
        assert!(
            app::vault::rotate_master_key(&b.db, &old, &MasterKey::new([4u8; 32]))
                .await
                .is_err()
        );
        assert_eq!(stored(&b.db, &new).await.map(|s| s.1), Some(secret('7')));
    }));
}

// ---- connection outcomes ----------------------------------------------------------------

/// Serves the app's router on a loopback port; answers its API root.
async fn listen_app(state: app::state::AppState) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}/api", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            server::serve::router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (root, task)
}

/// A stand-in for Xray Cloud: `/region/api` issues tokens but refuses reads (data kept in
/// another region); `/broken/api` fails with 502; `/moved/api` redirects to the EU endpoint.
async fn listen_stub() -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::{get, post};
    let token = || async { axum::Json("stub-token") };
    let app = axum::Router::new()
        .route("/region/api/v2/authenticate", post(token))
        .route(
            "/region/api/v2/whoami",
            get(|| async { StatusCode::NOT_FOUND }),
        )
        .route(
            "/region/api/v2/graphql",
            post(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"Your Xray data is located in another region."}"#,
                )
            }),
        )
        .route("/moved/api/v2/authenticate", post(token))
        .route(
            "/moved/api/v2/whoami",
            get(|| async { StatusCode::NOT_FOUND }),
        )
        .route(
            "/moved/api/v2/graphql",
            post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(
                        header::LOCATION,
                        "https://eu.xray.cloud.getxray.app/api/v2/graphql",
                    )],
                )
            }),
        )
        .route(
            "/broken/api/v2/authenticate",
            post(|| async { (StatusCode::BAD_GATEWAY, "upstream down") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr.to_string(), task)
}

/// Accepts connections and never answers.
async fn listen_silent() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (addr.to_string(), task)
}

async fn key_for(db: &DatabaseConnection, user_key: &str) -> app::api_keys::IssuedKey {
    harness::named_key(db, user_key, "Backup Service").await
}

#[test]
fn each_connection_outcome_is_told_apart() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let issued = key_for(&b.db, "revyz-backup-user").await;
        let (self_root, app_task) = listen_app(state).await;
        let (stub, stub_task) = listen_stub().await;
        let (silent, silent_task) = listen_silent().await;
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let tester = Tester {
            standin_graphql: false,
            self_root: self_root.clone(),
            timeout: Duration::from_millis(1500),
            policy: policy(),
        };
        let right = XraySecret::new(issued.client_secret.clone());
        let wrong = XraySecret::new("0".repeat(64));
        let custom = |url: String| BaseUrl::Custom(url);

        assert_eq!(
            tester
                .test(&BaseUrl::ThisServer, &issued.client_id, &right)
                .await,
            Outcome::Connected {
                as_user: Some("Backup Service (revyz-backup-user)".into())
            }
        );
        // The same server named by a custom URL.
        assert!(tester
            .test(&custom(self_root.clone()), &issued.client_id, &right)
            .await
            .is_ok());
        assert_eq!(
            tester
                .test(&BaseUrl::ThisServer, &issued.client_id, &wrong)
                .await,
            Outcome::InvalidCredentials
        );
        let region = tester
            .test(&custom(format!("http://{stub}/region/api")), ID_A, &right)
            .await;
        assert!(matches!(region, Outcome::OtherRegion { .. }), "{region:?}");
        let moved = tester
            .test(&custom(format!("http://{stub}/moved/api")), ID_A, &right)
            .await;
        assert!(matches!(moved, Outcome::OtherRegion { .. }), "{moved:?}");
        assert_eq!(
            tester
                .test(&custom(format!("http://{stub}/broken/api")), ID_A, &right)
                .await,
            Outcome::Unexpected {
                status: 502,
                step: "authenticate".into()
            }
        );
        assert_eq!(
            tester
                .test(&custom(format!("http://{stub}/nothing/api")), ID_A, &right)
                .await,
            Outcome::Unexpected {
                status: 404,
                step: "authenticate".into()
            }
        );
        assert_eq!(
            tester
                .test(&custom(format!("http://{silent}/api")), ID_A, &right)
                .await,
            Outcome::TimedOut
        );
        let refused = tester
            .test(&custom(format!("http://{closed}/api")), ID_A, &right)
            .await;
        // A category, not the operating system's words (which tell closed from filtered).
        assert_eq!(
            refused,
            Outcome::Unreachable {
                detail: "Could not connect".into()
            }
        );
        // TLS spoken to a server that answers in plain HTTP.
        let tls = tester
            .test(&custom(format!("https://{stub}/region/api")), ID_A, &right)
            .await;
        assert_eq!(
            tls,
            Outcome::Tls {
                detail: "TLS handshake failed".into()
            }
        );
        let unresolvable = tester
            .test(
                &custom("https://no-such-host.invalid/api".into()),
                ID_A,
                &right,
            )
            .await;
        assert!(
            matches!(unresolvable, Outcome::NotAllowed { ref detail } if detail.contains("could not be found")),
            "{unresolvable:?}"
        );

        // Through the service: the result is stored with its time and shown as current.
        let key = harness::test_master_key();
        service::save(
            &b.db,
            &key,
            &operator(),
            &form(
                &issued.client_id,
                &issued.client_secret,
                "custom",
                &self_root,
                0,
            ),
            &policy(),
        )
        .await
        .unwrap();
        let view = service::test_stored(&b.db, &key, &operator(), &tester)
            .await
            .unwrap();
        let last = view.last_test.unwrap();
        assert!(last.outcome.is_ok(), "{:?}", last.outcome);
        assert!(last.current);
        // Saved again: the old result is no longer current.
        service::save(
            &b.db,
            &key,
            &operator(),
            &form(&issued.client_id, "", "custom", &self_root, view.version),
            &policy(),
        )
        .await
        .unwrap();
        let view = service::load(&b.db).await.unwrap().unwrap();
        assert!(!view.last_test.unwrap().current);

        app_task.abort();
        stub_task.abort();
        silent_task.abort();
    }));
}

// ---- over HTTP: roles, audit, and no secret in any response or log ------------------------

fn save_body(id: &str, secret: &str, base: &str, custom: &str, version: i64) -> String {
    let enc = |s: &str| s.replace(':', "%3A").replace('/', "%2F");
    format!(
        "form[client_id]={id}&form[client_secret]={secret}&form[base_url]={base}&form[custom_url]={}&form[version]={version}",
        enc(custom)
    )
}

#[test]
fn the_stored_secret_appears_in_no_response_and_no_log_line() {
    let capture = harness::logs::capture();
    let logs = capture.buffer();
    harness::block_on(harness::each_backend(|b| {
        let logs = logs.clone();
        async move {
            let state = harness::app_state_with(&b, &[("XRAY_KEYS_XRAY_HOSTS", "127.0.0.1")]);
            let issued = key_for(&b.db, "svc-backup").await;
            let known = issued.client_secret.clone();
            let (root, task) = listen_app(state.clone()).await;
            let operator = harness::signed_in(&b.db, "op", vec![Role::BackupOperator]).await;
            let admin = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;

            let saved = send(
                &state,
                harness::server_fn_request(
                    app::credentials::SaveXrayCredentials::PATH,
                    &operator,
                    save_body(&issued.client_id, &known, "custom", &root, 0),
                ),
            )
            .await;
            assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
            assert!(saved.body.contains("Connected"), "{}", saved.body);

            let mut answers = vec![saved];
            for cookie in [&operator, &admin] {
                for path in ["/xray-credentials", "/", "/audit", "/api-keys", "/users"] {
                    answers.push(send(&state, page(path, Some(cookie))).await);
                }
                for path in [
                    app::credentials::GetXrayCredentials::PATH,
                    app::credentials::BeginCredentialsEdit::PATH,
                    app::credentials::TestXrayConnection::PATH,
                    app::audit::ListAudit::PATH,
                ] {
                    let answer = send(
                        &state,
                        harness::server_fn_request(path, cookie, String::new()),
                    )
                    .await;
                    answers.push(answer);
                }
            }
            // A keep-the-secret save and a bad one answer without it too.
            let view = service::load(&b.db).await.unwrap().unwrap();
            answers.push(
                send(
                    &state,
                    harness::server_fn_request(
                        app::credentials::SaveXrayCredentials::PATH,
                        &operator,
                        save_body(&issued.client_id, "", "custom", &root, view.version),
                    ),
                )
                .await,
            );
            let bad = send(
                &state,
                harness::server_fn_request(
                    app::credentials::SaveXrayCredentials::PATH,
                    &operator,
                    save_body("nothex", &format!("{known}zz"), "custom", &root, 0),
                ),
            )
            .await;
            assert_eq!(bad.status, StatusCode::BAD_REQUEST);
            answers.push(bad);

            for answer in &answers {
                assert!(
                    !answer.body.contains(&known),
                    "a response shows the secret: {}",
                    answer.body
                );
                for value in answer.headers.values() {
                    assert!(!value.to_str().unwrap_or_default().contains(&known));
                }
            }
            let page = send(&state, page("/xray-credentials", Some(&operator))).await;
            assert!(page.body.contains(&issued.client_id));
            assert!(page.body.contains(app::credentials::page::SECRET_MASK));

            let audit = app::audit::service::list(
                &b.db,
                app::audit::AuditFilter {
                    per_page: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            let actions: Vec<_> = audit.entries.iter().map(|e| e.action.as_str()).collect();
            for action in [
                app::audit::action::CREDENTIALS_SAVE,
                app::audit::action::CREDENTIALS_EDIT,
                app::audit::action::CREDENTIALS_TEST,
            ] {
                assert!(actions.contains(&action), "{action} audited: {actions:?}");
            }
            for entry in &audit.entries {
                assert!(!format!("{entry:?}").contains(&known));
            }
            task.abort();
            let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
            assert!(!logged.is_empty(), "the log capture works");
            assert!(!logged.contains(&known), "a log line holds the secret");
        }
    }));
}

#[test]
fn only_backup_operators_and_administrators_reach_the_credentials() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let nobody = harness::signed_in(&b.db, "plain", vec![]).await;
        for path in [
            app::credentials::GetXrayCredentials::PATH,
            app::credentials::BeginCredentialsEdit::PATH,
            app::credentials::TestXrayConnection::PATH,
        ] {
            let answer = send(
                &state,
                harness::server_fn_request(path, &nobody, String::new()),
            )
            .await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
            let answer = send(
                &state,
                harness::server_fn_request(path, "xk_session=forged", String::new()),
            )
            .await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        }
        let answer = send(
            &state,
            harness::server_fn_request(
                app::credentials::SaveXrayCredentials::PATH,
                &nobody,
                save_body(ID_A, &secret('a'), "global", "", 0),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert!(service::load(&b.db).await.unwrap().is_none());
        let answer = send(&state, page("/xray-credentials", Some(&nobody))).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);

        // Malformed input is a 400 naming the problem, not a 500.
        let operator = harness::signed_in(&b.db, "op", vec![Role::BackupOperator]).await;
        let answer = send(
            &state,
            harness::server_fn_request(
                app::credentials::SaveXrayCredentials::PATH,
                &operator,
                "form[client_id]=x&form[version]=notanumber".into(),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        // Testing with nothing stored says so.
        let answer = send(
            &state,
            harness::server_fn_request(
                app::credentials::TestXrayConnection::PATH,
                &operator,
                String::new(),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert!(answer.body.contains("No Xray credentials are stored yet"));
    }));
}

// ---- the stored secret goes only where it was saved for ----------------------------------

/// Answers every request 401 and records what arrived (path and body), to prove what was sent.
async fn listen_recorder() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    tokio::task::JoinHandle<()>,
) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |request: Request<Body>| {
        let log = log.clone();
        async move {
            let path = request.uri().path().to_string();
            let body = request.into_body().collect().await.unwrap().to_bytes();
            log.lock()
                .unwrap()
                .push(format!("{path} {}", String::from_utf8_lossy(&body)));
            StatusCode::UNAUTHORIZED
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr.to_string(), seen, task)
}

#[test]
fn a_kept_secret_is_never_sent_to_another_api_or_client_id() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, &[("XRAY_KEYS_XRAY_HOSTS", "127.0.0.1")]);
        let (stub, seen, task) = listen_recorder().await;
        let operator = harness::signed_in(&b.db, "op", vec![Role::BackupOperator]).await;
        let save = |body: String| {
            harness::server_fn_request(app::credentials::SaveXrayCredentials::PATH, &operator, body)
        };
        let first = send(&state, save(save_body(ID_A, &secret('a'), "global", "", 0))).await;
        assert!(first.body.contains("\"version\":1"), "{}", first.body);
        let stub_url = format!("http://{stub}/api");
        // The API changed, the secret left empty: refused by the secret field, nothing sent.
        for (id, base, custom) in [
            (ID_A, "custom", stub_url.as_str()),
            (ID_A, "eu", ""),
            (ID_B, "global", ""),
        ] {
            let refused = send(&state, save(save_body(id, "", base, custom, 1))).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
            assert!(refused.body.contains("client_secret"), "{}", refused.body);
            assert!(
                refused.body.contains(app::credentials::REENTER_MESSAGE),
                "{}",
                refused.body
            );
        }
        assert!(
            seen.lock().unwrap().is_empty(),
            "{:?}",
            seen.lock().unwrap()
        );
        assert_eq!(
            stored(&b.db, &harness::test_master_key()).await,
            Some((ID_A.into(), secret('a'), "global".into())),
            "nothing was saved"
        );
        // With the secret entered again the change is saved, and only then tested there.
        let resaved = send(
            &state,
            save(save_body(ID_A, &secret('b'), "custom", &stub_url, 1)),
        )
        .await;
        assert_eq!(resaved.status, StatusCode::OK, "{}", resaved.body);
        let requests = seen.lock().unwrap().clone();
        assert_eq!(requests.len(), 1, "{requests:?}");
        assert!(requests[0].contains(&secret('b')) && !requests[0].contains(&secret('a')));
        task.abort();
    }));
}

#[test]
fn a_row_whose_api_or_client_id_was_changed_in_the_database_no_longer_opens() {
    harness::block_on(harness::each_backend(|b| async move {
        let key = harness::test_master_key();
        let (stub, seen, task) = listen_recorder().await;
        let tester = Tester {
            standin_graphql: false,
            self_root: "http://127.0.0.1:9/api".into(),
            timeout: Duration::from_secs(2),
            policy: policy(),
        };
        service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_A, &secret('c'), "global", "", 0),
            &policy(),
        )
        .await
        .unwrap();
        for (column, value) in [
            (creds::Column::BaseUrl, format!("http://{stub}/api")),
            (creds::Column::ClientId, ID_B.to_string()),
        ] {
            let original = creds::Entity::find_by_id(service::RECORD_ID)
                .one(&b.db)
                .await
                .unwrap()
                .unwrap();
            creds::Entity::update_many()
                .col_expr(column, sea_orm::sea_query::Expr::value(value))
                .exec(&b.db)
                .await
                .unwrap();
            let err = service::test_stored(&b.db, &key, &operator(), &tester)
                .await
                .unwrap_err();
            assert_eq!(
                err,
                AppError::Conflict(app::credentials::MISMATCH_MESSAGE.into())
            );
            assert_eq!(err.status_code(), 409);
            let view = service::load_checked(&b.db, &key).await.unwrap().unwrap();
            assert!(!view.secret_matches);
            let back: creds::ActiveModel = original.into();
            back.reset_all().update(&b.db).await.unwrap();
            assert!(
                service::load_checked(&b.db, &key)
                    .await
                    .unwrap()
                    .unwrap()
                    .secret_matches
            );
        }
        assert!(
            seen.lock().unwrap().is_empty(),
            "{:?}",
            seen.lock().unwrap()
        );
        task.abort();
    }));
}

#[test]
fn rows_sealed_before_the_binding_are_resealed_once_at_start() {
    harness::block_on(harness::each_backend(|b| async move {
        let key = harness::test_master_key();
        service::save(
            &b.db,
            &key,
            &operator(),
            &form(ID_A, &secret('d'), "us", "", 0),
            &policy(),
        )
        .await
        .unwrap();
        // As an earlier version sealed it: bound to the row alone.
        let legacy = || {
            key.seal(secret('d').as_bytes(), "xray_credentials:1:client_secret")
                .unwrap()
        };
        let set_sealed = |sealed: String| {
            creds::Entity::update_many()
                .col_expr(
                    creds::Column::SecretSealed,
                    sea_orm::sea_query::Expr::value(sealed),
                )
                .exec(&b.db)
        };
        set_sealed(legacy()).await.unwrap();
        assert!(service::read_stored(&b.db, &key).await.is_err());
        assert_eq!(service::upgrade_binding(&b.db, &key).await.unwrap(), 1);
        assert_eq!(stored(&b.db, &key).await.unwrap().1, secret('d'));
        // Once: a legacy value written later is not adopted.
        set_sealed(legacy()).await.unwrap();
        assert_eq!(service::upgrade_binding(&b.db, &key).await.unwrap(), 0);
        assert_eq!(
            service::read_stored(&b.db, &key).await.err(),
            Some(AppError::Conflict(
                app::credentials::MISMATCH_MESSAGE.into()
            ))
        );
    }));
}

// ---- no request forgery through the connection test --------------------------------------

#[test]
fn private_and_plain_http_hosts_not_listed_are_refused_before_anything_is_sent() {
    harness::block_on(harness::each_backend(|b| async move {
        let key = harness::test_master_key();
        let (stub, seen, task) = listen_recorder().await;
        let port = stub.rsplit(':').next().unwrap().to_string();
        let unlisted = HostPolicy::new(&[], &["127.0.0.1:3000".into()]);
        // At save: plain http, and private addresses written as numbers, name the URL field.
        for url in [
            format!("http://{stub}/api"),
            format!("https://{stub}/api"),
            "https://10.0.0.8/api".to_string(),
            "https://[fd00::8]/api".to_string(),
            "https://169.254.169.254/api".to_string(),
        ] {
            let err = service::save(
                &b.db,
                &key,
                &operator(),
                &form(ID_A, &secret('e'), "custom", &url, 0),
                &unlisted,
            )
            .await
            .unwrap_err();
            assert!(err.field_message("custom_url").is_some(), "{url}: {err:?}");
        }
        assert!(service::load(&b.db).await.unwrap().is_none());
        // At test time: a name that resolves to loopback (this machine's own name) is refused
        // after the lookup, without a connection.
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim()
            .to_string();
        let tester = Tester {
            standin_graphql: false,
            self_root: "http://127.0.0.1:3000/api".into(),
            timeout: Duration::from_secs(2),
            policy: unlisted,
        };
        let outcome = tester
            .test(
                &BaseUrl::Custom(format!("https://{host}:{port}/api")),
                ID_A,
                &XraySecret::new(secret('e')),
            )
            .await;
        assert!(
            matches!(outcome, Outcome::NotAllowed { ref detail } if detail.contains("private, loopback")),
            "{host}: {outcome:?}"
        );
        assert_eq!(outcome.badge(), "Host not allowed");
        assert!(
            seen.lock().unwrap().is_empty(),
            "{:?}",
            seen.lock().unwrap()
        );
        // Listed by the operator, the same stub is reached.
        let listed = Tester {
            standin_graphql: false,
            policy: HostPolicy::new(&[format!("127.0.0.1:{port}")], &[]),
            ..tester
        };
        let outcome = listed
            .test(
                &BaseUrl::Custom(format!("http://{stub}/api")),
                ID_A,
                &XraySecret::new(secret('e')),
            )
            .await;
        assert_eq!(outcome, Outcome::InvalidCredentials);
        assert_eq!(seen.lock().unwrap().len(), 1);
        task.abort();
    }));
}

#[test]
fn a_server_holding_a_rotated_master_key_refuses_to_seal_under_it() {
    harness::block_on(harness::each_backend(|b| async move {
        let old = harness::test_master_key();
        app::vault::write_canary(&b.db, &old).await.unwrap();
        service::save(
            &b.db,
            &old,
            &operator(),
            &form(ID_A, &secret('1'), "global", "", 0),
            &policy(),
        )
        .await
        .unwrap();
        let new = MasterKey::new([5u8; 32]);
        app::vault::rotate_master_key(&b.db, &old, &new)
            .await
            .unwrap();
        // This "server" still holds the old key.
        let err = service::save(
            &b.db,
            &old,
            &operator(),
            &form(ID_A, &secret('2'), "global", "", 1),
            &policy(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, AppError::Conflict(ref m) if m.contains("Restart")),
            "{err:?}"
        );
        assert_eq!(stored(&b.db, &new).await.unwrap().1, secret('1'));
        service::save(
            &b.db,
            &new,
            &operator(),
            &form(ID_A, &secret('2'), "global", "", 1),
            &policy(),
        )
        .await
        .unwrap();
        assert_eq!(stored(&b.db, &new).await.unwrap().1, secret('2'));
    }));
}

#[test]
fn the_setup_token_reaches_no_log_line_and_an_untrusted_proxy_is_warned_about() {
    let capture = harness::logs::capture();
    let logs = capture.buffer();
    harness::block_on(harness::each_backend(|b| {
        let logs = logs.clone();
        async move {
            let state = harness::app_state_of(&b);
            let mut request = Request::get("/setup?token=SETUPTOKEN0123456789abcdef")
                .header(header::ACCEPT, "text/html")
                .header("x-forwarded-for", "198.51.100.4")
                .body(Body::empty())
                .unwrap();
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(SocketAddr::from((
                    [127, 0, 0, 1],
                    5555,
                ))));
            let sent = send(&state, request).await;
            assert!(sent.status.is_success(), "{}", sent.status);
            let raw = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
            // Without the terminal colours between a field's name and its value.
            let text = ["\u{1b}[0m", "\u{1b}[2m", "\u{1b}[3m"]
                .iter()
                .fold(raw, |t, code| t.replace(code, ""));
            assert!(
                text.contains("path=/setup"),
                "the request was traced: {text}"
            );
            assert!(!text.contains("SETUPTOKEN0123456789abcdef"), "{text}");
            assert!(text.contains("XRAY_KEYS_TRUST_PROXY is off"), "{text}");
        }
    }));
}

#[test]
fn with_the_standin_on_a_test_of_this_server_reads_through_its_graphql() {
    use app::standin::faults::{self, Fault, Target};
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, &[("XRAY_KEYS_XRAY_STANDIN", "on")]);
        let issued = key_for(&b.db, "revyz-backup-user").await;
        let (self_root, app_task) = listen_app(state).await;
        let tester = Tester {
            self_root,
            timeout: Duration::from_secs(5),
            policy: policy(),
            standin_graphql: true,
        };
        let right = XraySecret::new(issued.client_secret.clone());
        assert_eq!(
            tester
                .test(&BaseUrl::ThisServer, &issued.client_id, &right)
                .await,
            Outcome::Connected {
                as_user: Some("Backup Service (revyz-backup-user)".into())
            }
        );
        // The read really goes through the stand-in's GraphQL: a fault there is what it reports.
        faults::add(
            &b.db,
            Target::Graphql,
            Fault::ServerError,
            Some(1),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(
            tester
                .test(&BaseUrl::ThisServer, &issued.client_id, &right)
                .await,
            Outcome::Unexpected {
                status: 500,
                step: "the data read".into()
            }
        );
        app_task.abort();
    }));
}
