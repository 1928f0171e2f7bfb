//! Command-line interface. Every command prints a clear message and exits non-zero on failure.

use clap::{Parser, Subcommand};
use migrations::{Migrator, MigratorTrait};

use app::config::Config;

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

/// A failure of a command, with the text shown to the person who ran it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("DATABASE_URL: {0}")]
    Connect(#[from] app::db::ConnectError),
    #[error("database migration failed: {0}")]
    Migrate(sea_orm::DbErr),
    #[error("{0}")]
    Serve(String),
    #[error("{0}")]
    App(#[from] app::AppError),
    #[error("{0}")]
    Input(String),
}

pub async fn run(cli: Cli, config: Config) -> Result<(), CliError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => crate::serve::serve(config).await,
        Command::Users { action } => {
            let db = app::db::connect(&config.database_url).await?;
            Migrator::up(&db, None).await.map_err(CliError::Migrate)?;
            users(&db, action).await
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
    }
    Ok(())
}
