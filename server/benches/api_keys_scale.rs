//! API Keys at scale: list and search latency with 100,000 keys (also with the lifecycle
//! filters), and bulk regenerate of 1,000
//! and 10,000 keys, on SQLite and PostgreSQL. Prints figures; asserts nothing about time.
//!
//! `make bench` (or `cargo bench -p server --bench api_keys_scale`). Set `XK_BENCH_KEYS` for
//! another size and `XK_TEST_POSTGRES` for another PostgreSQL (admin URL).

// Tests and benchmarks stop at the first surprise; unwrap and expect say where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use app::api_keys::secret::{ClientSecret, HashScheme, Pepper, SecretHasher};
use app::api_keys::{service, KeyFilter, KeyQuery, Selection};
use app::audit::service::Actor;
use app::config::DatabaseUrl;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

#[path = "../tests/it/harness/postgres.rs"]
mod postgres;
use postgres::ThrowawayDatabase;

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

async fn measure<F, Fut>(mut f: F) -> (Duration, Duration)
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
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

async fn raw(db: &DatabaseConnection, sql: &str) {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_string(),
    ))
    .await
    .expect("raw query");
}

/// The WHERE clause the list builds for `search`, written out by hand.
fn raw_filter(search: &str) -> String {
    if search.is_empty() {
        return String::new();
    }
    // The benchmark's searches hold no quote, %, _ or backslash.
    let lower = search.to_lowercase();
    let upper = search.to_uppercase();
    format!(
        "WHERE u.user_key_lower LIKE '%{lower}%' ESCAPE '\\' OR u.display_name_lower LIKE '%{lower}%' ESCAPE '\\' OR k.client_id LIKE '%{upper}%' ESCAPE '\\'"
    )
}

async fn run(label: &str, db: DatabaseConnection, keys: u64) {
    println!("\n### {label}, {keys} keys\n");
    Migrator::up(&db, None).await.expect("migrate");
    let start = Instant::now();
    service::seed(&db, &hasher(), 0, keys).await.expect("seed");
    println!(
        "Seeded in {:.1} s. Each figure: {ROUNDS} calls after 5 warm-up calls, one at a time; \
         the raw SQL is the same page query and count, run directly on the connection.\n",
        start.elapsed().as_secs_f64()
    );
    println!("| Query | p50 | p99 | raw SQL p50 | raw SQL p99 | app / raw (p50) |");
    println!("|---|---:|---:|---:|---:|---:|");
    let cases = [
        ("list, pages 1-50, 10 a page", ""),
        ("search by user key (`seed-0500`, 100 matches)", "seed-0500"),
        ("search by display name (`user 4242`)", "user 4242"),
        ("search matching nothing", "no-such-user"),
    ];
    for (name, search) in cases {
        let (p50, p99) = measure(|i| {
            let db = db.clone();
            async move {
                service::list(
                    &db,
                    KeyQuery {
                        filter: Default::default(),
                        search: search.into(),
                        page: (i as u64 % 50) + 1,
                        per_page: 10,
                    },
                )
                .await
                .expect("list");
            }
        })
        .await;
        let filter = raw_filter(search);
        let (raw_p50, raw_p99) = measure(|i| {
            let db = db.clone();
            let filter = filter.clone();
            async move {
                let offset = (i % 50) * 10;
                raw(&db, &format!("SELECT k.*, u.* FROM api_keys k LEFT JOIN users u ON k.user_id = u.id {filter} ORDER BY u.user_key_lower, k.id LIMIT 10 OFFSET {offset}")).await;
                raw(&db, &format!("SELECT COUNT(*) FROM api_keys k LEFT JOIN users u ON k.user_id = u.id {filter}")).await;
            }
        })
        .await;
        println!(
            "| {name} | {} | {} | {} | {} | {:.2} |",
            ms(p50),
            ms(p99),
            ms(raw_p50),
            ms(raw_p99),
            p50.as_secs_f64() / raw_p50.as_secs_f64()
        );
    }

    filtered(&db).await;

    println!(
        "\n| Bulk regenerate | took | hashing that many secrets alone | regenerate / hashing |"
    );
    println!("|---|---:|---:|---:|");
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
                filter: Default::default(),
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
                filter: Default::default(),
                search: search.into(),
                expected,
            },
        )
        .await
        .expect("regenerate");
        let took = start.elapsed();
        println!(
            "| {} keys | {} | {} | {:.1} |",
            issued.len(),
            ms(took),
            ms(hashing),
            took.as_secs_f64() / hashing.as_secs_f64()
        );
    }
}

/// The list with the lifecycle filters ("Show"), beside the unfiltered list of the same run. Gives
/// 1% of the keys an expiry three days away and half of them a use yesterday first.
async fn filtered(db: &DatabaseConnection) {
    use app::entities::api_keys as rows;
    use sea_orm::sea_query::Expr;
    use sea_orm::{EntityTrait, QueryFilter};
    let now = chrono::Utc::now();
    rows::Entity::update_many()
        .col_expr(
            rows::Column::ExpiresAt,
            Expr::value(Some(now + chrono::Duration::days(3))),
        )
        .filter(Expr::cust("id % 100 = 0"))
        .exec(db)
        .await
        .expect("expiries");
    rows::Entity::update_many()
        .col_expr(
            rows::Column::LastUsedAt,
            Expr::value(Some(now - chrono::Duration::days(1))),
        )
        .filter(Expr::cust("id % 2 = 0"))
        .exec(db)
        .await
        .expect("uses");
    let list = |filter: KeyFilter, search: &'static str| {
        let db = db.clone();
        move |i: usize| {
            let db = db.clone();
            async move {
                service::list(
                    &db,
                    KeyQuery {
                        filter,
                        search: search.into(),
                        page: (i as u64 % 50) + 1,
                        per_page: 10,
                    },
                )
                .await
                .expect("list");
            }
        }
    };
    let (base_p50, _) = measure(list(KeyFilter::All, "")).await;
    println!(
        "\n| Filter (\"Show\"), pages 1-50 | p50 | p99 | unfiltered list p50, same run | filtered / unfiltered (p50) |"
    );
    println!("|---|---:|---:|---:|---:|");
    let cases = [
        ("Expiring soon (1% of keys)", KeyFilter::ExpiringSoon, ""),
        ("Never used (half)", KeyFilter::NeverUsed, ""),
        ("Active", KeyFilter::Active, ""),
        (
            "Unused for 90+ days + search `seed-0500`",
            KeyFilter::Unused,
            "seed-0500",
        ),
    ];
    for (name, filter, search) in cases {
        let (p50, p99) = measure(list(filter, search)).await;
        println!(
            "| {name} | {} | {} | {} | {:.2} |",
            ms(p50),
            ms(p99),
            ms(base_p50),
            p50.as_secs_f64() / base_p50.as_secs_f64()
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
        println!("## API Keys at scale");
        let dir = tempfile::tempdir().expect("temp dir");
        let url = DatabaseUrl::sqlite_file(&dir.path().join("bench.db"));
        let db = app::db::connect(&url).await.expect("sqlite");
        run("SQLite", db, keys).await;

        match ThrowawayDatabase::create("xk_bench").await {
            Ok(database) => {
                let db = app::db::connect(&database.url).await.expect("postgres");
                run("PostgreSQL", db.clone(), keys).await;
                let _ = db.close().await;
                database.drop_now().await.expect("drop db");
            }
            Err(e) => println!("\n### PostgreSQL: SKIPPED, not reachable ({e})"),
        }
    });
}
