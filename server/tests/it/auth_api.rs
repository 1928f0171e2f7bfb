//! The Xray-compatible authentication API: every status it answers, token checks, revocation and
//! the signing key, on SQLite and PostgreSQL.

use crate::harness;
use crate::harness::{key_for, post_json, send, Answer};

use std::net::SocketAddr;

use app::api_keys::{service as keys, IssuedKey, Selection};
use app::audit::service::Actor;
use app::error::AppError;
use app::state::AppState;
use app::users::service as users;
use app::xray_api::service as api;
use app::xray_api::tokens::Claims;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{json, Value};

const INVALID_CREDENTIALS: &str = "Authentication failed. Invalid client credentials!";
const INVALID_TOKEN: &str = "The API token is not valid";

fn millis(n: u64) -> std::time::Duration {
    std::time::Duration::from_millis(n)
}

async fn authenticate(state: &AppState, id: &str, secret: &str) -> Answer {
    let body = json!({ "client_id": id, "client_secret": secret }).to_string();
    send(
        state,
        post_json("/api/v2/authenticate", body, [10, 0, 0, 1]),
    )
    .await
}

async fn token_for(state: &AppState, key: &IssuedKey) -> String {
    let answer = authenticate(state, &key.client_id, &key.client_secret).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    serde_json::from_str::<String>(&answer.body).expect("a bare JSON string")
}

async fn whoami(state: &AppState, authorization: Option<&str>) -> Answer {
    let mut request = Request::get("/api/v2/whoami");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    send(state, request.body(Body::empty()).unwrap()).await
}

fn segments(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    let decode = |s: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).expect("base64url")).expect("JSON")
    };
    (decode(parts[0]), decode(parts[1]))
}

#[test]
fn valid_credentials_get_an_hs256_token_as_a_bare_json_string_on_v1_and_v2() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "ci-bot").await;
        for path in ["/api/v2/authenticate", "/api/v1/authenticate"] {
            let body = json!({ "client_id": key.client_id, "client_secret": key.client_secret });
            let answer = send(&state, post_json(path, body.to_string(), [10, 0, 0, 2])).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
            assert!(answer.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json"));
            assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
            assert!(answer.body.starts_with("\"eyJ") && answer.body.ends_with('"'));
            let token: String = serde_json::from_str(&answer.body).unwrap();
            let (head, claims) = segments(&token);
            assert_eq!(head["alg"], "HS256");
            assert!(head["kid"].as_str().is_some_and(|k| k.len() == 16));
            assert_eq!(claims["iss"], key.client_id.as_str());
            assert_eq!(claims["aud"], key.client_id.as_str());
            assert_eq!(claims["sub"], "ci-bot");
            let iat = claims["iat"].as_i64().unwrap();
            assert_eq!(claims["exp"].as_i64().unwrap() - iat, 24 * 3600);
            assert!((iat - Utc::now().timestamp()).abs() < 600);
            assert!(!answer.body.contains(&key.client_secret));
        }
    }));
}

#[test]
fn unknown_ids_wrong_secrets_deleted_keys_and_deactivated_users_all_get_the_same_401() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let alive = key_for(&b.db, "alive").await;
        let deleted = key_for(&b.db, "deleted").await;
        let inactive = key_for(&b.db, "inactive").await;
        keys::delete(
            &b.db,
            &Actor::cli(),
            Selection::Ids(vec![deleted.client_id.clone()]),
        )
        .await
        .unwrap();
        let inactive_user =
            users::find_by_key(&b.db, &app::users::UserKey::parse("inactive").unwrap())
                .await
                .unwrap()
                .unwrap();
        users::set_active(&b.db, &Actor::cli(), None, inactive_user.id, false)
            .await
            .unwrap();

        let cases = [
            (
                "unknown id",
                "0123456789ABCDEF0123456789ABCDEF".to_string(),
                alive.client_secret.clone(),
            ),
            ("wrong secret", alive.client_id.clone(), "0".repeat(64)),
            (
                "secret in upper case",
                alive.client_id.clone(),
                alive.client_secret.to_uppercase(),
            ),
            (
                "deleted key",
                deleted.client_id.clone(),
                deleted.client_secret.clone(),
            ),
            (
                "deactivated user",
                inactive.client_id.clone(),
                inactive.client_secret.clone(),
            ),
        ];
        for (what, id, secret) in cases {
            let answer = authenticate(&state, &id, &secret).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}");
            assert_eq!(
                answer.json(),
                json!({ "error": INVALID_CREDENTIALS }),
                "{what}"
            );
        }
        // The right secret still works; a lower-case Client Id is the same id.
        let answer = authenticate(
            &state,
            &alive.client_id.to_lowercase(),
            &alive.client_secret,
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
    }));
}

