//! The "Xray Backups" page: health, schedule, Run backup now / Cancel run, and the history with
//! each run's details and downloads. It refreshes every 2 s while a run is active (its progress
//! shows live) and every 30 s otherwise (the health changes with time).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::{
    clock, human_duration, human_size, status, BackupsOverview, CancelBackupRun, Health,
    RunBackupNow, RunDetails, RunRow, SaveBackupSchedule, Schedule, API_VERSIONS, ROLES,
};
use crate::error::AppError;
use crate::ui::guard::RequireRole;
use crate::ui::notice::{ErrorNotice, FieldError, Flash, FlashRegion};
use crate::ui::page::{PageHeader, Pagination};

const INTRO: &str = "Backs up your Xray test data (tests, preconditions, test sets, test plans, test executions and their runs) with the stored Xray Credentials. Without valid credentials, backups skip all Xray data.";

#[component]
pub fn XrayBackupsPage() -> impl IntoView {
    // Outside the role guard, which may run its children more than once (see the API Keys page).
    let query = use_query_map();
    let page = move || crate::ui::url::query_page(&query.read());
    let details = move || {
        query
            .with(|q| q.get("details"))
            .and_then(|d| d.parse::<i32>().ok())
    };
    let run_now = ServerAction::<RunBackupNow>::new();
    let cancel = ServerAction::<CancelBackupRun>::new();
    let save = ServerAction::<SaveBackupSchedule>::new();
    let refresh = RwSignal::new(0u32);
    let overview = Resource::new(
        move || {
            (
                page(),
                details(),
                refresh.get(),
                run_now.version().get(),
                cancel.version().get(),
                save.version().get(),
            )
        },
        |(page, details, ..)| super::get_xray_backups(page, details),
    );
    let screen = ScreenState {
        run_now,
        cancel,
        save,
        refresh,
        overview,
    };
    view! {
        <Title text="Xray Backups" />
        <RequireRole roles=ROLES>
            <BackupsScreen screen=screen />
        </RequireRole>
    }
}

/// The actions of the page, the refresh tick, and the overview they select.
#[derive(Clone, Copy)]
struct ScreenState {
    run_now: ServerAction<RunBackupNow>,
    cancel: ServerAction<CancelBackupRun>,
    save: ServerAction<SaveBackupSchedule>,
    /// Bumped to read the overview again while a run is active.
    refresh: RwSignal<u32>,
    overview: Resource<Result<BackupsOverview, AppError>>,
}

/// The schedule form's fields, kept while the page refreshes around them.
#[derive(Clone, Copy)]
struct ScheduleFields {
    enabled: RwSignal<bool>,
    daily_at: RwSignal<String>,
    only_projects: RwSignal<bool>,
    project_ids: RwSignal<String>,
    include_attachments: RwSignal<bool>,
    incremental: RwSignal<bool>,
    keep_days: RwSignal<String>,
    keep_last: RwSignal<String>,
    api_version: RwSignal<String>,
    wait_minutes: RwSignal<String>,
    version: RwSignal<i64>,
}

impl ScheduleFields {
    fn new() -> Self {
        ScheduleFields {
            enabled: RwSignal::new(false),
            daily_at: RwSignal::new("120".into()),
            only_projects: RwSignal::new(false),
            project_ids: RwSignal::new(String::new()),
            include_attachments: RwSignal::new(false),
            incremental: RwSignal::new(false),
            keep_days: RwSignal::new("30".into()),
            keep_last: RwSignal::new("3".into()),
            api_version: RwSignal::new("v2".into()),
            wait_minutes: RwSignal::new("240".into()),
            version: RwSignal::new(0),
        }
    }

    fn fill(&self, s: &Schedule) {
        self.enabled.set(s.enabled);
        self.daily_at.set(s.daily_at.to_string());
        self.only_projects.set(!s.project_ids.is_empty());
        self.project_ids.set(s.project_ids.join(", "));
        self.include_attachments.set(s.include_attachments);
        self.incremental.set(s.incremental);
        self.keep_days.set(s.keep_days.to_string());
        self.keep_last.set(s.keep_last.to_string());
        self.api_version.set(s.api_version.clone());
        self.wait_minutes.set(s.wait_minutes.to_string());
        self.version.set(s.version);
    }

