//! The stand-in's REST endpoints, v1 and v2 paths alike, for bearer tokens this server issued.
//! Off (`XRAY_KEYS_XRAY_STANDIN` unset or off), they answer as unknown paths do.

use axum::body::to_bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};

use super::faults::{self, Fault, Target};
use super::import::{self, IMPORT_LIMIT};
use super::junit::JunitQuery;
use super::{backup, graphql};
use crate::auth::throttle::{self, Limit};
use crate::error::AppError;
use crate::state::AppState;
use crate::xray_api::routes::{error_response, ApiError};
use crate::xray_api::service;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/import/execution", post(import_execution))
        .route("/api/v2/import/execution", post(import_execution))
        .route("/api/v1/import/execution/junit", post(import_junit))
        .route("/api/v2/import/execution/junit", post(import_junit))
        .route("/api/v1/import/execution/multipart", post(import_multipart))
        .route("/api/v2/import/execution/multipart", post(import_multipart))
        .route("/api/v1/graphql", post(graphql))
        .route("/api/v2/graphql", post(graphql))
        .route("/api/v1/backup", post(backup_v1))
        .route("/api/v2/backup", post(backup_v2))
        .route("/api/v1/backup/{job_id}/status", get(status_v1))
        .route("/api/v2/backup/{job_id}/status", get(status_v2))
        .route("/api/v1/backup/file", get(file_v1))
        .route("/api/v2/backup/file", get(file_v2))
        .route("/api/v1/backup/file/attachment", get(attachment_v1))
        .route("/api/v2/backup/file/attachment", get(attachment_v2))
        .route("/api/standin/storage/{token}", get(storage))
}

/// An answer that is not the endpoint's success: an API error, or a fault's answer.
pub struct Refused(Response);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<AppError> for Refused {
    fn from(e: AppError) -> Self {
        Refused(ApiError(e).into_response())
    }
}

type Answer = Result<Response, Refused>;

/// Xray's 401 when the tenant's data lives in another region.
pub const OTHER_REGION: &str =
    "Xray data is in another region. Contact support to migrate Xray data to current region.";
/// Xray's 401 (text/plain) when the licence is not valid.
pub const INVALID_LICENSE: &str = "The Xray license is not valid";

