//! The administrators' API Keys page, as Xray's "Global Settings: API Keys". Its server
//! functions are in `api`.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use super::api::*;
use super::{
    plural_keys, ApiKeyPage, ApiKeyRow, IssuedKey, KeyCandidate, Selection, PER_PAGE_CHOICES,
};
use crate::ui::dialog::{Confirm, Modal};
use crate::ui::guard::RequireRole;
use crate::ui::notice::{ErrorNotice, Flash, FlashRegion};
use crate::ui::page::{PageHeader, Pagination};
use crate::ui::picker::{PickerItem, UserPicker};
use crate::ui::secret::SecretField;
use crate::ui::url::{list_href, query_page, query_search, query_size};
use crate::users::Role;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    view! {
        <Title text="API Keys" />
        <RequireRole roles=&[Role::Administrator]>
            <ApiKeysConsole />
        </RequireRole>
    }
}

/// What the dialog shows.
#[derive(Clone, PartialEq)]
enum Dialog {
    Closed,
    Create,
    Delete {
        user_key: String,
        client_id: String,
    },
    Regenerate {
        user_key: String,
        client_id: String,
    },
    BulkDelete {
        count: u64,
    },
    BulkRegenerate {
        count: u64,
    },
    /// New secrets, shown once.
    Issued {
        keys: Vec<IssuedKey>,
    },
}

