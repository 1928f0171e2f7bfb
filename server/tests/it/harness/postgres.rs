//! A throw-away database on the PostgreSQL server for tests, made and dropped by name. Shared by
//! the tests and the benchmarks (`#[path]`), so both find the server the same way.

use app::config::DatabaseUrl;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr};

/// The administrative database on the test server (`XK_TEST_POSTGRES`, else the local default).
pub fn admin_url() -> String {
    std::env::var("XK_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists until [`ThrowawayDatabase::drop_now`].
pub struct ThrowawayDatabase {
    admin: DatabaseConnection,
    name: String,
    pub url: DatabaseUrl,
}

impl ThrowawayDatabase {
    /// Creates `<prefix>_<random hex>`; an error when the server cannot be reached.
    pub async fn create(prefix: &str) -> Result<ThrowawayDatabase, DbErr> {
        let admin_url = admin_url();
        let admin = Database::connect(&admin_url).await?;
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin_url);
        let url = DatabaseUrl::parse(&format!("{base}/{name}"))
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        Ok(ThrowawayDatabase { admin, name, url })
    }

    /// Drops the database, ending any connection still open to it.
    pub async fn drop_now(self) -> Result<(), DbErr> {
        self.admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .map(|_| ())
    }
}
