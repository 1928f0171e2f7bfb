//! The frame around every page: header, navigation, page heading.

use leptos::prelude::*;
use leptos_router::components::A;

/// Pages reachable from the navigation, in menu order.
pub const NAV_ITEMS: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/api-keys", "API Keys"),
    ("/xray-credentials", "Xray Credentials"),
    ("/users", "Users"),
    ("/audit", "Audit"),
];

#[component]
pub fn AppHeader() -> impl IntoView {
    // At phone width the navigation folds behind a menu button; this toggle is handled by the
    // WASM client, so it also shows that hydration worked.
    let (menu_open, set_menu_open) = signal(false);
    view! {
        <header class="app-header">
            <div class="app-header__bar">
                <A href="/" attr:class="brand">
                    <span class="brand__mark" aria-hidden="true">"XK"</span>
                    <span class="brand__name">"xray-keys"</span>
                </A>
                <button
                    type="button"
                    class="menu-toggle"
                    aria-controls="primary-nav"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| set_menu_open.update(|open| *open = !*open)
                >
                    {move || if menu_open.get() { "Close menu" } else { "Menu" }}
                </button>
            </div>
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
                </ul>
            </nav>
        </header>
    }
}

/// A page's heading row: title, optional lead text, optional actions at the right.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional)] lead: Option<&'static str>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="page-header">
            <div class="page-header__text">
                <h1>{title}</h1>
                {lead.map(|text| view! { <p class="page-header__lead">{text}</p> })}
            </div>
            {children.map(|c| view! { <div class="page-header__actions">{c()}</div> })}
        </div>
    }
}
