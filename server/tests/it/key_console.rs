//! The services behind the API Keys page's lifecycle controls: the "Show" filters (the database's
//! answer held to `KeyFilter::matches`), bulk deactivate / reactivate / set expiry, the API Key
//! Policy, two administrators regenerating one key, and the rotation handshake with the Xray
//! Credentials — on SQLite and PostgreSQL, with an injected clock.

use crate::harness;
use crate::harness::key_for;

use app::api_keys::service::RegenerateOne;
use app::api_keys::{
    service as keys, BulkChange, ExpiryChoice, FilterWindow, KeyDetails, KeyFilter, KeyQuery,
    Selection,
};
use app::audit::service::Actor;
use app::credentials::{service as credentials, CredentialsForm};
use app::entities::api_keys as rows;
use app::error::AppError;
use app::key_policy::{service as policy, KeyPolicy};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    Set,
};

fn whole_second() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

async fn stored(db: &DatabaseConnection, client_id: &str) -> rows::Model {
    rows::Entity::find()
        .filter(rows::Column::ClientId.eq(client_id))
        .one(db)
        .await
        .unwrap()
        .expect("the key exists")
}

/// Sets columns the services only change over time (last use, creation, expiry).
async fn shape(
    db: &DatabaseConnection,
    client_id: &str,
    change: impl FnOnce(&mut rows::ActiveModel),
) {
    let mut row = stored(db, client_id).await.into_active_model();
    change(&mut row);
    row.update(db).await.unwrap();
}

fn ids(keys: &[&app::api_keys::IssuedKey]) -> Selection {
    Selection::Ids(keys.iter().map(|k| k.client_id.clone()).collect())
}

async fn shown(db: &DatabaseConnection, filter: KeyFilter, now: DateTime<Utc>) -> Vec<String> {
    let page = keys::list_at(
        db,
        KeyQuery {
            search: "f-".into(),
            filter,
            page: 1,
            per_page: 100,
            start: None,
        },
        now,
    )
    .await
    .unwrap();
    page.keys.into_iter().map(|k| k.user_key).collect()
}

