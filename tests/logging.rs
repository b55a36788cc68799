//! Logging: off by default, `WSCLIENT_LOG` to stderr, `ws_set_logger` to a
//! function; lines carry the handle; credentials never appear in logs or in
//! error messages.
mod common;
use common::{raw::*, *};
use std::{
    ffi::{c_char, c_void, CStr},
    process::Command,
    sync::{mpsc, Mutex},
    time::Duration,
};
use wsclient::*;

/// The logger is global to the process: one test at a time here.
static SERIAL: Mutex<()> = Mutex::new(());

type Lines = Mutex<Vec<(ws_log_level, ws_handle, String)>>;

unsafe extern "C" fn collect(
    level: ws_log_level,
    handle: ws_handle,
    msg: *const c_char,
    user: *mut c_void,
) {
    let lines = &*(user as *const Lines);
    let text = CStr::from_ptr(msg).to_string_lossy().into_owned();
    lines.lock().unwrap().push((level, handle, text));
}

fn with_logger(level: ws_log_level, body: impl FnOnce()) -> Vec<(ws_log_level, ws_handle, String)> {
    let lines: &'static Lines = Box::leak(Box::new(Mutex::new(Vec::new())));
    unsafe {
        ok(ws_set_logger(level as i32, Some(collect), lines as *const Lines as *mut c_void));
    }
    body();
    unsafe { ok(ws_set_logger(ws_log_level::WS_LOG_OFF as i32, None, std::ptr::null_mut())) };
    let out = lines.lock().unwrap().clone();
    out
}

fn session(url: &str) -> ws_handle {
    let h = create_with(url, |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_ping_interval_ms(cfg, 50));
    });
    expect_open(h);
    ok(send(h, b"hello", false));
    assert!(matches!(next(h, 5000), Ev::Message { .. }));
    // A ping answered (50 ms interval), for its log lines.
    until(h, 5000, |e| matches!(e, Ev::Pong { .. }));
    ok(close(h, 1000));
    until(h, 5000, |e| matches!(e, Ev::Close { .. }));
    ok(ws_free(h));
    h
}

#[test]
fn a_logger_gets_each_step_with_the_handle_and_its_level() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = echo_server();
    let mut h = 0;
    let lines = with_logger(ws_log_level::WS_LOG_TRACE, || h = session(&server.url()));
    let has = |lvl: ws_log_level, text: &str| {
        lines.iter().any(|(l, hh, t)| *l == lvl && *hh == h && t.contains(text))
    };
    assert!(has(ws_log_level::WS_LOG_DEBUG, "created for ws://127.0.0.1"), "{lines:#?}");
    assert!(has(ws_log_level::WS_LOG_INFO, "connecting to ws://127.0.0.1"), "{lines:#?}");
    assert!(has(ws_log_level::WS_LOG_DEBUG, "TCP connected"), "{lines:#?}");
    assert!(has(ws_log_level::WS_LOG_DEBUG, "upgrade accepted: HTTP 101"), "{lines:#?}");
    assert!(has(ws_log_level::WS_LOG_INFO, "open"), "{lines:#?}");
    assert!(has(ws_log_level::WS_LOG_TRACE, "received a 5-byte text message"), "{lines:#?}");
    assert!(has(ws_log_level::WS_LOG_TRACE, "ping 1"), "{lines:#?}");
    assert!(has(ws_log_level::WS_LOG_TRACE, "pong after"), "{lines:#?}");
    assert!(has(ws_log_level::WS_LOG_INFO, "closed with 1000"), "{lines:#?}");
    assert!(has(ws_log_level::WS_LOG_DEBUG, "freed"), "{lines:#?}");

    // Info and above only.
    let lines = with_logger(ws_log_level::WS_LOG_INFO, || h = session(&server.url()));
    assert!(lines.iter().all(|(l, _, _)| *l <= ws_log_level::WS_LOG_INFO), "{lines:#?}");
    assert!(lines.iter().any(|(_, _, t)| t.contains("connecting to")));

    // Off: nothing.
    let lines = with_logger(ws_log_level::WS_LOG_OFF, || h = session(&server.url()));
    assert!(lines.is_empty(), "{lines:#?}");
}

#[test]
fn reconnects_and_errors_are_logged() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let lines = with_logger(ws_log_level::WS_LOG_WARN, || {
        let h = create_with(&format!("ws://127.0.0.1:{port}"), |cfg| {
            ok(ws_config_set_initial_delay_ms(cfg, 10));
            ok(ws_config_set_max_attempts(cfg, 2));
        });
        until(h, 5000, |e| matches!(e, Ev::Close { .. }));
        ok(ws_free(h));
    });
    assert!(
        lines
            .iter()
            .any(|(l, _, t)| *l == ws_log_level::WS_LOG_ERROR
                && t.contains("WS_ERROR_CONNECT_REFUSED")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(
            |(l, _, t)| *l == ws_log_level::WS_LOG_WARN && t.contains("reconnect attempt 1 in")
        ),
        "{lines:#?}"
    );
}

#[test]
fn bad_log_levels_are_refused() {
    unsafe {
        assert_eq!(
            ws_set_logger(6, None, std::ptr::null_mut()),
            ws_status::WS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            ws_set_logger(-1, None, std::ptr::null_mut()),
            ws_status::WS_ERR_INVALID_ARGUMENT
        );
    }
}

