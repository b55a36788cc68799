//! `wsclient URL`: connect, print what arrives (`< ...`), send each line of
//! stdin (`> ...`), and show the connection's events on stderr. For checking
//! a server by hand or from a script, like websocat or wscat, with this
//! library's heartbeat and reconnects.

use data_encoding::BASE64;
use serde_json::{json, Value};
use std::{
    io::{BufRead, Read, Write},
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};
use wsclient::{client::Client, config::Config, event::Event, ws_ready_state};

const ABOUT: &str = "\
usage: wsclient [options] [--] URL

Connects to URL (ws:// or wss://), prints each message that arrives as
`< text` on stdout, sends each line read from stdin (shown as `> line`), and
reports events (open, reconnecting, pong, close, errors) on stderr. At the
end of stdin it closes with 1000, unless --count or --timeout says how long
to stay. An option's value may follow it (`--count 5`) or be joined to it
(`--count=5`, `-n5`); after `--` every argument is the URL.";

const EXIT_STATUS: &str = "\
exit status:
  0  done: N messages arrived (--count), the --timeout ran out while
     connected, or the connection closed normally (end of stdin, or a clean
     close by the server)
  1  the connection failed: it never opened, an error ended it (refused,
     TLS, rejected upgrade, a failure with --no-reconnect), it was down after
     an error when the --timeout ran out, or it closed before N messages
  2  bad usage
  3  the --timeout ran out on a working connection before N messages arrived";

/// Exit statuses (see EXIT_STATUS).
const EXIT_OK: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_SHORT: u8 = 3;

/// What an option sets.
#[derive(Clone, Copy)]
enum Key {
    Header,
    Subprotocol,
    PingInterval,
    PongTimeout,
    NoReconnect,
    CaFile,
    Insecure,
    Proxy,
    Binary,
    Json,
    Count,
    Timeout,
    Version,
    Help,
    NoDeflate,
}

/// The options as the usage shows them (`-S, --long VALUE`, the short name
/// and the value optional) and what each sets. The parser finds an option's
/// names in the same text, so the usage and the parser cannot disagree.
const OPTIONS: &[(&str, Key, &str)] = &[
    ("-H, --header 'Name: value'", Key::Header, "extra header on the upgrade request (repeatable)"),
    ("-p, --subprotocol NAME", Key::Subprotocol, "subprotocol to offer (repeatable)"),
    ("--ping-interval MS", Key::PingInterval, "heartbeat ping interval (default {ping}; 0: off)"),
    (
        "--pong-timeout MS",
        Key::PongTimeout,
        "silence after a ping that means a dead peer (default {pong})",
    ),
    ("--no-reconnect", Key::NoReconnect, "end at the first failure or close, like a browser"),
    ("--ca-file PEM", Key::CaFile, "extra trusted CA certificates"),
    ("--insecure", Key::Insecure, "do not verify the server's certificate (tests only)"),
    ("--no-deflate", Key::NoDeflate, "do not offer permessage-deflate compression"),
    (
        "--proxy URL",
        Key::Proxy,
        "http://, https://, socks5:// or socks5h:// proxy ('': none; default: the environment's)",
    ),
    ("--binary", Key::Binary, "send stdin lines as binary messages"),
    ("--json", Key::Json, "one JSON object per event on stdout, instead of text"),
    ("-n, --count N", Key::Count, "close and exit after N messages arrive"),
    ("-t, --timeout S", Key::Timeout, "exit after S seconds"),
    ("-V, --version", Key::Version, "print the version"),
    ("-h, --help", Key::Help, "this help"),
];

/// The short and the long name in an OPTIONS entry's text.
fn names(text: &str) -> (Option<char>, &str) {
    let (short, long) = match text.strip_prefix("--") {
        Some(long) => (None, long),
        None => (text.chars().nth(1), &text[text.find("--").unwrap() + 2..]),
    };
    (short, long.split(' ').next().unwrap())
}

/// The usage, with the options from OPTIONS and the defaults from the
/// library's.
fn usage() -> String {
    let defaults = Config::default();
    let ms = |d: Duration| d.as_millis().to_string();
    let shown =
        |text: &str| if text.starts_with("--") { format!("    {text}") } else { text.into() };
    let width = OPTIONS.iter().map(|(t, ..)| shown(t).chars().count()).max().unwrap_or(0) + 3;
    let mut s = format!("{ABOUT}\n\noptions:\n");
    for (text, _, help) in OPTIONS {
        let help = help
            .replace("{ping}", &ms(defaults.ping_interval))
            .replace("{pong}", &ms(defaults.pong_timeout));
        s += &format!("  {:width$}{help}\n", shown(text));
    }
    s + "\n" + EXIT_STATUS
}

struct Args {
    url: String,
    headers: Vec<(String, String)>,
    subprotocols: Vec<String>,
    ping_interval: Option<u64>,
    pong_timeout: Option<u64>,
    reconnect: bool,
    ca_file: Option<String>,
    insecure: bool,
    deflate: bool,
    proxy: Option<String>,
    binary: bool,
    json: bool,
    count: Option<u64>,
    timeout: Option<Duration>,
}

/// lexopt's errors, without the value given (a header's value may hold a
/// secret).
fn arg_error(e: lexopt::Error) -> String {
    match e {
        lexopt::Error::UnexpectedValue { option, .. } => format!("{option} takes no value"),
        lexopt::Error::NonUnicodeValue(_) => "an argument is not UTF-8 (not shown)".into(),
        e => e.to_string(),
    }
}

fn parse_args() -> Result<Args, String> {
    use lexopt::{Arg, ValueExt};
    let mut parser = lexopt::Parser::from_env();
    let mut a = Args {
        url: String::new(),
        headers: Vec::new(),
        subprotocols: Vec::new(),
        ping_interval: None,
        pong_timeout: None,
        reconnect: true,
        ca_file: None,
        insecure: false,
        deflate: true,
        proxy: None,
        binary: false,
        json: false,
        count: None,
        timeout: None,
    };
    let mut url = None;
    while let Some(arg) = parser.next().map_err(arg_error)? {
        let (found, shown) = match &arg {
            Arg::Short(c) => (OPTIONS.iter().find(|o| names(o.0).0 == Some(*c)), format!("-{c}")),
            Arg::Long(l) => (OPTIONS.iter().find(|o| names(o.0).1 == *l), format!("--{l}")),
            Arg::Value(v) => {
                let v = v.clone().string().map_err(arg_error)?;
                if url.is_some() {
                    return Err(format!("one URL only (got '{v}' too)"));
                }
                url = Some(v);
                continue;
            }
        };
        let Some(&(text, key, _)) = found else { return Err(format!("unknown option '{shown}'")) };
        let name = format!("--{}", names(text).1);
        let mut value = || parser.value().and_then(|v| v.string()).map_err(arg_error);
        let number = |v: String| {
            v.parse::<u64>().map_err(|_| format!("{name} takes a whole number, got '{v}'"))
        };
        match key {
            Key::Help => {
                println!("{}", usage());
                std::process::exit(0);
            }
            Key::Version => {
                println!("wsclient {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            Key::Header => {
                let h = value()?;
                // Never echo it: a header may carry a secret.
                let (name, v) = h.split_once(':').ok_or(
                    "--header takes 'Name: value' (the one given has no ':'; not shown, it may \
                     hold a secret)",
                )?;
                a.headers.push((name.trim().to_string(), v.trim().to_string()));
            }
            Key::Subprotocol => a.subprotocols.push(value()?),
            Key::PingInterval => a.ping_interval = Some(number(value()?)?),
            Key::PongTimeout => a.pong_timeout = Some(number(value()?)?),
            Key::NoReconnect => a.reconnect = false,
            Key::CaFile => a.ca_file = Some(value()?),
            Key::Insecure => a.insecure = true,
            Key::NoDeflate => a.deflate = false,
            Key::Proxy => a.proxy = Some(value()?),
            Key::Binary => a.binary = true,
            Key::Json => a.json = true,
            Key::Count => a.count = Some(number(value()?)?),
            Key::Timeout => {
                let v = value()?;
                let s: f64 =
                    v.parse().map_err(|_| format!("--timeout takes seconds, got '{v}'"))?;
                if !(s > 0.0 && s < 1e9) {
                    return Err(format!("--timeout must be positive, got '{v}'"));
                }
                a.timeout = Some(Duration::from_secs_f64(s));
            }
        }
    }
    a.url = url.ok_or("a URL is needed")?;
    Ok(a)
}

fn config(a: &Args) -> Result<Config, String> {
    let mut c = Config::default();
    let e = |e: wsclient::error::Error| e.message;
    c.set_url(&a.url).map_err(e)?;
    for (name, value) in &a.headers {
        c.add_header(name, value).map_err(e)?;
    }
    for p in &a.subprotocols {
        c.add_subprotocol(p).map_err(e)?;
    }
    let ms = |name: &str, v: u64, zero_ok| {
        let v = u32::try_from(v).map_err(|_| format!("{name} is too large"))?;
        wsclient::config::duration_ms(name, v, zero_ok).map_err(e)
    };
    if let Some(v) = a.ping_interval {
        c.ping_interval = ms("--ping-interval", v, true)?;
    }
    if let Some(v) = a.pong_timeout {
        c.pong_timeout = ms("--pong-timeout", v, false)?;
    }
    c.reconnect.enabled = a.reconnect;
    if let Some(path) = &a.ca_file {
        c.set_ca_file(path).map_err(e)?;
    }
    c.tls.insecure = a.insecure;
    c.set_permessage_deflate(a.deflate).map_err(e)?;
    if let Some(proxy) = &a.proxy {
        c.set_proxy(proxy).map_err(e)?;
    }
    Ok(c)
}

/// Every call this tool makes to the library to connect: create the
/// connection and start it.
fn connect(config: Config) -> wsclient::error::Result<Client> {
    Client::open(config)
}

/// The name of an error kind, as the C header spells it.
fn kind_name(kind: wsclient::ws_error_kind) -> String {
    format!("{kind:?}")
}

struct Out {
    json: bool,
}

impl Out {
    /// An event line: a JSON object on stdout, or text on stderr.
    fn event(&self, json: Value, text: String) {
        if self.json {
            self.stdout(json.to_string());
        } else {
            eprintln!("{text}");
        }
    }
    fn stdout(&self, line: String) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    fn message(&self, data: &[u8], binary: bool, sent: bool) {
        let text = std::str::from_utf8(data).ok().filter(|_| !binary);
        if self.json {
            let dir = if sent { "sent" } else { "message" };
            let line = match text {
                Some(t) => json!({"event": dir, "binary": binary, "data": t}),
                None => json!({"event": dir, "binary": binary, "base64": BASE64.encode(data)}),
            };
            self.stdout(line.to_string());
        } else {
            let arrow = if sent { '>' } else { '<' };
            match text {
                Some(t) => self.stdout(format!("{arrow} {t}")),
                None => self.stdout(format!("{arrow} [{} bytes binary] {}", data.len(), hex(data))),
            }
        }
    }
}

fn hex(data: &[u8]) -> String {
    let shown: String = data.iter().take(32).map(|b| format!("{b:02x}")).collect();
    if data.len() > 32 {
        shown + "..."
    } else {
        shown
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("wsclient: {e}\n\n{}", usage());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wsclient: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let max_line = config.max_message_size;
    let client = match connect(config) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("wsclient: {}", e.message);
            // The options were refused, or (internal) no thread could start.
            let internal = e.status == wsclient::ws_status::WS_ERR_INTERNAL;
            return ExitCode::from(if internal { EXIT_FAILED } else { EXIT_USAGE });
        }
    };
    let out = Arc::new(Out { json: args.json });
    let deadline = args.timeout.map(|t| Instant::now() + t);
    // Opened at least once; open right now; the error that took the
    // connection down, until the next open.
    let mut opened = false;
    let mut open_now = false;
    let mut last_error: Option<String> = None;
    let stdin_done = Arc::new(AtomicBool::new(false));

    // stdin: each line is a message; at the end, close (once open) unless
    // --count or --timeout says how long to stay.
    {
        let (client, out, stdin_done) = (client.clone(), out.clone(), stdin_done.clone());
        let binary = args.binary;
        let max = max_line;
        thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            loop {
                // A line longer than the largest message is refused, not
                // buffered without end.
                let mut line = Vec::new();
                match (&mut stdin).take(max as u64 + 1).read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                } else if line.len() > max {
                    eprintln!("! not sent: a line longer than {max} bytes");
                    // Skip the rest of the line without keeping it.
                    while let Ok(buf) = stdin.fill_buf() {
                        if buf.is_empty() {
                            break;
                        }
                        let (n, end) = buf
                            .iter()
                            .position(|b| *b == b'\n')
                            .map_or((buf.len(), false), |i| (i + 1, true));
                        stdin.consume(n);
                        if end {
                            break;
                        }
                    }
                    continue;
                }
                match client.send(&line, binary) {
                    Ok(()) => out.message(&line, binary, true),
                    Err(e) => eprintln!("! not sent: {}", e.message),
                }
            }
            stdin_done.store(true, Ordering::SeqCst);
        });
    }

    let mut received = 0u64;
    let mut close_asked = false;
    loop {
        if stdin_done.load(Ordering::SeqCst)
            && args.count.is_none()
            && args.timeout.is_none()
            && !close_asked
            && (opened || client.state() == ws_ready_state::WS_STATE_CLOSED)
        {
            let _ = client.close(1000, "");
            close_asked = true;
        }
        let wait = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let short = args.count.is_some_and(|n| received < n);
                    let (status, why) = if !opened {
                        (EXIT_FAILED, ": never connected".to_string())
                    } else if !open_now {
                        let e = last_error.as_deref().unwrap_or("connection lost");
                        (EXIT_FAILED, format!(": not connected ({e})"))
                    } else if short {
                        let n = args.count.unwrap_or(0);
                        (EXIT_SHORT, format!(" with {received} of {n} messages"))
                    } else {
                        (EXIT_OK, String::new())
                    };
                    let secs = args.timeout.unwrap_or_default().as_secs_f64();
                    eprintln!("wsclient: timeout after {secs:.1} s{why}");
                    client.free();
                    return ExitCode::from(status);
                }
                left.min(Duration::from_millis(100))
            }
            None => Duration::from_millis(100),
        };
        let ev = match client.poll(Some(wait)) {
            Ok(ev) => ev,
            Err(e) if e.status == wsclient::ws_status::WS_ERR_TIMEOUT => continue,
            Err(_) => break,
        };
        match ev {
            Event::Open { protocol, reconnect } => {
                opened = true;
                open_now = true;
                last_error = None;
                let p = protocol.to_string_lossy();
                let x = client.extensions();
                let shown =
                    if x.is_empty() { String::new() } else { format!(", extensions '{x}'") };
                out.event(
                    json!({"event": "open", "protocol": p, "extensions": x, "reconnect": reconnect}),
                    format!(
                        "* {} (subprotocol '{p}'{shown})",
                        if reconnect { "open again" } else { "open" }
                    ),
                );
            }
            Event::Message { data, binary } => {
                out.message(&data, binary, false);
                received += 1;
                if args.count.is_some_and(|n| received >= n) && !close_asked {
                    let _ = client.close(1000, "");
                    close_asked = true;
                }
            }
            Event::Error { kind, message, http_status } => {
                let (kind, m) = (kind_name(kind), message.to_string_lossy());
                out.event(
                    json!({"event": "error", "kind": kind, "message": m, "http_status": http_status}),
                    format!("! error ({kind}): {m}"),
                );
                open_now = false;
                last_error = Some(format!("{kind}: {m}"));
            }
            Event::Reconnecting { attempt, delay_ms, message, .. } => {
                let m = message.to_string_lossy();
                out.event(
                    json!({
                        "event": "reconnecting",
                        "attempt": attempt,
                        "delay_ms": delay_ms,
                        "reason": m,
                    }),
                    format!("* reconnecting: attempt {attempt} in {delay_ms} ms ({m})"),
                );
                open_now = false;
            }
            Event::Ping { .. } => {}
            Event::Pong { rtt_us, .. } => out.event(
                json!({"event": "pong", "rtt_us": rtt_us}),
                format!("* pong: {:.3} ms", rtt_us as f64 / 1000.0),
            ),
            Event::Close { code, reason, was_clean, unsent_messages, .. } => {
                let r = reason.to_string_lossy();
                out.event(
                    json!({
                        "event": "close",
                        "code": code,
                        "reason": r,
                        "clean": was_clean,
                        "unsent": unsent_messages,
                    }),
                    format!(
                        "* closed: {code} '{r}'{}",
                        if was_clean { "" } else { " (not clean)" }
                    ),
                );
                client.free();
                // Done only if it got what was asked for, and no error was
                // left unhealed by a later open.
                let counted = args.count.is_none_or(|n| received >= n);
                let ok = opened && counted && last_error.is_none() && (close_asked || was_clean);
                return ExitCode::from(if ok { EXIT_OK } else { EXIT_FAILED });
            }
        }
    }
    client.free();
    ExitCode::from(EXIT_FAILED)
}
