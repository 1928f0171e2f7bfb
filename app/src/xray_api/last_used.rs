//! Records when an API key was last used, at most once a minute per key and off the request path.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter};

use crate::entities::api_keys;

/// How stale a recorded last-used time may get.
pub const RESOLUTION: Duration = Duration::minutes(1);
/// Beyond this many remembered keys, entries older than the resolution are forgotten.
const MAX_REMEMBERED: usize = 100_000;

#[derive(Default)]
pub struct LastUsed {
    written: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl LastUsed {
    /// Notes a use of `client_id` at `now`. When this instance has not written one within the
    /// last minute, a background task writes it; the returned handle lets tests wait for it.
    pub fn touch(
        &self,
        db: &DatabaseConnection,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        {
            let mut written = self.written.lock().ok()?;
            if written
                .get(client_id)
                .is_some_and(|last| now - *last < RESOLUTION)
            {
                return None;
            }
            if written.len() >= MAX_REMEMBERED {
                written.retain(|_, last| now - *last < RESOLUTION);
            }
            written.insert(client_id.to_string(), now);
        }
        let db = db.clone();
        let client_id = client_id.to_string();
        Some(tokio::spawn(async move {
            // The condition keeps other instances from writing within the same minute too.
            let result = api_keys::Entity::update_many()
                .col_expr(api_keys::Column::LastUsedAt, Expr::value(now))
                .filter(api_keys::Column::ClientId.eq(client_id.as_str()))
                .filter(
                    Condition::any()
                        .add(api_keys::Column::LastUsedAt.is_null())
                        .add(api_keys::Column::LastUsedAt.lt(now - RESOLUTION)),
                )
                .exec(&db)
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, client_id, "cannot record an API key's last use");
            }
        }))
    }
}
