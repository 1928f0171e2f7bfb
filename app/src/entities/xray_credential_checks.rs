use sea_orm::entity::prelude::*;

/// One check of the stored Xray Credentials and what it found.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "xray_credential_checks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub checked_at: DateTimeUtc,
    pub source: String,
    pub outcome: String,
    pub detail: Option<String>,
    pub ok: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
