//! The Xray credentials backup jobs use: a Client ID and Client secret for an Xray API, kept
//! encrypted, never shown again, and checked against the API on demand.

pub mod api;
#[cfg(feature = "ssr")]
pub mod connection;
#[cfg(feature = "ssr")]
pub mod destination;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;

pub use api::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const CLIENT_ID_LEN: usize = 32;
pub const CLIENT_SECRET_LEN: usize = 64;
pub const CUSTOM_URL_MAX: usize = 2048;

/// What the page says when the stored secret no longer opens for its row's Client ID and URL.
pub const MISMATCH_MESSAGE: &str =
    "The stored credentials no longer match their Xray API. Enter them again.";

/// Why a save that keeps the stored secret but changes where it goes is refused.
pub const REENTER_MESSAGE: &str =
    "Enter the Client secret again: a stored secret is only sent to the Xray API it was saved for.";

/// Where the credentials are used. Stored by [`BaseUrl::stored`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BaseUrl {
    /// This xray-keys server's own REST API.
    ThisServer,
    XrayGlobal,
    XrayUs,
    XrayEu,
    XrayAu,
    /// An `https` URL (or `http` on this machine's loopback), ending before `/v2/...`.
    Custom(String),
}

/// Each named choice once: the variant, its value in the form and the database, and for Xray
/// Cloud the region's name and API root.
const NAMED: [(BaseUrl, &str, &str, &str); 5] = [
    (BaseUrl::ThisServer, "this", "", ""),
    (
        BaseUrl::XrayGlobal,
        "global",
        "global",
        "https://xray.cloud.getxray.app/api",
    ),
    (
        BaseUrl::XrayUs,
        "us",
        "US",
        "https://us.xray.cloud.getxray.app/api",
    ),
    (
        BaseUrl::XrayEu,
        "eu",
        "EU",
        "https://eu.xray.cloud.getxray.app/api",
    ),
    (
        BaseUrl::XrayAu,
        "au",
        "Australia",
        "https://au.xray.cloud.getxray.app/api",
    ),
];

/// The form value of [`BaseUrl::Custom`].
const CUSTOM: &str = "custom";

/// The choices of the form's base URL select: value, label.
pub fn base_url_choices() -> Vec<(&'static str, String)> {
    NAMED
        .iter()
        .map(|(base, value, region, root)| {
            let label = match base {
                BaseUrl::ThisServer => base.label(),
                _ => format!("Xray Cloud, {region}: {root}"),
            };
            (*value, label)
        })
        .chain([(CUSTOM, "Custom URL".to_string())])
        .collect()
}

impl BaseUrl {
    /// Reads the form's choice and, for `custom`, the URL typed next to it.
    pub fn from_form(choice: &str, custom_url: &str) -> Result<Self, AppError> {
        let choice = choice.trim();
        if choice == CUSTOM {
            return validate_custom_url(custom_url).map(BaseUrl::Custom);
        }
        NAMED
            .iter()
            .find(|(_, value, _, _)| *value == choice)
            .map(|(base, ..)| base.clone())
            .ok_or_else(|| {
                AppError::validation("base_url", "Choose where the credentials are used.")
            })
    }

    /// The value kept in the database.
    pub fn stored(&self) -> String {
        match self {
            BaseUrl::Custom(url) => url.clone(),
            other => other.choice().to_string(),
        }
    }

    pub fn from_stored(value: &str) -> Self {
        NAMED
            .iter()
            .find(|(_, named, _, _)| *named == value)
            .map_or_else(
                || BaseUrl::Custom(value.to_string()),
                |(base, ..)| base.clone(),
            )
    }

    /// The form's select value.
    pub fn choice(&self) -> &'static str {
        NAMED
            .iter()
            .find(|(base, ..)| base == self)
            .map_or(CUSTOM, |(_, value, _, _)| value)
    }

    /// The API root requests go to (`<root>/v2/authenticate`); `None` for this server, whose
    /// address only the server knows.
    pub fn xray_cloud_root(&self) -> Option<&'static str> {
        NAMED
            .iter()
            .find(|(base, ..)| base == self)
            .map(|(_, _, _, root)| *root)
            .filter(|root| !root.is_empty())
    }

    /// How the page names it.
    pub fn label(&self) -> String {
        match self {
            BaseUrl::ThisServer => "This server (xray-keys)".into(),
            BaseUrl::Custom(url) => url.clone(),
            other => other.xray_cloud_root().unwrap_or_default().to_string(),
        }
    }
}

