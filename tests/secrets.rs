//! No secret reaches an error message, an event message or a log line, for
//! any malformed URL or header, through every entry point: `ws_create`,
//! `ws_config_set_url`, `ws_config_add_header`, `ws_set_url`,
//! `ws_set_header` and a redirect's `Location`; with a logger at trace level
//! and with `WSCLIENT_LOG=trace` on stderr.
mod common;
use common::{raw::*, *};
use std::{
    ffi::{c_char, c_void, CStr},
    process::Command,
    sync::Mutex,
};
use wsclient::{ws_status::*, *};

/// Every secret below contains it; it is searched for case-insensitively
/// (header names are shown lower-case).
const MARK: &str = "s3cr3t";

/// Malformed URLs with a secret in the place of a password, each refused
/// with `WS_ERR_INVALID_URL`.
const BAD_URLS: &[&str] = &[
    // An unencoded '/', '?' or '#' in the password ends the authority early.
    "ws://alice:S3CR3TMARK/PW@127.0.0.1/",
    "ws://alice:S3C/R3TMARK@127.0.0.1/",
    "ws://alice:S3CR3TMARK?PW@127.0.0.1/",
    "ws://alice:S3CR3TMARK#PW@127.0.0.1/",
    "wss://alice:S3CR3T/MARK@host:443/path",
    // Well-formed credentials in an otherwise bad URL.
    "wss://alice:S3CR3TMARK@host:99999/",
    "ws://alice:S3CR3TMARK@host:0/",
    "ws://alice:S3CR3TMARK@host:port/",
    "ws://alice:S3CR3TMARK@/",
    "ws://alice:S3CR3TMARK@",
    "ws://alice:S3CR3TMARK%zz@host/",
    "ws://alice:S3CR3TMARK@host/#fragment",
    "ws://alice:S3CR3TMARK@[::1/",
    "ftp://alice:S3CR3TMARK@host/",
    "http://alice:S3CR3TMARK@host/",
    // No (or a broken) scheme.
    "alice:S3CR3TMARK@host",
    "ws:alice:S3CR3TMARK@host",
    "ws:/alice:S3CR3TMARK@host",
    "ws:alice:S3C//R3TMARK@host",
    "//alice:S3CR3TMARK@host",
    // Control characters around the secret.
    "ws://alice:S3CR3TMARK@host:1\n/",
    "ws://alice:S3CR3TMARK@ho st/",
];

/// Malformed headers with a secret in the value (or after the name), each
/// refused with `WS_ERR_INVALID_ARGUMENT`.
const BAD_HEADERS: &[(&str, &str)] = &[
    ("Authorization: Bearer S3CR3TMARK", "x"),
    ("Authorization", "Bearer S3CR3TMARK\n"),
    ("Authorization", "Bearer S3CR3TMARK\r\nX-Injected: 1"),
    ("X-Api-Key", "S3CR3TMARK\x01"),
    ("X-Api-Key S3CR3TMARK", "x"),
    ("Cookie", "\x7fsession=S3CR3TMARK"),
    (" S3CR3TMARK", "x"),
    (":S3CR3TMARK", "x"),
    ("Host", "S3CR3TMARK"),
    ("Sec-WebSocket-Key", "S3CR3TMARK"),
];

/// Good credentials, to check they do not leak either (nor their Basic
/// encoding).
const GOOD_USERINFO: &str = "alice:S3CR3TMARK-good";

fn basic_forms() -> Vec<String> {
    let b = wsclient::config::base64(GOOD_USERINFO.as_bytes());
    // Any 12-character run of the encoding would be a leak.
    vec![b[..12].to_string(), b[b.len() - 12..].to_string()]
}

