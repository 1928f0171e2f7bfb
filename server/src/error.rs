//! The one error type of the server crate: a failure of a command (serving included), with the
//! text shown to the person who ran it.

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("DATABASE_URL: {0}")]
    Connect(#[from] app::db::ConnectError),
    #[error("database migration failed: {0}")]
    Migrate(sea_orm::DbErr),
    /// A setting, or a key it names, is wrong: the message names the setting.
    #[error("{0}")]
    Config(#[from] app::config::ConfigError),
    #[error("{0}")]
    Serve(String),
    #[error("{0}")]
    App(#[from] app::AppError),
    #[error("{0}")]
    Input(String),
}
