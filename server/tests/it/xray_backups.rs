//! Xray backups' download and verification steps against the stand-in over real HTTP, on
//! SQLite and PostgreSQL: the token never goes to another origin, redirects are bounded and
//! https-only, a size cap and a cut-short zip fail cleanly and leave no file behind.

use std::net::SocketAddr;
use std::time::Duration;

use crate::harness;
use crate::harness::standin::{bearer_for, SMALL_TENANT};

use app::entities::standin_backups as backups;
use app::standin::faults::{self, Fault, Target};
use app::xray_backups::fetch::{FetchError, Fetcher};
use app::xray_backups::verify::verify;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{Duration as Span, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

const ON: &[(&str, &str)] = &[
    ("XRAY_KEYS_XRAY_STANDIN", "on"),
    ("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "3600"),
];

/// The app on a loopback port whose public URL is that port: the stand-in's links point back
/// to it, as they would on a real server.
async fn serve(
    b: &harness::Backend,
) -> (String, app::state::AppState, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let mut vars = ON.to_vec();
    vars.push(("XRAY_KEYS_PUBLIC_URL", origin.as_str()));
    let state = harness::app_state_with(b, &vars);
    let router = server::serve::router(state.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (origin, state, task)
}

/// A finished stand-in backup of the small tenant, and a token for it.
async fn finished_backup(state: &app::state::AppState) -> String {
    app::standin::seed::seed(&state.db, SMALL_TENANT)
        .await
        .unwrap();
    let token = bearer_for(state, "backup-runner").await;
    let job = app::standin::backup::request(
        &state.db,
        Default::default(),
        "backup-runner",
        Span::hours(1),
        Utc::now(),
    )
    .await
    .unwrap();
    for row in backups::Entity::find().all(&state.db).await.unwrap() {
        if row.job_id == job {
            let mut done: backups::ActiveModel = row.into();
            done.ready_at = Set(Utc::now() - Span::seconds(1));
            done.update(&state.db).await.unwrap();
        }
    }
    token
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_backup_file_is_downloaded_through_the_one_time_link_hashed_and_counted() {
    harness::block_on(harness::each_backend(|b| async move {
        let (origin, state, task) = serve(&b).await;
        let token = finished_backup(&state).await;
        let dir = tempfile::tempdir().unwrap();
        let fetcher = Fetcher::new(
            std::slice::from_ref(&origin),
            50 * 1024 * 1024,
            Duration::from_secs(10),
        )
        .unwrap();
        // v2 redirects to the one-time link; v1 answers the zip itself: the same bytes.
        let v2 = fetcher
            .fetch(
                &format!("{origin}/api/v2/backup/file"),
                &token,
                dir.path(),
                "data.zip",
            )
            .await
            .unwrap();
        let v1 = fetcher
            .fetch(
                &format!("{origin}/api/v1/backup/file"),
                &token,
                dir.path(),
                "v1.zip",
            )
            .await
            .unwrap();
        assert_eq!(v2.size, std::fs::metadata(&v2.path).unwrap().len());
        assert_eq!(v2.sha256, v1.sha256);
        use sha2::Digest;
        assert_eq!(
            v2.sha256,
            hex::encode(sha2::Sha256::digest(std::fs::read(&v2.path).unwrap()))
        );
        let verified = verify(&v2.path).unwrap();
        assert_eq!(verified.counts["tests"], 60);
        assert_eq!(verified.counts["testExecutions"], 8);
        assert_eq!(verified.counts["preconditions"], 10);
        assert!(verified.warnings.is_empty(), "{:?}", verified.warnings);
        let mut names = files_in(dir.path());
        names.sort();
        assert_eq!(names, ["data.zip", "v1.zip"], "no partial file left");
        task.abort();
    }));
}

#[test]
fn the_token_is_never_sent_to_another_origin() {
    harness::block_on(harness::each_backend(|b| async move {
        let (origin, state, task) = serve(&b).await;
        let token = finished_backup(&state).await;
        let dir = tempfile::tempdir().unwrap();
        // The link is handed out on another origin (localhost instead of 127.0.0.1: this server
        // by another name, so plain http may go there), which refuses any request carrying a token.
        let fetcher = Fetcher::new(
            &[origin.clone(), origin.replace("127.0.0.1", "localhost")],
            1 << 26,
            Duration::from_secs(10),
        )
        .unwrap();
        faults::add(
            &state.db,
            Target::File,
            Fault::RedirectOtherOrigin,
            Some(2),
            Utc::now(),
        )
        .await
        .unwrap();
        let fetched = fetcher
            .fetch(
                &format!("{origin}/api/v2/backup/file"),
                &token,
                dir.path(),
                "data.zip",
            )
            .await;
        assert!(fetched.is_ok(), "{fetched:?}");
        // The pair: a client that forwards its token there is refused, so the test above can fail.
        let raw = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let redirect = raw
            .get(format!("{origin}/api/v2/backup/file"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let location = redirect.headers()[header::LOCATION.as_str()]
            .to_str()
            .unwrap()
            .to_string();
        assert!(location.starts_with("http://localhost:"), "{location}");
        let leaked = raw.get(&location).bearer_auth(&token).send().await.unwrap();
        assert_eq!(leaked.status().as_u16(), 400);
        task.abort();
    }));
}

#[test]
fn redirects_are_bounded_https_only_and_a_cut_or_oversized_file_fails_leaving_nothing() {
    harness::block_on(harness::each_backend(|b| async move {
        let (origin, state, task) = serve(&b).await;
        let token = finished_backup(&state).await;
        let dir = tempfile::tempdir().unwrap();

        // Cut off at the size cap, before the whole file is written.
        let small =
            Fetcher::new(std::slice::from_ref(&origin), 100, Duration::from_secs(10)).unwrap();
        let refused = small
            .fetch(
                &format!("{origin}/api/v1/backup/file"),
                &token,
                dir.path(),
                "data.zip",
            )
            .await;
        assert_eq!(refused, Err(FetchError::TooLarge { limit: 100 }));
        assert!(
            files_in(dir.path()).is_empty(),
            "{:?}",
            files_in(dir.path())
        );

        // A truncated zip downloads, and verification says what is wrong.
        faults::add(
            &state.db,
            Target::File,
            Fault::TruncatedZip,
            Some(1),
            Utc::now(),
        )
        .await
        .unwrap();
        let fetcher = Fetcher::new(
            std::slice::from_ref(&origin),
            1 << 26,
            Duration::from_secs(10),
        )
        .unwrap();
        let cut = fetcher
            .fetch(
                &format!("{origin}/api/v1/backup/file"),
                &token,
                dir.path(),
                "cut.zip",
            )
            .await
            .unwrap();
        assert_eq!(
            verify(&cut.path),
            Err("The downloaded file is not a whole zip (it may have been cut short).".into())
        );

        // A plain-http hop to anywhere but this server is not followed (nothing is sent there).
        let elsewhere = fetcher
            .fetch("http://192.0.2.1/backup/file", &token, dir.path(), "x.zip")
            .await;
        assert_eq!(
            elsewhere,
            Err(FetchError::NotHttps("http://192.0.2.1/backup/file".into()))
        );
        assert!(FetchError::NotHttps("http://192.0.2.1/backup/file".into())
            .message()
            .contains("not https"));

        // A redirect loop stops after three hops.
        let looping = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let loop_origin = format!("http://{}", looping.local_addr().unwrap());
        let stub = tokio::spawn(async move {
            let app = axum::Router::new().route(
                "/again",
                axum::routing::get(|| async {
                    (
                        axum::http::StatusCode::FOUND,
                        [(header::LOCATION, "/again")],
                    )
                        .into_response()
                }),
            );
            let _ = axum::serve(looping, app).await;
        });
        let to_loop = Fetcher::new(
            std::slice::from_ref(&loop_origin),
            1 << 20,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(
            to_loop
                .fetch(&format!("{loop_origin}/again"), &token, dir.path(), "l.zip")
                .await,
            Err(FetchError::TooManyRedirects)
        );
        // An answer that is no file is an error with its status and text.
        let gone = fetcher
            .fetch(
                &format!("{origin}/api/v1/backup/file/attachment"),
                &token,
                dir.path(),
                "a.zip",
            )
            .await;
        assert!(
            matches!(gone, Err(FetchError::Status { status: 404, .. })),
            "{gone:?}"
        );
        stub.abort();
        task.abort();
    }));
}
