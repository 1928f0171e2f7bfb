//! Addresses: query values for page links, and the sign-in link that comes back.

/// The sign-in page that returns to `here` (a path with its query) afterwards.
pub fn login_path(here: &str) -> String {
    format!("/login?next={}", percent_encode(here, true))
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
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
