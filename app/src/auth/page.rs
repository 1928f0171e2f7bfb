//! The sign-in and first-time setup pages.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_query_map;

use super::{CompleteSetup, CurrentUser, Login};
use crate::error::AppError;
use crate::ui::notice::{ErrorNotice, FieldError};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next").unwrap_or_else(|| "/".into()));
    let error = move || login.value().get().and_then(Result::err);
    let field_error =
        move |field: &'static str| move || error().and_then(|e| e.field_message(field));
    // With JavaScript, a successful sign-in reloads into the target page so every part of the
    // page (header included) sees the new session.
    Effect::new(move |_| {
        if let Some(Ok(())) = login.value().get() {
            let target = super::safe_next(&next());
            let _ = window().location().set_href(&target);
        }
    });
    let CurrentUser(user) = expect_context::<CurrentUser>();
    view! {
        <Title text="Sign in" />
        // Someone already signed in goes on. The server does this before rendering when the page
        // is loaded (also after the form posted); this covers reaching it inside the client.
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(_)) => view! { <Redirect path=super::safe_next(&next()) /> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Suspense>
        <div class="auth-card panel">
            <h1>"Sign in"</h1>
            <p class="page-header__lead">"Sign in with your user key and password."</p>
            <ActionForm action=login attr:class="form" attr:aria-label="Sign in">
                <input type="hidden" name="next" value=next />
                <div class="field">
                    <label for="login-user-key">"User key"</label>
                    <input
                        id="login-user-key"
                        class="input"
                        name="user_key"
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        required
                        maxlength="255"
                        aria-invalid=move || field_error("user_key")().is_some().to_string()
                    />
                    <FieldError message=Signal::derive(field_error("user_key")) />
                </div>
                <div class="field">
                    <label for="login-password">"Password"</label>
                    <input
                        id="login-password"
                        class="input"
                        type="password"
                        name="password"
                        autocomplete="current-password"
                        required
                        maxlength="256"
                    />
                    <FieldError message=Signal::derive(field_error("password")) />
                </div>
                {move || {
                    error()
                        .filter(|e| !matches!(e, AppError::Validation { .. }))
                        .map(|e| {
                            view! {
                                <div class="notice notice--error" role="alert">
                                    <p>{e.to_string()}</p>
                                </div>
                            }
                        })
                }}
                <div class="form-actions">
                    <button
                        type="submit"
                        class="button button--primary"
                        disabled=move || login.pending().get()
                    >
                        {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token").unwrap_or_default());
    let valid = Resource::new(token, super::setup_link_valid);
    let setup = ServerAction::<CompleteSetup>::new();
    let error = move || setup.value().get().and_then(Result::err);
    let field_error =
        move |field: &'static str| move || error().and_then(|e| e.field_message(field));
    Effect::new(move |_| {
        if let Some(Ok(())) = setup.value().get() {
            let _ = window().location().set_href("/");
        }
    });
    view! {
        <Title text="Set up xray-keys" />
        <div class="auth-card panel">
            <h1>"Set up the first administrator"</h1>
            <Suspense fallback=|| {
                view! { <p>"Checking the setup link…"</p> }
            }>
                {move || Suspend::new(async move {
                    match valid.await {
                        Ok(true) => {
                            view! {
                                <p class="page-header__lead">
                                    "No administrator exists yet. Choose the user key and password of the first one."
                                </p>
                                <ActionForm action=setup attr:class="form" attr:aria-label="Set up">
                                    <input type="hidden" name="token" prop:value=token />
                                    <div class="field">
                                        <label for="setup-user-key">"User key"</label>
                                        <input
                                            id="setup-user-key"
                                            class="input"
                                            name="user_key"
                                            value="admin"
                                            required
                                            maxlength="255"
                                            autocomplete="username"
                                        />
                                        <FieldError message=Signal::derive(
                                            field_error("user_key"),
                                        ) />
                                    </div>
                                    <div class="field">
                                        <label for="setup-name">"Display name"</label>
                                        <input
                                            id="setup-name"
                                            class="input"
                                            name="display_name"
                                            value="Administrator"
                                            required
                                            maxlength="255"
                                        />
                                        <FieldError message=Signal::derive(
                                            field_error("display_name"),
                                        ) />
                                    </div>
                                    <div class="field">
                                        <label for="setup-password">"Password"</label>
                                        <input
                                            id="setup-password"
                                            class="input"
                                            type="password"
                                            name="password"
                                            required
                                            minlength="12"
                                            maxlength="256"
                                            autocomplete="new-password"
                                        />
                                        <p class="field__hint">"At least 12 characters."</p>
                                        <FieldError message=Signal::derive(
                                            field_error("password"),
                                        ) />
                                    </div>
                                    <div class="field">
                                        <label for="setup-password-again">"Password again"</label>
                                        <input
                                            id="setup-password-again"
                                            class="input"
                                            type="password"
                                            name="password_again"
                                            required
                                            maxlength="256"
                                            autocomplete="new-password"
                                        />
                                        <FieldError message=Signal::derive(
                                            field_error("password_again"),
                                        ) />
                                    </div>
                                    {move || {
                                        error()
                                            .filter(|e| !matches!(e, AppError::Validation { .. }))
                                            .map(|e| view! { <ErrorNotice error=e /> })
                                    }}
                                    <div class="form-actions">
                                        <button type="submit" class="button button--primary">
                                            "Create administrator"
                                        </button>
                                    </div>
                                </ActionForm>
                            }
                                .into_any()
                        }
                        Ok(false) => {
                            view! {
                                <div class="notice notice--warning" role="alert">
                                    <p>
                                        "This setup link is not valid. An administrator exists already, or the server printed a newer link when it restarted."
                                    </p>
                                    <p>
                                        <A href="/login">"Go to sign in"</A>
                                    </p>
                                </div>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}
