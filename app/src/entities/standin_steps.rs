use sea_orm::entity::prelude::*;

/// A step of a stand-in Test, in `position` order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "standin_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub test_id: i32,
    pub position: i32,
    pub action: String,
    pub data: String,
    pub result: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
