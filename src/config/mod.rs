//! Connection options, validated when they are set so that a mistake is
//! reported by the call that made it.

use crate::{
    error::{Error, Result},
    policy::backoff::{BackoffConfig, ReconnectPolicy},
    types::ws_status,
    wire::DeflateConfig,
};
use data_encoding::BASE64;
use percent_encoding::percent_decode_str;
use std::time::Duration;
use tungstenite::http::{header::HeaderName, HeaderValue, Uri};
use url::Url;

pub mod proxy;
use proxy::{Proxy, ProxyEnv};

/// Default connect timeout in ms: the TCP connect.
pub const WS_DEFAULT_CONNECT_TIMEOUT_MS: u32 = 10_000;
/// Default handshake timeout in ms: the TLS handshake and the HTTP upgrade,
/// counted from the TCP connect.
pub const WS_DEFAULT_HANDSHAKE_TIMEOUT_MS: u32 = 5_000;
/// Default largest number of events received and not yet delivered; at the
/// limit the worker stops reading the socket until the consumer catches up.
pub const WS_DEFAULT_RECEIVE_MAX_EVENTS: u64 = 1_000;
/// Default largest number of message bytes received and not yet delivered
/// (16 MiB).
pub const WS_DEFAULT_RECEIVE_MAX_BYTES: u64 = 16 << 20;
/// Default largest frame the server may send, in bytes (64 MiB). A frame's
/// buffer is reserved when its header arrives, so this bounds what a
/// hostile header can make the client allocate; messages in several frames
/// may still be as large as the max message size.
pub const WS_DEFAULT_MAX_FRAME_SIZE: usize = 64 << 20;
/// Default time in ms to wait for the server's close frame after sending ours.
pub const WS_DEFAULT_CLOSE_TIMEOUT_MS: u32 = 5_000;
/// Default maximum size of one message in bytes, either way (64 MiB).
pub const WS_DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;
/// Largest accepted maximum message size in bytes (2 GiB).
pub const WS_MAX_MESSAGE_SIZE_LIMIT: usize = 2_147_483_648;
/// Default read buffer size in bytes (128 KiB).
pub const WS_DEFAULT_READ_BUFFER_SIZE: usize = 128 << 10;
/// Smallest accepted read buffer size in bytes.
pub const WS_MIN_READ_BUFFER_SIZE: usize = 256;
/// Largest accepted read buffer size in bytes (64 MiB).
pub const WS_MAX_READ_BUFFER_SIZE: usize = 64 << 20;
/// Largest accepted timeout in ms (one day); the smallest is 1.
pub const WS_MAX_TIMEOUT_MS: u32 = 86_400_000;
/// Smallest accepted worker thread stack size in bytes (32 KiB).
pub const WS_MIN_THREAD_STACK_SIZE: usize = 32 << 10;
/// Largest accepted worker thread stack size in bytes (64 MiB).
const MAX_THREAD_STACK_SIZE: usize = 64 << 20;
/// Default interval between heartbeat pings in ms (0 turns them off).
pub const WS_DEFAULT_PING_INTERVAL_MS: u32 = 30_000;
/// Default time in ms to wait for any sign of life after a ping.
pub const WS_DEFAULT_PONG_TIMEOUT_MS: u32 = 5_000;
/// Default delay before the first reconnect attempt, in ms.
pub const WS_DEFAULT_INITIAL_DELAY_MS: u32 = 1_000;
/// Default largest delay between reconnect attempts, in ms.
pub const WS_DEFAULT_MAX_DELAY_MS: u32 = 30_000;
/// Default time in ms a connection must stay open before the attempt count
/// resets.
pub const WS_DEFAULT_MIN_UPTIME_MS: u32 = 5_000;
/// Default largest number of messages waiting to be sent.
pub const WS_DEFAULT_QUEUE_MAX_MESSAGES: u64 = 100_000;
/// Default largest number of bytes waiting to be sent (256 MiB).
pub const WS_DEFAULT_QUEUE_MAX_BYTES: u64 = 256 << 20;
/// permessage-deflate (RFC 7692) is offered by default.
const DEFAULT_PERMESSAGE_DEFLATE: bool = true;
/// Default size in bytes below which a message is sent uncompressed (1 KiB).
pub const WS_DEFAULT_DEFLATE_THRESHOLD: usize = 1024;
/// Default deflate level (0 stores, 1 is the fastest, 9 the smallest).
pub const WS_DEFAULT_DEFLATE_LEVEL: u32 = 6;

/// A parsed `ws://` or `wss://` URL: parsed as the WHATWG URL Standard says
/// (as browsers do: host in lower case or punycode, default port dropped,
/// dot segments resolved), with the stricter checks of [`Target::parse`].
#[derive(Clone)]
pub struct Target {
    /// The normalised URL for messages and logs ([`redact`]): everything
    /// between `//` and the last `@` replaced by `***`, control characters
    /// escaped.
    pub url: String,
    /// The URL for the upgrade request, without user information.
    pub uri: Uri,
    /// The same, parsed: the base a redirect's `Location` is resolved
    /// against.
    pub base: Url,
    /// Host name (ASCII, lower case) or address, without IPv6 brackets.
    pub host: String,
    /// Port, explicit or the scheme's default.
    pub port: u16,
    /// Whether the scheme is `wss`.
    pub tls: bool,
    /// `Basic` credentials from `user:password@` in the URL (marked
    /// sensitive), sent unless an `Authorization` header is set.
    pub authorization: Option<HeaderValue>,
    /// Whether an `@` follows the host in a URL without user information,
    /// as in `ws://alice:123/PW@host/`: the host may then be part of a
    /// mistyped password, and messages do not name it
    /// ([`Target::shown_host`]).
    host_hidden: bool,
}

/// Shows only the redacted URL: the other fields may hold what an `@`
/// later in the URL made part of a password.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("url", &self.url).finish_non_exhaustive()
    }
}

/// Where user information could start in `url`, as written or mistyped:
/// after `scheme://`, else at the beginning.
fn userinfo_start(url: &str) -> usize {
    match url.find("://") {
        Some(i)
            if i > 0
                && url[..i].chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            i + 3
        }
        _ => 0,
    }
}

/// A URL fit for messages and logs: everything between `//` and the last
/// `@` of the whole string is replaced by `***`, so that a password holding
/// an unencoded `/`, `?`, `#` or `@` is hidden too (at the price of hiding
/// the host of a URL with an `@` in its path or query). Control characters
/// are escaped.
pub fn redact(url: &str) -> String {
    let start = userinfo_start(url);
    let shown = match url[start..].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_string(),
    };
    crate::log::escape(&shown).into_owned()
}

/// Whether `url` has an `@` that [`redact`] hides: then no part of the URL
/// other than the redacted form may be quoted in a message.
fn has_hidden_part(url: &str) -> bool {
    url[userinfo_start(url)..].contains('@')
}

/// The authority of `url` as written: from after `scheme://` to the first
/// `/`, `\`, `?` or `#`, where the URL Standard ends it.
fn written_authority(url: &str) -> &str {
    let rest = &url[userinfo_start(url)..];
    &rest[..rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len())]
}

/// The port of `url` as written, if a `:` follows its host.
fn written_port(url: &str) -> Option<&str> {
    let authority = written_authority(url);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let after_host = host_port.rsplit_once(']').map_or(host_port, |(_, rest)| rest);
    after_host.rsplit_once(':').map(|(_, port)| port)
}

/// Why a port is refused; the port is quoted only when `shown`.
fn bad_port(port: Option<&str>, shown: bool) -> String {
    let quoted = port.filter(|_| shown).map_or(String::new(), |p| format!(" '{p}'"));
    format!("bad port{quoted} (expected a number from 1 to 65535)")
}

/// What the URL Standard accepts and this client refuses in a URL as
/// written (`url` is a URL with a `scheme://`, or a redirect's `Location`):
/// spaces and control characters, which the Standard drops or encodes
/// silently; `scheme:///`, where it skips the extra slashes to find a host;
/// and an empty port.
fn written_problem(url: &str) -> Option<String> {
    if url.chars().any(|c| c.is_ascii_control() || c == ' ') {
        return Some("spaces and control characters are not allowed (percent-encode them)".into());
    }
    if userinfo_start(url) > 0 {
        if written_authority(url).is_empty() {
            return Some("no host".into());
        }
        if written_port(url) == Some("") {
            return Some(bad_port(Some(""), !has_hidden_part(url)));
        }
    }
    None
}

