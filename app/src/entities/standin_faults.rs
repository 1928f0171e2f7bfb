use sea_orm::entity::prelude::*;

/// A fault the stand-in answers with, set from the command line (`standin fault add`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "standin_faults")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub target: String,
    pub fault: String,
    /// How many more requests it answers; `None` until cleared.
    pub remaining: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
