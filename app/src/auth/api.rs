//! The sign-in, sign-out and setup server functions: each captures the request and calls
//! `service`.

use leptos::prelude::*;

use super::SessionUser;
#[cfg(feature = "ssr")]
use super::{context, service, session};
use crate::error::AppError;

#[server]
pub async fn get_current_user() -> Result<Option<SessionUser>, AppError> {
    context::serve(|ctx| async move {
        let standin = ctx.state.config.xray_standin;
        Ok(ctx.current_user().await?.map(|u| {
            let roles = crate::users::service::summary(&u).roles;
            SessionUser {
                sees_standin: standin && roles.contains(&crate::users::Role::Administrator),
                roles,
                user_key: u.user_key,
                display_name: u.display_name,
            }
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
        let (token, _user) = service::sign_in_replacing(
            &ctx.state.db,
            ctx.session_token(),
            &user_key,
            password,
            &ctx.client_addr,
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
        let user = ctx.current_user().await?;
        service::sign_out(
            &ctx.state.db,
            user.as_ref(),
            &ctx.client_addr,
            ctx.session_token(),
        )
        .await?;
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