/// Why `url` did not parse (`e`), quoting its port only when nothing is
/// hidden.
fn parse_problem(e: url::ParseError, url: &str) -> String {
    match e {
        url::ParseError::EmptyHost => "no host".into(),
        url::ParseError::InvalidPort => bad_port(written_port(url), !has_hidden_part(url)),
        // The URL crate's messages name the problem, never the text.
        e => e.to_string(),
    }
}

/// Whether every `%` in `s` starts a `%XX` escape.
fn well_encoded(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == b'%')
        .all(|(i, _)| b.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)))
}

/// Standard base64 with padding (RFC 4648, section 4).
pub fn base64(data: &[u8]) -> String {
    BASE64.encode(data)
}

/// Largest number of redirects `ws_config_set_max_redirects` accepts.
pub const WS_MAX_REDIRECTS: u32 = 20;

/// What is said after a URL is refused when it has an `@` that is not in
/// its authority: a password with an unencoded `/`, `?` or `#` ends the
/// authority early, and the parts cannot be quoted.
const PERCENT_ENCODE_HINT: &str = " (if the '@' ends a user name and password, percent-encode \
                                   any '/', '?', '#' or '@' in them)";

impl Target {
    /// The target a redirect's `Location` points to, resolved against this
    /// URL as the URL Standard says (`/abs`, `../x`, `x?y`, `//host/x` or
    /// absolute, with `http` read as `ws` and `https` as `wss`). A redirect
    /// from `wss` to `ws` is refused. The credentials of this URL go along
    /// only to the same origin (scheme, host and port); elsewhere only those
    /// written in the `Location` are sent.
    pub fn redirect(&self, location: &str) -> std::result::Result<Target, String> {
        let shown = redact(location);
        let invalid = |why: String| format!("the redirect Location '{shown}' is not valid: {why}");
        if let Some(why) = written_problem(location) {
            return Err(invalid(why));
        }
        let mut next = self.base.join(location).map_err(|e| invalid(parse_problem(e, location)))?;
        let scheme = match next.scheme() {
            "ws" | "http" => "ws",
            "wss" | "https" => "wss",
            _ => {
                return Err(format!(
                    "the redirect to '{shown}' is not to a ws, wss, http or https URL"
                ))
            }
        };
        // From one special scheme to another: always allowed.
        let _ = next.set_scheme(scheme);
        let mut next = Target::from_url(next).map_err(invalid)?;
        if self.tls && !next.tls {
            return Err(format!(
                "refused a redirect from {} to {}: it would drop TLS",
                self.url, next.url
            ));
        }
        if next.authorization.is_none() && self.same_origin(&next) {
            next.authorization.clone_from(&self.authorization);
        }
        Ok(next)
    }

    /// Whether `other` has the same origin: scheme, host and port.
    pub fn same_origin(&self, other: &Target) -> bool {
        self.tls == other.tls
            && self.port == other.port
            && self.host.eq_ignore_ascii_case(&other.host)
    }

    /// The host for a message: `host 'example.com'`, or, when an `@`
    /// follows it in a URL without user information, words that do not
    /// name it (it may be part of a mistyped password).
    pub fn shown_host(&self) -> String {
        if self.host_hidden {
            format!(
                "the host of {} (not shown: it may be part of a password{PERCENT_ENCODE_HINT})",
                self.url
            )
        } else {
            format!("host '{}'", self.host)
        }
    }

    /// Parse and check a WebSocket URL: a `ws://` or `wss://` URL by the URL
    /// Standard, without a fragment, with a host and a port from 1 to 65535,
    /// written with `//` after the scheme, without spaces or control
    /// characters and without an empty port. `user:password@`
    /// (percent-decoded) becomes a `Basic` authorization; it never appears
    /// in messages or logs, and neither does any part of a URL that an `@`
    /// could make part of a password (see [`redact`]).
    pub fn parse(url: &str) -> Result<Target> {
        let bad = |why: String| {
            let hint = if has_hidden_part(url)
                && userinfo_start(url) > 0
                && !written_authority(url).contains('@')
            {
                PERCENT_ENCODE_HINT
            } else {
                ""
            };
            Error::new(
                ws_status::WS_ERR_INVALID_URL,
                format!("invalid URL '{}': {why}{hint}", redact(url)),
            )
        };
        let start = userinfo_start(url);
        if start == 0 {
            return Err(bad("no scheme (expected ws:// or wss://)".into()));
        }
        // A scheme before "://" is never hidden.
        let scheme = url[..start - 3].to_ascii_lowercase();
        if scheme != "ws" && scheme != "wss" {
            return Err(bad(format!("scheme '{scheme}' is not ws or wss")));
        }
        if let Some(why) = written_problem(url) {
            return Err(bad(why));
        }
        let parsed = Url::parse(url).map_err(|e| bad(parse_problem(e, url)))?;
        Target::from_url(parsed).map_err(bad)
    }

    /// Check a parsed URL and take its credentials out.
    fn from_url(mut parsed: Url) -> std::result::Result<Target, String> {
        let hidden = has_hidden_part(parsed.as_str());
        let tls = match parsed.scheme() {
            "ws" => false,
            "wss" => true,
            other => return Err(format!("scheme '{other}' is not ws or wss")),
        };
        let host = parsed.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("no host".into());
        }
        let host = host.to_string();
        let port = match parsed.port_or_known_default() {
            Some(0) | None => return Err(bad_port(Some("0"), !hidden)),
            Some(port) => port,
        };
        if parsed.fragment().is_some() {
            return Err("a WebSocket URL must not have a fragment".into());
        }
        let (user, password) = (parsed.username(), parsed.password());
        let authorization = if user.is_empty() && password.is_none() {
            None
        } else {
            if !well_encoded(user) || !password.is_none_or(well_encoded) {
                return Err("bad percent-encoding in the user information".into());
            }
            // RFC 7617: user-id ":" password, the password maybe empty.
            let mut credentials: Vec<u8> = percent_decode_str(user).collect();
            credentials.push(b':');
            credentials.extend(percent_decode_str(password.unwrap_or("")));
            let mut v = HeaderValue::from_str(&format!("Basic {}", BASE64.encode(&credentials)))
                .expect("base64 is a valid header value");
            v.set_sensitive(true);
            Some(v)
        };
        let url = redact(parsed.as_str());
        // Without user information (always possible for ws and wss).
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        // http's messages name the problem, never the text.
        let uri: Uri = parsed.as_str().parse().map_err(|e| format!("{e}"))?;
        let host_hidden = hidden && authorization.is_none();
        Ok(Target { url, uri, base: parsed, host, port, tls, authorization, host_hidden })
    }
}

/// TLS material given by options.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// Extra trusted roots, from the CA file.
    pub ca_certs: Vec<native_tls::Certificate>,
    /// Client certificate and key.
    pub identity: Option<native_tls::Identity>,
    /// Skip certificate and host name verification.
    pub insecure: bool,
    /// The TLS server name (SNI, and the name verified), instead of the
    /// URL's host.
    pub server_name: Option<String>,
    /// The password of an encrypted client key (kept out of `Debug`).
    pub key_password: Option<Secret>,
}

