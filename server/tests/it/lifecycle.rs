//! An API key's lifecycle as the authentication API sees it: deactivation, expiry, a grace period
//! for the old secret after a regeneration, and the reason of the last failure — every rule with
//! an injected clock, on SQLite and PostgreSQL.

use crate::harness;
use crate::harness::key_for;

use app::api_keys::{service as keys, IssuedKey, KeyDetails, Selection};
use app::audit::service::Actor;
use app::entities::api_keys as rows;
use app::error::AppError;
use app::state::AppState;
use app::xray_api::service as api;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

/// The clock of these tests: whole seconds, which every database stores exactly.
fn whole_second() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// A token for `client_id` with `secret` at `now`, or the error the API answers.
async fn token_at(
    state: &AppState,
    client_id: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let body = serde_json::json!({ "client_id": client_id, "client_secret": secret }).to_string();
    let credentials = api::parse_credentials(Some("application/json"), body.as_bytes())?;
    api::authenticate(state, credentials, "10.7.0.1", now).await
}

async fn alive(state: &AppState, token: &str, now: DateTime<Utc>) -> bool {
    api::caller(state, token, now).await.is_ok()
}

async fn row(db: &DatabaseConnection, client_id: &str) -> rows::Model {
    rows::Entity::find()
        .filter(rows::Column::ClientId.eq(client_id))
        .one(db)
        .await
        .unwrap()
        .expect("the key exists")
}

async fn audit_count(db: &DatabaseConnection, action: &str) -> u64 {
    app::entities::audit_log::Entity::find()
        .filter(app::entities::audit_log::Column::Action.eq(action))
        .count(db)
        .await
        .unwrap()
}

fn one(key: &IssuedKey) -> Selection {
    Selection::Ids(vec![key.client_id.clone()])
}

#[test]
fn a_deactivated_key_is_refused_like_a_wrong_secret_and_its_tokens_die_for_good() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "deactivated").await;
        let now = whole_second();
        let token = token_at(&state, &key.client_id, &key.client_secret, now)
            .await
            .unwrap();
        assert!(alive(&state, &token, now).await);

        keys::set_active(&b.db, &Actor::cli(), &key.client_id, false, now)
            .await
            .unwrap();
        assert!(!alive(&state, &token, now).await, "tokens stop at once");
        assert_eq!(
            token_at(&state, &key.client_id, &key.client_secret, now).await,
            Err(AppError::InvalidCredentials),
            "the answer of a wrong secret"
        );
        let stored = row(&b.db, &key.client_id).await;
        assert!(!stored.is_active);
        assert_eq!(stored.deactivated_by.as_deref(), Some("cli"));
        assert_eq!(stored.last_failed_reason.as_deref(), Some("inactive"));

        // Deactivating again changes nothing and says so.
        let audits = audit_count(&b.db, app::audit::action::API_KEY_DEACTIVATE).await;
        let again = keys::set_active(&b.db, &Actor::cli(), &key.client_id, false, now).await;
        assert_eq!(
            again,
            Err(AppError::Conflict("API key was already inactive".into()))
        );
        assert_eq!(
            audit_count(&b.db, app::audit::action::API_KEY_DEACTIVATE).await,
            audits
        );

        // Reactivated: the secret works again; a token from before the deactivation stays dead.
        let later = now + Duration::seconds(2);
        keys::set_active(&b.db, &Actor::cli(), &key.client_id, true, later)
            .await
            .unwrap();
        let fresh = token_at(&state, &key.client_id, &key.client_secret, later)
            .await
            .unwrap();
        assert!(alive(&state, &fresh, later).await);
        assert!(!alive(&state, &token, later).await);
    }));
}

