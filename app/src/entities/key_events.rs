use sea_orm::entity::prelude::*;

/// What happened to a key on its own (an expiry coming or come, a grace period over, long
/// disuse), recorded once each by the sweep for notifications to read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub client_id: String,
    /// `expiring`, `expired`, `old_secret_expired` or `unused`.
    pub kind: String,
    pub at: DateTimeUtc,
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