/// A text that is never shown (a password).
#[derive(Clone, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// All options of one connection.
#[derive(Clone)]
pub struct Config {
    /// Where to connect.
    pub target: Option<Target>,
    /// Extra HTTP headers for the upgrade request.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Subprotocols to offer, in order of preference.
    pub subprotocols: Vec<String>,
    /// Budget for the TCP connect.
    pub connect_timeout: Duration,
    /// Budget for the TLS handshake and the HTTP upgrade.
    pub handshake_timeout: Duration,
    /// Most events received and not yet delivered.
    pub receive_max_events: u64,
    /// Most message bytes received and not yet delivered.
    pub receive_max_bytes: u64,
    /// Largest frame accepted from the server (capped by the message size).
    pub max_frame_size: usize,
    /// How long to wait for the server's close frame.
    pub close_timeout: Duration,
    /// Maximum message size, either way.
    pub max_message_size: usize,
    /// Read buffer size.
    pub read_buffer_size: usize,
    /// TLS options.
    pub tls: TlsOptions,
    /// The TLS connector built from `tls` when the handle is created.
    pub connector: Option<native_tls::TlsConnector>,
    /// Interval between pings; zero turns the heartbeat off.
    pub ping_interval: Duration,
    /// How long after a ping silence means a dead peer.
    pub pong_timeout: Duration,
    /// Send this text message as the ping instead of a protocol ping frame.
    pub ping_payload: Option<String>,
    /// The reconnect delays.
    pub backoff: BackoffConfig,
    /// Which endings are final.
    pub reconnect: ReconnectPolicy,
    /// How long a connection must stay open before the attempt count resets.
    pub min_uptime: Duration,
    /// Most messages waiting to be sent.
    pub queue_max_messages: u64,
    /// Most bytes waiting to be sent.
    pub queue_max_bytes: u64,
    /// Queue sends while not open (else they fail with WS_ERR_NOT_CONNECTED).
    pub queue_while_disconnected: bool,
    /// Seed of the backoff jitter; `None` picks one per handle.
    pub seed: Option<u64>,
    /// Stack size of the worker thread; `None`: the platform default.
    pub thread_stack_size: Option<usize>,
    /// HTTP redirects followed per connection attempt (0: none).
    pub max_redirects: u32,
    /// Deliver the server's pings as events.
    pub ping_events: bool,
    /// The `User-Agent` header sent unless the headers have one (None:
    /// none).
    pub user_agent: Option<HeaderValue>,
    /// The proxy given by `ws_config_set_proxy` (None with `proxy_set`: go
    /// direct).
    pub proxy: Option<Proxy>,
    /// Whether `ws_config_set_proxy` was called.
    pub proxy_set: bool,
    /// User and password for the proxy, instead of those in its URL.
    pub proxy_auth: Option<(String, Secret)>,
    /// Whether the environment's proxy variables apply (without an
    /// explicit proxy).
    pub proxy_from_env: bool,
    /// The environment's proxy variables, read when the connection was
    /// created.
    pub proxy_env: ProxyEnv,
    /// permessage-deflate: whether it is offered, and how we compress.
    pub deflate: DeflateConfig,
}

/// The `User-Agent` sent by default.
pub const USER_AGENT: &str = concat!("wsclient/", env!("CARGO_PKG_VERSION"));

impl Default for Config {
    fn default() -> Self {
        Config {
            target: None,
            headers: Vec::new(),
            subprotocols: Vec::new(),
            connect_timeout: Duration::from_millis(WS_DEFAULT_CONNECT_TIMEOUT_MS.into()),
            handshake_timeout: ms(WS_DEFAULT_HANDSHAKE_TIMEOUT_MS),
            receive_max_events: WS_DEFAULT_RECEIVE_MAX_EVENTS,
            receive_max_bytes: WS_DEFAULT_RECEIVE_MAX_BYTES,
            max_frame_size: WS_DEFAULT_MAX_FRAME_SIZE,
            close_timeout: Duration::from_millis(WS_DEFAULT_CLOSE_TIMEOUT_MS.into()),
            max_message_size: WS_DEFAULT_MAX_MESSAGE_SIZE,
            read_buffer_size: WS_DEFAULT_READ_BUFFER_SIZE,
            tls: TlsOptions::default(),
            connector: None,
            ping_interval: ms(WS_DEFAULT_PING_INTERVAL_MS),
            pong_timeout: ms(WS_DEFAULT_PONG_TIMEOUT_MS),
            ping_payload: None,
            backoff: BackoffConfig {
                initial: ms(WS_DEFAULT_INITIAL_DELAY_MS),
                max: ms(WS_DEFAULT_MAX_DELAY_MS),
                ..BackoffConfig::default()
            },
            reconnect: ReconnectPolicy::default(),
            min_uptime: ms(WS_DEFAULT_MIN_UPTIME_MS),
            queue_max_messages: WS_DEFAULT_QUEUE_MAX_MESSAGES,
            queue_max_bytes: WS_DEFAULT_QUEUE_MAX_BYTES,
            queue_while_disconnected: true,
            seed: None,
            thread_stack_size: None,
            max_redirects: 0,
            ping_events: false,
            user_agent: Some(HeaderValue::from_static(USER_AGENT)),
            proxy: None,
            proxy_set: false,
            proxy_auth: None,
            proxy_from_env: true,
            proxy_env: ProxyEnv::default(),
            deflate: DeflateConfig {
                enabled: DEFAULT_PERMESSAGE_DEFLATE,
                threshold: WS_DEFAULT_DEFLATE_THRESHOLD,
                level: WS_DEFAULT_DEFLATE_LEVEL,
                ..DeflateConfig::default()
            },
        }
    }
}

/// A window-bits option: 0 for none, else 8..=15.
fn window_bits(name: &str, bits: u32) -> Result<Option<u8>> {
    match u8::try_from(bits) {
        Ok(0) => Ok(None),
        Ok(b @ 8..=15) => Ok(Some(b)),
        _ => Err(Error::invalid(format!("{name} must be 0 or 8 to 15, got {bits}"))),
    }
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(v.into())
}

/// Words that make a request header a credential when its name contains one
/// (case-insensitive), besides `Authorization`, `Proxy-Authorization` and
/// `Cookie`: such a header is marked sensitive, and is not sent to another
/// origin after a redirect.
pub const SECRET_HEADER_WORDS: [&str; 9] =
    ["auth", "cookie", "credential", "key", "passw", "secret", "session", "signature", "token"];

/// Whether a request header may carry a credential: `Authorization`,
/// `Proxy-Authorization`, `Cookie`, a name with one of
/// [`SECRET_HEADER_WORDS`], or a value marked sensitive.
pub fn is_credential(name: &HeaderName, value: &HeaderValue) -> bool {
    let n = name.as_str();
    value.is_sensitive()
        || matches!(n, "authorization" | "proxy-authorization" | "cookie")
        || SECRET_HEADER_WORDS.iter().any(|w| n.contains(w))
}

/// A header name for a message about a bad one: only its leading token
/// characters (what a valid name is made of), at most 64 of them, so that a
/// caller who passed `"Authorization: Bearer ..."` as the name never sees the
/// rest in a message.
fn shown_name(name: &str) -> String {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let end = name.find(|c: char| !is_tchar(c)).unwrap_or(name.len()).min(64);
    name[..end].to_string()
}

/// Check an extra request header; those the handshake sets itself are
/// refused. Messages name the header, never its value. A header that may
/// carry a credential ([`is_credential`]) is marked sensitive.
pub fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        let shown = shown_name(name);
        Error::invalid(if name.is_empty() {
            "an empty HTTP header name is not valid".to_string()
        } else if shown == name {
            format!("'{shown}' is not a valid HTTP header name")
        } else if shown.is_empty() {
            "an HTTP header name must be made of letters, digits and !#$%&'*+-.^_`|~; this one \
             is not, from its first character (the rest is not shown)"
                .to_string()
        } else {
            format!(
                "the HTTP header name starting '{shown}' is not valid: what follows is too long \
                 or has a character not allowed in a header name, such as a space or ':' (the \
                 rest is not shown)"
            )
        })
    })?;
    const OWNED: [&str; 6] = [
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
    ];
    if OWNED.contains(&name.as_str()) {
        return Err(Error::invalid(format!(
            "header '{name}' is set by the handshake (use the subprotocol option for Sec-WebSocket-Protocol)"
        )));
    }
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        Error::invalid(format!("the value of header '{name}' has invalid characters"))
    })?;
    // Credentials: kept out of Debug output (values are never logged
    // anyway) and out of cross-origin redirects.
    value.set_sensitive(is_credential(&name, &value));
    Ok((name, value))
}

