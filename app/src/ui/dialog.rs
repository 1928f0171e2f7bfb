//! A real modal dialog: the browser's `<dialog>` opened with `showModal()`, so the rest of the
//! page is inert and focus stays inside; Esc closes it, and focus returns where it was.

use leptos::prelude::*;

#[component]
pub fn Modal(
    /// Whether the dialog is open.
    open: Signal<bool>,
    /// Called when the dialog closes by itself (Esc) or through `open`.
    on_close: Callback<()>,
    /// The id of the element holding the dialog's title.
    labelled_by: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let dialog_ref = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let Some(dialog) = dialog_ref.get() else {
            return;
        };
        if open.get() {
            if !dialog.open() {
                crate::browser::remember_focus();
                let _ = dialog.show_modal();
            }
        } else if dialog.open() {
            dialog.close();
        }
    });
    view! {
        <dialog
            node_ref=dialog_ref
            class="dialog"
            aria-labelledby=labelled_by
            on:close=move |_| {
                on_close.run(());
                crate::browser::restore_focus();
            }
        >
            {move || open.get().then(|| children())}
        </dialog>
    }
}

/// The body of a confirmation dialog: title, text, any fields it asks for, progress while it
/// runs, Confirm and Cancel.
#[component]
pub fn Confirm(
    title: String,
    text: String,
    confirm_label: &'static str,
    danger: bool,
    #[prop(into)] pending: Signal<bool>,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
    /// Fields the confirmation asks for besides (a grace period, an expiry).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="dialog__header">
            <h2 id="dialog-title">{title}</h2>
        </div>
        <div class="dialog__body">
            <p>{text}</p>
            {children.map(|fields| view! { <div class="form">{fields()}</div> })}
            // Bulk work on thousands of keys takes a moment: say that it is running.
            <Show when=move || pending.get()>
                <div
                    class="progress"
                    role="progressbar"
                    aria-label="Working"
                    aria-valuetext="Working on it…"
                >
                    <span class="progress__bar"></span>
                </div>
                <p class="field__hint" role="status">
                    "Working on it… This can take a few seconds for thousands of keys."
                </p>
            </Show>
        </div>
        <div class="dialog__footer">
            <button
                type="button"
                class=if danger { "button button--danger" } else { "button button--primary" }
                disabled=move || pending.get()
                on:click=move |_| on_confirm.run(())
            >
                {confirm_label}
            </button>
            <button
                type="button"
                class="button button--subtle"
                autofocus
                on:click=move |_| on_cancel.run(())
            >
                "Cancel"
            </button>
        </div>
    }
}