#[test]
fn malformed_requests_get_400_naming_the_problem_and_big_bodies_413() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let id = "0123456789ABCDEF0123456789ABCDEF";
        let secret = "a".repeat(64);
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "application/json",
                "{\"client_id\":".into(),
                "not valid JSON",
            ),
            ("application/json", "".into(), "not valid JSON"),
            (
                "application/json",
                "\"just a string\"".into(),
                "JSON object",
            ),
            (
                "application/json",
                json!({ "client_secret": secret }).to_string(),
                "client_id is missing",
            ),
            (
                "application/json",
                json!({ "client_id": id }).to_string(),
                "client_secret is missing",
            ),
            (
                "application/json",
                json!({ "client_id": 12, "client_secret": secret }).to_string(),
                "client_id must be a string",
            ),
            (
                "application/json",
                json!({ "client_id": id, "client_secret": true }).to_string(),
                "client_secret must be a string",
            ),
            (
                "application/json",
                json!({ "client_id": "ABC", "client_secret": secret }).to_string(),
                "32 hexadecimal",
            ),
            (
                "application/json",
                json!({ "client_id": id, "client_secret": "xyz" }).to_string(),
                "64 hexadecimal",
            ),
            (
                "application/json",
                json!({ "client_id": id, "client_secret": "é".repeat(32) }).to_string(),
                "64 hexadecimal",
            ),
            (
                "text/plain",
                json!({ "client_id": id, "client_secret": secret }).to_string(),
                "Content-Type",
            ),
            (
                "application/x-www-form-urlencoded",
                format!("client_id={id}&client_secret={secret}"),
                "Content-Type",
            ),
        ];
        for (content_type, body, expected) in cases {
            let mut request = post_json("/api/v2/authenticate", body.clone(), [10, 0, 0, 3]);
            request
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
            let answer = send(&state, request).await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{body}: {}",
                answer.body
            );
            assert!(
                answer.error().contains(expected),
                "{body}: {}",
                answer.error()
            );
        }
        let huge = json!({ "client_id": id, "client_secret": secret, "pad": "x".repeat(10_000) });
        let answer = send(
            &state,
            post_json("/api/v2/authenticate", huge.to_string(), [10, 0, 0, 3]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(answer.error().contains("larger than"));
        // A body streamed without a length is cut off at the limit too.
        let stream = futures::stream::iter(
            (0..100).map(|_| Ok::<_, std::io::Error>(bytes_of(&"y".repeat(1000)))),
        );
        let answer = send(
            &state,
            post_json(
                "/api/v2/authenticate",
                Body::from_stream(stream),
                [10, 0, 0, 3],
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
        // Wrong method and unknown endpoints answer JSON too, never a page.
        let answer = send(
            &state,
            Request::get("/api/v2/authenticate")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(!answer.error().is_empty());
        let answer = send(
            &state,
            Request::get("/api/v2/nothing-here")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert!(!answer.error().is_empty());
    }));
}

fn bytes_of(s: &str) -> axum::body::Bytes {
    axum::body::Bytes::from(s.to_string())
}

#[test]
fn a_right_secret_always_authenticates_and_failures_are_limited_per_address() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "target").await;
        let right =
            json!({ "client_id": key.client_id, "client_secret": key.client_secret }).to_string();
        // A stranger who knows the Client Id (it is not secret) fails 50 times from one
        // address, past the limit: those failures are answered 429 with Retry-After…
        let wrong =
            json!({ "client_id": key.client_id, "client_secret": "1".repeat(64) }).to_string();
        for i in 0..50u32 {
            let answer = send(
                &state,
                post_json("/api/v2/authenticate", wrong.clone(), [10, 1, 0, 1]),
            )
            .await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        }
        let answer = send(
            &state,
            post_json("/api/v2/authenticate", wrong.clone(), [10, 1, 0, 1]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = answer.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry > 0 && retry <= 15 * 60);
        assert!(answer.error().contains("Too many attempts"));
        // …yet the owner's right secret works, from the attacker's address and from its own:
        // nobody can lock a CI job out by knowing its Client Id.
        for addr in [[10, 1, 0, 1], [10, 1, 1, 1]] {
            let answer = send(
                &state,
                post_json("/api/v2/authenticate", right.clone(), addr),
            )
            .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        }
        // Past the limit, failures cost reads, not writes: the counter stops where it was.
        let counted = app::entities::throttle::Entity::find_by_id("api-addr:10.1.0.1".to_string())
            .one(&b.db)
            .await
            .unwrap()
            .unwrap()
            .failures;
        assert_eq!(counted, 50);
        // Another address failing is counted on its own.
        let answer = send(
            &state,
            post_json("/api/v1/authenticate", wrong, [10, 2, 0, 2]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }));
}

