//! Command-line interface. Every command prints a clear message and exits non-zero on failure.

use clap::{Parser, Subcommand};
use migrations::{Migrator, MigratorTrait};

use app::config::Config;

pub use crate::error::CliError;

#[derive(Parser)]
#[command(
    name = "xray-keys",
    version,
    about = "Issue and hold Xray API credentials"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web server (the default when no command is given).
    Serve,
    /// Manage users (for scripts; every change is audited with actor `cli`).
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Manage API keys (same rules, transactions and audit entries as the page; actor `cli`).
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Manage the key that signs the REST API's bearer tokens.
    Tokens {
        #[command(subcommand)]
        action: TokensAction,
    },
    /// Manage the stored Xray credentials and the master key that encrypts stored secrets.
    Credentials {
        #[command(subcommand)]
        action: CredentialsAction,
    },
    /// Write a consistent copy of the SQLite database, with the pepper and master key files kept
    /// in the data folder, into a new folder: a fresh data folder to restore from. (PostgreSQL:
    /// use pg_dump, and keep the key files yourself.)
    Backup {
        /// The folder to create; must not exist yet.
        to: std::path::PathBuf,
        /// Put the master key file beside the database copy too. Without it the copy's stored
        /// secrets open only with the master key kept elsewhere, as a backup should be kept.
        #[arg(long)]
        include_master_key: bool,
    },
    /// Xray backups with the stored Xray Credentials.
    #[command(name = "xray-backup")]
    XrayBackup {
        #[command(subcommand)]
        action: XrayBackupAction,
    },
    /// Development helpers.
    Dev {
        #[command(subcommand)]
        action: DevAction,
    },
    /// The Xray Cloud stand-in's tenant (see XRAY_KEYS_XRAY_STANDIN).
    Standin {
        #[command(subcommand)]
        action: StandinAction,
    },
    /// Apply or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
}

