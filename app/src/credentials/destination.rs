//! Where the stored secret may be sent. The connection test (and the backup job after it) POSTs
//! the Client secret to the configured API, so a custom URL must not turn this server into a
//! proxy into its own network: custom hosts are https and public, unless the server's operator
//! lists them in `XRAY_KEYS_XRAY_HOSTS`.

use std::net::{IpAddr, SocketAddr};

use super::BaseUrl;

/// Which hosts the secret may go to, beside the public internet.
#[derive(Clone, Debug, Default)]
pub struct HostPolicy {
    /// `host` (any port) or `host:port`, lower-case; IPv6 in brackets.
    listed: Vec<String>,
    /// This server's own authorities (`host:port`): its loopback root and its public URL.
    this_server: Vec<String>,
}

/// Where a request is allowed to go.
#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    /// A host the policy names: reached by its name, as any client would.
    Named,
    /// A public host: reached only at the address that was checked (no second lookup).
    Pinned { host: String, addr: SocketAddr },
}

/// Why a destination is refused. The message is for the operator and names no address.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub String);

impl HostPolicy {
    pub fn new(listed: &[String], this_server: &[String]) -> Self {
        HostPolicy {
            listed: listed
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            this_server: this_server
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
        }
    }

    /// The policy of a server run with `config`: its listed hosts, and its own addresses (the
    /// loopback root the connection test uses for "This server", and its public URL).
    pub fn for_server(config: &crate::config::Config) -> Self {
        let own = [
            super::connection::self_root(config.listen),
            config.public_url.clone(),
        ];
        let this_server: Vec<String> = own.iter().filter_map(|url| authority_of(url)).collect();
        HostPolicy::new(&config.xray_hosts, &this_server)
    }

    /// Whether the policy names the target, so that no lookup is needed: a listed host, this
    /// server, or Xray Cloud.
    fn names(&self, target: &Target) -> bool {
        let (host, port) = (&target.host, target.port);
        let with_port = format!("{host}:{port}");
        self.listed.iter().any(|l| l == host || *l == with_port)
            || self.this_server.contains(&with_port)
            || is_xray_cloud(target)
    }

    /// The checks that need no lookup, run when the form is saved: plain http only to listed
    /// hosts, and an address written as a number must be public unless listed.
    pub fn check_static(&self, base: &BaseUrl) -> Result<(), Refused> {
        self.unnamed_target(base).map(|_| ())
    }

    /// The custom target that needs a lookup (`None`: the policy names it, or it is no custom
    /// URL), after the checks that need none.
    fn unnamed_target(&self, base: &BaseUrl) -> Result<Option<Target>, Refused> {
        let BaseUrl::Custom(url) = base else {
            return Ok(None);
        };
        let target = Target::parse(url)?;
        if self.names(&target) {
            return Ok(None);
        }
        if !target.https {
            return Err(Refused(
                "Plain http is allowed only to hosts the server's operator lists in \
                 XRAY_KEYS_XRAY_HOSTS; use https."
                    .into(),
            ));
        }
        if let Some(ip) = target.ip_literal() {
            if !is_public(ip) {
                return Err(not_public());
            }
        }
        if target.host == "localhost" || target.host.ends_with(".localhost") {
            return Err(not_public());
        }
        Ok(Some(target))
    }

    /// Decides where a request to `base` may connect, resolving the host when the policy does
    /// not name it.
    pub async fn resolve(&self, base: &BaseUrl) -> Result<Destination, Refused> {
        let Some(target) = self.unnamed_target(base)? else {
            return Ok(Destination::Named);
        };
        let bare = target.host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((bare, target.port)).await {
            Ok(addrs) => addrs.collect(),
            Err(_) => {
                return Err(Refused(
                    "The host name of the Xray API could not be found.".into(),
                ))
            }
        };
        // Every address must be public: a name that also resolves inside the network could be
        // answered either way on the next lookup.
        if addrs.is_empty() || addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(not_public());
        }
        Ok(Destination::Pinned {
            host: bare.to_string(),
            addr: addrs[0],
        })
    }
}

