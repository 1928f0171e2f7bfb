use sea_orm::entity::prelude::*;

/// An issue of the stand-in: a Test, Pre-Condition, Test Set, Test Plan or Test Execution.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "standin_issues")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub project_id: i32,
    #[sea_orm(unique)]
    pub key: String,
    /// Xray's name of the type: "Test", "Pre-Condition", "Test Set", "Test Plan",
    /// "Test Execution".
    pub issue_type: String,
    pub summary: String,
    pub description: String,
    /// Tests: "Manual", "Generic" or "Cucumber".
    pub test_type: Option<String>,
    /// Generic tests: what the test runs (JUnit's `classname.name`); imports find tests by it.
    pub definition: Option<String>,
    /// Test Executions: a JSON array of environment names.
    pub test_environments: Option<String>,
    pub test_plan_key: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
