//! The append-only audit trail: who did what, to what, when, from where, with what outcome.
//! Entries never hold a secret.

pub mod api;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;

pub use api::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Actions recorded, by their stored names.
pub mod action {
    pub const SIGN_IN: &str = "sign_in";
    pub const SIGN_OUT: &str = "sign_out";
    pub const SETUP: &str = "setup";
    pub const USER_CREATE: &str = "user_create";
    pub const USER_UPDATE: &str = "user_update";
    pub const USER_DEACTIVATE: &str = "user_deactivate";
    pub const USER_REACTIVATE: &str = "user_reactivate";
    pub const USER_SET_PASSWORD: &str = "user_set_password";
    pub const USER_IMPORT: &str = "user_import";
    pub const USER_UNLOCKED: &str = "user_unlock";
    pub const API_KEY_CREATE: &str = "api_key_create";
    pub const API_KEY_DELETE: &str = "api_key_delete";
    pub const API_KEY_REGENERATE: &str = "api_key_regenerate";
    pub const API_KEY_DEACTIVATE: &str = "api_key_deactivate";
    pub const API_KEY_REACTIVATE: &str = "api_key_reactivate";
    pub const API_KEY_EDIT: &str = "api_key_edit";
    pub const API_KEY_REVOKE_OLD_SECRET: &str = "api_key_revoke_old_secret";
    /// Authentication with a key was refused; written at most once a minute per key.
    pub const API_KEY_AUTH_REFUSED: &str = "api_key_auth_refused";
    pub const API_KEY_EXPIRED: &str = "api_key_expired";
    pub const API_KEY_OLD_SECRET_EXPIRED: &str = "api_key_old_secret_expired";
    pub const KEY_POLICY_CHANGE: &str = "key_policy_change";
    pub const KEY_POLICY_APPLY_MAXIMUM: &str = "key_policy_apply_maximum";
    pub const SIGNING_KEY_ROTATED: &str = "signing_key_rotate";
    /// Edit mode of the Xray Credentials page was opened.
    pub const CREDENTIALS_EDIT: &str = "credentials_edit_view";
    pub const CREDENTIALS_SAVE: &str = "credentials_save";
    pub const CREDENTIALS_TEST: &str = "credentials_test";
    pub const MASTER_KEY_ROTATED: &str = "master_key_rotate";
    /// A backup run ended (one entry per run, by whoever started it).
    pub const XRAY_BACKUP_RUN: &str = "xray_backup_run";
    pub const XRAY_BACKUP_CANCEL: &str = "xray_backup_cancel";
    pub const XRAY_BACKUP_DOWNLOAD: &str = "xray_backup_download";
    pub const XRAY_BACKUP_SCHEDULE: &str = "xray_backup_schedule";
    pub const ALL: &[&str] = &[
        SIGN_IN,
        SIGN_OUT,
        SETUP,
        USER_CREATE,
        USER_UPDATE,
        USER_DEACTIVATE,
        USER_REACTIVATE,
        USER_SET_PASSWORD,
        USER_IMPORT,
        USER_UNLOCKED,
        API_KEY_CREATE,
        API_KEY_DELETE,
        API_KEY_REGENERATE,
        API_KEY_DEACTIVATE,
        API_KEY_REACTIVATE,
        API_KEY_EDIT,
        API_KEY_REVOKE_OLD_SECRET,
        API_KEY_AUTH_REFUSED,
        API_KEY_EXPIRED,
        API_KEY_OLD_SECRET_EXPIRED,
        KEY_POLICY_CHANGE,
        KEY_POLICY_APPLY_MAXIMUM,
        SIGNING_KEY_ROTATED,
        CREDENTIALS_EDIT,
        CREDENTIALS_SAVE,
        CREDENTIALS_TEST,
        MASTER_KEY_ROTATED,
        XRAY_BACKUP_RUN,
        XRAY_BACKUP_CANCEL,
        XRAY_BACKUP_DOWNLOAD,
        XRAY_BACKUP_SCHEDULE,
    ];
}

/// One entry as the Audit page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: i32,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub client_addr: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Inclusive, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Inclusive, `YYYY-MM-DD` (UTC).
    pub to: Option<String>,
    pub page: u64,
    pub per_page: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}
