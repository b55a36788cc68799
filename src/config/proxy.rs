//! Which proxy a connection goes through: an explicit option, or (by
//! default) the environment as curl reads it, and the proxy's URL.

use super::{redact, Secret};
use crate::{
    error::{Error, Result},
    types::ws_status,
};
use percent_encoding::percent_decode_str;
use std::net::IpAddr;
use url::Url;

/// The kind of a proxy, from its URL's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    /// `http://`: HTTP CONNECT.
    Http,
    /// `https://`: HTTP CONNECT to a proxy reached over TLS.
    Https,
    /// `socks5://`: SOCKS5, the client resolves the target's name.
    Socks5,
    /// `socks5h://`: SOCKS5, the proxy resolves it.
    Socks5h,
}

/// A proxy: where it is and how to authenticate.
#[derive(Clone, Debug)]
pub struct Proxy {
    /// Its kind.
    pub kind: ProxyKind,
    /// Host name or address (without IPv6 brackets).
    pub host: String,
    /// Port (default 1080, 443 for `https://`).
    pub port: u16,
    /// User name and password from the URL, percent-decoded.
    pub auth: Option<(String, Secret)>,
    /// The URL for messages and logs, with the user information hidden.
    pub shown: String,
}

impl Proxy {
    /// Parse `http://[user:pass@]host[:port]`, `https://...`, `socks5://...`
    /// or `socks5h://...`; `host:port` alone is an HTTP proxy, as in curl.
    pub fn parse(url: &str) -> Result<Proxy> {
        let shown = redact(url);
        let bad = |why: &str| {
            Error::new(ws_status::WS_ERR_INVALID_URL, format!("invalid proxy URL '{shown}': {why}"))
        };
        let full = if url.contains("://") { url.to_string() } else { format!("http://{url}") };
        let parsed = Url::parse(&full).map_err(|e| bad(&e.to_string()))?;
        let (kind, default_port) = match parsed.scheme() {
            "http" => (ProxyKind::Http, 1080),
            "https" => (ProxyKind::Https, 443),
            "socks5" => (ProxyKind::Socks5, 1080),
            "socks5h" => (ProxyKind::Socks5h, 1080),
            other => {
                return Err(bad(&format!("scheme '{other}' is not http, https, socks5 or socks5h")))
            }
        };
        let host = parsed.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if !matches!(parsed.path(), "" | "/")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(bad("a proxy URL has no path, query or fragment"));
        }
        let port = match parsed.port().unwrap_or(default_port) {
            0 => return Err(bad("port 0")),
            p => p,
        };
        let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
        let auth = if parsed.username().is_empty() && parsed.password().is_none() {
            None
        } else {
            let user = decode(parsed.username()).map_err(|_| bad("the user name is not UTF-8"))?;
            let pass = decode(parsed.password().unwrap_or(""))
                .map_err(|_| bad("the password is not UTF-8"))?;
            Some((user, Secret(pass)))
        };
        let scheme = parsed.scheme();
        let shown_host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
        let shown = match auth {
            Some(_) => format!("{scheme}://***@{shown_host}:{port}"),
            None => format!("{scheme}://{shown_host}:{port}"),
        };
        Ok(Proxy { kind, host: host.to_string(), port, auth, shown })
    }
}