#[derive(Subcommand)]
pub enum UsersAction {
    /// Add a user.
    Add {
        user_key: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
        /// administrator or backup-operator; repeat for both.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Read a password (first line) from standard input, so the user can sign in.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Import users from a CSV (user_key,display_name,email,roles) or JSON file.
    Import { file: std::path::PathBuf },
    /// Set a user's password, read from standard input; ends their sessions.
    SetPassword {
        user_key: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Deactivate a user: their sessions end and their API key stops working.
    Deactivate { user_key: String },
    /// Clear a user's sign-in throttles (every address), e.g. after an attack on the account.
    Unlock { user_key: String },
}

#[derive(Subcommand)]
pub enum KeysAction {
    /// Create the API key of a user; prints the Client Id and Client Secret once.
    Create {
        user_key: String,
        /// What uses the key (at most 200 characters).
        #[arg(long, default_value = "")]
        description: String,
        /// The key stops working after this long: `30d`, `12h`.
        #[arg(long, conflicts_with = "expires_at")]
        expires_in: Option<String>,
        /// The key stops working at the end of this day, UTC: `2027-03-31`.
        #[arg(long)]
        expires_at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List API keys (no secrets).
    List {
        #[arg(long, default_value = "")]
        search: String,
        /// all, active, inactive, expiring (within 7 days), expired, never-used or unused (90 days).
        #[arg(long, default_value = "all")]
        status: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete API keys by Client Id, all or none.
    Delete {
        #[arg(required = true)]
        client_ids: Vec<String>,
    },
    /// Give API keys new Client Secrets, all or none; prints them once.
    Regenerate {
        #[arg(required = true)]
        client_ids: Vec<String>,
        /// Keep each old secret working this long (`1h`, `24h`, `7d`); by default it stops now.
        #[arg(long)]
        grace: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Deactivate API keys: requests with them fail, and their tokens stop at once.
    Deactivate {
        #[arg(required = true)]
        client_ids: Vec<String>,
    },
    /// Reactivate API keys (they need new tokens).
    Reactivate {
        #[arg(required = true)]
        client_ids: Vec<String>,
    },
    /// End a running grace period now: the old secret stops working.
    RevokeOldSecret { client_id: String },
    /// Change a key's description or expiry.
    Edit {
        client_id: String,
        #[arg(long)]
        description: Option<String>,
        /// The key stops working at the end of this day, UTC: `2027-03-31`.
        #[arg(long, conflicts_with = "never")]
        expires_at: Option<String>,
        /// The key never expires.
        #[arg(long)]
        never: bool,
    },
}

/// `30d`, `12h` or `45m` as a length of time.
fn parse_span(text: &str, option: &str) -> Result<chrono::Duration, CliError> {
    let bad = || {
        CliError::Input(format!(
            "{option}: '{text}' is not a time such as 30m, 24h or 7d"
        ))
    };
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    if !(0..=36_500).contains(&n) {
        return Err(bad());
    }
    match unit {
        "m" => Ok(chrono::Duration::minutes(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        "d" => Ok(chrono::Duration::days(n)),
        _ => Err(bad()),
    }
}

/// The end of the UTC day `text` names (`2027-03-31`): 23:59:59 UTC.
fn end_of_day(text: &str, option: &str) -> Result<chrono::DateTime<chrono::Utc>, CliError> {
    // The page's "On date…" and this option mean the same instant (ExpiryChoice::OnDate).
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|day| {
            app::api_keys::ExpiryChoice::OnDate(day)
                .at(chrono::Utc::now())
                .ok()
                .flatten()
        })
        .ok_or_else(|| {
            CliError::Input(format!(
                "{option}: '{text}' is not a date such as 2027-03-31"
            ))
        })
}

#[derive(Subcommand, Clone, Copy)]
pub enum TokensAction {
    /// Replace the token-signing key: every bearer token issued so far stops working, on every
    /// instance sharing the database.
    RotateSigningKey,
}

#[derive(Subcommand)]
pub enum CredentialsAction {
    /// Re-encrypt every stored secret under a new master key, in one transaction. With the key
    /// kept in the data folder, a new one is generated there unless --new-key-file names one;
    /// with XRAY_KEYS_MASTER_KEY(_FILE) set, --new-key-file is required and the setting must be
    /// changed to the new key before the next start. Restart every instance afterwards.
    RotateMasterKey {
        /// A file holding the new key as 64 hexadecimal characters.
        #[arg(long)]
        new_key_file: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum DevAction {
    /// Add N users (`seed-NNNNNN`) with an API key each, for trying the page at scale.
    Seed {
        #[arg(long)]
        keys: u64,
    },
}

#[derive(Subcommand, Clone)]
pub enum StandinAction {
    /// Make a synthetic tenant: the same for the same numbers and seed, on any database. Counts
    /// are per project.
    Seed {
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=26))]
        projects: u32,
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(0..=100_000))]
        tests: u32,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100_000))]
        preconditions: u32,
        #[arg(long = "test-sets", default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=100_000))]
        test_sets: u32,
        #[arg(long = "test-plans", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100_000))]
        test_plans: u32,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100_000))]
        executions: u32,
        #[arg(long = "runs-per-execution", default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=10_000))]
        runs_per_execution: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Faults the stand-in answers with, for tests and demos (every instance sees them).
    Fault {
        #[command(subcommand)]
        action: FaultAction,
    },
    /// Let the next backup request through the stand-in's 6-hour rule (tests and demos).
    #[command(name = "allow-backup")]
    AllowBackup,
}

#[derive(Subcommand, Clone)]
pub enum XrayBackupAction {
    /// Start a backup now. With --wait it runs in this process and the exit code says how it
    /// ended: 0 succeeded, 10 with warnings, 20 postponed, 30 skipped, 40 failed; without, it
    /// is queued for a running server to start within 30 seconds. 50: another run is active.
    Run {
        #[arg(long)]
        wait: bool,
        #[arg(long)]
        json: bool,
    },
    /// The runs, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Write a run's backup, decrypted, into a new folder: data.zip, attachments.zip when it
    /// was stored, and manifest.json.
    Export {
        run_id: i32,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand, Clone)]
pub enum FaultAction {
    /// Answer requests to TARGET with FAULT (the next N of them, or until cleared).
    Add {
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(
            app::standin::faults::Target::ALL.map(|t| t.name())))]
        target: String,
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(
            app::standin::faults::Fault::ALL.map(|f| f.name())))]
        fault: String,
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        count: Option<u32>,
    },
    /// Remove every fault.
    Clear,
    /// List the faults in force.
    List,
}

