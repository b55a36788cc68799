//! Text the peer controls (a close reason, a redirect's `Location`) has its
//! control characters escaped in log lines and in event messages, so that it
//! can never forge a line of its own (on `WSCLIENT_LOG`'s stderr or in a
//! logger); the close event's `reason` keeps the bytes as sent.
mod common;
use common::{raw::*, *};
use std::{
    ffi::{c_char, c_void, CStr},
    process::Command,
    sync::Mutex,
};
use wsclient::*;

const FORGED: &str = "wsclient error: forged";
/// A close reason that tries every way to start a line: LF, CR LF, a
/// terminal escape, NEL, U+2028 and U+2029.
const REASON: &str = "bye\nwsclient error: forged\r\nwsclient error: forged\x1b[2K\u{85}wsclient \
                      error: forged\u{2028}wsclient error: forged\u{2029}";

/// The characters that can end a line somewhere (terminal, editor, log viewer).
const BREAKS: [char; 6] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}', '\x1b'];

/// Run the hostile sessions; return every event.
fn sessions() -> Vec<Ev> {
    assert!(REASON.len() <= 123);
    let closing = hostile(|peer| {
        peer.handshake();
        peer.send(&close_frame(4000, REASON.as_bytes()));
        let _ = peer.read();
    });
    // A Location with a tab (the one control character a header value may
    // hold) and a redirect that is not followed.
    let redirecting = hostile(|peer| {
        peer.read_request();
        peer.send(
            b"HTTP/1.1 302 Found\r\nLocation: /next\twsclient error: forged\r\nContent-Length: 0\r\n\r\n",
        );
    });
    let mut all = Vec::new();
    // No reconnect: the close event carries the reason as sent.
    let h = create_once(&closing.url());
    let events = until(h, 5000, |e| matches!(e, Ev::Close { .. }));
    match events.as_slice() {
        [Ev::Open { .. }, Ev::Close { code: 4000, reason, .. }] => assert_eq!(reason, REASON),
        other => panic!("{other:?}"),
    }
    all.extend(events);
    ok(ws_free(h));
    // Reconnect: the reconnecting event's message quotes the reason, escaped.
    let h = create_with(&closing.url(), |cfg| {
        ok(ws_config_set_initial_delay_ms(cfg, 10));
        ok(ws_config_set_max_attempts(cfg, 1));
    });
    all.extend(until(h, 5000, |e| matches!(e, Ev::Close { .. })));
    ok(ws_free(h));
    let h = create_once(&redirecting.url());
    all.extend(until(h, 5000, |e| matches!(e, Ev::Close { .. })));
    ok(ws_free(h));
    all
}

fn check_events(events: &[Ev]) {
    let mut reconnecting = 0;
    let mut redirect = 0;
    for e in events {
        let message = match e {
            Ev::Error { message, .. } | Ev::Reconnecting { message, .. } => message,
            _ => continue,
        };
        assert!(!message.contains(BREAKS), "a raw line break in an event message: {message:?}");
        if matches!(e, Ev::Reconnecting { .. }) {
            assert!(message.contains("bye\\nwsclient error: forged\\r\\n"), "{message:?}");
            assert!(message.contains("\\u{2028}") && message.contains("\\x1b[2K"), "{message:?}");
            reconnecting += 1;
        } else if message.contains("/next") {
            assert!(message.contains("/next\\twsclient error: forged"), "{message:?}");
            redirect += 1;
        }
    }
    assert_eq!((reconnecting, redirect), (1, 1), "{events:#?}");
}

/// No line, however it is split, starts with the forged text.
fn check_lines(text: &str) {
    for line in text.split(BREAKS) {
        assert!(!line.starts_with(FORGED), "a forged line: {line:?} in {text}");
    }
    assert!(text.contains("closed with 4000 'bye\\nwsclient error: forged\\r\\n"), "{text}");
}

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect(_: ws_log_level, _: ws_handle, msg: *const c_char, _: *mut c_void) {
    LINES.lock().unwrap().push(CStr::from_ptr(msg).to_string_lossy().into_owned());
}

#[test]
fn peer_text_is_escaped_in_log_lines_and_messages() {
    if std::env::var_os("WS_PEER_TEXT_CHILD").is_some() {
        // The child of the test below: log to stderr (WSCLIENT_LOG).
        check_events(&sessions());
        return;
    }
    unsafe {
        ok(ws_set_logger(ws_log_level::WS_LOG_TRACE as i32, Some(collect), std::ptr::null_mut()))
    };
    let events = sessions();
    unsafe { ok(ws_set_logger(0, None, std::ptr::null_mut())) };
    check_events(&events);
    let lines = LINES.lock().unwrap().clone();
    for line in &lines {
        assert!(!line.contains(BREAKS), "a raw line break in a log line: {line:?}");
    }
    check_lines(&lines.join("\n"));

    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "peer_text_is_escaped_in_log_lines_and_messages", "--nocapture"])
        .env("WS_PEER_TEXT_CHILD", "1")
        .env("WSCLIENT_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("wsclient info: "), "{stderr}");
    check_lines(&stderr);
}