#[test]
fn whoami_answers_the_user_a_token_acts_for() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "revyz-backup-user").await;
        let token = token_for(&state, &key).await;
        let answer = whoami(&state, Some(&format!("Bearer {token}"))).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(
            answer.json(),
            json!({ "user_key": "revyz-backup-user", "display_name": "Name of revyz-backup-user", "client_id": key.client_id })
        );
        // Clients that keep the quotes of the JSON string still work.
        let answer = whoami(&state, Some(&format!("Bearer \"{token}\""))).await;
        assert_eq!(answer.status, StatusCode::OK);
    }));
}

#[test]
fn missing_malformed_and_forged_tokens_get_401() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "victim").await;
        let token = token_for(&state, &key).await;
        let (head, claims) = segments(&token);
        let parts: Vec<&str> = token.split('.').collect();
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());

        // The real signing key, read as an attacker who stole it would not have it, to prove
        // that even a correctly keyed token with another algorithm is refused.
        let signing_key = stored_signing_key(&b.db).await;
        let mut hs512 = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512);
        hs512.kid = head["kid"].as_str().map(str::to_string);
        let hs512_token = jsonwebtoken::encode(
            &hs512,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&signing_key),
        )
        .unwrap();
        let mut other_user = claims.clone();
        other_user["sub"] = json!("admin");
        let mut none_head = head.clone();
        none_head["alg"] = json!("none");
        let mut tampered_sig = parts[2].to_string();
        let first = if tampered_sig.starts_with('A') {
            "B"
        } else {
            "A"
        };
        tampered_sig.replace_range(0..1, first);

        let cases: Vec<(&str, Option<String>)> = vec![
            ("no header", None),
            ("empty", Some(String::new())),
            ("not bearer", Some(format!("Basic {token}"))),
            ("garbage", Some("Bearer not-a-token".into())),
            (
                "two parts",
                Some(format!("Bearer {}.{}", parts[0], parts[1])),
            ),
            (
                "tampered signature",
                Some(format!("Bearer {}.{}.{}", parts[0], parts[1], tampered_sig)),
            ),
            (
                "claims changed",
                Some(format!(
                    "Bearer {}.{}.{}",
                    parts[0],
                    b64(&other_user),
                    parts[2]
                )),
            ),
            (
                "alg none",
                Some(format!("Bearer {}.{}.", b64(&none_head), parts[1])),
            ),
            (
                "alg none with signature",
                Some(format!(
                    "Bearer {}.{}.{}",
                    b64(&none_head),
                    parts[1],
                    parts[2]
                )),
            ),
            (
                "HS512 with the right key",
                Some(format!("Bearer {hs512_token}")),
            ),
            ("huge", Some(format!("Bearer {}", "a".repeat(10_000)))),
        ];
        for (what, value) in cases {
            let answer = whoami(&state, value.as_deref()).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}");
            assert_eq!(answer.json(), json!({ "error": INVALID_TOKEN }), "{what}");
            assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Bearer", "{what}");
        }
        // A token signed with some other key (a kid this server never had).
        let mut foreign = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        foreign.kid = Some("00112233aabbccdd".into());
        let foreign_token = jsonwebtoken::encode(
            &foreign,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&[1u8; 32]),
        )
        .unwrap();
        let answer = whoami(&state, Some(&format!("Bearer {foreign_token}"))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        // The genuine token still works after all that.
        let answer = whoami(&state, Some(&format!("Bearer {token}"))).await;
        assert_eq!(answer.status, StatusCode::OK);
    }));
}

