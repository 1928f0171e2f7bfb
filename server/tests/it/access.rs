//! Access control, CSRF refusal and sign-in over HTTP, through the real router.

use crate::harness;
use crate::harness::page;

use app::users::Role;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use leptos::server_fn::ServerFn;
use sea_orm::DatabaseConnection;
use tower::ServiceExt;

const PASSWORD: &str = harness::TEST_PASSWORD;

/// `request` through the router on `db`, and the body on its own for the assertions' messages.
async fn send(db: &DatabaseConnection, request: Request<Body>) -> (harness::Answer, String) {
    let answer = harness::send(&harness::app_state(db.clone()), request).await;
    let body = answer.body.clone();
    (answer, body)
}

fn server_fn(path: &str, cookie: Option<&str>, form: &str) -> axum::http::request::Builder {
    let mut builder = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "127.0.0.1:3000");
    if let Some(c) = cookie {
        builder = builder.header(header::COOKIE, c);
    }
    let _ = form;
    builder
}

#[test]
fn a_signed_out_visitor_is_sent_to_sign_in_and_back() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let (response, body) = send(&b.db, page("/users?q=ad", None)).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            let location = response.headers()[header::LOCATION].to_str().unwrap();
            assert_eq!(location, "/login?next=/users%3Fq%3Dad");
            assert_eq!(body, "", "nothing of the page");
            // Every page that needs a session, and an expired or made-up cookie alike.
            for path in app::SIGNED_IN_PAGES {
                for cookie in [None, Some(format!("xk_session={}", "ab".repeat(32)))] {
                    let (response, body) = send(&b.db, page(path, cookie.as_deref())).await;
                    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
                    assert_eq!(body, "", "{path}");
                }
            }
        })
        .await;
    });
}

#[test]
fn a_user_without_the_role_gets_a_403_page() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let cookie = harness::signed_in(&b.db, "operator", vec![Role::BackupOperator]).await;
            for path in ["/users", "/audit"] {
                let (response, body) = send(&b.db, page(path, Some(&cookie))).await;
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
                assert!(
                    body.contains("You don&#x27;t have access")
                        || body.contains("You don't have access"),
                    "{body}"
                );
            }
        })
        .await;
    });
}

#[test]
fn an_administrator_sees_the_users_page() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let cookie = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let (response, body) = send(&b.db, page("/users", Some(&cookie))).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert!(
                body.contains("admin name"),
                "the table is rendered on the server"
            );
        })
        .await;
    });
}

#[test]
fn server_functions_check_the_callers_role() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let path = app::users::ListUsers::PATH;
            let body = "search=&page=1&per_page=10";
            let request = |cookie: Option<&str>| {
                server_fn(path, cookie, body)
                    .body(Body::from(body))
                    .unwrap()
            };

            let (response, text) = send(&b.db, request(None)).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{text}");
            assert!(text.contains("Unauthenticated"));

            let operator = harness::signed_in(&b.db, "operator", vec![Role::BackupOperator]).await;
            let (response, _) = send(&b.db, request(Some(&operator))).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN);

            let admin = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let (response, text) = send(&b.db, request(Some(&admin))).await;
            assert_eq!(response.status(), StatusCode::OK, "{text}");
            assert!(text.contains("\"user_key\":\"admin\""));
        })
        .await;
    });
}

#[test]
fn cross_site_posts_are_refused() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let admin = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let path = app::users::ListUsers::PATH;
            let body = "search=&page=1&per_page=10";
            let cases = [
                ("origin", "http://evil.example", StatusCode::FORBIDDEN),
                ("sec-fetch-site", "cross-site", StatusCode::FORBIDDEN),
                ("sec-fetch-site", "same-site", StatusCode::FORBIDDEN),
                ("origin", "http://127.0.0.1:3000", StatusCode::OK),
                ("sec-fetch-site", "same-origin", StatusCode::OK),
            ];
            for (name, value, expected) in cases {
                let request = server_fn(path, Some(&admin), body)
                    .header(name, value)
                    .body(Body::from(body))
                    .unwrap();
                let (response, text) = send(&b.db, request).await;
                assert_eq!(response.status(), expected, "{name}: {value}: {text}");
            }
        })
        .await;
    });
}

