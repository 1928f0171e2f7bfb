//! The one error type of the server crate: a failure of a command (serving included), with the
//! text shown to the person who ran it.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("DATABASE_URL: {0}")]
    Connect(#[from] app::db::ConnectError),
    #[error("database migration failed: {0}")]
    Migrate(sea_orm::DbErr),
    /// A setting, or a key it names, is wrong: the message names the setting.
    #[error("{0}")]
    Config(#[from] app::config::ConfigError),
    /// A file or folder the command writes (a backup, a key file).
    #[error("cannot {action} {}: {reason}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{0}")]
    Rotation(#[from] app::vault::RotationError),
    #[error("XRAY_KEYS_LISTEN: cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// Something the server does once before it serves.
    #[error("cannot {what}: {source}")]
    Startup {
        what: &'static str,
        source: app::AppError,
    },
    #[error("server error: {0}")]
    Server(std::io::Error),
    /// The command said what happened and ends with this exit code (a backup run's outcome).
    #[error("exit code {0}")]
    Exit(u8),
    #[error("cannot write JSON: {0}")]
    Output(#[from] serde_json::Error),
    #[error("{0}")]
    App(#[from] app::AppError),
    /// What the person gave the command (an argument, a file, standard input) is not usable.
    #[error("{0}")]
    Input(String),
}

impl CliError {
    pub fn file(action: &'static str, path: &std::path::Path, reason: impl ToString) -> Self {
        CliError::File {
            action,
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}