/// Check a duration in ms against `0..=WS_MAX_TIMEOUT_MS` (`zero_ok`) or
/// `1..=WS_MAX_TIMEOUT_MS`.
pub fn duration_ms(name: &str, v: u32, zero_ok: bool) -> Result<Duration> {
    let lo = u32::from(!zero_ok);
    if !(lo..=WS_MAX_TIMEOUT_MS).contains(&v) {
        return Err(Error::invalid(format!(
            "{name} must be between {lo} and {WS_MAX_TIMEOUT_MS} ms, got {v}"
        )));
    }
    Ok(ms(v))
}

/// Check a millisecond timeout against the accepted range.
pub fn timeout_ms(name: &str, v: u32) -> Result<Duration> {
    duration_ms(name, v, false)
}

impl Config {
    /// Point this config at a redirect's target (from [`Target::redirect`]).
    /// When the origin (scheme, host or port) changes, every header that may
    /// carry a credential ([`is_credential`]) is dropped, for the rest of
    /// the redirects of this attempt; returns the names of what was dropped.
    pub fn follow_redirect(&mut self, next: Target) -> Vec<String> {
        let mut dropped = Vec::new();
        let Some(current) = &self.target else {
            self.target = Some(next);
            return dropped;
        };
        if !current.same_origin(&next) {
            if current.authorization.is_some() {
                dropped.push("the URL's credentials".to_string());
            }
            self.headers.retain(|(name, value)| {
                let secret = is_credential(name, value);
                if secret {
                    dropped.push(name.to_string());
                }
                !secret
            });
        }
        self.target = Some(next);
        dropped
    }

    /// Set the URL.
    pub fn set_url(&mut self, url: &str) -> Result<()> {
        self.target = Some(Target::parse(url)?);
        Ok(())
    }

    /// Set the connect timeout (`1..=WS_MAX_TIMEOUT_MS` ms).
    pub fn set_connect_timeout_ms(&mut self, ms: u32) -> Result<()> {
        self.connect_timeout = timeout_ms("connect timeout", ms)?;
        Ok(())
    }

    /// Set the handshake timeout (`1..=WS_MAX_TIMEOUT_MS` ms).
    pub fn set_handshake_timeout_ms(&mut self, ms: u32) -> Result<()> {
        self.handshake_timeout = timeout_ms("handshake timeout", ms)?;
        Ok(())
    }

    /// Set the close timeout (`1..=WS_MAX_TIMEOUT_MS` ms).
    pub fn set_close_timeout_ms(&mut self, ms: u32) -> Result<()> {
        self.close_timeout = timeout_ms("close timeout", ms)?;
        Ok(())
    }

    /// Set the heartbeat interval (`0..=WS_MAX_TIMEOUT_MS` ms; 0: off).
    pub fn set_ping_interval_ms(&mut self, ms: u32) -> Result<()> {
        self.ping_interval = duration_ms("ping interval", ms, true)?;
        Ok(())
    }

    /// Set the pong timeout (`1..=WS_MAX_TIMEOUT_MS` ms).
    pub fn set_pong_timeout_ms(&mut self, ms: u32) -> Result<()> {
        self.pong_timeout = timeout_ms("pong timeout", ms)?;
        Ok(())
    }

    /// Send `text` as each heartbeat instead of a ping frame; `None`: ping
    /// frames.
    pub fn set_ping_payload(&mut self, text: Option<&str>) -> Result<()> {
        self.ping_payload = text.map(str::to_string);
        Ok(())
    }

    /// Skip certificate and host name verification (tests only).
    pub fn set_insecure(&mut self, insecure: bool) -> Result<()> {
        self.tls.insecure = insecure;
        Ok(())
    }

    /// Turn reconnecting on or off.
    pub fn set_reconnect(&mut self, enabled: bool) -> Result<()> {
        self.reconnect.enabled = enabled;
        Ok(())
    }

    /// Set the initial reconnect delay (`1..=WS_MAX_TIMEOUT_MS` ms; whether
    /// it is above the max delay is checked by [`Config::check`]).
    pub fn set_initial_delay_ms(&mut self, ms: u32) -> Result<()> {
        self.backoff.initial = timeout_ms("initial delay", ms)?;
        Ok(())
    }

    /// Set the largest reconnect delay (`1..=WS_MAX_TIMEOUT_MS` ms).
    pub fn set_max_delay_ms(&mut self, ms: u32) -> Result<()> {
        self.backoff.max = timeout_ms("max delay", ms)?;
        Ok(())
    }

    /// Give up after this many consecutive failed attempts (0: never).
    pub fn set_max_attempts(&mut self, attempts: u32) -> Result<()> {
        self.backoff.max_attempts = attempts;
        Ok(())
    }

    /// Set how long a connection must stay open before the attempt count
    /// resets (`0..=WS_MAX_TIMEOUT_MS` ms).
    pub fn set_min_uptime_ms(&mut self, ms: u32) -> Result<()> {
        self.min_uptime = duration_ms("min uptime", ms, true)?;
        Ok(())
    }

    /// Whether messages sent while not connected wait in the queue.
    pub fn set_queue_while_disconnected(&mut self, enabled: bool) -> Result<()> {
        self.queue_while_disconnected = enabled;
        Ok(())
    }

    /// Follow up to `max` redirects per attempt (at most
    /// [`WS_MAX_REDIRECTS`]).
    pub fn set_max_redirects(&mut self, max: u32) -> Result<()> {
        if max > WS_MAX_REDIRECTS {
            return Err(Error::invalid(format!(
                "max redirects must be at most {WS_MAX_REDIRECTS}, got {max}"
            )));
        }
        self.max_redirects = max;
        Ok(())
    }

    /// Seed the backoff jitter.
    pub fn set_random_seed(&mut self, seed: u64) -> Result<()> {
        self.seed = Some(seed);
        Ok(())
    }

    /// Set the worker thread's stack size: 0 (the platform default) or
    /// `WS_MIN_THREAD_STACK_SIZE..=64 MiB` bytes.
    pub fn set_thread_stack_size(&mut self, bytes: usize) -> Result<()> {
        if bytes != 0 && !(WS_MIN_THREAD_STACK_SIZE..=MAX_THREAD_STACK_SIZE).contains(&bytes) {
            return Err(Error::invalid(format!(
                "thread stack size must be 0 or between 32 KiB and 64 MiB, got {bytes}"
            )));
        }
        self.thread_stack_size = (bytes != 0).then_some(bytes);
        Ok(())
    }

    /// Add a request header. Headers the handshake owns are refused.
    pub fn add_header(&mut self, name: &str, value: &str) -> Result<()> {
        self.headers.push(header(name, value)?);
        Ok(())
    }

    /// Offer a subprotocol.
    pub fn add_subprotocol(&mut self, protocol: &str) -> Result<()> {
        let is_token = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
        if protocol.is_empty() || !protocol.chars().all(is_token) {
            return Err(Error::invalid(format!("'{protocol}' is not a valid subprotocol token")));
        }
        if !self.subprotocols.iter().any(|p| p == protocol) {
            self.subprotocols.push(protocol.to_string());
        }
        Ok(())
    }

    /// Set the maximum message size.
    pub fn set_max_message_size(&mut self, size: usize) -> Result<()> {
        if size == 0 || size > WS_MAX_MESSAGE_SIZE_LIMIT {
            return Err(Error::invalid(format!(
                "max message size must be between 1 and {WS_MAX_MESSAGE_SIZE_LIMIT} bytes, got {size}"
            )));
        }
        self.max_message_size = size;
        Ok(())
    }

    /// Set the largest frame accepted from the server.
    pub fn set_max_frame_size(&mut self, size: usize) -> Result<()> {
        if size == 0 || size > WS_MAX_MESSAGE_SIZE_LIMIT {
            return Err(Error::invalid(format!(
                "max frame size must be between 1 and {WS_MAX_MESSAGE_SIZE_LIMIT} bytes, got {size}"
            )));
        }
        self.max_frame_size = size;
        Ok(())
    }

    /// The frame size limit in force: never above the message size limit.
    pub fn frame_limit(&self) -> usize {
        self.max_frame_size.min(self.max_message_size)
    }

    /// Set the receive limit in events (at least 1).
    pub fn set_receive_max_events(&mut self, events: u64) -> Result<()> {
        if events == 0 {
            return Err(Error::invalid("the receive limit must be at least 1 event"));
        }
        self.receive_max_events = events;
        Ok(())
    }