#[test]
fn sign_in_sets_a_strict_http_only_cookie_and_cycles_the_session() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let old_cookie = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let old_token = old_cookie.trim_start_matches("xk_session=").to_string();
            let body = format!(
                "user_key=admin&password={}&next=%2Fusers",
                PASSWORD.replace(' ', "+")
            );
            let request = server_fn(app::auth::Login::PATH, Some(&old_cookie), &body)
                .body(Body::from(body.clone()))
                .unwrap();
            let (response, text) = send(&b.db, request).await;
            assert!(
                response.status().is_success() || response.status().is_redirection(),
                "{text}"
            );
            let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
            assert!(cookie.starts_with("xk_session="), "{cookie}");
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
                assert!(cookie.contains(attribute), "{cookie}");
            }
            assert!(!cookie.contains(&old_token), "a new id at sign-in");
            let old_alive = app::auth::session::lookup(&b.db, &old_token, chrono::Utc::now())
                .await
                .unwrap();
            assert!(old_alive.is_none(), "the old session ended");
        })
        .await;
    });
}

/// The sign-in page is served without the client: its form posts as a plain HTML form, a wrong
/// password comes back to the sign-in page with the message in its address, and the right one
/// (sent from that page) signs in and leads on to where the visitor was going.
#[test]
fn the_sign_in_form_works_without_a_script() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let (shown, body) = send(&b.db, page("/login?next=%2Fusers", None)).await;
            assert_eq!(shown.status(), StatusCode::OK);
            // Only the stylesheet is fetched: no module, no WASM (the page's few inline
            // `<script>`s are the framework's resource data, which nothing reads).
            assert_eq!(body.matches("/pkg/").count(), 1, "{body}");
            assert!(body.contains("rel=\"stylesheet\" href=\"/pkg/"), "{body}");
            assert!(
                !body.contains("modulepreload") && !body.contains("import("),
                "{body}"
            );
            assert!(
                body.contains(&format!("action=\"{}\"", app::auth::Login::PATH)),
                "{body}"
            );

            const SITE: &str = "http://127.0.0.1:3000";
            let post = |password: &str, from: &str| {
                let form = format!(
                    "user_key=admin&password={}&next=%2Fusers",
                    password.replace(' ', "+")
                );
                server_fn(app::auth::Login::PATH, None, &form)
                    .header(header::ACCEPT, "text/html,application/xhtml+xml")
                    .header(header::ORIGIN, SITE)
                    .header(header::REFERER, format!("{SITE}{from}"))
                    .body(Body::from(form))
                    .unwrap()
            };
            let location = |answer: &harness::Answer| {
                let to = answer.headers()[header::LOCATION].to_str().unwrap();
                to.strip_prefix(SITE).unwrap_or(to).to_string()
            };

            let (wrong, text) = send(&b.db, post("not the password", "/login?next=%2Fusers")).await;
            assert_eq!(wrong.status(), StatusCode::FOUND, "{text}");
            assert!(wrong.headers().get(header::SET_COOKIE).is_none());
            let back = location(&wrong);
            assert!(back.starts_with("/login?next=%2Fusers&"), "{back}");
            let (shown, body) = send(&b.db, page(&back, None)).await;
            assert_eq!(shown.status(), StatusCode::OK);
            assert!(
                body.contains("The user key or password is wrong."),
                "{body}"
            );

            let (right, text) = send(&b.db, post(PASSWORD, &back)).await;
            assert_eq!(right.status(), StatusCode::FOUND, "{text}");
            assert_eq!(
                location(&right),
                "/login?next=%2Fusers",
                "the old error left behind"
            );
            let cookie = right.headers()[header::SET_COOKIE].to_str().unwrap();
            let cookie = cookie.split(';').next().unwrap().to_string();
            let (onward, text) = send(&b.db, page("/login?next=%2Fusers", Some(&cookie))).await;
            assert_eq!(onward.status(), StatusCode::SEE_OTHER, "{text}");
            assert_eq!(location(&onward), "/users");
        })
        .await;
    });
}

