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
    let page_ids: Vec<String> = rows.iter().map(|r| r.client_id.clone()).collect();
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
                            let id = row.client_id.clone();
                            let id_for_check = id.clone();
                            let page_ids = page_ids.clone();
                            let id = StoredValue::new(id);
                            let is_checked = move || {
                                all_matching.get()
                                    || selected.with(|s| id.with_value(|id| s.contains(id)))
                            };
                            let toggle = move |ev: leptos::ev::Event| {
                                let on = event_target_checked(&ev);
                                if all_matching.get_untracked() {
                                    all_matching.set(false);
                                    selected
                                        .set(
                                            page_ids
                                                .iter()
                                                .filter(|i| **i != id_for_check)
                                                .cloned()
                                                .collect(),
                                        );
                                } else if on {
                                    selected
                                        .update(|s| {
                                            s.insert(id_for_check.clone());
                                        });
                                } else {
                                    selected
                                        .update(|s| {
                                            s.remove(&id_for_check);
                                        });
                                }
                            };
                            let user_key = row.user_key.clone();
                            let (uk1, uk2, cid1, cid2) = (
                                user_key.clone(),
                                user_key.clone(),
                                row.client_id.clone(),
                                row.client_id.clone(),
                            );
                            let created = format::date(row.created_at);
                            let last_used = format::last_used(&row, now);
                            let failure = format::failure_line(&row, now);
                            let (status, warning) = format::status(&row, now, window);
                            let grace = format::grace_line(&row, now);
                            let grace_running = grace.is_some();
                            let expires = format::expires(&row);
                            let regenerate = Dialog::Regenerate {
                                user_key: uk1.clone(),
                                client_id: cid1.clone(),
                                generation: row.secret_generation,
                                grace_running,
                                used_by_credentials: row.used_by_credentials,
                            };
                            let menu = RowMenu {
                                user_key: user_key.clone(),
                                client_id: row.client_id.clone(),
                                description: row.description.clone(),
                                expires_at: row.expires_at,
                                is_active: row.is_active,
                                grace_running,
                            };
                            // Leaving "All": keep this page's keys, less the one unticked.
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
                                        <span class="mono">{row.user_key.clone()}</span>
                                        <span class="cell-sub">
                                            {row.display_name.clone()}
                                            {(!row.user_active).then_some(" (deactivated)")}
                                        </span>
                                    </td>
                                    <td>
                                        <span class="mono">{row.client_id.clone()}</span>
                                    </td>
                                    <td>
                                        <span class="mono" aria-label="Client Secret hidden">
                                            "*****"
                                        </span>
                                    </td>
                                    <td class="col-description">
                                        <span>{row.description.clone()}</span>
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
                                    <td class="col-dates">
                                        <span>{created}</span>
                                    </td>
                                    <td class="col-dates">
                                        <span>{last_used}</span>
                                        {failure
                                            .map(|f| {
                                                view! {
                                                    <span class="cell-sub cell-sub--attention">{f}</span>
                                                }
                                            })}
                                    </td>
                                    <td class="col-dates">
                                        <span>{expires}</span>
                                    </td>
                                    <td class="actions">
                                        // Icons as in Xray's table; the text stays the
                                        // accessible name, the title its tooltip.
                                        <button
                                            type="button"
                                            class="button button--small button--subtle button--icon"
                                            title="Regenerate Client Secret"
                                            on:click=move |_| dialog.set(regenerate.clone())
                                        >
                                            <svg
                                                viewBox="0 0 16 16"
                                                width="16"
                                                height="16"
                                                aria-hidden="true"
                                            >
                                                <path
                                                    d="M13.5 8a5.5 5.5 0 1 1-1.6-3.9M13.5 2v3h-3"
                                                    fill="none"
                                                    stroke="currentColor"
                                                    stroke-width="1.5"
                                                    stroke-linecap="round"
                                                    stroke-linejoin="round"
                                                />
                                            </svg>
                                            <span class="visually-hidden">
                                                "Regenerate Client Secret"
                                            </span>
                                        </button>
                                        <button
                                            type="button"
                                            class="button button--small button--subtle button--icon"
                                            title="Delete"
                                            on:click=move |_| {
                                                dialog
                                                    .set(Dialog::Delete {
                                                        user_key: uk2.clone(),
                                                        client_id: cid2.clone(),
                                                    });
                                            }
                                        >
                                            <svg
                                                viewBox="0 0 16 16"
                                                width="16"
                                                height="16"
                                                aria-hidden="true"
                                            >
                                                <path
                                                    d="M2.5 4.5h11M6.5 4.5V2.5h3v2M4 4.5l.8 9h6.4l.8-9M6.8 7v4M9.2 7v4"
                                                    fill="none"
                                                    stroke="currentColor"
                                                    stroke-width="1.5"
                                                    stroke-linecap="round"
                                                    stroke-linejoin="round"
                                                />
                                            </svg>
                                            <span class="visually-hidden">"Delete"</span>
                                        </button>
                                        <RowActions
                                            menu=menu
                                            open_menu=open_menu
                                            dialog=dialog
                                            on_reactivate=on_reactivate
                                        />
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

