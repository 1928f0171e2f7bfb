use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_key: String,
    #[sea_orm(unique)]
    pub user_key_lower: String,
    pub display_name: String,
    pub display_name_lower: String,
    pub email: Option<String>,
    pub is_active: bool,
    pub is_administrator: bool,
    pub is_backup_operator: bool,
    pub password_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
