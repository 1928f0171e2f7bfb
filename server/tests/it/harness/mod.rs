//! Test support: run a test body against a fresh SQLite file and a throw-away PostgreSQL database.
#![allow(dead_code)]

pub mod cli;
pub mod client;
pub mod fixtures;
pub mod keepalive;
pub mod logs;
pub mod postgres;
pub mod process;
pub mod s3;
pub mod standin;
pub mod tmpfs;

pub use client::{page, post_json, send, server_fn_request, Answer};
pub use fixtures::{key_for, named_key, person, signed_in, user, TEST_PASSWORD};

use std::future::Future;
use std::panic::AssertUnwindSafe;

use app::config::{DatabaseKind, DatabaseUrl};
use futures::FutureExt;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// PostgreSQL is skipped only when the test command could not reach or start one and said so.
fn postgres_skipped() -> bool {
    std::env::var("XK_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

#[derive(Clone)]
pub struct Backend {
    pub db: DatabaseConnection,
    pub kind: DatabaseKind,
    pub url: DatabaseUrl,
}

/// A migrated, empty database of each kind, handed to `test` one after the other.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    each_backend_unmigrated(|backend| async {
        Migrator::up(&backend.db, None)
            .await
            .expect("migrations apply");
        test(backend).await;
    })
    .await;
}

/// Like [`each_backend`], without running the migrations first.
pub async fn each_backend_unmigrated<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = DatabaseUrl::sqlite_file(&dir.path().join("test.db"));
    let db = app::db::connect(&url).await.expect("open sqlite");
    test(Backend {
        db,
        kind: DatabaseKind::Sqlite,
        url,
    })
    .await;

    if postgres_skipped() {
        eprintln!("!!! PostgreSQL SKIPPED for this test: XK_TEST_SKIP_POSTGRES=1 !!!");
        return;
    }
    let database = postgres::ThrowawayDatabase::create("xk_test")
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL for tests is not reachable at XK_TEST_POSTGRES ({e}); start it, or \
                 set XK_TEST_SKIP_POSTGRES=1 to skip it knowingly"
            )
        });
    let url = database.url.clone();
    let db = app::db::connect(&url).await.expect("open postgres");
    let outcome = AssertUnwindSafe(test(Backend {
        db: db.clone(),
        kind: DatabaseKind::Postgres,
        url,
    }))
    .catch_unwind()
    .await;
    let _ = db.close().await;
    database.drop_now().await.expect("drop test database");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Names of the tables in the database, sorted.
pub async fn table_names(backend: &Backend) -> Vec<String> {
    let sql = match backend.kind {
        DatabaseKind::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        DatabaseKind::Postgres => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        }
    };
    let rows = backend
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            backend.db.get_database_backend(),
            sql,
        ))
        .await
        .expect("list tables");
    rows.iter()
        .map(|r| r.try_get::<String>("", "name").expect("name column"))
        .collect()
}

/// The first column of the first row `sql` returns, or `None` when it returns no row.
pub async fn first_value<T: sea_orm::TryGetable>(db: &DatabaseConnection, sql: &str) -> Option<T> {
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql,
    ))
    .await
    .expect("the query runs")
    .map(|row| row.try_get_by_index::<T>(0).expect("a value of that type"))
}

/// The default secret scheme with a fixed test pepper.
pub fn test_hasher() -> app::api_keys::secret::SecretHasher {
    use app::api_keys::secret::{HashScheme, Pepper, SecretHasher};
    SecretHasher::new(
        HashScheme::HmacSha256,
        Pepper::new(vec![42u8; 32]).expect("pepper"),
    )
}

/// The state the server would build, on `db`, with default configuration.
pub fn app_state(db: DatabaseConnection) -> app::state::AppState {
    state_with(db, Vec::new())
}

/// The state the server would build with `DATABASE_URL` naming `backend`'s database, so parts
/// that look at the database's files (the SQLite owner cache) watch the right ones.
pub fn app_state_of(backend: &Backend) -> app::state::AppState {
    state_with(
        backend.db.clone(),
        vec![("DATABASE_URL".to_string(), backend.url.expose().to_string())],
    )
}

/// Like [`app_state_of`], with more settings (`XRAY_KEYS_*` names and values).
pub fn app_state_with(backend: &Backend, extra: &[(&str, &str)]) -> app::state::AppState {
    let mut settings = vec![("DATABASE_URL".to_string(), backend.url.expose().to_string())];
    settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    state_with(backend.db.clone(), settings)
}

/// Like [`app_state`], serving the compiled client's files from `site_root`.
pub fn app_state_serving(
    db: DatabaseConnection,
    site_root: &std::path::Path,
) -> app::state::AppState {
    let options = leptos::config::LeptosOptions::builder()
        .output_name(app::OUTPUT_NAME)
        .site_root(site_root.display().to_string())
        .build();
    state_from(db, Vec::new(), options)
}

fn state_with(db: DatabaseConnection, settings: Vec<(String, String)>) -> app::state::AppState {
    let options = leptos::config::LeptosOptions::builder()
        .output_name(app::OUTPUT_NAME)
        .build();
    state_from(db, settings, options)
}

fn state_from(
    db: DatabaseConnection,
    settings: Vec<(String, String)>,
    options: leptos::config::LeptosOptions,
) -> app::state::AppState {
    let config = app::config::Config::from_vars(settings).expect("test configuration");
    app::state::AppState::new(db, config, options, test_hasher(), test_master_key())
}

/// A fixed master key for tests.
pub fn test_master_key() -> app::vault::MasterKey {
    app::vault::MasterKey::new([9u8; 32])
}

/// Runs a test that renders pages: on one runtime shared by the test binary, one test at a time.
/// Leptos keeps process-wide rendering state; the server builds its router once, but tests
/// building routers and rendering concurrently were seen to hang now and then.
pub fn block_on<F: Future>(future: F) -> F::Output {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("test runtime")
    });
    RUNTIME.block_on(future)
}

/// Asks `check` up to `tries` times, `every` apart, until it says yes; whether it did. For what
/// happens in the background (a use recorded after the answer, a notification on its way).
pub async fn eventually(
    tries: u32,
    every: std::time::Duration,
    mut check: impl AsyncFnMut() -> bool,
) -> bool {
    for _ in 0..tries {
        if check().await {
            return true;
        }
        tokio::time::sleep(every).await;
    }
    false
}

/// [`eventually`] for a test without a runtime: blocks between tries.
pub fn eventually_blocking(
    tries: u32,
    every: std::time::Duration,
    mut check: impl FnMut() -> bool,
) -> bool {
    for _ in 0..tries {
        if check() {
            return true;
        }
        std::thread::sleep(every);
    }
    false
}
