//! A bounded flood of wrong secrets at `POST /api/v2/authenticate` of the real server, over
//! loopback only, with a fixed number of requests: the server's memory stays flat, the flooding
//! address is answered 429, and a valid client on another address keeps authenticating.

use crate::harness;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use app::api_keys::secret::{HashScheme, Pepper, SecretHasher};
use harness::keepalive::{post_json, Conn};
use harness::process::Server;

const PEPPER: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";
const CONNECTIONS: u64 = 8;
/// Requests per phase, over all connections; three phases.
const PER_PHASE: u64 = 12_000;

/// The server's resident memory, from /proc.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("/proc status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_secrets_is_throttled_in_flat_memory_while_valid_clients_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data folder");
    let url = app::config::DatabaseUrl::sqlite_file(&data.join("xray-keys.db"));
    let db = app::db::connect(&url).await.expect("database");
    use migrations::MigratorTrait;
    migrations::Migrator::up(&db, None).await.expect("migrate");
    let hasher = SecretHasher::new(
        HashScheme::HmacSha256,
        Pepper::from_hex(PEPPER).expect("pepper"),
    );
    let cli = app::audit::service::Actor::cli();
    for user in ["valid-client", "victim"] {
        let new = app::users::NewUser {
            user_key: user.into(),
            display_name: user.into(),
            email: String::new(),
            roles: vec![],
        };
        app::users::service::create_user(&db, &cli, new, None)
            .await
            .expect("user");
    }
    let valid = app::api_keys::service::create(&db, &hasher, &cli, "valid-client")
        .await
        .expect("key");
    // The flood also targets a real key's Client Id: its owner must not be locked out.
    let victim = app::api_keys::service::create(&db, &hasher, &cli, "victim")
        .await
        .expect("key");
    db.close().await.expect("close");

    let server =
        tokio::task::block_in_place(|| Server::start(dir.path(), &[("XRAY_KEYS_PEPPER", PEPPER)]));
    let addr = SocketAddr::from(([127, 0, 0, 1], server.port));

    let answered = Arc::new(AtomicU64::new(0));
    let mut rss = vec![rss_kib(server.pid())];
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    let mut valid_ok = 0u64;
    let mut victim_ok = 0u64;
    for phase in 0..3u64 {
        let mut flood = Vec::new();
        for c in 0..CONNECTIONS {
            let victim_id = victim.client_id.clone();
            let answered = answered.clone();
            flood.push(tokio::spawn(async move {
                let mut conn = Conn::open_from(addr, [127, 0, 0, 1]).await;
                let mut seen = std::collections::BTreeMap::<u16, u64>::new();
                for i in 0..PER_PHASE / CONNECTIONS {
                    let client_id = if i % 4 == 0 {
                        victim_id.clone()
                    } else {
                        format!("{phase:016X}{c:08X}{i:08X}")
                    };
                    let body = format!(
                        r#"{{"client_id":"{client_id}","client_secret":"{}"}}"#,
                        "0".repeat(64)
                    );
                    let status = conn.call(&post_json("/api/v2/authenticate", &body)).await;
                    if status == 429 {
                        let text = conn.text();
                        assert!(
                            text.to_ascii_lowercase().contains("retry-after:"),
                            "429 says when to retry: {text}"
                        );
                    }
                    *seen.entry(status).or_default() += 1;
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                seen
            }));
        }
        // Meanwhile the real clients, from other loopback addresses, sign in again and again.
        let mut valid_conn = Conn::open_from(addr, [127, 0, 0, 2]).await;
        let mut victim_conn = Conn::open_from(addr, [127, 0, 0, 3]).await;
        while !flood.iter().all(tokio::task::JoinHandle::is_finished) {
            for (conn, key, ok) in [
                (&mut valid_conn, &valid, &mut valid_ok),
                (&mut victim_conn, &victim, &mut victim_ok),
            ] {
                let body = format!(
                    r#"{{"client_id":"{}","client_secret":"{}"}}"#,
                    key.client_id, key.client_secret
                );
                let status = conn.call(&post_json("/api/v2/authenticate", &body)).await;
                assert_eq!(
                    status,
                    200,
                    "a valid client is refused during the flood: {}",
                    conn.text()
                );
                *ok += 1;
            }
        }
        for task in flood {
            for (status, n) in task.await.expect("flood task") {
                *statuses.entry(status).or_default() += n;
            }
        }
        rss.push(rss_kib(server.pid()));
    }
    println!(
        "{} wrong-secret requests: {statuses:?}; valid sign-ins during the flood: {valid_ok} + {victim_ok} (victim); RSS KiB after each phase: {rss:?}",
        answered.load(Ordering::Relaxed)
    );

    assert_eq!(answered.load(Ordering::Relaxed), 3 * PER_PHASE);
    let total: u64 = statuses.values().sum();
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        vec![401, 429],
        "only refusals and throttling: {statuses:?}"
    );
    assert!(
        statuses[&401] <= 50,
        "the flooding address gets exactly its allowance of 50 failures, however parallel: {statuses:?}"
    );
    assert_eq!(statuses[&429], total - statuses[&401]);
    assert!(
        valid_ok > 0 && victim_ok > 0,
        "the real clients were served"
    );
    // Flat: after the first phase has warmed the caches and pools, two more phases of the same
    // flood grow the server by less than 4 MiB (a per-request leak of 200 bytes would show).
    let growth = rss[3].saturating_sub(rss[1]);
    assert!(
        growth < 4 * 1024,
        "resident memory grew by {growth} KiB over {} requests: {rss:?}",
        2 * PER_PHASE
    );
    drop(server);
}