#[test]
fn an_expired_key_is_refused_and_its_tokens_die_at_the_expiry() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "expiring").await;
        let now = whole_second();
        let expiry = now + Duration::hours(2);
        keys::edit_details(
            &b.db,
            &Actor::cli(),
            &key.client_id,
            KeyDetails {
                description: "Jenkins CI".into(),
                expires_at: Some(expiry),
            },
            now,
        )
        .await
        .unwrap();
        let token = token_at(&state, &key.client_id, &key.client_secret, now)
            .await
            .unwrap();
        assert!(alive(&state, &token, expiry - Duration::seconds(1)).await);
        assert!(!alive(&state, &token, expiry).await, "dead at the expiry");
        assert_eq!(
            token_at(&state, &key.client_id, &key.client_secret, expiry).await,
            Err(AppError::InvalidCredentials)
        );
        let stored = row(&b.db, &key.client_id).await;
        assert_eq!(stored.description, "Jenkins CI");
        assert_eq!(stored.last_failed_reason.as_deref(), Some("expired"));
    }));
}

#[test]
fn during_a_grace_period_both_secrets_work_and_the_old_ones_tokens_die_when_it_ends() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "graceful").await;
        let now = whole_second();
        let old_token = token_at(&state, &key.client_id, &key.client_secret, now)
            .await
            .unwrap();
        let issued = keys::regenerate_with_grace(
            &b.db,
            &harness::test_hasher(),
            &Actor::cli(),
            one(&key),
            Duration::hours(1),
            now,
        )
        .await
        .unwrap();
        let new_secret = issued[0].client_secret.clone();
        let end = now + Duration::hours(1);
        let stored = row(&b.db, &key.client_id).await;
        assert_eq!(stored.previous_secret_expires_at, Some(end));

        // Both secrets authenticate; a token of the old one lives until the end.
        let by_old = token_at(&state, &key.client_id, &key.client_secret, now)
            .await
            .unwrap();
        let by_new = token_at(&state, &key.client_id, &new_secret, now)
            .await
            .unwrap();
        for token in [&old_token, &by_old, &by_new] {
            assert!(alive(&state, token, end - Duration::seconds(1)).await);
        }
        // At the end: the old secret and its tokens are refused, the new ones live.
        assert!(!alive(&state, &old_token, end).await);
        assert!(!alive(&state, &by_old, end).await);
        assert!(alive(&state, &by_new, end).await);
        assert_eq!(
            token_at(&state, &key.client_id, &key.client_secret, end).await,
            Err(AppError::InvalidCredentials)
        );
        assert_eq!(
            row(&b.db, &key.client_id)
                .await
                .last_failed_reason
                .as_deref(),
            Some("old_secret_expired")
        );
    }));
}

#[test]
fn at_most_two_secrets_live_and_the_old_one_can_be_revoked_at_once() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "twice").await;
        let now = whole_second();
        let (hasher, cli) = (harness::test_hasher(), Actor::cli());
        let regenerate = |grace: Duration| {
            keys::regenerate_with_grace(&b.db, &hasher, &cli, one(&key), grace, now)
        };
        let second = regenerate(Duration::hours(1)).await.unwrap()[0]
            .client_secret
            .clone();
        let third = regenerate(Duration::hours(1)).await.unwrap()[0]
            .client_secret
            .clone();
        // The first secret stopped when the second became the old one.
        assert_eq!(
            token_at(&state, &key.client_id, &key.client_secret, now).await,
            Err(AppError::InvalidCredentials)
        );
        let by_second = token_at(&state, &key.client_id, &second, now)
            .await
            .unwrap();
        assert!(token_at(&state, &key.client_id, &third, now).await.is_ok());

        keys::revoke_old_secret(&b.db, &Actor::cli(), &key.client_id, now)
            .await
            .unwrap();
        assert!(!alive(&state, &by_second, now).await);
        assert_eq!(
            token_at(&state, &key.client_id, &second, now).await,
            Err(AppError::InvalidCredentials)
        );
        assert_eq!(
            keys::revoke_old_secret(&b.db, &Actor::cli(), &key.client_id, now).await,
            Err(AppError::Conflict("No old secret is active".into()))
        );
        // Stopping immediately (as Xray) leaves no old secret at all.
        regenerate(Duration::zero()).await.unwrap();
        assert_eq!(row(&b.db, &key.client_id).await.previous_secret_hash, None);
    }));
}

