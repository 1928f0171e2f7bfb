//! The one error type of the `app` crate.
//!
//! Every variant carries only what a user may read. Causes (database text, I/O errors) are logged
//! with `tracing` where they are converted and never reach the client.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You do not have permission to do this.")]
    Forbidden,
    /// Sign-in failed; never says whether the user key or the password was wrong.
    #[error("The user key or password is wrong.")]
    InvalidCredentials,
    /// A field of the request is not acceptable; `field` names it so forms can show the message
    /// next to it.
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("The request was refused: {0}")]
    BadRequest(String),
    #[error("The request body is larger than {0} bytes.")]
    PayloadTooLarge(usize),
    #[error("The database is not reachable right now. Try again shortly.")]
    Unavailable,
    #[error("Something went wrong on the server. The details were logged.")]
    Internal,
    /// The request never reached the function, or its answer could not be read.
    #[error("The server could not be reached or gave an unreadable answer: {0}")]
    Transport(String),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// For `map_err`: logs the cause of an internal failure (`what` says which) and answers the
    /// user's message, which never carries the cause.
    #[cfg(feature = "ssr")]
    pub fn logged<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> AppError {
        move |cause| {
            tracing::error!(error = %cause, "{what}");
            AppError::Internal
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden => 403,
            AppError::Validation { .. } | AppError::BadRequest(_) => 400,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::PayloadTooLarge(_) => 413,
            AppError::TooManyRequests { .. } => 429,
            AppError::Unavailable => 503,
            AppError::Internal => 500,
            AppError::Transport(_) => 400,
        }
    }

    /// The message for the form field `field`, if this error is about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Argument decoding failures are the caller's fault: wrong types, malformed bodies.
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) => AppError::BadRequest(m),
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use sea_orm::DbErr;

    impl From<DbErr> for AppError {
        fn from(err: DbErr) -> Self {
            match &err {
                DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                    tracing::warn!(error = %err, "database unavailable");
                    AppError::Unavailable
                }
                // A connection lost in the middle of a query is an outage too, not a bug.
                DbErr::Exec(e) | DbErr::Query(e) if connection_lost(e) => {
                    tracing::warn!(error = %err, "database connection lost during a query");
                    AppError::Unavailable
                }
                _ => {
                    tracing::error!(error = %err, "database error");
                    AppError::Internal
                }
            }
        }
    }

    fn connection_lost(err: &sea_orm::RuntimeErr) -> bool {
        use sea_orm::sqlx::Error;
        match err {
            sea_orm::RuntimeErr::SqlxError(e) => matches!(
                e.as_ref(),
                Error::Io(_)
                    | Error::Tls(_)
                    | Error::PoolTimedOut
                    | Error::PoolClosed
                    | Error::WorkerCrashed
            ),
            _ => false,
        }
    }

    impl<E: std::fmt::Display> From<sea_orm::TransactionError<E>> for AppError
    where
        AppError: From<E>,
        E: std::error::Error,
    {
        fn from(err: sea_orm::TransactionError<E>) -> Self {
            match err {
                sea_orm::TransactionError::Connection(e) => e.into(),
                sea_orm::TransactionError::Transaction(e) => e.into(),
            }
        }
    }
}
