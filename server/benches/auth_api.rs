//! Throughput and latency of the authentication API against a bare axum handler, measured with
//! one load tool in one run, on SQLite and PostgreSQL; and the cost of one secret verification
//! under each hash scheme. Prints figures and the targets they are held against; asserts nothing.
//!
//! `make bench-auth` (or `cargo bench -p server --bench auth_api`). `XK_BENCH_SECONDS` sets the
//! measuring time per endpoint (default 5), `XK_BENCH_CONNECTIONS` the concurrency (default 16),
//! `XK_BENCH_PAGE_KEYS` the keys in the database behind the server-rendered page (default 100,000).
//! `XK_BENCH_PROFILE_PAGE=SECONDS` only loads the page for that long on SQLite (for `perf record`),
//! or on PostgreSQL with `XK_BENCH_PROFILE_DB=postgres`.
//!
//! The load tool is a closed loop of keep-alive HTTP/1.1 connections written here (no client
//! library), so it costs the same for every endpoint. Server and load share this machine's cores,
//! as they would on a small host.

// Tests and benchmarks stop at the first surprise; unwrap and expect say where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::api_keys::secret::{ClientSecret, HashScheme, Pepper, SecretHasher};
use app::audit::service::Actor;
use app::config::DatabaseUrl;
use app::state::AppState;
use app::users::{service as users, NewUser};
use axum::routing::get;
use axum::Router;
use migrations::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;

#[path = "../tests/it/harness/keepalive.rs"]
mod keepalive;
use keepalive::Conn;

#[path = "../tests/it/harness/postgres.rs"]
mod postgres;
use postgres::ThrowawayDatabase;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn hasher(scheme: HashScheme) -> SecretHasher {
    SecretHasher::new(scheme, Pepper::new(vec![9u8; 32]).expect("pepper"))
}

struct Load {
    rps: f64,
    p50: Duration,
    p99: Duration,
    unexpected: usize,
}

/// Runs `connections` closed loops sending `request` for `seconds` after a one-second warm-up.
async fn load(
    addr: SocketAddr,
    request: Arc<Vec<u8>>,
    expected: u16,
    connections: u64,
    seconds: u64,
) -> Load {
    let warm_until = Instant::now() + Duration::from_secs(1);
    let stop_at = warm_until + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut times = Vec::with_capacity(100_000);
            let mut unexpected = 0;
            loop {
                let start = Instant::now();
                if start >= stop_at {
                    break;
                }
                let status = conn.call(&request).await;
                if start >= warm_until {
                    times.push(start.elapsed());
                    if status != expected {
                        unexpected += 1;
                    }
                }
            }
            (times, unexpected)
        }));
    }
    let mut all = Vec::new();
    let mut unexpected = 0;
    for t in tasks {
        let (times, bad) = t.await.expect("load task");
        all.extend(times);
        unexpected += bad;
    }
    all.sort();
    let at = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize];
    Load {
        rps: all.len() as f64 / seconds as f64,
        p50: at(0.5),
        p99: at(0.99),
        unexpected,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// One Markdown table row; `reference` is (a), the bare handler measured in the same run.
fn row(label: &str, l: &Load, reference: Option<&Load>) {
    println!(
        "| {label} | {:.0} | {} | {} | {} |{}",
        l.rps,
        ms(l.p50),
        ms(l.p99),
        reference
            .map(|a| format!("{:.3}", l.rps / a.rps))
            .unwrap_or_else(|| "1".into()),
        if l.unexpected > 0 {
            format!(" **{} answers had an unexpected status!**", l.unexpected)
        } else {
            String::new()
        }
    );
}

/// Serves `router` on a loopback port; call on the server's runtime.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    addr
}

fn post(path: &str, body: &str) -> Arc<Vec<u8>> {
    Arc::new(keepalive::post_json(path, body))
}

fn get_with(path: &str, authorization: &str) -> Arc<Vec<u8>> {
    Arc::new(
        format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: {authorization}\r\n\r\n")
            .into_bytes(),
    )
}

struct Prepared {
    addr: SocketAddr,
    authenticate: Arc<Vec<u8>>,
    whoami: Arc<Vec<u8>>,
    page: Arc<Vec<u8>>,
}