async fn stored_signing_key(db: &DatabaseConnection) -> Vec<u8> {
    let row = app::entities::settings::Entity::find_by_id(
        app::xray_api::tokens::SIGNING_KEY_SETTING.to_string(),
    )
    .one(db)
    .await
    .unwrap()
    .expect("a signing key is stored");
    assert!(
        app::vault::is_sealed(&row.value),
        "the signing key is stored encrypted"
    );
    let plain = harness::test_master_key()
        .open(
            &row.value,
            &app::vault::settings_record(app::xray_api::tokens::SIGNING_KEY_SETTING),
        )
        .unwrap();
    let text = String::from_utf8(plain).unwrap();
    hex::decode(text.split_once(':').unwrap().1).unwrap()
}

#[test]
fn tokens_expire_after_24_hours_by_the_injected_clock() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "clocked").await;
        let issued_at = Utc::now() - Duration::days(3);
        let credentials = api::parse_credentials(
            Some("application/json"),
            json!({ "client_id": key.client_id, "client_secret": key.client_secret })
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        let token = api::authenticate(&state, credentials, "10.9.9.9", issued_at)
            .await
            .unwrap();
        let at = |d: Duration| api::caller(&state, &token, issued_at + d);
        assert_eq!(at(Duration::zero()).await.unwrap().user_key, "clocked");
        assert!(at(Duration::hours(24) - Duration::seconds(1)).await.is_ok());
        assert_eq!(
            at(Duration::hours(24)).await,
            Err(AppError::Unauthenticated)
        );
        assert_eq!(at(Duration::days(2)).await, Err(AppError::Unauthenticated));
        // Issued in the future (a clock far ahead) is not accepted either.
        assert_eq!(
            at(-Duration::minutes(5)).await,
            Err(AppError::Unauthenticated)
        );
        // And over HTTP, with the real clock, that three-day-old token is dead.
        let answer = whoami(&state, Some(&format!("Bearer {token}"))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }));
}

#[test]
fn deleting_regenerating_or_deactivating_revokes_tokens_at_once() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let hasher = harness::test_hasher();
        let alive = |token: String| {
            let state = state.clone();
            async move {
                whoami(&state, Some(&format!("Bearer {token}")))
                    .await
                    .status
            }
        };

        let deleted = key_for(&b.db, "to-delete").await;
        let token = token_for(&state, &deleted).await;
        assert_eq!(alive(token.clone()).await, StatusCode::OK);
        keys::delete(
            &b.db,
            &Actor::cli(),
            Selection::Ids(vec![deleted.client_id.clone()]),
        )
        .await
        .unwrap();
        assert_eq!(alive(token).await, StatusCode::UNAUTHORIZED, "deleted key");

        let regenerated = key_for(&b.db, "to-regenerate").await;
        let token = token_for(&state, &regenerated).await;
        let fresh = keys::regenerate(
            &b.db,
            &hasher,
            &Actor::cli(),
            Selection::Ids(vec![regenerated.client_id.clone()]),
        )
        .await
        .unwrap();
        assert_eq!(
            alive(token).await,
            StatusCode::UNAUTHORIZED,
            "regenerated key"
        );
        let old_secret =
            authenticate(&state, &regenerated.client_id, &regenerated.client_secret).await;
        assert_eq!(old_secret.status, StatusCode::UNAUTHORIZED);
        let new_token = token_for(&state, &fresh[0]).await;
        assert_eq!(
            alive(new_token).await,
            StatusCode::OK,
            "the new secret works"
        );

        let deactivated = key_for(&b.db, "to-deactivate").await;
        let token = token_for(&state, &deactivated).await;
        let user = users::find_by_key(&b.db, &app::users::UserKey::parse("to-deactivate").unwrap())
            .await
            .unwrap()
            .unwrap();
        users::set_active(&b.db, &Actor::cli(), None, user.id, false)
            .await
            .unwrap();
        assert_eq!(
            alive(token.clone()).await,
            StatusCode::UNAUTHORIZED,
            "deactivated user"
        );
        users::set_active(&b.db, &Actor::cli(), None, user.id, true)
            .await
            .unwrap();
        assert_eq!(
            alive(token).await,
            StatusCode::UNAUTHORIZED,
            "reactivation does not bring back the tokens issued before"
        );
        let fresh = token_for(&state, &deactivated).await;
        assert_eq!(
            alive(fresh).await,
            StatusCode::OK,
            "reactivated: the key's secret still works"
        );
    }));
}

