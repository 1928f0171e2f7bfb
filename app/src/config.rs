//! Server configuration, read once from the environment at start-up.
//!
//! Every problem names the setting it is about, and a value that cannot be right stops start-up:
//! a typo in a setting name (`XRAY_KEYS_LISTN`) is refused rather than silently ignored.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Settings this server reads. Any other `XRAY_KEYS_*` variable is refused as a likely typo.
pub const KNOWN_SETTINGS: &[&str] = &[
    "XRAY_KEYS_LISTEN",
    "XRAY_KEYS_DATA_DIR",
    "XRAY_KEYS_LOG",
    "XRAY_KEYS_LOG_FORMAT",
    "XRAY_KEYS_SITE_ROOT",
    "XRAY_KEYS_PUBLIC_URL",
    "XRAY_KEYS_SECURE_COOKIES",
    "XRAY_KEYS_TRUST_PROXY",
    "XRAY_KEYS_ADMIN_USER",
    "XRAY_KEYS_ADMIN_PASSWORD",
    "XRAY_KEYS_PEPPER",
    "XRAY_KEYS_PEPPER_FILE",
    "XRAY_KEYS_SECRET_HASH",
    "XRAY_KEYS_MASTER_KEY",
    "XRAY_KEYS_MASTER_KEY_FILE",
    "XRAY_KEYS_XRAY_HOSTS",
    "XRAY_KEYS_RETENTION_DAYS",
];

/// Where a server-held key comes from (the pepper of the HMAC secret scheme, the master key).
/// No `Debug`: it can hold the key.
#[derive(Clone)]
pub enum KeySource {
    /// Hex in the environment.
    Inline(String),
    /// A file holding hex, named by the setting.
    File(PathBuf),
    /// A file in the data folder, generated on first start.
    DataDir,
}

/// The settings that name one server-held key: for reading it and for blaming it in errors.
pub struct KeySettings {
    pub inline: &'static str,
    pub file: &'static str,
    /// The file's name in the data folder.
    pub data_file: &'static str,
}

/// The key `source` points at, parsed by `parse`. `Ok(None)`: it is kept in the data folder and
/// that file does not exist yet (the caller decides whether a new one may be generated).
pub fn read_key<T>(
    source: &KeySource,
    settings: &KeySettings,
    data_dir: &std::path::Path,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    match source {
        KeySource::Inline(hex) => parse(hex)
            .map(Some)
            .map_err(|m| ConfigError::new(settings.inline, m)),
        KeySource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(
                    settings.file,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            parse(&text)
                .map(Some)
                .map_err(|m| ConfigError::new(settings.file, format!("the file {m}")))
        }
        KeySource::DataDir => {
            let path = data_dir.join(settings.data_file);
            match std::fs::read_to_string(&path) {
                Ok(text) => parse(&text).map(Some).map_err(|m| {
                    ConfigError::new("XRAY_KEYS_DATA_DIR", format!("{} {m}", path.display()))
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ConfigError::new(
                    "XRAY_KEYS_DATA_DIR",
                    format!("cannot read {}: {e}", path.display()),
                )),
            }
        }
    }
}

/// The first administrator's credentials from the environment. A secret: no `Debug`.
#[derive(Clone)]
pub struct AdminBootstrap {
    pub user_key: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error in {setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(setting: &str, message: impl Into<String>) -> Self {
        ConfigError {
            setting: setting.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The database URL. Its text may hold a password, so `Debug` shows only the kind.
#[derive(Clone)]
pub struct DatabaseUrl {
    url: String,
    kind: DatabaseKind,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseUrl")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let url = url.trim();
        let kind = if url.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseKind::Postgres
        } else if url.is_empty() {
            return Err(ConfigError::new("DATABASE_URL", "is empty"));
        } else {
            return Err(ConfigError::new(
                "DATABASE_URL",
                "must start with sqlite: or postgres:// (other databases are not supported)",
            ));
        };
        if kind == DatabaseKind::Sqlite && url.contains(":memory:") {
            // Each pooled connection would get its own empty database.
            return Err(ConfigError::new(
                "DATABASE_URL",
                "an in-memory SQLite database is not supported; give a file path",
            ));
        }
        Ok(DatabaseUrl {
            url: url.to_string(),
            kind,
        })
    }

    /// A SQLite URL for a file, created when missing.
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        DatabaseUrl {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            kind: DatabaseKind::Sqlite,
        }
    }

    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The URL itself, for the driver only: never log it.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The file of a SQLite URL, if it names one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        if self.kind != DatabaseKind::Sqlite {
            return None;
        }
        let rest = self.url.trim_start_matches("sqlite:");
        let rest = rest.trim_start_matches("//");
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty()).then(|| PathBuf::from(path))
    }
}