const SECRETS: [&str; 4] = ["hunter2", "topsecret", "cookiesecret", "dXNlcjpodW50ZXIy"];

#[test]
fn credentials_never_appear_in_logs_or_errors() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // One server accepts and reports the request; one rejects with 401.
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let accepting = hostile(move |peer| {
        let req = peer.handshake();
        tx.lock().unwrap().send(req).unwrap();
        peer.send(&close_frame(1000, b""));
        let _ = peer.read();
    });
    let rejecting = hostile(|peer| {
        peer.read_request();
        peer.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    });
    let mut errors = Vec::new();
    let lines = with_logger(ws_log_level::WS_LOG_TRACE, || {
        for port in [accepting.port, rejecting.port] {
            let url = format!("ws://user:hunter2@127.0.0.1:{port}/feed");
            let h = create_with(&url, |cfg| unsafe {
                ok(ws_config_set_reconnect(cfg, false));
                ok(ws_config_add_header(cfg, cs("Cookie").as_ptr(), cs("s=cookiesecret").as_ptr()));
            });
            for e in until(h, 5000, |e| matches!(e, Ev::Close { .. })) {
                errors.push(format!("{e:?}"));
            }
            ok(ws_free(h));
        }
        // A bad URL with credentials: the error message hides them.
        let mut h = 0;
        let url = cs("wss://user:hunter2@host:99999/");
        assert_eq!(unsafe { ws_create(url.as_ptr(), &mut h) }, ws_status::WS_ERR_INVALID_URL);
        errors.push(last_error());
        // A bad header value next to a secret one.
        unsafe {
            let mut cfg = 0;
            ok(ws_config_new(&mut cfg));
            assert_eq!(
                ws_config_add_header(
                    cfg,
                    cs("Authorization").as_ptr(),
                    cs("Bearer topsecret\n").as_ptr()
                ),
                ws_status::WS_ERR_INVALID_ARGUMENT
            );
            errors.push(last_error());
            ok(ws_config_free(cfg));
        }
    });
    let req = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(req.contains("authorization: Basic dXNlcjpodW50ZXIy"), "sent as Basic auth: {req}");
    assert!(req.contains("GET /feed HTTP/1.1"), "{req}");
    assert!(!req.contains("hunter2@"), "{req}");
    assert!(errors.iter().any(|e| e.contains("401")), "{errors:#?}");
    assert!(lines.iter().any(|(_, _, t)| t.contains("ws://***@127.0.0.1")), "{lines:#?}");
    for text in lines.iter().map(|(_, _, t)| t).chain(errors.iter()) {
        for secret in SECRETS {
            assert!(!text.contains(secret), "'{secret}' leaked into: {text}");
        }
    }
}

/// Run as a child process (see below): one session against `WS_TEST_URL`.
#[test]
fn child_session() {
    if let Ok(url) = std::env::var("WS_TEST_URL") {
        session(&url);
    }
}

fn child(env: Option<&str>, url: &str) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_session", "--nocapture", "--test-threads=1"]);
    cmd.env("WS_TEST_URL", url).env_remove("WSCLIENT_LOG");
    if let Some(level) = env {
        cmd.env("WSCLIENT_LOG", level);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn wsclient_log_sends_lines_to_stderr_and_nothing_is_logged_by_default() {
    let server = echo_server();
    let url = format!("ws://user:hunter2@127.0.0.1:{}/", server.port);
    let quiet = child(None, &url);
    assert!(!quiet.contains("wsclient"), "logged without being asked: {quiet}");
    let info = child(Some("info"), &url);
    assert!(info.contains("wsclient info: [0x"), "{info}");
    assert!(info.contains("connecting to ws://***@127.0.0.1"), "{info}");
    assert!(!info.contains("wsclient debug"), "{info}");
    let trace = child(Some("TRACE"), &url);
    assert!(trace.contains("wsclient trace: [0x") && trace.contains("ping 1"), "{trace}");
    for secret in SECRETS {
        assert!(!trace.contains(secret), "'{secret}' leaked: {trace}");
    }
}

#[test]
fn records_of_tungstenite_reach_the_logger_but_not_its_traces() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = echo_server();
    let mut h = 0;
    let lines = with_logger(ws_log_level::WS_LOG_TRACE, || h = session(&server.url()));
    // tungstenite does the HTTP upgrade and logs its end at debug level, on
    // the worker thread: the line carries the connection's handle. (The test
    // server runs tungstenite in this process too: its lines have no handle.)
    let done = lines.iter().find(|(_, handle, text)| {
        *handle == h && text.starts_with("tungstenite::") && text.contains("handshake done")
    });
    let Some((level, _, _)) = done else { panic!("no tungstenite record in {lines:#?}") };
    assert_eq!(*level, ws_log_level::WS_LOG_DEBUG);
    // Its trace records (frames with payloads, the upgrade request with its
    // header values) are never forwarded.
    for (level, _, text) in &lines {
        if text.starts_with("tungstenite::") {
            assert_ne!(*level, ws_log_level::WS_LOG_TRACE, "{text}");
            assert!(!text.contains("Sec-WebSocket-Key") && !text.contains("hello"), "{text}");
        }
    }
}