/// A custom API root: `https://host[:port][/path]`, or `http://` to this machine's loopback
/// (a local proxy, or a test stub). No user info, query or fragment; no trailing slash kept.
pub fn validate_custom_url(input: &str) -> Result<String, AppError> {
    let url = input.trim().trim_end_matches('/');
    let bad = |m: &str| Err(AppError::validation("custom_url", m));
    if url.is_empty() {
        return bad("Enter the API's base URL, such as https://xray.example.com/api.");
    }
    if url.len() > CUSTOM_URL_MAX {
        return bad("The URL is too long (at most 2048 characters).");
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => return bad("The URL must start with https://."),
    };
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = host_of(host_port);
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
    match scheme.as_str() {
        "https" => {}
        "http" if loopback => {}
        "http" => return bad("The URL must use https:// (plain http only to this machine)."),
        _ => return bad("The URL must start with https://."),
    }
    if host.is_empty()
        || rest.contains(['?', '#', '@', ' ', '\\'])
        || url.chars().any(|c| c.is_control() || !c.is_ascii())
    {
        return bad("This is not a valid URL: no spaces, user names, queries or fragments.");
    }
    Ok(format!("{scheme}://{rest}"))
}

fn host_of(host_port: &str) -> String {
    let host = if host_port.starts_with('[') {
        host_port
            .split_inclusive(']')
            .next()
            .unwrap_or_default()
            .to_string()
    } else {
        host_port.split(':').next().unwrap_or_default().to_string()
    };
    host.to_ascii_lowercase()
}

/// The form as the operator filled it in. The secret is empty when the stored one is kept.
/// Its `Debug` (server functions need one) hides the secret.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct CredentialsForm {
    pub client_id: String,
    pub client_secret: String,
    pub base_url: String,
    pub custom_url: String,
    /// The version the edit started from (0 when nothing was stored).
    pub version: i64,
}

impl std::fmt::Debug for CredentialsForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsForm")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &if self.client_secret.is_empty() {
                    "<empty>"
                } else {
                    "<hidden>"
                },
            )
            .field("base_url", &self.base_url)
            .field("custom_url", &self.custom_url)
            .field("version", &self.version)
            .finish()
    }
}

/// The form's input once every field passed. No `Debug`: holds a secret.
pub struct ValidCredentials {
    pub client_id: String,
    /// `None`: keep the stored secret.
    pub client_secret: Option<String>,
    pub base_url: BaseUrl,
}

/// Checks every field; all problems at once, each with its field, so the form can show them
/// together. `secret_stored` says whether an empty secret means "keep".
pub fn validate(
    form: &CredentialsForm,
    secret_stored: bool,
) -> Result<ValidCredentials, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let client_id = form.client_id.trim();
    if client_id.is_empty() {
        errors.push(("client_id", "Enter the Client ID.".to_string()));
    } else if !is_hex(client_id, CLIENT_ID_LEN) {
        errors.push((
            "client_id",
            format!(
                "A Client ID is {CLIENT_ID_LEN} hexadecimal characters (0-9, A-F); this has {}.",
                client_id.chars().count()
            ),
        ));
    }
    let secret = form.client_secret.trim();
    let client_secret = if secret.is_empty() {
        if !secret_stored {
            errors.push(("client_secret", "Enter the Client secret.".to_string()));
        }
        None
    } else if !is_hex(secret, CLIENT_SECRET_LEN) {
        // Never repeat the input: it is a secret, however mistyped.
        errors.push((
            "client_secret",
            format!(
                "A Client secret is {CLIENT_SECRET_LEN} hexadecimal characters (0-9, a-f); this has {}.",
                secret.chars().count()
            ),
        ));
        None
    } else {
        Some(secret.to_string())
    };
    let base_url = match BaseUrl::from_form(&form.base_url, &form.custom_url) {
        Ok(b) => Some(b),
        Err(e) => {
            if let AppError::Validation { field, message } = e {
                errors.push((
                    if field == "base_url" {
                        "base_url"
                    } else {
                        "custom_url"
                    },
                    message,
                ));
            }
            None
        }
    };
    match (errors.is_empty(), base_url) {
        (true, Some(base_url)) => Ok(ValidCredentials {
            client_id: client_id.to_string(),
            client_secret,
            base_url,
        }),
        _ => Err(errors),
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a connection test found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Authenticated and read; `as_user` names the user when the API says.
    Connected {
        as_user: Option<String>,
    },
    /// The API refused the Client ID and secret (401).
    InvalidCredentials,
    /// The credentials were accepted but the data read was refused or sent elsewhere: the
    /// Xray data lives in another region.
    OtherRegion {
        detail: String,
    },
    Unreachable {
        detail: String,
    },
    TimedOut,
    Tls {
        detail: String,
    },
    /// An answer the test does not understand; `status` is its HTTP status.
    Unexpected {
        status: u16,
        step: String,
    },
    /// Refused before anything was sent: the host is not one the secret may go to.
    NotAllowed {
        detail: String,
    },
}