/// No `Debug`: it can hold the bootstrap administrator's password.
#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `XRAY_KEYS_LOG` as given; `None`: the default (`info` for the server, `warn` for commands).
    pub log_filter: Option<String>,
    pub log_format: LogFormat,
    /// Where the compiled WASM, JS and CSS are served from (`<site>/pkg/…`).
    pub site_root: PathBuf,
    /// The address people use to reach the console (for links printed on the console).
    pub public_url: String,
    /// Mark the session cookie `Secure` (serve over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// How many reverse proxies in front of this server append to `X-Forwarded-For`; the client
    /// address is the entry the outermost of them appended. 0: use the socket's peer.
    pub trust_proxy_hops: usize,
    /// Hosts the stored Xray secret may be sent to beside Xray Cloud, this server and public
    /// hosts: `host` or `host:port`, lower-case (a proxy inside the network, a test stand).
    pub xray_hosts: Vec<String>,
    /// Days that expired sessions, old throttle rows and sign-in failures are kept.
    pub retention_days: u32,
    pub admin_bootstrap: Option<AdminBootstrap>,
    pub pepper: KeySource,
    /// The key that encrypts secrets stored in the database (AEAD key-encryption key).
    pub master_key: KeySource,
    /// `hmac-sha256` (default) or `argon2id`: how new Client Secrets are stored.
    pub secret_hash: String,
}

