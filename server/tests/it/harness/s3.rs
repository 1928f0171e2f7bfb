//! An S3-compatible server on loopback for the backup storage tests: `moto` in server mode,
//! installed from PyPI into the clients' venv by scripts/setup.sh. A real protocol server, not
//! a mocked client.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct S3Server {
    child: Child,
    pub endpoint: String,
}

impl S3Server {
    pub fn start() -> S3Server {
        let venv = std::env::var("XK_CLIENTS_VENV").unwrap_or_else(|_| {
            format!(
                "{}/.cache/xray-keys/clients-venv",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let bin = std::path::Path::new(&venv).join("bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: run scripts/setup.sh (it installs moto for these tests)",
            bin.display()
        );
        let port = super::process::free_port();
        let mut child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        for _ in 0..400 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return S3Server {
                    child,
                    endpoint: format!("http://127.0.0.1:{port}"),
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("moto_server did not listen within 20 s");
    }

    /// The settings that point the server's backup storage at `s3://bucket/prefix` here.
    pub fn settings(&self, url: &str) -> Vec<(String, String)> {
        [
            ("XRAY_KEYS_BACKUP_STORE", url),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", &self.endpoint),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    pub async fn create_bucket(&self, name: &str) {
        let made = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .expect("create the bucket");
        assert!(made.status().is_success(), "{}", made.status());
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
