//! The integration tests: one binary (the dependency graph is linked once), a module per area,
//! and one harness of shared helpers.

// Tests and benchmarks stop at the first surprise; unwrap and expect say where.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod access;
mod api_keys;
mod auth_api;
mod credentials;
mod faults;
mod hostile;
mod http;
mod identity;
mod instances;
mod key_console;
mod lifecycle;
mod load;
mod schema;
mod standin;
mod standin_backup;
mod standin_graphql;
mod startup;
mod xray_backup_console;
mod xray_backup_processes;
mod xray_backup_storage;
mod xray_backups;
