use sea_orm::entity::prelude::*;

/// A one-time download link of a backup file (v2): found by the SHA-256 of its token, good
/// once, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "standin_downloads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub backup_id: i32,
    pub attachment: bool,
    /// Handed out under the redirect-other-origin fault.
    pub other_origin: bool,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
