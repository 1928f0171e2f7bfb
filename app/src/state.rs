//! State shared by every request handler and server function.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::api_keys::secret::SecretHasher;
use crate::config::Config;
use crate::config::DatabaseKind;
use crate::vault::MasterKey;
use crate::xray_api::last_used::LastUsed;
use crate::xray_api::owners::{ChangeFeed, OwnerCache};
use crate::xray_api::tokens::TokenKeys;

/// Holds nothing another instance would need: all shared state lives in the database.
///
/// One `Arc` around [`Shared`]: axum clones the state for every request (each `State`
/// extractor and stateful middleware), and cloning the fields one by one (the Leptos options,
/// the key material, a dozen reference counts) and dropping them again was 6 % of a `whoami`.
/// Fields are read through `Deref` (`state.db`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub secret_hasher: SecretHasher,
    /// Encrypts the secrets the database keeps (signing key, stored credentials).
    pub master_key: MasterKey,
    /// This instance's copy of the token-signing key (the database holds the truth).
    pub token_keys: Arc<TokenKeys>,
    pub last_used: Arc<LastUsed>,
    /// Key owners for `whoami`, kept while the database shows no commit.
    pub owners: Arc<OwnerCache>,
    /// PostgreSQL's change notifications (the server starts its listener).
    pub change_feed: Arc<ChangeFeed>,
}

impl AppState {
    pub fn new(
        db: DatabaseConnection,
        config: Config,
        leptos_options: LeptosOptions,
        secret_hasher: SecretHasher,
        master_key: MasterKey,
    ) -> Self {
        let change_feed = Arc::new(ChangeFeed::default());
        let owners = match config.database_url.kind() {
            DatabaseKind::Sqlite => OwnerCache::for_sqlite_file(config.database_url.sqlite_path()),
            DatabaseKind::Postgres => OwnerCache::for_postgres(change_feed.clone()),
        };
        AppState(Arc::new(Shared {
            owners: Arc::new(owners),
            change_feed,
            db,
            config: Arc::new(config),
            leptos_options,
            secret_hasher,
            token_keys: Arc::new(TokenKeys::new(master_key.clone())),
            master_key,
            last_used: Arc::new(LastUsed::default()),
        }))
    }
}

/// Runs a change to its end even if the request is dropped (the client went away, or the
/// response hit the stall limit): a bulk operation that has begun to commit is finished, and its
/// outcome is in the audit log, instead of being cut off half-way by a cancelled future.
pub async fn run_to_completion<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, crate::error::AppError>> + Send + 'static,
) -> Result<T, crate::error::AppError> {
    tokio::spawn(work)
        .await
        .map_err(crate::error::AppError::logged("a change task failed"))?
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
