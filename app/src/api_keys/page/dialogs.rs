//! The dialogs of the API Keys page: Create API Key, Edit details, Regenerate Client Secret
//! (with its grace period and the rotation handshake), Set expiry…, and the one that shows
//! issued secrets once (with their CSV).

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;

use crate::api_keys::api::*;
use crate::api_keys::{
    plural_keys, ExpiryChoice, IssuedKey, KeyCandidate, DESCRIPTION_MAX, GRACE_CHOICES,
};
use crate::ui::dialog::Confirm;
use crate::ui::picker::{PickerItem, UserPicker};
use crate::ui::secret::SecretField;

/// What the dialogs need of the API Key Policy, and the server's clock.
#[derive(Clone, Copy, PartialEq)]
pub(super) struct ExpiryRules {
    pub default: ExpiryChoice,
    pub max_days: Option<u32>,
    pub now: DateTime<Utc>,
}

/// The select's value of "On date…".
const ON_DATE: &str = "date";
/// The select's value of "Keep the current expiry" (Edit details).
pub(super) const KEEP: &str = "keep";

/// The expiry as the server functions take it.
pub(super) fn expiry_value(choice: &str, date: &str) -> String {
    if choice == ON_DATE {
        date.to_string()
    } else {
        choice.to_string()
    }
}

