//! SeaORM entities: the database's shape, kept apart from the domain types.

pub mod api_keys;
pub mod audit_log;
pub mod key_events;
pub mod leases;
pub mod sessions;
pub mod settings;
pub mod standin_backups;
pub mod standin_downloads;
pub mod standin_faults;
pub mod standin_issues;
pub mod standin_links;
pub mod standin_projects;
pub mod standin_runs;
pub mod standin_steps;
pub mod throttle;
pub mod users;
pub mod xray_backup_events;
pub mod xray_backup_runs;
pub mod xray_backup_schedule;
pub mod xray_credential_checks;
pub mod xray_credentials;
