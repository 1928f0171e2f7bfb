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
                    class="button button--subtle menu-toggle"
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
            <UserMenu/>
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
                        Ok(Some(u)) => view! {
                            <span class="app-header__who">"Signed in as " <strong>{u.display_name}</strong></span>
                            <ActionForm action=logout>
                                <button type="submit" class="button button--small">"Sign out"</button>
                            </ActionForm>
                        }.into_any(),
                        _ => view! { <A href="/login" attr:class="button button--small">"Sign in"</A> }.into_any(),
                    }
                })}
            </Transition>
        </div>
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

/// Prev, page numbers (with gaps), Next. `href` builds the address of a page.
#[component]
pub fn Pagination(
    total: u64,
    per_page: u64,
    page: u64,
    href: Callback<u64, String>,
) -> impl IntoView {
    let pages = total.div_ceil(per_page.max(1)).max(1);
    let numbers: Vec<Option<u64>> = page_numbers(page, pages);
    view! {
        <nav class="pagination" aria-label="Pagination">
            {if page > 1 {
                view! { <A href=href.run(page - 1) attr:class="button button--subtle">"Prev"</A> }.into_any()
            } else {
                view! { <span class="button button--subtle" aria-disabled="true">"Prev"</span> }.into_any()
            }}
            {numbers.into_iter().map(|n| match n {
                Some(n) if n == page => view! { <span class="button" aria-current="page">{n}</span> }.into_any(),
                Some(n) => view! { <A href=href.run(n) attr:class="button button--subtle" attr:aria-label=format!("Page {n}")>{n}</A> }.into_any(),
                None => view! { <span class="pagination__gap">"…"</span> }.into_any(),
            }).collect_view()}
            {if page < pages {
                view! { <A href=href.run(page + 1) attr:class="button button--subtle">"Next"</A> }.into_any()
            } else {
                view! { <span class="button button--subtle" aria-disabled="true">"Next"</span> }.into_any()
            }}
        </nav>
    }
}

/// Page numbers to show: first, last, and two either side of the current one; `None` is a gap.
pub fn page_numbers(page: u64, pages: u64) -> Vec<Option<u64>> {
    let mut out = Vec::new();
    let mut last = 0;
    for n in 1..=pages {
        if n == 1 || n == pages || n.abs_diff(page) <= 2 {
            if n > last + 1 {
                out.push(None);
            }
            out.push(Some(n));
            last = n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::page_numbers;

    #[test]
    fn page_numbers_show_ends_and_neighbours() {
        assert_eq!(page_numbers(1, 1), vec![Some(1)]);
        assert_eq!(
            page_numbers(5, 10),
            vec![
                Some(1),
                None,
                Some(3),
                Some(4),
                Some(5),
                Some(6),
                Some(7),
                None,
                Some(10)
            ]
        );
    }
}