impl Config {
    /// Reads the configuration from this process's environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars_os().filter_map(|(k, v)| {
            // A name or value that is not UTF-8 cannot be one of ours; a value of ours that is not
            // UTF-8 is reported by name below.
            let key = k.into_string().ok()?;
            Some((key, v.into_string().unwrap_or_else(|_| "\u{FFFD}".into())))
        }))
    }

    /// Reads the configuration from the given variables (tests pass their own).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: std::collections::HashMap<String, String> = vars.into_iter().collect();
        let mut unknown: Vec<&String> = vars
            .keys()
            .filter(|k| k.starts_with("XRAY_KEYS_") && !KNOWN_SETTINGS.contains(&k.as_str()))
            .collect();
        unknown.sort();
        if let Some(name) = unknown.first() {
            return Err(ConfigError::new(
                name,
                format!(
                    "is not a setting of this server (known settings: {})",
                    KNOWN_SETTINGS.join(", ")
                ),
            ));
        }
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        for (name, value) in &vars {
            if (name.starts_with("XRAY_KEYS_") || name == "DATABASE_URL")
                && value.contains('\u{FFFD}')
            {
                return Err(ConfigError::new(name, "is not valid UTF-8"));
            }
        }

        let data_dir = PathBuf::from(get("XRAY_KEYS_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = match vars.get("DATABASE_URL") {
            Some(url) => DatabaseUrl::parse(url)?,
            None => DatabaseUrl::sqlite_file(&data_dir.join("xray-keys.db")),
        };
        let listen = match get("XRAY_KEYS_LISTEN") {
            Some(v) => v.parse().map_err(|_| {
                ConfigError::new(
                    "XRAY_KEYS_LISTEN",
                    format!("'{v}' is not an address and port such as 127.0.0.1:3000"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let log_filter = get("XRAY_KEYS_LOG");
        if let Some(filter) = &log_filter {
            validate_log_filter(filter)?;
        }
        let log_format = match get("XRAY_KEYS_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "XRAY_KEYS_LOG_FORMAT",
                    format!("'{other}' is not one of: text, json"),
                ))
            }
        };
        let site_root = match get("XRAY_KEYS_SITE_ROOT").or_else(|| get("LEPTOS_SITE_ROOT")) {
            Some(v) => PathBuf::from(v),
            None => default_site_root(),
        };
        let public_url = get("XRAY_KEYS_PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::new(
                "XRAY_KEYS_PUBLIC_URL",
                "must start with http:// or https://",
            ));
        }
        let secure_cookies = match get("XRAY_KEYS_SECURE_COOKIES") {
            Some(v) => parse_bool("XRAY_KEYS_SECURE_COOKIES", &v)?,
            None => public_url.starts_with("https://"),
        };
        let trust_proxy_hops = match get("XRAY_KEYS_TRUST_PROXY") {
            None => 0,
            Some(v) => match v.parse::<usize>() {
                Ok(hops @ 0..=10) => hops,
                Ok(_) => {
                    return Err(ConfigError::new(
                        "XRAY_KEYS_TRUST_PROXY",
                        "is at most 10 proxies",
                    ))
                }
                Err(_) => usize::from(parse_bool("XRAY_KEYS_TRUST_PROXY", &v).map_err(|_| {
                    ConfigError::new(
                        "XRAY_KEYS_TRUST_PROXY",
                        format!("'{v}' is not on, off, or a number of proxies"),
                    )
                })?),
            },
        };
        let xray_hosts = get("XRAY_KEYS_XRAY_HOSTS")
            .map(|v| parse_hosts(&v))
            .transpose()?
            .unwrap_or_default();
        let retention_days = match get("XRAY_KEYS_RETENTION_DAYS") {
            None => 90,
            Some(v) => match v.parse::<u32>() {
                Ok(days @ 1..=3650) => days,
                _ => {
                    return Err(ConfigError::new(
                        "XRAY_KEYS_RETENTION_DAYS",
                        format!("'{v}' is not a number of days from 1 to 3650"),
                    ))
                }
            },
        };
        let admin_bootstrap = match (
            get("XRAY_KEYS_ADMIN_USER"),
            vars.get("XRAY_KEYS_ADMIN_PASSWORD"),
        ) {
            (None, None) => None,
            (Some(user_key), Some(password)) if !password.is_empty() => Some(AdminBootstrap {
                user_key,
                password: password.clone(),
            }),
            (Some(_), _) => {
                return Err(ConfigError::new(
                    "XRAY_KEYS_ADMIN_PASSWORD",
                    "must be set (and not empty) together with XRAY_KEYS_ADMIN_USER",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "XRAY_KEYS_ADMIN_USER",
                    "must be set together with XRAY_KEYS_ADMIN_PASSWORD",
                ))
            }
        };
        let key_source = |inline: &str, file: &str| match (vars.get(inline), get(file)) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                inline,
                format!("set either {inline} or {file}, not both"),
            )),
            (Some(hex), None) => Ok(KeySource::Inline(hex.trim().to_string())),
            (None, Some(path)) => Ok(KeySource::File(PathBuf::from(path))),
            (None, None) => Ok(KeySource::DataDir),
        };
        let pepper = key_source("XRAY_KEYS_PEPPER", "XRAY_KEYS_PEPPER_FILE")?;
        let master_key = key_source("XRAY_KEYS_MASTER_KEY", "XRAY_KEYS_MASTER_KEY_FILE")?;
        let secret_hash = get("XRAY_KEYS_SECRET_HASH").unwrap_or_else(|| "hmac-sha256".into());
        if secret_hash != "hmac-sha256" && secret_hash != "argon2id" {
            return Err(ConfigError::new(
                "XRAY_KEYS_SECRET_HASH",
                format!("'{secret_hash}' is not one of: hmac-sha256, argon2id"),
            ));
        }
        Ok(Config {
            pepper,
            master_key,
            secret_hash,
            public_url,
            secure_cookies,
            trust_proxy_hops,
            xray_hosts,
            retention_days,
            admin_bootstrap,
            database_url,
            listen,
            data_dir,
            log_filter,
            log_format,
            site_root,
        })
    }
}

/// `host[:port]` entries separated by commas; no schemes, paths or spaces inside an entry.
fn parse_hosts(value: &str) -> Result<Vec<String>, ConfigError> {
    let mut hosts = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let fine = entry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !fine {
            return Err(ConfigError::new(
                "XRAY_KEYS_XRAY_HOSTS",
                format!("'{entry}' is not a host or host:port (no scheme or path)"),
            ));
        }
        hosts.push(entry.to_ascii_lowercase());
    }
    Ok(hosts)
}

fn parse_bool(setting: &str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(ConfigError::new(
            setting,
            format!("'{other}' is not true or false"),
        )),
    }
}

/// cargo-leptos writes the site beside the profile folder of the binary
/// (`<target>/site` next to `<target>/release/xray-keys`), wherever the target folder is.
fn default_site_root() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("site")))
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from("target/site"))
}

/// Accepts the filter syntax of `tracing_subscriber::EnvFilter` in its common forms:
/// a level, or comma-separated `target=level` directives.
fn validate_log_filter(filter: &str) -> Result<(), ConfigError> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit('=').next().unwrap_or(directive);
        let has_target = directive.contains('=');
        let level_ok = LEVELS.contains(&level.to_ascii_lowercase().as_str());
        if !level_ok && (has_target || !is_target_name(directive)) {
            return Err(ConfigError::new(
                "XRAY_KEYS_LOG",
                format!("'{directive}' is not a log level (trace, debug, info, warn, error, off) or target=level"),
            ));
        }
    }
    Ok(())
}