#[test]
fn the_signing_key_is_shared_through_the_database_and_rotation_revokes_every_token() {
    harness::block_on(harness::each_backend(|b| async move {
        // Two instances on one database (or one instance before and after a restart).
        let first = harness::app_state_of(&b);
        let second = harness::app_state_of(&b);
        let key = key_for(&b.db, "shared").await;
        let token = token_for(&first, &key).await;
        assert_eq!(
            whoami(&second, Some(&format!("Bearer {token}")))
                .await
                .status,
            StatusCode::OK
        );
        let token_from_second = token_for(&second, &key).await;
        assert_eq!(
            segments(&token).0["kid"],
            segments(&token_from_second).0["kid"]
        );

        // Rotation through a third party (the CLI) reaches both instances on their next request.
        let cli = app::xray_api::tokens::TokenKeys::new(harness::test_master_key());
        let kid = cli.rotate(&b.db).await.unwrap();
        for state in [&first, &second] {
            let answer = whoami(state, Some(&format!("Bearer {token}"))).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        }
        let fresh = token_for(&first, &key).await;
        assert_eq!(segments(&fresh).0["kid"], kid.as_str());
        assert_eq!(
            whoami(&second, Some(&format!("Bearer {fresh}")))
                .await
                .status,
            StatusCode::OK
        );
    }));
}

#[test]
fn a_use_is_recorded_as_last_used_at_most_once_a_minute() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "user-of-key").await;
        let last_used = || async {
            app::entities::api_keys::Entity::find()
                .filter(app::entities::api_keys::Column::ClientId.eq(key.client_id.as_str()))
                .one(&b.db)
                .await
                .unwrap()
                .unwrap()
                .last_used_at
        };
        assert_eq!(last_used().await, None);
        let recorder = app::xray_api::last_used::LastUsed::default();
        let t0 = Utc::now();
        recorder
            .touch(&b.db, &key.client_id, t0)
            .expect("first use is written")
            .await
            .unwrap();
        let first = last_used().await.expect("recorded");
        assert!((first - t0).num_milliseconds().abs() < 1000);
        assert!(recorder
            .touch(&b.db, &key.client_id, t0 + Duration::seconds(30))
            .is_none());
        recorder
            .touch(&b.db, &key.client_id, t0 + Duration::seconds(61))
            .expect("a minute later it is written again")
            .await
            .unwrap();
        assert!(last_used().await.unwrap() > first);

        // Through the API, the page's "last used" fills in (written in the background).
        let other = key_for(&b.db, "api-user").await;
        token_for(&state, &other).await;
        let recorded = harness::eventually(100, millis(20), async || {
            app::entities::api_keys::Entity::find()
                .filter(app::entities::api_keys::Column::ClientId.eq(other.client_id.as_str()))
                .one(&b.db)
                .await
                .unwrap()
                .unwrap()
                .last_used_at
                .is_some()
        })
        .await;
        assert!(recorded, "authenticate records the use");
        let page = keys::list(
            &b.db,
            app::api_keys::KeyQuery {
                filter: Default::default(),
                search: "api-user".into(),
                page: 1,
                per_page: 10,
                start: None,
            },
        )
        .await
        .unwrap();
        assert!(
            page.keys[0].last_used_at.is_some(),
            "the API Keys page shows it"
        );
    }));
}

