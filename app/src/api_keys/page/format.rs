//! How the keys table says times: relative to the server's clock when the page was read (so the
//! server-rendered and the hydrated page agree), in UTC.

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::api_keys::{ApiKeyRow, FailureReason, FilterWindow};

/// A date as the table shows it (YYYY-MM-DD). Written with `format!` rather than chrono's
/// `format`, which parses its pattern anew for every date: a hundred rows' dates were 1.6 % of
/// the page's CPU.
pub fn date(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day())
}

/// A date and time as the table shows it (YYYY-MM-DD HH:MM UTC).
pub fn date_time(at: DateTime<Utc>) -> String {
    format!("{} {:02}:{:02} UTC", date(at), at.hour(), at.minute())
}

fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "Last used": "Never used", "Today", "N days ago" within a month, then the date.
pub fn last_used(row: &ApiKeyRow, now: DateTime<Utc>) -> String {
    let Some(at) = row.last_used_at else {
        return "Never used".into();
    };
    let days = (now.date_naive() - at.date_naive()).num_days();
    match days {
        ..=0 => "Today".into(),
        1..=30 => format!("{} ago", count(days, "day", "days")),
        _ => date(at),
    }
}

/// How long ago `at` was: "just now", "N minutes ago", "N hours ago", "N days ago".
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let gone = now - at;
    if gone.num_minutes() < 1 {
        "just now".into()
    } else if gone.num_hours() < 1 {
        format!("{} ago", count(gone.num_minutes(), "minute", "minutes"))
    } else if gone.num_days() < 1 {
        format!("{} ago", count(gone.num_hours(), "hour", "hours"))
    } else {
        format!("{} ago", count(gone.num_days(), "day", "days"))
    }
}

/// The Status column's main line and whether it is a warning.
pub fn status(row: &ApiKeyRow, now: DateTime<Utc>, window: FilterWindow) -> (String, bool) {
    if !row.is_active {
        return ("Inactive".into(), false);
    }
    match row.expires_at {
        Some(at) if at <= now => ("Expired".into(), true),
        Some(at) if at <= now + window.expiring() => {
            // Whole days left, rounded up: a key expiring in 30 hours expires "in 2 days".
            let days = ((at - now).num_hours() + 23) / 24;
            (
                format!("Expires in {}", count(days.max(1), "day", "days")),
                true,
            )
        }
        _ => ("Active".into(), false),
    }
}

/// Whether the key's old secret still works (a grace period runs).
pub fn grace_running(row: &ApiKeyRow, now: DateTime<Utc>) -> bool {
    row.old_secret_until.is_some_and(|until| until > now)
}

/// "Old secret works until …" while a grace period runs.
pub fn grace_line(row: &ApiKeyRow, now: DateTime<Utc>) -> Option<String> {
    row.old_secret_until
        .filter(|_| grace_running(row, now))
        .map(|until| format!("Old secret works until {}", date_time(until)))
}

/// "Last failed: expired key, 2 minutes ago".
pub fn failure_line(row: &ApiKeyRow, now: DateTime<Utc>) -> Option<String> {
    let at = row.last_failed_at?;
    let reason = FailureReason::describe(row.last_failed_reason.as_deref().unwrap_or_default());
    Some(format!("Last failed: {reason}, {}", ago(at, now)))
}

/// The Expires column: "Never" or the date.
pub fn expires(row: &ApiKeyRow) -> String {
    row.expires_at.map_or_else(|| "Never".into(), date)
}

/// A plain key, created 100 days before `now`: the table tests start from it.
#[cfg(test)]
pub(super) fn sample_row(now: DateTime<Utc>) -> ApiKeyRow {
    ApiKeyRow {
        client_id: "C".into(),
        user_key: "u".into(),
        display_name: "U".into(),
        user_active: true,
        created_at: now - chrono::Duration::days(100),
        created_by: "cli".into(),
        regenerated_at: None,
        regenerated_by: None,
        secret_generation: 1,
        last_used_at: None,
        description: String::new(),
        expires_at: None,
        is_active: true,
        old_secret_until: None,
        last_failed_at: None,
        last_failed_reason: None,
        used_by_credentials: false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn the_table_says_times_as_the_issue_words_them() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let window = FilterWindow::default();
        let mut row = sample_row(now);
        assert_eq!(last_used(&row, now), "Never used");
        row.last_used_at = Some(now - Duration::hours(3));
        assert_eq!(last_used(&row, now), "Today");
        row.last_used_at = Some(now - Duration::days(3));
        assert_eq!(last_used(&row, now), "3 days ago");
        row.last_used_at = Some(now - Duration::days(45));
        assert_eq!(last_used(&row, now), "2026-10-17");
        assert_eq!(status(&row, now, window), ("Active".to_string(), false));
        row.expires_at = Some(now + Duration::hours(30));
        assert_eq!(
            status(&row, now, window),
            ("Expires in 2 days".to_string(), true)
        );
        row.expires_at = Some(now + Duration::hours(5));
        assert_eq!(
            status(&row, now, window),
            ("Expires in 1 day".to_string(), true)
        );
        row.expires_at = Some(now + Duration::days(8));
        assert_eq!(status(&row, now, window), ("Active".to_string(), false));
        assert_eq!(expires(&row), "2026-12-09");
        row.expires_at = Some(now);
        assert_eq!(status(&row, now, window), ("Expired".to_string(), true));
        row.is_active = false;
        assert_eq!(status(&row, now, window), ("Inactive".to_string(), false));
        row.old_secret_until = Some(now + Duration::hours(24));
        assert_eq!(
            grace_line(&row, now).as_deref(),
            Some("Old secret works until 2026-12-02 12:00 UTC")
        );
        row.last_failed_at = Some(now - Duration::minutes(2));
        row.last_failed_reason = Some("expired".into());
        assert_eq!(
            failure_line(&row, now).as_deref(),
            Some("Last failed: expired key, 2 minutes ago")
        );
    }

    #[test]
    fn dates_are_written_with_leading_zeros_as_chrono_writes_them() {
        for at in [
            Utc.with_ymd_and_hms(2027, 1, 5, 3, 7, 9).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(999, 2, 3, 0, 0, 0).unwrap(),
        ] {
            assert_eq!(date(at), at.format("%Y-%m-%d").to_string());
            assert_eq!(date_time(at), at.format("%Y-%m-%d %H:%M UTC").to_string());
        }
        let at = Utc.with_ymd_and_hms(2027, 1, 5, 3, 7, 9).unwrap();
        assert_eq!(date_time(at), "2027-01-05 03:07 UTC");
    }
}
