//! The Create API Key dialog and the one that shows issued secrets once (with their CSV).

use leptos::prelude::*;

use crate::api_keys::api::*;
use crate::api_keys::{plural_keys, IssuedKey, KeyCandidate};
use crate::ui::picker::{PickerItem, UserPicker};
use crate::ui::secret::SecretField;

#[component]
pub(super) fn CreateDialog(
    create: ServerAction<CreateApiKey>,
    on_close: Callback<()>,
) -> impl IntoView {
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
pub(super) fn IssuedDialog(keys: Vec<IssuedKey>, on_close: Callback<()>) -> impl IntoView {
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
