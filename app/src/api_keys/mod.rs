//! API keys: a Client Id and Client Secret that let a user's tools call the REST API as them.

pub mod api;
pub mod page;
#[cfg(feature = "ssr")]
pub mod secret;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod sweep;

pub use crate::key_policy::{ExpiryChoice, FilterWindow};
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

/// Which keys a list shows ("Show" on the page, `--status` on the command line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyFilter {
    #[default]
    All,
    Active,
    Inactive,
    ExpiringSoon,
    Expired,
    NeverUsed,
    Unused,
}

impl KeyFilter {
    /// Each filter with its name in addresses and on the command line.
    pub const NAMES: [(KeyFilter, &'static str); 7] = [
        (KeyFilter::All, "all"),
        (KeyFilter::Active, "active"),
        (KeyFilter::Inactive, "inactive"),
        (KeyFilter::ExpiringSoon, "expiring"),
        (KeyFilter::Expired, "expired"),
        (KeyFilter::NeverUsed, "never-used"),
        (KeyFilter::Unused, "unused"),
    ];

    pub fn parse(name: &str) -> Option<KeyFilter> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name.trim())
            .map(|(filter, _)| *filter)
    }

    /// The name in addresses ("all", "expiring", …).
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(filter, _)| *filter == self)
            .map_or("all", |(_, name)| name)
    }

    /// The choice as the "Show" menu says it.
    pub fn label(self) -> &'static str {
        match self {
            KeyFilter::All => "All",
            KeyFilter::Active => "Active",
            KeyFilter::Inactive => "Inactive",
            KeyFilter::ExpiringSoon => "Expiring soon",
            KeyFilter::Expired => "Expired",
            KeyFilter::NeverUsed => "Never used",
            KeyFilter::Unused => "Unused for 90+ days",
        }
    }

    /// Whether `row` is shown at `now`. The list asks the database the same question
    /// (`service::filter_condition`); a test holds the two to one answer.
    pub fn matches(
        self,
        row: &ApiKeyRow,
        now: chrono::DateTime<chrono::Utc>,
        window: FilterWindow,
    ) -> bool {
        let expired = row.expires_at.is_some_and(|at| at <= now);
        match self {
            KeyFilter::All => true,
            KeyFilter::Active => row.is_active && !expired,
            KeyFilter::Inactive => !row.is_active,
            KeyFilter::ExpiringSoon => {
                row.is_active
                    && row
                        .expires_at
                        .is_some_and(|at| now < at && at <= now + window.expiring())
            }
            KeyFilter::Expired => expired,
            KeyFilter::NeverUsed => row.last_used_at.is_none(),
            KeyFilter::Unused => {
                row.last_used_at.unwrap_or(row.created_at) <= now - window.unused()
            }
        }
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

    /// The reason as a row's "Last failed:" line says it.
    pub fn describe(code: &str) -> &'static str {
        match code {
            "wrong_secret" => "wrong secret",
            "inactive" => "inactive key",
            "expired" => "expired key",
            "old_secret_expired" => "old secret after its grace period",
            _ => "refused",
        }
    }
}

/// One row of the API Keys table. Holds no secret. The server reads it straight from the list's
/// query (only these columns, not whole keys and users; `service::read_rows`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub client_id: String,
    pub user_key: String,
    pub display_name: String,
    pub user_active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: String,
    pub regenerated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub regenerated_by: Option<String>,
    /// How many secrets the key has had; a regeneration names the one it saw, so that of two
    /// administrators regenerating at once exactly one wins.
    pub secret_generation: i32,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub description: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub is_active: bool,
    /// While a grace period runs: when the old secret stops working.
    pub old_secret_until: Option<chrono::DateTime<chrono::Utc>>,
    pub last_failed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_failed_reason: Option<String>,
    /// Whether this key is the one stored on the Xray Credentials page (API "This server"):
    /// not a column, set after the read.
    pub used_by_credentials: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyQuery {
    pub search: String,
    #[serde(default)]
    pub filter: KeyFilter,
    pub page: u64,
    pub per_page: u64,
    /// Set by the Next and Prev links: where `page` starts.
    #[serde(default)]
    pub start: Option<PageStart>,
}

/// Where a page of the list starts when Next or Prev asks for it: just after the last key the
/// page before showed, or just before the first key of the page after (each a user key,
/// lower-cased: the list's order). The database seeks to it in its index (keyset paging)
/// instead of stepping over every earlier key, and a key added or removed meanwhile neither
/// shows a row twice nor skips one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageStart {
    After(String),
    Before(String),
}

