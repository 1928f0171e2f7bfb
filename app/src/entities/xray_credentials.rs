use sea_orm::entity::prelude::*;

/// `secret_sealed` is ciphertext (see `vault`); the plain secret never sits in a model.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "xray_credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub client_id: String,
    pub secret_sealed: String,
    pub base_url: String,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
    pub last_test_outcome: Option<String>,
    pub last_test_detail: Option<String>,
    pub last_tested_at: Option<DateTimeUtc>,
    pub last_test_version: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
