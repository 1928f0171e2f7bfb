//! `POST /api/v{1,2}/import/execution/junit?projectKey=…[&testExecKey=…&testPlanKey=…&testEnvironments=…]`:
//! a JUnit XML report, turned into the Xray JSON import it means. Each `<testcase>` is a Generic
//! test whose definition is `classname.name` and whose summary is `name` (found by definition,
//! else created); a `<failure>` or `<error>` makes the run FAILED with its message as comment, a
//! `<skipped>` TODO, anything else PASSED. Xray does not document the matching in detail: this is
//! the observed behaviour clients rely on, modelled.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Deserialize;

use super::import::{Info, TestInfo, TestResult, XrayJson, MAX_TESTS};
use crate::error::AppError;

/// The query of a JUnit import.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JunitQuery {
    pub project_key: Option<String>,
    pub test_exec_key: Option<String>,
    pub test_plan_key: Option<String>,
    /// Semicolon-separated, as Xray takes them.
    pub test_environments: Option<String>,
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::validation("body", message)
}

/// A suite's `timestamp`: ISO 8601, with or without an offset (then UTC).
fn suite_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// The Xray JSON import a JUnit report stands for.
pub fn to_import(body: &[u8], query: JunitQuery) -> Result<XrayJson, AppError> {
    let text = std::str::from_utf8(body).map_err(|_| bad("The body is not UTF-8 text"))?;
    let document = roxmltree::Document::parse(text)
        .map_err(|e| bad(format!("The body is not JUnit XML: {e}")))?;
    let root = document.root_element();
    if !matches!(root.tag_name().name(), "testsuites" | "testsuite") {
        return Err(bad(format!(
            "The body is not JUnit XML: its root is <{}>, not <testsuites> or <testsuite>",
            root.tag_name().name()
        )));
    }
    let mut tests = Vec::new();
    for case in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "testcase")
    {
        let at = format!("testcase {}", tests.len() + 1);
        let name = case
            .attribute("name")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad(format!("{at}: a <testcase> needs a name")))?;
        let classname = case.attribute("classname").unwrap_or_default().trim();
        let definition = if classname.is_empty() {
            name.to_string()
        } else {
            format!("{classname}.{name}")
        };
        let child = |tag: &str| {
            case.children()
                .find(|c| c.is_element() && c.tag_name().name() == tag)
        };
        let problem = child("failure").or_else(|| child("error"));
        let (status, comment) = match (problem, child("skipped")) {
            (Some(node), _) => (
                "FAILED",
                node.attribute("message")
                    .map(str::to_string)
                    .or_else(|| node.text().map(|t| t.trim().to_string()))
                    .unwrap_or_default(),
            ),
            (None, Some(node)) => (
                "TODO",
                node.attribute("message").unwrap_or_default().to_string(),
            ),
            (None, None) => ("PASSED", String::new()),
        };
        let suite = case
            .ancestors()
            .find(|n| n.is_element() && n.tag_name().name() == "testsuite");
        let start = suite
            .and_then(|s| s.attribute("timestamp"))
            .and_then(suite_time);
        let seconds = case
            .attribute("time")
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|t| t.is_finite() && *t >= 0.0 && *t < 1.0e7);
        #[allow(clippy::cast_possible_truncation)]
        let finish = start
            .zip(seconds)
            .map(|(s, t)| s + Duration::milliseconds((t * 1000.0) as i64));
        tests.push(TestResult {
            test_key: None,
            test_info: Some(TestInfo {
                project_key: None,
                summary: Some(name.to_string()),
                test_type: Some("Generic".into()),
                definition: Some(definition),
                steps: Vec::new(),
            }),
            status: Some(status.to_string()),
            comment: Some(comment.chars().take(32_000).collect()),
            start: start.map(|s| s.to_rfc3339()),
            finish: finish.map(|f| f.to_rfc3339()),
        });
        if tests.len() > MAX_TESTS {
            return Err(bad(format!(
                "An import may carry at most {MAX_TESTS} tests"
            )));
        }
    }
    if tests.is_empty() {
        return Err(bad("The JUnit report has no <testcase>"));
    }
    let environments = query
        .test_environments
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect();
    Ok(XrayJson {
        test_execution_key: query.test_exec_key,
        info: Some(Info {
            project: query.project_key,
            test_plan_key: query.test_plan_key,
            test_environments: environments,
            ..Info::default()
        }),
        tests,
    })
}