#[test]
fn over_https_the_session_cookie_is_host_prefixed_and_secure() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let state = harness::app_state_with(
                &b,
                &[("XRAY_KEYS_PUBLIC_URL", "https://keys.example.com")],
            );
            harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let body = format!(
                "user_key=admin&password={}&next=%2F",
                PASSWORD.replace(' ', "+")
            );
            let request = server_fn(app::auth::Login::PATH, None, &body)
                .body(Body::from(body.clone()))
                .unwrap();
            let response = server::serve::router(state.clone())
                .oneshot(request)
                .await
                .unwrap();
            let cookie = response.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .to_string();
            assert!(cookie.starts_with("__Host-xk_session="), "{cookie}");
            for attribute in ["; Secure", "Path=/", "HttpOnly"] {
                assert!(cookie.contains(attribute), "{cookie}");
            }
            assert!(!cookie.contains("Domain"), "{cookie}");
            let token = cookie
                .trim_start_matches("__Host-xk_session=")
                .split(';')
                .next()
                .unwrap()
                .to_string();
            let status_with = |cookie: String| {
                let state = state.clone();
                async move {
                    server::serve::router(state)
                        .oneshot(page("/users", Some(&cookie)))
                        .await
                        .unwrap()
                        .status()
                }
            };
            assert_eq!(
                status_with(format!("__Host-xk_session={token}")).await,
                StatusCode::OK
            );
            // The unprefixed name (which another site or plain http could set) is not read.
            assert_eq!(
                status_with(format!("xk_session={token}")).await,
                StatusCode::SEE_OTHER
            );
        })
        .await;
    });
}

#[test]
fn throttled_sign_in_answers_429_with_retry_after() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let mut last = None;
            for _ in 0..6 {
                let body = "user_key=admin&password=wrong-password&next=%2F";
                let request = server_fn(app::auth::Login::PATH, None, body)
                    .body(Body::from(body))
                    .unwrap();
                last = Some(send(&b.db, request).await);
            }
            let (response, text) = last.unwrap();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{text}");
            let retry: u64 = response.headers()[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry > 0);
        })
        .await;
    });
}

#[test]
fn malformed_server_function_input_is_a_400_not_a_500() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let admin = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let cases = [
                (
                    app::users::ListUsers::PATH,
                    "search=&page=notanumber&per_page=10",
                ),
                (app::users::SetUserActive::PATH, "id=1"),
                (app::users::SetUserActive::PATH, "id=abc&active=true"),
            ];
            for (path, body) in cases {
                let request = server_fn(path, Some(&admin), body)
                    .body(Body::from(body))
                    .unwrap();
                let (response, text) = send(&b.db, request).await;
                assert_eq!(
                    response.status(),
                    StatusCode::BAD_REQUEST,
                    "{path} {body}: {text}"
                );
            }
            let body = "id=999999&active=false";
            let request = server_fn(app::users::SetUserActive::PATH, Some(&admin), body)
                .body(Body::from(body))
                .unwrap();
            let (response, _) = send(&b.db, request).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "an unknown id");
        })
        .await;
    });
}

#[test]
fn api_key_server_functions_are_for_administrators_and_never_cache_secrets() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let operator = harness::signed_in(&b.db, "operator", vec![Role::BackupOperator]).await;
            let admin = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let path = app::api_keys::CreateApiKey::PATH;
            let body = "user_key=operator";
            let (response, _) = send(
                &b.db,
                server_fn(path, Some(&operator), body)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            let (response, text) = send(
                &b.db,
                server_fn(path, Some(&admin), body)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
            assert_eq!(response.status(), StatusCode::OK, "{text}");
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
            assert!(text.contains("client_secret"));

            // Bulk functions take JSON; malformed JSON and unknown variants are 400s.
            let path = app::api_keys::DeleteApiKeys::PATH;
            for body in [
                "{not json",
                r#"{"selection":{"Everything":true}}"#,
                r#"{"selection":{"Ids":"x"}}"#,
            ] {
                let request = Request::post(path)
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::HOST, "127.0.0.1:3000")
                    .header(header::COOKIE, &admin)
                    .body(Body::from(body))
                    .unwrap();
                let (response, text) = send(&b.db, request).await;
                assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}: {text}");
            }
            let (response, _) = send(&b.db, page("/api-keys", Some(&operator))).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            let (response, html) = send(&b.db, page("/api-keys", Some(&admin))).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert!(html.contains("API Key of operator") && html.contains("*****"));
        })
        .await;
    });
}

/// Posts `body` (form-encoded, or JSON when it starts with `{`) to a server function.
async fn call(
    db: &DatabaseConnection,
    path: &str,
    cookie: &str,
    body: &str,
) -> (StatusCode, String) {
    let content_type = if body.starts_with('{') {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::COOKIE, cookie)
        .body(Body::from(body.to_string()))
        .unwrap();
    let (response, text) = send(db, request).await;
    (response.status(), text)
}

