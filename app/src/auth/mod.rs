//! Sign-in, sessions, roles and the first administrator.

pub mod api;
#[cfg(feature = "ssr")]
pub mod context;
pub mod page;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod throttle;

pub use api::*;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::users::Role;

/// The signed-in user, as pages see them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionUser {
    pub user_key: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// The Xray stand-in is on and this user may open its page (administrators).
    pub sees_standin: bool,
}

/// The signed-in user, loaded once per page load and shared through context. Blocking, so the
/// server knows it before it sends the status line (redirects and 403s need that).
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<SessionUser>, AppError>>);

pub fn provide_current_user() {
    let resource = Resource::new_blocking(|| (), |_| get_current_user());
    provide_context(CurrentUser(resource));
}

impl SessionUser {
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.roles.contains(r))
    }
}

/// The sign-in page's path.
pub const SIGN_IN_PAGE: &str = "/login";

/// Where to go after signing in: only a path on this site, never another origin.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(char::is_control)
        && !next.starts_with("/login");
    if ok {
        next.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/api-keys?page=2"), "/api-keys?page=2");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "",
            "/login",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