#[derive(Subcommand, Clone, Copy)]
pub enum MigrateAction {
    /// Apply every pending migration (the default).
    Up,
    /// Revert the last N migrations.
    Down {
        #[arg(default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

pub async fn run(cli: Cli, config: Config) -> Result<(), CliError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => crate::serve::serve(config).await,
        Command::Users { action } => {
            let Opened { db, .. } = open_migrated(&config).await?;
            users(&db, action).await
        }
        Command::Keys { action } => {
            let Opened { db, hasher, .. } = open_migrated(&config).await?;
            keys(&db, &hasher, action).await
        }
        Command::Tokens {
            action: TokensAction::RotateSigningKey,
        } => {
            let Opened { db, master, .. } = open_migrated(&config).await?;
            let keys = app::xray_api::tokens::TokenKeys::new(master);
            let kid = keys.rotate(&db).await?;
            app::audit::service::record(
                &db,
                &app::audit::service::Actor::cli(),
                app::audit::action::SIGNING_KEY_ROTATED,
                None,
                app::audit::Outcome::Success,
                Some(format!("new key id {kid}")),
            )
            .await?;
            println!("rotated the token-signing key (new key id {kid}); every bearer token issued before now is refused");
            Ok(())
        }
        Command::Credentials {
            action: CredentialsAction::RotateMasterKey { new_key_file },
        } => {
            let Opened { db, master, .. } = open_migrated(&config).await?;
            rotate_master_key(&db, &config, master, new_key_file).await
        }
        Command::XrayBackup { action } => {
            let Opened { db, master, .. } = open_migrated(&config).await?;
            xray_backup(&db, &config, &master, action).await
        }
        Command::Backup {
            to,
            include_master_key,
        } => {
            let Opened { db, .. } = open_migrated(&config).await?;
            backup(&db, &config, &to, include_master_key).await
        }
        Command::Dev {
            action: DevAction::Seed { keys },
        } => {
            let Opened { db, hasher, .. } = open_migrated(&config).await?;
            let start = app::api_keys::service::count(&db).await?;
            let made = app::api_keys::service::seed(&db, &hasher, start, keys).await?;
            // The list's plans depend on the tables' size; a running server would learn it
            // within the hour.
            app::db::refresh_statistics(&db)
                .await
                .map_err(app::AppError::from)?;
            println!("seeded {made} users with API keys");
            Ok(())
        }
        Command::Standin {
            action: StandinAction::AllowBackup,
        } => {
            let Opened { db, .. } = open_migrated(&config).await?;
            app::standin::backup::forget_interval(&db).await?;
            println!("the stand-in allows the next backup request");
            Ok(())
        }
        Command::Standin {
            action: StandinAction::Fault { action },
        } => {
            use app::standin::faults::{self, Fault, Target};
            let Opened { db, .. } = open_migrated(&config).await?;
            match action {
                FaultAction::Add {
                    target,
                    fault,
                    count,
                } => {
                    // clap has checked both names against the same lists.
                    let (Some(t), Some(f)) = (Target::parse(&target), Fault::parse(&fault)) else {
                        return Err(app::error::AppError::validation(
                            "fault",
                            "unknown target or fault",
                        )
                        .into());
                    };
                    faults::add(&db, t, f, count, chrono::Utc::now()).await?;
                    match count {
                        Some(n) => println!("the stand-in answers the next {n} {target} requests with {fault}"),
                        None => println!("the stand-in answers {target} requests with {fault} until `standin fault clear`"),
                    }
                }
                FaultAction::Clear => {
                    let cleared = faults::clear(&db).await?;
                    println!("cleared {cleared} fault(s)");
                }
                FaultAction::List => {
                    let listed = faults::in_force(&db).await?;
                    if listed.is_empty() {
                        println!("no faults");
                    }
                    for f in listed {
                        let left = f
                            .remaining
                            .map_or("until cleared".to_string(), |n| format!("{n} left"));
                        println!(
                            "{}\t{}\t{left}\tsince {}",
                            f.target,
                            f.fault,
                            f.since.format("%Y-%m-%d %H:%M:%S UTC")
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Standin {
            action:
                StandinAction::Seed {
                    projects,
                    tests,
                    preconditions,
                    test_sets,
                    test_plans,
                    executions,
                    runs_per_execution,
                    seed,
                },
        } => {
            let Opened { db, .. } = open_migrated(&config).await?;
            let plan = app::standin::seed::SeedPlan {
                projects,
                tests,
                preconditions,
                test_sets,
                test_plans,
                executions,
                runs_per_execution,
                seed,
            };
            let made = app::standin::seed::seed(&db, plan).await?;
            println!(
                "seeded {} projects, {} issues, {} test steps, {} test runs and {} links",
                made.projects, made.issues, made.steps, made.runs, made.links
            );
            Ok(())
        }
        Command::Migrate { action } => {
            let db = app::db::connect(&config.database_url).await?;
            match action.unwrap_or(MigrateAction::Up) {
                MigrateAction::Up => {
                    Migrator::up(&db, None).await.map_err(CliError::Migrate)?;
                    println!("migrations applied");
                }
                MigrateAction::Down { steps } => {
                    Migrator::down(&db, Some(steps))
                        .await
                        .map_err(CliError::Migrate)?;
                    println!("reverted {steps} migration(s)");
                }
                MigrateAction::Status => {
                    let applied = Migrator::get_applied_migrations(&db)
                        .await
                        .map_err(CliError::Migrate)?;
                    let pending = Migrator::get_pending_migrations(&db)
                        .await
                        .map_err(CliError::Migrate)?;
                    for m in applied {
                        println!("applied  {}", m.name());
                    }
                    for m in pending {
                        println!("pending  {}", m.name());
                    }
                }
            }
            Ok(())
        }
    }
}

async fn backup(
    db: &sea_orm::DatabaseConnection,
    config: &Config,
    to: &std::path::Path,
    include_master_key: bool,
) -> Result<(), CliError> {
    use app::config::KeySource;
    use sea_orm::ConnectionTrait;
    if config.database_url.sqlite_path().is_none() {
        return Err(CliError::Input(
            "DATABASE_URL is PostgreSQL: back it up with pg_dump, and keep the pepper and master \
             key (files or settings) with it"
                .into(),
        ));
    }
    if to.exists() {
        return Err(CliError::Input(format!(
            "{} exists already: name a new folder",
            to.display()
        )));
    }
    create_private_dir(to)?;
    let target = to.join("xray-keys.db");
    let target_text = target
        .to_str()
        .ok_or_else(|| CliError::Input(format!("{} is not a UTF-8 path", target.display())))?;
    // VACUUM INTO writes a consistent snapshot while the server keeps serving.
    db.execute_unprepared(&format!(
        "VACUUM INTO '{}'",
        target_text.replace('\'', "''")
    ))
    .await
    .map_err(|e| CliError::file("write", &target, e))?;
    restrict(&target)?;
    let mut written = vec![target.display().to_string()];
    let mut elsewhere = Vec::new();
    let mut keys = vec![("pepper", &config.pepper, app::config::PEPPER.name)];
    if include_master_key {
        keys.push((
            "master.key",
            &config.master_key,
            app::config::MASTER_KEY.name,
        ));
    }
    for (name, source, setting) in keys {
        match source {
            KeySource::DataDir => {
                let from = config.data_dir.join(name);
                if from.exists() {
                    let copy = to.join(name);
                    std::fs::copy(&from, &copy).map_err(|e| CliError::file("copy", &from, e))?;
                    restrict(&copy)?;
                    written.push(copy.display().to_string());
                }
            }
            _ => elsewhere.push(setting),
        }
    }
    println!("backup written: {}", written.join(", "));
    if !elsewhere.is_empty() {
        println!(
            "not in the backup, because they come from the environment: {} (keep them with it)",
            elsewhere.join(", ")
        );
    }
    if !include_master_key {
        println!(
            "the master key is not in the backup: keep it apart from it ({}, or \
             XRAY_KEYS_MASTER_KEY); restoring needs it, or pass --include-master-key",
            config.data_dir.join("master.key").display()
        );
    }
    println!(
        "to restore: copy these files into an empty data folder (XRAY_KEYS_DATA_DIR) and start"
    );
    Ok(())
}

fn create_private_dir(path: &std::path::Path) -> Result<(), CliError> {
    std::fs::create_dir_all(path).map_err(|e| CliError::file("create", path, e))?;
    restrict(path)
}

/// Readable by the owner only: the backup holds the keys to every stored secret.
fn restrict(path: &std::path::Path) -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if path.is_dir() { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| CliError::file("restrict", path, e))?;
    }
    Ok(())
}

async fn rotate_master_key(
    db: &sea_orm::DatabaseConnection,
    config: &Config,
    old: app::vault::MasterKey,
    new_key_file: Option<std::path::PathBuf>,
) -> Result<(), CliError> {
    use app::config::KeySource;
    use app::vault::MasterKey;
    let new =
        match &new_key_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    CliError::Input(format!(
                        "--new-key-file: cannot read {}: {e}",
                        path.display()
                    ))
                })?;
                MasterKey::from_hex(&text)
                    .map_err(|m| CliError::Input(format!("--new-key-file: the key {m}")))?
            }
            None if matches!(config.master_key, KeySource::DataDir) => MasterKey::generate()?,
            None => return Err(CliError::Input(
                "XRAY_KEYS_MASTER_KEY or XRAY_KEYS_MASTER_KEY_FILE is set: pass --new-key-file \
                 with the new key (64 hexadecimal characters, e.g. from `openssl rand -hex 32`)"
                    .into(),
            )),
        };
    // Rows sealed before the binding included Client ID and URL open only after this.
    app::credentials::service::upgrade_binding(db, &old).await?;
    let rotated = app::vault::rotation::rotate(db, config, &old, &new).await?;
    let count = rotated.count;
    match rotated.key_file {
        Some(target) => println!(
            "re-encrypted {count} stored secrets under a new master key (id {}), kept in {}; \
             back that file up, and restart every instance",
            new.id(),
            target.display()
        ),
        None => println!(
            "re-encrypted {count} stored secrets under the new master key (id {}); set \
             XRAY_KEYS_MASTER_KEY or XRAY_KEYS_MASTER_KEY_FILE to it, then restart every instance",
            new.id()
        ),
    }
    Ok(())
}

