//! Sign-in, sessions, roles and the first administrator.

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

#[server]
pub async fn get_current_user() -> Result<Option<SessionUser>, AppError> {
    context::serve(|ctx| async move {
        Ok(ctx.current_user().await?.map(|u| SessionUser {
            roles: crate::users::service::summary(&u).roles,
            user_key: u.user_key,
            display_name: u.display_name,
        }))
    })
    .await
}

/// Signs in. The page reloads into `next` itself; without JavaScript the form post returns to
/// the sign-in page, which sends a signed-in visitor on to `next`.
#[server]
pub async fn login(user_key: String, password: String, next: String) -> Result<(), AppError> {
    let _ = next;
    context::serve(|ctx| async move {
        // Cycle the session id: whatever session this browser had ends here.
        if let Some(old) = ctx.session_token() {
            session::end(&ctx.state.db, &old).await?;
        }
        let (token, _user) = service::sign_in(
            &ctx.state.db,
            &user_key,
            password,
            &ctx.client_addr,
            chrono::Utc::now(),
        )
        .await?;
        ctx.set_cookie(&session::cookie(&token, ctx.state.config.secure_cookies));
        Ok(())
    })
    .await
}

#[server]
pub async fn logout() -> Result<(), AppError> {
    context::serve(|ctx| async move {
        if let Some(user) = ctx.current_user().await? {
            let actor = crate::audit::service::Actor {
                name: user.user_key.clone(),
                client_addr: Some(ctx.client_addr.clone()),
            };
            crate::audit::service::record(
                &ctx.state.db,
                &actor,
                crate::audit::action::SIGN_OUT,
                None,
                crate::audit::Outcome::Success,
                None,
            )
            .await?;
        }
        if let Some(token) = ctx.session_token() {
            session::end(&ctx.state.db, &token).await?;
        }
        ctx.set_cookie(&session::clearing_cookie(ctx.state.config.secure_cookies));
        Ok(())
    })
    .await
}

#[server]
pub async fn setup_link_valid(token: String) -> Result<bool, AppError> {
    context::serve(|ctx| async move { service::setup_token_valid(&ctx.state.db, &token).await })
        .await
}

#[server]
pub async fn complete_setup(
    token: String,
    user_key: String,
    display_name: String,
    password: String,
    password_again: String,
) -> Result<(), AppError> {
    context::serve(|ctx| async move {
        if password != password_again {
            return Err(AppError::validation(
                "password_again",
                "The passwords differ.",
            ));
        }
        let (session_token, _) = service::complete_setup(
            &ctx.state.db,
            &token,
            &user_key,
            &display_name,
            password,
            &ctx.client_addr,
        )
        .await?;
        ctx.set_cookie(&session::cookie(
            &session_token,
            ctx.state.config.secure_cookies,
        ));
        Ok(())
    })
    .await
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
