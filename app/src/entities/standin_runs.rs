use sea_orm::entity::prelude::*;

/// The run of one Test in one Test Execution of the stand-in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "standin_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub execution_id: i32,
    pub test_id: i32,
    /// PASSED, FAILED, TODO, EXECUTING, ABORTED or a custom status.
    pub status: String,
    pub comment: String,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// The user key of the API key that imported it.
    pub executed_by: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