#[test]
fn details_are_checked_and_trimmed() {
    harness::block_on(harness::each_backend(|b| async move {
        let key = key_for(&b.db, "detailed").await;
        let now = whole_second();
        let cli = Actor::cli();
        let edit = |description: String, expires_at: Option<DateTime<Utc>>| {
            keys::edit_details(
                &b.db,
                &cli,
                &key.client_id,
                KeyDetails {
                    description,
                    expires_at,
                },
                now,
            )
        };
        let field_error = |result: Result<(), AppError>| match result {
            Err(AppError::Validation { field, message }) => (field, message),
            other => panic!("a validation error, not {other:?}"),
        };
        assert_eq!(
            field_error(edit("x".repeat(201), None).await),
            (
                "description".to_string(),
                "At most 200 characters".to_string()
            )
        );
        assert_eq!(
            field_error(edit("bell\u{7}".into(), None).await).0,
            "description"
        );
        assert_eq!(
            field_error(edit(String::new(), Some(now - Duration::days(1))).await),
            (
                "expires_at".to_string(),
                "Choose a date after today".to_string()
            )
        );
        edit(format!("  {}  ", "y".repeat(200)), None)
            .await
            .unwrap();
        assert_eq!(
            row(&b.db, &key.client_id).await.description,
            "y".repeat(200)
        );
        let unknown = keys::edit_details(
            &b.db,
            &Actor::cli(),
            "0123456789ABCDEF0123456789ABCDEF",
            KeyDetails::default(),
            now,
        )
        .await;
        assert!(matches!(unknown, Err(AppError::NotFound(_))), "{unknown:?}");
    }));
}

#[test]
fn a_flood_of_failures_writes_the_reason_at_most_once_a_minute() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "flooded").await;
        let now = whole_second();
        let wrong = "0".repeat(64);
        for second in 0..5 {
            let at = now + Duration::seconds(second);
            assert_eq!(
                token_at(&state, &key.client_id, &wrong, at).await,
                Err(AppError::InvalidCredentials)
            );
        }
        let stored = row(&b.db, &key.client_id).await;
        assert_eq!(stored.last_failed_at, Some(now), "the first failure's time");
        assert_eq!(stored.last_failed_reason.as_deref(), Some("wrong_secret"));
        token_at(&state, &key.client_id, &wrong, now + Duration::seconds(61))
            .await
            .unwrap_err();
        assert_eq!(
            row(&b.db, &key.client_id).await.last_failed_at,
            Some(now + Duration::seconds(61))
        );
    }));
}