impl PageStart {
    /// From a page address's `after` and `before` values (empty when absent).
    pub fn from_query(after: &str, before: &str) -> Result<Option<PageStart>, AppError> {
        let checked = |key: &str| {
            if key.chars().count() > crate::users::USER_KEY_MAX {
                Err(AppError::validation(
                    "page",
                    "That page link is not one this list made; go back to the first page.",
                ))
            } else {
                Ok(key.to_string())
            }
        };
        match (after.is_empty(), before.is_empty()) {
            (true, true) => Ok(None),
            (false, true) => Ok(Some(PageStart::After(checked(after)?))),
            (true, false) => Ok(Some(PageStart::Before(checked(before)?))),
            (false, false) => Err(AppError::validation(
                "page",
                "A page link starts either after a key or before one, not both.",
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyPage {
    #[serde(with = "rows_as_arrays")]
    pub keys: Vec<ApiKeyRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    /// The server's clock when the page was read: relative times ("3 days ago") are worked out
    /// from it, so the server-rendered and the hydrated page say the same.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Keys (of all, not only this search) that expire within the warning window.
    pub expiring_soon: u64,
    pub window: FilterWindow,
    /// What the dialogs offer under the API Key Policy.
    pub default_expiry: ExpiryChoice,
    pub max_lifetime_days: Option<u32>,
}

/// A page's rows travel (server function answers, the page's hydration data) as arrays of their
/// values, without the field names: for 100 rows the names were about 60 % of the page's JSON,
/// which the server also escapes character by character into the HTML. `xray-keys keys list
/// --json` still prints each `ApiKeyRow` with its names.
mod rows_as_arrays {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::ApiKeyRow;

    type At = DateTime<Utc>;

    /// A row's values in `ApiKeyRow`'s field order: borrowed (`&str`) when written, owned
    /// (`String`) when read back.
    #[derive(Serialize, Deserialize)]
    struct Values<S>(
        S,
        S,
        S,
        bool,
        At,
        S,
        Option<At>,
        Option<S>,
        i32,
        Option<At>,
        S,
        Option<At>,
        bool,
        Option<At>,
        Option<At>,
        Option<S>,
        bool,
    );

    pub fn serialize<S: Serializer>(rows: &[ApiKeyRow], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(rows.iter().map(|row| {
            Values(
                row.client_id.as_str(),
                &row.user_key,
                &row.display_name,
                row.user_active,
                row.created_at,
                &row.created_by,
                row.regenerated_at,
                row.regenerated_by.as_deref(),
                row.secret_generation,
                row.last_used_at,
                &row.description,
                row.expires_at,
                row.is_active,
                row.old_secret_until,
                row.last_failed_at,
                row.last_failed_reason.as_deref(),
                row.used_by_credentials,
            )
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<ApiKeyRow>, D::Error> {
        let rows = Vec::<Values<String>>::deserialize(deserializer)?;
        Ok(rows
            .into_iter()
            .map(|v| ApiKeyRow {
                client_id: v.0,
                user_key: v.1,
                display_name: v.2,
                user_active: v.3,
                created_at: v.4,
                created_by: v.5,
                regenerated_at: v.6,
                regenerated_by: v.7,
                secret_generation: v.8,
                last_used_at: v.9,
                description: v.10,
                expires_at: v.11,
                is_active: v.12,
                old_secret_until: v.13,
                last_failed_at: v.14,
                last_failed_reason: v.15,
                used_by_credentials: v.16,
            })
            .collect())
    }
}

impl ApiKeyPage {
    /// Where the Prev link's page ends: before this page's first key; `None` on page 1.
    pub fn prev_start(&self) -> Option<PageStart> {
        let first = self.keys.first().filter(|_| self.page > 1)?;
        Some(PageStart::Before(crate::users::sort_key(&first.user_key)))
    }

    /// Where the Next link's page starts: after this page's last key; `None` on the last page.
    pub fn next_start(&self) -> Option<PageStart> {
        let pages = self.total.div_ceil(self.per_page.max(1));
        let last = self.keys.last().filter(|_| self.page < pages)?;
        Some(PageStart::After(crate::users::sort_key(&last.user_key)))
    }
}

/// "Keep the old secret working for" in the Regenerate Client Secret dialog, in hours.
pub const GRACE_CHOICES: [(u32, &str); 4] = [
    (0, "Stop it immediately"),
    (1, "1 hour"),
    (24, "24 hours"),
    (168, "7 days"),
];

/// The longest grace period a regeneration may give, in hours (the command line may choose any
/// length up to this).
pub const GRACE_MAX_HOURS: u32 = 30 * 24;

pub fn grace_from_hours(hours: u32) -> Result<chrono::Duration, AppError> {
    if hours > GRACE_MAX_HOURS {
        return Err(AppError::validation(
            "grace",
            "Keep the old secret working for at most 30 days",
        ));
    }
    Ok(chrono::Duration::hours(i64::from(hours)))
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
    /// Every key matching `search` and `filter` when the operation runs; `expected` is the
    /// count the administrator confirmed, checked again on the server.
    AllMatching {
        search: String,
        #[serde(default)]
        filter: KeyFilter,
        expected: u64,
    },
}

/// The answer of the row's Regenerate Client Secret: the new secret, shown once, and with the
/// rotation handshake what became of the Xray Credentials. Deliberately without `Debug`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Regeneration {
    pub issued: IssuedKey,
    /// `None`: the credentials were not asked to follow.
    pub credentials: Option<String>,
    /// They followed and the connection test then succeeded.
    pub credentials_connected: bool,
}

/// What a bulk change did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkResult {
    pub changed: u64,
    /// Keys already as asked (inactive when deactivating, …): left alone, not audited.
    pub unchanged: u64,
}

/// What a bulk change does to every selected key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkChange {
    Deactivate,
    Reactivate,
    SetExpiry(ExpiryChoice),
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
    fn a_page_of_keys_travels_without_field_names_and_comes_back_whole() {
        use chrono::{Duration, TimeZone};
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        // Every field a value of its own, so that two fields swapped would show.
        let row = ApiKeyRow {
            client_id: "C1".into(),
            user_key: "ann".into(),
            display_name: "Ann \"A\" <b>".into(),
            user_active: false,
            created_at: at,
            created_by: "admin".into(),
            regenerated_at: Some(at + Duration::hours(1)),
            regenerated_by: Some("root".into()),
            secret_generation: 7,
            last_used_at: Some(at + Duration::hours(2)),
            description: "Jenkins".into(),
            expires_at: Some(at + Duration::hours(3)),
            is_active: true,
            old_secret_until: Some(at + Duration::hours(4)),
            last_failed_at: Some(at + Duration::hours(5)),
            last_failed_reason: Some("expired".into()),
            used_by_credentials: true,
        };
        let plain = ApiKeyRow {
            regenerated_at: None,
            regenerated_by: None,
            last_used_at: None,
            expires_at: None,
            old_secret_until: None,
            last_failed_at: None,
            last_failed_reason: None,
            ..row.clone()
        };
        let page = ApiKeyPage {
            keys: vec![row, plain],
            total: 2,
            page: 1,
            per_page: 10,
            now: at,
            expiring_soon: 0,
            window: FilterWindow::default(),
            default_expiry: ExpiryChoice::Never,
            max_lifetime_days: None,
        };
        let json = serde_json::to_string(&page).unwrap();
        assert!(!json.contains("client_id"), "{json}");
        assert!(json.contains(r#"["C1","ann","#), "{json}");
        let back: ApiKeyPage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, page);
        // A row with a value missing is refused, not read into the wrong fields.
        let short = json.replacen(r#"["C1","ann","#, r#"["ann","#, 1);
        assert!(serde_json::from_str::<ApiKeyPage>(&short).is_err());
    }

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

    #[test]
    fn the_filters_draw_their_lines_where_the_page_says() {
        use chrono::{Duration, TimeZone, Utc};
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let key = |expires_in: Option<Duration>, used_ago: Option<Duration>| ApiKeyRow {
            client_id: "C".into(),
            user_key: "u".into(),
            display_name: "U".into(),
            user_active: true,
            created_at: now - Duration::days(400),
            created_by: "cli".into(),
            regenerated_at: None,
            regenerated_by: None,
            secret_generation: 1,
            last_used_at: used_ago.map(|ago| now - ago),
            description: String::new(),
            expires_at: expires_in.map(|d| now + d),
            is_active: true,
            old_secret_until: None,
            last_failed_at: None,
            last_failed_reason: None,
            used_by_credentials: false,
        };
        let shown =
            |filter: KeyFilter, row: &ApiKeyRow| filter.matches(row, now, FilterWindow::default());
        let in_a_week = key(Some(Duration::days(7)), Some(Duration::days(1)));
        let in_eight_days = key(Some(Duration::days(8)), Some(Duration::days(1)));
        let just_expired = key(Some(Duration::zero()), Some(Duration::days(1)));
        assert!(shown(KeyFilter::ExpiringSoon, &in_a_week));
        assert!(!shown(KeyFilter::ExpiringSoon, &in_eight_days));
        assert!(shown(KeyFilter::Expired, &just_expired));
        assert!(!shown(KeyFilter::Active, &just_expired));
        assert!(shown(
            KeyFilter::Unused,
            &key(None, Some(Duration::days(90)))
        ));
        assert!(!shown(
            KeyFilter::Unused,
            &key(None, Some(Duration::days(89)))
        ));
        assert!(
            shown(KeyFilter::Unused, &key(None, None)),
            "created 400 days ago, never used"
        );
        assert_eq!(KeyFilter::parse("never-used"), Some(KeyFilter::NeverUsed));
        assert_eq!(KeyFilter::parse("sleepy"), None);
    }
}
