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
        message.get().map(|m| {
            view! {
                <p class="field__error" role="alert">
                    {m}
                </p>
            }
        })
    }
}

/// What an action did, said once at the top of the page: done, done with a warning, or failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Flash {
    Done(String),
    Warning(String),
    Failed(String),
}

/// The live region that says the last action's outcome (screen readers announce it).
#[component]
pub fn FlashRegion(#[prop(into)] flash: Signal<Option<Flash>>) -> impl IntoView {
    view! {
        <div class="flash-region" aria-live="polite">
            {move || {
                flash
                    .get()
                    .map(|f| match f {
                        Flash::Done(m) => {
                            view! {
                                <div class="notice notice--success" role="status">
                                    <p>{m}</p>
                                </div>
                            }
                                .into_any()
                        }
                        Flash::Warning(m) => {
                            view! {
                                <div class="notice notice--warning" role="status">
                                    <p>{m}</p>
                                </div>
                            }
                                .into_any()
                        }
                        Flash::Failed(m) => {
                            view! {
                                <div class="notice notice--error" role="alert">
                                    <p>{m}</p>
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </div>
    }
}