/// What a general fault answers (the file and status faults are answered by their endpoints).
pub async fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Region => error_response(StatusCode::UNAUTHORIZED, OTHER_REGION),
        Fault::License => (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            INVALID_LICENSE,
        )
            .into_response(),
        Fault::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            Json(serde_json::json!({ "error": "Service Unavailable" })),
        )
            .into_response(),
        Fault::Hang => {
            tokio::time::sleep(faults::HANG).await;
            error_response(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout")
        }
        Fault::ServerError
        | Fault::StuckWorking
        | Fault::TruncatedZip
        | Fault::RedirectOtherOrigin => {
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// The caller of a stand-in endpoint that passed every gate: on, a token this server issued,
/// the plan's request rate, and no general fault in force for `target`.
struct Entered {
    user_key: String,
    /// A fault of the endpoint's own kind (stuck-working, truncated-zip, redirect-other-origin).
    fault: Option<Fault>,
}

fn is_general(fault: Fault) -> bool {
    matches!(
        fault,
        Fault::Region | Fault::License | Fault::ServerError | Fault::Unavailable | Fault::Hang
    )
}

async fn enter(
    state: &AppState,
    headers: &HeaderMap,
    target: Target,
    accept: impl Fn(Fault) -> bool,
) -> Result<Entered, Refused> {
    if !state.config.xray_standin {
        return Err(AppError::NotFound("There is no such endpoint.".into()).into());
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = service::bearer_token(authorization)?;
    let now = Utc::now();
    let user_key = service::caller(state, token, now).await?.user_key;
    let plan = Limit {
        failures: state.config.xray_standin_requests,
        window: Duration::minutes(5),
    };
    if let Err(AppError::TooManyRequests { retry_after_secs }) =
        throttle::record_failure(&state.db, REQUESTS_BUCKET, plan, now).await
    {
        let message = format!(
            "Too many requests: the plan allows {} requests in 5 minutes. Try again in {retry_after_secs} seconds.",
            plan.failures
        );
        let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, &message);
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Err(Refused(response));
    }
    let fault = faults::take(&state.db, target, accept).await?;
    if let Some(general) = fault.filter(|f| is_general(*f)) {
        return Err(Refused(fault_response(general).await));
    }
    Ok(Entered { user_key, fault })
}

/// The bucket counting the tenant's requests (one tenant: this server's keys).
pub const REQUESTS_BUCKET: &str = "standin:requests";

fn any_fault(_: Fault) -> bool {
    true
}

async fn import_execution(State(state): State<AppState>, request: Request) -> Answer {
    let user_key = enter(&state, request.headers(), Target::Import, any_fault)
        .await?
        .user_key;
    let body = to_bytes(request.into_body(), IMPORT_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge(IMPORT_LIMIT))?;
    let parsed = import::parse(&body)?;
    let imported = import::import(
        &state.db,
        parsed,
        &user_key,
        &state.config.public_url,
        Utc::now(),
    )
    .await?;
    Ok(Json(imported).into_response())
}

async fn import_junit(
    State(state): State<AppState>,
    query: Result<Query<JunitQuery>, QueryRejection>,
    request: Request,
) -> Answer {
    let user_key = enter(&state, request.headers(), Target::Import, any_fault)
        .await?
        .user_key;
    let Query(query) = query.map_err(|_| {
        AppError::validation(
            "query",
            "The query is not projectKey=…&testExecKey=…&testPlanKey=…&testEnvironments=…",
        )
    })?;
    let given = |v: &Option<String>| v.as_deref().is_some_and(|k| !k.trim().is_empty());
    if !given(&query.project_key) && !given(&query.test_exec_key) {
        return Err(AppError::validation(
            "projectKey",
            "Give projectKey (or testExecKey, to update an execution) in the query",
        )
        .into());
    }
    let body = to_bytes(request.into_body(), IMPORT_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge(IMPORT_LIMIT))?;
    let parsed = super::junit::to_import(&body, query)?;
    let imported = import::import(
        &state.db,
        parsed,
        &user_key,
        &state.config.public_url,
        Utc::now(),
    )
    .await?;
    Ok(Json(imported).into_response())
}

/// Multipart: the part `results` is Xray JSON, the part `info` the Test Execution's Jira fields
/// (`{"fields":{"project":{"key"},"summary","description",…}}`), which win over the results'
/// own `info`.
async fn import_multipart(State(state): State<AppState>, request: Request) -> Answer {
    let user_key = enter(&state, request.headers(), Target::Import, any_fault)
        .await?
        .user_key;
    let not_multipart = || {
        AppError::validation(
            "body",
            "The body is not multipart/form-data with the parts results and info",
        )
    };
    let mut form = Multipart::from_request(request, &state)
        .await
        .map_err(|_| not_multipart())?;
    let (mut results, mut info) = (None, None);
    let mut taken = 0usize;
    while let Some(part) = form.next_field().await.map_err(|_| not_multipart())? {
        let name = part.name().unwrap_or_default().to_string();
        let bytes = part.bytes().await.map_err(|_| not_multipart())?;
        taken += bytes.len();
        if taken > IMPORT_LIMIT {
            return Err(AppError::PayloadTooLarge(IMPORT_LIMIT).into());
        }
        match name.as_str() {
            "results" => results = Some(bytes),
            "info" => info = Some(bytes),
            _ => {}
        }
    }
    let results = results.ok_or_else(|| {
        AppError::validation("results", "The part results (Xray JSON) is missing")
    })?;
    let info = info.ok_or_else(|| {
        AppError::validation(
            "info",
            "The part info (the Test Execution's fields) is missing",
        )
    })?;
    let parsed = import::with_issue_fields(import::parse(&results)?, &info)?;
    let imported = import::import(
        &state.db,
        parsed,
        &user_key,
        &state.config.public_url,
        Utc::now(),
    )
    .await?;
    Ok(Json(imported).into_response())
}

/// The largest GraphQL request body taken, in bytes.
const GRAPHQL_LIMIT: usize = 256 * 1024;

/// GraphQL as Xray answers it: HTTP 200 with `data` and/or `errors`, once the token is good.
async fn graphql(State(state): State<AppState>, request: Request) -> Answer {
    enter(&state, request.headers(), Target::Graphql, any_fault).await?;
    let body = to_bytes(request.into_body(), GRAPHQL_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge(GRAPHQL_LIMIT))?;
    let asked: async_graphql::Request = serde_json::from_slice(&body).map_err(|e| {
        AppError::validation(
            "body",
            format!("The body is not a GraphQL request {{\"query\": …, \"variables\": …}}: {e}"),
        )
    })?;
    // A syntax error is left to the schema, which reports it in `errors` as usual.
    if let Ok(document) = async_graphql::parser::parse_query(&asked.query) {
        let items =
            graphql::requested_items(&document, asked.operation_name.as_deref(), &asked.variables);
        if let Some(items) = items.filter(|n| *n > graphql::MAX_ITEMS) {
            let message = format!(
                "The query asks for {items} items; one call may ask for at most {} (nested connections multiplied). Ask for fewer with smaller limits.",
                graphql::MAX_ITEMS
            );
            return Ok(
                Json(serde_json::json!({ "errors": [{ "message": message }] })).into_response(),
            );
        }
    }
    let answer = graphql::schema()
        .execute(asked.data(graphql::Tenant {
            db: state.db.clone(),
        }))
        .await;
    Ok(Json(answer).into_response())
}

async fn backup_v1(state: State<AppState>, request: Request) -> Answer {
    backup(state, request).await
}

async fn backup_v2(state: State<AppState>, request: Request) -> Answer {
    backup(state, request).await
}

/// The largest backup request body taken, in bytes.
const BACKUP_BODY_LIMIT: usize = 64 * 1024;

async fn backup(State(state): State<AppState>, request: Request) -> Answer {
    let user_key = enter(&state, request.headers(), Target::Backup, any_fault)
        .await?
        .user_key;
    let body = to_bytes(request.into_body(), BACKUP_BODY_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge(BACKUP_BODY_LIMIT))?;
    let asked = backup::parse(&body)?;
    let working_for = Duration::seconds(i64::from(state.config.xray_standin_backup_seconds));
    let job_id = backup::request(&state.db, asked, &user_key, working_for, Utc::now()).await?;
    Ok(Json(serde_json::json!({ "jobId": job_id })).into_response())
}

async fn status_v1(state: State<AppState>, job: Path<String>, headers: HeaderMap) -> Answer {
    status(state, job, headers, 1).await
}

async fn status_v2(state: State<AppState>, job: Path<String>, headers: HeaderMap) -> Answer {
    status(state, job, headers, 2).await
}

async fn status(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    headers: HeaderMap,
    version: u8,
) -> Answer {
    let entered = enter(&state, &headers, Target::Status, any_fault).await?;
    let answer = backup::status(&state.db, &job_id, Utc::now()).await?;
    let base = format!(
        "{}/api/v{version}/backup/file",
        state.config.public_url.trim_end_matches('/')
    );
    let body = match (answer, entered.fault) {
        (_, Some(Fault::StuckWorking)) => {
            serde_json::json!({ "status": "working", "progressValue": "90%" })
        }
        (backup::Status::Working { percent }, _) => {
            serde_json::json!({ "status": "working", "progressValue": format!("{percent}%") })
        }
        (backup::Status::Successful { with_attachment }, _) => {
            let mut body = serde_json::json!({ "status": "successful", "fileUrl": base });
            if with_attachment {
                body["attachmentUrl"] = serde_json::json!(format!("{base}/attachment"));
            }
            body
        }
    };
    Ok(Json(body).into_response())
}

async fn file_v1(state: State<AppState>, headers: HeaderMap) -> Answer {
    file(state, headers, 1, false).await
}

async fn file_v2(state: State<AppState>, headers: HeaderMap) -> Answer {
    file(state, headers, 2, false).await
}

async fn attachment_v1(state: State<AppState>, headers: HeaderMap) -> Answer {
    file(state, headers, 1, true).await
}

async fn attachment_v2(state: State<AppState>, headers: HeaderMap) -> Answer {
    file(state, headers, 2, true).await
}

fn zip_response(bytes: Vec<u8>, name: &str, truncated: bool) -> Response {
    let bytes = if truncated {
        bytes[..bytes.len() / 2].to_vec()
    } else {
        bytes
    };
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The public URL with its host swapped between `127.0.0.1` and `localhost`: the same server
/// under another origin, which a client must not send its token to.
fn other_origin(public_url: &str) -> String {
    let url = public_url.trim_end_matches('/');
    if url.contains("://127.0.0.1") {
        url.replacen("://127.0.0.1", "://localhost", 1)
    } else if url.contains("://localhost") {
        url.replacen("://localhost", "://127.0.0.1", 1)
    } else {
        url.replacen("://", "://127.0.0.1.nip.io.invalid/", 1)
    }
}

/// v1: the zip itself. v2: a 302 to a one-time link on the "storage" (this server's
/// `/api/standin/storage/…`, reached without the token, as Xray's storage links are).
async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    version: u8,
    attachment: bool,
) -> Answer {
    // On v2 a truncated zip is the storage's fault: it is taken when the link is used.
    let accept = |f: Fault| version == 1 || f != Fault::TruncatedZip;
    let entered = enter(&state, &headers, Target::File, accept).await?;
    let now = Utc::now();
    let job = backup::latest(&state.db, now).await?;
    if attachment && !job.with_attachment {
        return Err(AppError::NotFound("This backup was made without attachments.".into()).into());
    }
    let name = format!(
        "xray-backup-{}{}.zip",
        job.job_id,
        if attachment { "-attachments" } else { "" }
    );
    if version == 1 {
        let bytes = if attachment {
            job.attachments
        } else {
            job.data
        };
        let truncated = entered.fault == Some(Fault::TruncatedZip);
        return Ok(zip_response(
            bytes.ok_or(AppError::Internal)?,
            &name,
            truncated,
        ));
    }
    let elsewhere = entered.fault == Some(Fault::RedirectOtherOrigin);
    let token = backup::one_time_link(&state.db, &job, attachment, elsewhere, now).await?;
    let origin = if elsewhere {
        other_origin(&state.config.public_url)
    } else {
        state.config.public_url.trim_end_matches('/').to_string()
    };
    let location = format!("{origin}/api/standin/storage/{token}?name={name}");
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

/// A one-time link: no token wanted. One handed out to another origin refuses a request that
/// carries one, as presigned storage links refuse a second way of signing in.
async fn storage(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    if !state.config.xray_standin {
        return Err(AppError::NotFound("There is no such endpoint.".into()).into());
    }
    let truncated = faults::take(&state.db, Target::File, |f| f == Fault::TruncatedZip)
        .await?
        .is_some();
    let with_token = headers.contains_key(header::AUTHORIZATION);
    let bytes = backup::redeem(&state.db, &token, with_token, Utc::now()).await?;
    let name = query
        .get("name")
        .filter(|n| {
            n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .cloned()
        .unwrap_or_else(|| "xray-backup.zip".into());
    Ok(zip_response(bytes, &name, truncated))
}