impl Outcome {
    /// Short name stored in the database and used as the badge's CSS modifier.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Connected { .. } => "connected",
            Outcome::InvalidCredentials => "invalid_credentials",
            Outcome::OtherRegion { .. } => "other_region",
            Outcome::Unreachable { .. } => "unreachable",
            Outcome::TimedOut => "timed_out",
            Outcome::Tls { .. } => "tls_error",
            Outcome::Unexpected { .. } => "unexpected",
            Outcome::NotAllowed { .. } => "not_allowed",
        }
    }

    pub fn badge(&self) -> &'static str {
        match self {
            Outcome::Connected { .. } => "Connected",
            Outcome::InvalidCredentials => "Invalid credentials",
            Outcome::OtherRegion { .. } => "Data in another region",
            Outcome::Unreachable { .. } => "Server unreachable",
            Outcome::TimedOut => "Timed out",
            Outcome::Tls { .. } => "TLS error",
            Outcome::Unexpected { .. } => "Unexpected answer",
            Outcome::NotAllowed { .. } => "Host not allowed",
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Connected { .. })
    }

    /// One sentence for the operator: what happened and what to do.
    pub fn explanation(&self) -> String {
        match self {
            Outcome::Connected { as_user: Some(u) } => {
                format!("The API accepted the credentials; requests act as {u}.")
            }
            Outcome::Connected { as_user: None } => {
                "The API accepted the credentials and answered a read.".into()
            }
            Outcome::InvalidCredentials => {
                "The API refused the Client ID and Client secret (401). \
                Check both values, or create a new API key and enter it here."
                    .into()
            }
            Outcome::OtherRegion { detail } => format!(
                "The credentials were accepted, but the data read was refused: your Xray data \
                 is probably kept in another region. Choose that region's URL. ({detail})"
            ),
            Outcome::Unreachable { detail } => {
                format!("The API server could not be reached: {detail}.")
            }
            Outcome::TimedOut => {
                "Timed out after 10 s: the API server did not answer in time. Try again later, \
                 or check the URL."
                    .into()
            }
            Outcome::Tls { detail } => format!(
                "A secure connection could not be made: {detail}. Check the URL, or the \
                 certificate of the server."
            ),
            Outcome::NotAllowed { detail } => {
                format!("Nothing was sent to this host. {detail}")
            }
            Outcome::Unexpected { status, step } => {
                format!("The API gave an unexpected answer to {step}: HTTP {status}.")
            }
        }
    }

    /// Stored form: `(code, detail)`.
    pub fn to_stored(&self) -> (String, Option<String>) {
        let detail = match self {
            Outcome::Connected { as_user } => as_user.clone(),
            Outcome::OtherRegion { detail }
            | Outcome::Unreachable { detail }
            | Outcome::Tls { detail }
            | Outcome::NotAllowed { detail } => Some(detail.clone()),
            Outcome::Unexpected { status, step } => Some(format!("{status} {step}")),
            Outcome::InvalidCredentials | Outcome::TimedOut => None,
        };
        (self.code().to_string(), detail)
    }

    /// The outcome stored as `(code, detail)`; the codes are spelled once, in [`Outcome::code`].
    pub fn from_stored(code: &str, detail: Option<String>) -> Option<Self> {
        let d = detail.clone().unwrap_or_default();
        let (status, step) = d.split_once(' ').unwrap_or(("0", ""));
        let unexpected = Outcome::Unexpected {
            status: status.parse().unwrap_or(0),
            step: step.to_string(),
        };
        [
            Outcome::Connected { as_user: detail },
            Outcome::InvalidCredentials,
            Outcome::OtherRegion { detail: d.clone() },
            Outcome::Unreachable { detail: d.clone() },
            Outcome::TimedOut,
            Outcome::Tls { detail: d.clone() },
            Outcome::NotAllowed { detail: d.clone() },
            unexpected,
        ]
        .into_iter()
        .find(|outcome| outcome.code() == code)
    }
}

/// The last connection test and when it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub outcome: Outcome,
    pub tested_at: chrono::DateTime<chrono::Utc>,
    /// False when the credentials were saved again after this test.
    pub current: bool,
}

/// The stored credentials as a browser may see them: never the secret, nor its length.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialsView {
    pub client_id: String,
    pub base_url: BaseUrl,
    pub updated_by: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: i64,
    pub last_test: Option<TestResult>,
    /// False when the sealed secret no longer opens for this Client ID and URL (they were changed
    /// outside the app): it must be entered again.
    pub secret_matches: bool,
}

/// One check of the stored credentials, as the page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRow {
    pub checked_at: chrono::DateTime<chrono::Utc>,
    /// "Connection test", "Scheduled check", "Backup run 12".
    pub source: String,
    pub badge: String,
    pub ok: bool,
}

