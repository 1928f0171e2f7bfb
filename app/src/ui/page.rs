//! Parts of every page: the heading row and the pagination of a list.

use leptos::prelude::*;

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

/// Prev, page numbers (with gaps), Next. `href` builds the address of a page; `prev_href` and
/// `next_href`, when given, are Prev's and Next's instead (a list that seeks from the keys it
/// shows rather than counting its way to a page number). Plain links, which the router still
/// follows in place: its `<A>` would mark every one of them the current page, as they all share
/// the page's path.
#[component]
pub fn Pagination(
    total: u64,
    per_page: u64,
    page: u64,
    href: Callback<u64, String>,
    #[prop(default = None)] prev_href: Option<String>,
    #[prop(default = None)] next_href: Option<String>,
) -> impl IntoView {
    let pages = total.div_ceil(per_page.max(1)).max(1);
    let prev_href = prev_href.unwrap_or_else(|| href.run(page.saturating_sub(1)));
    let next_href = next_href.unwrap_or_else(|| href.run(page + 1));
    let numbers: Vec<Option<u64>> = page_numbers(page, pages);
    view! {
        <nav class="pagination" aria-label="Pagination">
            {if page > 1 {
                view! {
                    <a href=prev_href class="button button--subtle">
                        "Prev"
                    </a>
                }
                    .into_any()
            } else {
                view! {
                    <span class="button button--subtle" aria-disabled="true">
                        "Prev"
                    </span>
                }
                    .into_any()
            }}
            {numbers
                .into_iter()
                .map(|n| match n {
                    Some(n) if n == page => {
                        view! {
                            <span class="button" aria-current="page">
                                {n}
                            </span>
                        }
                            .into_any()
                    }
                    Some(n) => {
                        view! {
                            <a
                                href=href.run(n)
                                class="button button--subtle"
                                aria-label=format!("Page {n}")
                            >
                                {n}
                            </a>
                        }
                            .into_any()
                    }
                    None => view! { <span class="pagination__gap">"…"</span> }.into_any(),
                })
                .collect_view()}
            {if page < pages {
                view! {
                    <a href=next_href class="button button--subtle">
                        "Next"
                    </a>
                }
                    .into_any()
            } else {
                view! {
                    <span class="button button--subtle" aria-disabled="true">
                        "Next"
                    </span>
                }
                    .into_any()
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