    /// Set the receive limit in bytes (at least 1).
    pub fn set_receive_max_bytes(&mut self, bytes: u64) -> Result<()> {
        if bytes == 0 {
            return Err(Error::invalid("the receive limit must be at least 1 byte"));
        }
        self.receive_max_bytes = bytes;
        Ok(())
    }

    /// Set the read buffer size.
    pub fn set_read_buffer_size(&mut self, size: usize) -> Result<()> {
        let (lo, hi) = (WS_MIN_READ_BUFFER_SIZE, WS_MAX_READ_BUFFER_SIZE);
        if !(lo..=hi).contains(&size) {
            return Err(Error::invalid(format!(
                "read buffer size must be between {lo} and {hi} bytes, got {size}"
            )));
        }
        self.read_buffer_size = size;
        Ok(())
    }

    /// Trust the certificates of a PEM file, in addition to the system roots.
    pub fn set_ca_file(&mut self, path: &str) -> Result<()> {
        let pem = read_file("CA file", path)?;
        self.set_ca(&pem, &format!("CA file '{path}'"), ws_status::WS_ERR_FILE)
    }

    /// Trust the CA certificates of a PEM text (as `set_ca_file` does).
    pub fn set_ca_pem(&mut self, pem: &str) -> Result<()> {
        self.set_ca(pem.as_bytes(), "the CA PEM", ws_status::WS_ERR_INVALID_ARGUMENT)
    }

    /// The trusted roots from `pem`; `what` names it in errors, which never
    /// quote it.
    fn set_ca(&mut self, pem: &[u8], what: &str, status: ws_status) -> Result<()> {
        let certs = native_tls::Certificate::stack_from_pem(pem)
            .map_err(|e| Error::new(status, format!("{what} is not valid PEM: {e}")))?;
        if certs.is_empty() {
            return Err(Error::new(status, format!("{what} holds no certificate")));
        }
        self.tls.ca_certs = certs;
        Ok(())
    }

    /// Present a client certificate (PEM chain) with its PKCS#8 PEM key.
    pub fn set_client_cert(&mut self, cert_path: &str, key_path: &str) -> Result<()> {
        let cert = read_file("client certificate", cert_path)?;
        let key = read_file("client key", key_path)?;
        let what = format!("client certificate '{cert_path}' with key '{key_path}'");
        self.set_identity(&cert, &key, &what, ws_status::WS_ERR_FILE)
    }

    /// Present a client certificate and key given as PEM texts (as
    /// `set_client_cert` does).
    pub fn set_client_cert_pem(&mut self, cert_pem: &str, key_pem: &str) -> Result<()> {
        let (cert, key) = (cert_pem.as_bytes(), key_pem.as_bytes());
        self.set_identity(
            cert,
            key,
            "the client certificate PEM",
            ws_status::WS_ERR_INVALID_ARGUMENT,
        )
    }

    fn set_identity(
        &mut self,
        cert: &[u8],
        key: &[u8],
        what: &str,
        status: ws_status,
    ) -> Result<()> {
        let decrypted;
        let key = if contains(key, b"ENCRYPTED PRIVATE KEY") {
            let Some(password) = &self.tls.key_password else {
                return Err(Error::new(
                    status,
                    format!(
                        "{what}: the key is encrypted; give its password first \
                         (ws_config_set_client_key_password)"
                    ),
                ));
            };
            decrypted = decrypt_key(key, &password.0)
                .map_err(|e| Error::new(status, format!("{what}: cannot decrypt the key: {e}")))?;
            &decrypted[..]
        } else {
            key
        };
        let identity = native_tls::Identity::from_pkcs8(cert, key).map_err(|e| {
            Error::new(status, format!("{what} is not usable (PEM, PKCS#8 key): {e}"))
        })?;
        self.tls.identity = Some(identity);
        Ok(())
    }

    /// Send `agent` as the `User-Agent` header ("" sends none).
    pub fn set_user_agent(&mut self, agent: &str) -> Result<()> {
        self.user_agent =
            if agent.is_empty() { None } else { Some(header("User-Agent", agent)?.1) };
        Ok(())
    }

    /// Go through the proxy at `url` ("": no proxy, and not the
    /// environment's either).
    pub fn set_proxy(&mut self, url: &str) -> Result<()> {
        self.proxy = if url.is_empty() { None } else { Some(Proxy::parse(url)?) };
        self.proxy_set = true;
        Ok(())
    }

    /// Authenticate to the proxy (the explicit one or the environment's) as
    /// `user` with `password`, instead of the URL's user information.
    pub fn set_proxy_auth(&mut self, user: &str, password: &str) -> Result<()> {
        self.proxy_auth = Some((user.to_string(), Secret(password.to_string())));
        Ok(())
    }

    /// Whether the environment's proxy variables apply (default true).
    pub fn set_proxy_from_env(&mut self, enabled: bool) -> Result<()> {
        self.proxy_from_env = enabled;
        Ok(())
    }

    /// Read the environment's proxy variables, if they apply: when the
    /// connection is created, on the caller's thread (the environment is
    /// not safe to read while another thread may change it). A variable
    /// that is not a proxy URL is an error now rather than at each attempt.
    pub fn capture_proxy_env(&mut self) -> Result<()> {
        if self.proxy_set || !self.proxy_from_env {
            return Ok(());
        }
        self.proxy_env = ProxyEnv::capture();
        for url in
            [&self.proxy_env.http, &self.proxy_env.https, &self.proxy_env.all].into_iter().flatten()
        {
            Proxy::parse(url.trim()).map_err(|e| {
                Error::new(
                    e.status,
                    format!("{} (from the environment's proxy variables)", e.message),
                )
            })?;
        }
        Ok(())
    }

    /// The proxy for the current target, if any, with the credentials of
    /// `set_proxy_auth` when given.
    pub fn proxy_for(&self, target: &Target) -> Result<Option<Proxy>> {
        let proxy = if self.proxy_set {
            self.proxy.clone()
        } else if self.proxy_from_env {
            self.proxy_env.proxy_for(target.tls, &target.host)?
        } else {
            None
        };
        Ok(proxy.map(|mut p| {
            if let Some(auth) = &self.proxy_auth {
                p.auth = Some(auth.clone());
            }
            p
        }))
    }

