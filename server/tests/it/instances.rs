//! Two real server processes on one database (SQLite file and PostgreSQL): what one does, the
//! other honours on its next request.

use crate::harness;

use app::api_keys::secret::{HashScheme, Pepper, SecretHasher};
use harness::process::{request, Response, Server};
use leptos::server_fn::ServerFn;

const PEPPER: &str = "1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f";
const MASTER_KEY: &str = "2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e";

/// Blocking work (the HTTP client, starting servers) off the test's async workers.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    blocking(|| request(port, "POST", path, headers, body)).expect("an answer")
}

fn whoami(port: u16, token: &str) -> Response {
    let bearer = format!("Bearer {token}");
    blocking(|| {
        request(
            port,
            "GET",
            "/api/v2/whoami",
            &[("Authorization", &bearer)],
            "",
        )
    })
    .expect("an answer")
}

fn authenticate(port: u16, client_id: &str, secret: &str) -> Response {
    post(
        port,
        "/api/v2/authenticate",
        &[("Content-Type", "application/json")],
        &format!(r#"{{"client_id":"{client_id}","client_secret":"{secret}"}}"#),
    )
}

/// The first page of API Keys through the ListApiKeys server function, as `cookie`'s user.
fn list_keys(port: u16, cookie: &str) -> Response {
    post(
        port,
        app::api_keys::ListApiKeys::PATH,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
            ("Cookie", cookie),
        ],
        "search=&page=1&per_page=10",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_deleted_on_one_instance_is_refused_by_the_other_and_sessions_are_shared() {
    harness::each_backend(|backend| async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let hasher = SecretHasher::new(
            HashScheme::HmacSha256,
            Pepper::from_hex(PEPPER).expect("pepper"),
        );
        let cli = app::audit::service::Actor::cli();
        let user = app::users::NewUser {
            user_key: "shared-user".into(),
            display_name: "Shared User".into(),
            email: String::new(),
            roles: vec![],
        };
        app::users::service::create_user(&backend.db, &cli, user, None)
            .await
            .expect("user");
        let issued = app::api_keys::service::create(&backend.db, &hasher, &cli, "shared-user")
            .await
            .expect("key");
        // An administrator with a password; the session comes from signing in on one server.
        harness::signed_in(&backend.db, "admin", vec![app::users::Role::Administrator]).await;

        let url = backend.url.expose().to_string();
        let vars = [
            ("DATABASE_URL", url.as_str()),
            ("XRAY_KEYS_PEPPER", PEPPER),
            ("XRAY_KEYS_MASTER_KEY", MASTER_KEY),
            ("XRAY_KEYS_DATA_DIR", "data"),
        ];
        let (one, other) = blocking(|| {
            (
                Server::start(dir.path(), &vars),
                Server::start(dir.path(), &vars),
            )
        });

        // A session started on one instance works on the other.
        let sign_in = format!(
            "user_key=admin&password={}&next=%2F",
            harness::TEST_PASSWORD.replace(' ', "+")
        );
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        let json = ("Accept", "application/json");
        let signed = post(one.port, app::auth::Login::PATH, &[form, json], &sign_in);
        let cookie = signed
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("a session cookie: {} {}", signed.status, signed.body))
            .to_string();
        let listing = list_keys(other.port, &cookie);
        assert_eq!(listing.status, 200, "{}", listing.body);
        assert!(listing.body.contains(&issued.client_id), "{}", listing.body);

        // Both instances know the key and have served its token (and cached its owner).
        let token = authenticate(one.port, &issued.client_id, &issued.client_secret);
        assert_eq!(token.status, 200, "{}", token.body);
        let token: String = serde_json::from_str(&token.body).expect("a JSON string token");
        for port in [one.port, other.port] {
            for _ in 0..3 {
                let answer = whoami(port, &token);
                assert_eq!(answer.status, 200, "{}", answer.body);
                assert!(answer.body.contains("shared-user"), "{}", answer.body);
            }
        }

        // Deleted through one: the other refuses the token and the secret on its next request.
        let body = serde_json::json!({ "selection": { "Ids": [issued.client_id] } }).to_string();
        let deleted = post(
            one.port,
            app::api_keys::DeleteApiKeys::PATH,
            &[
                ("Content-Type", "application/json"),
                json,
                ("Cookie", &cookie),
            ],
            &body,
        );
        assert_eq!(deleted.status, 200, "{}", deleted.body);
        // SQLite: at once (the other process sees the commit in the shared WAL index).
        // PostgreSQL: once the change notification reaches the other instance, which under a
        // loaded machine can be a moment after the delete's answer (see `xray_api::owners`).
        let patience = match backend.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => std::time::Duration::from_secs(5),
            _ => std::time::Duration::ZERO,
        };
        let deadline = std::time::Instant::now() + patience;
        let refused = loop {
            let answer = whoami(other.port, &token);
            if answer.status == 401 || std::time::Instant::now() >= deadline {
                break answer;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(refused.status, 401, "{}", refused.body);
        let refused = authenticate(other.port, &issued.client_id, &issued.client_secret);
        assert_eq!(refused.status, 401, "{}", refused.body);

        // Signing out on the other instance ends the session on the first.
        let out = post(
            other.port,
            app::auth::Logout::PATH,
            &[form, json, ("Cookie", &cookie)],
            "",
        );
        assert!(out.status < 400, "{} {}", out.status, out.body);
        let after = list_keys(one.port, &cookie);
        assert_eq!(after.status, 401, "{}", after.body);
        drop((one, other));
    })
    .await;
}

/// A token minted with an old secret, and every token of an expiring key, die on both instances
/// when the grace period ends or the key expires: no request to either server is needed for it,
/// and neither instance's whoami cache keeps a dead token alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_die_on_every_instance_at_the_end_of_a_grace_period_and_at_expiry() {
    harness::each_backend(|backend| async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let hasher = SecretHasher::new(
            HashScheme::HmacSha256,
            Pepper::from_hex(PEPPER).expect("pepper"),
        );
        let cli = app::audit::service::Actor::cli();
        for user_key in ["grace-user", "expiry-user"] {
            harness::user(&backend.db, user_key).await;
        }
        let graced = app::api_keys::service::create(&backend.db, &hasher, &cli, "grace-user")
            .await
            .expect("key");
        let expiring = app::api_keys::service::create(&backend.db, &hasher, &cli, "expiry-user")
            .await
            .expect("key");
        let url = backend.url.expose().to_string();
        let vars = [
            ("DATABASE_URL", url.as_str()),
            ("XRAY_KEYS_PEPPER", PEPPER),
            ("XRAY_KEYS_MASTER_KEY", MASTER_KEY),
            ("XRAY_KEYS_DATA_DIR", "data"),
        ];
        let (one, other) = blocking(|| {
            (
                Server::start(dir.path(), &vars),
                Server::start(dir.path(), &vars),
            )
        });
        let token_of = |port: u16, key: &app::api_keys::IssuedKey| {
            let answer = authenticate(port, &key.client_id, &key.client_secret);
            assert_eq!(answer.status, 200, "{}", answer.body);
            serde_json::from_str::<String>(&answer.body).expect("a JSON string token")
        };
        let old_token = token_of(one.port, &graced);
        let expiring_token = token_of(other.port, &expiring);

        // A grace period of three seconds and an expiry three seconds away, set in the database
        // as another instance (or the command line) would.
        let now = chrono::Utc::now();
        let renewed = app::api_keys::service::regenerate_with_grace(
            &backend.db,
            &hasher,
            &cli,
            app::api_keys::Selection::Ids(vec![graced.client_id.clone()]),
            chrono::Duration::seconds(3),
            now,
        )
        .await
        .expect("regenerate")
        .remove(0);
        app::api_keys::service::edit_details(
            &backend.db,
            &cli,
            &expiring.client_id,
            app::api_keys::KeyDetails {
                description: String::new(),
                expires_at: Some(now + chrono::Duration::seconds(3)),
            },
            now,
        )
        .await
        .expect("expiry");
        let new_token = token_of(other.port, &renewed);

        // Alive on both (and cached by both) until the end…
        for port in [one.port, other.port] {
            for token in [&old_token, &expiring_token, &new_token] {
                let answer = whoami(port, token);
                assert_eq!(answer.status, 200, "before the end: {}", answer.body);
            }
        }
        // …then refused by both, while the new secret's token lives on.
        let dead_everywhere =
            harness::eventually_blocking(100, std::time::Duration::from_millis(100), || {
                [one.port, other.port].iter().all(|port| {
                    whoami(*port, &old_token).status == 401
                        && whoami(*port, &expiring_token).status == 401
                })
            });
        assert!(
            dead_everywhere,
            "the old secret's and the expired key's tokens die on both"
        );
        for port in [one.port, other.port] {
            assert_eq!(whoami(port, &new_token).status, 200);
            assert_eq!(
                authenticate(port, &graced.client_id, &graced.client_secret).status,
                401,
                "the old secret itself is refused"
            );
            assert_eq!(
                authenticate(port, &expiring.client_id, &expiring.client_secret).status,
                401
            );
        }
    })
    .await;
}
