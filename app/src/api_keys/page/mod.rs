//! The administrators' API Keys page, as Xray's "Global Settings: API Keys": the console (this
//! file), the keys table (`table`) and the create and issued-secrets dialogs (`dialogs`). Its
//! server functions are in `api`.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use crate::api_keys::api::*;
use crate::api_keys::{
    plural_keys, ApiKeyPage, BulkChange, ExpiryChoice, IssuedKey, KeyFilter, PageStart, Selection,
    PER_PAGE_CHOICES,
};
use crate::ui::dialog::{Confirm, Modal};
use crate::ui::guard::RequireRole;
use crate::ui::notice::{ErrorNotice, Flash, FlashRegion};
use crate::ui::page::{PageHeader, Pagination};
use crate::ui::url::{list_href, query_page, query_search, query_size, with_query};
use crate::users::Role;

mod dialogs;
mod format;
mod table;

use dialogs::{
    BulkExpiryDialog, CreateDialog, EditDialog, ExpiryRules, IssuedDialog, RegenerateDialog,
};
use table::KeysTable;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    // Created here, outside the role guard's <Suspense>: on the server the guard runs its
    // children up to three times (Leptos walks them for resources before rendering), and a
    // resource created there would read the list, and ship it to the browser, each time.
    let list = ListState::new();
    view! {
        <Title text="API Keys" />
        <RequireRole roles=&[Role::Administrator]>
            <ApiKeysConsole list=list />
        </RequireRole>
    }
}

/// The list's query (from the address), the actions that change keys, and the page of keys
/// they select.
#[derive(Clone, Copy)]
struct ListState {
    search: Memo<String>,
    per_page: Memo<u64>,
    filter: Memo<KeyFilter>,
    create: ServerAction<CreateApiKey>,
    delete: ServerAction<DeleteApiKeys>,
    regenerate: ServerAction<RegenerateApiKeys>,
    regenerate_one: ServerAction<RegenerateApiKey>,
    edit: ServerAction<EditApiKey>,
    set_active: ServerAction<SetApiKeyActive>,
    revoke: ServerAction<RevokeOldSecret>,
    change: ServerAction<ChangeApiKeys>,
    keys: Resource<Result<ApiKeyPage, crate::error::AppError>>,
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
        /// The secret the dialog was opened on.
        generation: i32,
        grace_running: bool,
        used_by_credentials: bool,
    },
    Edit {
        user_key: String,
        client_id: String,
        description: String,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    Deactivate {
        user_key: String,
        client_id: String,
    },
    RevokeOldSecret {
        user_key: String,
        client_id: String,
    },
    BulkDelete {
        count: u64,
    },
    BulkRegenerate {
        count: u64,
    },
    BulkDeactivate {
        count: u64,
    },
    BulkReactivate {
        count: u64,
    },
    BulkExpiry {
        count: u64,
    },
    /// New secrets, shown once.
    Issued {
        keys: Vec<IssuedKey>,
        grace_given: bool,
    },
}

impl ListState {
    fn new() -> Self {
        let query = use_query_map();
        let search = Memo::new(move |_| query.with(query_search));
        let page = Memo::new(move |_| query.with(query_page));
        let per_page = Memo::new(move |_| query.with(|q| query_size(q, &PER_PAGE_CHOICES, 10)));
        let filter = Memo::new(move |_| {
            query.with(|q| {
                q.get("show")
                    .and_then(|s| KeyFilter::parse(&s))
                    .unwrap_or_default()
            })
        });
        // Next and Prev links carry the key they start from (keyset paging).
        let start = Memo::new(move |_| {
            query.with(|q| {
                (
                    q.get("after").unwrap_or_default(),
                    q.get("before").unwrap_or_default(),
                )
            })
        });

        let create = ServerAction::<CreateApiKey>::new();
        let delete = ServerAction::<DeleteApiKeys>::new();
        let regenerate = ServerAction::<RegenerateApiKeys>::new();
        let regenerate_one = ServerAction::<RegenerateApiKey>::new();
        let edit = ServerAction::<EditApiKey>::new();
        let set_active = ServerAction::<SetApiKeyActive>::new();
        let revoke = ServerAction::<RevokeOldSecret>::new();
        let change = ServerAction::<ChangeApiKeys>::new();
        let keys = Resource::new(
            move || {
                (
                    search.get(),
                    page.get(),
                    per_page.get(),
                    filter.get(),
                    start.get(),
                    (
                        create.version().get(),
                        delete.version().get(),
                        regenerate.version().get(),
                        regenerate_one.version().get(),
                        edit.version().get(),
                        set_active.version().get(),
                        revoke.version().get(),
                        change.version().get(),
                    ),
                )
            },
            |(search, page, per_page, filter, (after, before), _)| {
                list_api_keys(
                    search,
                    page,
                    per_page,
                    filter.name().to_string(),
                    after,
                    before,
                )
            },
        );
        ListState {
            search,
            per_page,
            filter,
            create,
            delete,
            regenerate,
            regenerate_one,
            edit,
            set_active,
            revoke,
            change,
            keys,
        }
    }
}

