//! Server configuration, read once from the environment at start-up.
//!
//! Every problem names the setting it is about, and a value that cannot be right stops start-up:
//! a typo in a setting name (`XRAY_KEYS_LISTN`) is refused rather than silently ignored.

use std::net::SocketAddr;
use std::path::PathBuf;

/// One setting, declared once: its name, its default and what it means. The unknown-name check,
/// the lookups, the messages that blame it and README's settings table (a test compares them)
/// all read this.
pub struct Setting {
    pub name: &'static str,
    pub default: Fallback,
    /// README's "Meaning" column (Markdown).
    pub meaning: &'static str,
}

/// What a setting is when it is not given.
pub enum Fallback {
    /// This value, read and checked exactly as if it had been given.
    Value(&'static str),
    /// Worked out from other settings or the machine; the text (Markdown) says how.
    Derived(&'static str),
    /// Nothing: what it configures stays off.
    Unset,
}

impl Fallback {
    fn value(&self) -> &'static str {
        match self {
            Fallback::Value(value) => value,
            Fallback::Derived(_) | Fallback::Unset => "",
        }
    }
}

pub const DATABASE_URL: Setting = Setting {
    name: "DATABASE_URL",
    default: Fallback::Derived("`sqlite://<data dir>/xray-keys.db?mode=rwc`"),
    meaning: "`sqlite:<path>` or `postgres://user:pass@host/db`. A missing SQLite file is created \
        readable by its owner only (0600), its missing folder 0700. Never logged. On PostgreSQL \
        the migrations create the `pg_trgm` extension (contrib; trusted since PostgreSQL 13, so \
        the database's owner may create it) for the API Keys search index.",
};
pub const DATA_DIR: Setting = Setting {
    name: "XRAY_KEYS_DATA_DIR",
    default: Fallback::Value("data"),
    meaning: "Folder (relative to the working directory unless absolute) for the default SQLite \
        database and generated key files.",
};
pub const LISTEN: Setting = Setting {
    name: "XRAY_KEYS_LISTEN",
    default: Fallback::Value("127.0.0.1:3000"),
    meaning: "Address and port to listen on.",
};
pub const LOG: Setting = Setting {
    name: "XRAY_KEYS_LOG",
    default: Fallback::Derived("`info` for the server, `warn` for commands"),
    meaning: "Log filter: a level (`trace` … `error`, `off`) or `target=level,…`. Commands print \
        their results on standard output and log only warnings and errors unless this says \
        otherwise.",
};
pub const LOG_FORMAT: Setting = Setting {
    name: "XRAY_KEYS_LOG_FORMAT",
    default: Fallback::Value("text"),
    meaning: "`text` or `json` (one JSON object per line, for log collectors).",
};
pub const SITE_ROOT: Setting = Setting {
    name: "XRAY_KEYS_SITE_ROOT",
    default: Fallback::Derived("`LEPTOS_SITE_ROOT`, else `<target>/site` beside the binary"),
    meaning: "Where the compiled client (`pkg/`) is served from. Its files are named by their content; `hash.txt`, written beside the binary by the build, names them: keep the two together.",
};
pub const PUBLIC_URL: Setting = Setting {
    name: "XRAY_KEYS_PUBLIC_URL",
    default: Fallback::Derived("`http://<listen address>`"),
    meaning: "The address people use to reach the console; used in the printed setup link.",
};
pub const SECURE_COOKIES: Setting = Setting {
    name: "XRAY_KEYS_SECURE_COOKIES",
    default: Fallback::Derived("`true` when the public URL is `https://`"),
    meaning: "Mark the session cookie `Secure`; it is then named `__Host-xk_session`, which \
        browsers take only over https, for this host and path `/`.",
};
pub const TRUST_PROXY: Setting = Setting {
    name: "XRAY_KEYS_TRUST_PROXY",
    default: Fallback::Value("off"),
    meaning: "`on` (one proxy) or the number of reverse proxies in front of the server that \
        append to `X-Forwarded-For`. The client address (for throttling and the audit trail) is \
        the entry the outermost trusted proxy appended, counted from the right; entries to its \
        left are whatever the client sent. Off: the socket's peer. With it off, the first \
        request from loopback that carries `X-Forwarded-For` logs a warning (every client of \
        that proxy would share one address).",
};
pub const XRAY_HOSTS: Setting = Setting {
    name: "XRAY_KEYS_XRAY_HOSTS",
    default: Fallback::Unset,
    meaning: "Hosts the stored Xray Client secret may be sent to besides Xray Cloud, this server \
        and public hosts: `host` (any port) or `host:port`, comma-separated, e.g. \
        `xray-proxy.corp.example,127.0.0.1:8443`. Listed hosts may be private and may use plain \
        `http`.",
};
pub const RETENTION_DAYS: Setting = Setting {
    name: "XRAY_KEYS_RETENTION_DAYS",
    default: Fallback::Value("90"),
    meaning: "Failed and refused sign-in entries of the audit trail older than this many days \
        (1 to 3650) are deleted by an hourly task, together with ended sessions and throttle \
        counters older than an hour.",
};
pub const ADMIN_USER: Setting = Setting {
    name: "XRAY_KEYS_ADMIN_USER",
    default: Fallback::Unset,
    meaning: "With no active administrator at start, create this one (with \
        `XRAY_KEYS_ADMIN_PASSWORD`: both or neither).",
};
pub const ADMIN_PASSWORD: Setting = Setting {
    name: "XRAY_KEYS_ADMIN_PASSWORD",
    default: Fallback::Unset,
    meaning: "The password of `XRAY_KEYS_ADMIN_USER` when it is created.",
};
pub const SECRET_HASH: Setting = Setting {
    name: "XRAY_KEYS_SECRET_HASH",
    default: Fallback::Value("hmac-sha256"),
    meaning: "How new Client Secrets are stored: `hmac-sha256` (keyed by the pepper) or \
        `argon2id`. Keys stored under either scheme keep working when it changes.",
};
pub const PEPPER: Setting = Setting {
    name: "XRAY_KEYS_PEPPER",
    default: Fallback::Derived("`<data dir>/pepper`, generated on first start (mode 0600)"),
    meaning: "The HMAC key for Client Secret hashes, as 64+ hex characters. Back it up with the \
        database: without it no stored key authenticates. The database keeps a check of it (an \
        HMAC of a constant): while API keys exist, a missing or different pepper stops the \
        server and every command with a message naming this setting; a new pepper is generated \
        only while no API key exists.",
};
pub const PEPPER_FILE: Setting = Setting {
    name: "XRAY_KEYS_PEPPER_FILE",
    default: Fallback::Unset,
    meaning: "A file holding the pepper's hex, instead of `XRAY_KEYS_PEPPER` (not both).",
};
pub const MASTER_KEY: Setting = Setting {
    name: "XRAY_KEYS_MASTER_KEY",
    default: Fallback::Derived("`<data dir>/master.key`, generated on first start (mode 0600)"),
    meaning: "The key (64 hex characters) that encrypts secrets the database keeps: the \
        token-signing key and stored Xray credentials (XChaCha20-Poly1305). Keep it apart from \
        database backups. A wrong key, or a lost key file while encrypted secrets exist, stops \
        start-up with a message naming this setting; a new key is never generated over a lost \
        one.",
};
pub const MASTER_KEY_FILE: Setting = Setting {
    name: "XRAY_KEYS_MASTER_KEY_FILE",
    default: Fallback::Unset,
    meaning: "A file holding the master key's hex, instead of `XRAY_KEYS_MASTER_KEY` (not both).",
};

pub const XRAY_STANDIN: Setting = Setting {
    name: "XRAY_KEYS_XRAY_STANDIN",
    default: Fallback::Value("off"),
    meaning: "`on`: serve the Xray Cloud stand-in (a simulation of Xray Cloud's API for the keys \
        this server issues: imports, GraphQL, backups) under `/api/v1/` and `/api/v2/`. Off, \
        those paths answer 404.",
};
pub const XRAY_STANDIN_PLAN: Setting = Setting {
    name: "XRAY_KEYS_XRAY_STANDIN_PLAN",
    default: Fallback::Value("standard"),
    meaning: "The stand-in's Xray plan: `standard` (300 requests per 5 minutes) or `enterprise` \
        (1000); past it the stand-in answers 429 with `Retry-After`.",
};
pub const XRAY_STANDIN_BACKUP_SECONDS: Setting = Setting {
    name: "XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS",
    default: Fallback::Value("5"),
    meaning: "How long (0 to 3600 seconds) a stand-in backup job stays `working` before it is \
        `successful`.",
};
pub const BACKUP_POLL_SECONDS: Setting = Setting {
    name: "XRAY_KEYS_BACKUP_POLL_SECONDS",
    default: Fallback::Value("30"),
    meaning: "How often (1 to 300 seconds) a backup run asks Xray whether its backup job is \
        done; the first time after at most 5 seconds.",
};
pub const BACKUP_MAX_MB: Setting = Setting {
    name: "XRAY_KEYS_BACKUP_MAX_MB",
    default: Fallback::Value("10240"),
    meaning: "The largest backup file (1 to 1048576 MB) a run downloads; a larger one fails the \
        run instead of filling the disk.",
};
pub const BACKUP_STORE: Setting = Setting {
    name: "XRAY_KEYS_BACKUP_STORE",
    default: Fallback::Value("local"),
    meaning: "Where Xray backups are kept, sealed: `local` (`<data dir>/xray-backups`, owner \
        only) or an S3-compatible bucket `s3://bucket/prefix`, shared by every instance; its \
        endpoint and keys come from the standard `AWS_*` variables (`AWS_ACCESS_KEY_ID`, \
        `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`).",
};
pub const CREDENTIAL_CHECK_HOURS: Setting = Setting {
    name: "XRAY_KEYS_CREDENTIAL_CHECK_HOURS",
    default: Fallback::Value("6"),
    meaning: "How often (1 to 168 hours, or 0 for never) the stored Xray Credentials are \
        checked between backups; each check is listed on the Xray Credentials page.",
};

/// Every setting, in README's order. Any other `XRAY_KEYS_*` variable is refused as a likely typo.
pub const SETTINGS: &[&Setting] = &[
    &DATABASE_URL,
    &DATA_DIR,
    &LISTEN,
    &LOG,
    &LOG_FORMAT,
    &SITE_ROOT,
    &PUBLIC_URL,
    &SECURE_COOKIES,
    &TRUST_PROXY,
    &XRAY_HOSTS,
    &XRAY_STANDIN,
    &XRAY_STANDIN_PLAN,
    &XRAY_STANDIN_BACKUP_SECONDS,
    &BACKUP_POLL_SECONDS,
    &BACKUP_MAX_MB,
    &BACKUP_STORE,
    &CREDENTIAL_CHECK_HOURS,
    &RETENTION_DAYS,
    &ADMIN_USER,
    &ADMIN_PASSWORD,
    &SECRET_HASH,
    &PEPPER,
    &PEPPER_FILE,
    &MASTER_KEY,
    &MASTER_KEY_FILE,
];

/// README's settings table, as the declarations above make it.
pub fn settings_table() -> String {
    let mut table = String::from("| Setting | Default | Meaning |\n| --- | --- | --- |\n");
    for setting in SETTINGS {
        let default = match setting.default {
            Fallback::Value(value) => format!("`{value}`"),
            Fallback::Derived(text) => text.to_string(),
            Fallback::Unset => "unset".to_string(),
        };
        let meaning = setting
            .meaning
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        table.push_str(&format!("| `{}` | {default} | {meaning} |\n", setting.name));
    }
    table
}

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
            return Err(ConfigError::new(DATABASE_URL.name, "is empty"));
        } else {
            return Err(ConfigError::new(
                DATABASE_URL.name,
                "must start with sqlite: or postgres:// (other databases are not supported)",
            ));
        };
        if kind == DatabaseKind::Sqlite && url.contains(":memory:") {
            // Each pooled connection would get its own empty database.
            return Err(ConfigError::new(
                DATABASE_URL.name,
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
    /// Serve the Xray Cloud stand-in.
    pub xray_standin: bool,
    /// The stand-in's requests per 5 minutes (its Xray plan).
    pub xray_standin_requests: i32,
    /// How long a stand-in backup job works.
    pub xray_standin_backup_seconds: u32,
    /// How often a backup run polls Xray.
    pub backup_poll_seconds: u64,
    /// The largest backup file a run takes.
    pub backup_max_bytes: u64,
    /// The bucket backups are kept in; `None`: the local folder.
    pub backup_bucket: Option<crate::xray_backups::storage::Bucket>,
    /// Hours between checks of the stored credentials (0: none).
    pub credential_check_hours: u32,
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
        let vars = Vars(vars.into_iter().collect());
        vars.refuse_unknown_and_non_utf8()?;

        let data_dir = PathBuf::from(vars.value(&DATA_DIR));
        let database_url = match vars.raw(&DATABASE_URL) {
            Some(url) => DatabaseUrl::parse(url)?,
            None => DatabaseUrl::sqlite_file(&data_dir.join("xray-keys.db")),
        };
        let listen = vars.value(&LISTEN);
        let listen: SocketAddr = listen.parse().map_err(|_| {
            ConfigError::new(
                LISTEN.name,
                format!("'{listen}' is not an address and port such as 127.0.0.1:3000"),
            )
        })?;
        let log_filter = vars.given(&LOG);
        if let Some(filter) = &log_filter {
            validate_log_filter(filter)?;
        }
        let log_format = match vars.value(&LOG_FORMAT).as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::new(
                    LOG_FORMAT.name,
                    format!("'{other}' is not one of: text, json"),
                ))
            }
        };
        let site_root = match vars
            .given(&SITE_ROOT)
            .or_else(|| vars.given_name("LEPTOS_SITE_ROOT"))
        {
            Some(v) => PathBuf::from(v),
            None => default_site_root(),
        };
        let public_url = vars
            .given(&PUBLIC_URL)
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::new(
                PUBLIC_URL.name,
                "must start with http:// or https://",
            ));
        }
        let secure_cookies = match vars.given(&SECURE_COOKIES) {
            Some(v) => parse_bool(SECURE_COOKIES.name, &v)?,
            None => public_url.starts_with("https://"),
        };
        let xray_standin = parse_bool(XRAY_STANDIN.name, &vars.value(&XRAY_STANDIN))?;
        let plan = vars.value(&XRAY_STANDIN_PLAN);
        let xray_standin_requests = match plan.to_ascii_lowercase().as_str() {
            "standard" => 300,
            "enterprise" => 1000,
            _ => {
                return Err(ConfigError::new(
                    XRAY_STANDIN_PLAN.name,
                    format!("'{plan}' is not standard or enterprise"),
                ))
            }
        };
        let backup_seconds = vars.value(&XRAY_STANDIN_BACKUP_SECONDS);
        let Ok(xray_standin_backup_seconds @ 0..=3600) = backup_seconds.parse::<u32>() else {
            return Err(ConfigError::new(
                XRAY_STANDIN_BACKUP_SECONDS.name,
                format!("'{backup_seconds}' is not a number of seconds from 0 to 3600"),
            ));
        };
        let poll = vars.value(&BACKUP_POLL_SECONDS);
        let Ok(backup_poll_seconds @ 1..=300) = poll.parse::<u64>() else {
            return Err(ConfigError::new(
                BACKUP_POLL_SECONDS.name,
                format!("'{poll}' is not a number of seconds from 1 to 300"),
            ));
        };
        let max_mb = vars.value(&BACKUP_MAX_MB);
        let Ok(backup_max_mb @ 1..=1_048_576) = max_mb.parse::<u64>() else {
            return Err(ConfigError::new(
                BACKUP_MAX_MB.name,
                format!("'{max_mb}' is not a number of megabytes from 1 to 1048576"),
            ));
        };
        let store = vars.value(&BACKUP_STORE);
        let backup_bucket = if store == "local" {
            None
        } else {
            let options: Vec<(String, String)> = vars
                .0
                .iter()
                .filter(|(k, _)| k.starts_with("AWS_"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Some(
                crate::xray_backups::storage::Bucket::open(&store, &options)
                    .map_err(|why| ConfigError::new(BACKUP_STORE.name, why))?,
            )
        };
        let check = vars.value(&CREDENTIAL_CHECK_HOURS);
        let Ok(credential_check_hours @ 0..=168) = check.parse::<u32>() else {
            return Err(ConfigError::new(
                CREDENTIAL_CHECK_HOURS.name,
                format!("'{check}' is not a number of hours from 0 to 168"),
            ));
        };
        let trust_proxy = vars.value(&TRUST_PROXY);
        let trust_proxy_hops = match trust_proxy.parse::<usize>() {
            Ok(hops @ 0..=10) => hops,
            Ok(_) => return Err(ConfigError::new(TRUST_PROXY.name, "is at most 10 proxies")),
            Err(_) => usize::from(parse_bool(TRUST_PROXY.name, &trust_proxy).map_err(|_| {
                ConfigError::new(
                    TRUST_PROXY.name,
                    format!("'{trust_proxy}' is not on, off, or a number of proxies"),
                )
            })?),
        };
        let xray_hosts = vars
            .given(&XRAY_HOSTS)
            .map(|v| parse_hosts(&v))
            .transpose()?
            .unwrap_or_default();
        let retention = vars.value(&RETENTION_DAYS);
        let Ok(retention_days @ 1..=3650) = retention.parse::<u32>() else {
            return Err(ConfigError::new(
                RETENTION_DAYS.name,
                format!("'{retention}' is not a number of days from 1 to 3650"),
            ));
        };
        let admin_bootstrap = match (vars.given(&ADMIN_USER), vars.raw(&ADMIN_PASSWORD)) {
            (None, None) => None,
            (Some(user_key), Some(password)) if !password.is_empty() => Some(AdminBootstrap {
                user_key,
                password: password.clone(),
            }),
            (Some(_), _) => {
                return Err(ConfigError::new(
                    ADMIN_PASSWORD.name,
                    "must be set (and not empty) together with XRAY_KEYS_ADMIN_USER",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    ADMIN_USER.name,
                    "must be set together with XRAY_KEYS_ADMIN_PASSWORD",
                ))
            }
        };
        let key_source =
            |inline: &Setting, file: &Setting| match (vars.raw(inline), vars.given(file)) {
                (Some(_), Some(_)) => Err(ConfigError::new(
                    inline.name,
                    format!("set either {} or {}, not both", inline.name, file.name),
                )),
                (Some(hex), None) => Ok(KeySource::Inline(hex.trim().to_string())),
                (None, Some(path)) => Ok(KeySource::File(PathBuf::from(path))),
                (None, None) => Ok(KeySource::DataDir),
            };
        let pepper = key_source(&PEPPER, &PEPPER_FILE)?;
        let master_key = key_source(&MASTER_KEY, &MASTER_KEY_FILE)?;
        let secret_hash = vars.value(&SECRET_HASH);
        if secret_hash != "hmac-sha256" && secret_hash != "argon2id" {
            return Err(ConfigError::new(
                SECRET_HASH.name,
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
            xray_standin,
            xray_standin_requests,
            xray_standin_backup_seconds,
            retention_days,
            backup_poll_seconds,
            backup_max_bytes: backup_max_mb * 1024 * 1024,
            credential_check_hours,
            backup_bucket,
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

/// The environment's variables, looked up by their [`Setting`].
struct Vars(std::collections::HashMap<String, String>);

impl Vars {
    /// An `XRAY_KEYS_*` name that is not a setting is a likely typo; a value of ours that is not
    /// UTF-8 cannot be read as meant. Both stop start-up by name.
    fn refuse_unknown_and_non_utf8(&self) -> Result<(), ConfigError> {
        let known = |name: &str| SETTINGS.iter().any(|s| s.name == name);
        let mut unknown: Vec<&String> = self
            .0
            .keys()
            .filter(|k| k.starts_with("XRAY_KEYS_") && !known(k))
            .collect();
        unknown.sort();
        if let Some(name) = unknown.first() {
            let names: Vec<&str> = SETTINGS
                .iter()
                .map(|s| s.name)
                .filter(|n| n.starts_with("XRAY_KEYS_"))
                .collect();
            return Err(ConfigError::new(
                name,
                format!(
                    "is not a setting of this server (known settings: {})",
                    names.join(", ")
                ),
            ));
        }
        for (name, value) in &self.0 {
            if known(name) && value.contains('\u{FFFD}') {
                return Err(ConfigError::new(name, "is not valid UTF-8"));
            }
        }
        Ok(())
    }

    /// The value as given, untrimmed (a password, a key's hex), even when blank.
    fn raw(&self, setting: &Setting) -> Option<&String> {
        self.0.get(setting.name)
    }

    /// The value given, trimmed; blank counts as not given.
    fn given(&self, setting: &Setting) -> Option<String> {
        self.given_name(setting.name)
    }

    fn given_name(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The value given, else the setting's declared default value.
    fn value(&self, setting: &Setting) -> String {
        self.given(setting)
            .unwrap_or_else(|| setting.default.value().to_string())
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
                XRAY_HOSTS.name,
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
                LOG.name,
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
    fn readme_lists_every_setting_as_declared() {
        let readme = include_str!("../../README.md");
        let table = settings_table();
        assert!(
            readme.contains(&table),
            "README.md's settings table differs from the declarations in config.rs; it should \
             read:\n\n{table}"
        );
    }

    #[test]
    fn every_declared_default_value_is_accepted() {
        let config = Config::from_vars(vars(&[])).ok().unwrap();
        assert_eq!(config.trust_proxy_hops, 0);
        assert_eq!(config.retention_days, 90);
        assert_eq!(config.secret_hash, "hmac-sha256");
        assert_eq!(config.data_dir, PathBuf::from("data"));
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
