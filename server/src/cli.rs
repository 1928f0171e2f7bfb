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
    /// Apply or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
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
}

pub async fn run(cli: Cli, config: Config) -> Result<(), CliError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => crate::serve::serve(config).await,
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
