//! The keys table: one row per key, with its selection box and row actions.
//!
//! The rows are written as markup text ([`rows_html`]), the same on the server and in the
//! browser, and the table body handles its rows' clicks and changes itself (one listener each,
//! reading which row and which action from `data-` attributes). Built as framework views, a page
//! of 100 rows was about 2,500 elements and 3,000 attributes, each rendered, and hydrated, one by
//! one with closures of its own: most of the server's time for the page. What changes once the
//! rows are drawn (the ticked boxes, the open row menu) two effects set on the rows directly.

use std::collections::BTreeSet;
use std::fmt::{self, Write};

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::api_keys::{ApiKeyRow, FilterWindow};

use super::format;
use super::Dialog;

#[component]
pub(super) fn KeysTable(
    rows: Vec<ApiKeyRow>,
    selected: RwSignal<BTreeSet<String>>,
    all_matching: RwSignal<bool>,
    dialog: RwSignal<Dialog>,
    /// The Client Id whose "More actions" menu is open.
    open_menu: RwSignal<Option<String>>,
    now: DateTime<Utc>,
    window: FilterWindow,
    on_reactivate: Callback<(String, String)>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <div class="table-wrap">
                <p class="empty-state">"No API Keys were found"</p>
            </div>
        }
        .into_any();
    }
    // Shared, not copied, when the server's streaming renderer clones the view.
    let markup: std::sync::Arc<str> = rows_html(&rows, now, window).into();
    // What the rows' actions act on (a row's `data-row` is its place here).
    let keys = StoredValue::new(rows);
    let body = NodeRef::<leptos::html::Tbody>::new();

    // The boxes and each row's `aria-selected` follow the selection.
    Effect::new(move |_| {
        let Some(body) = body.get() else {
            return;
        };
        let all = all_matching.get();
        selected.with(|chosen| {
            keys.with_value(|keys| {
                for (index, key) in keys.iter().enumerate() {
                    rows_dom::show_selected(&body, index, all || chosen.contains(&key.client_id));
                }
            });
        });
    });
    // The open row menu is drawn right after its button, so that Tab reaches its items next.
    Effect::new(move |_| {
        let Some(body) = body.get() else {
            return;
        };
        let open = open_menu.with(|open| {
            keys.with_value(|keys| {
                let index = place_of(keys, open.as_deref()?)?;
                Some((index, menu_html(&keys[index], now)))
            })
        });
        rows_dom::show_menu(&body, open.as_ref().map(|(i, html)| (*i, html.as_str())));
    });

    let on_change = move |ev: leptos::ev::Event| {
        let Some((index, on)) = rows_dom::toggled_box(&ev) else {
            return;
        };
        let Some(id) = keys.with_value(|k| k.get(index).map(|k| k.client_id.clone())) else {
            return;
        };
        if all_matching.get_untracked() {
            // Leaving "All": the rest of this page stays selected.
            all_matching.set(false);
            selected.set(keys.with_value(|keys| {
                keys.iter()
                    .filter(|k| k.client_id != id)
                    .map(|k| k.client_id.clone())
                    .collect()
            }));
        } else if on {
            selected.update(|s| {
                s.insert(id);
            });
        } else {
            selected.update(|s| {
                s.remove(&id);
            });
        }
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some((action, index)) = rows_dom::clicked_action(&ev) else {
            return;
        };
        let Some(action) = RowAction::named(&action) else {
            return;
        };
        keys.with_value(|keys| {
            let Some(key) = keys.get(index) else {
                return;
            };
            // Choosing a menu item closes the menu.
            if action.in_menu() {
                open_menu.set(None);
            }
            match action {
                RowAction::Menu => open_menu.update(|open| {
                    *open = if open.as_deref() == Some(key.client_id.as_str()) {
                        None
                    } else {
                        Some(key.client_id.clone())
                    };
                }),
                RowAction::Reactivate => {
                    on_reactivate.run((key.user_key.clone(), key.client_id.clone()));
                }
                _ => {
                    if let Some(next) = dialog_for(action, key, now) {
                        dialog.set(next);
                    }
                }
            }
        });
    };

    // Escape closes an open row menu and gives focus back to its button.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() != "Escape" {
            return;
        }
        let Some(open) = open_menu.get_untracked() else {
            return;
        };
        ev.prevent_default();
        open_menu.set(None);
        let index = keys.with_value(|keys| place_of(keys, &open));
        if let (Some(body), Some(index)) = (body.get_untracked(), index) {
            rows_dom::focus_menu_button(&body, index);
        }
    };

    view! {
        <div class="table-wrap">
            <table class="data" aria-label="API Keys">
                <thead>
                    <tr>
                        <th scope="col" class="col-check">
                            <span class="visually-hidden">"Selected"</span>
                        </th>
                        <th scope="col">"User Key"</th>
                        <th scope="col">"Client Id"</th>
                        <th scope="col">"Client Secret"</th>
                        <th scope="col">"Description"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="col-dates">
                            "Created"
                        </th>
                        <th scope="col" class="col-dates">
                            "Last used"
                        </th>
                        <th scope="col" class="col-dates">
                            "Expires"
                        </th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody
                    node_ref=body
                    inner_html=markup
                    on:change=on_change
                    on:click=on_click
                    on:keydown=on_keydown
                ></tbody>
            </table>
        </div>
    }
    .into_any()
}