fn not_public() -> Refused {
    Refused(
        "This host is on a private, loopback or link-local network. Only public hosts, Xray \
         Cloud and hosts the server's operator lists in XRAY_KEYS_XRAY_HOSTS are allowed."
            .into(),
    )
}

/// One of the Xray Cloud API roots the form offers (global and the regions), over https.
fn is_xray_cloud(target: &Target) -> bool {
    let authority = format!("{}:{}", target.host, target.port);
    target.https
        && [
            BaseUrl::XrayGlobal,
            BaseUrl::XrayUs,
            BaseUrl::XrayEu,
            BaseUrl::XrayAu,
        ]
        .iter()
        .filter_map(BaseUrl::xray_cloud_root)
        .any(|root| authority_of(root).as_deref() == Some(authority.as_str()))
}

/// `host:port` of an http(s) URL, lower-case, IPv6 in brackets, with the scheme's default port
/// made explicit.
pub fn authority_of(url: &str) -> Option<String> {
    Target::parse(url)
        .ok()
        .map(|t| format!("{}:{}", t.host, t.port))
}

struct Target {
    https: bool,
    /// Lower-case; IPv6 in brackets.
    host: String,
    port: u16,
}

impl Target {
    fn parse(url: &str) -> Result<Self, Refused> {
        let bad = || Refused("This is not a valid URL.".into());
        let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
        let https = match parsed.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(bad()),
        };
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err(bad()),
        };
        let port = parsed.port_or_known_default().ok_or_else(bad)?;
        Ok(Target { https, host, port })
    }

    fn ip_literal(&self) -> Option<IpAddr> {
        self.host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    }
}

/// Whether `ip` is an address on the public internet: not private, loopback, link-local,
/// unique-local (ULA), shared (CGNAT), unspecified, multicast, broadcast or documentation.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 can reach IPv4 inside
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(url: &str) -> BaseUrl {
        BaseUrl::Custom(url.into())
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fc12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "100.128.0.1", "52.1.2.3", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn listed_hosts_and_xray_cloud_pass_the_static_check() {
        let policy = HostPolicy::new(
            &["xray-proxy.corp.example".into(), "127.0.0.1:8443".into()],
            &["127.0.0.1:3000".into()],
        );
        for ok in [
            "https://xray-proxy.corp.example/api",
            "https://xray-proxy.corp.example:9443/api",
            "http://127.0.0.1:8443/api",
            "https://127.0.0.1:8443/api",
            "http://127.0.0.1:3000/api",
            "https://eu.xray.cloud.getxray.app/api",
            "https://xray.example.com/api",
        ] {
            assert_eq!(policy.check_static(&custom(ok)), Ok(()), "{ok}");
        }
        for refused in [
            "http://xray.example.com/api",
            "http://127.0.0.1:8444/api",
            "https://127.0.0.1:8444/api",
            "https://10.0.0.5/api",
            "https://[::1]:8443/api",
            "https://[fd00::5]/api",
            "https://169.254.169.254/latest",
            "https://localhost/api",
            "http://eu.xray.cloud.getxray.app/api",
        ] {
            assert!(policy.check_static(&custom(refused)).is_err(), "{refused}");
        }
        assert_eq!(policy.check_static(&BaseUrl::XrayUs), Ok(()));
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_the_network_is_refused_and_a_literal_is_pinned() {
        let policy = HostPolicy::default();
        // `localhost.` (with the root dot) escapes the name check but resolves to loopback.
        assert!(policy
            .resolve(&custom("https://localhost.:8443/api"))
            .await
            .is_err());
        assert_eq!(
            policy.resolve(&custom("https://1.1.1.1/api")).await,
            Ok(Destination::Pinned {
                host: "1.1.1.1".into(),
                addr: "1.1.1.1:443".parse().unwrap()
            })
        );
        assert_eq!(
            policy.resolve(&BaseUrl::XrayGlobal).await,
            Ok(Destination::Named)
        );
    }
}
