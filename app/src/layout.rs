//! The frame around every page: the header, the navigation and the user menu.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

/// Pages reachable from the navigation, in menu order.
pub const NAV_ITEMS: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/api-keys", "API Keys"),
    ("/xray-credentials", "Xray Credentials"),
    ("/xray-backups", "Xray Backups"),
    ("/users", "Users"),
    ("/audit", "Audit"),
];

#[component]
pub fn AppHeader() -> impl IntoView {
    // At phone width the navigation folds behind a menu button; this toggle is handled by the
    // WASM client, so it also shows that hydration worked.
    let (menu_open, set_menu_open) = signal(false);
    let crate::auth::CurrentUser(user) = expect_context::<crate::auth::CurrentUser>();
    // A page served without the client (the sign-in page) could not open the menu, and its
    // visitor has nowhere to go before signing in: it shows the brand alone, no menu button, no
    // links and no second "Sign in".
    let location = use_location();
    let shows_navigation = move || location.pathname.with(|path| crate::runs_client(path));
    view! {
        <header class="app-header">
            <div class="app-header__bar">
                <A href="/" attr:class="brand">
                    <span class="brand__mark" aria-hidden="true">"XK"</span>
                    <span class="brand__name">"xray-keys"</span>
                </A>
                <Show when=shows_navigation>
                    <button
                        type="button"
                        class="button button--subtle menu-toggle"
                        aria-controls="primary-nav"
                        aria-expanded=move || menu_open.get().to_string()
                        on:click=move |_| set_menu_open.update(|open| *open = !*open)
                    >
                        {move || if menu_open.get() { "Close menu" } else { "Menu" }}
                    </button>
                </Show>
            </div>
            <Show when=shows_navigation>
            <nav
                id="primary-nav"
                class="primary-nav"
                class:primary-nav--open=move || menu_open.get()
                aria-label="Main"
            >
                <ul>
                    {NAV_ITEMS
                        .iter()
                        .map(|(href, label)| {
                            view! {
                                <li>
                                    <A href=*href on:click=move |_| set_menu_open.set(false)>
                                        {*label}
                                    </A>
                                </li>
                            }
                        })
                        .collect_view()}
                    // Only while the stand-in is on, and only for those who may open it.
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let sees = matches!(user.await, Ok(Some(u)) if u.sees_standin);
                            sees.then(|| {
                                view! {
                                    <li>
                                        <A
                                            href="/xray-standin"
                                            on:click=move |_| set_menu_open.set(false)
                                        >
                                            "Xray stand-in"
                                        </A>
                                    </li>
                                }
                            })
                        })}
                    </Transition>
                </ul>
            </nav>
                <UserMenu />
            </Show>
        </header>
    }
}

/// Who is signed in, and the way out; or the way in.
#[component]
fn UserMenu() -> impl IntoView {
    let crate::auth::CurrentUser(user) = expect_context::<crate::auth::CurrentUser>();
    let logout = ServerAction::<crate::auth::Logout>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            let _ = window().location().set_href("/login");
        }
    });
    view! {
        <div class="app-header__user">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(u)) => {
                            view! {
                                <span class="app-header__who">
                                    "Signed in as " <strong>{u.display_name}</strong>
                                </span>
                                <ActionForm action=logout>
                                    <button type="submit" class="button button--small">
                                        "Sign out"
                                    </button>
                                </ActionForm>
                            }
                                .into_any()
                        }
                        _ => {
                            view! {
                                <A href="/login" attr:class="button button--small">
                                    "Sign in"
                                </A>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </div>
    }
}
