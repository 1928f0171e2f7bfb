use sea_orm::entity::prelude::*;

/// The backup schedule and the settings every run uses (one row, id 1).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "xray_backup_schedule")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub enabled: bool,
    pub daily_at: i32,
    pub project_ids: String,
    pub include_attachments: bool,
    pub incremental: bool,
    pub keep_days: i32,
    pub keep_last: i32,
    pub api_version: String,
    pub wait_minutes: i32,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
