//! The API Key Policy page (administrators): the policy's form, and applying its maximum
//! lifetime to existing keys after a counted confirmation.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{ApplyPolicyMaximum, KeyPolicy, MaximumPreview, SaveKeyPolicy, DEFAULT_EXPIRY_CHOICES};
use crate::ui::dialog::{Confirm, Modal};
use crate::ui::guard::RequireRole;
use crate::ui::notice::{ErrorNotice, Flash, FlashRegion};
use crate::ui::page::PageHeader;
use crate::users::Role;

#[component]
pub fn KeyPolicyPage() -> impl IntoView {
    // Outside the role guard, which may run its children more than once (see the API Keys page).
    let save = ServerAction::<SaveKeyPolicy>::new();
    let policy = Resource::new(move || save.version().get(), |_| super::get_key_policy());
    view! {
        <Title text="API Key Policy" />
        <RequireRole roles=&[Role::Administrator]>
            <PolicyScreen save=save policy=policy />
        </RequireRole>
    }
}

/// The form's fields as typed.
#[derive(Clone, Copy)]
struct Fields {
    default_expiry: RwSignal<String>,
    max_lifetime: RwSignal<String>,
    warn: RwSignal<String>,
    unused: RwSignal<String>,
}

impl Fields {
    fn fill(&self, policy: &KeyPolicy) {
        self.default_expiry.set(
            policy
                .default_expiry_days
                .map_or_else(|| "never".into(), |d| d.to_string()),
        );
        self.max_lifetime.set(
            policy
                .max_lifetime_days
                .map_or_else(String::new, |d| d.to_string()),
        );
        self.warn.set(
            policy
                .warn_days
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        );
        self.unused.set(policy.unused_days.to_string());
    }

    /// The policy typed, or what is wrong with it (the server checks it again).
    fn read(&self) -> Result<KeyPolicy, String> {
        let days = |text: &str, what: &str| {
            text.trim()
                .parse::<u32>()
                .map_err(|_| format!("{what}: enter a whole number of days"))
        };
        let default_expiry = self.default_expiry.get_untracked();
        let max = self.max_lifetime.get_untracked();
        Ok(KeyPolicy {
            default_expiry_days: if default_expiry == "never" {
                None
            } else {
                Some(days(&default_expiry, "Default expiry for new keys")?)
            },
            max_lifetime_days: if max.trim().is_empty() {
                None
            } else {
                Some(days(&max, "Maximum lifetime")?)
            },
            warn_days: self
                .warn
                .get_untracked()
                .split(',')
                .filter(|part| !part.trim().is_empty())
                .map(|part| days(part, "Warn before expiry"))
                .collect::<Result<_, _>>()?,
            unused_days: days(&self.unused.get_untracked(), "Flag keys unused for")?,
        })
    }
}

