//! API Keys at scale: list and search latency with 100,000 keys, and bulk regenerate of 1,000
//! and 10,000 keys, on SQLite and PostgreSQL. Prints figures; asserts nothing about time.
//!
//! `make bench` (or `cargo bench -p server --bench api_keys_scale`). Set `XK_BENCH_KEYS` for
//! another size and `XK_TEST_POSTGRES` for another PostgreSQL (admin URL).

use std::time::{Duration, Instant};

use app::api_keys::secret::{ClientSecret, HashScheme, Pepper, SecretHasher};
use app::api_keys::{service, KeyQuery, Selection};
use app::audit::service::Actor;
use app::config::DatabaseUrl;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

const ROUNDS: usize = 200;

fn hasher() -> SecretHasher {
    SecretHasher::new(
        HashScheme::HmacSha256,
        Pepper::new(vec![9u8; 32]).expect("pepper"),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn measure<F, Fut>(label: &str, mut f: F) -> (Duration, Duration)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for i in 0..5 {
        f(i).await; // warm-up
    }
    let mut times = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS {
        let start = Instant::now();
        f(i).await;
        times.push(start.elapsed());
    }
    times.sort();
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    println!("  {label:<44} p50 {:>10}  p99 {:>10}", ms(p50), ms(p99));
    (p50, p99)
}

async fn raw(db: &DatabaseConnection, sql: &str) {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_string(),
    ))
    .await
    .expect("raw query");
}

async fn run(label: &str, db: DatabaseConnection, keys: u64) {
    println!("\n## {label}: {keys} keys");
    Migrator::up(&db, None).await.expect("migrate");
    let start = Instant::now();
    service::seed(&db, &hasher(), 0, keys).await.expect("seed");
    println!("  seeded in {:.1} s", start.elapsed().as_secs_f64());

    let list = |search: &'static str| {
        let db = db.clone();
        move |i: usize| {
            let db = db.clone();
            async move {
                let page = (i as u64 % 50) + 1;
                service::list(
                    &db,
                    KeyQuery {
                        search: search.into(),
                        page,
                        per_page: 10,
                    },
                )
                .await
                .expect("list");
            }
        }
    };
    let (list_p50, _) = measure("list, page 1-50 of all keys, 10 a page", list("")).await;
    let (raw_p50, _) = measure("  raw SQL: same page and count", |i| {
        let db = db.clone();
        async move {
            let offset = (i % 50) * 10;
            raw(&db, &format!("SELECT k.*, u.user_key, u.display_name, u.is_active FROM api_keys k LEFT JOIN users u ON k.user_id = u.id ORDER BY u.user_key_lower, k.id LIMIT 10 OFFSET {offset}")).await;
            raw(&db, "SELECT COUNT(*) FROM api_keys k LEFT JOIN users u ON k.user_id = u.id").await;
        }
    })
    .await;
    println!(
        "  ratio list / raw SQL: {:.2}",
        list_p50.as_secs_f64() / raw_p50.as_secs_f64()
    );
    measure(
        "search by user key (seed-0500, 100 matches)",
        list("seed-0500"),
    )
    .await;
    measure("search by display name (user 4242)", list("user 4242")).await;
    measure("search matching nothing", list("no-such-user")).await;

    for n in [1_000u64, 10_000] {
        if n > keys {
            continue;
        }
        let start = Instant::now();
        let secrets: Vec<ClientSecret> = (0..n)
            .map(|_| ClientSecret::generate().expect("secret"))
            .collect();
        let h = hasher();
        for s in &secrets {
            h.hash(s).expect("hash");
        }
        let hashing = start.elapsed();
        let search = if n == 1_000 { "seed-001" } else { "seed-01" };
        let expected = service::list(
            &db,
            KeyQuery {
                search: search.into(),
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("count")
        .total;
        let start = Instant::now();
        let issued = service::regenerate(
            &db,
            &hasher(),
            &Actor::cli(),
            Selection::AllMatching {
                search: search.into(),
                expected,
            },
        )
        .await
        .expect("regenerate");
        let took = start.elapsed();
        println!(
            "  bulk regenerate {:>6} keys: {:>9.1} ms   (hashing {} secrets alone: {:.1} ms)",
            issued.len(),
            took.as_secs_f64() * 1000.0,
            n,
            hashing.as_secs_f64() * 1000.0
        );
    }
}

fn main() {
    let keys: u64 = std::env::var("XK_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!("# API Keys at scale ({} rounds per figure)", ROUNDS);
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::sqlite_file(&dir.path().join("bench.db"));
        let db = app::db::connect(&url).await.expect("sqlite");
        run("SQLite", db, keys).await;

        let admin_url = std::env::var("XK_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        match Database::connect(&admin_url).await {
            Ok(admin) => {
                let name = format!("xk_bench_{:08x}", rand::random::<u32>());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create db");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url)
                    .to_string();
                let url = DatabaseUrl::parse(&format!("{base}/{name}")).expect("url");
                let db = app::db::connect(&url).await.expect("postgres");
                run("PostgreSQL", db.clone(), keys).await;
                let _ = db.close().await;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .expect("drop db");
            }
            Err(e) => println!("\n## PostgreSQL: SKIPPED, not reachable ({e})"),
        }
    });
}
