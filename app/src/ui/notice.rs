//! Notices: an error for the whole page or form, and an error next to its field.

use leptos::prelude::*;

use crate::error::AppError;

#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    view! {
        <div class="notice notice--error" role="alert">
            <p>{error.to_string()}</p>
        </div>
    }
}

#[component]
pub fn FieldError(message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|m| view! { <p class="field__error" role="alert">{m}</p> })
    }
}