/// The database with every migration applied, and the server's keys checked against it, as
/// the server starts: a missing or different key stops every command too.
struct Opened {
    db: sea_orm::DatabaseConnection,
    hasher: app::api_keys::secret::SecretHasher,
    master: app::vault::MasterKey,
}

async fn open_migrated(config: &Config) -> Result<Opened, CliError> {
    let db = app::db::connect(&config.database_url).await?;
    Migrator::up(&db, None).await.map_err(CliError::Migrate)?;
    let (hasher, master) = app::vault::load_keys(config, &db).await?;
    Ok(Opened { db, hasher, master })
}

fn read_password_stdin() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| {
        CliError::Input(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(CliError::Input("no password on standard input".into()));
    }
    Ok(password)
}

async fn find_user(
    db: &sea_orm::DatabaseConnection,
    user_key: &str,
) -> Result<app::entities::users::Model, CliError> {
    let key = app::users::UserKey::parse(user_key)?;
    app::users::service::find_by_key(db, &key)
        .await?
        .ok_or_else(|| CliError::Input(format!("no user with key {key}")))
}

async fn users(db: &sea_orm::DatabaseConnection, action: UsersAction) -> Result<(), CliError> {
    use app::audit::service::Actor;
    use app::users::{service, ImportOutcome, NewUser, Role};
    let actor = Actor::cli();
    match action {
        UsersAction::Add {
            user_key,
            name,
            email,
            roles,
            password_stdin,
        } => {
            let roles = roles
                .iter()
                .map(|r| Role::parse(r))
                .collect::<Result<Vec<_>, _>>()?;
            let password = if password_stdin {
                Some(read_password_stdin()?)
            } else {
                None
            };
            let user = service::create_user(
                db,
                &actor,
                NewUser {
                    user_key,
                    display_name: name,
                    email: email.unwrap_or_default(),
                    roles,
                },
                password,
            )
            .await?;
            println!("created user {}", user.user_key);
        }
        UsersAction::Import { file } => {
            let content = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Input(format!("cannot read {}: {e}", file.display())))?;
            let outcomes = service::import(db, &actor, &content).await?;
            let mut rejected = 0;
            for outcome in &outcomes {
                match outcome {
                    ImportOutcome::Created(key) => println!("created  {key}"),
                    ImportOutcome::Skipped(key) => println!("skipped  {key} (already there)"),
                    ImportOutcome::Rejected { line, reason } => {
                        rejected += 1;
                        println!("rejected line {line}: {reason}");
                    }
                }
            }
            if rejected > 0 {
                return Err(CliError::Input(format!("{rejected} line(s) rejected")));
            }
        }
        UsersAction::SetPassword { user_key, .. } => {
            let user = find_user(db, &user_key).await?;
            let password = read_password_stdin()?;
            service::set_password(db, &actor, user.id, password).await?;
            println!("password set for {}; their sessions ended", user.user_key);
        }
        UsersAction::Deactivate { user_key } => {
            let user = find_user(db, &user_key).await?;
            service::set_active(db, &actor, None, user.id, false).await?;
            println!("deactivated {}", user.user_key);
        }
        UsersAction::Unlock { user_key } => {
            let user = find_user(db, &user_key).await?;
            let cleared =
                app::auth::throttle::unlock_account(db, &user.user_key.to_lowercase()).await?;
            app::audit::service::record(
                db,
                &actor,
                app::audit::action::USER_UNLOCKED,
                Some(&user.user_key),
                app::audit::Outcome::Success,
                Some(format!("{cleared} sign-in counters cleared")),
            )
            .await?;
            println!(
                "unlocked {}: {cleared} sign-in counters cleared",
                user.user_key
            );
        }
    }
    Ok(())
}

