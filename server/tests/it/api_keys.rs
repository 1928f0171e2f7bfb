//! API keys: every operation and its bad input, on SQLite and PostgreSQL.

use crate::harness;
use crate::harness::{key_for, user};

use app::api_keys::{service as keys, KeyQuery, Selection};
use app::audit::service::Actor;
use app::error::AppError;
use app::users::service as users;
use sea_orm::EntityTrait;

fn query(search: &str, page: u64, per_page: u64) -> KeyQuery {
    KeyQuery {
        filter: Default::default(),
        search: search.into(),
        page,
        per_page,
        start: None,
    }
}

#[tokio::test]
async fn a_created_key_has_xray_shapes_and_only_its_hash_is_stored() {
    harness::each_backend(|b| async move {
        let issued = key_for(&b.db, "admin").await;
        assert!(
            issued.client_id.len() == 32
                && issued
                    .client_id
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
        assert!(
            issued.client_secret.len() == 64
                && issued
                    .client_secret
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let stored = app::entities::api_keys::Entity::find()
            .all(&b.db)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert!(stored[0].secret_hash.starts_with("$hmac-sha256$"));
        assert!(!stored[0].secret_hash.contains(&issued.client_secret));
        let hasher = harness::test_hasher();
        assert!(
            keys::verify_secret(&b.db, &hasher, &issued.client_id, &issued.client_secret)
                .await
                .unwrap()
        );
        assert!(
            !keys::verify_secret(&b.db, &hasher, &issued.client_id, &"0".repeat(64))
                .await
                .unwrap()
        );
        let audit = app::entities::audit_log::Entity::find()
            .all(&b.db)
            .await
            .unwrap();
        let entry = audit
            .iter()
            .find(|e| e.action == "api_key_create")
            .expect("audited");
        assert_eq!(entry.target.as_deref(), Some(issued.client_id.as_str()));
        assert!(
            !format!("{audit:?}").contains(&issued.client_secret),
            "no secret in the audit trail"
        );
    })
    .await;
}

#[tokio::test]
async fn one_key_per_user_also_when_two_admins_race() {
    harness::each_backend(|b| async move {
        user(&b.db, "racer").await;
        let make = || {
            let db = b.db.clone();
            tokio::spawn(async move {
                keys::create(&db, &harness::test_hasher(), &Actor::cli(), "racer").await
            })
        };
        let (x, y) = tokio::join!(make(), make());
        let results = [x.unwrap(), y.unwrap()];
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(
            matches!(loser, AppError::Conflict(m) if m.contains("already has an API Key")),
            "{loser:?}"
        );
        assert_eq!(keys::count(&b.db).await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn creating_for_unknown_empty_or_deactivated_users_is_refused() {
    harness::each_backend(|b| async move {
        let h = harness::test_hasher();
        let a = Actor::cli();
        assert!(matches!(keys::create(&b.db, &h, &a, "nobody").await, Err(AppError::NotFound(_))));
        assert!(matches!(keys::create(&b.db, &h, &a, "  ").await, Err(AppError::Validation { .. })));
        assert!(matches!(keys::create(&b.db, &h, &a, &"x".repeat(300)).await, Err(AppError::Validation { .. })));
        user(&b.db, "gone").await;
        let u = users::find_by_key(&b.db, &app::users::UserKey::parse("gone").unwrap()).await.unwrap().unwrap();
        users::set_active(&b.db, &a, None, u.id, false).await.unwrap();
        assert!(matches!(keys::create(&b.db, &h, &a, "gone").await, Err(AppError::BadRequest(m)) if m.contains("deactivated")));
        assert_eq!(keys::count(&b.db).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn list_searches_key_name_and_client_id_and_pages_in_the_database() {
    harness::each_backend(|b| async move {
        let mut issued = Vec::new();
        for i in 0..23 {
            issued.push(key_for(&b.db, &format!("user{i:02}")).await);
        }
        key_for(&b.db, "addon_com.atlassian.jira.chat").await;
        let all = keys::list(&b.db, query("", 1, 10)).await.unwrap();
        assert_eq!((all.total, all.keys.len()), (24, 10));
        assert_eq!(all.keys[0].user_key, "addon_com.atlassian.jira.chat");
        let third = keys::list(&b.db, query("user", 3, 10)).await.unwrap();
        assert_eq!(third.keys.len(), 3);
        let by_name = keys::list(&b.db, query("NAME OF USER07", 1, 10))
            .await
            .unwrap();
        assert_eq!(by_name.total, 1);
        let by_id = keys::list(
            &b.db,
            query(&issued[5].client_id[..12].to_lowercase(), 1, 10),
        )
        .await
        .unwrap();
        assert_eq!(by_id.keys[0].client_id, issued[5].client_id);
        let underscore = keys::list(&b.db, query("_com", 1, 10)).await.unwrap();
        assert_eq!(underscore.total, 1, "_ is literal, not a wildcard");
        // Past the end (a stale link, a hand-typed or absurd number) shows the last page.
        for far in [99, u64::MAX] {
            let beyond = keys::list(&b.db, query("", far, 10)).await.unwrap();
            assert_eq!((beyond.page, beyond.keys.len(), beyond.total), (3, 4, 24));
        }
        assert!(matches!(
            keys::list(&b.db, query("", 1, 13)).await,
            Err(AppError::Validation { .. })
        ));
        assert!(matches!(
            keys::list(&b.db, query(&"q".repeat(256), 1, 10)).await,
            Err(AppError::Validation { .. })
        ));
        let page = keys::list(&b.db, query("", 1, 100)).await.unwrap();
        let text = serde_json::to_string(&page).unwrap();
        assert!(
            issued.iter().all(|k| !text.contains(&k.client_secret)),
            "listing never carries a secret"
        );
    })
    .await;
}

#[tokio::test]
async fn delete_is_all_or_nothing_and_names_what_is_gone() {
    harness::each_backend(|b| async move {
        let a = key_for(&b.db, "a").await;
        let c = key_for(&b.db, "c").await;
        let missing = "0123456789ABCDEF0123456789ABCDEF".to_string();
        let err = keys::delete(&b.db, &Actor::cli(), Selection::Ids(vec![a.client_id.clone(), missing.clone()]))
            .await
            .unwrap_err();
        assert!(matches!(&err, AppError::NotFound(m) if m.contains(&missing) && m.contains("Nothing was changed")), "{err:?}");
        assert_eq!(keys::count(&b.db).await.unwrap(), 2, "nothing was deleted");
        for bad in [vec![], vec!["not-an-id".to_string()], vec!["G".repeat(32)]] {
            assert!(matches!(keys::delete(&b.db, &Actor::cli(), Selection::Ids(bad)).await, Err(AppError::Validation { .. })));
        }
        let too_many = vec![a.client_id.clone(); app::api_keys::MAX_SELECTION + 1];
        assert!(keys::delete(&b.db, &Actor::cli(), Selection::Ids(too_many)).await.is_err());
        let n = keys::delete(&b.db, &Actor::cli(), Selection::Ids(vec![a.client_id.to_lowercase(), c.client_id.clone()]))
            .await
            .unwrap();
        assert_eq!(n, 2);
        let again = keys::delete(&b.db, &Actor::cli(), Selection::Ids(vec![a.client_id.clone()])).await.unwrap_err();
        assert!(matches!(again, AppError::NotFound(_)), "deleting what another admin deleted says so");
    })
    .await;
}

#[tokio::test]
async fn regenerate_replaces_secrets_at_once_all_or_nothing() {
    harness::each_backend(|b| async move {
        let h = harness::test_hasher();
        let a = key_for(&b.db, "a").await;
        let c = key_for(&b.db, "c").await;
        let fresh = keys::regenerate(
            &b.db,
            &h,
            &Actor::cli(),
            Selection::Ids(vec![a.client_id.clone(), c.client_id.clone()]),
        )
        .await
        .unwrap();
        assert_eq!(fresh.len(), 2);
        for (old, new) in [
            (
                &a,
                fresh.iter().find(|k| k.client_id == a.client_id).unwrap(),
            ),
            (
                &c,
                fresh.iter().find(|k| k.client_id == c.client_id).unwrap(),
            ),
        ] {
            assert_ne!(old.client_secret, new.client_secret);
            assert!(
                !keys::verify_secret(&b.db, &h, &old.client_id, &old.client_secret)
                    .await
                    .unwrap(),
                "old secret dead"
            );
            assert!(
                keys::verify_secret(&b.db, &h, &new.client_id, &new.client_secret)
                    .await
                    .unwrap()
            );
        }
        let gone = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF".to_string();
        let err = keys::regenerate(
            &b.db,
            &h,
            &Actor::cli(),
            Selection::Ids(vec![a.client_id.clone(), gone]),
        )
        .await
        .err()
        .expect("refused");
        assert!(matches!(err, AppError::NotFound(_)));
        let current = fresh.iter().find(|k| k.client_id == a.client_id).unwrap();
        assert!(
            keys::verify_secret(&b.db, &h, &a.client_id, &current.client_secret)
                .await
                .unwrap(),
            "unchanged after a refused bulk"
        );
    })
    .await;
}

#[tokio::test]
async fn all_matching_is_resolved_at_confirm_time_with_the_count_checked() {
    harness::each_backend(|b| async move {
        for k in ["bulk-a", "bulk-b", "bulk-c", "other"] {
            key_for(&b.db, k).await;
        }
        let stale = Selection::AllMatching {
            filter: Default::default(),
            search: "bulk".into(),
            expected: 2,
        };
        let err = keys::delete(&b.db, &Actor::cli(), stale).await.unwrap_err();
        assert!(
            matches!(&err, AppError::Conflict(m) if m.contains("now 3")),
            "{err:?}"
        );
        assert_eq!(keys::count(&b.db).await.unwrap(), 4);
        let ok = Selection::AllMatching {
            filter: Default::default(),
            search: "bulk".into(),
            expected: 3,
        };
        let fresh = keys::regenerate(&b.db, &harness::test_hasher(), &Actor::cli(), ok.clone())
            .await
            .unwrap();
        assert_eq!(fresh.len(), 3);
        assert_eq!(keys::delete(&b.db, &Actor::cli(), ok).await.unwrap(), 3);
        assert_eq!(keys::count(&b.db).await.unwrap(), 1);
        let audit = app::entities::audit_log::Entity::find()
            .all(&b.db)
            .await
            .unwrap();
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.action == "api_key_delete")
                .count(),
            3,
            "one entry per key"
        );
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.action == "api_key_regenerate")
                .count(),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn bulk_regenerate_of_a_thousand_keys_is_one_transaction() {
    harness::each_backend(|b| async move {
        let h = harness::test_hasher();
        keys::seed(&b.db, &h, 0, 1000).await.unwrap();
        let fresh = keys::regenerate(
            &b.db,
            &h,
            &Actor::cli(),
            Selection::AllMatching {
                filter: Default::default(),
                search: "seed-".into(),
                expected: 1000,
            },
        )
        .await
        .unwrap();
        assert_eq!(fresh.len(), 1000);
        let sample = &fresh[500];
        assert!(
            keys::verify_secret(&b.db, &h, &sample.client_id, &sample.client_secret)
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test]
async fn deleting_a_user_removes_their_key_and_a_deactivated_users_key_is_marked() {
    harness::each_backend(|b| async move {
        key_for(&b.db, "leaver").await;
        let u = users::find_by_key(&b.db, &app::users::UserKey::parse("leaver").unwrap())
            .await
            .unwrap()
            .unwrap();
        users::set_active(&b.db, &Actor::cli(), None, u.id, false)
            .await
            .unwrap();
        let page = keys::list(&b.db, query("leaver", 1, 10)).await.unwrap();
        assert!(!page.keys[0].user_active);
    })
    .await;
}

#[tokio::test]
async fn the_user_picker_finds_active_users_and_says_who_has_a_key() {
    harness::each_backend(|b| async move {
        key_for(&b.db, "revyz-backup-user").await;
        user(&b.db, "revyz-other").await;
        user(&b.db, "unrelated").await;
        let found = keys::candidates(&b.db, "REVYZ").await.unwrap();
        let summary: Vec<(&str, bool)> = found
            .iter()
            .map(|c| (c.user_key.as_str(), c.has_key))
            .collect();
        assert_eq!(
            summary,
            vec![("revyz-backup-user", true), ("revyz-other", false)]
        );
        let by_name = keys::candidates(&b.db, "name of unrel").await.unwrap();
        assert_eq!(by_name.len(), 1);
        assert!(
            keys::candidates(&b.db, "%").await.unwrap().is_empty(),
            "% is literal"
        );
        assert!(matches!(
            keys::candidates(&b.db, &"x".repeat(256)).await,
            Err(AppError::Validation { .. })
        ));
    })
    .await;
}

fn user_keys(found: &[app::api_keys::KeyCandidate]) -> Vec<String> {
    found.iter().map(|c| c.user_key.clone()).collect()
}

/// The picker's first look reads the first thousand users in user-key order; a user past them
/// is found through the index, and a fragment most users share shows the first twenty in order.
#[tokio::test]
async fn the_user_picker_finds_rare_and_common_fragments_among_many_users() {
    harness::each_backend(|b| async move {
        keys::seed(&b.db, &harness::test_hasher(), 0, 1_100)
            .await
            .unwrap();
        user(&b.db, "zz-last-person").await;
        let rare = keys::candidates(&b.db, "LAST-PERS").await.unwrap();
        assert_eq!(user_keys(&rare), ["zz-last-person"]);
        let by_name = keys::candidates(&b.db, "Seed User 1099").await.unwrap();
        assert_eq!(user_keys(&by_name), ["seed-001099"]);
        let common = keys::candidates(&b.db, "seed-").await.unwrap();
        let first_twenty: Vec<String> = (0..20).map(|i| format!("seed-{i:06}")).collect();
        assert_eq!(user_keys(&common), first_twenty);
        assert!(common.iter().all(|c| c.has_key));
        // Two characters: read row by row on SQLite, from the index on PostgreSQL.
        let short = keys::candidates(&b.db, "zz").await.unwrap();
        assert_eq!(user_keys(&short), ["zz-last-person"]);
    })
    .await;
}

/// The users' search index changes with the users, in the same transaction, whoever writes
/// them: a new display name is found and the old one no longer; a removed user is gone.
#[tokio::test]
async fn the_user_search_follows_renamed_and_removed_users() {
    harness::each_backend(|b| async move {
        user(&b.db, "renamed-person").await;
        user(&b.db, "leaving-person").await;
        let renamed: i32 = harness::first_value(
            &b.db,
            "SELECT id FROM users WHERE user_key = 'renamed-person'",
        )
        .await
        .unwrap();
        users::update_user(
            &b.db,
            &Actor::cli(),
            None,
            app::users::UserUpdate {
                id: renamed,
                display_name: "Quite Another Name".into(),
                email: String::new(),
                roles: vec![],
            },
        )
        .await
        .unwrap();
        assert_eq!(
            user_keys(&keys::candidates(&b.db, "another name").await.unwrap()),
            ["renamed-person"]
        );
        assert!(keys::candidates(&b.db, "name of renamed")
            .await
            .unwrap()
            .is_empty());
        let users_page = |search: &str| {
            users::search(
                &b.db,
                app::users::UserQuery {
                    search: search.into(),
                    page: 1,
                    per_page: 10,
                },
            )
        };
        assert_eq!(users_page("another name").await.unwrap().total, 1);
        assert_eq!(users_page("name of renamed").await.unwrap().total, 0);

        let removed: Option<i32> = harness::first_value(
            &b.db,
            "DELETE FROM users WHERE user_key = 'leaving-person' RETURNING id",
        )
        .await;
        assert!(removed.is_some());
        assert!(keys::candidates(&b.db, "leaving").await.unwrap().is_empty());
        assert_eq!(users_page("leaving").await.unwrap().total, 0);
    })
    .await;
}

/// Every key's user key, display name and Client Id, read whole (the reference a search is
/// held to).
async fn every_key(db: &sea_orm::DatabaseConnection) -> Vec<(String, String, String)> {
    use app::entities::{api_keys, users};
    api_keys::Entity::find()
        .find_also_related(users::Entity)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, u)| {
            let u = u.unwrap();
            (u.user_key, u.display_name, k.client_id)
        })
        .collect()
}

/// What a search must find: the keys whose user key, name or Client Id contains it, ignoring case.
fn expected(all: &[(String, String, String)], search: &str) -> Vec<String> {
    let needle = search.to_lowercase();
    let mut found: Vec<String> = all
        .iter()
        .filter(|(key, name, id)| {
            [key, name, id]
                .iter()
                .any(|field| field.to_lowercase().contains(&needle))
        })
        .map(|(key, _, _)| key.to_lowercase())
        .collect();
    found.sort();
    found
}

async fn check_searches(db: &sea_orm::DatabaseConnection, searches: &[&str]) {
    let all = every_key(db).await;
    for search in searches {
        let page = keys::list(db, query(search, 1, 100)).await.unwrap();
        let got: Vec<String> = page
            .keys
            .iter()
            .map(|k| k.user_key.to_lowercase())
            .collect();
        let want = expected(&all, search);
        assert_eq!(got, want, "search {search:?}");
        assert_eq!(page.total, want.len() as u64, "total of {search:?}");
    }
    let unfiltered = keys::list(db, query("", 1, 10)).await.unwrap();
    assert_eq!(unfiltered.total, all.len() as u64, "the stored total");
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let never_used = app::entities::api_keys::Entity::find()
        .filter(app::entities::api_keys::Column::LastUsedAt.is_null())
        .count(db)
        .await
        .unwrap();
    let listed = keys::list(
        db,
        KeyQuery {
            filter: app::api_keys::KeyFilter::NeverUsed,
            ..query("", 1, 10)
        },
    )
    .await
    .unwrap();
    assert_eq!(
        listed.total, never_used,
        "the stored count of keys never used"
    );
}

#[tokio::test]
async fn search_and_total_follow_every_change_to_keys_and_names() {
    harness::each_backend(|b| async move {
        let db = &b.db;
        let mut issued = Vec::new();
        for (key, name) in [
            ("ana", "Ana Lima"),
            ("bo", "Bo \"the quote\" Berg"),
            ("zoë.ünïcode", "Zoë Ünïcode"),
            ("percent", "100% sure_thing"),
            ("ci-runner", "CI runner (GitHub)"),
            ("ana-2", "Second Ana"),
        ] {
            issued.push(harness::named_key(db, key, name).await);
        }
        let id_fragment = issued[4].client_id[3..11].to_string();
        let searches = [
            "a",
            "an",
            "ana",
            "ANA LI",
            "\"the quote\"",
            "\"",
            "ünï",
            "ZOË",
            "0% s",
            "_th",
            "no-such-key",
            "e\nb",
            &id_fragment,
            &id_fragment.to_lowercase(),
        ];
        check_searches(db, &searches).await;

        // A new name is found at once and the old one no longer is.
        let ana = users::find_by_key(db, &app::users::UserKey::parse("ana").unwrap())
            .await
            .unwrap()
            .unwrap();
        users::update_user(
            db,
            &Actor::cli(),
            None,
            app::users::UserUpdate {
                id: ana.id,
                display_name: "Ana Renamed".into(),
                email: String::new(),
                roles: vec![],
            },
        )
        .await
        .unwrap();
        check_searches(db, &["lima", "renamed", "ana"]).await;
        assert_eq!(keys::list(db, query("lima", 1, 10)).await.unwrap().total, 0);

        // A first use leaves the never-used count; deleting a used key leaves it as it is.
        use sea_orm::{ColumnTrait, QueryFilter};
        app::entities::api_keys::Entity::update_many()
            .col_expr(
                app::entities::api_keys::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(Some(chrono::Utc::now())),
            )
            .filter(app::entities::api_keys::Column::ClientId.eq(issued[2].client_id.clone()))
            .exec(db)
            .await
            .unwrap();
        check_searches(db, &["ana"]).await;

        // Deleted keys leave the index and the total; new ones join both.
        keys::delete(
            db,
            &Actor::cli(),
            Selection::Ids(vec![
                issued[0].client_id.clone(),
                issued[2].client_id.clone(),
            ]),
        )
        .await
        .unwrap();
        check_searches(db, &searches).await;
        harness::named_key(db, "late", "Late Arrival").await;
        keys::create(db, &harness::test_hasher(), &Actor::cli(), "ana")
            .await
            .unwrap();
        check_searches(db, &searches).await;
        check_searches(db, &["late arr", "renamed"]).await;

        // Every key marked used in one statement, then two uses taken back in one: the stored
        // count follows (PostgreSQL counts a statement's first uses at once).
        let column = app::entities::api_keys::Column::LastUsedAt;
        app::entities::api_keys::Entity::update_many()
            .col_expr(
                column,
                sea_orm::sea_query::Expr::value(Some(chrono::Utc::now())),
            )
            .exec(db)
            .await
            .unwrap();
        check_searches(db, &["ana"]).await;
        app::entities::api_keys::Entity::update_many()
            .col_expr(
                column,
                sea_orm::sea_query::Expr::value(None::<chrono::DateTime<chrono::Utc>>),
            )
            .filter(
                app::entities::api_keys::Column::ClientId
                    .is_in([issued[1].client_id.clone(), issued[3].client_id.clone()]),
            )
            .exec(db)
            .await
            .unwrap();
        check_searches(db, &["ana"]).await;

        // On SQLite writers leave the index's merging to the hourly maintenance; after it the
        // searches find the same.
        if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
            let automerge: Option<i64> = harness::first_value(
                db,
                "SELECT v FROM api_key_search_config WHERE k = 'automerge'",
            )
            .await;
            assert_eq!(
                automerge,
                Some(0),
                "no merging inside the writer's transaction"
            );
        }
        // On SQLite a deleting transaction notes its keys' index entries, and the hourly task
        // takes them out: afterwards the index holds exactly the keys there are.
        let sqlite = db.get_database_backend() == sea_orm::DbBackend::Sqlite;
        let count = |sql: &'static str| async move {
            harness::first_value::<i64>(db, sql)
                .await
                .unwrap_or_default()
        };
        if sqlite {
            assert_eq!(
                count("SELECT COUNT(*) FROM api_key_search_removed").await,
                2
            );
        }
        app::db::tidy_search_index(db).await.unwrap();
        check_searches(db, &searches).await;
        if sqlite {
            assert_eq!(
                count("SELECT COUNT(*) FROM api_key_search_removed").await,
                0
            );
            assert_eq!(
                count("SELECT COUNT(*) FROM api_key_search").await,
                count("SELECT COUNT(*) FROM api_keys").await,
            );
        }
    })
    .await;
}

/// However many removals bulk deletes noted, the hourly task takes them all out of SQLite's
/// search index, a batch at a time, and leaves the entries of the keys that remain.
#[tokio::test]
async fn the_search_index_is_tidied_in_batches_until_no_removal_is_left() {
    harness::each_backend(|b| async move {
        let db = &b.db;
        if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
            // Nothing to tidy: PostgreSQL's search rows go with their keys.
            app::db::tidy_search_index(db).await.unwrap();
            return;
        }
        use sea_orm::ConnectionTrait;
        harness::named_key(db, "kept", "Kept User").await;
        // Entries of 4,500 keys that are gone (more than two batches), noted as deletes note them.
        db.execute_unprepared(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500) \
             INSERT INTO api_key_search (rowid, text) SELECT 1000000 + i, 'gone-' || i FROM n",
        )
        .await
        .unwrap();
        db.execute_unprepared(
            "INSERT INTO api_key_search_removed (id) \
             SELECT rowid FROM api_key_search WHERE rowid > 1000000",
        )
        .await
        .unwrap();
        let count = |sql: &'static str| async move {
            harness::first_value::<i64>(db, sql)
                .await
                .unwrap_or_default()
        };
        assert_eq!(count("SELECT COUNT(*) FROM api_key_search").await, 4501);

        app::db::tidy_search_index(db).await.unwrap();
        assert_eq!(
            count("SELECT COUNT(*) FROM api_key_search_removed").await,
            0
        );
        assert_eq!(count("SELECT COUNT(*) FROM api_key_search").await, 1);
        assert_eq!(
            count("SELECT COUNT(*) FROM api_key_search WHERE api_key_search MATCH '\"gone\"'")
                .await,
            0
        );
        assert_eq!(keys::list(db, query("kept", 1, 10)).await.unwrap().total, 1);
    })
    .await;
}

#[tokio::test]
async fn refreshed_planner_statistics_leave_the_list_as_it_was_and_sqlite_without_samples() {
    harness::each_backend(|b| async move {
        let db = &b.db;
        for i in 0..30 {
            harness::named_key(db, &format!("stat-{i:02}"), &format!("Stat User {i}")).await;
        }
        let before = keys::list(db, query("stat-", 2, 10)).await.unwrap();
        app::db::refresh_statistics(db).await.unwrap();
        // Twice: the hourly task runs it again over existing statistics.
        app::db::refresh_statistics(db).await.unwrap();
        let after = keys::list(db, query("stat-", 2, 10)).await.unwrap();
        assert_eq!(
            before.keys.iter().map(|k| &k.user_key).collect::<Vec<_>>(),
            after.keys.iter().map(|k| &k.user_key).collect::<Vec<_>>()
        );
        assert_eq!((before.total, after.total), (30, 30));
        if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
            let count = |table: &'static str| async move {
                harness::first_value::<i64>(db, &format!("SELECT COUNT(*) FROM {table}"))
                    .await
                    .unwrap()
            };
            assert!(count("sqlite_stat1").await > 0, "ANALYZE ran");
            // Samples would make every statement binding the clock be planned again.
            assert_eq!(count("sqlite_stat4").await, 0, "no STAT4 samples kept");
        }
    })
    .await;
}

/// Every page of `base` by its number (pages in the later half are read from the end).
async fn pages_by_number(db: &sea_orm::DatabaseConnection, base: &KeyQuery) -> Vec<Vec<String>> {
    let first = keys::list(db, base.clone()).await.unwrap();
    let pages = first.total.div_ceil(first.per_page).max(1);
    let mut out = Vec::new();
    for page in 1..=pages {
        let shown = keys::list(
            db,
            KeyQuery {
                page,
                ..base.clone()
            },
        )
        .await
        .unwrap();
        assert_eq!(shown.page, page);
        out.push(shown.keys.into_iter().map(|k| k.user_key).collect());
    }
    out
}

/// Page `page` of every key, 10 a page, starting from `start`.
async fn seek(
    db: &sea_orm::DatabaseConnection,
    page: u64,
    start: app::api_keys::PageStart,
) -> app::api_keys::ApiKeyPage {
    keys::list(
        db,
        KeyQuery {
            page,
            start: Some(start),
            ..query("", 1, 10)
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn next_and_prev_seek_from_the_keys_shown_and_agree_with_the_numbered_pages() {
    use app::api_keys::PageStart;
    harness::each_backend(|b| async move {
        let db = &b.db;
        keys::seed(db, &harness::test_hasher(), 0, 45)
            .await
            .unwrap();
        key_for(db, "Zed-Mixed-Case").await;
        // Searched (trigram index on both databases), scanned (two characters: SQLite reads
        // every row) and unsearched lists, 10 a page and 20.
        for (search, per_page) in [("", 10), ("", 20), ("seed-00001", 10), ("ed", 10)] {
            let base = query(search, 1, per_page);
            let numbered = pages_by_number(db, &base).await;
            let everything: Vec<String> = numbered.concat();
            let mut sorted = everything.clone();
            sorted.sort_by_key(|k| k.to_lowercase());
            sorted.dedup();
            assert_eq!(
                everything, sorted,
                "{search:?}: numbered pages in user-key order, none twice"
            );
            assert!(numbered.iter().all(|p| !p.is_empty()));
            // A page number past the end shows the last page, whether near enough to be read
            // beside the count (page 99, past 980 keys) or not (page 1000).
            for beyond in [numbered.len() as u64 + 1, 99, 1000] {
                let shown = keys::list(
                    db,
                    KeyQuery {
                        page: beyond,
                        ..base.clone()
                    },
                )
                .await
                .unwrap();
                let users: Vec<String> = shown.keys.into_iter().map(|k| k.user_key).collect();
                assert_eq!(
                    (shown.page, &users),
                    (numbered.len() as u64, numbered.last().unwrap()),
                    "{search:?}: page {beyond}"
                );
            }

            // Next from page 1 to the end gives the same pages; Prev from the end back again.
            let mut forward = Vec::new();
            let mut shown = keys::list(db, base.clone()).await.unwrap();
            loop {
                forward.push(
                    shown
                        .keys
                        .iter()
                        .map(|k| k.user_key.clone())
                        .collect::<Vec<_>>(),
                );
                let Some(start) = shown.next_start() else {
                    break;
                };
                assert!(matches!(start, PageStart::After(_)));
                shown = keys::list(
                    db,
                    KeyQuery {
                        page: shown.page + 1,
                        start: Some(start),
                        ..base.clone()
                    },
                )
                .await
                .unwrap();
            }
            assert_eq!(forward, numbered, "{search:?}: Next");
            let mut backward = Vec::new();
            loop {
                backward.push(
                    shown
                        .keys
                        .iter()
                        .map(|k| k.user_key.clone())
                        .collect::<Vec<_>>(),
                );
                let Some(start) = shown.prev_start() else {
                    break;
                };
                shown = keys::list(
                    db,
                    KeyQuery {
                        page: shown.page - 1,
                        start: Some(start),
                        ..base.clone()
                    },
                )
                .await
                .unwrap();
            }
            backward.reverse();
            assert_eq!(backward, numbered, "{search:?}: Prev");
        }

        // Another administrator deletes a key of page 1 after it was shown: Next still starts
        // right after the last key shown (an offset would now skip one).
        let page_one = keys::list(db, query("", 1, 10)).await.unwrap();
        let next = page_one.next_start().unwrap();
        keys::delete(
            db,
            &Actor::cli(),
            Selection::Ids(vec![page_one.keys[0].client_id.clone()]),
        )
        .await
        .unwrap();
        let page_two = seek(db, 2, next).await;
        assert_eq!(page_two.keys[0].user_key, "seed-000010");
        let by_offset = keys::list(db, query("", 2, 10)).await.unwrap();
        assert_eq!(
            by_offset.keys[0].user_key, "seed-000011",
            "what keyset paging avoids"
        );

        // Links whose keys have gone: nothing after it shows the page by number; less than a
        // page before it shows the first page.
        let past_the_end = seek(db, 3, PageStart::After("zzz".into())).await;
        assert_eq!(
            (past_the_end.page, past_the_end.keys[0].user_key.as_str()),
            (3, "seed-000021")
        );
        let near_the_start = seek(db, 2, PageStart::Before("seed-000005".into())).await;
        assert_eq!(
            (
                near_the_start.page,
                near_the_start.keys[0].user_key.as_str(),
                near_the_start.keys.len()
            ),
            (1, "seed-000001", 10)
        );
        // A Prev that finds a full page shows it, ending just before its key.
        let before = seek(db, 2, PageStart::Before("seed-000025".into())).await;
        let users: Vec<&str> = before.keys.iter().map(|k| k.user_key.as_str()).collect();
        assert_eq!(users.first(), Some(&"seed-000015"));
        assert_eq!(users.last(), Some(&"seed-000024"));
    })
    .await;
}

#[test]
fn a_page_link_starts_after_a_key_or_before_one_never_both_or_oversized() {
    use app::api_keys::PageStart;
    assert_eq!(PageStart::from_query("", "").unwrap(), None);
    assert_eq!(
        PageStart::from_query("ana", "").unwrap(),
        Some(PageStart::After("ana".into()))
    );
    assert_eq!(
        PageStart::from_query("", "bo").unwrap(),
        Some(PageStart::Before("bo".into()))
    );
    assert!(matches!(
        PageStart::from_query("a", "b"),
        Err(AppError::Validation { .. })
    ));
    assert!(matches!(
        PageStart::from_query(&"k".repeat(256), ""),
        Err(AppError::Validation { .. })
    ));
}

#[tokio::test]
async fn a_key_carries_its_users_sort_key_and_the_database_refuses_one_without() {
    use app::entities::api_keys as rows;
    use sea_orm::{ActiveModelTrait, ConnectionTrait, QueryFilter, Set, Statement};
    harness::each_backend(|b| async move {
        let db = &b.db;
        let issued = key_for(db, "Mixed.Case-User").await;
        let key = rows::Entity::find()
            .filter(sea_orm::ColumnTrait::eq(
                &rows::Column::ClientId,
                issued.client_id.as_str(),
            ))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(key.user_key_lower, "mixed.case-user");
        // Written without it (a future code path forgetting the copy), the insert fails.
        harness::user(db, "no-sort-key").await;
        let other = app::entities::users::Entity::find()
            .filter(sea_orm::ColumnTrait::eq(
                &app::entities::users::Column::UserKeyLower,
                "no-sort-key",
            ))
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .id;
        let refused = rows::ActiveModel {
            client_id: Set("F".repeat(32)),
            user_id: Set(other),
            secret_hash: Set("x".into()),
            secret_generation: Set(1),
            created_at: Set(chrono::Utc::now()),
            created_by: Set("test".into()),
            ..Default::default()
        }
        .insert(db)
        .await;
        assert!(refused.is_err());
        // A change of the user's key (the application makes none) is carried over.
        db.execute_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "UPDATE users SET user_key_lower = 'renamed' WHERE id = {}",
                key.user_id
            ),
        ))
        .await
        .unwrap();
        let key = rows::Entity::find_by_id(key.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(key.user_key_lower, "renamed");
    })
    .await;
}
