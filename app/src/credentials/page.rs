//! The Xray Credentials page: view mode, edit mode, connection test.

use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::{
    base_url_choices, validate, BaseUrl, BeginCredentialsEdit, CredentialsForm, CredentialsPage,
    CredentialsView, Outcome, SaveXrayCredentials, TestXrayConnection, CLIENT_ID_LEN,
    CLIENT_SECRET_LEN, MISMATCH_MESSAGE, REENTER_MESSAGE,
};
use crate::error::AppError;
use crate::ui::guard::RequireRole;
use crate::ui::notice::{ErrorNotice, FieldError, Flash, FlashRegion};
use crate::ui::page::PageHeader;
use crate::users::Role;

/// What the mask shows for any stored secret: the same whatever its length.
pub const SECRET_MASK: &str = "••••••••••••••••";

#[derive(Clone, Copy, PartialEq)]
enum FocusAfter {
    Nothing,
    Saved,
    Cancelled,
}

#[component]
pub fn XrayCredentialsPage() -> impl IntoView {
    // Outside the role guard, which may run its children more than once (see the API Keys page).
    let save = ServerAction::<SaveXrayCredentials>::new();
    let test = ServerAction::<TestXrayConnection>::new();
    let data = Resource::new(
        move || (save.version().get(), test.version().get()),
        |_| super::get_xray_credentials(),
    );
    view! {
        <RequireRole roles=&[Role::BackupOperator, Role::Administrator]>
            <CredentialsScreen save=save test=test data=data />
        </RequireRole>
    }
}

/// The form's fields, kept while the page re-renders.
#[derive(Clone, Copy)]
struct FormState {
    client_id: RwSignal<String>,
    client_secret: RwSignal<String>,
    base_url: RwSignal<String>,
    custom_url: RwSignal<String>,
    version: RwSignal<i64>,
    secret_stored: RwSignal<bool>,
    /// The stored Client ID and API (stored form): a kept secret goes only there.
    saved_for: RwSignal<Option<(String, String)>>,
    errors: RwSignal<Vec<(String, String)>>,
}

impl FormState {
    fn new() -> Self {
        FormState {
            client_id: RwSignal::new(String::new()),
            client_secret: RwSignal::new(String::new()),
            base_url: RwSignal::new("this".into()),
            custom_url: RwSignal::new(String::new()),
            version: RwSignal::new(0),
            secret_stored: RwSignal::new(false),
            saved_for: RwSignal::new(None),
            errors: RwSignal::new(Vec::new()),
        }
    }

    /// True once the Client ID or the API differs from the stored ones while the secret field
    /// is empty: the server would refuse to send the stored secret there.
    fn must_reenter_secret(&self) -> bool {
        let Some((client_id, base)) = self.saved_for.get() else {
            return false;
        };
        if !self.client_secret.with(|s| s.trim().is_empty()) {
            return false;
        }
        let chosen = BaseUrl::from_form(&self.base_url.get(), &self.custom_url.get())
            .map(|b| b.stored())
            .unwrap_or_default();
        self.client_id.with(|id| id.trim() != client_id) || chosen != base
    }

    fn fill(&self, stored: Option<&CredentialsView>) {
        self.client_secret.set(String::new());
        self.errors.set(Vec::new());
        match stored {
            Some(v) => {
                self.client_id.set(v.client_id.clone());
                self.base_url.set(v.base_url.choice().to_string());
                self.custom_url.set(match &v.base_url {
                    BaseUrl::Custom(url) => url.clone(),
                    _ => String::new(),
                });
                self.version.set(v.version);
                self.secret_stored.set(true);
                self.saved_for
                    .set(Some((v.client_id.clone(), v.base_url.stored())));
            }
            None => {
                self.client_id.set(String::new());
                self.base_url.set("this".into());
                self.custom_url.set(String::new());
                self.version.set(0);
                self.secret_stored.set(false);
                self.saved_for.set(None);
            }
        }
    }