fn print_issued(issued: &[app::api_keys::IssuedKey], json: bool) -> Result<(), CliError> {
    if json {
        let text = serde_json::to_string_pretty(issued)?;
        println!("{text}");
    } else {
        for key in issued {
            println!("user:          {}", key.user_key);
            println!("client_id:     {}", key.client_id);
            println!("client_secret: {}", key.client_secret);
        }
        eprintln!("The Client Secret is shown only this once.");
    }
    Ok(())
}

async fn keys(
    db: &sea_orm::DatabaseConnection,
    hasher: &app::api_keys::secret::SecretHasher,
    action: KeysAction,
) -> Result<(), CliError> {
    use app::api_keys::{service, KeyQuery, Selection};
    use app::audit::service::Actor;
    let actor = Actor::cli();
    match action {
        KeysAction::Create {
            user_key,
            description,
            expires_in,
            expires_at,
            json,
        } => {
            let now = chrono::Utc::now();
            let expires_at = match (expires_in, expires_at) {
                (Some(span), _) => Some(now + parse_span(&span, "--expires-in")?),
                (None, Some(day)) => Some(end_of_day(&day, "--expires-at")?),
                (None, None) => None,
            };
            let details = app::api_keys::KeyDetails {
                description,
                expires_at,
            };
            let issued =
                service::create_with_details(db, hasher, &actor, &user_key, details, now).await?;
            if json {
                // One object, as scripts expect for a single key.
                let text = serde_json::to_string_pretty(&issued)?;
                println!("{text}");
            } else {
                print_issued(std::slice::from_ref(&issued), false)?;
            }
        }
        KeysAction::List {
            search,
            status,
            json,
        } => {
            let filter = app::api_keys::KeyFilter::parse(&status).ok_or_else(|| {
                CliError::Input(format!(
                    "--status: '{status}' is not one of all, active, inactive, expiring, expired, \
                     never-used, unused"
                ))
            })?;
            // Page by page, each seeking from the last key of the one before (keyset paging):
            // a million keys take a thousand index seeks, not a thousand ever deeper offsets.
            let mut rows = Vec::new();
            let mut page = 1;
            let mut start = None;
            loop {
                let batch = service::list(
                    db,
                    KeyQuery {
                        search: search.clone(),
                        filter,
                        page,
                        per_page: 100,
                        start,
                    },
                )
                .await?;
                start = batch.next_start();
                rows.extend(batch.keys);
                if start.is_none() {
                    break;
                }
                page += 1;
            }
            if json {
                let text = serde_json::to_string_pretty(&rows)?;
                println!("{text}");
            } else {
                println!(
                    "{:<34} {:<32} {:<8} {:<26} LAST USED",
                    "CLIENT ID", "USER KEY", "STATUS", "EXPIRES"
                );
                for row in rows {
                    let used = row
                        .last_used_at
                        .map_or_else(|| "never".into(), |t| t.to_rfc3339());
                    let expires = row
                        .expires_at
                        .map_or_else(|| "never".into(), |t| t.to_rfc3339());
                    let status = if row.is_active { "active" } else { "inactive" };
                    println!(
                        "{:<34} {:<32} {status:<8} {expires:<26} {used}",
                        row.client_id, row.user_key
                    );
                }
            }
        }
        KeysAction::Delete { client_ids } => {
            let n = service::delete(db, &actor, Selection::Ids(client_ids)).await?;
            println!("deleted {}", app::api_keys::plural_keys(n));
        }
        KeysAction::Regenerate {
            client_ids,
            grace,
            json,
        } => {
            let grace = match grace {
                Some(text) => parse_span(&text, "--grace")?,
                None => chrono::Duration::zero(),
            };
            let now = chrono::Utc::now();
            let selection = Selection::Ids(client_ids);
            let issued =
                service::regenerate_with_grace(db, hasher, &actor, selection, grace, now).await?;
            print_issued(&issued, json)?;
            if grace > chrono::Duration::zero() {
                eprintln!(
                    "The old secrets keep working until {} UTC.",
                    (now + grace).format("%Y-%m-%d %H:%M")
                );
            }
        }
        KeysAction::Deactivate { client_ids } => {
            for id in client_ids {
                service::set_active(db, &actor, &id, false, chrono::Utc::now()).await?;
                println!("deactivated {id}");
            }
        }
        KeysAction::Reactivate { client_ids } => {
            for id in client_ids {
                service::set_active(db, &actor, &id, true, chrono::Utc::now()).await?;
                println!("reactivated {id}");
            }
        }
        KeysAction::RevokeOldSecret { client_id } => {
            service::revoke_old_secret(db, &actor, &client_id, chrono::Utc::now()).await?;
            println!("the old secret of {client_id} stopped working");
        }
        KeysAction::Edit {
            client_id,
            description,
            expires_at,
            never,
        } => {
            let now = chrono::Utc::now();
            let current = service::details(db, &client_id).await?;
            let details = app::api_keys::KeyDetails {
                description: description.unwrap_or(current.description),
                expires_at: match (expires_at, never) {
                    (Some(day), _) => Some(end_of_day(&day, "--expires-at")?),
                    (None, true) => None,
                    (None, false) => current.expires_at,
                },
            };
            service::edit_details(db, &actor, &client_id, details, now).await?;
            println!("updated {client_id}");
        }
    }
    Ok(())
}

