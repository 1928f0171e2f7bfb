//! The API Key Policy: the default expiry of new keys, the longest life a key may have, when to
//! warn before an expiry and when a key counts as unused. Administrators change it on its own
//! page; every change is audited.

pub mod api;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;

pub use api::*;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// How long before its expiry a key counts as expiring soon (the policy's default warning).
pub const EXPIRY_WARNING: chrono::Duration = chrono::Duration::days(7);
/// How long without a use makes a key unused (the policy's default).
pub const UNUSED_AFTER: chrono::Duration = chrono::Duration::days(90);

/// Where "Expiring soon" and "Unused" draw their lines (from the API Key Policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterWindow {
    pub expiring_days: i64,
    pub unused_days: i64,
}

impl Default for FilterWindow {
    fn default() -> Self {
        FilterWindow {
            expiring_days: EXPIRY_WARNING.num_days(),
            unused_days: UNUSED_AFTER.num_days(),
        }
    }
}

impl FilterWindow {
    pub fn expiring(self) -> chrono::Duration {
        chrono::Duration::days(self.expiring_days)
    }
    pub fn unused(self) -> chrono::Duration {
        chrono::Duration::days(self.unused_days)
    }
}

/// When a new key, or a changed one, expires, as the dialogs offer it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpiryChoice {
    #[default]
    Never,
    /// This many days from now.
    InDays(u32),
    /// At the end of this day, UTC.
    OnDate(chrono::NaiveDate),
}

impl ExpiryChoice {
    /// The choice a form sent: "never", a number of days, or a date (YYYY-MM-DD).
    pub fn parse(input: &str) -> Result<ExpiryChoice, AppError> {
        let input = input.trim();
        if input.eq_ignore_ascii_case("never") {
            return Ok(ExpiryChoice::Never);
        }
        if let Ok(days) = input.parse::<u32>() {
            if (1..=3650).contains(&days) {
                return Ok(ExpiryChoice::InDays(days));
            }
        }
        chrono::NaiveDate::parse_from_str(input, "%Y-%m-%d")
            .map(ExpiryChoice::OnDate)
            .map_err(|_| AppError::validation("expires_at", "Choose when the key expires"))
    }

    /// The choice as a form sends it (see [`ExpiryChoice::parse`]).
    pub fn value(self) -> String {
        match self {
            ExpiryChoice::Never => "never".into(),
            ExpiryChoice::InDays(days) => days.to_string(),
            ExpiryChoice::OnDate(day) => day.format("%Y-%m-%d").to_string(),
        }
    }

    /// The fixed choices of the dialogs (besides "On date…").
    pub const PRESETS: [(ExpiryChoice, &'static str); 4] = [
        (ExpiryChoice::Never, "Never"),
        (ExpiryChoice::InDays(30), "In 30 days"),
        (ExpiryChoice::InDays(90), "In 90 days"),
        (ExpiryChoice::InDays(365), "In 1 year"),
    ];

    /// The time this choice means at `now`.
    pub fn at(
        self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
        match self {
            ExpiryChoice::Never => Ok(None),
            ExpiryChoice::InDays(days) => Ok(Some(now + chrono::Duration::days(i64::from(days)))),
            ExpiryChoice::OnDate(day) => day
                .and_hms_opt(23, 59, 59)
                .map(|end| Some(end.and_utc()))
                .ok_or_else(|| AppError::validation("expires_at", "Choose a valid date")),
        }
    }
}

/// "Default expiry for new keys" choices, in days (`None`: never).
pub const DEFAULT_EXPIRY_CHOICES: [Option<u32>; 5] =
    [None, Some(30), Some(90), Some(180), Some(365)];
/// The range of "Maximum lifetime", in days.
pub const MAX_LIFETIME_RANGE: std::ops::RangeInclusive<u32> = 30..=730;
/// The range of one "Warn before expiry" lead time, in days.
pub const WARN_RANGE: std::ops::RangeInclusive<u32> = 1..=90;
/// The range of "Flag keys unused for", in days.
pub const UNUSED_RANGE: std::ops::RangeInclusive<u32> = 7..=730;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPolicy {
    /// `None`: new keys never expire unless their creator says so.
    pub default_expiry_days: Option<u32>,
    /// `None`: no maximum.
    pub max_lifetime_days: Option<u32>,
    /// Lead times of the "expiring" warnings, longest first.
    pub warn_days: Vec<u32>,
    pub unused_days: u32,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            default_expiry_days: None,
            max_lifetime_days: None,
            warn_days: vec![7, 1],
            unused_days: 90,
        }
    }
}