    /// The schedule the form says, or which field is not a number.
    fn read(&self) -> Result<Schedule, AppError> {
        let number = |signal: RwSignal<String>, field: &str, what: &str| {
            signal
                .get_untracked()
                .trim()
                .parse::<u32>()
                .map_err(|_| AppError::validation(field, format!("{what} is a whole number.")))
        };
        Ok(Schedule {
            enabled: self.enabled.get_untracked(),
            daily_at: self.daily_at.get_untracked().parse().unwrap_or(120),
            project_ids: if self.only_projects.get_untracked() {
                Schedule::parse_projects(&self.project_ids.get_untracked())
            } else {
                Vec::new()
            },
            include_attachments: self.include_attachments.get_untracked(),
            incremental: self.incremental.get_untracked(),
            keep_days: number(self.keep_days, "keep_days", "Keep backups for")?,
            keep_last: number(self.keep_last, "keep_last", "Always keep the last")?,
            api_version: self.api_version.get_untracked(),
            wait_minutes: number(self.wait_minutes, "wait_minutes", "Wait at most")?,
            version: self.version.get_untracked(),
            updated_by: String::new(),
            updated_at: None,
        })
    }
}

#[component]
fn BackupsScreen(screen: ScreenState) -> impl IntoView {
    let ScreenState {
        run_now,
        cancel,
        save,
        refresh,
        overview,
    } = screen;
    let flash = RwSignal::new(None::<Flash>);
    let editing = RwSignal::new(false);
    let fields = ScheduleFields::new();
    let schedule_error = RwSignal::new(None::<AppError>);
    // Whether a run is active, as the last load said: the refresh pace follows it.
    let active = RwSignal::new(false);

    Effect::new(move |_| match run_now.value().get() {
        Some(Ok(run)) => flash.set(Some(Flash::Done(format!(
            "Backup run {} started. Its progress shows below.",
            run.id
        )))),
        Some(Err(e)) => flash.set(Some(Flash::Failed(e.to_string()))),
        None => {}
    });
    Effect::new(move |_| match cancel.value().get() {
        Some(Ok(run)) => flash.set(Some(Flash::Done(format!(
            "Cancel requested: backup run {} stops within a few seconds.",
            run.id
        )))),
        Some(Err(e)) => flash.set(Some(Flash::Failed(e.to_string()))),
        None => {}
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(saved)) => {
            fields.fill(&saved);
            editing.set(false);
            focus_later("schedule-edit");
            schedule_error.set(None);
            flash.set(Some(Flash::Done(if saved.enabled {
                format!(
                    "Schedule saved. Backups run daily at {} UTC.",
                    saved.daily_at_text()
                )
            } else {
                "Schedule saved. Scheduled backups are off.".into()
            })));
        }
        Some(Err(e)) => schedule_error.set(Some(e)),
        None => {}
    });
    // Every 2 s, a load while a run is active; otherwise one every 30 s.
    Effect::new(move |_| {
        let beats = StoredValue::new(0u32);
        if let Ok(handle) = set_interval_with_handle(
            move || {
                let beat = beats.get_value() + 1;
                beats.set_value(beat);
                // Not while the schedule is edited: the form keeps its focus.
                if editing.get_untracked() {
                    return;
                }
                if active.get_untracked() || beat.is_multiple_of(15) {
                    refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_secs(2),
        ) {
            on_cleanup(move || handle.clear());
        }
    });

    let on_edit = Callback::new(move |schedule: Schedule| {
        fields.fill(&schedule);
        schedule_error.set(None);
        editing.set(true);
        focus_later("schedule-enabled");
    });
    let on_save = Callback::new(move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match fields.read() {
            Ok(schedule) => {
                save.dispatch(SaveBackupSchedule { schedule });
            }
            Err(e) => schedule_error.set(Some(e)),
        }
    });
    let on_cancel = Callback::new(move |()| {
        editing.set(false);
        schedule_error.set(None);
        focus_later("schedule-edit");
    });
    let form = FormParts {
        fields,
        error: schedule_error,
        saving: save.pending().into(),
        on_save,
        on_cancel,
    };

    view! {
        <PageHeader title="Xray Backups" lead=INTRO />
        <FlashRegion flash=flash />
        <Transition fallback=|| {
            view! { <p class="loading">"Loading the backups…"</p> }
        }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(data) => {
                        active.set(data.active.is_some());
                        view! {
                            <Overview
                                data
                                run_now=run_now
                                cancel=cancel
                                editing=editing
                                on_edit=on_edit
                                form=form
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
fn Overview(
    data: BackupsOverview,
    run_now: ServerAction<RunBackupNow>,
    cancel: ServerAction<CancelBackupRun>,
    editing: RwSignal<bool>,
    on_edit: Callback<Schedule>,
    form: FormParts,
) -> impl IntoView {
    let href = Callback::new(|p: u64| format!("/xray-backups?page={p}"));
    let page = data.page;
    let schedule = data.schedule.clone();
    view! {
        <div class="backup-top">
            <HealthCard health=data.health.clone() />
            <ActiveRun
                active=data.active.clone()
                credentials_stored=data.credentials_stored
                run_now=run_now
                cancel=cancel
            />
        </div>
        <Show when=move || !editing.get() fallback=move || view! { <ScheduleForm form=form /> }>
            <ScheduleSummary schedule=schedule.clone() on_edit=on_edit />
        </Show>
        <section class="section" aria-labelledby="backup-history">
            <h2 id="backup-history">"History"</h2>
            <History rows=data.runs.clone() page=page />
            <Pagination total=data.total per_page=data.per_page page=data.page href=href />
        </section>
        {data.details.map(|d| view! { <Details details=d page=page /> })}
    }
}

#[component]
fn HealthCard(health: Health) -> impl IntoView {
    view! {
        <section class="panel backup-health" aria-labelledby="backup-health-title">
            <h2 id="backup-health-title">"Health"</h2>
            <p>
                <span class=health.state.class()>{health.state.label()}</span>
            </p>
            <p class="backup-health__text">{health.text}</p>
            {health
                .credentials_link
                .then(|| {
                    view! {
                        <p>
                            <A href="/xray-credentials">"Go to Xray Credentials"</A>
                        </p>
                    }
                })}
        </section>
    }
}

#[component]
fn ActiveRun(
    active: Option<RunRow>,
    credentials_stored: bool,
    run_now: ServerAction<RunBackupNow>,
    cancel: ServerAction<CancelBackupRun>,
) -> impl IntoView {
    let running = active.is_some();
    view! {
        <section class="panel backup-run" aria-labelledby="backup-run-title">
            <h2 id="backup-run-title">"Run"</h2>
            <div role="status" aria-live="polite" class="backup-run__status">
                {match &active {
                    Some(run) => {
                        view! {
                            <p>
                                <span class=status::class(&run.status)>{run.status.clone()}</span>
                                " "
                                {format!(
                                    "Backup run {} ({}), started {}{}",
                                    run.id,
                                    run.trigger,
                                    run.started_at.format("%H:%M UTC"),
                                    run.step.as_ref().map(|s| format!(": {s}")).unwrap_or_default(),
                                )}
                            </p>
                        }
                            .into_any()
                    }
                    None => {
                        view! {
                            <p>
                                {if credentials_stored {
                                    "No backup is running."
                                } else {
                                    "No Xray Credentials are stored: a backup now would skip all Xray data."
                                }}
                            </p>
                        }
                            .into_any()
                    }
                }}
            </div>
            <div class="form-actions form-actions--start">
                <button
                    type="button"
                    class="button button--primary"
                    disabled=move || run_now.pending().get()
                    on:click=move |_| {
                        run_now.dispatch(RunBackupNow {});
                    }
                >
                    "Run backup now"
                </button>
                {running
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="button"
                                disabled=move || cancel.pending().get()
                                on:click=move |_| {
                                    cancel.dispatch(CancelBackupRun {});
                                }
                            >
                                "Cancel run"
                            </button>
                        }
                    })}
            </div>
        </section>
    }
}

#[component]
fn ScheduleSummary(schedule: Schedule, on_edit: Callback<Schedule>) -> impl IntoView {
    let s = schedule.clone();
    let when = if s.enabled {
        format!("Daily at {} UTC", s.daily_at_text())
    } else {
        "Off".to_string()
    };
    let projects = if s.project_ids.is_empty() {
        "All projects".to_string()
    } else {
        format!("Only {}", s.project_ids.join(", "))
    };
    view! {
        <section class="panel" aria-labelledby="backup-schedule">
            <div class="panel__head">
                <h2 id="backup-schedule">"Schedule"</h2>
                <button
                    id="schedule-edit"
                    type="button"
                    class="button"
                    on:click=move |_| on_edit.run(schedule.clone())
                >
                    "Edit schedule"
                </button>
            </div>
            <dl class="details">
                <dt>"Scheduled backups"</dt>
                <dd>{when}</dd>
                <dt>"Projects"</dt>
                <dd>{projects}</dd>
                <dt>"Include attachments"</dt>
                <dd>{if s.include_attachments { "Yes" } else { "No" }}</dd>
                <dt>"Mode"</dt>
                <dd>{if s.incremental { "Incremental" } else { "Full" }}</dd>
                <dt>"Keep backups for"</dt>
                <dd>
                    {format!(
                        "{} days, and always the last {} successful",
                        s.keep_days,
                        s.keep_last,
                    )}
                </dd>
                <dt>"API version"</dt>
                <dd>{s.api_version.clone()}</dd>
                <dt>"Wait at most"</dt>
                <dd>{format!("{} minutes", s.wait_minutes)}</dd>
            </dl>
        </section>
    }
}

/// What the schedule form needs from the screen, which keeps it across reloads.
#[derive(Clone, Copy)]
struct FormParts {
    fields: ScheduleFields,
    error: RwSignal<Option<AppError>>,
    saving: Signal<bool>,
    on_save: Callback<leptos::ev::SubmitEvent>,
    on_cancel: Callback<()>,
}

/// Focuses the element `id` once the view shows it.
fn focus_later(id: &'static str) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        if let Some(el) = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

#[component]
fn ScheduleForm(form: FormParts) -> impl IntoView {
    let FormParts {
        fields,
        error,
        saving,
        on_save,
        on_cancel,
    } = form;
    let field_error = move |field: &'static str| {
        Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.field_message(field))))
    };
    let form_error = move || {
        error.with(|e| {
            e.as_ref()
                .filter(|e| !matches!(e, AppError::Validation { .. }))
                .map(ToString::to_string)
        })
    };
    view! {
        <form
            class="panel form"
            aria-labelledby="schedule-form-title"
            novalidate
            on:submit=move |ev| on_save.run(ev)
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    on_cancel.run(());
                }
            }
        >
            <h2 id="schedule-form-title">"Edit schedule"</h2>
            {move || {
                form_error()
                    .map(|m| {
                        view! {
                            <div class="notice notice--error" role="alert">
                                <p>{m}</p>
                            </div>
                        }
                    })
            }}
            <div class="field field--check">
                <input
                    id="schedule-enabled"
                    type="checkbox"
                    prop:checked=move || fields.enabled.get()
                    on:change=move |ev| fields.enabled.set(event_target_checked(&ev))
                />
                <label for="schedule-enabled">"Scheduled backups"</label>
                <FieldError message=field_error("enabled") />
            </div>
            <div class="field">
                <label for="schedule-daily">"Daily at (UTC)"</label>
                <select
                    id="schedule-daily"
                    class="input input--narrow"
                    prop:value=move || fields.daily_at.get()
                    on:change=move |ev| fields.daily_at.set(event_target_value(&ev))
                >
                    {(0..48u32)
                        .map(|half| {
                            let minutes = half * 30;
                            let value = minutes.to_string();
                            let v = value.clone();
                            view! {
                                <option value=value selected=move || fields.daily_at.get() == v>
                                    {clock(minutes)}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <FieldError message=field_error("daily_at") />
            </div>
            <fieldset class="field">
                <legend>"Projects"</legend>
                <div class="field--check">
                    <input
                        id="schedule-all-projects"
                        type="radio"
                        name="projects"
                        prop:checked=move || !fields.only_projects.get()
                        on:change=move |_| fields.only_projects.set(false)
                    />
                    <label for="schedule-all-projects">"All projects"</label>
                </div>
                <div class="field--check">
                    <input
                        id="schedule-only-projects"
                        type="radio"
                        name="projects"
                        prop:checked=move || fields.only_projects.get()
                        on:change=move |_| fields.only_projects.set(true)
                    />
                    <label for="schedule-only-projects">"Only these project ids"</label>
                </div>
                <input
                    id="schedule-project-ids"
                    class="input"
                    aria-label="Project ids"
                    aria-describedby="schedule-project-ids-hint"
                    placeholder="10000, 10001"
                    prop:disabled=move || !fields.only_projects.get()
                    prop:value=move || fields.project_ids.get()
                    on:input=move |ev| fields.project_ids.set(event_target_value(&ev))
                />
                <p class="field__hint" id="schedule-project-ids-hint">
                    "Jira project ids, separated by commas."
                </p>
                <FieldError message=field_error("project_ids") />
            </fieldset>
            <div class="field field--check">
                <input
                    id="schedule-attachments"
                    type="checkbox"
                    prop:checked=move || fields.include_attachments.get()
                    on:change=move |ev| fields.include_attachments.set(event_target_checked(&ev))
                />
                <label for="schedule-attachments">"Include attachments"</label>
            </div>
            <fieldset class="field">
                <legend>"Mode"</legend>
                <div class="field--check">
                    <input
                        id="schedule-full"
                        type="radio"
                        name="mode"
                        prop:checked=move || !fields.incremental.get()
                        on:change=move |_| fields.incremental.set(false)
                    />
                    <label for="schedule-full">"Full"</label>
                </div>
                <div class="field--check">
                    <input
                        id="schedule-incremental"
                        type="radio"
                        name="mode"
                        prop:checked=move || fields.incremental.get()
                        on:change=move |_| fields.incremental.set(true)
                    />
                    <label for="schedule-incremental">
                        "Incremental: only what changed since the last successful backup"
                    </label>
                </div>
            </fieldset>
            <NumberField
                id="schedule-keep-days"
                label="Keep backups for (days)"
                value=fields.keep_days
                error=field_error("keep_days")
            />
            <NumberField
                id="schedule-keep-last"
                label="Always keep the last (successful backups)"
                value=fields.keep_last
                error=field_error("keep_last")
            />
            <div class="field">
                <label for="schedule-api">"API version"</label>
                <select
                    id="schedule-api"
                    class="input input--narrow"
                    prop:value=move || fields.api_version.get()
                    on:change=move |ev| fields.api_version.set(event_target_value(&ev))
                >
                    {API_VERSIONS
                        .iter()
                        .map(|v| {
                            let value = v.to_string();
                            let label = if *v == "v2" {
                                "v2 (default)".to_string()
                            } else {
                                v.to_string()
                            };
                            let chosen = value.clone();
                            view! {
                                <option
                                    value=value
                                    selected=move || fields.api_version.get() == chosen
                                >
                                    {label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <NumberField
                id="schedule-wait"
                label="Wait at most (minutes)"
                value=fields.wait_minutes
                error=field_error("wait_minutes")
            />
            <div class="form-actions form-actions--start">
                <button type="submit" class="button button--primary" disabled=move || saving.get()>
                    {move || if saving.get() { "Saving…" } else { "Save" }}
                </button>
                <button type="button" class="button" on:click=move |_| on_cancel.run(())>
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

/// A whole-number field of the schedule form, with its error below it.
#[component]
fn NumberField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                class="input input--narrow"
                inputmode="numeric"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <FieldError message=error />
        </div>
    }
}

fn run_href(file: &str, id: i32) -> String {
    format!("/xray-backups/runs/{id}/{file}")
}

#[component]
fn History(rows: Vec<RunRow>, page: u64) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty-state">"No backup has run yet. Run one now, or turn on the schedule."</p> }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" aria-label="Backup history">
                <thead>
                    <tr>
                        <th scope="col">"Started"</th>
                        <th scope="col">"Trigger"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Tests"</th>
                        <th scope="col">"Test executions"</th>
                        <th scope="col">"Size"</th>
                        <th scope="col">"Duration"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| {
                            let id = r.id;
                            let number = |n: Option<i64>| {
                                n.map_or("–".to_string(), |n| n.to_string())
                            };
                            view! {
                                <tr>
                                    <td>{r.started_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                    <td>{r.trigger.clone()}</td>
                                    <td>
                                        <span class=status::class(
                                            &r.status,
                                        )>{r.status_text()}</span>
                                    </td>
                                    <td>{number(r.tests)}</td>
                                    <td>{number(r.test_executions)}</td>
                                    <td>{r.size.map_or("–".to_string(), human_size)}</td>
                                    <td>
                                        {r.duration_secs.map_or("–".to_string(), human_duration)}
                                    </td>
                                    <td class="cell-actions">
                                        <A
                                            href=format!("/xray-backups?page={page}&details={id}")
                                            attr:aria-label=format!("Details of run {id}")
                                        >
                                            "Details"
                                        </A>
                                        {r
                                            .has_data
                                            .then(|| {
                                                view! {
                                                    " "
                                                    <a
                                                        href=run_href("data.zip", id)
                                                        rel="external"
                                                        download
                                                        aria-label=format!("Download data of run {id}")
                                                    >
                                                        "Download data"
                                                    </a>
                                                }
                                            })}
                                        {r
                                            .has_attachments
                                            .then(|| {
                                                view! {
                                                    " "
                                                    <a
                                                        href=run_href("attachments.zip", id)
                                                        rel="external"
                                                        download
                                                        aria-label=format!("Download attachments of run {id}")
                                                    >
                                                        "Download attachments"
                                                    </a>
                                                }
                                            })}
                                        " "
                                        <a
                                            href=run_href("log.txt", id)
                                            rel="external"
                                            download
                                            aria-label=format!("Download log of run {id}")
                                        >
                                            "Download log"
                                        </a>
                                        {r
                                            .removed
                                            .then(|| {
                                                view! {
                                                    " "
                                                    <span class="muted">"Removed (retention)"</span>
                                                }
                                            })}
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
fn Details(details: RunDetails, page: u64) -> impl IntoView {
    let d = details;
    let id = d.row.id;
    view! {
        <section class="panel backup-details" aria-labelledby="run-details-title">
            <div class="panel__head">
                <h2 id="run-details-title">{format!("Run {id}")}</h2>
                <A href=format!("/xray-backups?page={page}") attr:class="button button--subtle">
                    "Close details"
                </A>
            </div>
            <dl class="details">
                <dt>"Status"</dt>
                <dd>
                    <span class=status::class(&d.row.status)>{d.row.status_text()}</span>
                    " "
                    {d.row.message.clone()}
                </dd>
                <dt>"Trigger"</dt>
                <dd>{format!("{} (by {})", d.row.trigger, d.started_by)}</dd>
                <dt>"API URL"</dt>
                <dd>{if d.api_url.is_empty() { "–".to_string() } else { d.api_url.clone() }}</dd>
                <dt>"Client ID"</dt>
                <dd class="cell-key">
                    {if d.client_id.is_empty() { "–".to_string() } else { d.client_id.clone() }}
                </dd>
                <dt>"Xray job id"</dt>
                <dd>{d.xray_job_id.clone().unwrap_or_else(|| "–".into())}</dd>
                <dt>"Request"</dt>
                <dd>
                    <code>{d.request.clone()}</code>
                </dd>
            </dl>
            <h3>"Timeline"</h3>
            <ol class="timeline">
                {d
                    .events
                    .iter()
                    .map(|(at, text)| {
                        view! {
                            <li>
                                <time>{at.format("%H:%M:%S UTC").to_string()}</time>
                                " "
                                {text.clone()}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            {(!d.files.is_empty())
                .then(|| {
                    view! {
                        <h3>"Files"</h3>
                        <div class="table-wrap">
                            <table class="data" aria-label="Files">
                                <thead>
                                    <tr>
                                        <th scope="col">"File"</th>
                                        <th scope="col">"Size"</th>
                                        <th scope="col">"SHA-256"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {d
                                        .files
                                        .iter()
                                        .map(|f| {
                                            view! {
                                                <tr>
                                                    <td>{f.name.clone()}</td>
                                                    <td>
                                                        {human_size(i64::try_from(f.size).unwrap_or(i64::MAX))}
                                                    </td>
                                                    <td class="cell-key">{f.sha256.clone()}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                })}
            {(!d.counts.is_empty())
                .then(|| {
                    view! {
                        <h3>"Counts"</h3>
                        <dl class="details">
                            {d
                                .counts
                                .iter()
                                .map(|(name, n)| {
                                    view! {
                                        <dt>{name.clone()}</dt>
                                        <dd>{*n}</dd>
                                    }
                                })
                                .collect_view()}
                        </dl>
                    }
                })}
        </section>
    }
}