/// Sets up a key, `seeded_keys` more keys and an administrator's session, serves the app on `db`
/// (on the server runtime) and returns the requests to measure.
async fn prepare(db: DatabaseConnection, url: &DatabaseUrl, seeded_keys: u64) -> Prepared {
    Migrator::up(&db, None).await.expect("migrate");
    users::create_user(
        &db,
        &Actor::cli(),
        NewUser {
            user_key: "bench".into(),
            display_name: "Bench User".into(),
            ..Default::default()
        },
        None,
    )
    .await
    .expect("user");
    let key = app::api_keys::service::create(
        &db,
        &hasher(HashScheme::HmacSha256),
        &Actor::cli(),
        "bench",
    )
    .await
    .expect("key");
    app::api_keys::service::seed(&db, &hasher(HashScheme::HmacSha256), 0, seeded_keys)
        .await
        .expect("seed keys");
    // As the server does at start: the planner sees the seeded keys.
    app::db::refresh_statistics(&db)
        .await
        .expect("planner statistics");
    let admin = users::create_user(
        &db,
        &Actor::cli(),
        NewUser {
            user_key: "bench-admin".into(),
            display_name: "Bench Admin".into(),
            roles: vec![app::users::Role::Administrator],
            ..Default::default()
        },
        None,
    )
    .await
    .expect("admin");
    let session = app::auth::session::create(&db, admin.id, chrono::Utc::now())
        .await
        .expect("session");
    // The server's own configuration: DATABASE_URL names this database.
    let config = app::config::Config::from_vars(vec![(
        "DATABASE_URL".to_string(),
        url.expose().to_string(),
    )])
    .expect("config");
    let state = AppState::new(
        db,
        config,
        leptos::config::LeptosOptions::builder()
            .output_name(app::OUTPUT_NAME)
            .build(),
        hasher(HashScheme::HmacSha256),
        app::vault::MasterKey::new([5u8; 32]),
    );
    state
        .token_keys
        .ensure(&state.db)
        .await
        .expect("signing key");
    // As `serve` does: PostgreSQL's change listener lets whoami answer from the owner cache.
    app::xray_api::owners::spawn_change_listener(&state.db, state.change_feed.clone());
    while state.db.get_database_backend() == sea_orm::DbBackend::Postgres
        && !state.change_feed.is_live()
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let addr = serve(server::serve::router(state)).await;

    let authenticate = post(
        "/api/v2/authenticate",
        &serde_json::json!({ "client_id": key.client_id, "client_secret": key.client_secret })
            .to_string(),
    );
    let mut conn = Conn::open(addr).await;
    assert_eq!(conn.call(&authenticate).await, 200, "authenticate works");
    let token: String = serde_json::from_slice(conn.body()).expect("token");
    let whoami = get_with("/api/v2/whoami", &format!("Bearer {token}"));
    assert_eq!(conn.call(&whoami).await, 200, "whoami works");
    let page = Arc::new(
        format!("GET /api-keys?size=100 HTTP/1.1\r\nHost: bench\r\nAccept: text/html\r\nCookie: xk_session={session}\r\n\r\n")
            .into_bytes(),
    );
    assert_eq!(conn.call(&page).await, 200, "the API Keys page renders");
    let rows = String::from_utf8_lossy(&conn.buf).matches("<tr").count();
    assert!(rows > 100, "100 rows and a header, saw {rows} <tr");
    Prepared {
        addr,
        authenticate,
        whoami,
        page,
    }
}