    fn form(&self) -> CredentialsForm {
        CredentialsForm {
            client_id: self.client_id.get_untracked(),
            client_secret: self.client_secret.get_untracked(),
            base_url: self.base_url.get_untracked(),
            custom_url: self.custom_url.get_untracked(),
            version: self.version.get_untracked(),
        }
    }

    fn error(&self, field: &'static str) -> Signal<Option<String>> {
        let errors = self.errors;
        Signal::derive(move || {
            errors.with(|e| e.iter().find(|(f, _)| f == field).map(|(_, m)| m.clone()))
        })
    }
}

#[component]
fn CredentialsScreen(
    save: ServerAction<SaveXrayCredentials>,
    test: ServerAction<TestXrayConnection>,
    data: Resource<Result<CredentialsPage, AppError>>,
) -> impl IntoView {
    let begin_edit = ServerAction::<BeginCredentialsEdit>::new();
    let editing = RwSignal::new(false);
    let flash = RwSignal::new(None::<Flash>);
    let form = FormState::new();
    // The page as last loaded; only the <Transition> reads the resource (see the API Keys page).
    let shown = RwSignal::new(None::<CredentialsPage>);
    let edit_button = NodeRef::<html::Button>::new();
    let add_button = NodeRef::<html::Button>::new();
    let client_id_input = NodeRef::<html::Input>::new();

    let open_editor = move || {
        form.fill(shown.get_untracked().and_then(|p| p.stored).as_ref());
        flash.set(None);
        editing.set(true);
        begin_edit.dispatch(BeginCredentialsEdit {});
    };
    // Edit mode focuses the first field once it is in the document.
    Effect::new(move |_| {
        if editing.get() {
            if let Some(input) = client_id_input.get() {
                let _ = input.focus();
            }
        }
    });
    // Leaving edit mode puts focus on the button that opens it again, so keyboard users stay in
    // place. After a save that is Edit, which appears only once the stored values have loaded, so
    // wait for it; after Cancel, Edit or (nothing stored) Add credentials.
    let focus_after = RwSignal::new(FocusAfter::Nothing);
    Effect::new(move |_| {
        let target = match focus_after.get() {
            FocusAfter::Nothing => return,
            FocusAfter::Saved => edit_button.get(),
            FocusAfter::Cancelled => edit_button.get().or_else(|| add_button.get()),
        };
        if let Some(button) = target {
            let _ = button.focus();
            focus_after.set(FocusAfter::Nothing);
        }
    });
    // The freshest values (another operator may have saved since the page loaded).
    Effect::new(move |_| {
        if let Some(result) = begin_edit.value().get() {
            match result {
                Ok(fresh) if editing.get_untracked() => {
                    let loaded = shown.get_untracked().and_then(|p| p.stored);
                    let untouched = form.client_secret.with_untracked(String::is_empty)
                        && loaded.as_ref().map(|v| v.client_id.as_str()).unwrap_or("")
                            == form.client_id.get_untracked();
                    // Keep what the operator typed already; refresh an untouched form.
                    if untouched {
                        form.fill(fresh.as_ref());
                    } else {
                        form.version
                            .set(fresh.as_ref().map(|v| v.version).unwrap_or(0));
                        form.secret_stored.set(fresh.is_some());
                        form.saved_for.set(
                            fresh
                                .as_ref()
                                .map(|v| (v.client_id.clone(), v.base_url.stored())),
                        );
                    }
                }
                Ok(_) => {}
                Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
            }
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(view)) => {
            form.client_secret.set(String::new());
            form.errors.set(Vec::new());
            editing.set(false);
            focus_after.set(FocusAfter::Saved);
            flash.set(Some(saved_flash(&view)));
        }
        Some(Err(AppError::Validation { field, message })) => {
            form.errors.set(vec![(field, message)]);
        }
        Some(Err(e)) => flash.set(Some(Flash::Failed(format!("Nothing was saved. {e}")))),
        None => {}
    });
    Effect::new(move |_| match test.value().get() {
        Some(Ok(view)) => flash.set(Some(tested_flash(&view))),
        Some(Err(e)) => flash.set(Some(Flash::Failed(e.to_string()))),
        None => {}
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = form.form();
        let checked = validate(&input, form.secret_stored.get_untracked()).and_then(|valid| {
            if untrack(|| form.must_reenter_secret()) {
                Err(vec![("client_secret", REENTER_MESSAGE.to_string())])
            } else {
                Ok(valid)
            }
        });
        match checked {
            Ok(_) => {
                form.errors.set(Vec::new());
                save.dispatch(SaveXrayCredentials { form: input });
            }
            Err(errors) => {
                let first = errors.first().map(|(f, _)| *f);
                form.errors.set(
                    errors
                        .into_iter()
                        .map(|(f, m)| (f.to_string(), m))
                        .collect(),
                );
                if let Some(field) = first {
                    focus_field(field);
                }
            }
        }
    };
    let on_cancel = move |_| {
        editing.set(false);
        focus_after.set(FocusAfter::Cancelled);
        form.fill(None);
        flash.set(Some(Flash::Done("Nothing was changed.".into())));
    };

    let has_stored = move || shown.with(|p| p.as_ref().is_some_and(|p| p.stored.is_some()));

    view! {
        <Title text="Xray Credentials" />
        <PageHeader
            title="Xray Credentials"
            lead="The Client ID and Client secret that backup jobs use to reach the Xray API."
        >
            <Show when=move || has_stored() && !editing.get()>
                <button
                    type="button"
                    class="button button--primary"
                    node_ref=edit_button
                    on:click=move |_| open_editor()
                >
                    "Edit"
                </button>
            </Show>
        </PageHeader>
        <FlashRegion flash=flash />
        <Transition fallback=|| {
            view! { <p class="loading">"Loading the Xray credentials…"</p> }
        }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => {
                        shown.set(Some(page.clone()));
                        let stored = page.stored.clone();
                        let issued_line = page.issued_here.as_ref().map(super::IssuedHere::line);
                        let (checks, health) = (page.checks.clone(), page.backup_health.clone());
                        view! {
                            <About viewer_is_admin=page.viewer_is_admin />
                            {move || {
                                if editing.get() {
                                    view! {
                                        <EditForm
                                            form=form
                                            on_submit=on_submit
                                            on_cancel=on_cancel
                                            saving=Signal::derive(move || save.pending().get())
                                            client_id_input=client_id_input
                                        />
                                    }
                                        .into_any()
                                } else {
                                    match stored.clone() {
                                        Some(stored) => {
                                            let issued = issued_line.clone();
                                            view! {
                                                <ViewPanel stored=stored test=test health=health.clone() />
                                                <RecentChecks checks=checks.clone() />
                                                {issued
                                                    .map(|line| {
                                                        view! {
                                                            <p class="panel__note" data-testid="issued-here">
                                                                {line}
                                                            </p>
                                                        }
                                                    })}
                                            }
                                                .into_any()
                                        }
                                        None => {
                                            view! {
                                                <section
                                                    class="panel empty-state"
                                                    aria-labelledby="no-credentials"
                                                >
                                                    <h2 id="no-credentials">
                                                        "No Xray credentials are stored yet"
                                                    </h2>
                                                    <p>
                                                        "Until they are, backup jobs skip all Xray data: test plans, test cases and executions."
                                                    </p>
                                                    <button
                                                        type="button"
                                                        class="button button--primary"
                                                        node_ref=add_button
                                                        on:click=move |_| open_editor()
                                                    >
                                                        "Add credentials"
                                                    </button>
                                                </section>
                                            }
                                                .into_any()
                                        }
                                    }
                                }
                            }}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn focus_field(field: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let id = format!("xc-{}", field.replace('_', "-"));
        if let Some(el) = document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = field;
}

fn saved_flash(view: &CredentialsView) -> Flash {
    match view.last_test.as_ref().filter(|t| t.current) {
        Some(t) if t.outcome.is_ok() => Flash::Done(format!(
            "The Xray credentials were saved. Connection test: {}",
            t.outcome.explanation()
        )),
        Some(t) => Flash::Warning(format!(
            "The Xray credentials were saved, but the connection test failed: {}",
            t.outcome.explanation()
        )),
        None => Flash::Done("The Xray credentials were saved.".into()),
    }
}

fn tested_flash(view: &CredentialsView) -> Flash {
    match &view.last_test {
        Some(t) if t.outcome.is_ok() => {
            Flash::Done(format!("Connection test: {}", t.outcome.explanation()))
        }
        Some(t) => Flash::Warning(format!(
            "Connection test failed: {}",
            t.outcome.explanation()
        )),
        None => Flash::Warning("The connection test gave no result.".into()),
    }
}

#[component]
fn About(viewer_is_admin: bool) -> impl IntoView {
    view! {
        <section class="panel about" aria-labelledby="about-title">
            <h2 id="about-title">"What these credentials are for"</h2>
            <p>
                "Xray keeps test plans, test cases and executions in its own storage, which a Jira backup "
                "does not include. Backup jobs use this Client ID and Client secret to authenticate to the "
                "Xray API and copy that data. "
                <strong>"Without them, backups skip all Xray data."</strong>
            </p>
            <details>
                <summary>"How to get a Client ID and Client secret"</summary>
                <ol>
                    <li>"In Jira, as an administrator, open Settings (the cog) → Apps."</li>
                    <li>"In the Xray section of the sidebar, open API Keys."</li>
                    <li>
                        "Create an API key for a dedicated service account, such as "
                        <code>"revyz-backup-user"</code>
                        ", not for a personal admin account: a personal account's key stops working when "
                        "that person leaves or their permissions change."
                    </li>
                    <li>
                        "Copy the Client ID and Client secret at once (the secret is shown only once) and enter them here."
                    </li>
                </ol>
                {viewer_is_admin
                    .then(|| {
                        view! {
                            <p>
                                "This server issues Xray-compatible keys too: as an administrator you can create one on its "
                                <A href="/api-keys">"API Keys page"</A>
                                " and choose “This server” below."
                            </p>
                        }
                    })}
            </details>
        </section>
    }
}

#[component]
fn ViewPanel(
    stored: CredentialsView,
    test: ServerAction<TestXrayConnection>,
    health: crate::xray_backups::Health,
) -> impl IntoView {
    let updated = format!(
        "{} by {}",
        stored.updated_at.format("%Y-%m-%d %H:%M UTC"),
        stored.updated_by
    );
    view! {
        <section class="panel" aria-labelledby="stored-title">
            <h2 id="stored-title" class="visually-hidden">
                "Stored credentials"
            </h2>
            {(!stored.secret_matches)
                .then(|| {
                    view! {
                        <div class="notice notice--error" role="alert">
                            <p>{MISMATCH_MESSAGE}</p>
                        </div>
                    }
                })}
            <dl class="details">
                <dt>"Client ID"</dt>
                <dd>
                    <code data-testid="client-id">{stored.client_id.clone()}</code>
                </dd>
                <dt>"Client secret"</dt>
                <dd>
                    <span class="secret-mask" aria-label="Stored, hidden">
                        {SECRET_MASK}
                    </span>
                </dd>
                <dt>"Xray API"</dt>
                <dd data-testid="base-url">{stored.base_url.label()}</dd>
                <dt>"Last changed"</dt>
                <dd>{updated}</dd>
                <dt>"Connection"</dt>
                <dd>
                    <ConnectionStatus last_test=stored.last_test.clone() />
                </dd>
                <dt>"Backups"</dt>
                <dd data-testid="backup-health">
                    <span class=health.state.class()>{health.state.label()}</span>
                    <p class="cell-sub">
                        {health.text} " " <A href="/xray-backups">"Open Xray Backups"</A>
                    </p>
                </dd>
            </dl>
            <div class="form-actions form-actions--start">
                <button
                    type="button"
                    class="button"
                    disabled=move || test.pending().get()
                    on:click=move |_| {
                        test.dispatch(TestXrayConnection {});
                    }
                >
                    {move || if test.pending().get() { "Testing…" } else { "Test connection" }}
                </button>
            </div>
        </section>
    }
}

/// The last five checks of the stored credentials: tests, scheduled checks and backup runs.
#[component]
fn RecentChecks(checks: Vec<super::CheckRow>) -> impl IntoView {
    if checks.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="section" aria-labelledby="recent-checks">
            <h2 id="recent-checks">"Recent checks"</h2>
            <div class="table-wrap">
                <table class="data" aria-label="Recent checks">
                    <thead>
                        <tr>
                            <th scope="col">"Checked"</th>
                            <th scope="col">"By"</th>
                            <th scope="col">"Outcome"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {checks
                            .into_iter()
                            .map(|c| {
                                let class = if c.ok {
                                    "badge badge--success"
                                } else {
                                    "badge badge--danger"
                                };
                                view! {
                                    <tr>
                                        <td>
                                            {c.checked_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}
                                        </td>
                                        <td>{c.source}</td>
                                        <td>
                                            <span class=class>{c.badge}</span>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn ConnectionStatus(last_test: Option<super::TestResult>) -> impl IntoView {
    match last_test {
        None => view! {
            <span class="badge" data-testid="connection-status">
                "Not tested"
            </span>
        }
        .into_any(),
        Some(t) => {
            let class = match &t.outcome {
                Outcome::Connected { .. } => "badge badge--success",
                Outcome::InvalidCredentials | Outcome::OtherRegion { .. } => "badge badge--danger",
                _ => "badge badge--warning",
            };
            let when = t.tested_at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
            view! {
                <span class=class data-testid="connection-status">
                    {t.outcome.badge()}
                </span>
                <p class="cell-sub">
                    {t.outcome.explanation()} " Tested " {when}
                    {(!t.current).then_some(", before the last change")} "."
                </p>
            }
            .into_any()
        }
    }
}

#[component]
fn EditForm(
    form: FormState,
    on_submit: impl Fn(leptos::ev::SubmitEvent) + 'static,
    on_cancel: impl Fn(leptos::ev::MouseEvent) + 'static,
    saving: Signal<bool>,
    client_id_input: NodeRef<html::Input>,
) -> impl IntoView {
    let invalid = move |field: &'static str| {
        let e = form.error(field);
        move || e.get().is_some().to_string()
    };
    let custom = move || form.base_url.get() == "custom";
    // "Enter the Client secret again" is the hint's own sentence while it applies, and moot once
    // the Client ID and API are back to the stored ones: never a second line.
    let secret_error = Signal::derive(move || {
        form.error("client_secret")
            .get()
            .filter(|m| m != REENTER_MESSAGE)
    });
    view! {
        <form class="panel form" aria-labelledby="edit-title" novalidate on:submit=on_submit>
            <h2 id="edit-title">
                {move || {
                    if form.secret_stored.get() {
                        "Edit the Xray credentials"
                    } else {
                        "Add the Xray credentials"
                    }
                }}
            </h2>
            <p class="field__hint">
                "Fields marked " <span class="required" aria-hidden="true">
                    "*"
                </span> " are required."
            </p>
            <div class="field">
                <label for="xc-client-id">
                    "Client ID " <span class="required" aria-hidden="true">
                        "*"
                    </span>
                </label>
                <input
                    id="xc-client-id"
                    class="input input--mono"
                    name="client_id"
                    node_ref=client_id_input
                    autocomplete="off"
                    autocapitalize="none"
                    spellcheck="false"
                    required
                    aria-required="true"
                    maxlength="200"
                    aria-describedby="xc-client-id-hint"
                    aria-invalid=invalid("client_id")
                    prop:value=move || form.client_id.get()
                    on:input=move |ev| form.client_id.set(event_target_value(&ev))
                />
                <p class="field__hint" id="xc-client-id-hint">
                    {format!("{CLIENT_ID_LEN} hexadecimal characters, as Xray shows it.")}
                </p>
                <FieldError message=form.error("client_id") />
            </div>
            <div class="field">
                <label for="xc-client-secret">
                    "Client secret " <span class="required" aria-hidden="true">
                        "*"
                    </span>
                </label>
                <input
                    id="xc-client-secret"
                    class="input input--mono"
                    name="client_secret"
                    type="password"
                    autocomplete="new-password"
                    autocapitalize="none"
                    spellcheck="false"
                    aria-required=move || {
                        (!form.secret_stored.get() || form.must_reenter_secret()).to_string()
                    }
                    maxlength="400"
                    aria-describedby="xc-client-secret-hint"
                    aria-invalid=move || {
                        (secret_error.get().is_some()
                            || (form.must_reenter_secret()
                                && form.error("client_secret").get().is_some()))
                            .to_string()
                    }
                    placeholder=move || {
                        if form.secret_stored.get() && !form.must_reenter_secret() {
                            "Leave empty to keep the stored secret"
                        } else {
                            ""
                        }
                    }
                    prop:value=move || form.client_secret.get()
                    on:input=move |ev| form.client_secret.set(event_target_value(&ev))
                />
                <p
                    id="xc-client-secret-hint"
                    class=move || {
                        if form.must_reenter_secret() {
                            "field__hint field__hint--attention"
                        } else {
                            "field__hint"
                        }
                    }
                >
                    {move || {
                        if form.must_reenter_secret() {
                            REENTER_MESSAGE.to_string()
                        } else if form.secret_stored.get() {
                            format!(
                                "A secret is stored and is never shown. Leave empty to keep the stored secret, or enter a new one ({CLIENT_SECRET_LEN} hexadecimal characters).",
                            )
                        } else {
                            format!(
                                "{CLIENT_SECRET_LEN} hexadecimal characters, as Xray showed it once.",
                            )
                        }
                    }}
                </p>
                <FieldError message=secret_error />
            </div>
            <div class="field">
                <label for="xc-base-url">"Xray API"</label>
                <select
                    id="xc-base-url"
                    class="input"
                    name="base_url"
                    aria-invalid=invalid("base_url")
                    prop:value=move || form.base_url.get()
                    on:change=move |ev| form.base_url.set(event_target_value(&ev))
                >
                    {base_url_choices()
                        .into_iter()
                        .map(|(value, label)| {
                            view! {
                                <option value=value selected=move || form.base_url.get() == value>
                                    {label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <FieldError message=form.error("base_url") />
            </div>
            <Show when=custom>
                <div class="field">
                    <label for="xc-custom-url">
                        "Custom API URL " <span class="required" aria-hidden="true">
                            "*"
                        </span>
                    </label>
                    <input
                        id="xc-custom-url"
                        class="input"
                        name="custom_url"
                        type="url"
                        inputmode="url"
                        placeholder="https://xray.example.com/api"
                        maxlength="2048"
                        aria-required="true"
                        aria-invalid=invalid("custom_url")
                        prop:value=move || form.custom_url.get()
                        on:input=move |ev| form.custom_url.set(event_target_value(&ev))
                    />
                    <p class="field__hint">
                        "The address before /v2/authenticate, https only. Hosts on private networks must be listed by the server's operator (XRAY_KEYS_XRAY_HOSTS)."
                    </p>
                    <FieldError message=form.error("custom_url") />
                </div>
            </Show>
            <div class="form-actions form-actions--start">
                <button type="submit" class="button button--primary" disabled=move || saving.get()>
                    {move || if saving.get() { "Saving and testing…" } else { "Save" }}
                </button>
                <button
                    type="button"
                    class="button button--subtle"
                    on:click=on_cancel
                    disabled=move || saving.get()
                >
                    "Cancel"
                </button>
            </div>
        </form>
    }
}