/// Feed every bad input through every entry point, plus connections that
/// fail with credentials set; return every error message and event.
fn exercise() -> Vec<String> {
    let mut texts = Vec::new();
    let mut cfg = 0;
    unsafe { ok(ws_config_new(&mut cfg)) };
    for url in BAD_URLS {
        let mut h = 0;
        assert_eq!(unsafe { ws_create(cs(url).as_ptr(), &mut h) }, WS_ERR_INVALID_URL, "{url:?}");
        texts.push(last_error());
        assert_eq!(unsafe { ws_config_set_url(cfg, cs(url).as_ptr()) }, WS_ERR_INVALID_URL);
        texts.push(last_error());
    }
    for (name, value) in BAD_HEADERS {
        let st = unsafe { ws_config_add_header(cfg, cs(name).as_ptr(), cs(value).as_ptr()) };
        assert_eq!(st, WS_ERR_INVALID_ARGUMENT, "{name:?}: {value:?}");
        texts.push(last_error());
    }
    ok(ws_config_free(cfg));

    // A live connection with credentials: ws_set_url and ws_set_header.
    let server = echo_server();
    let h =
        create_with(&format!("ws://{GOOD_USERINFO}@127.0.0.1:{}/", server.port), |cfg| unsafe {
            ok(ws_config_set_reconnect(cfg, false));
            ok(ws_config_add_header(cfg, cs("X-Api-Key").as_ptr(), cs("S3CR3TMARK-k").as_ptr()));
            ok(ws_config_add_header(cfg, cs("Cookie").as_ptr(), cs("s=S3CR3TMARK-c").as_ptr()));
        });
    expect_open(h);
    for url in BAD_URLS {
        assert_eq!(unsafe { ws_set_url(h, cs(url).as_ptr()) }, WS_ERR_INVALID_URL, "{url:?}");
        texts.push(last_error());
    }
    for (name, value) in BAD_HEADERS {
        let st = unsafe { ws_set_header(h, cs(name).as_ptr(), cs(value).as_ptr()) };
        assert_eq!(st, WS_ERR_INVALID_ARGUMENT, "{name:?}: {value:?}");
        texts.push(last_error());
    }
    ok(send(h, b"hello", false));
    ok(close(h, 1000));
    texts
        .extend(until(h, 5000, |e| matches!(e, Ev::Close { .. })).iter().map(|e| format!("{e:?}")));
    ok(ws_free(h));

    // Connections that fail, with credentials: a 401, a redirect whose
    // Location holds a malformed or a good password (followed or not).
    let rejecting = hostile(|peer| {
        peer.read_request();
        peer.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    });
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut redirecting = Vec::new();
    for location in [
        format!("ws://bob:S3CR3TMARK/x@127.0.0.1:{refused}/"),
        format!("ws://bob:S3CR3TMARK?x@127.0.0.1:{refused}/"),
        format!("ws://bob:S3CR3TMARK-loc@127.0.0.1:{refused}/"),
        format!("ftp://bob:S3CR3TMARK@127.0.0.1:{refused}/"),
        "bob:S3CR3TMARK@127.0.0.1/".to_string(),
    ] {
        let resp =
            format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
        redirecting.push(hostile(move |peer| {
            peer.read_request();
            peer.send(resp.as_bytes());
        }));
    }
    let mut urls = vec![rejecting.port, refused];
    urls.extend(redirecting.iter().map(|s| s.port));
    for port in urls {
        for redirects in [0, 2] {
            let url = format!("ws://{GOOD_USERINFO}@127.0.0.1:{port}/feed");
            let h = create_with(&url, |cfg| unsafe {
                ok(ws_config_set_reconnect(cfg, false));
                ok(ws_config_set_max_redirects(cfg, redirects));
                ok(ws_config_add_header(
                    cfg,
                    cs("X-Auth-Token").as_ptr(),
                    cs("S3CR3TMARK-t").as_ptr(),
                ));
            });
            let events = until(h, 5000, |e| matches!(e, Ev::Close { .. }));
            assert!(events.iter().any(|e| matches!(e, Ev::Error { .. })), "{events:?}");
            texts.extend(events.iter().map(|e| format!("{e:?}")));
            ok(ws_free(h));
        }
    }
    texts
}

fn assert_clean<'a>(texts: impl IntoIterator<Item = &'a String>) {
    let basic = basic_forms();
    for text in texts {
        assert!(!text.to_ascii_lowercase().contains(MARK), "a secret leaked into: {text}");
        for b in &basic {
            assert!(!text.contains(b.as_str()), "a Basic credential leaked into: {text}");
        }
    }
}

/// The logger is global to the process: one test at a time here.
static SERIAL: Mutex<()> = Mutex::new(());
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect(_: ws_log_level, _: ws_handle, msg: *const c_char, _: *mut c_void) {
    LINES.lock().unwrap().push(CStr::from_ptr(msg).to_string_lossy().into_owned());
}

#[test]
fn no_secret_in_any_message_or_log_line() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    LINES.lock().unwrap().clear();
    unsafe {
        ok(ws_set_logger(ws_log_level::WS_LOG_TRACE as i32, Some(collect), std::ptr::null_mut()))
    };
    let texts = exercise();
    unsafe { ok(ws_set_logger(0, None, std::ptr::null_mut())) };
    let lines = LINES.lock().unwrap().clone();
    assert!(texts.len() > 100 && lines.len() > 50, "{} texts, {} lines", texts.len(), lines.len());
    // The messages still say what is wrong, with the credentials hidden.
    assert!(texts.iter().any(|t| t.contains("invalid URL 'ws://***@127.0.0.1/'")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.contains("percent-encode")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.contains("'Authorization'")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.contains("HTTP 302")), "{texts:#?}");
    assert!(lines.iter().any(|l| l.contains("connecting to ws://***@127.0.0.1")), "{lines:#?}");
    assert_clean(texts.iter().chain(lines.iter()));
}

/// Run as a child process (see below) with `WSCLIENT_LOG` set.
#[test]
fn child_exercise() {
    if std::env::var_os("WS_SECRETS_CHILD").is_some() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        assert_clean(&exercise());
    }
}

#[test]
fn no_secret_on_stderr_with_wsclient_log() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_exercise", "--nocapture", "--test-threads=1"])
        .env("WS_SECRETS_CHILD", "1")
        .env("WSCLIENT_LOG", "trace")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("wsclient trace: "), "{stderr}");
    assert!(stderr.contains("connecting to ws://***@127.0.0.1"), "{stderr}");
    let lines: Vec<String> = stderr.lines().map(str::to_string).collect();
    assert_clean(&lines);
}

/// The command-line tool: the same URLs and headers as arguments; nothing it
/// prints, on either stream, holds the secret.
#[test]
fn the_cli_never_prints_a_secret() {
    let mut runs: Vec<Vec<String>> = BAD_URLS
        .iter()
        .map(|u| vec!["--timeout".into(), "1".into(), "--no-reconnect".into(), u.to_string()])
        .collect();
    for (name, value) in BAD_HEADERS {
        runs.push(vec!["-H".into(), format!("{name}: {value}")]);
    }
    runs.push(vec!["-H".into(), "Authorization Bearer S3CR3TMARK".into()]);
    for run in runs.iter_mut().skip(BAD_URLS.len()) {
        // Port 1 refuses at once; the run ends at that first failure.
        run.extend(["--no-reconnect".into(), "ws://127.0.0.1:1/".into()]);
    }
    for args in runs {
        let out = Command::new(env!("CARGO_BIN_EXE_wsclient"))
            .args(&args)
            .env("WSCLIENT_LOG", "trace")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.to_lowercase().contains(MARK), "{args:?} printed the secret: {text}");
    }
}
