use sea_orm::entity::prelude::*;

/// One Xray backup run (see the migration for what each column holds).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "xray_backup_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub trigger: String,
    pub status: String,
    pub step: Option<String>,
    pub message: String,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub retry_at: Option<DateTimeUtc>,
    pub api_url: String,
    pub client_id: String,
    pub xray_job_id: Option<String>,
    pub tests: Option<i64>,
    pub test_executions: Option<i64>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub file: Option<String>,
    pub events: String,
    /// Who started it: a user key, `cli` or `system` (the schedule).
    pub started_by: String,
    pub cancel_requested: bool,
    /// The backup request sent (JSON).
    pub request: String,
    /// A JSON array of {name, size, sha256}: the files stored, before encryption.
    pub files: String,
    /// A JSON object: records per entity type.
    pub counts: String,
    /// When retention removed the stored files.
    pub removed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