/// What a row's buttons and menu items do, named in their `data-action`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum RowAction {
    Regenerate,
    Delete,
    Menu,
    Edit,
    Deactivate,
    Reactivate,
    RevokeOldSecret,
}

impl RowAction {
    const ALL: [RowAction; 7] = [
        RowAction::Regenerate,
        RowAction::Delete,
        RowAction::Menu,
        RowAction::Edit,
        RowAction::Deactivate,
        RowAction::Reactivate,
        RowAction::RevokeOldSecret,
    ];

    fn name(self) -> &'static str {
        match self {
            RowAction::Regenerate => "regenerate",
            RowAction::Delete => "delete",
            RowAction::Menu => "menu",
            RowAction::Edit => "edit",
            RowAction::Deactivate => "deactivate",
            RowAction::Reactivate => "reactivate",
            RowAction::RevokeOldSecret => "revoke-old-secret",
        }
    }

    fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.name() == name)
    }

    /// Whether the action is an item of a row's "More actions" menu.
    fn in_menu(self) -> bool {
        matches!(
            self,
            RowAction::Edit
                | RowAction::Deactivate
                | RowAction::Reactivate
                | RowAction::RevokeOldSecret
        )
    }
}

/// The place of the row with Client Id `client_id` among `rows`.
fn place_of(rows: &[ApiKeyRow], client_id: &str) -> Option<usize> {
    rows.iter().position(|row| row.client_id == client_id)
}

/// The dialog `action` opens for `row`; `None` for the actions that open none (the menu
/// button, Reactivate).
fn dialog_for(action: RowAction, row: &ApiKeyRow, now: DateTime<Utc>) -> Option<Dialog> {
    let user_key = row.user_key.clone();
    let client_id = row.client_id.clone();
    Some(match action {
        RowAction::Regenerate => Dialog::Regenerate {
            user_key,
            client_id,
            generation: row.secret_generation,
            grace_running: format::grace_running(row, now),
            used_by_credentials: row.used_by_credentials,
        },
        RowAction::Delete => Dialog::Delete {
            user_key,
            client_id,
        },
        RowAction::Edit => Dialog::Edit {
            user_key,
            client_id,
            description: row.description.clone(),
            expires_at: row.expires_at,
        },
        RowAction::Deactivate => Dialog::Deactivate {
            user_key,
            client_id,
        },
        RowAction::RevokeOldSecret => Dialog::RevokeOldSecret {
            user_key,
            client_id,
        },
        RowAction::Menu | RowAction::Reactivate => return None,
    })
}