/// "Expires": Never · In 30 days · In 90 days · In 1 year · On date… (a date field), without
/// the choices the policy's maximum rules out.
#[component]
pub(super) fn ExpiryField(
    id: &'static str,
    rules: ExpiryRules,
    choice: RwSignal<String>,
    date: RwSignal<String>,
    /// "Edit details" offers keeping the current expiry first.
    #[prop(optional)]
    keep_label: Option<String>,
) -> impl IntoView {
    let policy = crate::key_policy::KeyPolicy {
        max_lifetime_days: rules.max_days,
        ..Default::default()
    };
    let presets: Vec<(String, &'static str)> = ExpiryChoice::PRESETS
        .iter()
        .filter(|(c, _)| policy.offers(*c))
        .map(|(c, label)| (c.value(), *label))
        .collect();
    let tomorrow = (rules.now + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let latest = rules.max_days.map(|d| {
        (rules.now + Duration::days(i64::from(d)))
            .format("%Y-%m-%d")
            .to_string()
    });
    let date_id = format!("{id}-date");
    let date_id_for_label = date_id.clone();
    let hint = rules
        .max_days
        .map(|d| format!("The policy allows at most {d} days from today."));
    view! {
        <div class="field">
            <label for=id>"Expires"</label>
            <select
                id=id
                class="input"
                prop:value=move || choice.get()
                on:change=move |ev| choice.set(event_target_value(&ev))
            >
                {keep_label
                    .map(|label| {
                        view! {
                            <option value=KEEP selected=move || choice.get() == KEEP>
                                {label}
                            </option>
                        }
                    })}
                {presets
                    .into_iter()
                    .map(|(value, label)| {
                        let v = value.clone();
                        view! {
                            <option value=value selected=move || choice.get() == v>
                                {label}
                            </option>
                        }
                    })
                    .collect_view()}
                <option value=ON_DATE selected=move || choice.get() == ON_DATE>
                    "On date…"
                </option>
            </select>
            {hint.map(|h| view! { <p class="field__hint">{h}</p> })}
        </div>
        <Show when=move || choice.get() == ON_DATE>
            <div class="field">
                <label for=date_id_for_label.clone()>"Expiry date (UTC)"</label>
                <input
                    id=date_id.clone()
                    class="input input--narrow"
                    type="date"
                    min=tomorrow.clone()
                    max=latest.clone()
                    prop:value=move || date.get()
                    on:input=move |ev| date.set(event_target_value(&ev))
                />
                <p class="field__hint">"The key expires at the end of that day, UTC."</p>
            </div>
        </Show>
    }
}

/// The description field of the create and edit dialogs.
#[component]
fn DescriptionField(id: &'static str, text: RwSignal<String>) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    view! {
        <div class="field">
            <label for=id>"Description (optional)"</label>
            <input
                id=id
                class="input"
                type="text"
                maxlength=DESCRIPTION_MAX.to_string()
                placeholder="What uses this key? e.g. Revyz backup, Jenkins CI"
                aria-describedby=hint_id.clone()
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
            />
            <p class="field__hint" id=hint_id>
                {move || {
                    format!("{} of {DESCRIPTION_MAX} characters", text.with(|t| t.chars().count()))
                }}
            </p>
        </div>
    }
}

#[component]
pub(super) fn CreateDialog(
    create: ServerAction<CreateApiKey>,
    rules: ExpiryRules,
    on_close: Callback<()>,
) -> impl IntoView {
    let picked = RwSignal::new(None::<KeyCandidate>);
    let picker_text = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let choice = RwSignal::new(rules.default.value());
    let date = RwSignal::new(String::new());
    let issued = move || create.value().get().and_then(Result::ok);
    let error = move || create.value().get().and_then(Result::err);
    let generate = move |_| {
        if let Some(user) = picked.get_untracked() {
            create.dispatch(CreateApiKey {
                user_key: user.user_key,
                description: description.get_untracked(),
                expires: expiry_value(&choice.get_untracked(), &date.get_untracked()),
            });
        }
    };
    // After a key is made, the dialog is ready for the next user.
    Effect::new(move |_| {
        if issued().is_some() {
            picked.set(None);
            picker_text.set(String::new());
            description.set(String::new());
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
            /> <DescriptionField id="create-description" text=description />
            <ExpiryField id="create-expires" rules=rules choice=choice date=date />
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

/// Edit details: the description and the expiry of one key.
#[component]
pub(super) fn EditDialog(
    user_key: String,
    description: String,
    expires_at: Option<DateTime<Utc>>,
    rules: ExpiryRules,
    pending: Signal<bool>,
    error: Signal<Option<String>>,
    on_save: Callback<(String, String)>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let text = RwSignal::new(description);
    let keep_label = format!(
        "Keep: {}",
        expires_at.map_or_else(
            || "never".to_string(),
            |at| at.format("%Y-%m-%d").to_string()
        )
    );
    let choice = RwSignal::new(KEEP.to_string());
    let date = RwSignal::new(String::new());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_save.run((
            text.get_untracked(),
            expiry_value(&choice.get_untracked(), &date.get_untracked()),
        ));
    };
    view! {
        <form class="dialog__form" on:submit=save novalidate>
            <div class="dialog__header">
                <h2 id="dialog-title">{format!("Edit details of the API Key of {user_key}")}</h2>
            </div>
            <div class="dialog__body form">
                {move || {
                    error
                        .get()
                        .map(|e| {
                            view! {
                                <div class="notice notice--error" role="alert">
                                    <p>{e}</p>
                                </div>
                            }
                        })
                }} <DescriptionField id="edit-description" text=text />
                <ExpiryField
                    id="edit-expires"
                    rules=rules
                    choice=choice
                    date=date
                    keep_label=keep_label
                />
            </div>
            <div class="dialog__footer">
                <button type="submit" class="button button--primary" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else { "Save" }}
                </button>
                <button
                    type="button"
                    class="button button--subtle"
                    on:click=move |_| on_cancel.run(())
                >
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

/// Regenerate Client Secret, of one key or a selection: how long the old secret keeps working,
/// and (one key stored on the Xray Credentials page) whether the credentials follow.
#[component]
pub(super) fn RegenerateDialog(
    title: String,
    text: String,
    /// A grace period is running on (one of) the keys: its old secret stops now.
    grace_running: bool,
    /// The key is the one the Xray Credentials hold: offer the handshake.
    handshake: bool,
    pending: Signal<bool>,
    on_confirm: Callback<(u32, bool)>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let grace = RwSignal::new(0u32);
    let follow = RwSignal::new(handshake);
    view! {
        <Confirm
            title=title
            text=text
            confirm_label="Confirm"
            danger=false
            pending=pending
            on_confirm=Callback::new(move |()| {
                on_confirm.run((grace.get_untracked(), follow.get_untracked()));
            })
            on_cancel=on_cancel
        >
            <div class="field">
                <label for="regenerate-grace">"Keep the old secret working for"</label>
                <select
                    id="regenerate-grace"
                    class="input"
                    on:change=move |ev| grace.set(event_target_value(&ev).parse().unwrap_or(0))
                >
                    {GRACE_CHOICES
                        .iter()
                        .map(|(hours, label)| {
                            view! {
                                <option value=hours.to_string() selected=*hours == 0>
                                    {*label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            {grace_running
                .then(|| {
                    view! {
                        <p class="notice notice--warning">
                            "The previous old secret stops working now."
                        </p>
                    }
                })}
            {handshake
                .then(|| {
                    view! {
                        <div class="field field--check">
                            <input
                                id="regenerate-follow"
                                type="checkbox"
                                prop:checked=move || follow.get()
                                on:change=move |ev| follow.set(event_target_checked(&ev))
                            />
                            <label for="regenerate-follow">
                                "Also update the Xray Credentials used by backups"
                            </label>
                        </div>
                    }
                })}
        </Confirm>
    }
}

/// Set expiry… of a selection.
#[component]
pub(super) fn BulkExpiryDialog(
    count: u64,
    rules: ExpiryRules,
    pending: Signal<bool>,
    on_confirm: Callback<String>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let choice = RwSignal::new(rules.default.value());
    let date = RwSignal::new(String::new());
    view! {
        <Confirm
            title=format!("Set the expiry of {}?", plural_keys(count))
            text="Every selected key gets this expiry, or none of them does. Tokens of keys that expire stop working at once."
                .to_string()
            confirm_label="Set expiry"
            danger=false
            pending=pending
            on_confirm=Callback::new(move |()| {
                on_confirm.run(expiry_value(&choice.get_untracked(), &date.get_untracked()));
            })
            on_cancel=on_cancel
        >
            <ExpiryField id="bulk-expires" rules=rules choice=choice date=date />
        </Confirm>
    }
}

#[component]
pub(super) fn IssuedDialog(
    keys: Vec<IssuedKey>,
    /// The old secrets keep working for a while.
    #[prop(optional)]
    grace_given: bool,
    on_close: Callback<()>,
) -> impl IntoView {
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
                {if grace_given {
                    "Copy the new Client Secret now: it is shown only once. The old one keeps working until the time shown in the table."
                } else {
                    "Copy the new Client Secret now: it is shown only once. The old one no longer works."
                }}
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

/// Quotes a CSV field when it needs it. A field a spreadsheet would read as a formula (starting
/// with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`, so opening the file runs nothing.
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
