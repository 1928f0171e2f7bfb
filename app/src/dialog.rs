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