fn is_target_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_to_a_sqlite_file_in_the_data_folder() {
        let config = Config::from_vars(vars(&[])).ok().unwrap();
        assert_eq!(config.database_url.kind(), DatabaseKind::Sqlite);
        assert_eq!(
            config.database_url.sqlite_path(),
            Some(PathBuf::from("data/xray-keys.db"))
        );
        assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn postgres_url_is_recognised() {
        let config =
            Config::from_vars(vars(&[("DATABASE_URL", "postgres://u:p@localhost/db")])).unwrap();
        assert_eq!(config.database_url.kind(), DatabaseKind::Postgres);
    }

    #[test]
    fn unsupported_database_is_named() {
        let err = Config::from_vars(vars(&[("DATABASE_URL", "mysql://localhost/db")]))
            .err()
            .unwrap();
        assert_eq!(err.setting, "DATABASE_URL");
        assert!(err.message.contains("sqlite:"));
    }

    #[test]
    fn in_memory_sqlite_is_refused() {
        let err = Config::from_vars(vars(&[("DATABASE_URL", "sqlite::memory:")]))
            .err()
            .unwrap();
        assert_eq!(err.setting, "DATABASE_URL");
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let url = DatabaseUrl::parse("postgres://user:hunter2@localhost/db").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn malformed_listen_address_is_named() {
        let err = Config::from_vars(vars(&[("XRAY_KEYS_LISTEN", "localhost")]))
            .err()
            .unwrap();
        assert_eq!(err.setting, "XRAY_KEYS_LISTEN");
        assert!(err.to_string().contains("XRAY_KEYS_LISTEN"));
    }

    #[test]
    fn unknown_setting_is_refused_by_name() {
        let err = Config::from_vars(vars(&[("XRAY_KEYS_LISTN", "127.0.0.1:1")]))
            .err()
            .unwrap();
        assert_eq!(err.setting, "XRAY_KEYS_LISTN");
    }

    #[test]
    fn log_settings_are_checked() {
        assert!(Config::from_vars(vars(&[("XRAY_KEYS_LOG", "debug,sqlx=warn")])).is_ok());
        let err = Config::from_vars(vars(&[("XRAY_KEYS_LOG", "sqlx=loud")]))
            .err()
            .unwrap();
        assert_eq!(err.setting, "XRAY_KEYS_LOG");
        let err = Config::from_vars(vars(&[("XRAY_KEYS_LOG_FORMAT", "xml")]))
            .err()
            .unwrap();
        assert_eq!(err.setting, "XRAY_KEYS_LOG_FORMAT");
    }

    #[test]
    fn admin_bootstrap_needs_both_settings() {
        let err = Config::from_vars(vars(&[("XRAY_KEYS_ADMIN_USER", "admin")]))
            .err()
            .unwrap();
        assert_eq!(err.setting, "XRAY_KEYS_ADMIN_PASSWORD");
        let config = Config::from_vars(vars(&[
            ("XRAY_KEYS_ADMIN_USER", "admin"),
            ("XRAY_KEYS_ADMIN_PASSWORD", "a long password"),
        ]))
        .unwrap();
        assert_eq!(config.admin_bootstrap.unwrap().user_key, "admin");
    }

    #[test]
    fn secure_cookies_follow_an_https_public_url() {
        let config = Config::from_vars(vars(&[(
            "XRAY_KEYS_PUBLIC_URL",
            "https://keys.example.com/",
        )]))
        .unwrap();
        assert!(config.secure_cookies);
        assert_eq!(config.public_url, "https://keys.example.com");
        let err = Config::from_vars(vars(&[("XRAY_KEYS_TRUST_PROXY", "maybe")]))
            .err()
            .unwrap();
        assert_eq!(err.setting, "XRAY_KEYS_TRUST_PROXY");
    }

    #[test]
    fn sqlite_path_is_read_from_the_url() {
        let url = DatabaseUrl::parse("sqlite:///tmp/x/keys.db?mode=rwc").unwrap();
        assert_eq!(url.sqlite_path(), Some(PathBuf::from("/tmp/x/keys.db")));
        let url = DatabaseUrl::parse("sqlite:data/keys.db").unwrap();
        assert_eq!(url.sqlite_path(), Some(PathBuf::from("data/keys.db")));
    }
}
