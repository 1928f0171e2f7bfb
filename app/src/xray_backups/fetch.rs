//! Step 6 of a backup run: download a file Xray points to, the way a careful client does. At
//! most [`MAX_REDIRECTS`] redirects, each checked before it is followed; https only, except to
//! this server (the stand-in); **the bearer token goes only to the origin the download started
//! at**, never to another (Xray's v2 links lead to storage elsewhere); the body is streamed to a
//! temporary file beside the target, hashed on the way, cut off at a size cap, and renamed into
//! place only when whole, so a failed download leaves nothing behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use url::Url;

/// Redirects followed before the download is given up.
pub const MAX_REDIRECTS: usize = 3;

/// Downloads with one HTTP client whose own redirect handling is off (each hop is checked here).
pub struct Fetcher {
    client: reqwest::Client,
    /// The origins plain http is allowed to: this server under its names, e.g.
    /// `http://127.0.0.1:3000` and `http://localhost:3000`.
    this_server: Vec<String>,
    /// The largest file taken, in bytes.
    pub max_bytes: u64,
}

/// A file downloaded whole and renamed into place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// Why a download failed; [`FetchError::message`] is what the run's history says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    TooManyRedirects,
    /// A hop to a URL that is not https (and not this server).
    NotHttps(String),
    /// A redirect without a usable Location.
    BadRedirect,
    /// An answer other than 200 or a redirect, with the start of its body.
    Status {
        status: u16,
        body: String,
    },
    TooLarge {
        limit: u64,
    },
    DiskFull,
    TimedOut,
    Unreachable,
    /// Writing the file failed for another reason (logged).
    Storage,
}

impl FetchError {
    pub fn message(&self) -> String {
        match self {
            FetchError::TooManyRedirects => {
                format!("The download was redirected more than {MAX_REDIRECTS} times.")
            }
            FetchError::NotHttps(url) => {
                format!("The download was sent to {url}, which is not https; it was not followed.")
            }
            FetchError::BadRedirect => {
                "The download was redirected without a valid Location.".into()
            }
            FetchError::Status { status, body } if body.is_empty() => {
                format!("The download answered HTTP {status}.")
            }
            FetchError::Status { status, body } => {
                format!("The download answered HTTP {status}: {body}")
            }
            FetchError::TooLarge { limit } => {
                format!("The backup file is larger than the limit of {limit} bytes.")
            }
            FetchError::DiskFull => "Not enough space to store the backup.".into(),
            FetchError::TimedOut => "The download timed out.".into(),
            FetchError::Unreachable => "The download could not reach its server.".into(),
            FetchError::Storage => {
                "The backup file could not be written. The details were logged.".into()
            }
        }
    }
}

/// `scheme://host[:port]` of `url`, as the same-origin rule compares them.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl Fetcher {
    pub fn new(
        this_server: &[String],
        max_bytes: u64,
        timeout: Duration,
    ) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .user_agent(concat!("xray-keys/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "cannot build the download client");
                FetchError::Unreachable
            })?;
        let this_server = this_server
            .iter()
            .filter_map(|u| Url::parse(u).ok())
            .map(|u| origin(&u))
            .collect();
        Ok(Fetcher {
            client,
            this_server,
            max_bytes,
        })
    }

    fn allowed(&self, url: &Url) -> bool {
        url.scheme() == "https" || self.this_server.contains(&origin(url))
    }

    /// Downloads `url` with `token` into `dir/name`.
    pub async fn fetch(
        &self,
        url: &str,
        token: &str,
        dir: &Path,
        name: &str,
    ) -> Result<Fetched, FetchError> {
        let mut current = Url::parse(url).map_err(|_| FetchError::BadRedirect)?;
        let token_origin = origin(&current);
        for _ in 0..=MAX_REDIRECTS {
            if !self.allowed(&current) {
                return Err(FetchError::NotHttps(current.to_string()));
            }
            let mut request = self.client.get(current.clone());
            if origin(&current) == token_origin {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.map_err(|e| classify(&e))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or(FetchError::BadRedirect)?;
                current = current
                    .join(location)
                    .map_err(|_| FetchError::BadRedirect)?;
                continue;
            }
            if status != reqwest::StatusCode::OK {
                let body = response.text().await.unwrap_or_default();
                return Err(FetchError::Status {
                    status: status.as_u16(),
                    body: body.chars().take(300).collect(),
                });
            }
            return self.store(response, dir, name).await;
        }
        Err(FetchError::TooManyRedirects)
    }

    async fn store(
        &self,
        mut response: reqwest::Response,
        dir: &Path,
        name: &str,
    ) -> Result<Fetched, FetchError> {
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(FetchError::TooLarge {
                limit: self.max_bytes,
            });
        }
        crate::owner_only::create_dir(dir).map_err(storage)?;
        let target = dir.join(name);
        let partial = dir.join(format!(".{name}.partial"));
        let mut file =
            tokio::fs::File::from_std(crate::owner_only::create_file(&partial).map_err(storage)?);
        let written = async {
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
                size += chunk.len() as u64;
                if size > self.max_bytes {
                    return Err(FetchError::TooLarge {
                        limit: self.max_bytes,
                    });
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await.map_err(storage)?;
            }
            file.sync_all().await.map_err(storage)?;
            Ok((size, hex::encode(hasher.finalize())))
        }
        .await;
        drop(file);
        match written {
            Ok((size, sha256)) => {
                tokio::fs::rename(&partial, &target)
                    .await
                    .map_err(storage)?;
                Ok(Fetched {
                    path: target,
                    size,
                    sha256,
                })
            }
            Err(e) => {
                // Nothing half-downloaded stays behind to be mistaken for a backup.
                let _ = tokio::fs::remove_file(&partial).await;
                Err(e)
            }
        }
    }
}

fn storage(e: std::io::Error) -> FetchError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        FetchError::DiskFull
    } else {
        tracing::error!(error = %e, "writing a backup file");
        FetchError::Storage
    }
}

fn classify(e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::TimedOut
    } else {
        FetchError::Unreachable
    }
}
