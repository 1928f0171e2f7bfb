//! The connection test: authenticate at `<root>/v2/authenticate` as Xray clients do, then make
//! one light read with the token, and say which of the known outcomes happened.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::destination::{Destination, HostPolicy, Refused};
use super::{BaseUrl, Outcome};
use crate::config::Config;

/// A Client secret read back from storage. No `Debug`, no `Serialize`.
pub struct XraySecret(String);

impl XraySecret {
    pub fn new(secret: String) -> Self {
        XraySecret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The most of an answer the test reads.
const MAX_ANSWER: usize = 64 * 1024;
/// A light read on Xray Cloud: one test's count.
const GRAPHQL_PROBE: &str = r#"{"query":"{ getTests(limit: 1) { total } }"}"#;

#[derive(Clone)]
pub struct Tester {
    /// This server's own API root, reached over loopback.
    pub self_root: String,
    /// For each request (connect included).
    pub timeout: Duration,
    /// Where the secret may be sent.
    pub policy: HostPolicy,
    /// This server's Xray stand-in is on: a test of "This server" also reads through its
    /// GraphQL, as a backup job will.
    pub standin_graphql: bool,
}

impl Tester {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn for_server(config: &Config) -> Self {
        Tester {
            policy: HostPolicy::for_server(config),
            self_root: self_root(config.listen),
            timeout: Self::DEFAULT_TIMEOUT,
            standin_graphql: config.xray_standin,
        }
    }

    fn root(&self, base: &BaseUrl) -> String {
        match base {
            BaseUrl::ThisServer => self.self_root.clone(),
            BaseUrl::Custom(url) => url.clone(),
            cloud => cloud.xray_cloud_root().unwrap_or_default().to_string(),
        }
    }

    /// The HTTP client and API root for `base`, once the policy allows the destination (checked
    /// before anything is sent: the first request carries the secret). The connection test and
    /// the backup run both use it.
    pub async fn client_for(&self, base: &BaseUrl) -> Result<(reqwest::Client, String), Outcome> {
        let destination = match self.policy.resolve(base).await {
            Ok(d) => d,
            Err(Refused(reason)) => return Err(Outcome::NotAllowed { detail: reason }),
        };
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            // A redirect is an answer to report (it may point at another region), not to follow.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("xray-keys/", env!("CARGO_PKG_VERSION")));
        if *base == BaseUrl::ThisServer {
            builder = builder.no_proxy();
        }
        if let Destination::Pinned { host, addr } = &destination {
            // Connect to the address that was checked; a proxy would look the name up again.
            builder = builder.resolve(host, *addr).no_proxy();
        }
        let client = builder.build().map_err(|e| {
            tracing::error!(error = %e, "cannot build the HTTP client");
            Outcome::Unreachable {
                detail: "the HTTP client could not be set up".into(),
            }
        })?;
        Ok((client, self.root(base)))
    }

    pub async fn test(&self, base: &BaseUrl, client_id: &str, secret: &XraySecret) -> Outcome {
        let (client, root) = match self.client_for(base).await {
            Ok(pair) => pair,
            Err(outcome) => return outcome,
        };
        let token = match authenticate(&client, &root, client_id, secret).await {
            Ok(token) => token,
            Err(outcome) => return outcome,
        };
        match base {
            BaseUrl::ThisServer => match whoami(&client, &root, &token).await {
                connected @ Outcome::Connected { .. } if self.standin_graphql => {
                    match graphql_read(&client, &root, &token).await {
                        Outcome::Connected { .. } => connected,
                        other => other,
                    }
                }
                other => other,
            },
            BaseUrl::Custom(_) => match whoami(&client, &root, &token).await {
                // Not an xray-keys server: read the way Xray Cloud allows.
                Outcome::Unexpected { status: 404, .. } => {
                    graphql_read(&client, &root, &token).await
                }
                other => other,
            },
            _ => graphql_read(&client, &root, &token).await,
        }
    }
}

/// `http://<loopback>:<port>/api` for the address the server listens on.
pub fn self_root(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/api", SocketAddr::new(ip, listen.port()))
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

/// Sends `request` and reads its answer (at most [`MAX_ANSWER`] bytes of body).
async fn exchange(request: reqwest::RequestBuilder) -> Result<Answer, Outcome> {
    let response = request.send().await.map_err(|e| classify(&e))?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut response = response;
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_ANSWER {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => return Err(classify(&e)),
        }
    }
    Ok(Answer {
        status,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

async fn authenticate(
    client: &reqwest::Client,
    root: &str,
    client_id: &str,
    secret: &XraySecret,
) -> Result<String, Outcome> {
    let body = serde_json::json!({ "client_id": client_id, "client_secret": secret.expose() });
    let answer = exchange(
        client
            .post(format!("{root}/v2/authenticate"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string()),
    )
    .await?;
    match answer.status {
        200 => match serde_json::from_str::<String>(answer.body.trim()) {
            Ok(token) if !token.is_empty() => Ok(token),
            _ => Err(unexpected(200, "authenticate (no token in the answer)")),
        },
        401 => Err(Outcome::InvalidCredentials),
        _ => Err(region_or_unexpected(&answer, "authenticate")),
    }
}

async fn whoami(client: &reqwest::Client, root: &str, token: &str) -> Outcome {
    let request = client.get(format!("{root}/v2/whoami")).bearer_auth(token);
    let answer = match exchange(request).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    if answer.status != 200 {
        return data_read_refused(&answer, "whoami");
    }
    let who: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
    let name = |key: &str| who.get(key).and_then(|v| v.as_str()).map(str::to_string);
    match (name("display_name"), name("user_key")) {
        (Some(display), Some(key)) => Outcome::Connected {
            as_user: Some(format!("{display} ({key})")),
        },
        _ => unexpected(200, "whoami (not a user in the answer)"),
    }
}

async fn graphql_read(client: &reqwest::Client, root: &str, token: &str) -> Outcome {
    let request = client
        .post(format!("{root}/v2/graphql"))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(GRAPHQL_PROBE);
    let answer = match exchange(request).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    if answer.status != 200 {
        return data_read_refused(&answer, "the data read");
    }
    if mentions_region(&answer.body) {
        return Outcome::OtherRegion {
            detail: "the data read answered with a region error".into(),
        };
    }
    // GraphQL reports a refused read as 200 with `errors` and no data.
    let read: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
    if read.get("data").is_none_or(serde_json::Value::is_null) {
        return unexpected(200, "the data read (GraphQL errors)");
    }
    Outcome::Connected { as_user: None }
}

/// The token was issued but the read with it failed. A refusal right after a successful
/// authentication is what Xray does when the data lives in another region.
fn data_read_refused(answer: &Answer, step: &str) -> Outcome {
    match answer.status {
        401 | 403 => Outcome::OtherRegion {
            detail: format!("{step} answered HTTP {} with a fresh token", answer.status),
        },
        _ => region_or_unexpected(answer, step),
    }
}

fn region_or_unexpected(answer: &Answer, step: &str) -> Outcome {
    let redirected_to_region = answer
        .location
        .as_deref()
        .is_some_and(|l| l.contains(".xray.cloud.getxray.app"));
    if (300..500).contains(&answer.status)
        && (redirected_to_region || mentions_region(&answer.body))
    {
        return Outcome::OtherRegion {
            detail: match &answer.location {
                Some(l) if redirected_to_region => format!("{step} was sent to {l}"),
                _ => format!("{step} answered HTTP {} about the region", answer.status),
            },
        };
    }
    unexpected(answer.status, step)
}

fn mentions_region(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("region") || lower.contains("data residency")
}

fn unexpected(status: u16, step: &str) -> Outcome {
    Outcome::Unexpected {
        status,
        step: step.to_string(),
    }
}

/// Sorts a failed request into timeout, TLS, or unreachable. The outcome names a category,
/// never the operating system's text: that would tell a closed port from an open one.
fn classify(err: &reqwest::Error) -> Outcome {
    if err.is_timeout() {
        return Outcome::TimedOut;
    }
    let mut causes = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = source {
        causes.push(e.to_string());
        source = e.source();
    }
    let all = causes.join(": ").to_ascii_lowercase();
    tracing::info!(cause = %all, "connection test request failed");
    if all.contains("timed out") {
        return Outcome::TimedOut;
    }
    if all.contains("certificate") {
        return Outcome::Tls {
            detail: "TLS certificate not valid".into(),
        };
    }
    let tls_words = [
        "tls",
        "handshake",
        "invalidcontenttype",
        "corrupt message",
        "peer misbehaved",
    ];
    if tls_words.iter().any(|w| all.contains(w)) {
        return Outcome::Tls {
            detail: "TLS handshake failed".into(),
        };
    }
    Outcome::Unreachable {
        detail: "Could not connect".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_server_is_reached_over_loopback() {
        assert_eq!(
            self_root("0.0.0.0:3000".parse().unwrap()),
            "http://127.0.0.1:3000/api"
        );
        assert_eq!(
            self_root("[::]:8080".parse().unwrap()),
            "http://[::1]:8080/api"
        );
        assert_eq!(
            self_root("10.0.0.5:80".parse().unwrap()),
            "http://10.0.0.5:80/api"
        );
    }

    #[test]
    fn refusals_after_authentication_point_at_the_region() {
        let refused = Answer {
            status: 403,
            location: None,
            body: String::new(),
        };
        assert!(matches!(
            data_read_refused(&refused, "x"),
            Outcome::OtherRegion { .. }
        ));
        let moved = Answer {
            status: 307,
            location: Some("https://eu.xray.cloud.getxray.app/api/v2/graphql".into()),
            body: String::new(),
        };
        assert!(matches!(
            region_or_unexpected(&moved, "x"),
            Outcome::OtherRegion { .. }
        ));
        let broken = Answer {
            status: 502,
            location: None,
            body: "Bad gateway".into(),
        };
        assert_eq!(
            region_or_unexpected(&broken, "authenticate"),
            Outcome::Unexpected {
                status: 502,
                step: "authenticate".into()
            }
        );
    }
}
