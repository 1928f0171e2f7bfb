//! Addresses: a list's place in its page's query (search, page, size), query values for page
//! links, and the sign-in link that comes back.

use leptos_router::params::ParamsMap;

/// The search text of a list (`?q=`), or "".
pub fn query_search(query: &ParamsMap) -> String {
    query.get("q").unwrap_or_default()
}

/// The page of a list (`?page=`), 1 when absent or not a number.
pub fn query_page(query: &ParamsMap) -> u64 {
    query
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(1)
}

/// The page size of a list (`?size=`): one of `choices`, else `default`.
pub fn query_size(query: &ParamsMap, choices: &[u64], default: u64) -> u64 {
    query
        .get("size")
        .and_then(|p| p.parse::<u64>().ok())
        .filter(|n| choices.contains(n))
        .unwrap_or(default)
}

/// The address of `path` showing a list at `search`, `page` and, when it is not the list's
/// default, `size`; no search and page 1 are left out too.
pub fn list_href(path: &str, search: &str, page: u64, size: Option<u64>) -> String {
    let mut parts = Vec::new();
    if !search.is_empty() {
        parts.push(format!("q={}", js_encode(search)));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if let Some(size) = size {
        parts.push(format!("size={size}"));
    }
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// `href` with `name=value` added to its query.
pub fn with_query(href: &str, name: &str, value: &str) -> String {
    let joint = if href.contains('?') { '&' } else { '?' };
    format!("{href}{joint}{name}={}", js_encode(value))
}

/// The sign-in page that returns to `here` (a path with its query) afterwards.
pub fn login_path(here: &str) -> String {
    format!(
        "{}?next={}",
        crate::auth::SIGN_IN_PAGE,
        percent_encode(here, true)
    )
}

/// `s` percent-encoded as `encodeURIComponent` does (for a query value in a page link).
pub fn js_encode(s: &str) -> String {
    percent_encode(s, false)
}

fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_address_leaves_out_its_defaults() {
        assert_eq!(list_href("/api-keys", "", 1, None), "/api-keys");
        assert_eq!(
            list_href("/api-keys", "a b", 3, Some(50)),
            "/api-keys?q=a%20b&page=3&size=50"
        );
    }
}
