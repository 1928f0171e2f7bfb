//! The administrators' Users page. Its server functions are in `api`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::api::*;
use super::{Role, UserSummary};
use crate::error::AppError;
use crate::ui::guard::RequireRole;
use crate::ui::notice::{ErrorNotice, FieldError, Flash, FlashRegion};
use crate::ui::page::{PageHeader, Pagination};
use crate::ui::url::{list_href, query_page, query_search};

#[component]
pub fn UsersPage() -> impl IntoView {
    // Outside the role guard, which may run its children more than once (see the API Keys page).
    let query = use_query_map();
    let search = Memo::new(move |_| query.with(query_search));
    let page = move || query.with(query_page);
    let add = ServerAction::<AddUser>::new();
    let edit = ServerAction::<EditUser>::new();
    let activate = ServerAction::<SetUserActive>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let users = Resource::new(
        move || {
            (
                search.get(),
                page(),
                add.version().get(),
                edit.version().get(),
                activate.version().get(),
                reset.version().get(),
            )
        },
        |(search, page, ..)| list_users(search, page, 20),
    );
    let list = UsersState {
        search,
        add,
        edit,
        activate,
        reset,
        users,
    };
    view! {
        <Title text="Users" />
        <RequireRole roles=&[Role::Administrator]>
            <UsersConsole list=list />
        </RequireRole>
    }
}

/// The search in the address, the actions that change users and the page of users they select.
#[derive(Clone, Copy)]
struct UsersState {
    search: Memo<String>,
    add: ServerAction<AddUser>,
    edit: ServerAction<EditUser>,
    activate: ServerAction<SetUserActive>,
    reset: ServerAction<ResetUserPassword>,
    users: Resource<Result<super::UserPage, AppError>>,
}