#[component]
fn ApiKeysConsole(list: ListState) -> impl IntoView {
    let ListState {
        search,
        per_page,
        filter,
        create,
        delete,
        regenerate,
        regenerate_one,
        edit,
        set_active,
        revoke,
        change,
        keys,
    } = list;
    let navigate = use_navigate();
    let href_for = move |q: &str, page: u64, size: u64, show: KeyFilter| {
        let base = list_href("/api-keys", q, page, (size != 10).then_some(size));
        if show == KeyFilter::All {
            base
        } else {
            with_query(&base, "show", show.name())
        }
    };
    let href = move |q: &str, page: u64, size: u64| href_for(q, page, size, filter.get_untracked());

    let dialog = RwSignal::new(Dialog::Closed);
    let flash = RwSignal::new(None::<Flash>);
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let all_matching = RwSignal::new(false);
    let select_menu_open = RwSignal::new(false);
    let bulk_menu_open = RwSignal::new(false);
    let select_button = NodeRef::<leptos::html::Button>::new();
    let bulk_button = NodeRef::<leptos::html::Button>::new();
    let open_menu = RwSignal::new(None::<String>);
    // Which key's reactivation is under way, for its message.
    let reactivating = RwSignal::new(String::new());

    // A new search, filter or page size starts a new selection.
    Effect::new(move |_| {
        search.track();
        per_page.track();
        filter.track();
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
    // Read without tracking: the dialogs built from it must not be rebuilt (losing what was
    // typed) each time the list reloads behind them.
    let rules = move || {
        shown.get_untracked().map_or(
            ExpiryRules {
                default: ExpiryChoice::Never,
                max_days: None,
                now: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            },
            |p| ExpiryRules {
                default: p.default_expiry,
                max_days: p.max_lifetime_days,
                now: p.now,
            },
        )
    };
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
                filter: filter.get_untracked(),
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
            let grace_given = matches!(dialog.get_untracked(), Dialog::BulkRegenerate { .. })
                && regenerate
                    .input()
                    .with_untracked(|i| i.as_ref().is_some_and(|i| i.grace_hours > 0));
            selected.set(BTreeSet::new());
            all_matching.set(false);
            flash.set(Some(Flash::Done(message)));
            dialog.set(Dialog::Issued {
                keys: issued,
                grace_given,
            });
            // The secrets now live only in the dialog; forget the action's copy.
            regenerate.value().set(None);
        }
        Some(Err(e)) => {
            dialog.set(Dialog::Closed);
            flash.set(Some(Flash::Failed(e.to_string())));
        }
        None => {}
    });
    Effect::new(move |_| match regenerate_one.value().get() {
        Some(Ok(done)) => {
            let grace_given = regenerate_one
                .input()
                .with_untracked(|i| i.as_ref().is_some_and(|i| i.grace_hours > 0));
            let message = match &done.credentials {
                Some(credentials) => format!("API key regenerated. {credentials}"),
                None => format!(
                    "The Client Secret of the API Key for user with key {} was regenerated.",
                    done.issued.user_key
                ),
            };
            let failed_test = done.credentials.is_some() && !done.credentials_connected;
            flash.set(Some(if failed_test {
                Flash::Warning(message)
            } else {
                Flash::Done(message)
            }));
            dialog.set(Dialog::Issued {
                keys: vec![done.issued],
                grace_given,
            });
            regenerate_one.value().set(None);
        }
        Some(Err(e)) => {
            dialog.set(Dialog::Closed);
            flash.set(Some(Flash::Failed(e.to_string())));
        }
        None => {}
    });
    // The single-key changes: a message, the dialog closed (an error in Edit details stays in
    // its dialog, next to what to fix).
    Effect::new(move |_| {
        if let Some(Ok(())) = edit.value().get() {
            if let Dialog::Edit { user_key, .. } = dialog.get_untracked() {
                flash.set(Some(Flash::Done(format!(
                    "The details of the API Key for user with key {user_key} were saved."
                ))));
            }
            dialog.set(Dialog::Closed);
        }
    });
    Effect::new(move |_| match set_active.value().get() {
        Some(Ok(())) => {
            let message = match dialog.get_untracked() {
                Dialog::Deactivate { user_key, .. } => {
                    format!("API key for user with key {user_key} deactivated.")
                }
                _ => format!(
                    "API key reactivated. The API Key for user with key {} works again; request new tokens.",
                    reactivating.get_untracked()
                ),
            };
            dialog.set(Dialog::Closed);
            flash.set(Some(Flash::Done(message)));
        }
        Some(Err(e)) => {
            dialog.set(Dialog::Closed);
            flash.set(Some(Flash::Failed(e.to_string())));
        }
        None => {}
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(())) => {
            if let Dialog::RevokeOldSecret { user_key, .. } = dialog.get_untracked() {
                flash.set(Some(Flash::Done(format!(
                    "The old secret of the API Key for user with key {user_key} stopped working."
                ))));
            }
            dialog.set(Dialog::Closed);
        }
        Some(Err(e)) => {
            dialog.set(Dialog::Closed);
            flash.set(Some(Flash::Failed(e.to_string())));
        }
        None => {}
    });
    Effect::new(move |_| match change.value().get() {
        Some(Ok(done)) => {
            let verb = match dialog.get_untracked() {
                Dialog::BulkDeactivate { .. } => "deactivated",
                Dialog::BulkReactivate { .. } => "reactivated",
                _ => "given the new expiry",
            };
            let mut message = format!(
                "{} {} {verb}.",
                plural_keys(done.changed),
                if done.changed == 1 { "was" } else { "were" }
            );
            if done.unchanged > 0 {
                message.push_str(&format!(
                    " {} already {}.",
                    plural_keys(done.unchanged),
                    if verb == "deactivated" {
                        "inactive: left as they were"
                    } else {
                        "active: left as they were"
                    }
                ));
            }
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
    let on_reactivate = Callback::new(move |(user_key, client_id): (String, String)| {
        reactivating.set(user_key);
        set_active.dispatch(SetApiKeyActive {
            client_id,
            active: true,
        });
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
    let navigate_show = navigate.clone();
    let on_show = move |ev: leptos::ev::Event| {
        let show = KeyFilter::parse(&event_target_value(&ev)).unwrap_or_default();
        navigate_show(
            &href_for(&search.get_untracked(), 1, per_page.get_untracked(), show),
            Default::default(),
        );
    };
    let banner =
        move || loaded().filter(|p| p.expiring_soon > 0 && filter.get() != KeyFilter::ExpiringSoon);

    let close_dialog = Callback::new(move |_| {
        dialog.set(Dialog::Closed);
        create.value().set(None);
        edit.value().set(None);
    });
    let bulk_item = move |label: &'static str, next: fn(u64) -> Dialog| {
        view! {
            <li role="none">
                <button
                    type="button"
                    role="menuitem"
                    on:click=move |_| {
                        bulk_menu_open.set(false);
                        dialog.set(next(selected_count()));
                    }
                >
                    {label}
                </button>
            </li>
        }
    };

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
            <a href="/api-key-policy" class="button button--subtle">
                "API Key Policy"
            </a>
        </PageHeader>
        <FlashRegion flash=flash />
        {move || {
            banner()
                .map(|p| {
                    let n = p.expiring_soon;
                    let text = format!(
                        "{} expire{} within {} days.",
                        if n == 1 { "1 API key".to_string() } else { format!("{n} API keys") },
                        if n == 1 { "s" } else { "" },
                        p.window.expiring_days,
                    );
                    let show_them = href_for(
                        "",
                        1,
                        per_page.get_untracked(),
                        KeyFilter::ExpiringSoon,
                    );
                    view! {
                        <div
                            class="notice notice--warning banner"
                            role="region"
                            aria-label="Expiring keys"
                        >
                            <p>{text} " " <a href=show_them>"Show them"</a></p>
                        </div>
                    }
                })
        }}
        <div class="toolbar">
            <div class="menu-anchor" on:keydown=close_on_escape(select_menu_open, select_button)>
                <button
                    type="button"
                    class="button"
                    node_ref=select_button
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
                <div class="menu-anchor" on:keydown=close_on_escape(bulk_menu_open, bulk_button)>
                    <button
                        type="button"
                        class="button button--selected"
                        node_ref=bulk_button
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
                            {bulk_item("Delete", |count| Dialog::BulkDelete { count })}
                            {bulk_item(
                                "Regenerate Client Secret",
                                |count| Dialog::BulkRegenerate { count },
                            )}
                            {bulk_item("Deactivate", |count| Dialog::BulkDeactivate { count })}
                            {bulk_item("Reactivate", |count| Dialog::BulkReactivate { count })}
                            {bulk_item("Set expiry…", |count| Dialog::BulkExpiry { count })}
                        </ul>
                    </Show>
                </div>
            </Show>
            <span class="toolbar__spacer"></span>
            <label class="toolbar__label" for="key-show">
                "Show"
            </label>
            <select
                id="key-show"
                class="input input--narrow"
                on:change=on_show
                prop:value=move || filter.get().name()
            >
                {KeyFilter::NAMES
                    .iter()
                    .map(|(f, name)| {
                        let f = *f;
                        view! {
                            <option value=*name selected=move || filter.get() == f>
                                {f.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
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
                        let seek_href = move |to: u64, start: Option<PageStart>| {
                            let base = href(&search.get_untracked(), to, size);
                            match start? {
                                PageStart::After(key) => Some(with_query(&base, "after", &key)),
                                PageStart::Before(key) => Some(with_query(&base, "before", &key)),
                            }
                        };
                        let prev_href = seek_href(current.saturating_sub(1), data.prev_start());
                        let next_href = seek_href(current + 1, data.next_start());
                        view! {
                            <KeysTable
                                rows=data.keys
                                selected=selected
                                all_matching=all_matching
                                dialog=dialog
                                open_menu=open_menu
                                now=data.now
                                window=data.window
                                on_reactivate=on_reactivate
                            />
                            <Pagination
                                total=pages_total
                                per_page=size
                                page=current
                                prev_href=prev_href
                                next_href=next_href
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
                    view! { <CreateDialog create=create rules=rules() on_close=close_dialog /> }
                        .into_any()
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
                Dialog::Regenerate {
                    user_key,
                    client_id,
                    generation,
                    grace_running,
                    used_by_credentials,
                } => {
                    view! {
                        <RegenerateDialog
                            title="Regenerate Client Secret".to_string()
                            text=format!(
                                "Are you sure you want to regenerate the Client Secret of the API key for the user with key {user_key}?",
                            )
                            grace_running=grace_running
                            handshake=used_by_credentials
                            pending=regenerate_one.pending().into()
                            on_confirm=Callback::new(move |(grace_hours, update_credentials)| {
                                regenerate_one
                                    .dispatch(RegenerateApiKey {
                                        client_id: client_id.clone(),
                                        seen_generation: generation,
                                        grace_hours,
                                        update_credentials,
                                    });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::Edit { user_key, client_id, description, expires_at } => {
                    view! {
                        <EditDialog
                            user_key=user_key
                            description=description
                            expires_at=expires_at
                            rules=rules()
                            pending=edit.pending().into()
                            error=Signal::derive(move || {
                                edit.value().get().and_then(Result::err).map(|e| e.to_string())
                            })
                            on_save=Callback::new(move |(description, expires): (String, String)| {
                                edit.dispatch(EditApiKey {
                                    client_id: client_id.clone(),
                                    description,
                                    expires,
                                });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::Deactivate { user_key, client_id } => {
                    view! {
                        <Confirm
                            title=format!("Deactivate API Key for user with key {user_key}")
                            text="Requests with this key will fail until you reactivate it. Tokens already issued stop working at once."
                                .to_string()
                            confirm_label="Deactivate"
                            danger=true
                            pending=set_active.pending()
                            on_confirm=Callback::new(move |_| {
                                set_active
                                    .dispatch(SetApiKeyActive {
                                        client_id: client_id.clone(),
                                        active: false,
                                    });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::RevokeOldSecret { user_key, client_id } => {
                    view! {
                        <Confirm
                            title=format!("Revoke the old secret of {user_key}'s API Key now")
                            text="The old Client Secret and the tokens it issued stop working at once. The new secret keeps working."
                                .to_string()
                            confirm_label="Revoke old secret"
                            danger=true
                            pending=revoke.pending()
                            on_confirm=Callback::new(move |_| {
                                revoke
                                    .dispatch(RevokeOldSecret {
                                        client_id: client_id.clone(),
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
                        <RegenerateDialog
                            title=format!("Regenerate the Client Secret of {}", plural_keys(count))
                            text=format!(
                                "Are you sure you want to regenerate the Client Secret of {}?",
                                plural_keys(count),
                            )
                            grace_running=false
                            handshake=false
                            pending=regenerate.pending().into()
                            on_confirm=Callback::new(move |(grace_hours, _)| {
                                regenerate
                                    .dispatch(RegenerateApiKeys {
                                        selection: selection(),
                                        grace_hours,
                                    });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::BulkDeactivate { count } => {
                    view! {
                        <Confirm
                            title=format!("Deactivate {}?", plural_keys(count))
                            text="Requests with these keys will fail until you reactivate them. Tokens already issued stop working at once."
                                .to_string()
                            confirm_label="Deactivate"
                            danger=true
                            pending=change.pending()
                            on_confirm=Callback::new(move |_| {
                                change
                                    .dispatch(ChangeApiKeys {
                                        selection: selection(),
                                        change: BulkChange::Deactivate,
                                    });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::BulkReactivate { count } => {
                    view! {
                        <Confirm
                            title=format!("Reactivate {}?", plural_keys(count))
                            text="These keys work again; their users request new tokens."
                                .to_string()
                            confirm_label="Reactivate"
                            danger=false
                            pending=change.pending()
                            on_confirm=Callback::new(move |_| {
                                change
                                    .dispatch(ChangeApiKeys {
                                        selection: selection(),
                                        change: BulkChange::Reactivate,
                                    });
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::BulkExpiry { count } => {
                    view! {
                        <BulkExpiryDialog
                            count=count
                            rules=rules()
                            pending=change.pending().into()
                            on_confirm=Callback::new(move |expires: String| {
                                match ExpiryChoice::parse(&expires) {
                                    Ok(choice) => {
                                        change
                                            .dispatch(ChangeApiKeys {
                                                selection: selection(),
                                                change: BulkChange::SetExpiry(choice),
                                            });
                                    }
                                    Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
                                }
                            })
                            on_cancel=close_dialog
                        />
                    }
                        .into_any()
                }
                Dialog::Issued { keys, grace_given } => {
                    view! {
                        <IssuedDialog keys=keys grace_given=grace_given on_close=close_dialog />
                    }
                        .into_any()
                }
            }}
        </Modal>
    }
}

/// Escape closes an open menu and gives focus back to its button, as a menu button does
/// (WAI-ARIA); the key presses of the menu's items reach the anchor around both.
fn close_on_escape(
    open: RwSignal<bool>,
    button: NodeRef<leptos::html::Button>,
) -> impl Fn(leptos::ev::KeyboardEvent) + Copy {
    move |ev| {
        if ev.key() == "Escape" && open.get_untracked() {
            ev.prevent_default();
            open.set(false);
            if let Some(button) = button.get_untracked() {
                let _ = button.focus();
            }
        }
    }
}
