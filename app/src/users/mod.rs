//! Users: the people and service accounts that own API keys or sign in to the console.

pub mod api;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;
pub mod types;

pub use api::*;
pub use types::*;

use serde::{Deserialize, Serialize};

/// The form of a new user (console and CLI).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    pub user_key: String,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<Role>,
}

/// A change to an existing user's profile and roles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserUpdate {
    pub id: i32,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<Role>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserQuery {
    pub search: String,
    pub page: u64,
    pub per_page: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// What happened to one line of an import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportOutcome {
    Created(String),
    Skipped(String),
    Rejected { line: usize, reason: String },
}