#[component]
fn ApiKeysConsole() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let search = Memo::new(move |_| query.with(query_search));
    let page = Memo::new(move |_| query.with(query_page));
    let per_page = Memo::new(move |_| query.with(|q| query_size(q, &PER_PAGE_CHOICES, 10)));
    let href = move |q: &str, page: u64, size: u64| {
        list_href("/api-keys", q, page, (size != 10).then_some(size))
    };

    let create = ServerAction::<CreateApiKey>::new();
    let delete = ServerAction::<DeleteApiKeys>::new();
    let regenerate = ServerAction::<RegenerateApiKeys>::new();
    let keys = Resource::new(
        move || {
            (
                search.get(),
                page.get(),
                per_page.get(),
                create.version().get(),
                delete.version().get(),
                regenerate.version().get(),
            )
        },
        |(search, page, per_page, ..)| list_api_keys(search, page, per_page),
    );

    let dialog = RwSignal::new(Dialog::Closed);
    let flash = RwSignal::new(None::<Flash>);
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let all_matching = RwSignal::new(false);
    let select_menu_open = RwSignal::new(false);
    let bulk_menu_open = RwSignal::new(false);

    // A new search or page size starts a new selection.
    Effect::new(move |_| {
        search.track();
        per_page.track();
        selected.set(BTreeSet::new());
        all_matching.set(false);
    });

    // The page of keys as last shown. Only the <Transition> below reads the resource itself: a
    // read anywhere else would suspend the role guard's <Suspense> around this page, which takes
    // the whole page (and an open <dialog>) out of the document and back, and a re-inserted
    // <dialog> stays open but is no longer modal.
    let shown = RwSignal::new(None::<ApiKeyPage>);
    let loaded = move || shown.get();
    let total = move || loaded().map(|p| p.total).unwrap_or(0);
    let page_ids = move || {
        loaded()
            .map(|p| {
                p.keys
                    .iter()
                    .map(|k| k.client_id.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let selected_count = move || {
        if all_matching.get() {
            total()
        } else {
            selected.with(|s| s.len() as u64)
        }
    };
    let selection = move || {
        if all_matching.get_untracked() {
            Selection::AllMatching {
                search: search.get_untracked(),
                expected: total(),
            }
        } else {
            Selection::Ids(selected.get_untracked().into_iter().collect())
        }
    };

    Effect::new(move |_| match delete.value().get() {
        Some(Ok(n)) => {
            let message = match dialog.get_untracked() {
                Dialog::Delete { user_key, .. } => {
                    format!("API Key for user with key {user_key} was deleted.")
                }
                _ => format!(
                    "{} {} deleted.",
                    plural_keys(n),
                    if n == 1 { "was" } else { "were" }
                ),
            };
            selected.set(BTreeSet::new());
            all_matching.set(false);
            dialog.set(Dialog::Closed);
            flash.set(Some(Flash::Done(message)));
        }
        Some(Err(e)) => {
            dialog.set(Dialog::Closed);
            flash.set(Some(Flash::Failed(e.to_string())));
        }
        None => {}
    });
    Effect::new(move |_| match regenerate.value().get() {
        Some(Ok(issued)) => {
            let n = issued.len() as u64;
            let message = if n == 1 {
                format!(
                    "The Client Secret of the API Key for user with key {} was regenerated.",
                    issued[0].user_key
                )
            } else {
                format!("The Client Secrets of {} were regenerated.", plural_keys(n))
            };
            selected.set(BTreeSet::new());
            all_matching.set(false);
            flash.set(Some(Flash::Done(message)));
            dialog.set(Dialog::Issued { keys: issued });
            // The secrets now live only in the dialog; forget the action's copy.
            regenerate.value().set(None);
        }
        Some(Err(e)) => {
            dialog.set(Dialog::Closed);
            flash.set(Some(Flash::Failed(e.to_string())));
        }
        None => {}
    });

    let navigate_search = navigate.clone();
    let debounce = StoredValue::new(0u64);
    let on_search_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let ticket = debounce.get_value() + 1;
        debounce.set_value(ticket);
        let navigate = navigate_search.clone();
        set_timeout(
            move || {
                if debounce.get_value() == ticket {
                    navigate(
                        &href(value.trim(), 1, per_page.get_untracked()),
                        NavigateOptions {
                            replace: true,
                            ..Default::default()
                        },
                    );
                }
            },
            std::time::Duration::from_millis(250),
        );
    };
    let navigate_size = navigate.clone();
    let on_size = move |ev: leptos::ev::Event| {
        let size = event_target_value(&ev).parse().unwrap_or(10);
        navigate_size(&href(&search.get_untracked(), 1, size), Default::default());
    };

    let close_dialog = Callback::new(move |_| {
        dialog.set(Dialog::Closed);
        create.value().set(None);
    });

    view! {
        <PageHeader
            title="API Keys"
            lead="An API key lets a user's scripts and tools call the REST API on that user's behalf. Each user can have one: a Client Id and a Client Secret."
        >
            <button
                type="button"
                class="button button--primary"
                on:click=move |_| {
                    create.value().set(None);
                    dialog.set(Dialog::Create);
                }
            >
                "Create API Key"
            </button>
        </PageHeader>
        <FlashRegion flash=flash />
        <div class="toolbar">
            <div class="menu-anchor">
                <button
                    type="button"
                    class="button"
                    aria-haspopup="menu"
                    aria-expanded=move || select_menu_open.get().to_string()
                    on:click=move |_| {
                        bulk_menu_open.set(false);
                        select_menu_open.update(|o| *o = !*o);
                    }
                >
                    "Select"
                </button>
                <Show when=move || select_menu_open.get()>
                    <ul class="menu" role="menu" aria-label="Select">
                        <li role="none">
                            <button
                                type="button"
                                role="menuitem"
                                on:click=move |_| {
                                    all_matching.set(true);
                                    selected.set(BTreeSet::new());
                                    select_menu_open.set(false);
                                }
                            >
                                "All"
                            </button>
                        </li>
                        <li role="none">
                            <button
                                type="button"
                                role="menuitem"
                                on:click=move |_| {
                                    all_matching.set(false);
                                    selected.set(page_ids().into_iter().collect());
                                    select_menu_open.set(false);
                                }
                            >
                                "Current Page"
                            </button>
                        </li>
                        <li role="none">
                            <button
                                type="button"
                                role="menuitem"
                                on:click=move |_| {
                                    all_matching.set(false);
                                    selected.set(BTreeSet::new());
                                    select_menu_open.set(false);
                                }
                            >
                                "None"
                            </button>
                        </li>
                    </ul>
                </Show>
            </div>
            <Show when=move || { selected_count() > 0 }>
                <div class="menu-anchor">
                    <button
                        type="button"
                        class="button button--selected"
                        aria-haspopup="menu"
                        aria-expanded=move || bulk_menu_open.get().to_string()
                        on:click=move |_| {
                            select_menu_open.set(false);
                            bulk_menu_open.update(|o| *o = !*o);
                        }
                    >
                        {move || format!("({}) Selected", selected_count())}
                    </button>
                    <Show when=move || bulk_menu_open.get()>
                        <ul class="menu" role="menu" aria-label="Bulk actions">
                            <li role="none">
                                <button
                                    type="button"
                                    role="menuitem"
                                    on:click=move |_| {
                                        bulk_menu_open.set(false);
                                        dialog
                                            .set(Dialog::BulkDelete {
                                                count: selected_count(),
                                            });
                                    }
                                >
                                    "Delete"
                                </button>
                            </li>
                            <li role="none">
                                <button
                                    type="button"
                                    role="menuitem"
                                    on:click=move |_| {
                                        bulk_menu_open.set(false);
                                        dialog
                                            .set(Dialog::BulkRegenerate {
                                                count: selected_count(),
                                            });
                                    }
                                >
                                    "Regenerate Client Secret"
                                </button>
                            </li>
                        </ul>
                    </Show>
                </div>
            </Show>
            <span class="toolbar__spacer"></span>
            <label class="visually-hidden" for="page-size">
                "Page size"
            </label>
            <select
                id="page-size"
                class="input input--narrow"
                on:change=on_size
                prop:value=move || per_page.get().to_string()
            >
                {PER_PAGE_CHOICES
                    .iter()
                    .map(|n| view! { <option value=n.to_string()>{n.to_string()}</option> })
                    .collect_view()}
            </select>
            <label class="visually-hidden" for="key-search">
                "Search"
            </label>
            <input
                id="key-search"
                class="input toolbar__search"
                type="search"
                placeholder="Search"
                maxlength="255"
                prop:value=move || search.get()
                on:input=on_search_input
            />
        </div>
        <Transition fallback=|| {
            view! { <p class="loading">"Loading API Keys…"</p> }
        }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(data) => {
                        shown.set(Some(data.clone()));
                        let current = data.page;
                        let pages_total = data.total;
                        let size = data.per_page;
                        view! {
                            <KeysTable
                                rows=data.keys
                                selected=selected
                                all_matching=all_matching
                                dialog=dialog
                            />
                            <Pagination
                                total=pages_total
                                per_page=size
                                page=current
                                href=Callback::new(move |p: u64| href(
                                    &search.get_untracked(),
                                    p,
                                    size,
                                ))
                            />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Transition>
        <Modal
            open=Signal::derive(move || dialog.with(|d| *d != Dialog::Closed))
            on_close=close_dialog
            labelled_by="dialog-title"
        >
            {move || match dialog.get() {
                Dialog::Closed => ().into_any(),
                Dialog::Create => {
                    view! { <CreateDialog create=create on_close=close_dialog /> }.into_any()
                }
                Dialog::Delete { user_key, client_id } => {
                    view! {
                        <Confirm
                            title=format!("Delete API Key for user with key {user_key}")
                            text=format!(
                                "Are you sure you want to delete the API key for the user with key {user_key}?",
                            )
                            confirm_label="Delete"
                            danger=true
                            pending=delete.pending()
                            on_confirm=Callback::new(move |_| {
                                delete
                                    .dispatch(DeleteApiKeys {
                                        selection: Selection::Ids(vec![client_id.clone()]),
                                    });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::Regenerate { user_key, client_id } => {
                    view! {
                        <Confirm
                            title="Regenerate Client Secret".to_string()
                            text=format!(
                                "Are you sure you want to regenerate the Client Secret of the API key for the user with key {user_key}? The current secret stops working at once.",
                            )
                            confirm_label="Confirm"
                            danger=false
                            pending=regenerate.pending()
                            on_confirm=Callback::new(move |_| {
                                regenerate
                                    .dispatch(RegenerateApiKeys {
                                        selection: Selection::Ids(vec![client_id.clone()]),
                                    });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::BulkDelete { count } => {
                    view! {
                        <Confirm
                            title=format!("Delete {}", plural_keys(count))
                            text=format!("Are you sure you want to delete {}?", plural_keys(count))
                            confirm_label="Delete"
                            danger=true
                            pending=delete.pending()
                            on_confirm=Callback::new(move |_| {
                                delete
                                    .dispatch(DeleteApiKeys {
                                        selection: selection(),
                                    });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::BulkRegenerate { count } => {
                    view! {
                        <Confirm
                            title=format!("Regenerate the Client Secret of {}", plural_keys(count))
                            text=format!(
                                "Are you sure you want to regenerate the Client Secret of {}? Their current secrets stop working at once.",
                                plural_keys(count),
                            )
                            confirm_label="Confirm"
                            danger=false
                            pending=regenerate.pending()
                            on_confirm=Callback::new(move |_| {
                                regenerate
                                    .dispatch(RegenerateApiKeys {
                                        selection: selection(),
                                    });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::Issued { keys } => {
                    view! { <IssuedDialog keys=keys on_close=close_dialog /> }.into_any()
                }
            }}
        </Modal>
    }
}

#[component]
fn KeysTable(
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
                                                    })
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
                                                    })
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

#[component]
fn CreateDialog(create: ServerAction<CreateApiKey>, on_close: Callback<()>) -> impl IntoView {
    let picked = RwSignal::new(None::<KeyCandidate>);
    let picker_text = RwSignal::new(String::new());
    let issued = move || create.value().get().and_then(Result::ok);
    let error = move || create.value().get().and_then(Result::err);
    let generate = move |_| {
        if let Some(user) = picked.get_untracked() {
            create.dispatch(CreateApiKey {
                user_key: user.user_key,
            });
        }
    };
    // After a key is made, the picker is ready for the next user.
    Effect::new(move |_| {
        if issued().is_some() {
            picked.set(None);
            picker_text.set(String::new());
        }
    });
    view! {
        <div class="dialog__header">
            <h2 id="dialog-title">"Create API Key"</h2>
        </div>
        <div class="dialog__body form">
            {move || {
                issued()
                    .map(|key| {
                        view! {
                            <div class="notice notice--success" role="status">
                                <p class="notice__title">"API Key was successfully generated."</p>
                                <p>
                                    {format!(
                                        "API Key for user with key {} was generated successfully. You can now search a new user and generate an API Key for him/her.",
                                        key.user_key,
                                    )}
                                </p>
                            </div>
                            <SecretField
                                label="Client Id"
                                value=key.client_id.clone()
                                masked=false
                            />
                            <SecretField
                                label="Client Secret"
                                value=key.client_secret.clone()
                                masked=true
                            />
                            <p class="field__hint">
                                "Copy the Client Secret now: it is shown only once."
                            </p>
                        }
                    })
            }}
            {move || {
                error()
                    .map(|e| {
                        view! {
                            <div class="notice notice--error" role="alert">
                                <p>{e.to_string()}</p>
                            </div>
                        }
                    })
            }}
            <UserPicker
                picked=picked
                text=picker_text
                find=|search| async move { key_candidates(search).await.unwrap_or_default() }
            />
        </div>
        <div class="dialog__footer">
            <button
                type="button"
                class="button button--primary"
                disabled=move || picked.with(Option::is_none) || create.pending().get()
                on:click=generate
            >
                {move || if create.pending().get() { "Generating…" } else { "Generate" }}
            </button>
            <button type="button" class="button button--subtle" on:click=move |_| on_close.run(())>
                "Close"
            </button>
        </div>
    }
}

#[component]
fn IssuedDialog(keys: Vec<IssuedKey>, on_close: Callback<()>) -> impl IntoView {
    let csv = {
        let mut out = String::from("user_key,client_id,client_secret\n");
        for k in &keys {
            out.push_str(&format!(
                "{},{},{}\n",
                csv_field(&k.user_key),
                k.client_id,
                k.client_secret
            ));
        }
        out
    };
    let csv = StoredValue::new(csv);
    let copied = RwSignal::new(false);
    let single = keys.len() == 1;
    let title = if single {
        "New Client Secret".to_string()
    } else {
        format!("New Client Secrets of {}", plural_keys(keys.len() as u64))
    };
    view! {
        <div class="dialog__header">
            <h2 id="dialog-title">{title}</h2>
        </div>
        <div class="dialog__body form">
            <p>
                "Copy the new Client Secret now: it is shown only once. The old one no longer works."
            </p>
            {keys
                .into_iter()
                .map(|k| {
                    view! {
                        <div class="issued-key">
                            <p class="issued-key__user">{format!("User {}", k.user_key)}</p>
                            <SecretField label="Client Id" value=k.client_id masked=false />
                            <SecretField label="Client Secret" value=k.client_secret masked=true />
                        </div>
                    }
                })
                .collect_view()}
        </div>
        <div class="dialog__footer">
            {(!single)
                .then(|| {
                    view! {
                        <button
                            type="button"
                            class="button"
                            on:click=move |_| {
                                let text = csv.get_value();
                                leptos::task::spawn_local(async move {
                                    copied.set(crate::browser::copy_to_clipboard(text).await);
                                });
                            }
                        >
                            {move || if copied.get() { "Copied all" } else { "Copy all" }}
                        </button>
                        <button
                            type="button"
                            class="button"
                            on:click=move |_| {
                                crate::browser::download_text(
                                    "api-keys.csv",
                                    "text/csv",
                                    &csv.get_value(),
                                );
                            }
                        >
                            "Download CSV"
                        </button>
                    }
                })}
            <button
                type="button"
                class="button button--primary"
                autofocus
                on:click=move |_| on_close.run(())
            >
                "Done"
            </button>
        </div>
    }
}

/// Quotes a CSV field when it needs it. A field a spreadsheet would read as a formula (starting
/// with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`, so opening the file runs nothing.
impl PickerItem for KeyCandidate {
    fn user_key(&self) -> &str {
        &self.user_key
    }
    fn display_name(&self) -> &str {
        &self.display_name
    }
    fn badge(&self) -> Option<&'static str> {
        self.has_key.then_some("Has a key")
    }
}

fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_that_a_spreadsheet_would_evaluate_are_defused() {
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_field("alice"), "alice");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
