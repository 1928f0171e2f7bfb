//! Downloads of a run's files (`GET /xray-backups/runs/{id}/{file}`): decrypted on the fly,
//! streamed, and audited; only for the page's roles. The log is the run's timeline as text.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::{clip, service};
use crate::audit::service::{record, Actor};
use crate::audit::{action, Outcome as AuditOutcome};
use crate::auth::session;
use crate::error::AppError;
use crate::state::AppState;

/// The files a run offers, as their download names.
const FILES: [&str; 4] = ["data.zip", "attachments.zip", "manifest.json", "log.txt"];

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        "/xray-backups/runs/{id}/{file}",
        axum::routing::get(download),
    )
}

fn refuse(status: StatusCode, text: &str) -> Response {
    let mut response = (status, text.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refusal(e: &AppError) -> Response {
    let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    refuse(status, &e.to_string())
}

async fn download(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    parts: Parts,
) -> Response {
    match serve(&state, &id, &file, &parts).await {
        Ok(response) => response,
        Err(e) => refusal(&e),
    }
}

async fn serve(
    state: &AppState,
    id: &str,
    file: &str,
    parts: &Parts,
) -> Result<Response, AppError> {
    let token = session::token_from_headers(&parts.headers, state.config.secure_cookies)
        .ok_or(AppError::Unauthenticated)?;
    let user = session::lookup(&state.db, &token, Utc::now())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !(user.is_administrator || user.is_backup_operator) {
        return Err(AppError::Forbidden);
    }
    let actor = Actor {
        name: user.user_key.clone(),
        client_addr: Some(crate::auth::context::client_addr_of(
            parts,
            state.config.trust_proxy_hops,
        )),
    };
    let id: i32 = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("There is no backup run {}.", clip(id))))?;
    if !FILES.contains(&file) {
        return Err(AppError::NotFound(format!(
            "A backup run has no file {}.",
            clip(file)
        )));
    }
    let run = service::find_run(&state.db, id).await?;
    let audit = |outcome, detail: String| {
        let (db, actor) = (state.db.clone(), actor.clone());
        async move {
            record(
                &db,
                &actor,
                action::XRAY_BACKUP_DOWNLOAD,
                Some(&format!("run {id}")),
                outcome,
                Some(detail),
            )
            .await
        }
    };
    if file == "log.txt" {
        audit(AuditOutcome::Success, file.to_string()).await?;
        return Ok(attachment(
            Body::from(service::log_of(&run)),
            "text/plain; charset=utf-8",
            &format!("xray-backup-{id}-log.txt"),
        ));
    }
    let row = service::row_of(&run);
    let stored = match file {
        "attachments.zip" => row.has_attachments,
        _ => row.has_data,
    };
    if !stored {
        let why = if row.removed {
            format!("Backup run {id}'s files were removed by retention.")
        } else {
            format!("Backup run {id} stored no {file} ({}).", run.status)
        };
        return Err(AppError::NotFound(why));
    }
    let folder = super::run::RunSettings::folder_of(&state.config);
    let opened = super::storage::open(
        state.config.backup_bucket.as_ref(),
        &folder,
        &state.config.data_dir.join("tmp"),
        id,
        &format!("{file}.xk"),
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, run = id, "reading a backup from the backup storage");
        AppError::Unavailable
    })?;
    let Some(sealed) = opened else {
        return Err(AppError::NotFound(format!(
            "Backup run {id}'s {file} is missing from the backup storage."
        )));
    };
    audit(AuditOutcome::Success, file.to_string()).await?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let (key, name) = (state.master_key.clone(), file.to_string());
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter(sender.clone());
        if let Err(e) = super::store::open_file(&key, id, &name, &sealed.path, &mut out) {
            tracing::error!(error = %e, run = id, file = %name, "a backup download failed");
            // Ends the response with an error, so the browser says the download failed.
            let _ = sender.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let kind = if file == "manifest.json" {
        "application/json"
    } else {
        "application/zip"
    };
    Ok(attachment(
        Body::from_stream(stream),
        kind,
        &format!("xray-backup-{id}-{file}"),
    ))
}

fn attachment(body: Body, kind: &'static str, name: &str) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Hands what `open_file` writes to the response, a chunk at a time.
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "download closed"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