/// What the page loads: the credentials if any, and whether the viewer may open API Keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialsPage {
    pub stored: Option<CredentialsView>,
    pub viewer_is_admin: bool,
    /// When the stored Client ID is a key of this server: whose it is and how it stands.
    #[serde(default)]
    pub issued_here: Option<IssuedHere>,
    /// The last five checks, newest first.
    #[serde(default)]
    pub checks: Vec<CheckRow>,
    /// How the backups that use these credentials stand.
    pub backup_health: crate::xray_backups::Health,
}

/// The API key of this server that the stored credentials use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedHere {
    pub user_key: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl IssuedHere {
    /// "Issued by this server to <user key> · expires <date or never> · last used <when>".
    pub fn line(&self) -> String {
        let day = |at: Option<chrono::DateTime<chrono::Utc>>, none: &str| {
            at.map_or_else(|| none.to_string(), |t| t.format("%Y-%m-%d").to_string())
        };
        format!(
            "Issued by this server to {} · expires {} · last used {}",
            self.user_key,
            day(self.expires_at, "never"),
            self.last_used_at.map_or_else(
                || "never".to_string(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(id: &str, secret: &str, base: &str, custom: &str) -> CredentialsForm {
        CredentialsForm {
            client_id: id.into(),
            client_secret: secret.into(),
            base_url: base.into(),
            custom_url: custom.into(),
            version: 0,
        }
    }

    const ID: &str = "8CF3CEA946DB4059A9999D3AF4035EFE";

    #[test]
    fn input_is_trimmed_and_checked_for_xray_formats() {
        let secret = "a".repeat(64);
        let ok = validate(
            &form(&format!("  {ID} "), &format!(" {secret}\n"), "eu", ""),
            false,
        )
        .ok()
        .unwrap();
        assert_eq!(ok.client_id, ID);
        assert_eq!(ok.client_secret.as_deref(), Some(secret.as_str()));
        assert_eq!(ok.base_url, BaseUrl::XrayEu);

        let errors = validate(&form("xyz", "123", "mars", ""), false)
            .err()
            .unwrap();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["client_id", "client_secret", "base_url"]);
        assert!(errors[0].1.contains("this has 3"));
        // The mistyped secret is never echoed.
        assert!(!errors[1].1.contains("123"));
    }

    #[test]
    fn an_empty_secret_keeps_the_stored_one_only_when_one_is_stored() {
        let f = form(ID, "  ", "global", "");
        assert!(validate(&f, true).ok().unwrap().client_secret.is_none());
        let errors = validate(&f, false).err().unwrap();
        assert_eq!(errors[0].0, "client_secret");
        assert!(validate(&form("", "", "global", ""), true).is_err());
    }

    #[test]
    fn custom_urls_are_https_or_loopback_http() {
        assert_eq!(
            validate_custom_url(" https://xray.example.com/api/ ").unwrap(),
            "https://xray.example.com/api"
        );
        assert!(validate_custom_url("http://127.0.0.1:8080/api").is_ok());
        assert!(validate_custom_url("http://localhost/api").is_ok());
        assert!(validate_custom_url("http://[::1]:9/api").is_ok());
        for bad in [
            "",
            "xray.example.com",
            "http://xray.example.com/api",
            "ftp://x/api",
            "https://user@x/api",
            "https://x/api?q=1",
            "https://x/a b",
            "https:///api",
            "javascript://x",
        ] {
            assert!(validate_custom_url(bad).is_err(), "{bad}");
        }
        assert!(validate_custom_url(&format!("https://x/{}", "a".repeat(2100))).is_err());
    }

    #[test]
    fn base_urls_round_trip_through_storage() {
        for b in [
            BaseUrl::ThisServer,
            BaseUrl::XrayGlobal,
            BaseUrl::XrayUs,
            BaseUrl::XrayEu,
            BaseUrl::XrayAu,
            BaseUrl::Custom("https://x.example/api".into()),
        ] {
            assert_eq!(BaseUrl::from_stored(&b.stored()), b);
        }
    }

    #[test]
    fn outcomes_round_trip_through_storage() {
        for o in [
            Outcome::Connected {
                as_user: Some("Backup (svc)".into()),
            },
            Outcome::Connected { as_user: None },
            Outcome::InvalidCredentials,
            Outcome::OtherRegion { detail: "x".into() },
            Outcome::Unreachable { detail: "y".into() },
            Outcome::TimedOut,
            Outcome::Tls { detail: "z".into() },
            Outcome::NotAllowed { detail: "w".into() },
            Outcome::Unexpected {
                status: 502,
                step: "authenticate".into(),
            },
        ] {
            let (code, detail) = o.to_stored();
            assert_eq!(Outcome::from_stored(&code, detail), Some(o));
        }
    }
}