#[test]
fn the_openapi_document_describes_every_endpoint_the_server_answers() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let answer = send(
            &state,
            Request::get("/api/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        let doc = answer.json();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 3);
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                let request = Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(format!("/api{path}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{}"))
                    .unwrap();
                let answer = send(&state, request).await;
                let documented = item[method]["responses"]
                    .as_object()
                    .unwrap()
                    .contains_key(answer.status.as_str());
                assert!(
                    documented,
                    "{method} {path} answered {} which is not documented",
                    answer.status
                );
            }
        }
    }));
}

#[test]
fn unknown_ids_do_the_same_verification_work_as_known_ones() {
    // Not a timing test: it checks that an unknown id is verified against a decoy of the
    // configured scheme, so the work done is the same.
    for scheme in [
        app::api_keys::secret::HashScheme::HmacSha256,
        app::api_keys::secret::HashScheme::Argon2id,
    ] {
        let hasher = app::api_keys::secret::SecretHasher::new(
            scheme,
            app::api_keys::secret::Pepper::new(vec![3u8; 32]).unwrap(),
        );
        let decoy = hasher.decoy();
        let real = hasher
            .hash(&app::api_keys::secret::ClientSecret::generate().unwrap())
            .unwrap();
        let prefix = |s: &str| s.split('$').take(3).collect::<Vec<_>>().join("$");
        assert_eq!(prefix(&decoy), prefix(&real), "{scheme:?}");
        assert!(!hasher.verify(&"0".repeat(64), &decoy));
    }
}

#[test]
fn claims_round_trip_through_serde() {
    let claims = Claims {
        iss: "A".repeat(32),
        sub: "user".into(),
        aud: "A".repeat(32),
        iat: 1,
        exp: 86_401,
        r#gen: 2,
    };
    let text = serde_json::to_string(&claims).unwrap();
    assert!(text.contains("\"gen\":2"));
    assert_eq!(serde_json::from_str::<Claims>(&text).unwrap(), claims);
}

/// Runs the Node client in `tests/clients` against `base` and returns its one-line report.
fn node_client(base: &str, id: &str, secret: &str) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/clients/xray_client.mjs"
    );
    let out = std::process::Command::new("node")
        .arg(script)
        .env("XRAY_BASE_URL", base)
        .env("XRAY_CLIENT_ID", id)
        .env("XRAY_CLIENT_SECRET", secret)
        .output()
        .expect("node is installed (the end-to-end tests need it too)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

#[test]
fn a_node_client_written_like_xray_client_libraries_authenticates_and_calls_whoami() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "node-client").await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                server::serve::router(state).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        let (id, secret) = (key.client_id.clone(), key.client_secret.clone());
        let base_ok = base.clone();
        let report = tokio::task::spawn_blocking(move || node_client(&base_ok, &id, &secret))
            .await
            .unwrap();
        assert_eq!(report["authenticate"], 200, "{report}");
        assert_eq!(report["whoami"], 200, "{report}");
        assert_eq!(report["user"]["user_key"], "node-client");
        let id = key.client_id.clone();
        let report = tokio::task::spawn_blocking(move || node_client(&base, &id, &"0".repeat(64)))
            .await
            .unwrap();
        assert_eq!(report["authenticate"], 401);
        assert_eq!(report["error"], INVALID_CREDENTIALS);
        server.abort();
    }));
}