    /// Use `name` as the TLS server name (SNI and verification).
    pub fn set_server_name(&mut self, name: &str) -> Result<()> {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(Error::invalid("the TLS server name must be a host name or an IP address"));
        }
        self.tls.server_name = Some(name.to_string());
        Ok(())
    }

    /// The password of the encrypted key given to the client certificate
    /// setters after this.
    pub fn set_client_key_password(&mut self, password: &str) -> Result<()> {
        self.tls.key_password = Some(Secret(password.to_string()));
        Ok(())
    }

    /// Deliver the server's pings as `WS_EVENT_PING` events (they are
    /// answered either way).
    pub fn set_ping_events(&mut self, enabled: bool) -> Result<()> {
        self.ping_events = enabled;
        Ok(())
    }

    /// Offer permessage-deflate, or not.
    pub fn set_permessage_deflate(&mut self, enabled: bool) -> Result<()> {
        self.deflate.enabled = enabled;
        Ok(())
    }

    /// Our window: 0 offers `client_max_window_bits` with no value (the
    /// server picks, we follow), 8..=15 caps our compressor's window.
    pub fn set_deflate_client_max_window_bits(&mut self, bits: u32) -> Result<()> {
        self.deflate.client_max_window_bits = window_bits("client max window bits", bits)?;
        Ok(())
    }

    /// The server's window: 0 asks nothing, 8..=15 asks for that at most.
    pub fn set_deflate_server_max_window_bits(&mut self, bits: u32) -> Result<()> {
        self.deflate.server_max_window_bits = window_bits("server max window bits", bits)?;
        Ok(())
    }

    /// Ask the server to reset its compressor after each message.
    pub fn set_deflate_server_no_context_takeover(&mut self, on: bool) -> Result<()> {
        self.deflate.server_no_context_takeover = on;
        Ok(())
    }

    /// Reset our compressor after each message (and say so).
    pub fn set_deflate_client_no_context_takeover(&mut self, on: bool) -> Result<()> {
        self.deflate.client_no_context_takeover = on;
        Ok(())
    }

    /// Messages shorter than `bytes` are sent uncompressed.
    pub fn set_deflate_threshold(&mut self, bytes: usize) -> Result<()> {
        self.deflate.threshold = bytes;
        Ok(())
    }

    /// The deflate level, 0..=9.
    pub fn set_deflate_level(&mut self, level: u32) -> Result<()> {
        if level > 9 {
            return Err(Error::invalid(format!("deflate level must be 0 to 9, got {level}")));
        }
        self.deflate.level = level;
        Ok(())
    }

    /// Set the backoff multiplier (1..=100).
    pub fn set_backoff_multiplier(&mut self, m: f64) -> Result<()> {
        if !(1.0..=100.0).contains(&m) {
            return Err(Error::invalid(format!(
                "backoff multiplier must be between 1 and 100, got {m}"
            )));
        }
        self.backoff.multiplier = m;
        Ok(())
    }

    /// Set the backoff jitter (0..=1).
    pub fn set_backoff_jitter(&mut self, j: f64) -> Result<()> {
        if !(0.0..=1.0).contains(&j) {
            return Err(Error::invalid(format!("backoff jitter must be between 0 and 1, got {j}")));
        }
        self.backoff.jitter = j;
        Ok(())
    }

    /// Set the server close codes that end reconnecting.
    pub fn set_final_close_codes(&mut self, codes: &[u16]) -> Result<()> {
        if let Some(c) = codes.iter().find(|c| !(1000..=4999).contains(*c)) {
            return Err(Error::invalid(format!("close code {c} is not between 1000 and 4999")));
        }
        self.reconnect.final_close_codes = codes.to_vec();
        Ok(())
    }

    /// Set the upgrade statuses that end reconnecting.
    pub fn set_fatal_http_statuses(&mut self, statuses: &[u16]) -> Result<()> {
        if let Some(s) = statuses.iter().find(|s| !(100..=599).contains(*s)) {
            return Err(Error::invalid(format!("HTTP status {s} is not between 100 and 599")));
        }
        self.reconnect.fatal_http_statuses = statuses.to_vec();
        Ok(())
    }

    /// Set both send queue limits.
    pub fn set_queue_limit(&mut self, messages: u64, bytes: u64) -> Result<()> {
        if messages == 0 || bytes == 0 {
            return Err(Error::invalid("queue limits must be at least 1 message and 1 byte"));
        }
        self.queue_max_messages = messages;
        self.queue_max_bytes = bytes;
        Ok(())
    }

    /// Set the send queue's limit in messages.
    pub fn set_queue_max_messages(&mut self, messages: u64) -> Result<()> {
        self.set_queue_limit(messages, self.queue_max_bytes)
    }

    /// Set the send queue's limit in bytes.
    pub fn set_queue_max_bytes(&mut self, bytes: u64) -> Result<()> {
        self.set_queue_limit(self.queue_max_messages, bytes)
    }

    /// Check what single setters cannot: run by `ws_create_with_config`.
    pub fn check(&self) -> Result<()> {
        if self.backoff.initial > self.backoff.max {
            return Err(Error::invalid(format!(
                "initial delay ({:?}) is larger than max delay ({:?})",
                self.backoff.initial, self.backoff.max
            )));
        }
        Ok(())
    }

    /// The TLS settings for an `https://` proxy: the trusted roots of this
    /// config (and the insecure switch), no client certificate.
    pub fn proxy_tls_connector(&self) -> Result<native_tls::TlsConnector> {
        self.connector(false)
    }

    /// Build the TLS connector for `wss://`.
    pub fn tls_connector(&self) -> Result<native_tls::TlsConnector> {
        self.connector(true)
    }

    fn connector(&self, with_identity: bool) -> Result<native_tls::TlsConnector> {
        let mut b = native_tls::TlsConnector::builder();
        for c in crate::tls::system_roots().iter().chain(&self.tls.ca_certs) {
            b.add_root_certificate(c.clone());
        }
        if let Some(id) = self.tls.identity.as_ref().filter(|_| with_identity) {
            b.identity(id.clone());
        }
        b.danger_accept_invalid_certs(self.tls.insecure);
        b.danger_accept_invalid_hostnames(self.tls.insecure);
        b.build()
            .map_err(|e| Error::new(ws_status::WS_ERR_INTERNAL, format!("cannot set up TLS: {e}")))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An encrypted PKCS#8 PEM key as a plain PKCS#8 PEM key.
#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
fn decrypt_key(pem: &[u8], password: &str) -> std::result::Result<Vec<u8>, String> {
    let key = openssl::pkey::PKey::private_key_from_pem_passphrase(pem, password.as_bytes())
        .map_err(|_| "wrong password, or not an encrypted PKCS#8 key".to_string())?;
    key.private_key_to_pem_pkcs8().map_err(|e| e.to_string())
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "windows"))]
fn decrypt_key(_pem: &[u8], _password: &str) -> std::result::Result<Vec<u8>, String> {
    Err("encrypted keys are not supported on this platform".to_string())
}

