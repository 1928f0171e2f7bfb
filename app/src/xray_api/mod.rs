//! The Xray-compatible REST API: `POST /api/v2/authenticate` (and `/api/v1/…`) exchanges a Client
//! Id and Client Secret for a bearer token that acts as the key's user; `GET /api/v2/whoami`
//! tells who that is.

pub mod last_used;
pub mod openapi;
pub mod owners;
pub mod routes;
pub mod service;
pub mod tokens;

use serde::{Deserialize, Serialize};

/// The answer of `GET /api/v2/whoami`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whoami {
    pub user_key: String,
    pub display_name: String,
    pub client_id: String,
}

/// The message of a 401 from authenticate, word for word as Xray Cloud's.
pub const INVALID_CLIENT_CREDENTIALS: &str = "Authentication failed. Invalid client credentials!";
/// The message of a 401 for a missing, malformed, expired or revoked token.
pub const INVALID_TOKEN: &str = "The API token is not valid";
