//! The role guard around a page, and the 403 page it shows.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_location;

use super::notice::ErrorNotice;
use super::page::PageHeader;
use super::url::login_path;
use crate::auth::CurrentUser;
use crate::users::Role;

/// Renders `children` for a signed-in user holding one of `roles`; sends anyone else to sign in
/// (and back here afterwards), or shows the 403 page. Server functions check roles again: this
/// guard is for people, not for security.
///
/// `children` runs inside a `<Suspense>`, which on the server walks its children up to three
/// times before rendering them: a page creates its resources (and the actions they follow)
/// before the guard and only reads them inside, or each walk would fetch and ship them again.
#[component]
pub fn RequireRole(roles: &'static [Role], children: ChildrenFn) -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    let location = use_location();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| {
            view! { <p class="loading">"Loading…"</p> }
        }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(u)) if u.has_any(roles) => children.with_value(|c| c()).into_any(),
                    Ok(Some(_)) => view! { <Forbidden /> }.into_any(),
                    Ok(None) => {
                        let search = location.search.get_untracked();
                        let here = if search.is_empty() {
                            location.pathname.get_untracked()
                        } else {
                            format!("{}?{search}", location.pathname.get_untracked())
                        };
                        let path = login_path(&here);
                        view! { <Redirect path=path /> }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="No access" />
        <PageHeader title="You don't have access to this page" />
        <div class="notice notice--warning" role="alert">
            <p>
                "Your account does not hold the role this page needs. Ask an administrator to "
                "give you the role, or go back to the " <A href="/">"overview"</A> "."
            </p>
        </div>
    }
}
