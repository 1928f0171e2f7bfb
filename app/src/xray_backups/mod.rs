//! Xray backups (issue 18): the backup job the stored Xray Credentials exist for. Built so far:
//! a run's first steps ([`run`]: lease, credentials, authenticate, request, poll, with a history
//! row), downloading the file the careful way ([`fetch`]) and verifying it ([`verify`]), tested
//! against the Xray Cloud stand-in. Retries, encrypted storage, retention, schedule, health, the
//! page and the command line come next.

pub mod fetch;
pub mod run;
pub mod store;
pub mod verify;
