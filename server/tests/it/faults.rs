//! Crash safety: the real server is killed with SIGKILL at random moments while an administrator
//! creates, regenerates and deletes API Keys and saves the Xray credentials. After every kill,
//! with the server down, the database must pass `PRAGMA integrity_check`, hold everything the
//! server answered with success, and hold no half-done operation; after the restart every key
//! the client knows authenticates through the server.
//!
//! Seeded and reproducible in what it asks for (`XK_FAULT_SEED`, default below); the moment of
//! each kill is random within the round. `XK_FAULT_ROUNDS` sets the number of rounds (200).

use crate::harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use app::api_keys::secret::{HashScheme, Pepper, SecretHasher};
use app::config::DatabaseUrl;
use harness::process::{request, Server};
use leptos::server_fn::ServerFn;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

const PEPPER: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
const MASTER_KEY: &str = "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a";
const USERS: usize = 60;
/// Kills land within this long after the server is ready; the workload runs back to back, so
/// nearly every kill interrupts a request.
const KILL_WINDOW_MICROS: u64 = 40_000;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the client knows, from answers it got.
#[derive(Default)]
struct Known {
    /// Client Id → user key and secret (`None`: an unanswered request may have changed it).
    keys: BTreeMap<String, (String, Option<String>)>,
    /// Users without a key, by the client's knowledge.
    keyless: Vec<String>,
    /// The last credentials saved with success: (Client ID, secret).
    credentials: Option<(String, String)>,
}

/// A request the server may or may not have carried out before it died.
#[derive(Debug)]
enum InFlight {
    Create { user_key: String },
    Regenerate { client_ids: Vec<String> },
    Delete { client_ids: Vec<String> },
    Save { client_id: String, secret: String },
}

#[derive(Default)]
struct Tally {
    interrupted: BTreeMap<&'static str, u64>,
    acknowledged: BTreeMap<&'static str, u64>,
    applied_after_all: u64,
}

