//! The keys table: one row per key, with its selection box and row actions.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::components::A;

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
    // One handle for the whole page: each row's checkbox needs the page's ids only when it
    // leaves "All".
    let page_ids = StoredValue::new(rows.iter().map(|r| r.client_id.clone()).collect::<Vec<_>>());
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
                <tbody>
                    {rows
                        .into_iter()
                        .map(|row| {
                            let created = format::date(row.created_at);
                            let last_used = format::last_used(&row, now);
                            let failure = format::failure_line(&row, now);
                            let (status, warning) = format::status(&row, now, window);
                            let grace = format::grace_line(&row, now);
                            let expires = format::expires(&row);
                            let key = StoredValue::new(RowKey {
                                user_key: row.user_key.clone(),
                                client_id: row.client_id.clone(),
                                description: row.description.clone(),
                                expires_at: row.expires_at,
                                is_active: row.is_active,
                                generation: row.secret_generation,
                                grace_running: grace.is_some(),
                                used_by_credentials: row.used_by_credentials,
                            });
                            let is_checked = move || {
                                all_matching.get()
                                    || selected
                                        .with(|s| key.with_value(|k| s.contains(&k.client_id)))
                            };
                            let toggle = move |ev: leptos::ev::Event| {
                                let on = event_target_checked(&ev);
                                let id = key.with_value(|k| k.client_id.clone());
                                if all_matching.get_untracked() {
                                    all_matching.set(false);
                                    selected
                                        .set(
                                            page_ids
                                                .with_value(|ids| {
                                                    ids.iter().filter(|i| **i != id).cloned().collect()
                                                }),
                                        );
                                } else if on {
                                    selected
                                        .update(|s| {
                                            s.insert(id);
                                        });
                                } else {
                                    selected
                                        .update(|s| {
                                            s.remove(&id);
                                        });
                                }
                            };
                            let user_key = row.user_key;
                            view! {
                                <tr
                                    aria-label=format!("API Key of {user_key}")
                                    aria-selected=move || is_checked().to_string()
                                >
                                    <td class="col-check">
                                        <input
                                            type="checkbox"
                                            aria-label=format!("Select {user_key}")
                                            prop:checked=is_checked
                                            on:change=toggle
                                        />
                                    </td>
                                    <td>
                                        <span class="mono">{user_key.clone()}</span>
                                        <span class="cell-sub">
                                            {row.display_name}
                                            {(!row.user_active).then_some(" (deactivated)")}
                                        </span>
                                    </td>
                                    <td>
                                        <span class="mono">{row.client_id}</span>
                                    </td>
                                    <td>
                                        <span class="mono" aria-label="Client Secret hidden">
                                            "*****"
                                        </span>
                                    </td>
                                    <td class="col-description">
                                        {row.description}
                                        {row
                                            .used_by_credentials
                                            .then(|| {
                                                view! {
                                                    <span class="cell-sub">
                                                        "Used by: "
                                                        <A href="/xray-credentials">"Xray Credentials (backups)"</A>
                                                    </span>
                                                }
                                            })}
                                    </td>
                                    <td>
                                        <span class=if warning {
                                            "lozenge lozenge--warning"
                                        } else if row.is_active {
                                            "lozenge lozenge--success"
                                        } else {
                                            "lozenge"
                                        }>{status}</span>
                                        {grace.map(|g| view! { <span class="cell-sub">{g}</span> })}
                                    </td>
                                    <td class="col-dates">{created}</td>
                                    <td class="col-dates">
                                        {last_used}
                                        {failure
                                            .map(|f| {
                                                view! {
                                                    <span class="cell-sub cell-sub--attention">{f}</span>
                                                }
                                            })}
                                    </td>
                                    <td class="col-dates">{expires}</td>
                                    <td class="actions">
                                        // Icons as in Xray's table, drawn by the stylesheet (one
                                        // rule, not an SVG in every row); the text stays the
                                        // accessible name, the title its tooltip.
                                        <button
                                            type="button"
                                            class="button button--small button--subtle button--icon"
                                            title="Regenerate Client Secret"
                                            on:click=move |_| {
                                                dialog.set(key.with_value(RowKey::regenerate));
                                            }
                                        >
                                            <span
                                                class="icon icon--regenerate"
                                                aria-hidden="true"
                                            ></span>
                                            <span class="visually-hidden">
                                                "Regenerate Client Secret"
                                            </span>
                                        </button>
                                        <button
                                            type="button"
                                            class="button button--small button--subtle button--icon"
                                            title="Delete"
                                            on:click=move |_| dialog.set(key.with_value(RowKey::delete))
                                        >
                                            <span class="icon icon--delete" aria-hidden="true"></span>
                                            <span class="visually-hidden">"Delete"</span>
                                        </button>
                                        {row_actions(key, open_menu, dialog, on_reactivate)}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// What a row's checkbox, buttons and menu act on, kept once per row (a `StoredValue`): their
/// handlers build a dialog from it only when clicked.
struct RowKey {
    user_key: String,
    client_id: String,
    description: String,
    expires_at: Option<DateTime<Utc>>,
    is_active: bool,
    /// The secret the row shows (a regeneration names it).
    generation: i32,
    grace_running: bool,
    used_by_credentials: bool,
}

impl RowKey {
    fn regenerate(&self) -> Dialog {
        Dialog::Regenerate {
            user_key: self.user_key.clone(),
            client_id: self.client_id.clone(),
            generation: self.generation,
            grace_running: self.grace_running,
            used_by_credentials: self.used_by_credentials,
        }
    }

    fn delete(&self) -> Dialog {
        Dialog::Delete {
            user_key: self.user_key.clone(),
            client_id: self.client_id.clone(),
        }
    }

    fn edit(&self) -> Dialog {
        Dialog::Edit {
            user_key: self.user_key.clone(),
            client_id: self.client_id.clone(),
            description: self.description.clone(),
            expires_at: self.expires_at,
        }
    }

    fn deactivate(&self) -> Dialog {
        Dialog::Deactivate {
            user_key: self.user_key.clone(),
            client_id: self.client_id.clone(),
        }
    }

    fn revoke_old_secret(&self) -> Dialog {
        Dialog::RevokeOldSecret {
            user_key: self.user_key.clone(),
            client_id: self.client_id.clone(),
        }
    }
}

/// The row's three-dot menu: Edit details, Deactivate or Reactivate, and Revoke old secret now
/// while a grace period runs. A plain function, not a component: it is built once per row.
fn row_actions(
    key: StoredValue<RowKey>,
    open_menu: RwSignal<Option<String>>,
    dialog: RwSignal<Dialog>,
    on_reactivate: Callback<(String, String)>,
) -> impl IntoView {
    let is_open =
        move || open_menu.with(|o| key.with_value(|k| o.as_deref() == Some(k.client_id.as_str())));
    let toggle = move |_| {
        let id = key.with_value(|k| k.client_id.clone());
        open_menu.update(|o| {
            *o = if o.as_deref() == Some(id.as_str()) {
                None
            } else {
                Some(id)
            };
        });
    };
    let choose = move |next: Dialog| {
        open_menu.set(None);
        dialog.set(next);
    };
    let user_key = key.with_value(|k| k.user_key.clone());
    view! {
        <span class="menu-anchor">
            <button
                type="button"
                class="button button--small button--subtle"
                aria-haspopup="menu"
                aria-expanded=move || is_open().to_string()
                aria-label=format!("More actions for {user_key}")
                title="More actions"
                on:click=toggle
            >
                "•••"
            </button>
            <Show when=is_open>
                <ul
                    class="menu menu--right"
                    role="menu"
                    aria-label=key.with_value(|k| format!("Actions for {}", k.user_key))
                >
                    <li role="none">
                        <button
                            type="button"
                            role="menuitem"
                            on:click=move |_| choose(key.with_value(RowKey::edit))
                        >
                            "Edit details"
                        </button>
                    </li>
                    <li role="none">
                        {if key.with_value(|k| k.is_active) {
                            view! {
                                <button
                                    type="button"
                                    role="menuitem"
                                    on:click=move |_| choose(key.with_value(RowKey::deactivate))
                                >
                                    "Deactivate"
                                </button>
                            }
                                .into_any()
                        } else {
                            view! {
                                <button
                                    type="button"
                                    role="menuitem"
                                    on:click=move |_| {
                                        open_menu.set(None);
                                        on_reactivate
                                            .run(
                                                key
                                                    .with_value(|k| (k.user_key.clone(), k.client_id.clone())),
                                            );
                                    }
                                >
                                    "Reactivate"
                                </button>
                            }
                                .into_any()
                        }}
                    </li>
                    {key
                        .with_value(|k| k.grace_running)
                        .then(|| {
                            view! {
                                <li role="none">
                                    <button
                                        type="button"
                                        role="menuitem"
                                        on:click=move |_| choose(
                                            key.with_value(RowKey::revoke_old_secret),
                                        )
                                    >
                                        "Revoke old secret now"
                                    </button>
                                </li>
                            }
                        })}
                </ul>
            </Show>
        </span>
    }
}