/// The proxy variables of the environment, read once when a connection is
/// created: `http_proxy` (lower case only: a web server's CGI sets
/// `HTTP_PROXY` from a request header), `https_proxy`/`HTTPS_PROXY`,
/// `all_proxy`/`ALL_PROXY` and `no_proxy`/`NO_PROXY`, the lower case first,
/// as curl does. Empty values count as unset.
#[derive(Clone, Debug, Default)]
pub struct ProxyEnv {
    /// For `ws://`.
    pub http: Option<String>,
    /// For `wss://`.
    pub https: Option<String>,
    /// For both, when the one above is unset.
    pub all: Option<String>,
    /// Hosts that go direct.
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// Read the variables now.
    pub fn capture() -> ProxyEnv {
        ProxyEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read the variables through `get` (for tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let first =
            |names: &[&str]| names.iter().find_map(|n| get(n).filter(|v| !v.trim().is_empty()));
        ProxyEnv {
            http: first(&["http_proxy"]),
            https: first(&["https_proxy", "HTTPS_PROXY"]),
            all: first(&["all_proxy", "ALL_PROXY"]),
            no_proxy: first(&["no_proxy", "NO_PROXY"]),
        }
    }

    /// The proxy for a target (`tls`: `wss://`) on `host`, if any.
    pub fn proxy_for(&self, tls: bool, host: &str) -> Result<Option<Proxy>> {
        let url = if tls { self.https.as_ref() } else { self.http.as_ref() }.or(self.all.as_ref());
        let Some(url) = url else { return Ok(None) };
        if self.no_proxy.as_deref().is_some_and(|list| bypasses(list, host)) {
            return Ok(None);
        }
        Proxy::parse(url.trim()).map(Some)
    }
}

/// Whether `host` is in a `no_proxy` list: comma-separated host names
/// (matching the name and every name under it; a leading dot is the same),
/// IP addresses, CIDR ranges (`10.0.0.0/8`, `fd00::/8`) and `*` (every
/// host). A port after an entry is ignored.
pub fn bypasses(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
    let host = host.to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        if let Some((net, bits)) = entry.split_once('/') {
            return match (ip, net.parse::<IpAddr>(), bits.parse::<u32>()) {
                (Some(ip), Ok(net), Ok(bits)) => in_cidr(ip, net, bits),
                _ => false,
            };
        }
        let entry = entry.trim_start_matches('[');
        let name = match entry.split_once(']') {
            Some((v6, _)) => v6.to_string(),
            None if entry.matches(':').count() == 1 => {
                entry.split(':').next().unwrap_or("").to_string()
            }
            None => entry.to_string(),
        };
        let name = name.trim_start_matches('.').trim_end_matches('.').to_ascii_lowercase();
        if let (Some(ip), Ok(addr)) = (ip, name.parse::<IpAddr>()) {
            return ip == addr;
        }
        !name.is_empty() && (host == name || host.ends_with(&format!(".{name}")))
    })
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_parse_with_their_defaults_and_hide_credentials() {
        let p = Proxy::parse("socks5h://al%40ice:p%3Ass@proxy.example").unwrap();
        assert_eq!((p.kind, p.host.as_str(), p.port), (ProxyKind::Socks5h, "proxy.example", 1080));
        let (user, pass) = p.auth.clone().unwrap();
        assert_eq!((user.as_str(), pass.0.as_str()), ("al@ice", "p:ss"));
        assert_eq!(p.shown, "socks5h://***@proxy.example:1080");
        assert_eq!(Proxy::parse("127.0.0.1:3128").unwrap().kind, ProxyKind::Http);
        assert_eq!(Proxy::parse("https://p.example").unwrap().port, 443);
        assert_eq!(Proxy::parse("http://[::1]:8080").unwrap().host, "::1");
        for bad in ["ftp://p", "http://", "http://p:0", "http://p/path", "socks4://p"] {
            let e = Proxy::parse(bad).unwrap_err();
            assert_eq!(e.status, ws_status::WS_ERR_INVALID_URL, "{bad}");
        }
        let e = Proxy::parse("http://user:hunter2@p:99999").unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            ProxyEnv::from_lookup(move |n| {
                pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
            })
        };
        let e = env(&[
            ("HTTP_PROXY", "http://cgi:1"),
            ("HTTPS_PROXY", "http://s:2"),
            ("all_proxy", "socks5://a:3"),
        ]);
        // Upper-case HTTP_PROXY is never read; ALL_PROXY fills in.
        assert_eq!(e.proxy_for(false, "h").unwrap().unwrap().host, "a");
        assert_eq!(e.proxy_for(true, "h").unwrap().unwrap().host, "s");
        let e = env(&[
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:2"),
            ("http_proxy", ""),
        ]);
        assert_eq!(e.proxy_for(true, "h").unwrap().unwrap().host, "lower");
        assert!(e.proxy_for(false, "h").unwrap().is_none(), "an empty variable is unset");
        let e = env(&[("all_proxy", "http://p:1"), ("NO_PROXY", "internal.example, 10.0.0.0/8")]);
        assert!(e.proxy_for(false, "api.internal.example").unwrap().is_none());
        assert!(e.proxy_for(false, "10.2.3.4").unwrap().is_none());
        assert!(e.proxy_for(false, "example.org").unwrap().is_some());
    }

    #[test]
    fn no_proxy_entries_match_names_suffixes_addresses_and_ranges() {
        let list = ".corp.example, localhost:8080, 192.168.1.7, fd00::/8, [::1]";
        for host in
            ["corp.example", "a.b.corp.example", "LOCALHOST", "192.168.1.7", "fd12::1", "[::1]"]
        {
            assert!(bypasses(list, host), "{host}");
        }
        for host in ["notcorp.example", "example", "192.168.1.8", "fe80::1", "localhost.evil"] {
            assert!(!bypasses(list, host), "{host}");
        }
        assert!(bypasses("*", "anything"));
        assert!(bypasses("10.0.0.0/8", "10.255.0.1") && !bypasses("10.0.0.0/8", "11.0.0.1"));
        assert!(!bypasses("", "h") && !bypasses(" , ", "h"));
    }
}
