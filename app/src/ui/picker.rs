//! The user picker: an ARIA combobox that finds a user by key or name as you type. Pages give
//! it their own search (which users, what badge) through [`PickerItem`] and `find`.

use std::future::Future;

use leptos::prelude::*;

/// A user the picker can offer.
pub trait PickerItem {
    fn user_key(&self) -> &str;
    fn display_name(&self) -> &str;
    /// A short note shown beside the user ("Has a key").
    fn badge(&self) -> Option<&'static str>;
}

/// The ARIA combobox that finds a user by key or name as you type.
#[component]
pub fn UserPicker<T, F, Fut>(
    picked: RwSignal<Option<T>>,
    text: RwSignal<String>,
    /// The users matching a search text, best first.
    find: F,
) -> impl IntoView
where
    T: PickerItem + Clone + Send + Sync + 'static,
    F: Fn(String) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Vec<T>> + 'static,
{
    let open = RwSignal::new(false);
    let active = RwSignal::new(0usize);
    // Fetched into a plain signal, not a resource: a resource read here would suspend the page's
    // Suspense around the dialog, which takes the dialog out of the document and back, and a
    // re-inserted <dialog> stays open but is no longer modal.
    let options = RwSignal::new(Vec::<T>::new());
    let latest = StoredValue::new(0u64);
    Effect::new(move |_| {
        let search = text.get();
        let ticket = latest.get_value() + 1;
        latest.set_value(ticket);
        leptos::task::spawn_local(async move {
            let found = find(search).await;
            // Answers can arrive out of order; only the newest search's counts. The dialog may
            // have closed meanwhile, hence the `try_`.
            if latest.try_get_value() == Some(ticket) {
                options.try_set(found);
            }
        });
    });
    let list = move || options.get();
    let choose = move |candidate: T| {
        text.set(candidate.user_key().to_string());
        picked.set(Some(candidate));
        open.set(false);
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let items = list();
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                open.set(true);
                active.update(|a| *a = (*a + 1).min(items.len().saturating_sub(1)));
            }
            "ArrowUp" => {
                ev.prevent_default();
                active.update(|a| *a = a.saturating_sub(1));
            }
            "Enter" if open.get_untracked() => {
                ev.prevent_default();
                if let Some(c) = items.get(active.get_untracked()).cloned() {
                    choose(c);
                }
            }
            "Escape" if open.get_untracked() => {
                // Close the list, not the dialog.
                ev.prevent_default();
                ev.stop_propagation();
                open.set(false);
            }
            _ => {}
        }
    };
    view! {
        <div class="field combobox">
            <label for="user-picker">"User"</label>
            <input
                id="user-picker"
                class="input"
                role="combobox"
                autocomplete="off"
                aria-autocomplete="list"
                aria-controls="user-picker-list"
                aria-expanded=move || open.get().to_string()
                aria-activedescendant=move || {
                    open.get().then(|| format!("user-option-{}", active.get()))
                }
                placeholder="Search for a user by key or name"
                autofocus
                prop:value=move || text.get()
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    picked.set(None);
                    active.set(0);
                    open.set(true);
                }
                on:focus=move |_| open.set(true)
                on:keydown=on_keydown
            />
            <ul
                id="user-picker-list"
                class="combobox__list"
                role="listbox"
                aria-label="Users"
                hidden=move || !open.get()
            >
                {move || {
                    let items = list();
                    if items.is_empty() {
                        return view! { <li class="combobox__empty">"No matching users"</li> }
                            .into_any();
                    }
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let label = format!("{} ({})", c.display_name(), c.user_key());
                            let badge = c.badge();
                            let candidate = c.clone();
                            view! {
                                <li
                                    id=format!("user-option-{i}")
                                    role="option"
                                    class="combobox__option"
                                    aria-selected=move || (active.get() == i).to_string()
                                    on:mousedown=move |ev| {
                                        ev.prevent_default();
                                        choose(candidate.clone());
                                    }
                                >
                                    {label}
                                    {badge.map(|text| view! { <span class="badge">{text}</span> })}
                                </li>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
            </ul>
            {move || {
                picked
                    .get()
                    .map(|c| {
                        view! {
                            <p class="field__hint">
                                {format!("Selected: {} ({})", c.display_name(), c.user_key())}
                            </p>
                        }
                    })
            }}
        </div>
    }
}
