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

/// The additional data a stored secret is sealed with: its row, Client ID and API URL, so a
/// ciphertext opens only for the row and destination it was saved for. Neither value can hold a
/// line break (both are validated), so the parts cannot run together.
pub fn secret_binding(id: i32, client_id: &str, base_url_stored: &str) -> String {
    format!("xray_credentials:{id}:client_secret\n{client_id}\n{base_url_stored}")
}

impl Model {
    /// [`secret_binding`] of this row.
    pub fn secret_binding(&self) -> String {
        secret_binding(self.id, &self.client_id, &self.base_url)
    }
}
