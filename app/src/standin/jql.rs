//! The part of JQL the stand-in understands: `project = X`, `key in (…)`, `issue in (…)` and
//! `updated >= "…"`, joined by AND (`=` and `in` both work for project, key and issue). Anything
//! else is refused with a message that says what is understood, never silently ignored.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clause {
    /// Project keys or numeric ids.
    Project(Vec<String>),
    Keys(Vec<String>),
    /// Issue keys or numeric ids.
    Issues(Vec<String>),
    UpdatedSince(DateTime<Utc>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    AtLeast,
    Open,
    Close,
    Comma,
}

const UNDERSTOOD: &str =
    "The stand-in understands project = X, key in (…), issue in (…) and updated >= \"yyyy-mm-dd\", joined by AND";

fn tokens(jql: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = jql.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                out.push(Token::Equals);
            }
            '>' => {
                chars.next();
                if chars.next() != Some('=') {
                    return Err(format!("{UNDERSTOOD}; '>' is not."));
                }
                out.push(Token::AtLeast);
            }
            '(' | ')' | ',' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '"' | '\'' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some(other) => text.push(other),
                        None => return Err("The JQL has a quote that is never closed.".into()),
                    }
                }
                out.push(Token::Quoted(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&w) = chars.peek() {
                    if w.is_alphanumeric() || matches!(w, '-' | '_' | '.' | ':') {
                        word.push(w);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if word.is_empty() {
                    return Err(format!("{UNDERSTOOD}; '{c}' is not."));
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

fn value(token: Option<Token>) -> Result<String, String> {
    match token {
        Some(Token::Word(w) | Token::Quoted(w)) if !w.trim().is_empty() => Ok(w.trim().to_string()),
        _ => Err(format!("{UNDERSTOOD}; a value is missing.")),
    }
}

/// `= v` or `in (v, …)`.
fn values(rest: &mut std::vec::IntoIter<Token>) -> Result<Vec<String>, String> {
    match rest.next() {
        Some(Token::Equals) => Ok(vec![value(rest.next())?]),
        Some(Token::Word(w)) if w.eq_ignore_ascii_case("in") => {
            if rest.next() != Some(Token::Open) {
                return Err(format!("{UNDERSTOOD}; 'in' takes a list in parentheses."));
            }
            let mut list = vec![value(rest.next())?];
            loop {
                match rest.next() {
                    Some(Token::Comma) => list.push(value(rest.next())?),
                    Some(Token::Close) => return Ok(list),
                    _ => return Err(format!("{UNDERSTOOD}; the list is not closed with ')'.")),
                }
            }
        }
        _ => Err(format!("{UNDERSTOOD}; expected '=' or 'in'.")),
    }
}

/// A date as JQL writes it: `2026-12-01`, `2026-12-01 10:00` or RFC 3339.
fn date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// The clauses of `jql`, all of which an issue must meet.
pub fn parse(jql: &str) -> Result<Vec<Clause>, String> {
    let mut rest = tokens(jql)?.into_iter();
    let mut clauses = Vec::new();
    loop {
        let field = match rest.next() {
            Some(Token::Word(w)) => w.to_ascii_lowercase(),
            None if clauses.is_empty() => return Err("The JQL is empty.".into()),
            _ => return Err(format!("{UNDERSTOOD}.")),
        };
        clauses.push(match field.as_str() {
            "project" => Clause::Project(values(&mut rest)?),
            "key" => Clause::Keys(values(&mut rest)?),
            "issue" | "id" => Clause::Issues(values(&mut rest)?),
            "updated" => {
                if rest.next() != Some(Token::AtLeast) {
                    return Err(format!("{UNDERSTOOD}; updated takes '>='."));
                }
                let text = value(rest.next())?;
                Clause::UpdatedSince(date(&text).ok_or_else(|| {
                    format!("The JQL date \"{text}\" is not yyyy-mm-dd or yyyy-mm-dd hh:mm.")
                })?)
            }
            other => return Err(format!("{UNDERSTOOD}; '{other}' is not.")),
        });
        match rest.next() {
            None => return Ok(clauses),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("and") => {}
            Some(Token::Word(w)) => return Err(format!("{UNDERSTOOD}; '{w}' is not.")),
            Some(_) => return Err(format!("{UNDERSTOOD}.")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_understood_clauses_parse_and_everything_else_is_refused() {
        assert_eq!(
            parse(r#"project = XK AND key in (XK-1, "XK-2") and updated >= "2026-12-01""#),
            Ok(vec![
                Clause::Project(vec!["XK".into()]),
                Clause::Keys(vec!["XK-1".into(), "XK-2".into()]),
                Clause::UpdatedSince(date("2026-12-01T00:00:00Z").unwrap()),
            ])
        );
        assert_eq!(
            parse("issue in (10001,XK-3)"),
            Ok(vec![Clause::Issues(vec!["10001".into(), "XK-3".into()])])
        );
        for refused in [
            "",
            "project = XK OR project = XKB",
            "summary ~ login",
            "project = XK ORDER BY key",
            "key in (XK-1",
            "updated >= \"yesterday\"",
            "project =",
        ] {
            assert!(parse(refused).is_err(), "{refused}");
        }
        assert!(parse("labels = x").unwrap_err().contains("'labels' is not"));
    }
}
