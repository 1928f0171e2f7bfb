//! Where the sealed backups live: a folder under the data folder (the default), or an
//! S3-compatible bucket (`XRAY_KEYS_BACKUP_STORE=s3://bucket/prefix`, through the `object_store`
//! crate) that several instances share. A run always seals into its local work folder first;
//! with a bucket, the sealed files are then uploaded and the local copies removed, so what the
//! bucket holds is only ever sealed, and only whole runs are listed as backups.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};

/// What a user is told when the storage failed; the cause is logged.
pub const STORAGE_FAILED: &str =
    "The backup could not be written to the backup storage. The details were logged.";

/// An S3-compatible bucket and the prefix the backups go under.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// `s3://bucket/prefix`, for the log and the manifest.
    pub url: String,
}

impl Bucket {
    /// The bucket `url` names (`s3://bucket[/prefix]`), with `options` in `object_store`'s
    /// names (`aws_access_key_id`, `aws_endpoint`, `aws_allow_http`, …).
    pub fn open(url: &str, options: &[(String, String)]) -> Result<Bucket, String> {
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(format!("'{url}' is not local or s3://bucket/prefix"));
        };
        let prefix = rest
            .split_once('/')
            .map(|(_, p)| p.trim_matches('/').to_string())
            .unwrap_or_default();
        let mut builder = object_store::aws::AmazonS3Builder::new().with_url(url);
        for (key, value) in options {
            if let Ok(key) = key.to_ascii_lowercase().parse() {
                builder = builder.with_config(key, value);
            }
        }
        let store = builder.build().map_err(|e| e.to_string())?;
        Ok(Bucket {
            store: Arc::new(store),
            prefix,
            url: url.to_string(),
        })
    }

    /// The bucket `url` names, configured from this process's `AWS_*` variables.
    pub fn from_env(url: &str) -> Result<Bucket, String> {
        let options: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .collect();
        Bucket::open(url, &options)
    }

    fn path_of(&self, run_id: i32, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(format!("{run_id}/{name}"))
        } else {
            ObjectPath::from(format!("{}/{run_id}/{name}", self.prefix))
        }
    }

    fn run_prefix(&self, run_id: i32) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(run_id.to_string())
        } else {
            ObjectPath::from(format!("{}/{run_id}", self.prefix))
        }
    }

    /// The object names stored for run `run_id` (for tests and the log).
    pub async fn names(&self, run_id: i32) -> Result<Vec<String>, String> {
        let prefix = self.run_prefix(run_id);
        let mut listed = self.store.list(Some(&prefix));
        let mut names = Vec::new();
        while let Some(item) = listed.next().await {
            let meta = item.map_err(|e| e.to_string())?;
            names.push(meta.location.filename().unwrap_or_default().to_string());
        }
        names.sort();
        Ok(names)
    }

    async fn upload(&self, file: &Path, target: &ObjectPath) -> Result<(), String> {
        use tokio::io::AsyncReadExt;
        let upload = self
            .store
            .put_multipart(target)
            .await
            .map_err(|e| e.to_string())?;
        let mut writer = WriteMultipart::new(upload);
        let mut source = tokio::fs::File::open(file)
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = source.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            // At most a few parts in memory: the file is streamed, never held whole.
            writer
                .wait_for_capacity(4)
                .await
                .map_err(|e| e.to_string())?;
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Takes the sealed files `names` of run `run_id` out of its work `folder`: kept there without a
/// bucket; uploaded, then removed locally, with one. On a failure nothing of the run stays in
/// the bucket.
pub async fn keep(
    bucket: Option<&Bucket>,
    root: &Path,
    run_id: i32,
    names: &[String],
) -> Result<(), String> {
    let Some(bucket) = bucket else {
        return Ok(());
    };
    let folder = root.join(run_id.to_string());
    for name in names {
        if let Err(e) = bucket
            .upload(&folder.join(name), &bucket.path_of(run_id, name))
            .await
        {
            tracing::error!(error = %e, run = run_id, file = %name, bucket = %bucket.url, "uploading a backup");
            remove(Some(bucket), root, run_id).await;
            return Err(STORAGE_FAILED.into());
        }
    }
    if let Err(e) = tokio::fs::remove_dir_all(&folder).await {
        tracing::warn!(error = %e, run = run_id, "removing the local copy of an uploaded backup");
    }
    Ok(())
}

/// A sealed file to read: in place, or a temporary copy of the bucket's (removed on drop).
pub struct Sealed {
    pub path: PathBuf,
    temporary: bool,
}

impl Drop for Sealed {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The sealed file `name` of run `run_id`; `None` when the storage does not hold it. `scratch`
/// is where a copy of the bucket's goes.
pub async fn open(
    bucket: Option<&Bucket>,
    folder: &Path,
    scratch: &Path,
    run_id: i32,
    name: &str,
) -> Result<Option<Sealed>, String> {
    let Some(bucket) = bucket else {
        let path = folder.join(run_id.to_string()).join(name);
        return Ok(path.exists().then_some(Sealed {
            path,
            temporary: false,
        }));
    };
    let got = match bucket.store.get(&bucket.path_of(run_id, name)).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    crate::owner_only::create_dir(scratch).map_err(|e| e.to_string())?;
    let path = scratch.join(format!("{run_id}-{name}-{:08x}", rand::random::<u32>()));
    let sealed = Sealed {
        path: path.clone(),
        temporary: true,
    };
    let mut out = tokio::fs::File::from_std(
        crate::owner_only::create_file(&path).map_err(|e| e.to_string())?,
    );
    let mut stream = got.into_stream();
    while let Some(part) = stream.next().await {
        let part = part.map_err(|e| e.to_string())?;
        tokio::io::AsyncWriteExt::write_all(&mut out, &part)
            .await
            .map_err(|e| e.to_string())?;
    }
    tokio::io::AsyncWriteExt::flush(&mut out)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(sealed))
}

/// Removes everything of run `run_id`: its local folder and, with a bucket, its objects.
pub async fn remove(bucket: Option<&Bucket>, folder: &Path, run_id: i32) {
    let local = folder.join(run_id.to_string());
    match tokio::fs::remove_dir_all(&local).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, run = run_id, "removing a run's local files"),
    }
    let Some(bucket) = bucket else { return };
    let prefix = bucket.run_prefix(run_id);
    let mut listed = bucket.store.list(Some(&prefix));
    while let Some(item) = listed.next().await {
        match item {
            Ok(meta) => {
                if let Err(e) = bucket.store.delete(&meta.location).await {
                    tracing::warn!(error = %e, run = run_id, "removing a backup object");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, run = run_id, "listing a run's backup objects");
                break;
            }
        }
    }
}
