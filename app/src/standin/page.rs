//! The "Xray stand-in" page (administrators, only while the stand-in is on): what the
//! simulation holds and does, so a person trying a CI tool or a backup job against it can see
//! the result arrive.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::get_standin_overview;
use super::{BackupRow, ExecutionRow, FaultRow, ProjectRow, StandinOverview};
use crate::ui::guard::RequireRole;
use crate::ui::notice::ErrorNotice;
use crate::ui::page::{PageHeader, Pagination};
use crate::users::Role;

#[component]
pub fn StandinPage() -> impl IntoView {
    // Outside the role guard, which may run its children more than once (see the API Keys page).
    let query = use_query_map();
    let page = move || {
        query
            .with(|q| q.get("page"))
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(1)
    };
    let overview = Resource::new(page, get_standin_overview);
    view! {
        <Title text="Xray stand-in" />
        <RequireRole roles=&[Role::Administrator]>
            <StandinConsole overview=overview />
        </RequireRole>
    }
}

#[component]
fn StandinConsole(
    overview: Resource<Result<StandinOverview, crate::error::AppError>>,
) -> impl IntoView {
    view! {
        <PageHeader
            title="Xray stand-in"
            lead="A simulation of Xray Cloud's API for tests and demos, served by this server for the API keys it issues. Nothing here is Xray's data."
        />
        <Transition fallback=|| {
            view! { <p class="loading">"Loading…"</p> }
        }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(data) => view! { <Overview data /> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Overview(data: StandinOverview) -> impl IntoView {
    let href = Callback::new(|p: u64| format!("/xray-standin?page={p}"));
    view! {
        <div class="notice notice--info" role="note">
            <p>
                <strong>"Simulation. "</strong>
                "CI tools and backup jobs given this server's address as their Xray URL (for example "
                <code>"cloud.xrayUrl"</code>
                " or "
                <code>"XRAY_API_BASE_URL"</code>
                ") import results, read them with GraphQL and make backups here, not in Xray Cloud. "
                {data.plan.clone()}
                "."
            </p>
        </div>
        <section class="section" aria-labelledby="standin-projects">
            <h2 id="standin-projects">"Projects"</h2>
            <Projects rows=data.projects.clone() />
        </section>
        <section class="section" aria-labelledby="standin-executions">
            <h2 id="standin-executions">"Test executions"</h2>
            <p class="section__lead">
                {format!("{} in all, the latest import first.", data.total_executions)}
            </p>
            <Executions rows=data.executions.clone() />
            <Pagination
                total=data.total_executions
                per_page=data.per_page
                page=data.page
                href=href
            />
        </section>
        <section class="section" aria-labelledby="standin-faults">
            <h2 id="standin-faults">"Faults in force"</h2>
            <Faults rows=data.faults.clone() />
        </section>
        <section class="section" aria-labelledby="standin-backups">
            <h2 id="standin-backups">"Backup jobs"</h2>
            <Backups rows=data.backups />
        </section>
    }
}

#[component]
fn Projects(rows: Vec<ProjectRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <p class="empty-state">
                "No projects yet. Make a synthetic tenant with "
                <code>"xray-keys standin seed"</code> "."
            </p>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" aria-label="Projects">
                <thead>
                    <tr>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Id"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Tests"</th>
                        <th scope="col">"Issues"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|p| {
                            view! {
                                <tr>
                                    <td class="cell-key">{p.key}</td>
                                    <td>{p.id}</td>
                                    <td>{p.name}</td>
                                    <td>{p.tests}</td>
                                    <td>{p.issues}</td>
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

fn lozenge_class(status: &str) -> &'static str {
    match status {
        "PASSED" => "lozenge lozenge--success",
        "FAILED" | "ABORTED" => "lozenge lozenge--danger",
        "EXECUTING" => "lozenge lozenge--warning",
        _ => "lozenge",
    }
}

#[component]
fn Executions(rows: Vec<ExecutionRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <p class="empty-state">
                "No test executions yet. Import results with a CI tool, or see README's “Try it offline”."
            </p>
        }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" aria-label="Test executions">
                <thead>
                    <tr>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Summary"</th>
                        <th scope="col">"Imported by"</th>
                        <th scope="col">"Imported"</th>
                        <th scope="col">"Results"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|e| {
                            let results = if e.statuses.is_empty() {
                                view! { <span class="muted">"No runs"</span> }.into_any()
                            } else {
                                e.statuses
                                    .into_iter()
                                    .map(|(status, n)| {
                                        view! {
                                            <span class=lozenge_class(
                                                &status,
                                            )>{format!("{status} {n}")}</span>
                                            " "
                                        }
                                    })
                                    .collect_view()
                                    .into_any()
                            };
                            view! {
                                <tr>
                                    <td class="cell-key">{e.key}</td>
                                    <td>{e.summary}</td>
                                    <td>{e.imported_by}</td>
                                    <td>{e.imported_at}</td>
                                    <td>{results}</td>
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
fn Faults(rows: Vec<FaultRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <p class="empty-state">
                "None: the stand-in answers as a healthy Xray. Add one with "
                <code>"xray-keys standin fault add --target … --fault …"</code> "."
            </p>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" aria-label="Faults in force">
                <thead>
                    <tr>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Fault"</th>
                        <th scope="col">"For"</th>
                        <th scope="col">"Since"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|f| {
                            view! {
                                <tr>
                                    <td>{f.target}</td>
                                    <td>
                                        <span class="lozenge lozenge--warning">{f.fault}</span>
                                    </td>
                                    <td>{f.remaining}</td>
                                    <td>{f.since}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <p class="section__lead">
            "Clear them with " <code>"xray-keys standin fault clear"</code> "."
        </p>
    }
    .into_any()
}

#[component]
fn Backups(rows: Vec<BackupRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty-state">"No backup has been requested."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" aria-label="Backup jobs">
                <thead>
                    <tr>
                        <th scope="col">"Job id"</th>
                        <th scope="col">"Requested by"</th>
                        <th scope="col">"Requested"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|b| {
                            view! {
                                <tr>
                                    <td>
                                        <code>{b.job_id}</code>
                                    </td>
                                    <td>{b.requested_by}</td>
                                    <td>{b.requested_at}</td>
                                    <td>{b.status}</td>
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
