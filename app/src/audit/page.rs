//! The administrators' Audit page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use super::api::*;
use super::AuditFilter;
use crate::ui::guard::RequireRole;
use crate::ui::notice::ErrorNotice;
use crate::ui::page::{PageHeader, Pagination};
use crate::ui::url::js_encode;
use crate::users::Role;

#[component]
pub fn AuditPage() -> impl IntoView {
    // Outside the role guard, which may run its children more than once (see the API Keys page).
    let query = use_query_map();
    let entries = Resource::new(move || query.with(filter_of), list_audit);
    view! {
        <Title text="Audit" />
        <RequireRole roles=&[Role::Administrator]>
            <AuditConsole entries=entries />
        </RequireRole>
    }
}

/// A filter field's value in the address; empty counts as absent.
fn param_of(query: &ParamsMap, name: &str) -> Option<String> {
    query.get(name).filter(|v| !v.is_empty())
}

/// The filter the address asks for.
fn filter_of(query: &ParamsMap) -> AuditFilter {
    AuditFilter {
        actor: param_of(query, "actor"),
        action: param_of(query, "action"),
        from: param_of(query, "from"),
        to: param_of(query, "to"),
        page: param_of(query, "page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1),
        per_page: 20,
    }
}

#[component]
fn AuditConsole(
    entries: Resource<Result<super::AuditPage, crate::error::AppError>>,
) -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &'static str| move || query.with(|q| param_of(q, name));
    let filter = move || query.with(filter_of);
    view! {
        <PageHeader
            title="Audit"
            lead="Every sign-in, user change, key and credential operation, newest first. Entries never hold a secret."
        />
        <Form
            method="GET"
            action="/audit"
            attr:class="toolbar filter-bar"
            attr:aria-label="Filter the audit trail"
        >
            <div class="field">
                <label for="audit-actor">"Actor"</label>
                <input
                    id="audit-actor"
                    class="input"
                    name="actor"
                    maxlength="255"
                    prop:value=move || param("actor")().unwrap_or_default()
                />
            </div>
            <div class="field">
                <label for="audit-action">"Action"</label>
                <select
                    id="audit-action"
                    class="input"
                    name="action"
                    prop:value=move || param("action")().unwrap_or_default()
                >
                    <option value="">"Any"</option>
                    {super::action::ALL
                        .iter()
                        .map(|a| view! { <option value=*a>{*a}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-from">"From"</label>
                <input
                    id="audit-from"
                    class="input"
                    type="date"
                    name="from"
                    prop:value=move || param("from")().unwrap_or_default()
                />
            </div>
            <div class="field">
                <label for="audit-to">"To"</label>
                <input
                    id="audit-to"
                    class="input"
                    type="date"
                    name="to"
                    prop:value=move || param("to")().unwrap_or_default()
                />
            </div>
            <button type="submit" class="button">
                "Filter"
            </button>
        </Form>
        <Transition fallback=|| {
            view! { <p class="loading">"Loading…"</p> }
        }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(data) => {
                        let f = filter();
                        let href = Callback::new(move |p: u64| {
                            let mut parts = vec![format!("page={p}")];
                            for (k, v) in [
                                ("actor", &f.actor),
                                ("action", &f.action),
                                ("from", &f.from),
                                ("to", &f.to),
                            ] {
                                if let Some(v) = v {
                                    parts.push(format!("{k}={}", js_encode(v)));
                                }
                            }
                            format!("/audit?{}", parts.join("&"))
                        });
                        view! {
                            <AuditTable entries=data.entries.clone() />
                            <Pagination
                                total=data.total
                                per_page=data.per_page
                                page=data.page
                                href=href
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
fn AuditTable(entries: Vec<super::AuditEntryView>) -> impl IntoView {
    if entries.is_empty() {
        return view! {
            <div class="table-wrap">
                <p class="empty-state">"No audit entries match"</p>
            </div>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" aria-label="Audit entries">
                <thead>
                    <tr>
                        <th scope="col">"Time (UTC)"</th>
                        <th scope="col">"Actor"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Address"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries
                        .into_iter()
                        .map(|e| {
                            let badge = match e.outcome.as_str() {
                                "success" => "badge badge--success",
                                "failure" | "denied" => "badge badge--danger",
                                _ => "badge",
                            };
                            view! {
                                <tr>
                                    <td>{e.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                    <td>{e.actor}</td>
                                    <td>
                                        {e.action}
                                        <span class="cell-sub">{e.detail.unwrap_or_default()}</span>
                                    </td>
                                    <td>{e.target.unwrap_or_default()}</td>
                                    <td>
                                        <span class=badge>{e.outcome}</span>
                                    </td>
                                    <td>{e.client_addr.unwrap_or_default()}</td>
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