/// A backup run's row as the command line prints it.
fn run_json(run: &app::entities::xray_backup_runs::Model) -> serde_json::Value {
    serde_json::json!({
        "id": run.id,
        "trigger": run.trigger,
        "status": run.status,
        "message": run.message,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "retry_at": run.retry_at,
        "api_url": run.api_url,
        "client_id": run.client_id,
        "xray_job_id": run.xray_job_id,
        "tests": run.tests,
        "test_executions": run.test_executions,
        "size": run.size,
        "sha256": run.sha256,
    })
}

async fn xray_backup(
    db: &sea_orm::DatabaseConnection,
    config: &Config,
    master: &app::vault::MasterKey,
    action: XrayBackupAction,
) -> Result<(), CliError> {
    use app::xray_backups::run::{self, RunSettings, RunStatus, Trigger};
    match action {
        XrayBackupAction::Run { wait, json } => {
            let settings = RunSettings::for_server(config, format!("cli-{}", std::process::id()));
            if !wait {
                let queued = match run::queue(db, &settings, Trigger::Cli, "cli").await {
                    Ok(queued) => queued,
                    Err(app::AppError::Conflict(message)) => {
                        eprintln!("xray-keys: {message}");
                        return Err(CliError::Exit(50));
                    }
                    Err(e) => return Err(e.into()),
                };
                if json {
                    println!("{}", serde_json::to_string_pretty(&run_json(&queued))?);
                } else {
                    println!(
                        "run {}: queued; a running server starts it within 30 seconds \
                         (xray-keys xray-backup list shows how it goes)",
                        queued.id
                    );
                }
                return Ok(());
            }
            let done = match run::run(db, master, &settings, Trigger::Cli, "cli").await {
                Ok(done) => done,
                Err(app::AppError::Conflict(message)) => {
                    eprintln!("xray-keys: {message}");
                    return Err(CliError::Exit(50));
                }
                Err(e) => return Err(e.into()),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&run_json(&done))?);
            } else {
                println!("run {}: {}: {}", done.id, done.status, done.message);
            }
            match u8::try_from(RunStatus::of(&done.status).exit_code()) {
                Ok(0) | Err(_) => Ok(()),
                Ok(code) => Err(CliError::Exit(code)),
            }
        }
        XrayBackupAction::Export { run_id, out } => {
            use sea_orm::EntityTrait;
            let run = app::entities::xray_backup_runs::Entity::find_by_id(run_id)
                .one(db)
                .await
                .map_err(app::AppError::from)?
                .ok_or_else(|| {
                    app::AppError::NotFound(format!("There is no backup run {run_id}."))
                })?;
            if run.file.is_none() {
                return Err(app::AppError::NotFound(format!(
                    "Backup run {run_id} stored no backup ({}).",
                    run.status
                ))
                .into());
            }
            if run.removed_at.is_some() {
                return Err(app::AppError::NotFound(format!(
                    "Backup run {run_id}'s files were removed by retention."
                ))
                .into());
            }
            let folder = RunSettings::folder_of(config);
            // A new folder (an export never writes over one), the user's only: it holds the
            // decrypted test data.
            if out.exists() {
                return Err(CliError::File {
                    action: "create",
                    path: out.clone(),
                    reason: "it exists already".into(),
                });
            }
            app::owner_only::create_dir(&out).map_err(|e| CliError::file("create", &out, e))?;
            let mut names = vec!["data.zip", "manifest.json"];
            if app::xray_backups::service::row_of(&run).has_attachments {
                names.insert(1, "attachments.zip");
            }
            for name in names {
                let sealed = app::xray_backups::storage::open(
                    config.backup_bucket.as_ref(),
                    &folder,
                    &config.data_dir.join("tmp"),
                    run_id,
                    &format!("{name}.xk"),
                )
                .await
                .map_err(|e| {
                    app::AppError::Conflict(format!("The backup storage could not be read: {e}"))
                })?
                .ok_or_else(|| {
                    app::AppError::NotFound(format!(
                        "Backup run {run_id}'s {name} is missing from the backup storage."
                    ))
                })?;
                let path = sealed.path.clone();
                let target = out.join(name);
                let mut writer = app::owner_only::create_new_file(&target)
                    .map_err(|e| CliError::file("write", &target, e))?;
                app::xray_backups::store::open_file(master, run_id, name, &path, &mut writer)
                    .map_err(|e| app::AppError::Conflict(e.to_string()))?;
            }
            println!("wrote the backup of run {run_id} into {}", out.display());
            Ok(())
        }
        XrayBackupAction::List { json } => {
            use sea_orm::{EntityTrait, QueryOrder};
            let runs = app::entities::xray_backup_runs::Entity::find()
                .order_by_desc(app::entities::xray_backup_runs::Column::Id)
                .all(db)
                .await
                .map_err(app::AppError::from)?;
            if json {
                let listed: Vec<_> = runs.iter().map(run_json).collect();
                println!("{}", serde_json::to_string_pretty(&listed)?);
                return Ok(());
            }
            if runs.is_empty() {
                println!("no backup runs");
            }
            for r in runs {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    r.id,
                    r.started_at.format("%Y-%m-%d %H:%M UTC"),
                    r.trigger,
                    r.status,
                    r.message
                );
            }
            Ok(())
        }
    }
}