#[component]
fn PolicyScreen(
    save: ServerAction<SaveKeyPolicy>,
    policy: Resource<Result<KeyPolicy, crate::error::AppError>>,
) -> impl IntoView {
    let apply = ServerAction::<ApplyPolicyMaximum>::new();
    let fields = Fields {
        default_expiry: RwSignal::new("never".into()),
        max_lifetime: RwSignal::new(String::new()),
        warn: RwSignal::new("7, 1".into()),
        unused: RwSignal::new("90".into()),
    };
    let flash = RwSignal::new(None::<Flash>);
    let preview = RwSignal::new(None::<MaximumPreview>);
    let previewing = RwSignal::new(false);

    Effect::new(move |_| match save.value().get() {
        Some(Ok(saved)) => {
            fields.fill(&saved);
            flash.set(Some(Flash::Done("API Key Policy saved.".into())));
        }
        Some(Err(e)) => flash.set(Some(Flash::Failed(e.to_string()))),
        None => {}
    });
    Effect::new(move |_| match apply.value().get() {
        Some(Ok(n)) => {
            let when = preview
                .get_untracked()
                .map(|p| p.expires_at.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            preview.set(None);
            flash.set(Some(Flash::Done(format!(
                "{} now expire{} on {when}.",
                crate::api_keys::plural_keys(n),
                if n == 1 { "s" } else { "" }
            ))));
        }
        Some(Err(e)) => {
            preview.set(None);
            flash.set(Some(Flash::Failed(e.to_string())));
        }
        None => {}
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match fields.read() {
            Ok(policy) => {
                save.dispatch(SaveKeyPolicy { policy });
            }
            Err(message) => flash.set(Some(Flash::Failed(message))),
        }
    };
    let on_apply = move |_| {
        previewing.set(true);
        leptos::task::spawn_local(async move {
            match super::preview_policy_maximum().await {
                Ok(Some(p)) if p.affected > 0 => preview.set(Some(p)),
                Ok(Some(_)) => flash.set(Some(Flash::Done(
                    "Every key already expires within the maximum lifetime. Nothing to change."
                        .into(),
                ))),
                Ok(None) => flash.set(Some(Flash::Failed(
                    "Set and save a maximum lifetime first.".into(),
                ))),
                Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
            }
            previewing.set(false);
        });
    };
    let close = Callback::new(move |()| preview.set(None));

    view! {
        <PageHeader
            title="API Key Policy"
            lead="When new API keys expire, how long any key may live, when to warn before an expiry and when a key counts as unused. Every change is audited."
        >
            <a href="/api-keys" class="button button--subtle">
                "Back to API Keys"
            </a>
        </PageHeader>
        <FlashRegion flash=flash />
        <Transition fallback=|| {
            view! { <p class="loading">"Loading the policy…"</p> }
        }>
            {move || Suspend::new(async move {
                match policy.await {
                    Ok(current) => {
                        fields.fill(&current);
                        view! {
                            <PolicyForm
                                fields=fields
                                saving=save.pending().into()
                                on_submit=on_submit
                            />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Transition>
        <section class="panel form" aria-labelledby="apply-title">
            <h2 id="apply-title">"Existing keys"</h2>
            <p>
                "The maximum lifetime holds new keys and expiry changes. Keys that exist keep their expiry until you apply the maximum to them."
            </p>
            <button
                type="button"
                class="button"
                disabled=move || previewing.get()
                on:click=on_apply
            >
                "Apply the maximum to existing keys…"
            </button>
        </section>
        <Modal
            open=Signal::derive(move || preview.with(Option::is_some))
            on_close=close
            labelled_by="dialog-title"
        >
            {move || {
                preview
                    .get()
                    .map(|p| {
                        let expected = p.affected;
                        view! {
                            <Confirm
                                title="Apply the maximum lifetime?".to_string()
                                text=format!(
                                    "{} {} no expiry or expire later. They will expire on {}.",
                                    if p.affected == 1 {
                                        "1 key".to_string()
                                    } else {
                                        format!("{} keys", p.affected)
                                    },
                                    if p.affected == 1 { "has" } else { "have" },
                                    p.expires_at.format("%Y-%m-%d %H:%M UTC"),
                                )
                                confirm_label="Apply"
                                danger=true
                                pending=apply.pending()
                                on_confirm=Callback::new(move |()| {
                                    apply.dispatch(ApplyPolicyMaximum { expected });
                                })
                                on_cancel=close
                            />
                        }
                    })
            }}
        </Modal>
    }
}

#[component]
fn PolicyForm(
    fields: Fields,
    saving: Signal<bool>,
    on_submit: impl Fn(leptos::ev::SubmitEvent) + 'static,
) -> impl IntoView {
    view! {
        <form class="panel form" aria-labelledby="policy-title" novalidate on:submit=on_submit>
            <h2 id="policy-title">"Policy"</h2>
            <div class="field">
                <label for="policy-default">"Default expiry for new keys"</label>
                <select
                    id="policy-default"
                    class="input"
                    prop:value=move || fields.default_expiry.get()
                    on:change=move |ev| fields.default_expiry.set(event_target_value(&ev))
                >
                    {DEFAULT_EXPIRY_CHOICES
                        .iter()
                        .map(|choice| {
                            let value = choice
                                .map_or_else(|| "never".to_string(), |d| d.to_string());
                            let label = choice
                                .map_or_else(|| "Never".to_string(), |d| format!("{d} days"));
                            let v = value.clone();
                            view! {
                                <option
                                    value=value
                                    selected=move || fields.default_expiry.get() == v
                                >
                                    {label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="policy-max">"Maximum lifetime (days)"</label>
                <input
                    id="policy-max"
                    class="input input--narrow"
                    inputmode="numeric"
                    aria-describedby="policy-max-hint"
                    prop:value=move || fields.max_lifetime.get()
                    on:input=move |ev| fields.max_lifetime.set(event_target_value(&ev))
                />
                <p class="field__hint" id="policy-max-hint">
                    "Empty: none. Otherwise 30 to 730 days; it holds new keys and expiry changes."
                </p>
            </div>
            <div class="field">
                <label for="policy-warn">"Warn before expiry (days)"</label>
                <input
                    id="policy-warn"
                    class="input input--narrow"
                    aria-describedby="policy-warn-hint"
                    prop:value=move || fields.warn.get()
                    on:input=move |ev| fields.warn.set(event_target_value(&ev))
                />
                <p class="field__hint" id="policy-warn-hint">
                    "One to three lead times, separated by commas. The longest is the window of \"Expiring soon\"."
                </p>
            </div>
            <div class="field">
                <label for="policy-unused">"Flag keys unused for (days)"</label>
                <input
                    id="policy-unused"
                    class="input input--narrow"
                    inputmode="numeric"
                    prop:value=move || fields.unused.get()
                    on:input=move |ev| fields.unused.set(event_target_value(&ev))
                />
            </div>
            <div class="form-actions form-actions--start">
                <button type="submit" class="button button--primary" disabled=move || saving.get()>
                    {move || if saving.get() { "Saving…" } else { "Save" }}
                </button>
            </div>
        </form>
    }
}