impl KeyPolicy {
    /// The policy checked, its warnings sorted longest first without repeats.
    pub fn checked(mut self) -> Result<KeyPolicy, AppError> {
        if let Some(days) = self.default_expiry_days {
            if !DEFAULT_EXPIRY_CHOICES.contains(&Some(days)) {
                return Err(AppError::validation(
                    "default_expiry_days",
                    "Choose Never, 30, 90, 180 or 365 days",
                ));
            }
        }
        if let Some(max) = self.max_lifetime_days {
            if !MAX_LIFETIME_RANGE.contains(&max) {
                return Err(AppError::validation(
                    "max_lifetime_days",
                    "Choose a maximum lifetime of 30 to 730 days, or None",
                ));
            }
            if self.default_expiry_days.is_none_or(|d| d > max) {
                return Err(AppError::validation(
                    "default_expiry_days",
                    format!("The default expiry must be at most the maximum lifetime ({max} days)"),
                ));
            }
        }
        self.warn_days.sort_unstable_by(|a, b| b.cmp(a));
        self.warn_days.dedup();
        if self.warn_days.is_empty()
            || self.warn_days.len() > 3
            || self.warn_days.iter().any(|d| !WARN_RANGE.contains(d))
        {
            return Err(AppError::validation(
                "warn_days",
                "Give one to three lead times of 1 to 90 days, e.g. 7, 1",
            ));
        }
        if !UNUSED_RANGE.contains(&self.unused_days) {
            return Err(AppError::validation("unused_days", "Choose 7 to 730 days"));
        }
        Ok(self)
    }

    /// Where the list filters draw their lines under this policy.
    pub fn window(&self) -> FilterWindow {
        FilterWindow {
            expiring_days: i64::from(self.warn_days.first().copied().unwrap_or(7)),
            unused_days: i64::from(self.unused_days),
        }
    }

    /// The latest expiry a key may be given at `now`; `None`: no limit.
    pub fn latest_expiry(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.max_lifetime_days
            .map(|days| now + Duration::days(i64::from(days)))
    }

    /// Refuses an expiry (`None`: never) beyond the maximum lifetime at `now`.
    pub fn allows(
        &self,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        match (self.max_lifetime_days, self.latest_expiry(now)) {
            (Some(days), Some(latest)) if expires_at.is_none_or(|at| at > latest) => {
                Err(AppError::validation(
                    "expires_at",
                    format!("The policy allows at most {days} days from today."),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The expiry choice the Create API Key dialog starts with.
    pub fn default_choice(&self) -> ExpiryChoice {
        self.default_expiry_days
            .map_or(ExpiryChoice::Never, ExpiryChoice::InDays)
    }

    /// Whether a dialog may offer `choice`: nothing beyond the maximum lifetime. "On date…"
    /// is always offered (its date field is bounded and checked).
    pub fn offers(&self, choice: ExpiryChoice) -> bool {
        match (choice, self.max_lifetime_days) {
            (_, None) | (ExpiryChoice::OnDate(_), _) => true,
            (ExpiryChoice::Never, Some(_)) => false,
            (ExpiryChoice::InDays(days), Some(max)) => days <= max,
        }
    }
}

/// What applying the maximum lifetime to existing keys would change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaximumPreview {
    /// Keys with no expiry or a later one.
    pub affected: u64,
    /// The expiry they would get.
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_is_checked_and_its_warnings_sorted() {
        let policy = KeyPolicy {
            warn_days: vec![1, 14, 1],
            ..KeyPolicy::default()
        }
        .checked()
        .unwrap();
        assert_eq!(policy.warn_days, vec![14, 1]);
        assert_eq!(policy.window().expiring_days, 14);
        for bad in [
            KeyPolicy {
                default_expiry_days: Some(45),
                ..KeyPolicy::default()
            },
            KeyPolicy {
                max_lifetime_days: Some(20),
                default_expiry_days: Some(30),
                ..KeyPolicy::default()
            },
            KeyPolicy {
                max_lifetime_days: Some(60),
                default_expiry_days: Some(90),
                ..KeyPolicy::default()
            },
            KeyPolicy {
                max_lifetime_days: Some(60),
                default_expiry_days: None,
                ..KeyPolicy::default()
            },
            KeyPolicy {
                warn_days: vec![],
                ..KeyPolicy::default()
            },
            KeyPolicy {
                warn_days: vec![91],
                ..KeyPolicy::default()
            },
            KeyPolicy {
                unused_days: 3,
                ..KeyPolicy::default()
            },
        ] {
            assert!(bad.clone().checked().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_maximum_refuses_later_expiries_and_never() {
        use chrono::TimeZone;
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let policy = KeyPolicy {
            default_expiry_days: Some(30),
            max_lifetime_days: Some(90),
            ..KeyPolicy::default()
        };
        assert!(policy.allows(Some(now + Duration::days(90)), now).is_ok());
        let too_late = policy
            .allows(Some(now + Duration::days(91)), now)
            .unwrap_err();
        assert_eq!(
            too_late.to_string(),
            "The policy allows at most 90 days from today."
        );
        assert!(policy.allows(None, now).is_err());
        assert!(!policy.offers(ExpiryChoice::Never));
        assert!(policy.offers(ExpiryChoice::InDays(90)));
        assert!(!policy.offers(ExpiryChoice::InDays(365)));
        assert!(KeyPolicy::default().allows(None, now).is_ok());
    }
}