#[component]
fn UsersConsole(list: UsersState) -> impl IntoView {
    let UsersState {
        search,
        add,
        edit,
        activate,
        reset,
        users,
    } = list;
    let navigate = use_navigate();
    let (flash, set_flash) = signal(None::<Flash>);
    let (editing, set_editing) = signal(None::<UserSummary>);
    let (adding, set_adding) = signal(false);

    Effect::new(move |_| match add.value().get() {
        Some(Ok(user)) => {
            set_adding.set(false);
            set_flash.set(Some(Flash::Done(format!(
                "User {} was added.",
                user.user_key
            ))));
        }
        Some(Err(e)) if !matches!(e, AppError::Validation { .. }) => {
            set_flash.set(Some(Flash::Failed(e.to_string())));
        }
        _ => {}
    });
    Effect::new(move |_| match edit.value().get() {
        Some(Ok(user)) => {
            set_editing.set(None);
            set_flash.set(Some(Flash::Done(format!(
                "User {} was saved.",
                user.user_key
            ))));
        }
        Some(Err(e)) if !matches!(e, AppError::Validation { .. }) => {
            set_flash.set(Some(Flash::Failed(e.to_string())));
        }
        _ => {}
    });
    Effect::new(move |_| match activate.value().get() {
        Some(Ok(user)) => set_flash.set(Some(Flash::Done(if user.is_active {
            format!("User {} was reactivated.", user.user_key)
        } else {
            format!(
                "User {} was deactivated; their sessions ended and their API key stops working.",
                user.user_key
            )
        }))),
        Some(Err(e)) => set_flash.set(Some(Flash::Failed(e.to_string()))),
        None => {}
    });
    Effect::new(move |_| match reset.value().get() {
        Some(Ok(())) => {
            set_editing.set(None);
            set_flash.set(Some(Flash::Done(
                "The password was changed; the user's sessions ended.".into(),
            )));
        }
        Some(Err(e)) if !matches!(e, AppError::Validation { .. }) => {
            set_flash.set(Some(Flash::Failed(e.to_string())));
        }
        _ => {}
    });

    let on_search = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            navigate(&list_href("/users", &value, 1, None), Default::default());
        }
    };

    view! {
        <PageHeader
            title="Users"
            lead="People and service accounts. A user can own one API key; roles decide who may sign in to this console."
        >
            <button
                type="button"
                class="button button--primary"
                on:click=move |_| {
                    set_editing.set(None);
                    set_adding.set(true);
                }
            >
                "Add user"
            </button>
        </PageHeader>
        <FlashRegion flash=flash />
        <Show when=move || adding.get()>
            <AddUserForm action=add on_cancel=Callback::new(move |_| set_adding.set(false)) />
        </Show>
        {move || {
            editing
                .get()
                .map(|user| {
                    view! {
                        <EditUserForm
                            user=user
                            edit=edit
                            reset=reset
                            on_cancel=Callback::new(move |_| set_editing.set(None))
                        />
                    }
                })
        }}
        <div class="toolbar">
            <label class="visually-hidden" for="user-search">
                "Search users"
            </label>
            <input
                id="user-search"
                class="input toolbar__search"
                type="search"
                placeholder="Search by user key or name"
                maxlength="255"
                prop:value=search
                on:change=on_search
            />
        </div>
        <Transition fallback=|| {
            view! { <p class="loading">"Loading users…"</p> }
        }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(data) => {
                        let total = data.total;
                        let per_page = data.per_page;
                        let current = data.page;
                        view! {
                            <UsersTable
                                users=data.users
                                on_edit=Callback::new(move |u: UserSummary| {
                                    set_adding.set(false);
                                    set_editing.set(Some(u));
                                })
                                activate=activate
                            />
                            <Pagination
                                total=total
                                per_page=per_page
                                page=current
                                href=Callback::new(move |p: u64| {
                                    let q = search.get();
                                    list_href("/users", &q, p, None)
                                })
                            />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UsersTable(
    users: Vec<UserSummary>,
    on_edit: Callback<UserSummary>,
    activate: ServerAction<SetUserActive>,
) -> impl IntoView {
    if users.is_empty() {
        return view! {
            <div class="table-wrap">
                <p class="empty-state">"No users were found"</p>
            </div>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" aria-label="Users">
                <thead>
                    <tr>
                        <th scope="col">"User Key"</th>
                        <th scope="col">"Display name"</th>
                        <th scope="col">"Roles"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {users
                        .into_iter()
                        .map(|user| {
                            let roles = if user.roles.is_empty() {
                                "None".to_string()
                            } else {
                                user.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
                            };
                            let id = user.id;
                            let active = user.is_active;
                            let key = user.user_key.clone();
                            let for_edit = user.clone();
                            view! {
                                <tr aria-label=format!("User {}", user.user_key)>
                                    <td>
                                        <span class="mono">{user.user_key.clone()}</span>
                                    </td>
                                    <td>
                                        {user.display_name.clone()}
                                        <span class="cell-sub">
                                            {user.email.clone().unwrap_or_default()}
                                        </span>
                                    </td>
                                    <td>{roles}</td>
                                    <td>
                                        {if active {
                                            view! { <span class="badge badge--success">"Active"</span> }
                                                .into_any()
                                        } else {
                                            view! { <span class="badge">"Inactive"</span> }.into_any()
                                        }}
                                    </td>
                                    <td class="actions">
                                        <button
                                            type="button"
                                            class="button button--small"
                                            aria-label=format!("Edit {key}")
                                            on:click=move |_| on_edit.run(for_edit.clone())
                                        >
                                            "Edit"
                                        </button>
                                        <button
                                            type="button"
                                            class="button button--small button--subtle"
                                            aria-label=format!(
                                                "{} {key}",
                                                if active { "Deactivate" } else { "Reactivate" },
                                            )
                                            on:click=move |_| {
                                                activate
                                                    .dispatch(SetUserActive {
                                                        id,
                                                        active: !active,
                                                    });
                                            }
                                        >
                                            {if active { "Deactivate" } else { "Reactivate" }}
                                        </button>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }.into_any()
}

#[component]
fn AddUserForm(action: ServerAction<AddUser>, on_cancel: Callback<()>) -> impl IntoView {
    let error = move || action.value().get().and_then(Result::err);
    let field_error =
        move |field: &'static str| move || error().and_then(|e| e.field_message(field));
    view! {
        <section class="panel form-panel" aria-labelledby="add-user-title">
            <h2 id="add-user-title">"Add user"</h2>
            <ActionForm action=action attr:class="form">
                <div class="field">
                    <label for="add-user-key">"User key" <span class="required">"*"</span></label>
                    <input
                        id="add-user-key"
                        class="input"
                        name="user_key"
                        required
                        maxlength="255"
                        autocomplete="off"
                    />
                    <FieldError message=Signal::derive(field_error("user_key")) />
                </div>
                <div class="field">
                    <label for="add-user-name">
                        "Display name" <span class="required">"*"</span>
                    </label>
                    <input
                        id="add-user-name"
                        class="input"
                        name="display_name"
                        required
                        maxlength="255"
                    />
                    <FieldError message=Signal::derive(field_error("display_name")) />
                </div>
                <div class="field">
                    <label for="add-user-email">"E-mail"</label>
                    <input
                        id="add-user-email"
                        class="input"
                        name="email"
                        type="email"
                        maxlength="320"
                    />
                    <FieldError message=Signal::derive(field_error("email")) />
                </div>
                <fieldset class="field">
                    <legend>"Roles"</legend>
                    <label>
                        <input type="checkbox" name="administrator" value="true" />
                        " Administrator"
                    </label>
                    <label>
                        <input type="checkbox" name="backup_operator" value="true" />
                        " Backup operator"
                    </label>
                </fieldset>
                <div class="field">
                    <label for="add-user-password">"Password"</label>
                    <input
                        id="add-user-password"
                        class="input"
                        name="password"
                        type="password"
                        maxlength="256"
                        autocomplete="new-password"
                    />
                    <p class="field__hint">
                        "Needed only to sign in to this console; at least 12 characters. Leave empty for an account that only owns an API key."
                    </p>
                    <FieldError message=Signal::derive(field_error("password")) />
                </div>
                <div class="form-actions">
                    <button type="submit" class="button button--primary">
                        "Add user"
                    </button>
                    <button type="button" class="button" on:click=move |_| on_cancel.run(())>
                        "Cancel"
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn EditUserForm(
    user: UserSummary,
    edit: ServerAction<EditUser>,
    reset: ServerAction<ResetUserPassword>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let error = move || edit.value().get().and_then(Result::err);
    let field_error =
        move |field: &'static str| move || error().and_then(|e| e.field_message(field));
    let reset_error = move || {
        reset
            .value()
            .get()
            .and_then(Result::err)
            .and_then(|e| e.field_message("password"))
    };
    let is_admin = user.has_role(Role::Administrator);
    let is_backup_operator = user.has_role(Role::BackupOperator);
    let UserSummary {
        id,
        user_key,
        display_name,
        email,
        ..
    } = user;
    let email = email.unwrap_or_default();
    view! {
        <section class="panel form-panel" aria-labelledby="edit-user-title">
            <h2 id="edit-user-title">{format!("Edit user {user_key}")}</h2>
            <ActionForm action=edit attr:class="form">
                <input type="hidden" name="id" value=id />
                <div class="field">
                    <label for="edit-user-name">
                        "Display name" <span class="required">"*"</span>
                    </label>
                    <input
                        id="edit-user-name"
                        class="input"
                        name="display_name"
                        required
                        maxlength="255"
                        value=display_name
                    />
                    <FieldError message=Signal::derive(field_error("display_name")) />
                </div>
                <div class="field">
                    <label for="edit-user-email">"E-mail"</label>
                    <input
                        id="edit-user-email"
                        class="input"
                        name="email"
                        type="email"
                        maxlength="320"
                        value=email
                    />
                    <FieldError message=Signal::derive(field_error("email")) />
                </div>
                <fieldset class="field">
                    <legend>"Roles"</legend>
                    <label>
                        <input type="checkbox" name="administrator" value="true" checked=is_admin />
                        " Administrator"
                    </label>
                    <label>
                        <input
                            type="checkbox"
                            name="backup_operator"
                            value="true"
                            checked=is_backup_operator
                        />
                        " Backup operator"
                    </label>
                    <FieldError message=Signal::derive(field_error("roles")) />
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="button button--primary">
                        "Save"
                    </button>
                    <button type="button" class="button" on:click=move |_| on_cancel.run(())>
                        "Cancel"
                    </button>
                </div>
            </ActionForm>
            <ActionForm action=reset attr:class="form form--inline">
                <input type="hidden" name="id" value=id />
                <div class="field">
                    <label for="reset-password">"New password"</label>
                    <input
                        id="reset-password"
                        class="input"
                        name="password"
                        type="password"
                        required
                        minlength="12"
                        maxlength="256"
                        autocomplete="new-password"
                    />
                    <FieldError message=Signal::derive(reset_error) />
                </div>
                <div class="form-actions">
                    <button type="submit" class="button">
                        "Reset password"
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}
