use sea_orm::entity::prelude::*;

/// A link between stand-in issues: the parent (Pre-Condition, Test Set, Test Plan) holds the
/// child (a Test, or for a plan also a Test Execution).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "standin_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub parent_id: i32,
    pub child_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