/// `whoami` answers from a per-instance cache on SQLite; a change committed by another process
/// (the command line, here the real binary) still revokes at once.
#[test]
fn a_warm_owner_cache_never_outlives_a_change_made_by_another_process() {
    harness::block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = app::config::DatabaseUrl::sqlite_file(&dir.path().join("cache.db"));
        let db = app::db::connect(&url).await.unwrap();
        <migrations::Migrator as migrations::MigratorTrait>::up(&db, None)
            .await
            .unwrap();
        let backend = harness::Backend {
            db: db.clone(),
            kind: app::config::DatabaseKind::Sqlite,
            url: url.clone(),
        };
        let state = harness::app_state_of(&backend);
        let key = key_for(&db, "cached-user").await;
        let token = token_for(&state, &key).await;
        let bearer = format!("Bearer {token}");
        // Authenticating records the key's last use in the background; that commit would end
        // the cache entry, so let it land first.
        harness::eventually(500, millis(20), async || {
            app::entities::api_keys::Entity::find()
                .filter(app::entities::api_keys::Column::ClientId.eq(&key.client_id))
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .last_used_at
                .is_some()
        })
        .await;
        assert_eq!(whoami(&state, Some(&bearer)).await.status, StatusCode::OK);
        // Warm: the next request would be answered from memory.
        assert!(state
            .owners
            .get(&key.client_id, state.owners.stamp())
            .is_some());
        assert_eq!(whoami(&state, Some(&bearer)).await.status, StatusCode::OK);

        let other = key_for(&db, "cached-other").await;
        let other_bearer = format!("Bearer {}", token_for(&state, &other).await);
        assert_eq!(
            whoami(&state, Some(&other_bearer)).await.status,
            StatusCode::OK
        );

        let (db_url, data_dir) = (url.expose().to_string(), dir.path().to_path_buf());
        let cli = move |args: Vec<String>| {
            let (db_url, data_dir) = (db_url.clone(), data_dir.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    // The pepper the keys were made with (harness::test_hasher).
                    let pepper = "2a".repeat(32);
                    let vars = [
                        ("DATABASE_URL", db_url.as_str()),
                        (
                            "XRAY_KEYS_DATA_DIR",
                            data_dir.to_str().expect("a UTF-8 path"),
                        ),
                        ("XRAY_KEYS_PEPPER", pepper.as_str()),
                    ];
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    harness::cli::succeeded(harness::cli::run_with(
                        std::path::Path::new("."),
                        &args,
                        &vars,
                    ));
                })
                .await
                .unwrap();
            }
        };
        cli(vec![
            "users".into(),
            "deactivate".into(),
            "cached-user".into(),
        ])
        .await;
        assert_eq!(
            whoami(&state, Some(&bearer)).await.status,
            StatusCode::UNAUTHORIZED,
            "the first request after the other process committed is refused"
        );
        assert_eq!(
            whoami(&state, Some(&other_bearer)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            whoami(&state, Some(&other_bearer)).await.status,
            StatusCode::OK
        );
        cli(vec![
            "keys".into(),
            "delete".into(),
            other.client_id.clone(),
        ])
        .await;
        assert_eq!(
            whoami(&state, Some(&other_bearer)).await.status,
            StatusCode::UNAUTHORIZED
        );
        db.close().await.unwrap();
    });
}

/// On PostgreSQL each instance caches `whoami` answers while its change listener is connected;
/// a key deleted through another instance (or any other writer) reaches it as a notification
/// from the database's trigger, and from then on the token is refused.
#[test]
fn on_postgresql_a_change_notification_ends_the_cached_answers_of_every_instance() {
    harness::block_on(harness::each_backend(|b| async move {
        if b.kind != app::config::DatabaseKind::Postgres {
            return;
        }
        let first = harness::app_state_of(&b);
        let second = harness::app_state_of(&b);
        app::xray_api::owners::spawn_change_listener(&second.db, second.change_feed.clone());
        harness::eventually(200, millis(25), async || second.change_feed.is_live()).await;
        assert!(second.change_feed.is_live(), "the listener connects");
        let key = key_for(&b.db, "pg-cached").await;
        let bearer = format!("Bearer {}", token_for(&first, &key).await);
        // Creating the key was a change too, whose notification may still be on its way: ask
        // until an answer stays cached.
        let cached = harness::eventually(100, millis(20), async || {
            assert_eq!(whoami(&second, Some(&bearer)).await.status, StatusCode::OK);
            second
                .owners
                .get(&key.client_id, second.owners.stamp())
                .is_some()
        })
        .await;
        assert!(cached, "the answer is cached while nothing changes");
        let before = second.change_feed.epoch();
        keys::delete(
            &first.db,
            &Actor::cli(),
            Selection::Ids(vec![key.client_id.clone()]),
        )
        .await
        .unwrap();
        let arrived = harness::eventually(200, millis(10), async || {
            second.change_feed.epoch() != before
        })
        .await;
        let refused =
            arrived && whoami(&second, Some(&bearer)).await.status == StatusCode::UNAUTHORIZED;
        assert!(refused, "the notification arrived and the token is refused");
    }));
}
