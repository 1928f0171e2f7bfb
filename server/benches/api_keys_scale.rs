//! API Keys at scale: list and search latency at 100,000 and 1,000,000 keys (also with the
//! lifecycle filters) beside the same SQL run raw, with each query's plan; bulk regenerate and
//! delete of 1,000 to 100,000 keys beside hashing that many secrets; on SQLite and PostgreSQL.
//! Prints figures; asserts nothing about time.
//!
//! `make bench` (or `cargo bench -p server --bench api_keys_scale`). Set `XK_BENCH_KEYS` for
//! other sizes (comma-separated) and `XK_TEST_POSTGRES` for another PostgreSQL (admin URL).

// Tests and benchmarks stop at the first surprise; unwrap and expect say where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use app::api_keys::secret::{ClientSecret, HashScheme, Pepper, SecretHasher};
use app::api_keys::{service, KeyFilter, KeyQuery, PageStart, Selection};
use app::audit::service::Actor;
use app::config::DatabaseUrl;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

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

/// The columns the list reads of each key and its user, as the app's `ApiKeyRow`; `{ids}` is
/// the page's keys, chosen from `api_keys` alone.
const LISTED: &str = "SELECT k.client_id, k.created_at, k.created_by, k.regenerated_at, \
    k.regenerated_by, k.secret_generation, k.last_used_at, k.description, k.expires_at, \
    k.is_active, k.last_failed_at, k.last_failed_reason, u.user_key, u.display_name, \
    u.is_active AS user_active, CASE WHEN k.previous_secret_hash IS NOT NULL \
    THEN k.previous_secret_expires_at END AS old_secret_until \
    FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id IN ({ids}) \
    ORDER BY k.user_key_lower";

/// The list's page query, with `ids` choosing the page's keys.
fn listed(ids: &str) -> String {
    LISTED.replace("{ids}", ids)
}

/// The SQL the list runs for `search`, written out by hand: the page query (`{page}` to be
/// filled in with the page's seek: an order, a limit and an offset, or a key condition) and the
/// count.
fn raw_list(backend: DbBackend, search: &str) -> (String, String) {
    if search.is_empty() {
        return (
            listed("SELECT id FROM api_keys {page}"),
            "SELECT keys FROM api_key_totals WHERE id = 1".into(),
        );
    }
    // The benchmark's searches hold no quote, %, _ or backslash.
    let lower = search.to_lowercase();
    let found = match backend {
        DbBackend::Postgres => {
            format!("SELECT id FROM api_key_search WHERE text LIKE '%{lower}%' ESCAPE '\\'")
        }
        _ => format!("SELECT rowid FROM api_key_search WHERE api_key_search MATCH '\"{lower}\"'"),
    };
    // On PostgreSQL the matches are found behind an `OFFSET 0` fence before they are sorted.
    let page = match backend {
        DbBackend::Postgres => format!(
            "SELECT id FROM (SELECT id, user_key_lower FROM api_keys WHERE id IN ({found}) \
             OFFSET 0) AS found {{page}}"
        ),
        _ => format!("SELECT id FROM api_keys WHERE id IN ({found}) {{page}}"),
    };
    (
        listed(&page),
        format!("SELECT COUNT(*) FROM api_keys WHERE id IN ({found})"),
    )
}

/// The seek of page `page` by its number, 10 a page, as the app writes it: pages past the
/// middle are read backwards from the end.
fn by_number(page: u64, total: u64) -> String {
    let skipped = (page - 1) * 10;
    if skipped > total / 2 {
        let end = (skipped + 10).min(total);
        format!(
            "ORDER BY user_key_lower DESC LIMIT {} OFFSET {}",
            end - skipped,
            total - end
        )
    } else {
        format!("ORDER BY user_key_lower LIMIT 10 OFFSET {skipped}")
    }
}

/// The database's plan for `sql`, one line per step.
async fn plan(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    let backend = db.get_database_backend();
    let explain = match backend {
        DbBackend::Postgres => format!("EXPLAIN {sql}"),
        _ => format!("EXPLAIN QUERY PLAN {sql}"),
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, explain))
        .await
        .expect("explain");
    rows.iter()
        .map(|row| match backend {
            DbBackend::Postgres => row.try_get_by_index::<String>(0).expect("plan line"),
            _ => {
                let detail: String = row.try_get_by_index(3).expect("plan detail");
                detail
            }
        })
        .collect()
}

