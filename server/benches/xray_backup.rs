//! An Xray backup of a 10,000-test tenant end to end: the stand-in serves it from a separate
//! `xray-keys serve` process (on SQLite), the backup runs in this process, whose peak
//! resident memory is measured from the run's start, so the figure is the job's alone. Beside it, measured in the same run: a bare
//! client's request, poll and download of the same backup, and sealing the file alone. Prints
//! figures; asserts nothing about time.
//!
//! `make bench` (or `cargo bench -p server --bench xray_backup`); `XK_BENCH_TESTS` sets the
//! tenant's size.

// Benchmarks stop at the first surprise; unwrap and expect say where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use app::credentials::connection::Tester;
use app::credentials::destination::HostPolicy;
use app::xray_backups::run::{self, Pacing, Retries, RunSettings, Trigger};

/// A line of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(field: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resets the process's peak resident memory to what it holds now (Linux `clear_refs`).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident memory");
}

const PEPPER: &str = "1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f";
const MASTER_KEY: &str = "2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e";

fn xray_keys(dir: &std::path::Path, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xray-keys"));
    command
        .env_clear()
        .current_dir(dir)
        .envs(vars.iter().copied());
    command
}

fn succeeded(mut command: Command) -> Vec<u8> {
    let out = command.output().expect("run xray-keys");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn s(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What one tenant's backup measured.
struct Figures {
    tests: u32,
    executions: String,
    seeded: Duration,
    took: Duration,
    peak: usize,
    size: usize,
    unzipped: u64,
    counted: i64,
    bare: Duration,
    sealing: Duration,
}

fn main() {
    let first: u32 = std::env::var("XK_BENCH_TESTS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(10_000);
    // Two sizes: memory that does not grow with the tenant shows the file is streamed.
    let figures = [one(first), one(first * 2)];
    println!("## Xray backup of a {first}-test tenant");
    println!();
    println!(
        "The stand-in serves each tenant (N tests, 500 preconditions, 100 test sets, 20 test plans, N/50 test executions of 50 runs) from a separate `xray-keys serve` process on SQLite; the backup runs in the benchmark's process, whose peak resident memory is measured from the run's start (`VmHWM` after `clear_refs`). Each reference is measured in the same run against the same server."
    );
    println!();
    println!("| Tenant | Data file (zip / unzipped) | Backup run end to end | Reference: bare client's request, poll and download | Run/bare | Reference: sealing alone | Peak memory growth of the backup's process |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for f in &figures {
        println!(
            "| {} tests, {} executions (seeded in {}; {} counted) | {} / {} | {} | {} | {:.2} | {} | {} |",
            f.tests,
            f.executions,
            s(f.seeded),
            f.counted,
            mb(f.size),
            mb(usize::try_from(f.unzipped).unwrap_or(usize::MAX)),
            s(f.took),
            s(f.bare),
            f.took.as_secs_f64() / f.bare.as_secs_f64().max(1e-9),
            s(f.sealing),
            mb(f.peak)
        );
    }
    println!();
    println!(
        "The backup run authenticates, requests, polls, downloads (streamed to disk), verifies (each entity file counted as a stream), seals in 1 MiB chunks and writes the manifest. Memory growth {} at {} tests and {} at {} tests, for data {:.1}x larger unzipped.",
        mb(figures[0].peak),
        figures[0].tests,
        mb(figures[1].peak),
        figures[1].tests,
        figures[1].unzipped as f64 / figures[0].unzipped.max(1) as f64
    );
}

fn one(tests: u32) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let vars = [
        ("XRAY_KEYS_PEPPER", PEPPER),
        ("XRAY_KEYS_MASTER_KEY", MASTER_KEY),
        ("XRAY_KEYS_XRAY_STANDIN", "on"),
        ("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "0"),
        ("XRAY_KEYS_XRAY_STANDIN_PLAN", "enterprise"),
        ("XRAY_KEYS_LISTEN", listen.as_str()),
        ("XRAY_KEYS_LOG", "warn"),
        // The server's own scheduler stays out of the way of the measured run.
        ("XRAY_KEYS_CREDENTIAL_CHECK_HOURS", "0"),
    ];
    let tests_arg = tests.to_string();
    let (executions, runs) = ((tests / 50).max(1).to_string(), "50".to_string());
    let seeding = Instant::now();
    let mut seed = xray_keys(dir.path(), &vars);
    seed.args([
        "standin",
        "seed",
        "--projects",
        "1",
        "--tests",
        &tests_arg,
        "--preconditions",
        "500",
        "--test-sets",
        "100",
        "--test-plans",
        "20",
        "--executions",
        &executions,
        "--runs-per-execution",
        &runs,
    ]);
    succeeded(seed);
    let seeded = seeding.elapsed();
    let mut add = xray_keys(dir.path(), &vars);
    add.args(["users", "add", "svc", "--name", "Backup service"]);
    succeeded(add);
    let mut create = xray_keys(dir.path(), &vars);
    create.args(["keys", "create", "svc", "--json"]);
    let key: serde_json::Value = serde_json::from_slice(&succeeded(create)).unwrap();
    let mut serve = xray_keys(dir.path(), &vars);
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    serve.arg("serve").stdout(Stdio::null()).stderr(log);
    let _server = Server(serve.spawn().expect("start the server"));
    let origin = format!("http://{listen}");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if client
                .get(format!("{origin}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("data/xray-keys.db").display()
        );
        let db = sea_orm::Database::connect(&url).await.unwrap();
        let master = app::vault::MasterKey::new([0x2e; 32]);
        let (client_id, secret) = (
            key["client_id"].as_str().unwrap().to_string(),
            key["client_secret"].as_str().unwrap().to_string(),
        );
        app::credentials::service::save(
            &db,
            &master,
            &app::audit::service::Actor::cli(),
            &app::credentials::CredentialsForm {
                client_id: client_id.clone(),
                client_secret: secret.clone(),
                base_url: "this".into(),
                custom_url: String::new(),
                version: 0,
            },
            &HostPolicy::new(&["127.0.0.1".into()], &[]),
        )
        .await
        .unwrap();
        let settings = RunSettings {
            folder: dir.path().join("bench-backups"),
            bucket: None,
            tester: Tester {
                self_root: format!("{origin}/api"),
                timeout: Duration::from_secs(120),
                policy: HostPolicy::new(&["127.0.0.1".into()], &[]),
                standin_graphql: false,
            },
            pacing: Pacing {
                first_poll: Duration::from_millis(10),
                poll_every: Duration::from_millis(50),
                wait_at_most: Duration::from_secs(600),
            },
            retries: Retries::xray(),
            max_bytes: 1 << 34,
            this_server: vec![origin.clone()],
            holder: "bench".into(),
        };

        // The backup run; the process's peak memory counted from here.
        reset_peak();
        let before = status_bytes("VmRSS");
        let started = Instant::now();
        let done = run::run(&db, &master, &settings, Trigger::Cli, "bench")
            .await
            .unwrap();
        let took = started.elapsed();
        let peak = status_bytes("VmHWM").saturating_sub(before);
        assert_eq!(
            done.status,
            "Succeeded",
            "{}; the server said: {}",
            done.message,
            std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
        );
        let size = usize::try_from(done.size.unwrap_or(0)).unwrap_or(0);

        // Reference: a bare client asks for the same backup, polls and downloads it to disk.
        app::standin::backup::forget_interval(&db).await.unwrap();
        let bare = Instant::now();
        let token: String = client
            .post(format!("{origin}/api/v2/authenticate"))
            .header("content-type", "application/json")
            .body(serde_json::json!({"client_id": client_id, "client_secret": secret}).to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap();
        let job: serde_json::Value = client
            .post(format!("{origin}/api/v2/backup"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap();
        let job = job["jobId"].as_str().unwrap().to_string();
        let file_url = loop {
            let status: serde_json::Value = client
                .get(format!("{origin}/api/v2/backup/{job}/status"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .map(|t| serde_json::from_str(&t).unwrap())
                .unwrap();
            if status["status"] == "successful" {
                break status["fileUrl"].as_str().unwrap().to_string();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut download = client
            .get(file_url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let plain = dir.path().join("bare.zip");
        let mut out = tokio::fs::File::create(&plain).await.unwrap();
        while let Some(chunk) = download.chunk().await.unwrap() {
            tokio::io::AsyncWriteExt::write_all(&mut out, &chunk)
                .await
                .unwrap();
        }
        tokio::io::AsyncWriteExt::flush(&mut out).await.unwrap();
        let bare = bare.elapsed();

        // Reference: sealing that file alone.
        let sealing = Instant::now();
        app::xray_backups::store::seal_file(
            &master,
            999,
            "data.zip",
            &plain,
            &dir.path().join("bare.zip.xk"),
        )
        .unwrap();
        let sealing = sealing.elapsed();

        let mut unzipped = 0u64;
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&plain).unwrap()).unwrap();
        for i in 0..archive.len() {
            unzipped += archive.by_index(i).unwrap().size();
        }
        Figures {
            tests,
            executions: executions.clone(),
            seeded,
            took,
            peak,
            size,
            unzipped,
            counted: done.tests.unwrap_or(0),
            bare,
            sealing,
        }
    })
}