#[test]
fn the_lifecycle_and_policy_functions_are_for_administrators_and_refuse_bad_choices_clearly() {
    harness::block_on(async {
        harness::each_backend(|b| async move {
            let operator = harness::signed_in(&b.db, "operator", vec![Role::BackupOperator]).await;
            let admin = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
            let key = harness::key_for(&b.db, "life-http").await;
            let id = key.client_id.as_str();
            let all = r#"{"selection":{"AllMatching":{"search":"life-http","filter":"All","expected":1}},"change":"Deactivate"}"#;
            let calls: Vec<(&str, String)> = vec![
                (app::api_keys::ListApiKeys::PATH, "search=&page=1&per_page=10&filter=expiring".into()),
                (app::api_keys::EditApiKey::PATH, format!("client_id={id}&description=x&expires=never")),
                (app::api_keys::SetApiKeyActive::PATH, format!("client_id={id}&active=false")),
                (app::api_keys::RevokeOldSecret::PATH, format!("client_id={id}")),
                (app::api_keys::RegenerateApiKey::PATH, format!("client_id={id}&seen_generation=1")),
                (app::api_keys::ChangeApiKeys::PATH, all.into()),
                (app::key_policy::GetKeyPolicy::PATH, String::new()),
                (app::key_policy::PreviewPolicyMaximum::PATH, String::new()),
                (app::key_policy::ApplyPolicyMaximum::PATH, "expected=0".into()),
                (
                    app::key_policy::SaveKeyPolicy::PATH,
                    r#"{"policy":{"default_expiry_days":null,"max_lifetime_days":null,"warn_days":[7,1],"unused_days":90}}"#.into(),
                ),
            ];
            for (path, body) in &calls {
                let (status, text) = call(&b.db, path, &operator, body).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {text}");
            }
            // A wrong choice is a 400 that says what to choose; nothing changes.
            let bad: Vec<(&str, String, &str)> = vec![
                (app::api_keys::ListApiKeys::PATH, "search=&page=1&per_page=10&filter=sleepy".into(), "Show one of the listed choices"),
                (app::api_keys::ListApiKeys::PATH, "search=&page=2&per_page=10&after=a&before=b".into(), "not both"),
                (app::api_keys::ListApiKeys::PATH, format!("search=&page=2&per_page=10&after={}", "k".repeat(256)), "not one this list made"),
                (app::api_keys::EditApiKey::PATH, format!("client_id={id}&description=x&expires=soonish"), "Choose when the key expires"),
                (app::api_keys::EditApiKey::PATH, format!("client_id={id}&description=x&expires=2020-01-01"), "Choose a date after today"),
                (app::api_keys::EditApiKey::PATH, format!("client_id={id}&description={}&expires=never", "x".repeat(201)), "At most 200 characters"),
                (app::api_keys::RegenerateApiKey::PATH, format!("client_id={id}&seen_generation=1&grace_hours=100000"), "Keep the old secret working for at most 30 days"),
                (app::api_keys::RegenerateApiKey::PATH, format!("client_id={id}&seen_generation=abc"), ""),
                (app::api_keys::ChangeApiKeys::PATH, r#"{"selection":{"Ids":[]},"change":"Explode"}"#.into(), ""),
                (app::key_policy::SaveKeyPolicy::PATH, r#"{"policy":{"default_expiry_days":45,"max_lifetime_days":null,"warn_days":[7],"unused_days":90}}"#.into(), "Choose Never, 30, 90, 180 or 365 days"),
            ];
            for (path, body, message) in &bad {
                let (status, text) = call(&b.db, path, &admin, body).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {text}");
                assert!(text.contains(message), "{path} {body}: {text}");
            }
            // A stale generation: the other administrator's regeneration is named (409).
            let (status, _) = call(&b.db, app::api_keys::RegenerateApiKey::PATH, &admin, &format!("client_id={id}&seen_generation=1")).await;
            assert_eq!(status, StatusCode::OK);
            let (status, text) = call(&b.db, app::api_keys::RegenerateApiKey::PATH, &admin, &format!("client_id={id}&seen_generation=1")).await;
            assert_eq!(status, StatusCode::CONFLICT, "{text}");
            assert!(text.contains("admin regenerated this Client Secret at"), "{text}");
            // Unknown keys are 404s.
            let (status, _) = call(&b.db, app::api_keys::SetApiKeyActive::PATH, &admin, &format!("client_id={}&active=false", "F".repeat(32))).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            let (response, _) = send(&b.db, page("/api-key-policy", Some(&operator))).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            let (response, html) = send(&b.db, page("/api-key-policy", Some(&admin))).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert!(html.contains("Default expiry for new keys"));
        })
        .await;
    });
}

#[test]
fn the_standin_page_is_for_administrators_and_only_while_the_standin_is_on() {
    harness::block_on(harness::each_backend(|b| async move {
        let on = harness::app_state_with(&b, &[("XRAY_KEYS_XRAY_STANDIN", "on")]);
        let off = harness::app_state_of(&b);
        let operator = harness::signed_in(&b.db, "operator", vec![Role::BackupOperator]).await;
        let admin = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
        let ask = |cookie: &str| {
            harness::server_fn_request(
                app::standin::api::GetStandinOverview::PATH,
                cookie,
                "page=1".into(),
            )
        };
        assert_eq!(
            harness::send(&on, ask(&operator)).await.status,
            StatusCode::FORBIDDEN
        );
        let answer = harness::send(&on, ask(&admin)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert!(
            answer.body.contains("Standard: 300 requests per 5 minutes"),
            "{}",
            answer.body
        );
        let answer = harness::send(&off, ask(&admin)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
        assert!(
            answer.body.contains("The Xray stand-in is off."),
            "{}",
            answer.body
        );
        // A page number past the end shows the last page, not an error.
        let far = harness::server_fn_request(
            app::standin::api::GetStandinOverview::PATH,
            &admin,
            "page=999999".into(),
        );
        assert!(harness::send(&on, far).await.body.contains("\"page\":1"));
        let wrong = harness::server_fn_request(
            app::standin::api::GetStandinOverview::PATH,
            &admin,
            "page=minus".into(),
        );
        assert_eq!(
            harness::send(&on, wrong).await.status,
            StatusCode::BAD_REQUEST
        );

        let page_for = |cookie: &str| page("/xray-standin", Some(cookie));
        assert_eq!(
            harness::send(&on, page_for(&operator)).await.status,
            StatusCode::FORBIDDEN
        );
        let shown = harness::send(&on, page_for(&admin)).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(
            shown.body.contains("Simulation."),
            "the page says what it is"
        );
        assert!(
            shown.body.contains("href=\"/xray-standin\""),
            "in the navigation while on"
        );
        let shown_off = harness::send(&off, page_for(&admin)).await;
        assert!(
            !shown_off.body.contains("href=\"/xray-standin\""),
            "not in it while off"
        );
    }));
}

/// The data a page hands to the browser for hydration: each `__RESOLVED_RESOURCES[n] = "…"`.
fn hydration_payloads(html: &str) -> Vec<&str> {
    html.split("__RESOLVED_RESOURCES[")
        .skip(1)
        .filter_map(|entry| entry.split_once("] = \""))
        .filter_map(|(_, rest)| rest.split_once("\";").map(|(payload, _)| payload))
        .collect()
}

/// Leptos walks a `<Suspense>`'s children up to three times on the server before it renders
/// them, so a resource created inside the role guard was read, and shipped, three times (the
/// API Keys page's 100 rows: three list reads and 140 KB of hydration data instead of 47 KB).
#[test]
fn every_page_reads_and_ships_its_data_once() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, &[("XRAY_KEYS_XRAY_STANDIN", "on")]);
        app::api_keys::service::seed(&b.db, &harness::test_hasher(), 0, 25)
            .await
            .unwrap();
        let admin = harness::signed_in(&b.db, "admin", vec![Role::Administrator]).await;
        let pages = app::SIGNED_IN_PAGES
            .iter()
            .copied()
            .chain(["/api-key-policy"]);
        for path in pages {
            let answer = harness::send(&state, page(path, Some(&admin))).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}");
            let payloads = hydration_payloads(&answer.body);
            // The signed-in user, and at least the page's own data.
            assert!(payloads.len() >= 2, "{path}: {payloads:?}");
            let mut seen = std::collections::HashSet::new();
            for payload in &payloads {
                assert!(seen.insert(*payload), "{path} ships this twice: {payload}");
            }
        }
        let keys = harness::send(&state, page("/api-keys?size=100", Some(&admin))).await;
        let listed = hydration_payloads(&keys.body)
            .iter()
            .filter(|p| p.contains("seed-000024"))
            .count();
        assert_eq!(listed, 1, "the list is read and shipped once");
    }));
}