/// What the "More actions" menu of a row needs.
#[derive(Clone)]
struct RowMenu {
    user_key: String,
    client_id: String,
    description: String,
    expires_at: Option<DateTime<Utc>>,
    is_active: bool,
    grace_running: bool,
}

/// The row's three-dot menu: Edit details, Deactivate or Reactivate, and Revoke old secret now
/// while a grace period runs.
#[component]
fn RowActions(
    menu: RowMenu,
    open_menu: RwSignal<Option<String>>,
    dialog: RwSignal<Dialog>,
    on_reactivate: Callback<(String, String)>,
) -> impl IntoView {
    let id = menu.client_id.clone();
    let id_for_open = id.clone();
    let is_open = move || open_menu.with(|o| o.as_deref() == Some(id_for_open.as_str()));
    let is_open_for_view = is_open.clone();
    let toggle = move |_| {
        open_menu.update(|o| {
            *o = if o.as_deref() == Some(id.as_str()) {
                None
            } else {
                Some(id.clone())
            };
        });
    };
    let menu = StoredValue::new(menu);
    let choose = move |next: Dialog| {
        open_menu.set(None);
        dialog.set(next);
    };
    view! {
        <span class="menu-anchor">
            <button
                type="button"
                class="button button--small button--subtle"
                aria-haspopup="menu"
                aria-expanded=move || is_open().to_string()
                aria-label=menu.with_value(|m| format!("More actions for {}", m.user_key))
                title="More actions"
                on:click=toggle
            >
                "•••"
            </button>
            <Show when=is_open_for_view.clone()>
                <ul
                    class="menu menu--right"
                    role="menu"
                    aria-label=menu.with_value(|m| format!("Actions for {}", m.user_key))
                >
                    <li role="none">
                        <button
                            type="button"
                            role="menuitem"
                            on:click=move |_| {
                                let m = menu.get_value();
                                choose(Dialog::Edit {
                                    user_key: m.user_key,
                                    client_id: m.client_id,
                                    description: m.description,
                                    expires_at: m.expires_at,
                                });
                            }
                        >
                            "Edit details"
                        </button>
                    </li>
                    <li role="none">
                        {if menu.with_value(|m| m.is_active) {
                            view! {
                                <button
                                    type="button"
                                    role="menuitem"
                                    on:click=move |_| {
                                        let m = menu.get_value();
                                        choose(Dialog::Deactivate {
                                            user_key: m.user_key,
                                            client_id: m.client_id,
                                        });
                                    }
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
                                        let m = menu.get_value();
                                        open_menu.set(None);
                                        on_reactivate.run((m.user_key, m.client_id));
                                    }
                                >
                                    "Reactivate"
                                </button>
                            }
                                .into_any()
                        }}
                    </li>
                    {menu
                        .with_value(|m| m.grace_running)
                        .then(|| {
                            view! {
                                <li role="none">
                                    <button
                                        type="button"
                                        role="menuitem"
                                        on:click=move |_| {
                                            let m = menu.get_value();
                                            choose(Dialog::RevokeOldSecret {
                                                user_key: m.user_key,
                                                client_id: m.client_id,
                                            });
                                        }
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