fn list_query(search: &str, filter: KeyFilter, page: u64) -> KeyQuery {
    KeyQuery {
        filter,
        search: search.into(),
        page,
        per_page: 10,
        start: None,
    }
}

async fn run(label: &str, db: DatabaseConnection, keys: u64) {
    println!("\n### {label}, {keys} keys\n");
    Migrator::up(&db, None).await.expect("migrate");
    let start = Instant::now();
    service::seed(&db, &hasher(), 0, keys).await.expect("seed");
    let seeded = start.elapsed();
    let start = Instant::now();
    app::db::refresh_statistics(&db).await.expect("statistics");
    if db.get_database_backend() == DbBackend::Postgres {
        // What autovacuum does after a large insert, here at once: it lets counts read only
        // the index (index-only scans need the visibility map).
        raw(&db, "VACUUM api_keys, users, api_key_search").await;
    }
    println!(
        "Seeded in {:.1} s, planner statistics refreshed in {} (as the server does at start and \
         hourly; on PostgreSQL also a VACUUM, as autovacuum does after many inserts). Each figure: {ROUNDS} calls after 5 warm-up calls, one at a time; the raw SQL \
         is the same page query and count, written out by hand and run directly on the \
         connection.\n",
        seeded.as_secs_f64(),
        ms(start.elapsed())
    );
    println!("| Query | p50 | p99 | raw SQL p50 | raw SQL p99 | app / raw (p50) |");
    println!("|---|---:|---:|---:|---:|---:|");
    // A fragment of one key's Client Id, as someone pasting part of it would search.
    let some_id = service::list(&db, list_query("", KeyFilter::All, 7))
        .await
        .expect("a page")
        .keys[3]
        .client_id[4..14]
        .to_lowercase();
    let some_id: &'static str = Box::leak(some_id.into_boxed_str());
    // The middle page is the deepest any page is read by number (later ones are read from the
    // end); Next from the page before it seeks instead.
    let middle = keys / 20;
    let middle_name: &'static str = Box::leak(
        format!(
            "list, page {middle} of {} (the middle), by number",
            keys / 10
        )
        .into_boxed_str(),
    );
    let next_name: &'static str =
        Box::leak(format!("list, page {middle} by Next from page {}", middle - 1).into_boxed_str());
    let last_name: &'static str =
        Box::leak(format!("list, page {} (the last), by number", keys / 10).into_boxed_str());
    let before_middle = format!("seed-{:06}", (middle - 1) * 10 - 1);
    let cases: Vec<(&str, &str, u64, Option<PageStart>)> = vec![
        ("list, page 1, 10 a page", "", 1, None),
        ("list, page 50, 10 a page", "", 50, None),
        (middle_name, "", middle, None),
        (
            next_name,
            "",
            middle,
            Some(PageStart::After(before_middle.clone())),
        ),
        (last_name, "", keys / 10, None),
        (
            "search by user key (`seed-0500`, 100 matches)",
            "seed-0500",
            1,
            None,
        ),
        ("search by display name (`user 4242`)", "user 4242", 1, None),
        (
            "search by a Client Id fragment (10 characters)",
            some_id,
            1,
            None,
        ),
        ("search matching nothing", "no-such-user", 1, None),
    ];
    let backend = db.get_database_backend();
    let mut plans = Vec::new();
    for (name, search, page, start) in cases {
        let query = KeyQuery {
            start: start.clone(),
            ..list_query(search, KeyFilter::All, page)
        };
        let (p50, p99) = measure(|_| {
            let db = db.clone();
            let query = query.clone();
            async move {
                service::list(&db, query).await.expect("list");
            }
        })
        .await;
        let (page_sql, count_sql) = raw_list(backend, search);
        let seek = match &start {
            Some(PageStart::After(key)) => {
                format!("WHERE user_key_lower > '{key}' ORDER BY user_key_lower LIMIT 10")
            }
            Some(PageStart::Before(key)) => {
                format!("WHERE user_key_lower < '{key}' ORDER BY user_key_lower DESC LIMIT 10")
            }
            None => by_number(page, keys),
        };
        let page_sql = page_sql.replace("{page}", &seek);
        let (raw_p50, raw_p99) = measure(|_| {
            let db = db.clone();
            let (page_sql, count_sql) = (page_sql.clone(), count_sql.clone());
            async move {
                raw(&db, &page_sql).await;
                raw(&db, &count_sql).await;
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
        if page != 1 || search == "seed-0500" {
            plans.push((name, page_sql.clone(), plan(&db, &page_sql).await));
        }
        if search == "seed-0500" {
            plans.push((name, count_sql.clone(), plan(&db, &count_sql).await));
        }
    }

    filtered(&db, &mut plans).await;
    user_search(&db, &mut plans).await;
    bulk(&db, keys).await;

    println!("\n<details><summary>Query plans ({label}, {keys} keys)</summary>\n");
    for (name, sql, lines) in plans {
        println!(
            "{name}:\n\n```sql\n{sql}\n```\n\n```text\n{}\n```\n",
            lines.join("\n")
        );
    }
    println!("</details>");
}

/// The Create API Key picker and the Users page searching users by a fragment, beside the scan
/// of every user's names both did before the users' trigram index (raw SQL, same run).
async fn user_search(
    db: &DatabaseConnection,
    plans: &mut Vec<(&'static str, String, Vec<String>)>,
) {
    use app::users::{service as users, UserQuery};
    println!(
        "\n| User search | p50 | p99 | scanning every user's names, p50 (raw SQL, same run) | scan / app (p50) |"
    );
    println!("|---|---:|---:|---:|---:|");
    let scan = |search: &str| {
        format!(
            "SELECT id FROM users WHERE is_active = TRUE AND (user_key_lower LIKE '%{search}%' \
             OR display_name_lower LIKE '%{search}%') ORDER BY user_key_lower LIMIT 20"
        )
    };
    let cases: [(&str, &str); 4] = [
        ("picker: a fragment every user shares (`seed-`)", "seed-"),
        (
            "picker: users past the first thousand (`seed-0999`)",
            "seed-0999",
        ),
        ("picker: by display name (`user 4242`)", "user 4242"),
        ("picker: matching nobody", "no-such-user"),
    ];
    let report = |name: &str, (p50, p99): (Duration, Duration), (base, _): (Duration, Duration)| {
        println!(
            "| {name} | {} | {} | {} | {:.1} |",
            ms(p50),
            ms(p99),
            ms(base),
            base.as_secs_f64() / p50.as_secs_f64()
        );
    };
    for (name, search) in cases {
        let app = measure(|_| {
            let db = db.clone();
            async move {
                service::candidates(&db, search).await.expect("candidates");
            }
        })
        .await;
        let sql = scan(search);
        let base = measure(|_| {
            let db = db.clone();
            let sql = sql.clone();
            async move { raw(&db, &sql).await }
        })
        .await;
        report(name, app, base);
    }
    let app = measure(|_| {
        let db = db.clone();
        async move {
            users::search(
                &db,
                UserQuery {
                    search: "no-such-user".into(),
                    page: 1,
                    per_page: 10,
                },
            )
            .await
            .expect("users page");
        }
    })
    .await;
    let count = "SELECT COUNT(*) FROM users WHERE user_key_lower LIKE '%no-such-user%' \
                 OR display_name_lower LIKE '%no-such-user%'";
    let base = measure(|_| {
        let db = db.clone();
        async move { raw(&db, count).await }
    })
    .await;
    report(
        "Users page: search matching nobody (count and page)",
        app,
        base,
    );
    let indexed = match db.get_database_backend() {
        DbBackend::Postgres => "SELECT id FROM users WHERE is_active = TRUE AND \
             (users.user_key_lower || chr(10) || users.display_name_lower) LIKE '%no-such-user%' \
             ORDER BY user_key_lower LIMIT 20"
            .to_string(),
        _ => "SELECT id FROM users WHERE is_active = TRUE AND id IN (SELECT rowid FROM \
             user_search WHERE user_search MATCH '\"no-such-user\"') ORDER BY user_key_lower LIMIT 20"
            .to_string(),
    };
    let lines = plan(db, &indexed).await;
    plans.push((
        "picker, matching nobody (after its first look)",
        indexed,
        lines,
    ));
}

/// Bulk regenerate and delete, against hashing that many secrets alone; at 100,000 keys or
/// fewer also "All" of every key.
async fn bulk(db: &DatabaseConnection, keys: u64) {
    println!("\n| Bulk operation | took | hashing that many secrets alone | took / hashing |");
    println!("|---|---:|---:|---:|");
    let all_of = |search: &'static str| {
        let db = db.clone();
        async move {
            let expected = service::list(&db, list_query(search, KeyFilter::All, 1))
                .await
                .expect("count")
                .total;
            Selection::AllMatching {
                filter: Default::default(),
                search: search.into(),
                expected,
            }
        }
    };
    let hashing = |n: u64| {
        let start = Instant::now();
        let h = hasher();
        for _ in 0..n {
            h.hash(&ClientSecret::generate().expect("secret"))
                .expect("hash");
        }
        start.elapsed()
    };
    let row = |what: String, took: Duration, hashing: Duration| {
        println!(
            "| {what} | {} | {} | {:.1} |",
            ms(took),
            ms(hashing),
            took.as_secs_f64() / hashing.as_secs_f64()
        );
    };
    let mut steps: Vec<(&str, &'static str)> = vec![
        ("regenerate", "seed-001"),
        ("regenerate", "seed-02"),
        ("delete", "seed-01"),
    ];
    if keys <= 100_000 {
        steps.push(("regenerate", ""));
        steps.push(("delete", ""));
    }
    for (what, search) in steps {
        let selection = all_of(search).await;
        let start = Instant::now();
        let n = if what == "regenerate" {
            service::regenerate(db, &hasher(), &Actor::cli(), selection)
                .await
                .expect("regenerate")
                .len() as u64
        } else {
            service::delete(db, &Actor::cli(), selection)
                .await
                .expect("delete")
        };
        let took = start.elapsed();
        let scope = if search.is_empty() { "All, " } else { "" };
        row(format!("{what} {scope}{n} keys"), took, hashing(n));
    }
}

/// The list with the lifecycle filters ("Show"), beside the unfiltered list of the same run. Gives
/// 1% of the keys an expiry three days away and half of them a use yesterday first.
async fn filtered(db: &DatabaseConnection, plans: &mut Vec<(&'static str, String, Vec<String>)>) {
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
    app::db::refresh_statistics(db).await.expect("statistics");
    if db.get_database_backend() == DbBackend::Postgres {
        // Autovacuum's work after half the keys changed, here at once (as after the seed).
        raw(db, "VACUUM api_keys").await;
    }
    let page_50 = "ORDER BY user_key_lower LIMIT 10 OFFSET 490";
    // As the app writes it: on SQLite a unary + keeps the planner off that column's index.
    let unindexed = if db.get_database_backend() == DbBackend::Sqlite {
        "+"
    } else {
        ""
    };
    let expiring = "is_active = TRUE AND expires_at > '2026-12-05 00:00:00+00:00' \
                    AND expires_at <= '2026-12-12 00:00:00+00:00'";
    let page = |condition: String| {
        listed(&format!(
            "SELECT id FROM api_keys WHERE {condition} {page_50}"
        ))
    };
    for (name, sql) in [
        ("Expiring soon, page 50", page(expiring.to_string())),
        (
            "Expiring soon, count",
            format!("SELECT COUNT(*) FROM api_keys WHERE {expiring}"),
        ),
        (
            "Active, page 50",
            page(format!(
                "{unindexed}is_active = TRUE AND ({unindexed}expires_at IS NULL \
                 OR {unindexed}expires_at > '2026-12-05 00:00:00+00:00')"
            )),
        ),
        (
            "Never used, page 50",
            page(format!("{unindexed}last_used_at IS NULL")),
        ),
        (
            "Never used, count",
            "SELECT COUNT(*) FROM api_keys WHERE last_used_at IS NULL".to_string(),
        ),
        (
            "Active, count: the inactive keys (subtracted from the total)",
            "SELECT COUNT(*) FROM api_keys WHERE is_active = FALSE".to_string(),
        ),
    ] {
        let lines = plan(db, &sql).await;
        plans.push((name, sql, lines));
    }
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
                        start: None,
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
    // Comma-separated sizes; each is seeded afresh on both databases.
    let sizes: Vec<u64> = std::env::var("XK_BENCH_KEYS")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|n| n.trim().parse().expect("XK_BENCH_KEYS: numbers"))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!("## API Keys at scale");
        for keys in sizes {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = DatabaseUrl::sqlite_file(&dir.path().join("bench.db"));
            let db = app::db::connect(&url).await.expect("sqlite");
            run("SQLite", db.clone(), keys).await;
            let _ = db.close().await;

            match ThrowawayDatabase::create("xk_bench").await {
                Ok(database) => {
                    let db = app::db::connect(&database.url).await.expect("postgres");
                    run("PostgreSQL", db.clone(), keys).await;
                    let _ = db.close().await;
                    database.drop_now().await.expect("drop db");
                }
                Err(e) => println!("\n### PostgreSQL: SKIPPED, not reachable ({e})"),
            }
        }
    });
}
