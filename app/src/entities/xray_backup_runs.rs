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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