#[test]
fn the_keys_commands_deactivate_reactivate_regenerate_with_grace_and_edit() {
    use crate::harness::cli::{self, succeeded};
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| cli::run(dir.path(), args);
    let refused = |args: &[&str], message: &str| {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    };
    succeeded(run(&["users", "add", "ci-bot", "--name", "CI Bot"]));
    let out = succeeded(run(&[
        "keys",
        "create",
        "ci-bot",
        "--description",
        "Jenkins CI",
        "--expires-in",
        "30d",
        "--json",
    ]));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = key["client_id"].as_str().unwrap().to_string();

    succeeded(run(&["keys", "deactivate", &id]));
    refused(&["keys", "deactivate", &id], "API key was already inactive");
    succeeded(run(&["keys", "reactivate", &id]));
    let out = succeeded(run(&["keys", "regenerate", &id, "--grace", "1h"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("The old secrets keep working until"));
    succeeded(run(&["keys", "revoke-old-secret", &id]));
    refused(
        &["keys", "revoke-old-secret", &id],
        "No old secret is active",
    );
    refused(&["keys", "regenerate", &id, "--grace", "soon"], "--grace");
    refused(
        &["keys", "edit", &id, "--expires-at", "2001-01-01"],
        "Choose a date after today",
    );

    let listed = |dir: &std::path::Path| -> serde_json::Value {
        let out = succeeded(cli::run(dir, &["keys", "list", "--json"]));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let rows = listed(dir.path());
    assert_eq!(rows[0]["description"], "Jenkins CI");
    assert!(rows[0]["expires_at"].is_string(), "{rows}");
    assert_eq!(rows[0]["is_active"], true);
    succeeded(run(&[
        "keys",
        "edit",
        &id,
        "--never",
        "--description",
        "Nightly backup",
    ]));
    let rows = listed(dir.path());
    assert!(rows[0]["expires_at"].is_null(), "{rows}");
    assert_eq!(rows[0]["description"], "Nightly backup");

    // --status picks the keys in that state.
    succeeded(run(&["users", "add", "old-bot", "--name", "Old Bot"]));
    let out = succeeded(run(&["keys", "create", "old-bot", "--json"]));
    let old: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let old_id = old["client_id"].as_str().unwrap();
    succeeded(run(&["keys", "deactivate", old_id]));
    let only = |status: &str| -> Vec<String> {
        let out = succeeded(run(&["keys", "list", "--status", status, "--json"]));
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["user_key"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(only("inactive"), vec!["old-bot".to_string()]);
    assert_eq!(only("active"), vec!["ci-bot".to_string()]);
    assert_eq!(only("never-used").len(), 2);
    assert!(only("expired").is_empty());
    refused(&["keys", "list", "--status", "sleepy"], "--status");
}

#[test]
fn the_sweep_ends_grace_periods_and_records_each_event_once_under_one_lease() {
    use app::api_keys::sweep::{self, Swept};
    harness::block_on(harness::each_backend(|b| async move {
        let now = whole_second();
        let (hasher, cli) = (harness::test_hasher(), Actor::cli());
        let rolled = key_for(&b.db, "rolled").await;
        keys::regenerate_with_grace(&b.db, &hasher, &cli, one(&rolled), Duration::hours(1), now)
            .await
            .unwrap();
        let expire = |client_id: String, at: DateTime<Utc>| {
            let cli = cli.clone();
            let db = b.db.clone();
            async move {
                let details = KeyDetails {
                    description: String::new(),
                    expires_at: Some(at),
                };
                keys::edit_details(&db, &cli, &client_id, details, now)
                    .await
                    .unwrap();
            }
        };
        let soon = key_for(&b.db, "soon").await;
        expire(soon.client_id.clone(), now + Duration::days(2)).await;
        let gone = key_for(&b.db, "gone").await;
        expire(gone.client_id.clone(), now + Duration::hours(1)).await;
        harness::user(&b.db, "idle").await;
        keys::create_with_details(
            &b.db,
            &hasher,
            &cli,
            "idle",
            KeyDetails::default(),
            now - Duration::days(100),
        )
        .await
        .unwrap();

        let at = now + Duration::hours(2);
        let swept = sweep::sweep(&b.db, "one", at).await.unwrap();
        assert_eq!(
            swept,
            Some(Swept {
                old_secrets_ended: 1,
                expired: 1,
                expiring: 1,
                unused: 1,
            })
        );
        assert_eq!(
            row(&b.db, &rolled.client_id).await.previous_secret_hash,
            None
        );
        assert_eq!(
            audit_count(&b.db, app::audit::action::API_KEY_EXPIRED).await,
            1
        );
        assert_eq!(
            audit_count(&b.db, app::audit::action::API_KEY_OLD_SECRET_EXPIRED).await,
            1
        );
        // Each event once: the next run finds nothing new.
        assert_eq!(
            sweep::sweep(&b.db, "one", at).await.unwrap(),
            Some(Swept::default())
        );
        // Another instance waits while the lease runs, and takes over when it has run out.
        assert_eq!(
            sweep::sweep(&b.db, "two", at + Duration::minutes(1))
                .await
                .unwrap(),
            None
        );
        assert!(sweep::sweep(&b.db, "two", at + Duration::minutes(6))
            .await
            .unwrap()
            .is_some());
        // Inside a day of its expiry, the key is warned a second time.
        let late = now + Duration::days(1) + Duration::hours(1);
        let swept = sweep::sweep(&b.db, "two", late).await.unwrap().unwrap();
        assert_eq!(swept.expiring, 1);
    }));
}