async fn measure(label: &str, bare: SocketAddr, prepared: Prepared) {
    let (connections, seconds) = (
        env_or("XK_BENCH_CONNECTIONS", 16),
        env_or("XK_BENCH_SECONDS", 5),
    );
    println!("\n### {label}\n");
    println!(
        "{connections} connections in closed loops over loopback, {seconds} s per endpoint after \
         1 s of warm-up; the load generator shares the machine's cores with the server.\n"
    );
    println!("| Endpoint | req/s | p50 | p99 | req/s vs (a) |");
    println!("|---|---:|---:|---:|---:|");
    let a = load(
        bare,
        Arc::new(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n".to_vec()),
        200,
        connections,
        seconds,
    )
    .await;
    row("(a) bare axum handler (reference)", &a, None);
    let b = load(
        prepared.addr,
        prepared.authenticate,
        200,
        connections,
        seconds,
    )
    .await;
    row("(b) `POST /api/v2/authenticate`", &b, Some(&a));
    let c = load(prepared.addr, prepared.whoami, 200, connections, seconds).await;
    row("(c) `GET /api/v2/whoami` (bearer token)", &c, Some(&a));
    // Where the time goes: the app's router and middleware without any database work.
    let d = load(
        prepared.addr,
        Arc::new(b"GET /api/v2/no-such-endpoint HTTP/1.1\r\nHost: bench\r\n\r\n".to_vec()),
        404,
        connections,
        seconds,
    )
    .await;
    row(
        "(d) app router and middleware, no database (404)",
        &d,
        Some(&a),
    );
    let e = load(prepared.addr, prepared.page, 200, connections, seconds).await;
    row("(e) server-rendered API Keys page, 100 rows", &e, Some(&a));
    let verdict = |ok: bool| if ok { "meets" } else { "MISSES" };
    println!(
        "\nTargets: (b) {:.0} req/s {} 500 req/s; (c)/(a) = {:.3} {} 0.30.",
        b.rps,
        verdict(b.rps >= 500.0),
        c.rps / a.rps,
        verdict(c.rps / a.rps >= 0.30)
    );
}

/// What `synchronous=FULL` costs on SQLite: the same measures on a database opened with
/// `synchronous=NORMAL`, in the same run.
fn durability(server_rt: &tokio::runtime::Runtime, load_rt: &tokio::runtime::Runtime) {
    use app::api_keys::Selection;
    use app::db::SqliteDurability;
    let (connections, seconds) = (
        env_or("XK_BENCH_CONNECTIONS", 16),
        env_or("XK_BENCH_SECONDS", 5),
    );
    println!("\n### SQLite durability: `synchronous=FULL` (shipped) against `NORMAL`\n");
    println!(
        "FULL syncs the WAL at every commit, so an acknowledged issue or revocation survives a \
         power cut; NORMAL syncs only at checkpoints. Same machine, same run, a fresh database each.\n"
    );
    println!("| Measure | FULL | NORMAL (reference) | FULL / NORMAL |");
    println!("|---|---:|---:|---:|");
    let mut figures = Vec::new();
    for mode in [SqliteDurability::Full, SqliteDurability::Normal] {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::sqlite_file(&dir.path().join("durability.db"));
        let (db, prepared) = server_rt.block_on(async {
            let db = app::db::connect_with(&url, mode).await.expect("sqlite");
            // 150 keys: this part measures commits, and seeds 850 more itself.
            let prepared = prepare(db.clone(), &url, 150).await;
            (db, prepared)
        });
        let auth = load_rt.block_on(load(
            prepared.addr,
            prepared.authenticate.clone(),
            200,
            connections,
            seconds,
        ));
        let (single, bulk) = server_rt.block_on(async {
            let h = hasher(HashScheme::HmacSha256);
            let listed = app::api_keys::service::list(
                &db,
                app::api_keys::KeyQuery {
                    filter: Default::default(),
                    search: "seed-".into(),
                    page: 1,
                    per_page: 10,
                    start: None,
                },
            )
            .await
            .expect("list");
            let id = listed.keys[0].client_id.clone();
            // One commit each: a single key regenerated, as the row action does.
            let mut times: Vec<Duration> = Vec::new();
            for _ in 0..200 {
                let start = Instant::now();
                app::api_keys::service::regenerate(
                    &db,
                    &h,
                    &Actor::cli(),
                    Selection::Ids(vec![id.clone()]),
                )
                .await
                .expect("regenerate one");
                times.push(start.elapsed());
            }
            times.sort();
            app::api_keys::service::seed(&db, &h, 150, 850)
                .await
                .expect("seed");
            let start = Instant::now();
            let issued = app::api_keys::service::regenerate(
                &db,
                &h,
                &Actor::cli(),
                Selection::AllMatching {
                    filter: Default::default(),
                    search: "seed-".into(),
                    expected: 1000,
                },
            )
            .await
            .expect("bulk regenerate");
            assert_eq!(issued.len(), 1000);
            (times[100], start.elapsed())
        });
        figures.push((auth.rps, single, bulk));
    }
    let (full, normal) = (figures[0], figures[1]);
    println!(
        "| `POST /api/v2/authenticate` | {:.0} req/s | {:.0} req/s | {:.2} |",
        full.0,
        normal.0,
        full.0 / normal.0
    );
    println!(
        "| regenerate one key (one commit), p50 of 200 | {} | {} | {:.2} |",
        ms(full.1),
        ms(normal.1),
        full.1.as_secs_f64() / normal.1.as_secs_f64()
    );
    println!(
        "| bulk regenerate of 1,000 keys (one commit) | {} | {} | {:.2} |",
        ms(full.2),
        ms(normal.2),
        full.2.as_secs_f64() / normal.2.as_secs_f64()
    );
}

/// [`prepare`] on a SQLite file in `dir`.
async fn page_on_sqlite(dir: &std::path::Path, seeded_keys: u64) -> Prepared {
    let url = DatabaseUrl::sqlite_file(&dir.join("bench.db"));
    let db = app::db::connect(&url).await.expect("sqlite");
    prepare(db, &url, seeded_keys).await
}

/// [`prepare`] on a throw-away PostgreSQL database (dropped by the caller); `None` when
/// PostgreSQL is not reachable.
async fn page_on_postgres(seeded_keys: u64) -> Option<(ThrowawayDatabase, Prepared)> {
    let database = ThrowawayDatabase::create("xk_bench").await.ok()?;
    let db = app::db::connect(&database.url).await.expect("postgres");
    let prepared = prepare(db, &database.url, seeded_keys).await;
    Some((database, prepared))
}

fn main() {
    // The server and the load tool each get a runtime of two worker threads, as the server
    // binary has on this machine; both share its cores.
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    };
    let server_rt = runtime();
    let load_rt = runtime();

    println!("## Authentication API and the server-rendered page");
    println!("\n### One secret verification, per hash scheme (median of 200)\n");
    println!("| Scheme | median |");
    println!("|---|---:|");
    for scheme in [HashScheme::HmacSha256, HashScheme::Argon2id] {
        let h = hasher(scheme);
        let secret = ClientSecret::generate().expect("secret");
        let stored = h.hash(&secret).expect("hash");
        let mut times: Vec<Duration> = (0..200)
            .map(|_| {
                let start = Instant::now();
                assert!(h.verify(secret.expose(), &stored));
                start.elapsed()
            })
            .collect();
        times.sort();
        println!("| {scheme:?} | {:.3} µs |", times[100].as_secs_f64() * 1e6);
    }

    let bare = server_rt.block_on(serve(Router::new().route("/", get(|| async { "ok" }))));

    // The keys behind the server-rendered page (issue 19 measures it at 100,000).
    let page_keys = env_or("XK_BENCH_PAGE_KEYS", 100_000);
    if let Some(seconds) = std::env::var("XK_BENCH_PROFILE_PAGE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let on_postgres = std::env::var("XK_BENCH_PROFILE_DB").as_deref() == Ok("postgres");
        let dir = tempfile::tempdir().expect("temp dir");
        let (prepared, database) = server_rt.block_on(async {
            if on_postgres {
                let (database, prepared) = page_on_postgres(page_keys)
                    .await
                    .expect("PostgreSQL reachable at XK_TEST_POSTGRES");
                (prepared, Some(database))
            } else {
                (page_on_sqlite(dir.path(), page_keys).await, None)
            }
        });
        // `XK_BENCH_PROFILE_WHOAMI=1` loads whoami instead of the page.
        let (request, name) = if std::env::var("XK_BENCH_PROFILE_WHOAMI").is_ok() {
            (prepared.whoami, "(c) `GET /api/v2/whoami` (bearer token)")
        } else {
            (prepared.page, "(e) server-rendered API Keys page, 100 rows")
        };
        let e = load_rt.block_on(load(
            prepared.addr,
            request,
            200,
            env_or("XK_BENCH_CONNECTIONS", 16),
            seconds,
        ));
        row(name, &e, None);
        if let Some(database) = database {
            server_rt.block_on(async {
                let _ = database.drop_now().await;
            });
        }
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = server_rt.block_on(page_on_sqlite(dir.path(), page_keys));
    load_rt.block_on(measure("SQLite", bare, sqlite));
    durability(&server_rt, &load_rt);

    match server_rt.block_on(page_on_postgres(page_keys)) {
        Some((database, prepared)) => {
            load_rt.block_on(measure("PostgreSQL", bare, prepared));
            server_rt.block_on(async {
                let _ = database.drop_now().await;
            });
        }
        None => println!("\n### PostgreSQL: SKIPPED, not reachable at XK_TEST_POSTGRES"),
    }
}