/// Text placed in an element, escaped as the framework escapes text.
struct Text<'a>(&'a str);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&html_escape::encode_text(self.0))
    }
}

/// Text placed in a double-quoted attribute, escaped as the framework escapes attributes.
struct Attr<'a>(&'a str);

impl fmt::Display for Attr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&html_escape::encode_double_quoted_attribute(self.0))
    }
}

/// The table body's markup: one `<tr>` per key, `data-row` its place in the page.
fn rows_html(rows: &[ApiKeyRow], now: DateTime<Utc>, window: FilterWindow) -> String {
    let mut html = String::with_capacity(rows.len() * 1_500);
    for (index, row) in rows.iter().enumerate() {
        // Writing into a `String` cannot fail.
        let _ = write_row(&mut html, index, row, now, window);
    }
    html
}

fn write_row(
    out: &mut String,
    index: usize,
    row: &ApiKeyRow,
    now: DateTime<Utc>,
    window: FilterWindow,
) -> fmt::Result {
    let user_key = Attr(&row.user_key);
    write!(
        out,
        r#"<tr data-row="{index}" aria-label="API Key of {user_key}" aria-selected="false"><td class="col-check"><input type="checkbox" aria-label="Select {user_key}"></td>"#
    )?;
    write!(
        out,
        r#"<td><span class="mono">{}</span><span class="cell-sub">{}{}</span></td>"#,
        Text(&row.user_key),
        Text(&row.display_name),
        if row.user_active {
            ""
        } else {
            " (deactivated)"
        },
    )?;
    write!(
        out,
        r#"<td><span class="mono">{}</span></td><td><span class="mono" aria-label="Client Secret hidden">*****</span></td>"#,
        Text(&row.client_id)
    )?;
    write!(
        out,
        r#"<td class="col-description">{}"#,
        Text(&row.description)
    )?;
    if row.used_by_credentials {
        out.push_str(r#"<span class="cell-sub">Used by: <a href="/xray-credentials">Xray Credentials (backups)</a></span>"#);
    }
    let (status, warning) = format::status(row, now, window);
    let lozenge = if warning {
        "lozenge lozenge--warning"
    } else if row.is_active {
        "lozenge lozenge--success"
    } else {
        "lozenge"
    };
    write!(
        out,
        r#"</td><td><span class="{lozenge}">{}</span>"#,
        Text(&status)
    )?;
    if let Some(grace) = format::grace_line(row, now) {
        write!(out, r#"<span class="cell-sub">{}</span>"#, Text(&grace))?;
    }
    write!(
        out,
        r#"</td><td class="col-dates">{}</td><td class="col-dates">{}"#,
        Text(&format::date(row.created_at)),
        Text(&format::last_used(row, now))
    )?;
    if let Some(failure) = format::failure_line(row, now) {
        write!(
            out,
            r#"<span class="cell-sub cell-sub--attention">{}</span>"#,
            Text(&failure)
        )?;
    }
    // The icons as in Xray's table are drawn by the stylesheet; the text stays the accessible
    // name, the title its tooltip.
    write!(
        out,
        r#"</td><td class="col-dates">{}</td><td class="actions"><button type="button" class="button button--small button--subtle button--icon" title="Regenerate Client Secret" data-action="{}"><span class="icon icon--regenerate" aria-hidden="true"></span><span class="visually-hidden">Regenerate Client Secret</span></button><button type="button" class="button button--small button--subtle button--icon" title="Delete" data-action="{}"><span class="icon icon--delete" aria-hidden="true"></span><span class="visually-hidden">Delete</span></button><span class="menu-anchor"><button type="button" class="button button--small button--subtle" aria-haspopup="menu" aria-expanded="false" aria-label="More actions for {user_key}" title="More actions" data-action="{}">•••</button></span></td></tr>"#,
        Text(&format::expires(row)),
        RowAction::Regenerate.name(),
        RowAction::Delete.name(),
        RowAction::Menu.name(),
    )
}

/// A row's three-dot menu: Edit details, Deactivate or Reactivate, and Revoke old secret now
/// while a grace period runs.
fn menu_html(key: &ApiKeyRow, now: DateTime<Utc>) -> String {
    let on_off = if key.is_active {
        (RowAction::Deactivate, "Deactivate")
    } else {
        (RowAction::Reactivate, "Reactivate")
    };
    let mut items = vec![(RowAction::Edit, "Edit details"), on_off];
    if format::grace_running(key, now) {
        items.push((RowAction::RevokeOldSecret, "Revoke old secret now"));
    }
    let mut html = format!(
        r#"<ul class="menu menu--right" role="menu" aria-label="Actions for {}">"#,
        Attr(&key.user_key)
    );
    for (action, label) in items {
        html.push_str(r#"<li role="none"><button type="button" role="menuitem" data-action=""#);
        html.push_str(action.name());
        html.push_str(r#"">"#);
        html.push_str(label);
        html.push_str("</button></li>");
    }
    html.push_str("</ul>");
    html
}

/// The browser calls the rows need. They run only in the hydrated client (in handlers and
/// effects); on the server they are compiled and never called.
mod rows_dom {
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlInputElement};

    /// The row at `index` (the body's children are its rows, in order).
    fn row(body: &Element, index: usize) -> Option<Element> {
        body.children().item(u32::try_from(index).ok()?)
    }

    /// The `data-row` of the row holding `element`.
    fn row_index(element: &Element) -> Option<usize> {
        element
            .closest("tr[data-row]")
            .ok()??
            .get_attribute("data-row")?
            .parse()
            .ok()
    }

    /// Ticks or clears the row's box and says so in its `aria-selected`.
    pub fn show_selected(body: &Element, index: usize, on: bool) {
        let Some(row) = row(body, index) else {
            return;
        };
        let _ = row.set_attribute("aria-selected", if on { "true" } else { "false" });
        if let Some(tick) = row
            .query_selector("input[type=checkbox]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        {
            tick.set_checked(on);
        }
    }

    /// Closes the open row menu, if any, and opens `open`'s (its row and markup).
    pub fn show_menu(body: &Element, open: Option<(usize, &str)>) {
        if let Ok(Some(menu)) = body.query_selector("ul.menu") {
            menu.remove();
        }
        if let Ok(Some(button)) = body.query_selector("[aria-expanded=\"true\"]") {
            let _ = button.set_attribute("aria-expanded", "false");
        }
        let Some((index, markup)) = open else {
            return;
        };
        if let Some(button) = menu_button(body, index) {
            let _ = button.set_attribute("aria-expanded", "true");
            let _ = button.insert_adjacent_html("afterend", markup);
        }
    }

    /// The row's "More actions" button.
    fn menu_button(body: &Element, index: usize) -> Option<Element> {
        row(body, index)?
            .query_selector("[data-action=\"menu\"]")
            .ok()
            .flatten()
    }

    /// Gives focus to the row's "More actions" button.
    pub fn focus_menu_button(body: &Element, index: usize) {
        if let Some(button) =
            menu_button(body, index).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = button.focus();
        }
    }

    /// The row whose box a change event ticked or cleared, and whether it is now ticked.
    pub fn toggled_box(ev: &web_sys::Event) -> Option<(usize, bool)> {
        let tick = ev.target()?.dyn_into::<HtmlInputElement>().ok()?;
        Some((row_index(&tick)?, tick.checked()))
    }

    /// The `data-action` of the button a click landed on, and its row.
    pub fn clicked_action(ev: &web_sys::MouseEvent) -> Option<(String, usize)> {
        let target = ev.target()?.dyn_into::<Element>().ok()?;
        let button = target.closest("[data-action]").ok()??;
        Some((button.get_attribute("data-action")?, row_index(&button)?))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    /// The sample key, as user "ann" with Client Id "C1", created 3 days before `now`.
    fn row(now: DateTime<Utc>) -> ApiKeyRow {
        ApiKeyRow {
            client_id: "C1".into(),
            user_key: "ann".into(),
            display_name: "Ann".into(),
            created_at: now - Duration::days(3),
            ..format::sample_row(now)
        }
    }

    #[test]
    fn the_rows_markup_escapes_every_text_it_shows() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let mut hostile = row(now);
        hostile.user_key = r#"x"><script>alert(1)</script>"#.into();
        hostile.display_name = "<img src=x onerror=alert(2)>".into();
        hostile.description = "a & b </td></tr>".into();
        let html = rows_html(&[hostile], now, FilterWindow::default());
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("</td></tr></td>"), "{html}");
        assert!(html.contains("a &amp; b &lt;/td&gt;&lt;/tr&gt;"), "{html}");
        assert!(
            html.contains(
                r#"aria-label="Select x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;""#
            ),
            "{html}"
        );
        // One row, its cells all closed: ten of them.
        assert_eq!(html.matches("<tr ").count(), 1);
        assert_eq!(html.matches("<td").count(), 10);
        assert_eq!(html.matches("</td>").count(), 10);
    }

    #[test]
    fn each_row_says_its_place_state_and_extra_lines() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let plain = row(now);
        let mut busy = row(now);
        busy.user_key = "bob".into();
        busy.user_active = false;
        busy.is_active = true;
        busy.expires_at = Some(now + Duration::days(2));
        busy.old_secret_until = Some(now + Duration::hours(5));
        busy.last_failed_at = Some(now - Duration::minutes(2));
        busy.last_failed_reason = Some("expired".into());
        busy.used_by_credentials = true;
        let html = rows_html(&[plain, busy], now, FilterWindow::default());
        let (first, second) = html.split_at(html.find(r#"<tr data-row="1""#).unwrap());
        assert!(first.starts_with(r#"<tr data-row="0" aria-label="API Key of ann""#));
        assert!(first.contains(r#"<span class="lozenge lozenge--success">Active</span>"#));
        assert!(first.contains("Never used"));
        assert!(!first.contains("cell-sub--attention"));
        assert!(!first.contains("Used by"));
        assert!(second.contains("(deactivated)"));
        assert!(
            second.contains(r#"<span class="lozenge lozenge--warning">Expires in 2 days</span>"#)
        );
        assert!(second.contains("Old secret works until 2026-12-01 17:00 UTC"));
        assert!(second.contains("Last failed: expired key, 2 minutes ago"));
        assert!(second.contains(r#"<a href="/xray-credentials">Xray Credentials (backups)</a>"#));
        for action in ["regenerate", "delete", "menu"] {
            assert!(
                second.contains(&format!(r#"data-action="{action}""#)),
                "{action}"
            );
        }
    }

    #[test]
    fn the_row_menu_offers_what_the_key_allows() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let mut key = row(now);
        let menu = menu_html(&key, now);
        assert!(menu.contains(r#"aria-label="Actions for ann""#));
        assert!(menu.contains(r#"data-action="edit">Edit details<"#));
        assert!(menu.contains(r#"data-action="deactivate">Deactivate<"#));
        assert!(!menu.contains("Revoke old secret now"));
        key.is_active = false;
        key.old_secret_until = Some(now + Duration::hours(1));
        let menu = menu_html(&key, now);
        assert!(menu.contains(r#"data-action="reactivate">Reactivate<"#));
        assert!(menu.contains(r#"data-action="revoke-old-secret">Revoke old secret now<"#));
        // A grace period that has ended offers nothing to revoke.
        key.old_secret_until = Some(now - Duration::hours(1));
        assert!(!menu_html(&key, now).contains("Revoke"));
    }

    #[test]
    fn every_action_is_found_by_its_name() {
        for action in RowAction::ALL {
            assert_eq!(RowAction::named(action.name()), Some(action));
        }
        assert_eq!(RowAction::named("unknown"), None);
    }
}
