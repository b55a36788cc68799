//! `wsclient URL`: connect, print what arrives (`< ...`), send each line of
//! stdin (`> ...`), and show the connection's events on stderr. For checking
//! a server by hand or from a script, like websocat or wscat, with this
//! library's heartbeat and reconnects.

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

const USAGE: &str = "\
usage: wsclient [options] URL

Connects to URL (ws:// or wss://), prints each message that arrives as
`< text` on stdout, sends each line read from stdin (shown as `> line`), and
reports events (open, reconnecting, pong, close, errors) on stderr. At the
end of stdin it closes with 1000, unless --count or --timeout says how long
to stay.

options:
  -H, --header 'Name: value'   extra header on the upgrade request (repeatable)
  -p, --subprotocol NAME       subprotocol to offer (repeatable)
      --ping-interval MS       heartbeat ping interval (default 30000; 0: off)
      --pong-timeout MS        silence after a ping that means a dead peer (default 5000)
      --no-reconnect           end at the first failure or close, like a browser
      --ca-file PEM            extra trusted CA certificates
      --insecure               do not verify the server's certificate (tests only)
      --binary                 send stdin lines as binary messages
      --json                   one JSON object per event on stdout, instead of text
  -n, --count N                close and exit after N messages arrive
  -t, --timeout S              exit after S seconds
  -V, --version                print the version
  -h, --help                   this help

exit status:
  0  done: N messages arrived (--count), the --timeout ran out while
     connected, or the connection closed normally (end of stdin, or a clean
     close by the server)
  1  the connection failed: it never opened, an error ended it (refused,
     TLS, rejected upgrade, a failure with --no-reconnect), it was down after
     an error when the --timeout ran out, or it closed before N messages
  2  bad usage
  3  the --timeout ran out on a working connection before N messages arrived";

/// Exit statuses (see USAGE).
const EXIT_OK: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_SHORT: u8 = 3;

struct Args {
    url: String,
    headers: Vec<(String, String)>,
    subprotocols: Vec<String>,
    ping_interval: Option<u64>,
    pong_timeout: Option<u64>,
    reconnect: bool,
    ca_file: Option<String>,
    insecure: bool,
    binary: bool,
    json: bool,
    count: Option<u64>,
    timeout: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        url: String::new(),
        headers: Vec::new(),
        subprotocols: Vec::new(),
        ping_interval: None,
        pong_timeout: None,
        reconnect: true,
        ca_file: None,
        insecure: false,
        binary: false,
        json: false,
        count: None,
        timeout: None,
    };
    let mut url = None;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<u64>().map_err(|_| format!("{name} takes a whole number, got '{v}'"))
        };
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "-V" | "--version" => {
                println!("wsclient {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            "-H" | "--header" => {
                let h = value(&arg)?;
                // Never echo it: a header may carry a secret.
                let (name, v) = h.split_once(':').ok_or(
                    "--header takes 'Name: value' (the one given has no ':'; not shown, it may \
                     hold a secret)",
                )?;
                a.headers.push((name.trim().to_string(), v.trim().to_string()));
            }
            "-p" | "--subprotocol" => a.subprotocols.push(value(&arg)?),
            "--ping-interval" => a.ping_interval = Some(number(&arg, value(&arg)?)?),
            "--pong-timeout" => a.pong_timeout = Some(number(&arg, value(&arg)?)?),
            "--no-reconnect" => a.reconnect = false,
            "--ca-file" => a.ca_file = Some(value(&arg)?),
            "--insecure" => a.insecure = true,
            "--binary" => a.binary = true,
            "--json" => a.json = true,
            "-n" | "--count" => a.count = Some(number(&arg, value(&arg)?)?),
            "-t" | "--timeout" => {
                let v = value(&arg)?;
                let s: f64 =
                    v.parse().map_err(|_| format!("--timeout takes seconds, got '{v}'"))?;
                if !(s > 0.0 && s < 1e9) {
                    return Err(format!("--timeout must be positive, got '{v}'"));
                }
                a.timeout = Some(Duration::from_secs_f64(s));
            }
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option '{s}'")),
            s if url.is_none() => url = Some(s.to_string()),
            s => return Err(format!("one URL only (got '{s}' too)")),
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
    Ok(c)
}

/// A JSON string literal.
fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Out {
    json: bool,
}

impl Out {
    /// An event line: JSON on stdout, or text on stderr.
    fn event(&self, json_fields: String, text: String) {
        if self.json {
            self.stdout(format!("{{{json_fields}}}"));
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
        let dir = if sent { "sent" } else { "message" };
        if self.json {
            let body = match (binary, std::str::from_utf8(data)) {
                (false, Ok(t)) => format!("\"data\":{}", json(t)),
                _ => format!("\"base64\":\"{}\"", wsclient::config::base64(data)),
            };
            self.stdout(format!("{{\"event\":\"{dir}\",\"binary\":{binary},{body}}}"));
        } else {
            let arrow = if sent { '>' } else { '<' };
            match (binary, std::str::from_utf8(data)) {
                (false, Ok(t)) => self.stdout(format!("{arrow} {t}")),
                _ => self.stdout(format!("{arrow} [{} bytes binary] {}", data.len(), hex(data))),
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
            eprintln!("wsclient: {e}\n\n{USAGE}");
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
    let client = match Client::open(config) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("wsclient: {}", e.message);
            // A config the library refuses is a usage error; a thread or
            // fd it could not get is a failure.
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
                out.event(
                    format!(
                        "\"event\":\"open\",\"protocol\":{},\"reconnect\":{reconnect}",
                        json(&p)
                    ),
                    format!(
                        "* {} (subprotocol '{p}')",
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
                let m = message.to_string_lossy();
                out.event(
                    format!(
                        "\"event\":\"error\",\"kind\":\"{kind:?}\",\"message\":{},\"http_status\":{http_status}",
                        json(&m)
                    ),
                    format!("! error ({kind:?}): {m}"),
                );
                open_now = false;
                last_error = Some(format!("{kind:?}: {m}"));
            }
            Event::Reconnecting { attempt, delay_ms, message, .. } => {
                let m = message.to_string_lossy();
                out.event(
                    format!(
                        "\"event\":\"reconnecting\",\"attempt\":{attempt},\"delay_ms\":{delay_ms},\"reason\":{}",
                        json(&m)
                    ),
                    format!("* reconnecting: attempt {attempt} in {delay_ms} ms ({m})"),
                );
                open_now = false;
            }
            Event::Pong { rtt_us } => out.event(
                format!("\"event\":\"pong\",\"rtt_us\":{rtt_us}"),
                format!("* pong: {:.3} ms", rtt_us as f64 / 1000.0),
            ),
            Event::Close { code, reason, was_clean, unsent_messages, .. } => {
                let r = reason.to_string_lossy();
                out.event(
                    format!(
                        "\"event\":\"close\",\"code\":{code},\"reason\":{},\"clean\":{was_clean},\"unsent\":{unsent_messages}",
                        json(&r)
                    ),
                    format!("* closed: {code} '{r}'{}", if was_clean { "" } else { " (not clean)" }),
                );
                client.free();
                // Done only if it got what was asked for, and no error was
                // left unhealed by a later open.
                let counted = args.count.map_or(true, |n| received >= n);
                let ok = opened && counted && last_error.is_none() && (close_asked || was_clean);
                return ExitCode::from(if ok { EXIT_OK } else { EXIT_FAILED });
            }
        }
    }
    client.free();
    ExitCode::from(EXIT_FAILED)
}
