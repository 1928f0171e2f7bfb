use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub client_id: String,
    #[sea_orm(unique)]
    pub user_id: i32,
    /// The user's `user_key_lower`, copied: the list sorts and pages on this table alone.
    #[sea_orm(unique)]
    pub user_key_lower: String,
    /// A hash, never the secret.
    pub secret_hash: String,
    pub secret_generation: i32,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    pub regenerated_at: Option<DateTimeUtc>,
    pub regenerated_by: Option<String>,
    pub last_used_at: Option<DateTimeUtc>,
    /// What uses the key (at most 200 characters, may be empty).
    pub description: String,
    /// When the key stops working; `None`: never.
    pub expires_at: Option<DateTimeUtc>,
    pub is_active: bool,
    /// The last deactivation: tokens issued before it stay dead after a reactivation.
    pub deactivated_at: Option<DateTimeUtc>,
    pub deactivated_by: Option<String>,
    /// The secret before the last regeneration, still working until `previous_secret_expires_at`.
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub last_failed_at: Option<DateTimeUtc>,
    /// `wrong_secret`, `inactive`, `expired` or `old_secret_expired`.
    pub last_failed_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
