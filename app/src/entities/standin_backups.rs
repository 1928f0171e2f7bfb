use sea_orm::entity::prelude::*;

/// A backup job of the stand-in: "working" until `ready_at`, then "successful" with its zips
/// (built from the tenant when first asked for, then kept, so every download is the same file).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "standin_backups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub job_id: String,
    pub requested_by: String,
    pub requested_at: DateTimeUtc,
    pub ready_at: DateTimeUtc,
    /// A JSON array of project ids, or NULL for all projects.
    pub project_ids: Option<String>,
    pub modified_since: Option<DateTimeUtc>,
    pub with_attachment: bool,
    pub data: Option<Vec<u8>>,
    pub attachments: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
