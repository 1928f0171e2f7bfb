//! The schema migrates up, all the way down, and up again, on SQLite and PostgreSQL.

use crate::harness;

use migrations::{Migrator, MigratorTrait};

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    harness::each_backend_unmigrated(|backend| async move {
        let expected = [
            "api_keys",
            "audit_log",
            "seaql_migrations",
            "sessions",
            "settings",
            "throttle",
            "users",
            "xray_credentials",
        ];

        Migrator::up(&backend.db, None).await.expect("first up");
        let tables = harness::table_names(&backend).await;
        for table in expected {
            assert!(
                tables.contains(&table.to_string()),
                "{table} missing after up: {tables:?}"
            );
        }
        assert!(Migrator::get_pending_migrations(&backend.db)
            .await
            .unwrap()
            .is_empty());

        Migrator::down(&backend.db, None)
            .await
            .expect("all the way down");
        let tables = harness::table_names(&backend).await;
        assert_eq!(
            tables,
            vec!["seaql_migrations".to_string()],
            "only the ledger remains"
        );
        let pending = Migrator::get_pending_migrations(&backend.db).await.unwrap();
        assert_eq!(pending.len(), Migrator::migrations().len());

        Migrator::up(&backend.db, None).await.expect("second up");
        let tables = harness::table_names(&backend).await;
        for table in expected {
            assert!(
                tables.contains(&table.to_string()),
                "{table} missing after re-up"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = app::config::DatabaseUrl::sqlite_file(&dir.path().join("nested/dir/x.db"));
    let db = app::db::connect(&url)
        .await
        .expect("creates the folder and the file");
    let journal_mode: String = harness::first_value(&db, "PRAGMA journal_mode")
        .await
        .unwrap();
    assert_eq!(journal_mode, "wal");
    let foreign_keys: i64 = harness::first_value(&db, "PRAGMA foreign_keys")
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1);
}

#[tokio::test]
async fn sqlite_commits_reach_the_disk_before_they_are_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let url = app::config::DatabaseUrl::sqlite_file(&dir.path().join("full.db"));
    let db = app::db::connect(&url).await.unwrap();
    let synchronous: i32 = harness::first_value(&db, "PRAGMA synchronous")
        .await
        .unwrap();
    // 2 = FULL: in WAL mode, NORMAL (1) can lose the last commits on a power cut.
    assert_eq!(synchronous, 2);
}

/// The bundled SQLite is built with the query planner stability guarantee (`.cargo/config.toml`):
/// without it SQLite 3.51 plans a statement again whenever a bound `LIMIT` changes, which is
/// nearly every read sea-orm makes.
#[tokio::test]
async fn sqlite_plans_a_prepared_statement_once() {
    harness::each_backend(|backend| async move {
        if backend.kind != app::config::DatabaseKind::Sqlite {
            return;
        }
        let qpsg: Option<i32> = harness::first_value(
            &backend.db,
            "SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_QPSG'",
        )
        .await;
        assert_eq!(qpsg, Some(1), "SQLite built without ENABLE_QPSG");
    })
    .await;
}

/// On PostgreSQL the Expiring soon page and its count read only the `expires_at` index (the
/// planner picks it for the narrow range whatever else exists): it holds every column they need,
/// so they do not visit each matching key's row (migration 19).
#[tokio::test]
async fn postgres_answers_expiring_soon_from_the_expiry_index() {
    harness::each_backend(|backend| async move {
        if backend.kind != app::config::DatabaseKind::Postgres {
            return;
        }
        let definition: String = harness::first_value(
            &backend.db,
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_api_keys_expires_at'",
        )
        .await
        .expect("the expiry index exists");
        assert!(
            definition.ends_with("(expires_at) INCLUDE (is_active, user_key_lower, id)"),
            "{definition}"
        );
    })
    .await;
}
