//! User domain types shared by the server and the browser.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const USER_KEY_MAX: usize = 255;
pub const DISPLAY_NAME_MAX: usize = 255;
pub const EMAIL_MAX: usize = 320;
/// Long enough to resist guessing, short enough that hashing cannot be abused.
pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 256;

/// A Jira-style user key (`admin`, `revyz-backup-user`, `addon_com.atlassian.jira.chat`).
/// Unique case-insensitively; kept as entered for display.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserKey(String);

impl UserKey {
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let key = input.trim();
        if key.is_empty() {
            return Err(AppError::validation("user_key", "Enter a user key."));
        }
        if key.chars().count() > USER_KEY_MAX {
            return Err(AppError::validation(
                "user_key",
                format!("A user key has at most {USER_KEY_MAX} characters."),
            ));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AppError::validation(
                "user_key",
                "A user key cannot contain spaces or control characters.",
            ));
        }
        Ok(UserKey(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness and look-ups compare.
    pub fn normalized(&self) -> String {
        sort_key(&self.0)
    }
}

/// A user key as stored in `user_key_lower`: the form compared for uniqueness, look-ups and
/// the API Keys list's order.
pub fn sort_key(user_key: &str) -> String {
    user_key.to_lowercase()
}

impl std::fmt::Display for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Role {
    Administrator,
    BackupOperator,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Administrator, Role::BackupOperator];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::BackupOperator => "backup-operator",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::BackupOperator => "Backup operator",
        }
    }

    pub fn parse(input: &str) -> Result<Self, AppError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "administrator" | "admin" => Ok(Role::Administrator),
            "backup-operator" | "backup_operator" => Ok(Role::BackupOperator),
            other => Err(AppError::validation(
                "roles",
                format!("'{other}' is not a role (administrator, backup-operator)."),
            )),
        }
    }
}

pub fn validate_display_name(input: &str) -> Result<String, AppError> {
    let name = input.trim();
    if name.is_empty() {
        return Err(AppError::validation(
            "display_name",
            "Enter a display name.",
        ));
    }
    if name.chars().count() > DISPLAY_NAME_MAX {
        return Err(AppError::validation(
            "display_name",
            format!("A display name has at most {DISPLAY_NAME_MAX} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::validation(
            "display_name",
            "A display name cannot contain control characters.",
        ));
    }
    Ok(name.to_string())
}

pub fn validate_email(input: &str) -> Result<Option<String>, AppError> {
    let email = input.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let well_formed = email.len() <= EMAIL_MAX
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !well_formed {
        return Err(AppError::validation(
            "email",
            "Enter an e-mail address such as name@example.com, or leave it empty.",
        ));
    }
    Ok(Some(email.to_string()))
}

pub fn validate_password(input: &str) -> Result<(), AppError> {
    let n = input.chars().count();
    if n < PASSWORD_MIN {
        return Err(AppError::validation(
            "password",
            format!("A password has at least {PASSWORD_MIN} characters."),
        ));
    }
    if n > PASSWORD_MAX {
        return Err(AppError::validation(
            "password",
            format!("A password has at most {PASSWORD_MAX} characters."),
        ));
    }
    Ok(())
}

/// What the console shows of a user. Holds no password material.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i32,
    pub user_key: String,
    pub display_name: String,
    pub email: Option<String>,
    pub is_active: bool,
    pub roles: Vec<Role>,
    pub can_sign_in: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl UserSummary {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_keys_keep_their_case_and_compare_without_it() {
        let key = UserKey::parse("  Revyz-Backup-User ").unwrap();
        assert_eq!(key.as_str(), "Revyz-Backup-User");
        assert_eq!(key.normalized(), "revyz-backup-user");
        assert!(UserKey::parse("addon_com.atlassian.jira.chat").is_ok());
    }

    #[test]
    fn bad_user_keys_are_refused_with_a_reason() {
        for bad in ["", "   ", "two words", "tab\tkey", &"k".repeat(256)] {
            let err = UserKey::parse(bad).unwrap_err();
            assert!(err.field_message("user_key").is_some(), "{bad:?}");
        }
    }

    #[test]
    fn roles_parse_from_their_names() {
        assert_eq!(Role::parse("administrator").unwrap(), Role::Administrator);
        assert_eq!(
            Role::parse("Backup-Operator").unwrap(),
            Role::BackupOperator
        );
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn emails_are_optional_but_checked() {
        assert_eq!(validate_email("  ").unwrap(), None);
        assert!(validate_email("a@b.co").unwrap().is_some());
        for bad in ["nobody", "@x.io", "a@b", "a b@c.io", "a@.io"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough pass").is_ok());
        assert!(validate_password(&"x".repeat(257)).is_err());
    }
}
