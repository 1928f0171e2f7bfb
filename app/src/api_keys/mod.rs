//! API keys: a Client Id and Client Secret that let a user's tools call the REST API as them.

pub mod api;
pub mod page;
#[cfg(feature = "ssr")]
pub mod secret;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod sweep;

pub use api::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const PER_PAGE_CHOICES: [u64; 4] = [10, 20, 50, 100];
pub const SEARCH_MAX: usize = 255;
/// The most keys one bulk operation may name by id.
pub const MAX_SELECTION: usize = 10_000;

/// 32 uppercase hexadecimal characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let id = input.trim();
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::validation(
                "client_id",
                "A Client Id is 32 hexadecimal characters.",
            ));
        }
        Ok(ClientId(id.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest description a key may have, in characters.
pub const DESCRIPTION_MAX: usize = 200;

/// What a person may say about a key: what uses it, and when it stops working.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyDetails {
    pub description: String,
    /// `None`: never.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl KeyDetails {
    /// The details trimmed and checked at `now`: a description of at most 200 characters without
    /// control characters, an expiry after `now`.
    pub fn checked(self, now: chrono::DateTime<chrono::Utc>) -> Result<KeyDetails, AppError> {
        let description = self.description.trim().to_string();
        if description.chars().count() > DESCRIPTION_MAX {
            return Err(AppError::validation(
                "description",
                "At most 200 characters",
            ));
        }
        if description.chars().any(char::is_control) {
            return Err(AppError::validation(
                "description",
                "Use letters, digits, spaces and punctuation only",
            ));
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::validation(
                "expires_at",
                "Choose a date after today",
            ));
        }
        Ok(KeyDetails {
            description,
            expires_at: self.expires_at,
        })
    }
}

/// Why an authentication with a key was refused, as the key records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureReason {
    WrongSecret,
    Inactive,
    Expired,
    OldSecretExpired,
}

impl FailureReason {
    pub fn code(self) -> &'static str {
        match self {
            FailureReason::WrongSecret => "wrong_secret",
            FailureReason::Inactive => "inactive",
            FailureReason::Expired => "expired",
            FailureReason::OldSecretExpired => "old_secret_expired",
        }
    }
}

/// One row of the API Keys table. Holds no secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub client_id: String,
    pub user_key: String,
    pub display_name: String,
    pub user_active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: String,
    pub regenerated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub description: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub is_active: bool,
    /// While a grace period runs: when the old secret stops working.
    pub old_secret_until: Option<chrono::DateTime<chrono::Utc>>,
    pub last_failed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_failed_reason: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyQuery {
    pub search: String,
    pub page: u64,
    pub per_page: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyPage {
    pub keys: Vec<ApiKeyRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// A Client Id with its new Client Secret: the one response that shows a secret, once.
/// Deliberately without `Debug`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedKey {
    pub user_key: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Which keys a bulk operation acts on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Selection {
    /// These keys, by Client Id.
    Ids(Vec<String>),
    /// Every key matching `search` when the operation runs; `expected` is the count the
    /// administrator confirmed, checked again on the server.
    AllMatching { search: String, expected: u64 },
}

/// A user that can be picked in the Create API Key dialog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyCandidate {
    pub user_key: String,
    pub display_name: String,
    pub has_key: bool,
}

pub fn plural_keys(n: u64) -> String {
    if n == 1 {
        "1 API Key".to_string()
    } else {
        format!("{n} API Keys")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_32_hex_characters_in_upper_case() {
        let id = ClientId::parse(" 8cf3cea946db4059a9999d3af4035efe ").unwrap();
        assert_eq!(id.as_str(), "8CF3CEA946DB4059A9999D3AF4035EFE");
        for bad in [
            "",
            "8CF3",
            &"G".repeat(32),
            &"A".repeat(33),
            "8CF3CEA946DB4059A9999D3AF4035EF-",
        ] {
            assert!(ClientId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_read_naturally() {
        assert_eq!(plural_keys(1), "1 API Key");
        assert_eq!(plural_keys(2), "2 API Keys");
    }
}
