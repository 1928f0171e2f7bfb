//! Users, sign-in, sessions, throttling and the audit trail, on SQLite and PostgreSQL.

use crate::harness;
use crate::harness::person;

use app::audit::service::Actor;
use app::auth::{service as auth, session, throttle};
use app::error::AppError;
use app::users::{service as users, ImportOutcome, NewUser, Role};
use chrono::{Duration, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};

const PASSWORD: &str = harness::TEST_PASSWORD;

async fn audit_entries(db: &DatabaseConnection) -> Vec<app::entities::audit_log::Model> {
    app::entities::audit_log::Entity::find()
        .all(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_starts_a_session_that_identifies_the_user() {
    harness::each_backend(|b| async move {
        person(&b.db, "admin", vec![Role::Administrator], Some(PASSWORD)).await;
        let now = Utc::now();
        let (token, user) = auth::sign_in(&b.db, "ADMIN", PASSWORD.into(), "10.0.0.1", now)
            .await
            .expect("user keys compare without case");
        assert_eq!(user.user_key, "admin");
        assert_eq!(token.len(), 64, "256 bits as hex");
        let found = session::lookup(&b.db, &token, now).await.unwrap().unwrap();
        assert_eq!(found.id, user.id);
        // The table holds only a digest of the cookie value.
        let rows = app::entities::sessions::Entity::find()
            .all(&b.db)
            .await
            .unwrap();
        assert!(rows.iter().all(|r| r.id_hash != token));
    })
    .await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    harness::each_backend(|b| async move {
        person(&b.db, "admin", vec![Role::Administrator], Some(PASSWORD)).await;
        let now = Utc::now();
        let wrong = auth::sign_in(&b.db, "admin", "wrong password!".into(), "10.0.0.1", now)
            .await
            .unwrap_err();
        let unknown = auth::sign_in(&b.db, "nobody", PASSWORD.into(), "10.0.0.1", now)
            .await
            .unwrap_err();
        assert_eq!(wrong, AppError::InvalidCredentials);
        assert_eq!(unknown, AppError::InvalidCredentials);
        assert_eq!(wrong.to_string(), unknown.to_string());
        let failures: Vec<_> = audit_entries(&b.db)
            .await
            .into_iter()
            .filter(|e| e.action == "sign_in" && e.outcome == "failure")
            .collect();
        assert_eq!(failures.len(), 2);
        for entry in failures {
            let text = format!("{entry:?}");
            assert!(
                !text.contains("wrong password") && !text.contains(PASSWORD),
                "{text}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_right_password_without_a_console_role_gets_the_answer_of_a_wrong_one() {
    harness::each_backend(|b| async move {
        person(&b.db, "ci-bot", vec![], Some(PASSWORD)).await;
        let err = auth::sign_in(&b.db, "ci-bot", PASSWORD.into(), "10.0.0.1", Utc::now())
            .await
            .unwrap_err();
        let wrong = auth::sign_in(
            &b.db,
            "ci-bot",
            "not it at all".into(),
            "10.0.0.1",
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(err, AppError::InvalidCredentials);
        assert_eq!(err.to_string(), wrong.to_string());
        // The audit trail still tells the administrator why.
        let entries = audit_entries(&b.db).await;
        assert!(entries.iter().any(|e| e.outcome == "denied"
            && e.detail.as_deref() == Some("no console role")
            && e.actor == "ci-bot"));
    })
    .await;
}

#[tokio::test]
async fn an_unknown_user_key_is_audited_as_unknown_never_as_typed() {
    harness::each_backend(|b| async move {
        let typed = "Tr0ub4dor&3-typed-in-the-wrong-field";
        let _ = auth::sign_in(&b.db, typed, "x-password-x".into(), "10.0.0.1", Utc::now()).await;
        let entries = audit_entries(&b.db).await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].actor, "(unknown user)");
        assert!(!format!("{:?}", entries[0]).contains("Tr0ub4dor"));
    })
    .await;
}

#[tokio::test]
async fn failures_from_one_address_lock_only_that_address_out_of_the_account() {
    harness::each_backend(|b| async move {
        person(&b.db, "admin", vec![Role::Administrator], Some(PASSWORD)).await;
        let now = Utc::now();
        for _ in 0..throttle::ACCOUNT_ADDRESS_LIMIT.failures {
            let err = auth::sign_in(&b.db, "admin", "not the password".into(), "10.0.1.1", now)
                .await
                .unwrap_err();
            assert_eq!(err, AppError::InvalidCredentials);
        }
        // The right password from that address is refused until the window ends…
        let err = auth::sign_in(&b.db, "admin", PASSWORD.into(), "10.0.1.1", now)
            .await
            .unwrap_err();
        match err {
            AppError::TooManyRequests { retry_after_secs } => {
                assert!(retry_after_secs > 0 && retry_after_secs <= 15 * 60);
            }
            other => panic!("expected 429, got {other:?}"),
        }
        // …but from another address the account owner signs in: an attacker locks nobody out.
        auth::sign_in(&b.db, "admin", PASSWORD.into(), "10.9.9.9", now)
            .await
            .expect("another address is not locked out");
        let later = now + throttle::ACCOUNT_ADDRESS_LIMIT.window + Duration::seconds(1);
        auth::sign_in(&b.db, "admin", PASSWORD.into(), "10.0.1.1", later)
            .await
            .expect("the lock ends with its window");
    })
    .await;
}

#[tokio::test]
async fn failures_from_many_addresses_slow_the_account_down_but_never_lock_it() {
    harness::each_backend(|b| async move {
        person(&b.db, "admin", vec![Role::Administrator], Some(PASSWORD)).await;
        let now = Utc::now();
        let spread = throttle::ACCOUNT_SLOWDOWN.failures + 1;
        for i in 0..spread {
            let err = auth::sign_in(
                &b.db,
                "admin",
                "not the password".into(),
                &format!("10.0.2.{i}"),
                now,
            )
            .await
            .unwrap_err();
            assert_eq!(err, AppError::InvalidCredentials);
        }
        let started = std::time::Instant::now();
        auth::sign_in(&b.db, "admin", PASSWORD.into(), "10.9.9.9", now)
            .await
            .expect("the right password passes, slowed down");
        assert!(started.elapsed() >= throttle::slowdown(spread));
    })
    .await;
}

#[test]
fn the_slowdown_grows_with_each_failure_up_to_its_ceiling() {
    let at = |f: i32| throttle::slowdown(throttle::ACCOUNT_SLOWDOWN.failures + f);
    assert_eq!(throttle::slowdown(0), std::time::Duration::ZERO);
    assert_eq!(at(-1), std::time::Duration::ZERO);
    assert_eq!(at(0), std::time::Duration::from_millis(250));
    assert_eq!(at(1), std::time::Duration::from_millis(500));
    assert_eq!(at(3), std::time::Duration::from_secs(2));
    assert_eq!(at(40), throttle::SLOWDOWN_MAX);
}

#[tokio::test]
async fn forty_parallel_sign_ins_check_at_most_the_allowance() {
    harness::each_backend(|b| async move {
        person(&b.db, "admin", vec![Role::Administrator], Some(PASSWORD)).await;
        let now = Utc::now();
        let wrong: Vec<_> = (0..39)
            .map(|i| {
                let db = b.db.clone();
                tokio::spawn(async move {
                    auth::sign_in(&db, "admin", format!("wrong guess {i}"), "10.0.3.3", now).await
                })
            })
            .collect();
        // The right one arrives once the allowance is taken, while the wrong ones still run.
        let pair = throttle::account_address_bucket("admin", "10.0.3.3");
        let started = std::time::Instant::now();
        loop {
            let taken = app::entities::throttle::Entity::find_by_id(pair.clone())
                .one(&b.db)
                .await
                .unwrap()
                .map_or(0, |row| row.failures);
            if taken >= throttle::ACCOUNT_ADDRESS_LIMIT.failures {
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(30));
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let right = auth::sign_in(&b.db, "admin", PASSWORD.into(), "10.0.3.3", now).await;
        assert!(
            matches!(right, Err(AppError::TooManyRequests { .. })),
            "the right password past the limit is refused: {right:?}"
        );
        let mut refused = 0;
        for task in wrong {
            match task.await.unwrap() {
                Err(AppError::InvalidCredentials) => {}
                Err(AppError::TooManyRequests { .. }) => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        // Every checked password leaves an audit entry: no more were checked than allowed.
        let checked = audit_entries(&b.db)
            .await
            .into_iter()
            .filter(|e| e.action == "sign_in")
            .count();
        assert_eq!(checked, throttle::ACCOUNT_ADDRESS_LIMIT.failures as usize);
        assert_eq!(refused, 39 - checked);
    })
    .await;
}

#[tokio::test]
async fn ipv6_clients_are_counted_by_their_64_bit_prefix() {
    harness::each_backend(|b| async move {
        person(&b.db, "admin", vec![Role::Administrator], Some(PASSWORD)).await;
        let now = Utc::now();
        for i in 0..throttle::ACCOUNT_ADDRESS_LIMIT.failures {
            let addr = format!("2001:db8:1:2::{:x}", i + 1);
            let _ = auth::sign_in(&b.db, "admin", "not the password".into(), &addr, now).await;
        }
        let same_prefix =
            auth::sign_in(&b.db, "admin", PASSWORD.into(), "2001:db8:1:2:ffff::9", now).await;
        assert!(
            matches!(same_prefix, Err(AppError::TooManyRequests { .. })),
            "{same_prefix:?}"
        );
        auth::sign_in(&b.db, "admin", PASSWORD.into(), "2001:db8:1:3::1", now)
            .await
            .expect("another /64 is another client");
        assert_eq!(
            throttle::client_group("2001:db8:1:2:ffff::9"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(throttle::client_group("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(throttle::client_group("10.1.2.3"), "10.1.2.3");
    })
    .await;
}

#[tokio::test]
async fn unlocking_an_account_clears_its_counters_from_every_address() {
    harness::each_backend(|b| async move {
        person(
            &b.db,
            "ops_admin",
            vec![Role::Administrator],
            Some(PASSWORD),
        )
        .await;
        person(
            &b.db,
            "opsxadmin",
            vec![Role::Administrator],
            Some(PASSWORD),
        )
        .await;
        let now = Utc::now();
        for user in ["ops_admin", "opsxadmin"] {
            for _ in 0..throttle::ACCOUNT_ADDRESS_LIMIT.failures {
                let _ =
                    auth::sign_in(&b.db, user, "not the password".into(), "10.0.4.4", now).await;
            }
        }
        assert!(
            auth::sign_in(&b.db, "ops_admin", PASSWORD.into(), "10.0.4.4", now)
                .await
                .is_err()
        );
        let cleared = throttle::unlock_account(&b.db, "ops_admin").await.unwrap();
        assert_eq!(
            cleared, 2,
            "the (account, address) counter and the account-wide one"
        );
        auth::sign_in(&b.db, "ops_admin", PASSWORD.into(), "10.0.4.4", now)
            .await
            .expect("unlocked");
        // `_` in a user key is not a wildcard: the other account stays locked.
        assert!(
            auth::sign_in(&b.db, "opsxadmin", PASSWORD.into(), "10.0.4.4", now)
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn one_address_failing_across_accounts_is_throttled() {
    harness::each_backend(|b| async move {
        person(&b.db, "admin", vec![Role::Administrator], Some(PASSWORD)).await;
        let now = Utc::now();
        for i in 0..throttle::ADDRESS_LIMIT.failures {
            let _ = auth::sign_in(
                &b.db,
                &format!("guess{i}"),
                "x-password-x".into(),
                "10.6.6.6",
                now,
            )
            .await;
        }
        let err = auth::sign_in(&b.db, "admin", PASSWORD.into(), "10.6.6.6", now)
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::TooManyRequests { .. }), "{err:?}");
        auth::sign_in(&b.db, "admin", PASSWORD.into(), "10.7.7.7", now)
            .await
            .expect("another address is not affected");
    })
    .await;
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_limit() {
    harness::each_backend(|b| async move {
        let id = person(&b.db, "admin", vec![Role::Administrator], Some(PASSWORD)).await;
        let start = Utc::now();
        let idle = session::create(&b.db, id, start).await.unwrap();
        let idle_end = start + session::IDLE_TIMEOUT + Duration::seconds(1);
        assert!(session::lookup(&b.db, &idle, idle_end)
            .await
            .unwrap()
            .is_none());

        let busy = session::create(&b.db, id, start).await.unwrap();
        let mut t = start;
        while t + Duration::minutes(20) < start + session::ABSOLUTE_TIMEOUT {
            t += Duration::minutes(20);
            assert!(
                session::lookup(&b.db, &busy, t).await.unwrap().is_some(),
                "alive at {t}"
            );
        }
        let past = start + session::ABSOLUTE_TIMEOUT + Duration::seconds(1);
        assert!(session::lookup(&b.db, &busy, past).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn malformed_session_cookies_find_nothing() {
    harness::each_backend(|b| async move {
        for bad in [
            "",
            "abc",
            "'; DROP TABLE sessions; --",
            &"z".repeat(64),
            &"a".repeat(10_000),
        ] {
            assert!(session::lookup(&b.db, bad, Utc::now())
                .await
                .unwrap()
                .is_none());
        }
    })
    .await;
}

#[tokio::test]
async fn deactivation_and_password_changes_end_every_session() {
    harness::each_backend(|b| async move {
        let id = person(
            &b.db,
            "operator",
            vec![Role::BackupOperator],
            Some(PASSWORD),
        )
        .await;
        let now = Utc::now();
        let first = session::create(&b.db, id, now).await.unwrap();
        let second = session::create(&b.db, id, now).await.unwrap();
        users::set_password(&b.db, &Actor::cli(), id, "a brand new password".into())
            .await
            .unwrap();
        assert!(session::lookup(&b.db, &first, now).await.unwrap().is_none());
        assert!(session::lookup(&b.db, &second, now)
            .await
            .unwrap()
            .is_none());

        let third = session::create(&b.db, id, now).await.unwrap();
        users::set_active(&b.db, &Actor::cli(), None, id, false)
            .await
            .unwrap();
        assert!(session::lookup(&b.db, &third, now).await.unwrap().is_none());
        let err = auth::sign_in(
            &b.db,
            "operator",
            "a brand new password".into(),
            "10.0.0.1",
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err,
            AppError::InvalidCredentials,
            "inactive users cannot sign in"
        );
    })
    .await;
}

#[tokio::test]
async fn user_keys_are_unique_without_regard_to_case() {
    harness::each_backend(|b| async move {
        person(&b.db, "Revyz-Backup-User", vec![], None).await;
        let err = users::create_user(
            &b.db,
            &Actor::cli(),
            NewUser {
                user_key: "revyz-backup-user".into(),
                display_name: "Again".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, AppError::Conflict(ref m) if m.contains("already exists")),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn two_admins_creating_the_same_user_at_once_yield_one_user() {
    harness::each_backend(|b| async move {
        let make = |name: &'static str| {
            let db = b.db.clone();
            tokio::spawn(async move {
                users::create_user(
                    &db,
                    &Actor::cli(),
                    NewUser {
                        user_key: "racer".into(),
                        display_name: name.into(),
                        ..Default::default()
                    },
                    None,
                )
                .await
            })
        };
        let (a, c) = tokio::join!(make("A"), make("B"));
        let results = [a.unwrap(), c.unwrap()];
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(AppError::Conflict(_)))),
            "{results:?}"
        );
        let page = users::search(
            &b.db,
            app::users::UserQuery {
                search: "racer".into(),
                page: 1,
                per_page: 10,
            },
        )
        .await
        .unwrap();
        assert_eq!(page.total, 1);
    })
    .await;
}

#[tokio::test]
async fn import_reports_each_line_and_one_bad_line_stops_nothing() {
    harness::each_backend(|b| async move {
        person(&b.db, "admin", vec![Role::Administrator], None).await;
        let csv = "user_key,display_name,email,roles\n\
                   revyz-backup-user,Revyz Backup,backup@example.com,backup-operator\n\
                   admin,Already There,,\n\
                   bad key,Has Space,,\n\
                   jdoe,\"Doe, Jane\",not-an-email,\n\
                   ops,Ops,,administrator;backup-operator\n\
                   x,Unknown Role,,superuser\n\
                   onlyonefield\n";
        let outcomes = users::import(&b.db, &Actor::cli(), csv).await.unwrap();
        assert_eq!(outcomes[0], ImportOutcome::Created("revyz-backup-user".into()));
        assert_eq!(outcomes[1], ImportOutcome::Skipped("admin".into()));
        assert!(matches!(&outcomes[2], ImportOutcome::Rejected { line: 4, reason } if reason.contains("spaces")));
        assert!(matches!(&outcomes[3], ImportOutcome::Rejected { line: 5, reason } if reason.contains("e-mail")));
        assert_eq!(outcomes[4], ImportOutcome::Created("ops".into()));
        assert!(matches!(&outcomes[5], ImportOutcome::Rejected { line: 7, reason } if reason.contains("superuser")));
        assert!(matches!(&outcomes[6], ImportOutcome::Rejected { line: 8, .. }));
        let all = users::search(&b.db, app::users::UserQuery { search: String::new(), page: 1, per_page: 10 })
            .await
            .unwrap();
        assert_eq!(all.total, 3, "admin, revyz-backup-user, ops; no half-written users");
        let ops = all.users.iter().find(|u| u.user_key == "ops").unwrap();
        assert_eq!(ops.roles, vec![Role::Administrator, Role::BackupOperator]);

        let json = r#"[{"user_key":"j1","display_name":"J One","roles":["backup-operator"]},
                       {"user_key":"j2"},
                       {"user_key":5,"display_name":"x"}]"#;
        let outcomes = users::import(&b.db, &Actor::cli(), json).await.unwrap();
        assert_eq!(outcomes[0], ImportOutcome::Created("j1".into()));
        assert!(matches!(&outcomes[1], ImportOutcome::Rejected { reason, .. } if reason.contains("display_name")));
        assert!(matches!(&outcomes[2], ImportOutcome::Rejected { reason, .. } if reason.contains("string")));
        assert!(users::import(&b.db, &Actor::cli(), "[not json").await.is_err());
    })
    .await;
}

#[tokio::test]
async fn search_and_paging_run_in_the_database_and_check_their_input() {
    harness::each_backend(|b| async move {
        for i in 0..25 {
            person(&b.db, &format!("user{i:02}"), vec![], None).await;
        }
        person(&b.db, "percent%key", vec![], None).await;
        let q = |search: &str, page: u64, per_page: u64| app::users::UserQuery {
            search: search.into(),
            page,
            per_page,
        };
        let page2 = users::search(&b.db, q("user", 2, 10)).await.unwrap();
        assert_eq!((page2.total, page2.users.len()), (25, 10));
        assert_eq!(page2.users[0].user_key, "user10");
        let by_name = users::search(&b.db, q("USER07 NAME", 1, 10)).await.unwrap();
        assert_eq!(by_name.total, 1);
        let literal = users::search(&b.db, q("%", 1, 10)).await.unwrap();
        assert_eq!(literal.total, 1, "% is matched literally");
        // Past the end shows the last page, even for an absurd page number.
        for far in [99, u64::MAX] {
            let beyond = users::search(&b.db, q("user", far, 10)).await.unwrap();
            assert_eq!((beyond.page, beyond.users.len()), (3, 5));
        }
        assert!(users::search(&b.db, q(&"x".repeat(300), 1, 10))
            .await
            .is_err());
        assert!(users::search(&b.db, q("", 1, 7)).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn first_administrator_comes_from_settings_or_a_one_time_setup_link() {
    harness::each_backend(|b| async move {
        let auth::Bootstrap::SetupToken(token) = auth::bootstrap_admin(&b.db, None).await.unwrap()
        else {
            panic!("expected a setup token")
        };
        // A restart issues a new link; the old one stops working.
        let auth::Bootstrap::SetupToken(token2) = auth::bootstrap_admin(&b.db, None).await.unwrap()
        else {
            panic!("expected a setup token")
        };
        assert!(!auth::setup_token_valid(&b.db, &token).await.unwrap());
        assert!(auth::setup_token_valid(&b.db, &token2).await.unwrap());
        let err = auth::complete_setup(&b.db, &token2, "admin", "Admin", "short".into(), "1.2.3.4")
            .await
            .unwrap_err();
        assert!(err.field_message("password").is_some());
        auth::complete_setup(&b.db, &token2, "admin", "Admin", PASSWORD.into(), "1.2.3.4")
            .await
            .unwrap();
        assert!(
            !auth::setup_token_valid(&b.db, &token2).await.unwrap(),
            "used once"
        );
        assert!(matches!(
            auth::bootstrap_admin(&b.db, None).await.unwrap(),
            auth::Bootstrap::HasAdministrator
        ));
    })
    .await;
    harness::each_backend(|b| async move {
        let created = auth::bootstrap_admin(&b.db, Some(("root-admin".into(), PASSWORD.into())))
            .await
            .unwrap();
        assert!(matches!(created, auth::Bootstrap::Created(ref k) if k == "root-admin"));
        auth::sign_in(&b.db, "root-admin", PASSWORD.into(), "1.2.3.4", Utc::now())
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_administrator_cannot_lock_themselves_out() {
    harness::each_backend(|b| async move {
        let id = person(&b.db, "admin", vec![Role::Administrator], None).await;
        let err = users::update_user(
            &b.db,
            &Actor::cli(),
            Some(id),
            app::users::UserUpdate {
                id,
                display_name: "A".into(),
                email: String::new(),
                roles: vec![],
            },
        )
        .await
        .unwrap_err();
        assert!(err.field_message("roles").is_some());
        assert!(users::set_active(&b.db, &Actor::cli(), Some(id), id, false)
            .await
            .is_err());
        let missing = users::set_active(&b.db, &Actor::cli(), None, 999_999, false)
            .await
            .unwrap_err();
        assert!(matches!(missing, AppError::NotFound(_)));
    })
    .await;
}

#[tokio::test]
async fn a_setup_link_stops_working_after_an_hour_and_once_any_administrator_exists() {
    harness::each_backend(|b| async move {
        let auth::Bootstrap::SetupToken(token) = auth::bootstrap_admin(&b.db, None).await.unwrap()
        else {
            panic!("expected a setup token")
        };
        let now = Utc::now();
        assert!(
            auth::setup_token_valid_at(&b.db, &token, now + Duration::minutes(59))
                .await
                .unwrap()
        );
        assert!(
            !auth::setup_token_valid_at(&b.db, &token, now + Duration::minutes(61))
                .await
                .unwrap()
        );
        // An administrator made elsewhere (the command line), even one deactivated since,
        // ends the link.
        let id = person(
            &b.db,
            "cli-admin",
            vec![Role::Administrator],
            Some(PASSWORD),
        )
        .await;
        users::set_active(&b.db, &Actor::cli(), None, id, false)
            .await
            .unwrap();
        assert!(!auth::setup_token_valid(&b.db, &token).await.unwrap());
        // And no new link is printed for a server whose administrators are all deactivated.
        assert!(matches!(
            auth::bootstrap_admin(&b.db, None).await.unwrap(),
            auth::Bootstrap::OnlyInactiveAdministrators
        ));
    })
    .await;
}

#[tokio::test]
async fn pruning_removes_ended_sessions_stale_counters_and_old_sign_in_failures() {
    use sea_orm::{ActiveModelTrait, Set};
    harness::each_backend(|b| async move {
        let id = person(&b.db, "admin", vec![Role::Administrator], Some(PASSWORD)).await;
        let now = Utc::now();
        let ended = session::create(&b.db, id, now - Duration::hours(13))
            .await
            .unwrap();
        let live = session::create(&b.db, id, now).await.unwrap();
        let _ = auth::sign_in(
            &b.db,
            "admin",
            "not the password".into(),
            "10.0.5.5",
            now - Duration::hours(2),
        )
        .await;
        let _ = auth::sign_in(&b.db, "admin", "not the password".into(), "10.0.5.6", now).await;
        let old = now - Duration::days(91);
        for (outcome, actor) in [
            ("failure", "(unknown user)"),
            ("denied", "bot"),
            ("success", "admin"),
        ] {
            app::entities::audit_log::ActiveModel {
                at: Set(old),
                actor: Set(actor.into()),
                action: Set("sign_in".into()),
                outcome: Set(outcome.into()),
                ..Default::default()
            }
            .insert(&b.db)
            .await
            .unwrap();
        }
        let pruned = app::maintenance::prune(&b.db, now, 90).await.unwrap();
        assert_eq!(pruned.sessions, 1);
        assert_eq!(
            pruned.sign_in_failures, 2,
            "failed and refused sign-ins past 90 days"
        );
        assert!(pruned.throttles >= 1, "{pruned:?}");
        assert!(session::lookup(&b.db, &ended, now).await.unwrap().is_none());
        assert!(session::lookup(&b.db, &live, now).await.unwrap().is_some());
        let entries = audit_entries(&b.db).await;
        assert!(entries
            .iter()
            .any(|e| e.at < now - Duration::days(90) && e.outcome == "success"));
        assert_eq!(
            entries
                .iter()
                .filter(|e| e.at >= now - Duration::days(1))
                .count(),
            3
        );
        // The counters of this window stay.
        let counters = app::entities::throttle::Entity::find()
            .all(&b.db)
            .await
            .unwrap();
        assert!(counters
            .iter()
            .all(|c| c.window_start > now - Duration::hours(1)));
        assert!(!counters.is_empty());
    })
    .await;
}
