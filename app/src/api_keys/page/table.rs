//! The keys table: one row per key, with its selection box and row actions.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::api_keys::ApiKeyRow;

use super::Dialog;

#[component]
pub(super) fn KeysTable(
    rows: Vec<ApiKeyRow>,
    selected: RwSignal<BTreeSet<String>>,
    all_matching: RwSignal<bool>,
    dialog: RwSignal<Dialog>,
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
                        <th scope="col" class="col-dates">
                            "Created / Last used"
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
                            let created = row.created_at.format("%Y-%m-%d").to_string();
                            let last_used = row
                                .last_used_at
                                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                                .unwrap_or_else(|| "Never used".into());
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
                                    <td class="col-dates">
                                        <span>{created}</span>
                                        <span class="cell-sub">{last_used}</span>
                                    </td>
                                    <td class="actions">
                                        <button
                                            type="button"
                                            class="button button--small button--subtle"
                                            on:click=move |_| {
                                                dialog
                                                    .set(Dialog::Regenerate {
                                                        user_key: uk1.clone(),
                                                        client_id: cid1.clone(),
                                                    });
                                            }
                                        >
                                            "Regenerate Client Secret"
                                        </button>
                                        <button
                                            type="button"
                                            class="button button--small button--subtle"
                                            on:click=move |_| {
                                                dialog
                                                    .set(Dialog::Delete {
                                                        user_key: uk2.clone(),
                                                        client_id: cid2.clone(),
                                                    });
                                            }
                                        >
                                            "Delete"
                                        </button>
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
