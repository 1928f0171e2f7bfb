//! The few browser calls the pages make. They run only in the hydrated client (event handlers
//! and effects); on the server they are compiled and never called.

use wasm_bindgen::JsCast;

/// Copies `text` to the clipboard; `true` when the browser accepted it.
pub async fn copy_to_clipboard(text: String) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let promise = window.navigator().clipboard().write_text(&text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// Offers `content` as a file download named `file_name`, made entirely in the browser.
pub fn download_text(file_name: &str, mime: &str, content: &str) -> bool {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(content));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return false;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return false;
    };
    let Some(anchor) = document
        .create_element("a")
        .ok()
        .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    else {
        return false;
    };
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    true
}

thread_local! {
    /// The element that had focus before the open dialog opened. Browser-only state: never
    /// created during server rendering, where reactive values move between threads.
    static FOCUS_BEFORE_DIALOG: std::cell::RefCell<Option<web_sys::HtmlElement>> =
        const { std::cell::RefCell::new(None) };
}

/// Remembers the focused element, to give focus back when a dialog closes.
pub fn remember_focus() {
    let focused = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    FOCUS_BEFORE_DIALOG.with(|slot| *slot.borrow_mut() = focused);
}

/// Gives focus back to the element remembered by [`remember_focus`], if it is still on the page.
pub fn restore_focus() {
    if let Some(element) = FOCUS_BEFORE_DIALOG.with(|slot| slot.borrow_mut().take()) {
        if element.is_connected() {
            let _ = element.focus();
        }
    }
}
