//! The administrators' API Keys page, as Xray's "Global Settings: API Keys": the console (this
//! file), the keys table (`table`) and the create and issued-secrets dialogs (`dialogs`). Its
//! server functions are in `api`.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use crate::api_keys::api::*;
use crate::api_keys::{plural_keys, ApiKeyPage, IssuedKey, Selection, PER_PAGE_CHOICES};
use crate::ui::dialog::{Confirm, Modal};
use crate::ui::guard::RequireRole;
use crate::ui::notice::{ErrorNotice, Flash, FlashRegion};
use crate::ui::page::{PageHeader, Pagination};
use crate::ui::url::{list_href, query_page, query_search, query_size};
use crate::users::Role;

mod dialogs;
mod table;

use dialogs::{CreateDialog, IssuedDialog};
use table::KeysTable;

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
pub(super) enum Dialog {
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
