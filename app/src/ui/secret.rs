//! A secret shown once: masked until revealed, with a copy button.

use leptos::prelude::*;

/// A secret value: masked until revealed, with a copy button.
#[component]
pub fn SecretField(label: &'static str, value: String, masked: bool) -> impl IntoView {
    let revealed = RwSignal::new(!masked);
    let copied = RwSignal::new(false);
    let value = StoredValue::new(value);
    let copy = move |_| {
        let text = value.get_value();
        leptos::task::spawn_local(async move {
            copied.set(crate::browser::copy_to_clipboard(text).await);
        });
    };
    view! {
        <div class="field">
            <span class="field__label">{label}</span>
            <div class="secret-row">
                <code data-field=label>
                    {move || if revealed.get() { value.get_value() } else { "•".repeat(24) }}
                </code>
                {masked
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="button button--small button--subtle"
                                aria-pressed=move || revealed.get().to_string()
                                aria-label=format!("Show {label}")
                                on:click=move |_| revealed.update(|r| *r = !*r)
                            >
                                {move || if revealed.get() { "Hide" } else { "Show" }}
                            </button>
                        }
                    })}
                <button
                    type="button"
                    class="button button--small"
                    aria-label=format!("Copy {label}")
                    on:click=copy
                >
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}