fn read_file(what: &str, path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::new(ws_status::WS_ERR_FILE, format!("cannot read {what} '{path}': {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = Target::parse("ws://example.com/chat?x=1").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("example.com", 80, false));
        let t = Target::parse("WSS://[::1]:9443").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("::1", 9443, true));
        for bad in [
            "http://x",
            "ws://",
            "ws://:80",
            "ws://host:99999",
            "ws://host:0",
            "host:80",
            "",
            "ws://h/#f",
            "ws://u:%zz@h/",
            // What the URL Standard accepts and a WebSocket URL may not have.
            "ws:///path",
            "ws:h/x",
            "ws:/h/x",
            "ws:\\\\h/x",
            "ws://h:/x",
            "ws://h/#",
            "ws://h/?#x",
            "ws://h/a b",
            " ws://h/",
            "ws://h/\t",
            "wss//x",
            "//h/x",
            "https://h/",
            "ws://h:65536/",
            "ws://[::1/",
            "ws://exa mple.com/",
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert_eq!(e.status, ws_status::WS_ERR_INVALID_URL, "{bad}");
            assert!(e.message.starts_with("invalid URL '"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth_and_stay_out_of_messages() {
        let t = Target::parse("ws://al%40ce:s3cr%3At@example.com:81/x?y").unwrap();
        assert_eq!(t.url, "ws://***@example.com:81/x?y");
        assert_eq!(t.uri.to_string(), "ws://example.com:81/x?y");
        let auth = t.authorization.unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth.to_str().unwrap(), format!("Basic {}", base64(b"al@ce:s3cr:t")));
        let e = Target::parse("wss://user:hunter2@host:99999/").unwrap_err();
        assert!(!e.message.contains("hunter2") && e.message.contains("***@"), "{}", e.message);
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }

    const MARK: &str = "S3CR3TMARK";

    #[test]
    fn no_part_of_a_malformed_url_that_could_be_a_password_is_shown() {
        for url in [
            "ws://alice:S3CR3TMARK/PW@host/",
            "ws://alice:S3C/R3TMARK@host/",
            "ws://alice:S3CR3TMARK?x@host/",
            "ws://alice:S3CR3TMARK#x@host/",
            "ws://alice:S3C#R3TMARK@host:99999/",
            "wss://alice:S3CR3TMARK@host:99999/",
            "wss://alice:S3CR3TMARK@host:0/",
            "ws://alice:S3CR3TMARK@",
            "ws://alice:S3CR3TMARK@/",
            "ws://alice:S3CR3TMARK%zz@host/",
            "ws://alice:S3CR3TMARK@host/#frag",
            "ws://alice:S3CR3TMARK@[::1/",
            "ftp://alice:S3CR3TMARK@host/",
            "alice:S3CR3TMARK@host",
            "ws:alice:S3CR3TMARK@host",
            "ws:/alice:S3CR3TMARK@host",
            "ws:alice:S3C//R3TMARK@host",
            "ws://S3CR3TMARK:@host:x/",
            // The URL Standard drops tabs and line breaks: refused here.
            "ws://alice:S3CR3TMARK\n@host/",
            "ws://alice:S3CR3TMARK@host:1\n/",
            "ws://alice:S3CR3TMARK@ho st/",
            "ws://alice:S3CR3TMARK@host:/",
            "ws://alice:S3CR3TMARK@h/#",
        ] {
            match Target::parse(url) {
                Err(e) => {
                    assert_eq!(e.status, ws_status::WS_ERR_INVALID_URL, "{url}");
                    assert!(!e.message.contains("S3C"), "{url}: {}", e.message);
                    assert!(!e.message.contains('\n'), "{url}: {}", e.message);
                }
                Ok(t) => panic!("{url} parsed as {t:?}"),
            }
        }
        // A URL that parses although the '@' was meant to end a password:
        // its shown form hides everything up to the last '@', and messages
        // do not name its host (which may be the user name).
        let t = Target::parse("ws://alice:123/S3CR3TMARK@host/").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.url.as_str()), ("alice", 123, "ws://***@host/"));
        assert_eq!(format!("{t:?}"), "Target { url: \"ws://***@host/\", .. }");
        assert!(t.authorization.is_none());
        let shown = t.shown_host();
        assert!(!shown.contains("alice") && !shown.contains("123"), "{shown}");
        assert!(shown.contains("ws://***@host/") && shown.contains("percent-encode"), "{shown}");
        let t = Target::parse("ws://alice:123%2FS3CR3TMARK@host/").unwrap();
        assert_eq!((t.host.as_str(), t.url.as_str()), ("host", "ws://***@host/"));
        assert_eq!(t.shown_host(), "host 'host'");
        assert_eq!(
            t.authorization.unwrap().to_str().unwrap(),
            format!("Basic {}", base64(b"alice:123/S3CR3TMARK"))
        );
        let e = Target::parse("ws://alice:S3CR3TMARK/PW@host/").unwrap_err();
        assert!(e.message.contains("percent-encode"), "{}", e.message);
        // Nothing hidden: the port is quoted.
        let e = Target::parse("ws://host:99999/").unwrap_err();
        assert!(e.message.contains("'99999'"), "{}", e.message);
        assert_eq!(redact("ws://u:p@h/x"), "ws://***@h/x");
        assert_eq!(redact("ws://h/x"), "ws://h/x");
        assert_eq!(redact("ws://h/\r\n"), "ws://h/\\r\\n");
    }

    #[test]
    fn urls_are_normalised_as_the_url_standard_says() {
        for (url, shown, uri, host, port) in [
            ("ws://LOCALHOST:80", "ws://localhost/", "ws://localhost/", "localhost", 80),
            (
                "WSS://Example.COM:443/a/../b",
                "wss://example.com/b",
                "wss://example.com/b",
                "example.com",
                443,
            ),
            (
                "ws://example.com:0080/x y",
                "ws://example.com/x%20y",
                "ws://example.com/x%20y",
                "example.com",
                80,
            ),
            (
                "ws://Bücher.example/ä?ö",
                "ws://xn--bcher-kva.example/%C3%A4?%C3%B6",
                "ws://xn--bcher-kva.example/%C3%A4?%C3%B6",
                "xn--bcher-kva.example",
                80,
            ),
            ("wss://[::1]:8443?x", "wss://[::1]:8443/?x", "wss://[::1]:8443/?x", "::1", 8443),
            (
                "ws://U:P@Host.Example:81",
                "ws://***@host.example:81/",
                "ws://host.example:81/",
                "host.example",
                81,
            ),
        ] {
            // Spaces are refused as written, so the space test goes through a
            // percent-encoded form.
            let url = url.replace(' ', "%20");
            let t = Target::parse(&url).unwrap_or_else(|e| panic!("{url}: {}", e.message));
            assert_eq!(t.url, shown, "{url}");
            assert_eq!(t.uri.to_string(), uri, "{url}");
            assert_eq!((t.host.as_str(), t.port), (host, port), "{url}");
        }
        // User information: percent-decoded, an absent password sent as
        // empty (RFC 7617), several '@' all but the last part of it.
        for (url, credentials) in [
            ("ws://user@h/", "user:"),
            ("ws://:pw@h/", ":pw"),
            ("ws://a@b:c@d@h/", "a@b:c@d"),
            ("ws://%C3%A4:p%20w@h/", "ä:p w"),
        ] {
            let t = Target::parse(url).unwrap();
            let auth = t.authorization.unwrap();
            assert_eq!(auth.to_str().unwrap(), format!("Basic {}", base64(credentials.as_bytes())));
            assert_eq!(t.url, "ws://***@h/", "{url}");
        }
        assert!(Target::parse("ws://@h/").unwrap().authorization.is_none());
        let e = Target::parse("ws://h:/x").unwrap_err();
        assert!(e.message.contains("bad port ''"), "{}", e.message);
        assert!(Target::parse("ws:///x").unwrap_err().message.ends_with("no host"));
        assert!(Target::parse("https://h/").unwrap_err().message.contains("'https'"));
    }

    #[test]
    fn redirects_resolve_against_the_current_url() {
        let from = Target::parse("ws://u:pw@example.com:81/a/b?q").unwrap();
        for (location, to, same_origin) in [
            ("../x", "ws://example.com:81/x", true),
            ("x?y", "ws://example.com:81/a/x?y", true),
            ("?y", "ws://example.com:81/a/b?y", true),
            ("/abs", "ws://example.com:81/abs", true),
            ("//other.example/x", "ws://other.example/x", false),
            ("//EXAMPLE.com:81/x", "ws://example.com:81/x", true),
            ("http://example.com:81/x", "ws://example.com:81/x", true),
            ("https://example.com/x", "wss://example.com/x", false),
            ("wss://example.com:443/x", "wss://example.com/x", false),
            ("ws://v:pw2@other.example/", "ws://***@other.example/", false),
        ] {
            let next = from.redirect(location).unwrap_or_else(|e| panic!("{location}: {e}"));
            assert_eq!(next.url, to, "{location}");
            assert_eq!(from.same_origin(&next), same_origin, "{location}");
            let auth = next.authorization.as_ref().map(|a| a.to_str().unwrap().to_string());
            let expected = if location.contains("pw2@") {
                Some(format!("Basic {}", base64(b"v:pw2")))
            } else if same_origin {
                Some(format!("Basic {}", base64(b"u:pw")))
            } else {
                None
            };
            assert_eq!(auth, expected, "{location}");
        }
        let tls = Target::parse("wss://example.com/a").unwrap();
        assert_eq!(tls.redirect("//other.example/x").unwrap().url, "wss://other.example/x");
        for to in ["http://example.com/x", "ws://example.com/x"] {
            assert!(tls.redirect(to).unwrap_err().contains("drop TLS"), "{to}");
        }
        for (location, why) in [
            ("ftp://example.com/", "not to a ws, wss, http or https URL"),
            ("mailto:x@example.com", "not to a ws, wss, http or https URL"),
            ("/x#f", "fragment"),
            ("/a b", "control characters"),
            ("ws:///x", "no host"),
            ("ws://h:0/", "bad port '0'"),
            ("ws://h:99999/", "bad port '99999'"),
            ("//[::1/", "invalid IPv6 address"),
            ("ws://bob:S3CR3TMARK/x@h/", "bad port ("),
        ] {
            let e = from.redirect(location).unwrap_err();
            assert!(e.contains(why), "{location}: {e}");
            assert!(!e.contains(MARK), "{location}: {e}");
        }
    }

    #[test]
    fn setters_check_their_ranges() {
        let mut c = Config::default();
        type Ms = fn(&mut Config, u32) -> Result<()>;
        let timeouts: [(Ms, &str); 6] = [
            (Config::set_connect_timeout_ms, "connect timeout"),
            (Config::set_handshake_timeout_ms, "handshake timeout"),
            (Config::set_close_timeout_ms, "close timeout"),
            (Config::set_pong_timeout_ms, "pong timeout"),
            (Config::set_initial_delay_ms, "initial delay"),
            (Config::set_max_delay_ms, "max delay"),
        ];
        for (set, name) in timeouts {
            for bad in [0, WS_MAX_TIMEOUT_MS + 1] {
                let e = set(&mut c, bad).unwrap_err();
                assert_eq!(e.status, ws_status::WS_ERR_INVALID_ARGUMENT);
                assert_eq!(
                    e.message,
                    format!("{name} must be between 1 and 86400000 ms, got {bad}")
                );
            }
            set(&mut c, WS_MAX_TIMEOUT_MS).unwrap();
        }
        let durations: [(Ms, &str); 2] = [
            (Config::set_ping_interval_ms, "ping interval"),
            (Config::set_min_uptime_ms, "min uptime"),
        ];
        for (set, name) in durations {
            set(&mut c, 0).unwrap();
            let e = set(&mut c, u32::MAX).unwrap_err();
            assert_eq!(
                e.message,
                format!("{name} must be between 0 and 86400000 ms, got {}", u32::MAX)
            );
        }
        c.set_connect_timeout_ms(1234).unwrap();
        c.set_ping_interval_ms(0).unwrap();
        c.set_initial_delay_ms(7).unwrap();
        assert_eq!(
            (c.connect_timeout, c.ping_interval, c.backoff.initial),
            (ms(1234), Duration::ZERO, ms(7))
        );
        assert_eq!(
            c.set_max_redirects(21).unwrap_err().message,
            "max redirects must be at most 20, got 21"
        );
        c.set_max_redirects(20).unwrap();
        assert_eq!(c.max_redirects, 20);
        for bad in [1, WS_MIN_THREAD_STACK_SIZE - 1, (64 << 20) + 1] {
            let e = c.set_thread_stack_size(bad).unwrap_err();
            assert_eq!(e.status, ws_status::WS_ERR_INVALID_ARGUMENT);
            assert_eq!(
                e.message,
                format!("thread stack size must be 0 or between 32 KiB and 64 MiB, got {bad}")
            );
        }
        c.set_thread_stack_size(64 << 20).unwrap();
        assert_eq!(c.thread_stack_size, Some(64 << 20));
        c.set_thread_stack_size(0).unwrap();
        assert_eq!(c.thread_stack_size, None);
        c.set_insecure(true).unwrap();
        c.set_reconnect(false).unwrap();
        c.set_max_attempts(3).unwrap();
        c.set_random_seed(42).unwrap();
        c.set_queue_while_disconnected(false).unwrap();
        c.set_ping_payload(Some("{\"op\":\"ping\"}")).unwrap();
        assert!(c.tls.insecure && !c.reconnect.enabled && !c.queue_while_disconnected);
        assert_eq!((c.backoff.max_attempts, c.seed), (3, Some(42)));
        assert_eq!(c.ping_payload.as_deref(), Some("{\"op\":\"ping\"}"));
        c.set_ping_payload(None).unwrap();
        assert!(c.ping_payload.is_none());
        assert!(c.set_backoff_multiplier(f64::NAN).is_err());
        assert!(c.set_backoff_jitter(1.5).is_err());
    }

    #[test]
    fn bad_headers_are_named_never_shown() {
        for (name, value) in [
            ("Authorization: Bearer S3CR3TMARK", "v"),
            ("X-Api-Key S3CR3TMARK", "v"),
            (" S3CR3TMARK", "v"),
            (":S3CR3TMARK", "v"),
            ("Authorization", "Bearer S3CR3TMARK\n"),
            ("X-Api-Key", "S3CR3TMARK\r\nX-Injected: 1"),
            ("Cookie", "\x7fS3CR3TMARK"),
            ("Host", "S3CR3TMARK"),
        ] {
            let e = header(name, value).unwrap_err();
            assert!(!e.message.contains(MARK), "{name:?} {value:?}: {}", e.message);
        }
        let e = header("Authorization: Bearer S3CR3TMARK", "v").unwrap_err();
        assert!(e.message.contains("'Authorization'"), "{}", e.message);
        let e = header("X-Api-Key", "S3CR3TMARK\n").unwrap_err();
        assert!(e.message.contains("'x-api-key'"), "{}", e.message);
        let long = "x".repeat(70_000);
        assert!(header(&long, "v").unwrap_err().message.len() < 400);
        assert!(header("", "v").unwrap_err().message.contains("empty"));
    }

    #[test]
    fn headers_that_may_carry_credentials_are_sensitive() {
        for name in [
            "Authorization",
            "Proxy-Authorization",
            "Cookie",
            "X-Api-Key",
            "X-Auth-Token",
            "X-Session-Id",
            "X-Client-Secret",
            "X-Password",
            "X-Amz-Signature",
            "X-Credentials",
        ] {
            assert!(header(name, "v").unwrap().1.is_sensitive(), "{name}");
        }
        for name in ["X-Client", "User-Agent", "Origin", "Accept-Language", "X-Request-Id"] {
            assert!(!header(name, "v").unwrap().1.is_sensitive(), "{name}");
        }
    }

    fn redirected(from: &str, to: &str) -> (Config, Vec<String>) {
        let mut c = Config::default();
        c.set_url(from).unwrap();
        for (n, v) in [
            ("Authorization", "Bearer t"),
            ("Cookie", "c=1"),
            ("Proxy-Authorization", "Basic x"),
            ("X-Api-Key", "k"),
            ("X-Client", "demo"),
        ] {
            c.add_header(n, v).unwrap();
        }
        let next = c.target.as_ref().unwrap().redirect(to).unwrap();
        let dropped = c.follow_redirect(next);
        (c, dropped)
    }

    fn names(c: &Config) -> Vec<&str> {
        c.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn a_redirect_to_another_origin_sends_no_credentials() {
        for to in [
            "ws://other.example:80/x",
            "ws://example.com:81/x",
            "wss://example.com:80/x",
            "https://example.com/x",
            "ws://user:pw@example.com.evil/x",
        ] {
            let (c, dropped) = redirected("ws://u:pw@example.com/a", to);
            assert_eq!(names(&c), ["x-client"], "{to}");
            assert!(dropped.iter().any(|d| d.contains("URL")), "{to}: {dropped:?}");
            assert_eq!(dropped.len(), 5, "{to}: {dropped:?}");
            let auth = c.target.as_ref().unwrap().authorization.as_ref();
            if to.contains("user:pw@") {
                assert_eq!(
                    auth.unwrap().to_str().unwrap(),
                    format!("Basic {}", base64(b"user:pw"))
                );
            } else {
                assert!(auth.is_none(), "{to}");
            }
        }
        for to in ["/b", "ws://EXAMPLE.com/b", "http://example.com:80/b"] {
            let (c, dropped) = redirected("ws://u:pw@example.com/a", to);
            assert!(dropped.is_empty(), "{to}: {dropped:?}");
            assert_eq!(names(&c).len(), 5, "{to}");
            let auth = c.target.as_ref().unwrap().authorization.as_ref().unwrap();
            assert_eq!(auth.to_str().unwrap(), format!("Basic {}", base64(b"u:pw")), "{to}");
        }
        // Dropped once, they stay dropped when a later redirect comes back.
        let (mut c, _) = redirected("ws://u:pw@example.com/a", "ws://other.example/x");
        let back = c.target.as_ref().unwrap().redirect("ws://example.com/a").unwrap();
        assert!(c.follow_redirect(back).is_empty());
        assert_eq!(names(&c), ["x-client"]);
        assert!(c.target.as_ref().unwrap().authorization.is_none());
    }

    #[test]
    fn options_are_checked() {
        let mut c = Config::default();
        assert!(c.add_header("X-Token", "abc").is_ok());
        assert!(c.add_header("Bad Name", "v").is_err());
        assert!(c.add_header("Upgrade", "x").is_err());
        assert!(c.add_header("X-A", "line\nbreak").is_err());
        assert!(c.add_subprotocol("chat.v1").is_ok());
        assert!(c.add_subprotocol("a b").is_err());
        assert!(c.set_max_message_size(0).is_err());
        assert!(c.set_read_buffer_size(1).is_err());
        assert!(timeout_ms("t", 0).is_err());
        assert_eq!(
            c.set_ca_file("/nonexistent/ca.pem").unwrap_err().status,
            ws_status::WS_ERR_FILE
        );
    }
}
