//! Xray backups (issue 18): the backup job the stored Xray Credentials exist for. Built so far:
//! downloading a backup file the careful way ([`fetch`]) and verifying it ([`verify`]), tested
//! against the Xray Cloud stand-in. The run itself (lease, steps, retries, history), its
//! encrypted storage, schedule, health and page come next.

pub mod fetch;
pub mod verify;