#[test]
fn each_filter_lists_what_its_rule_says_and_the_banner_counts_the_expiring() {
    harness::block_on(harness::each_backend(|b| async move {
        let now = whole_second();
        // One key on each side of every line the filters draw.
        let cases: [(&str, Option<i64>, Option<i64>, bool); 8] = [
            // (user, expires in hours, last used hours ago, active)
            ("f-plain", None, Some(1), true),
            ("f-soon", Some(24 * 7), Some(1), true),
            ("f-later", Some(24 * 7 + 1), Some(1), true),
            ("f-gone", Some(0), Some(1), true),
            ("f-off", Some(24), Some(1), false),
            ("f-fresh", None, None, true),
            ("f-idle", None, Some(24 * 90), true),
            ("f-busy", None, Some(24 * 90 - 1), true),
        ];
        for (user, expires, used, active) in cases {
            let key = key_for(&b.db, user).await;
            shape(&b.db, &key.client_id, |row| {
                row.expires_at = Set(expires.map(|h| now + Duration::hours(h)));
                row.last_used_at = Set(used.map(|h| now - Duration::hours(h)));
                row.created_at = Set(now - Duration::days(400));
                row.is_active = Set(active);
            })
            .await;
        }
        let all = keys::list_at(
            &b.db,
            KeyQuery {
                search: "f-".into(),
                per_page: 100,
                start: None,
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
        assert_eq!(all.total, 8);
        assert_eq!(all.expiring_soon, 1, "f-soon only (f-off is inactive)");
        for (filter, _) in KeyFilter::NAMES {
            let expected: Vec<String> = all
                .keys
                .iter()
                .filter(|row| filter.matches(row, now, FilterWindow::default()))
                .map(|row| row.user_key.clone())
                .collect();
            assert_eq!(shown(&b.db, filter, now).await, expected, "{filter:?}");
            // Without a search the totals come from the stored counts and indexes instead.
            let unsearched = keys::list_at(
                &b.db,
                KeyQuery {
                    filter,
                    per_page: 100,
                    start: None,
                    ..Default::default()
                },
                now,
            )
            .await
            .unwrap();
            assert_eq!(unsearched.total, expected.len() as u64, "{filter:?} total");
            // The banner counts every expiring key, whichever of them the page shows.
            assert_eq!(unsearched.expiring_soon, 1, "{filter:?} banner");
        }
        // A page without rows has no row to bring the count with it: it is counted apart.
        let nothing = keys::list_at(
            &b.db,
            KeyQuery {
                search: "no-such-key".into(),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
        assert!(nothing.keys.is_empty());
        assert_eq!(nothing.expiring_soon, 1, "banner beside an empty page");
        assert_eq!(shown(&b.db, KeyFilter::ExpiringSoon, now).await, ["f-soon"]);
        assert_eq!(shown(&b.db, KeyFilter::Expired, now).await, ["f-gone"]);
        assert_eq!(shown(&b.db, KeyFilter::Inactive, now).await, ["f-off"]);
        assert_eq!(shown(&b.db, KeyFilter::NeverUsed, now).await, ["f-fresh"]);
        assert_eq!(
            shown(&b.db, KeyFilter::Unused, now).await,
            ["f-fresh", "f-idle"]
        );

        // The policy moves the lines: a 14-day warning takes in f-later too.
        policy::save(
            &b.db,
            &Actor::cli(),
            KeyPolicy {
                warn_days: vec![14, 1],
                ..KeyPolicy::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            shown(&b.db, KeyFilter::ExpiringSoon, now).await,
            ["f-later", "f-soon"]
        );
    }));
}

#[test]
fn bulk_changes_are_all_or_nothing_audited_and_follow_the_filter() {
    harness::block_on(harness::each_backend(|b| async move {
        let now = whole_second();
        let cli = Actor::cli();
        let a = key_for(&b.db, "bulk-a").await;
        let bk = key_for(&b.db, "bulk-b").await;
        let c = key_for(&b.db, "bulk-c").await;

        let done = keys::bulk_change(&b.db, &cli, ids(&[&a, &bk]), BulkChange::Deactivate, now)
            .await
            .unwrap();
        assert_eq!((done.changed, done.unchanged), (2, 0));
        assert!(!stored(&b.db, &a.client_id).await.is_active);
        // A mix: the active one changes, the inactive one is left alone and said so.
        let done = keys::bulk_change(&b.db, &cli, ids(&[&a, &c]), BulkChange::Deactivate, now)
            .await
            .unwrap();
        assert_eq!((done.changed, done.unchanged), (1, 1));
        assert_eq!(
            keys::bulk_change(&b.db, &cli, ids(&[&a]), BulkChange::Deactivate, now).await,
            Err(AppError::Conflict(
                "The selected API Keys were already inactive".into()
            ))
        );

        // "All" with the Inactive filter reactivates exactly those it counted.
        let all_inactive = |expected| Selection::AllMatching {
            search: "bulk-".into(),
            filter: KeyFilter::Inactive,
            expected,
        };
        assert!(matches!(
            keys::bulk_change(&b.db, &cli, all_inactive(2), BulkChange::Reactivate, now).await,
            Err(AppError::Conflict(_))
        ));
        assert!(
            !stored(&b.db, &a.client_id).await.is_active,
            "nothing changed"
        );
        let done = keys::bulk_change(&b.db, &cli, all_inactive(3), BulkChange::Reactivate, now)
            .await
            .unwrap();
        assert_eq!(done.changed, 3);

        // Set expiry: every key or none; a key that vanished stops the lot.
        let day = (now + Duration::days(40)).date_naive();
        let expiry = BulkChange::SetExpiry(ExpiryChoice::OnDate(day));
        let gone = Selection::Ids(vec![a.client_id.clone(), "F".repeat(32)]);
        assert!(matches!(
            keys::bulk_change(&b.db, &cli, gone, expiry, now).await,
            Err(AppError::NotFound(_))
        ));
        assert_eq!(stored(&b.db, &a.client_id).await.expires_at, None);
        keys::bulk_change(&b.db, &cli, ids(&[&a, &bk, &c]), expiry, now)
            .await
            .unwrap();
        let end_of_day = day.and_hms_opt(23, 59, 59).unwrap().and_utc();
        for key in [&a, &bk, &c] {
            assert_eq!(
                stored(&b.db, &key.client_id).await.expires_at,
                Some(end_of_day)
            );
        }
        let past =
            BulkChange::SetExpiry(ExpiryChoice::OnDate((now - Duration::days(1)).date_naive()));
        assert_eq!(
            keys::bulk_change(&b.db, &cli, ids(&[&a]), past, now)
                .await
                .unwrap_err()
                .to_string(),
            "Choose a date after today"
        );
    }));
}

#[test]
fn the_policy_holds_new_keys_and_changes_and_applies_its_maximum_only_when_confirmed() {
    harness::block_on(harness::each_backend(|b| async move {
        let now = whole_second();
        let cli = Actor::cli();
        let old = key_for(&b.db, "p-old").await;
        let short = key_for(&b.db, "p-short").await;
        keys::edit_details(
            &b.db,
            &cli,
            &short.client_id,
            KeyDetails {
                description: String::new(),
                expires_at: Some(now + Duration::days(10)),
            },
            now,
        )
        .await
        .unwrap();
        assert_eq!(policy::load(&b.db).await.unwrap(), KeyPolicy::default());
        let strict = KeyPolicy {
            default_expiry_days: Some(30),
            max_lifetime_days: Some(90),
            ..KeyPolicy::default()
        };
        policy::save(&b.db, &cli, strict.clone()).await.unwrap();
        assert_eq!(policy::load(&b.db).await.unwrap(), strict);
        assert!(matches!(
            policy::save(
                &b.db,
                &cli,
                KeyPolicy {
                    max_lifetime_days: Some(1000),
                    ..strict.clone()
                }
            )
            .await,
            Err(AppError::Validation { .. })
        ));

        // New keys and expiry changes are held to the maximum.
        harness::user(&b.db, "p-new").await;
        let refused = keys::create_with_details(
            &b.db,
            &harness::test_hasher(),
            &cli,
            "p-new",
            KeyDetails {
                description: String::new(),
                expires_at: Some(now + Duration::days(91)),
            },
            now,
        )
        .await;
        assert_eq!(
            refused.err().map(|e| e.to_string()).as_deref(),
            Some("The policy allows at most 90 days from today.")
        );
        let never =
            keys::edit_details(&b.db, &cli, &short.client_id, KeyDetails::default(), now).await;
        assert_eq!(
            never.unwrap_err().to_string(),
            "The policy allows at most 90 days from today."
        );
        // The key without expiry keeps it until the maximum is applied; its description may
        // still change.
        keys::edit_details(
            &b.db,
            &cli,
            &old.client_id,
            KeyDetails {
                description: "Jenkins CI".into(),
                expires_at: None,
            },
            now,
        )
        .await
        .unwrap();

        let preview = policy::preview_maximum(&b.db, now).await.unwrap().unwrap();
        assert_eq!(preview.affected, 1, "p-old only: p-short expires sooner");
        assert_eq!(preview.expires_at, now + Duration::days(90));
        assert!(matches!(
            policy::apply_maximum(&b.db, &cli, 2, now).await,
            Err(AppError::Conflict(_))
        ));
        assert_eq!(stored(&b.db, &old.client_id).await.expires_at, None);
        assert_eq!(policy::apply_maximum(&b.db, &cli, 1, now).await, Ok(1));
        assert_eq!(
            stored(&b.db, &old.client_id).await.expires_at,
            Some(now + Duration::days(90))
        );
        assert_eq!(
            stored(&b.db, &short.client_id).await.expires_at,
            Some(now + Duration::days(10))
        );
    }));
}

#[test]
fn of_two_administrators_regenerating_one_key_exactly_one_wins_and_the_other_is_told_who() {
    harness::block_on(harness::each_backend(|b| async move {
        let now = whole_second();
        let key = key_for(&b.db, "contested").await;
        let hasher = harness::test_hasher();
        let seen = stored(&b.db, &key.client_id).await.secret_generation;
        let alice = Actor {
            name: "alice".into(),
            client_addr: None,
        };
        let bob = Actor {
            name: "bob".into(),
            client_addr: None,
        };
        // Both opened the dialog on the same secret and confirm at once.
        let (first, second) = tokio::join!(
            keys::regenerate_key(
                &b.db,
                &hasher,
                &alice,
                RegenerateOne {
                    client_id: &key.client_id,
                    seen_generation: Some(seen),
                    grace: Duration::zero(),
                    update_credentials: None,
                },
                now,
            ),
            keys::regenerate_key(
                &b.db,
                &hasher,
                &bob,
                RegenerateOne {
                    client_id: &key.client_id,
                    seen_generation: Some(seen),
                    grace: Duration::zero(),
                    update_credentials: None,
                },
                now,
            ),
        );
        let (won, lost) = match (first, second) {
            (Ok(w), Err(l)) => ("alice", (w, l)),
            (Err(l), Ok(w)) => ("bob", (w, l)),
            (a, b) => panic!("exactly one must win: {:?} / {:?}", a.err(), b.err()),
        };
        let (winner, error) = lost;
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{won} regenerated this Client Secret at ")),
            "{message}"
        );
        let row = stored(&b.db, &key.client_id).await;
        assert_eq!(row.secret_generation, seen + 1);
        assert!(hasher.verify(&winner.issued.client_secret, &row.secret_hash));
    }));
}

const OTHER_ID: &str = "0123456789ABCDEF0123456789ABCDEF";

async fn store_credentials(b: &harness::Backend, client_id: &str, secret: &str, base: &str) {
    credentials::save(
        &b.db,
        &harness::test_master_key(),
        &Actor::cli(),
        &CredentialsForm {
            client_id: client_id.into(),
            client_secret: secret.into(),
            base_url: base.into(),
            custom_url: String::new(),
            version: 0,
        },
        &app::credentials::destination::HostPolicy::new(&[], &[]),
    )
    .await
    .unwrap();
}

async fn stored_secret(b: &harness::Backend) -> String {
    credentials::read_stored(&b.db, &harness::test_master_key())
        .await
        .unwrap()
        .map(|(_, s)| s.expose().to_string())
        .unwrap()
}

#[test]
fn the_handshake_seals_the_new_secret_into_the_credentials_or_changes_nothing() {
    harness::block_on(harness::each_backend(|b| async move {
        let now = whole_second();
        let master = harness::test_master_key();
        // As at a server's start: the canary says which master key seals this database.
        app::vault::write_canary(&b.db, &master).await.unwrap();
        let key = key_for(&b.db, "backup-user").await;
        store_credentials(&b, &key.client_id, &key.client_secret, "this").await;
        let listed = keys::list_at(&b.db, KeyQuery::default(), now)
            .await
            .unwrap();
        assert!(listed
            .keys
            .iter()
            .any(|k| k.client_id == key.client_id && k.used_by_credentials));

        let done = keys::regenerate_key(
            &b.db,
            &harness::test_hasher(),
            &Actor::cli(),
            RegenerateOne {
                client_id: &key.client_id,
                seen_generation: None,
                grace: Duration::zero(),
                update_credentials: Some(&master),
            },
            now,
        )
        .await
        .unwrap();
        assert!(done.credentials_updated);
        assert_eq!(stored_secret(&b).await, done.issued.client_secret);

        // The credentials now hold another key: the handshake fails and the key keeps its
        // secret.
        let other = "c".repeat(64);
        store_credentials(&b, OTHER_ID, &other, "this").await;
        let before = stored(&b.db, &key.client_id).await;
        let refused = keys::regenerate_key(
            &b.db,
            &harness::test_hasher(),
            &Actor::cli(),
            RegenerateOne {
                client_id: &key.client_id,
                seen_generation: None,
                grace: Duration::zero(),
                update_credentials: Some(&master),
            },
            now,
        )
        .await;
        assert!(matches!(refused, Err(AppError::Conflict(_))));
        let after = stored(&b.db, &key.client_id).await;
        assert_eq!(after.secret_hash, before.secret_hash, "rolled back");
        assert_eq!(after.secret_generation, before.secret_generation);
        assert_eq!(stored_secret(&b).await, other);

        // A wrong master key cannot seal: again nothing changes.
        store_credentials(&b, &key.client_id, &done.issued.client_secret, "this").await;
        let wrong = app::vault::MasterKey::new([4u8; 32]);
        let refused = keys::regenerate_key(
            &b.db,
            &harness::test_hasher(),
            &Actor::cli(),
            RegenerateOne {
                client_id: &key.client_id,
                seen_generation: None,
                grace: Duration::zero(),
                update_credentials: Some(&wrong),
            },
            now,
        )
        .await;
        assert!(refused.is_err());
        assert_eq!(
            stored(&b.db, &key.client_id).await.secret_hash,
            after.secret_hash
        );
        assert_eq!(stored_secret(&b).await, done.issued.client_secret);
    }));
}

#[test]
fn regenerate_deactivate_and_delete_racing_on_one_key_each_succeed_or_say_why() {
    harness::block_on(harness::each_backend(|b| async move {
        let hasher = harness::test_hasher();
        for round in 0..4 {
            let now = whole_second();
            let user_key = format!("racer-{round}");
            let key = key_for(&b.db, &user_key).await;
            let cli = Actor::cli();
            let (regenerated, deactivated, deleted) = tokio::join!(
                keys::regenerate_key(
                    &b.db,
                    &hasher,
                    &cli,
                    RegenerateOne {
                        client_id: &key.client_id,
                        seen_generation: Some(1),
                        grace: Duration::hours(1),
                        update_credentials: None,
                    },
                    now,
                ),
                keys::set_active(&b.db, &cli, &key.client_id, false, now),
                keys::delete(&b.db, &cli, Selection::Ids(vec![key.client_id.clone()])),
            );
            // Whatever the order, every loser is told why: the key is gone, or changed.
            for error in [
                regenerated.as_ref().err(),
                deactivated.as_ref().err(),
                deleted.as_ref().err(),
            ]
            .into_iter()
            .flatten()
            {
                assert!(
                    matches!(error, AppError::NotFound(_) | AppError::Conflict(_)),
                    "round {round}: {error:?}"
                );
            }
            assert_eq!(
                deleted,
                Ok(1),
                "round {round}: a delete always finds the key"
            );
            let left = rows::Entity::find()
                .filter(rows::Column::ClientId.eq(key.client_id.as_str()))
                .one(&b.db)
                .await
                .unwrap();
            assert!(left.is_none(), "round {round}: the key is gone");
        }
    }));
}

#[test]
fn the_sweep_warns_at_the_lead_times_the_policy_sets() {
    harness::block_on(harness::each_backend(|b| async move {
        let now = whole_second();
        let cli = Actor::cli();
        policy::save(
            &b.db,
            &cli,
            KeyPolicy {
                warn_days: vec![14, 3],
                ..KeyPolicy::default()
            },
        )
        .await
        .unwrap();
        let key = key_for(&b.db, "warned").await;
        keys::edit_details(
            &b.db,
            &cli,
            &key.client_id,
            KeyDetails {
                description: String::new(),
                expires_at: Some(now + Duration::days(10)),
            },
            now,
        )
        .await
        .unwrap();
        let swept = app::api_keys::sweep::sweep(&b.db, "test", now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            swept.expiring, 1,
            "inside the 14-day lead, not yet the 3-day one"
        );
        let later = now + Duration::days(8);
        let swept = app::api_keys::sweep::sweep(&b.db, "test", later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(swept.expiring, 1, "now the 3-day lead too");
        let details: Vec<String> = app::entities::key_events::Entity::find()
            .filter(app::entities::key_events::Column::ClientId.eq(key.client_id.as_str()))
            .all(&b.db)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| e.detail)
            .collect();
        assert!(
            details.iter().any(|d| d.starts_with("14 days before")),
            "{details:?}"
        );
        assert!(
            details.iter().any(|d| d.starts_with("3 days before")),
            "{details:?}"
        );
    }));
}

#[test]
fn a_key_is_marked_used_by_the_credentials_only_when_they_point_at_this_server() {
    harness::block_on(harness::each_backend(|b| async move {
        let now = whole_second();
        app::vault::write_canary(&b.db, &harness::test_master_key())
            .await
            .unwrap();
        let key = key_for(&b.db, "cloud-user").await;
        // The same Client Id stored for Xray Cloud EU: a key there, not this server's.
        store_credentials(&b, &key.client_id, &key.client_secret, "eu").await;
        let listed = keys::list_at(&b.db, KeyQuery::default(), now)
            .await
            .unwrap();
        let row = listed
            .keys
            .iter()
            .find(|k| k.client_id == key.client_id)
            .expect("the key is listed");
        assert!(!row.used_by_credentials);
        assert_eq!(listed.total, 1);
    }));
}