fn hex(rng: &mut StdRng, chars: usize) -> String {
    (0..chars)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

struct Admin {
    cookie: String,
}

impl Admin {
    fn call(&self, port: u16, path: &str, content_type: &str, body: &str) -> Option<(u16, String)> {
        request(
            port,
            "POST",
            path,
            &[
                ("Cookie", self.cookie.as_str()),
                ("Content-Type", content_type),
                ("Accept", "application/json"),
            ],
            body,
        )
        .map(|r| (r.status, r.body))
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// One request of the workload, chosen by `rng`. `Err(in_flight)` when no answer came back.
fn step(
    rng: &mut StdRng,
    port: u16,
    admin: &Admin,
    known: &mut Known,
    tally: &mut Tally,
) -> Result<(), InFlight> {
    // Keys whose secret an interrupted request may have changed are regenerated first.
    let unknown: Vec<String> = known
        .keys
        .iter()
        .filter(|(_, (_, secret))| secret.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    let choice = if !unknown.is_empty() {
        1
    } else {
        rng.random_range(0..10)
    };
    match choice {
        0..=2 if !known.keyless.is_empty() => {
            let user_key = known.keyless[rng.random_range(0..known.keyless.len())].clone();
            let path = app::api_keys::CreateApiKey::PATH;
            let body = format!("user_key={user_key}");
            let Some((status, answer)) = admin.call(port, path, FORM, &body) else {
                return Err(InFlight::Create { user_key });
            };
            assert_eq!(status, 200, "create for {user_key}: {answer}");
            let issued: serde_json::Value = serde_json::from_str(&answer).expect("IssuedKey");
            known.keyless.retain(|k| *k != user_key);
            known.keys.insert(
                issued["client_id"].as_str().expect("client_id").into(),
                (user_key, issued["client_secret"].as_str().map(String::from)),
            );
            *tally.acknowledged.entry("create").or_default() += 1;
        }
        0..=5 if !known.keys.is_empty() => {
            let client_ids = if !unknown.is_empty() {
                unknown
            } else {
                let all: Vec<&String> = known.keys.keys().collect();
                let take = rng.random_range(1..=all.len());
                let start = rng.random_range(0..all.len());
                (0..take)
                    .map(|i| all[(start + i) % all.len()].clone())
                    .collect()
            };
            let body = serde_json::json!({ "selection": { "Ids": client_ids } }).to_string();
            let path = app::api_keys::RegenerateApiKeys::PATH;
            let Some((status, answer)) = admin.call(port, path, "application/json", &body) else {
                return Err(InFlight::Regenerate { client_ids });
            };
            assert_eq!(status, 200, "regenerate: {answer}");
            let issued: Vec<serde_json::Value> = serde_json::from_str(&answer).expect("keys");
            assert_eq!(issued.len(), client_ids.len(), "one new secret per key");
            for key in issued {
                let id = key["client_id"].as_str().expect("client_id");
                let entry = known.keys.get_mut(id).expect("a selected key");
                entry.1 = key["client_secret"].as_str().map(String::from);
            }
            *tally.acknowledged.entry("regenerate").or_default() += 1;
        }
        6 if !known.keys.is_empty() => {
            let id = known
                .keys
                .keys()
                .nth(rng.random_range(0..known.keys.len()))
                .cloned()
                .expect("a key");
            let client_ids = vec![id];
            let body = serde_json::json!({ "selection": { "Ids": client_ids } }).to_string();
            let path = app::api_keys::DeleteApiKeys::PATH;
            let Some((status, answer)) = admin.call(port, path, "application/json", &body) else {
                return Err(InFlight::Delete { client_ids });
            };
            assert_eq!(status, 200, "delete: {answer}");
            assert_eq!(answer.trim(), "1", "one key deleted");
            forget(known, &client_ids);
            *tally.acknowledged.entry("delete").or_default() += 1;
        }
        _ => {
            let (client_id, secret) = (hex(rng, 32).to_uppercase(), hex(rng, 64));
            // A closed port: the connection test after the save fails at once, and says so.
            let body = format!(
                "form[client_id]={client_id}&form[client_secret]={secret}&form[base_url]=custom&form[custom_url]=http%3A%2F%2F127.0.0.1%3A1&form[version]=0"
            );
            let path = app::credentials::SaveXrayCredentials::PATH;
            let Some((status, answer)) = admin.call(port, path, FORM, &body) else {
                return Err(InFlight::Save { client_id, secret });
            };
            assert_eq!(status, 200, "save: {answer}");
            assert!(answer.contains("Unreachable"), "the test ran: {answer}");
            known.credentials = Some((client_id, secret));
            *tally.acknowledged.entry("save").or_default() += 1;
        }
    }
    Ok(())
}

fn forget(known: &mut Known, client_ids: &[String]) {
    for id in client_ids {
        if let Some((user_key, _)) = known.keys.remove(id) {
            known.keyless.push(user_key);
        }
    }
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect(sql)
}

/// The single number a query answers (a count).
async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    rows(db, sql).await[0].try_get_by_index(0).expect(sql)
}

/// The checks with the server down: integrity, the interrupted request done entirely or not at
/// all, everything acknowledged present, every change matched by its audit entry.
async fn check_offline(
    dir: &Path,
    hasher: &SecretHasher,
    known: &mut Known,
    in_flight: Option<InFlight>,
    tally: &mut Tally,
) {
    let url = DatabaseUrl::sqlite_file(&dir.join("data/xray-keys.db"));
    let db = app::db::connect(&url).await.expect("open the database");
    let integrity: String = rows(&db, "PRAGMA integrity_check").await[0]
        .try_get_by_index(0)
        .expect("integrity_check answers");
    assert_eq!(integrity, "ok");

    // client_id → (user_key, secret_hash, generation)
    let mut stored = BTreeMap::new();
    for row in rows(
        &db,
        "SELECT k.client_id, u.user_key, k.secret_hash, k.secret_generation FROM api_keys k JOIN users u ON u.id = k.user_id",
    )
    .await
    {
        let id: String = row.try_get_by_index(0).expect("client_id");
        let user: String = row.try_get_by_index(1).expect("user_key");
        let hash: String = row.try_get_by_index(2).expect("hash");
        let generation: i32 = row.try_get_by_index(3).expect("generation");
        stored.insert(id, (user, hash, generation));
    }
    let matches = |id: &str, secret: &Option<String>| {
        let (_, hash, _) = &stored[id];
        secret.as_deref().is_some_and(|s| hasher.verify(s, hash))
    };

    // (client_id, secret) as stored, decrypted once.
    let key = app::vault::MasterKey::from_hex(MASTER_KEY).expect("master key");
    let credentials = app::credentials::service::read_stored(&db, &key)
        .await
        .expect("credentials decrypt")
        .map(|(row, secret)| (row.client_id, secret.expose().to_string()));

    match in_flight {
        None => {}
        Some(InFlight::Create { user_key }) => {
            if let Some((id, _)) = stored.iter().find(|(_, (user, _, _))| *user == user_key) {
                assert!(!known.keys.contains_key(id), "a new Client Id");
                known.keyless.retain(|k| *k != user_key);
                known.keys.insert(id.clone(), (user_key, None));
                tally.applied_after_all += 1;
            }
        }
        Some(InFlight::Regenerate { client_ids }) => {
            let kept = client_ids
                .iter()
                .filter(|id| matches(id, &known.keys[*id].1))
                .count();
            assert!(
                kept == 0 || kept == client_ids.len(),
                "a bulk regenerate was half done: {kept} of {} keys kept their secret",
                client_ids.len()
            );
            if kept == 0 {
                for id in &client_ids {
                    known.keys.get_mut(id).expect("selected").1 = None;
                }
                tally.applied_after_all += 1;
            }
        }
        Some(InFlight::Delete { client_ids })
            if client_ids.iter().all(|id| !stored.contains_key(id)) =>
        {
            forget(known, &client_ids);
            tally.applied_after_all += 1;
        }
        Some(InFlight::Delete { .. }) => {}
        Some(InFlight::Save { client_id, secret }) => {
            // A first save killed before its commit leaves no credentials at all.
            if credentials.as_ref() == Some(&(client_id.clone(), secret.clone())) {
                known.credentials = credentials.clone();
                tally.applied_after_all += 1;
            } else {
                assert_eq!(
                    credentials.as_ref(),
                    known.credentials.as_ref(),
                    "the credentials are the last saved or the interrupted save, never a mix"
                );
            }
        }
    }

    // Everything acknowledged is there, with the secret the client was shown.
    let ids: Vec<&String> = stored.keys().collect();
    let known_ids: Vec<&String> = known.keys.keys().collect();
    assert_eq!(ids, known_ids, "the stored keys are the acknowledged ones");
    for (id, (user, secret)) in &known.keys {
        assert_eq!(&stored[id].0, user);
        if secret.is_some() {
            assert!(matches(id, secret), "key {id} keeps its last secret");
        }
    }
    if known.credentials.is_some() {
        assert_eq!(credentials, known.credentials, "the last saved credentials");
    }

    // Each change and its audit entry were written together.
    let audited = |action: &str, target: &str| {
        format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND target = '{target}' AND outcome = 'success'"
        )
    };
    for (id, (_, _, generation)) in &stored {
        let created = count(&db, &audited("api_key_create", id)).await;
        let regenerated = count(&db, &audited("api_key_regenerate", id)).await;
        assert_eq!(created, 1, "key {id} has its creation audited once");
        assert_eq!(
            regenerated,
            i64::from(*generation) - 1,
            "key {id}: one audit entry per regeneration"
        );
    }
    let saves = count(
        &db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'credentials_save'",
    )
    .await;
    let version = count(
        &db,
        "SELECT COALESCE(MAX(version), 0) FROM xray_credentials",
    )
    .await;
    assert_eq!(saves, version, "one audit entry per credentials version");
    db.close().await.expect("close");
}

/// Through the restarted server: every key the client knows the secret of authenticates.
fn check_online(port: u16, known: &Known) {
    for (id, (user, secret)) in &known.keys {
        let Some(secret) = secret else { continue };
        let body = format!(r#"{{"client_id":"{id}","client_secret":"{secret}"}}"#);
        let answer = request(
            port,
            "POST",
            "/api/v2/authenticate",
            &[("Content-Type", "application/json")],
            &body,
        )
        .expect("an answer");
        assert_eq!(
            answer.status, 200,
            "the key of {user} authenticates after the restart: {}",
            answer.body
        );
    }
}

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged_and_leaves_nothing_half_done() {
    let seed = env_number("XK_FAULT_SEED", 0x5eed_2026);
    let rounds = env_number("XK_FAULT_ROUNDS", 200);
    let mut rng = StdRng::seed_from_u64(seed);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let vars = [
        ("XRAY_KEYS_PEPPER", PEPPER),
        ("XRAY_KEYS_MASTER_KEY", MASTER_KEY),
        // The saves name a closed loopback port as their API, as a test stand would.
        ("XRAY_KEYS_XRAY_HOSTS", "127.0.0.1:1"),
    ];
    let hasher = SecretHasher::new(
        HashScheme::HmacSha256,
        Pepper::from_hex(PEPPER).expect("pepper"),
    );

    // The users and an administrator's session, written before the first start.
    let mut known = Known::default();
    let admin = runtime.block_on(async {
        let url = DatabaseUrl::sqlite_file(&dir.path().join("data/xray-keys.db"));
        std::fs::create_dir_all(dir.path().join("data")).expect("data folder");
        let db = app::db::connect(&url).await.expect("database");
        use migrations::MigratorTrait;
        migrations::Migrator::up(&db, None).await.expect("migrate");
        for i in 0..USERS {
            let user_key = format!("user-{i:03}");
            app::users::service::create_user(
                &db,
                &app::audit::service::Actor::cli(),
                app::users::NewUser {
                    user_key: user_key.clone(),
                    display_name: format!("User {i}"),
                    email: String::new(),
                    roles: vec![],
                },
                None,
            )
            .await
            .expect("user");
            known.keyless.push(user_key);
        }
        let cookie =
            harness::signed_in(&db, "fault-admin", vec![app::users::Role::Administrator]).await;
        db.close().await.expect("close");
        Admin { cookie }
    });

    let mut tally = Tally::default();
    for round in 0..rounds {
        let mut server = Server::start(dir.path(), &vars);
        check_online(server.port, &known);
        let port = server.port;
        let kill_after = Duration::from_micros(rng.random_range(0..KILL_WINDOW_MICROS));
        let (tx, rx) = std::sync::mpsc::channel();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(kill_after);
            server.kill();
            let _ = tx.send(());
        });
        let mut in_flight = None;
        loop {
            match step(&mut rng, port, &admin, &mut known, &mut tally) {
                Ok(()) => {}
                Err(lost) => {
                    in_flight = Some(lost);
                    break;
                }
            }
            if rx.try_recv().is_ok() {
                // Killed between two requests: nothing was in flight.
                break;
            }
        }
        killer.join().expect("killer");
        if let Some(lost) = &in_flight {
            let kind = match lost {
                InFlight::Create { .. } => "create",
                InFlight::Regenerate { .. } => "regenerate",
                InFlight::Delete { .. } => "delete",
                InFlight::Save { .. } => "save",
            };
            *tally.interrupted.entry(kind).or_default() += 1;
        }
        let label = format!("round {round} (seed {seed:#x})");
        runtime.block_on(async {
            let checked = std::panic::AssertUnwindSafe(check_offline(
                dir.path(),
                &hasher,
                &mut known,
                in_flight,
                &mut tally,
            ));
            if let Err(panic) = futures::FutureExt::catch_unwind(checked).await {
                eprintln!("failed in {label}");
                std::panic::resume_unwind(panic);
            }
        });
    }
    let server = Server::start(dir.path(), &vars);
    check_online(server.port, &known);

    let interrupted: u64 = tally.interrupted.values().sum();
    println!(
        "{rounds} SIGKILL rounds (seed {seed:#x}): acknowledged {:?}; interrupted {:?}; {} interrupted requests had been carried out",
        tally.acknowledged, tally.interrupted, tally.applied_after_all
    );
    // The test proves something only if kills land inside requests.
    assert!(
        interrupted * 4 >= rounds,
        "only {interrupted} of {rounds} kills interrupted a request"
    );
    for kind in ["create", "regenerate", "save"] {
        assert!(
            tally.interrupted.get(kind).is_some_and(|n| *n > 0),
            "no kill interrupted a {kind}: {:?}",
            tally.interrupted
        );
    }
}
