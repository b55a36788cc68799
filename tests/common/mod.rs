//! Shared test helpers: in-process tungstenite servers on 127.0.0.1:0 and a
//! Rust-owned copy of events read through the C API.
#![allow(dead_code, clippy::result_large_err)]

pub mod proxy;
pub mod raw;

use std::{
    ffi::{CStr, CString},
    net::{TcpListener, TcpStream},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};
use tungstenite::{
    protocol::{frame::coding::CloseCode, CloseFrame, WebSocketConfig},
    Message, WebSocket,
};
use wsclient::*;

/// A server running on its own thread; one thread per connection.
pub struct Server {
    pub port: u16,
    pub accepted: Arc<AtomicUsize>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }
}

/// Run `handler` for each accepted TCP connection on 127.0.0.1.
pub fn serve<F>(handler: F) -> Server
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    serve_on("127.0.0.1", handler)
}

/// Run `handler` for each accepted TCP connection on a loopback address.
pub fn serve_on<F>(ip: &str, handler: F) -> Server
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let handler = Arc::new(handler);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let h = Arc::clone(&handler);
            thread::spawn(move || h(stream));
        }
    });
    Server { port, accepted }
}

pub fn big_config() -> WebSocketConfig {
    WebSocketConfig::default().max_message_size(Some(64 << 20)).max_frame_size(Some(64 << 20))
}

/// Echo every message until the connection ends. A text `!close CODE REASON`
/// closes with that code.
pub fn echo_loop<S: std::io::Read + std::io::Write>(ws: &mut WebSocket<S>) {
    loop {
        match ws.read() {
            Ok(Message::Text(t)) if t.starts_with("!close ") => {
                let mut parts = t["!close ".len()..].splitn(2, ' ');
                let code: u16 = parts.next().unwrap().parse().unwrap();
                let reason = parts.next().unwrap_or("").to_string();
                let _ = ws
                    .close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() }));
            }
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(m).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// The test TLS material (tests/data/README.md).
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// A TLS echo server on `ip` presenting the certificate `pem` from
/// tests/data (all of them use server.key).
pub fn tls_server_with(ip: &str, pem: &str) -> Server {
    let cert = std::fs::read(format!("{DATA}/{pem}")).unwrap();
    let key = std::fs::read(format!("{DATA}/server.key")).unwrap();
    let acceptor =
        native_tls::TlsAcceptor::new(native_tls::Identity::from_pkcs8(&cert, &key).unwrap())
            .unwrap();
    serve_on(ip, move |stream| {
        let Ok(tls) = acceptor.accept(stream) else { return };
        if let Ok(mut ws) = tungstenite::accept_with_config(tls, Some(big_config())) {
            echo_loop(&mut ws);
        }
    })
}

pub fn echo_server() -> Server {
    serve(|stream| {
        let _ = stream.set_nodelay(true);
        if let Ok(mut ws) = tungstenite::accept_with_config(stream, Some(big_config())) {
            echo_loop(&mut ws);
        }
    })
}

/// An event copied out of a `ws_event`.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    Open {
        protocol: String,
        reconnect: bool,
    },
    Message {
        data: Vec<u8>,
        binary: bool,
    },
    Error {
        kind: ws_error_kind,
        message: String,
        http_status: u16,
    },
    Close {
        code: u16,
        reason: String,
        clean: bool,
        unsent_messages: u64,
        unsent_bytes: u64,
    },
    Pong {
        rtt_us: u64,
        data: Vec<u8>,
    },
    Ping {
        data: Vec<u8>,
    },
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
        kind: ws_error_kind,
        message: String,
        /// How the connection that ended closed.
        code: u16,
        reason: String,
        clean: bool,
    },
}

/// A reason field: every byte up to `reason_len` (it may hold NUL bytes),
/// NUL-terminated.
unsafe fn reason(ev: &ws_event) -> String {
    assert!(!ev.reason.is_null(), "string fields are never NULL");
    let bytes = std::slice::from_raw_parts(ev.reason.cast::<u8>(), ev.reason_len + 1);
    assert_eq!(bytes[ev.reason_len], 0, "NUL-terminated");
    String::from_utf8(bytes[..ev.reason_len].to_vec()).unwrap()
}

unsafe fn s(p: *const std::ffi::c_char) -> String {
    assert!(!p.is_null(), "string fields are never NULL");
    CStr::from_ptr(p).to_str().unwrap().to_string()
}

/// The payload of an event (`data`, `len`).
unsafe fn data(ev: &ws_event) -> Vec<u8> {
    if ev.len == 0 {
        Vec::new()
    } else {
        std::slice::from_raw_parts(ev.data, ev.len).to_vec()
    }
}

/// Copy an event.
///
/// # Safety
/// `ev` points to a valid event.
pub unsafe fn owned(ev: &ws_event) -> Ev {
    match ev.r#type {
        ws_event_type::WS_EVENT_OPEN => {
            Ev::Open { protocol: s(ev.protocol), reconnect: ev.is_reconnect }
        }
        ws_event_type::WS_EVENT_MESSAGE => Ev::Message { data: data(ev), binary: ev.is_binary },
        ws_event_type::WS_EVENT_ERROR => {
            Ev::Error { kind: ev.error_kind, message: s(ev.message), http_status: ev.http_status }
        }
        ws_event_type::WS_EVENT_CLOSE => Ev::Close {
            code: ev.code,
            reason: reason(ev),
            clean: ev.was_clean,
            unsent_messages: ev.unsent_messages,
            unsent_bytes: ev.unsent_bytes,
        },
        ws_event_type::WS_EVENT_PONG => Ev::Pong { rtt_us: ev.rtt_us, data: data(ev) },
        ws_event_type::WS_EVENT_PING => Ev::Ping { data: data(ev) },
        ws_event_type::WS_EVENT_RECONNECTING => Ev::Reconnecting {
            attempt: ev.attempt,
            delay_ms: ev.delay_ms,
            kind: ev.error_kind,
            message: s(ev.message),
            code: ev.code,
            reason: reason(ev),
            clean: ev.was_clean,
        },
        ws_event_type::WS_EVENT_NONE => panic!("an empty event was delivered"),
    }
}

/// The next event by `ws_poll`, or panic after `ms`.
pub fn next(h: ws_handle, ms: i32) -> Ev {
    try_next(h, ms)
        .unwrap_or_else(|st| panic!("no event within {ms} ms: {st:?} ({})", last_error()))
}

/// The next event, or the status of `ws_poll`.
pub fn try_next(h: ws_handle, ms: i32) -> Result<Ev, ws_status> {
    unsafe {
        let mut ev = std::mem::zeroed::<ws_event>();
        let st = ws_poll(h, &mut ev, ms);
        if st != ws_status::WS_OK {
            return Err(st);
        }
        let e = owned(&ev);
        ws_event_free(&mut ev);
        Ok(e)
    }
}

/// Events until (and including) the close event.
pub fn until_close(h: ws_handle, ms: i32) -> Vec<Ev> {
    let mut all = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(ms as u64);
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_millis() as i32;
        let e = next(h, left.max(1));
        let done = matches!(e, Ev::Close { .. });
        all.push(e);
        if done {
            return all;
        }
    }
}

pub fn last_error() -> String {
    let mut buf = vec![0 as std::ffi::c_char; 1024];
    let mut n = 0;
    unsafe {
        ws_last_error_message(buf.as_mut_ptr(), buf.len(), &mut n);
        CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
    }
}

pub fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

pub fn ok(st: ws_status) {
    assert_eq!(st, ws_status::WS_OK, "{}", last_error());
}

/// Create a handle with a config prepared by `setup`.
pub fn create_with(url: &str, setup: impl FnOnce(ws_config)) -> ws_handle {
    unsafe {
        let mut cfg = 0;
        ok(ws_config_new(&mut cfg));
        ok(ws_config_set_url(cfg, cs(url).as_ptr()));
        setup(cfg);
        let mut h = 0;
        ok(ws_create_with_config(cfg, &mut h));
        ok(ws_config_free(cfg));
        h
    }
}

pub fn create(url: &str) -> ws_handle {
    let mut h = 0;
    unsafe { ok(ws_create(cs(url).as_ptr(), &mut h)) };
    h
}

/// Events until one matches `pred` (returned last), within `ms`.
pub fn until(h: ws_handle, ms: u64, pred: impl Fn(&Ev) -> bool) -> Vec<Ev> {
    let deadline = Instant::now() + Duration::from_millis(ms);
    let mut all = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_millis() as i32;
        let e = try_next(h, left.max(1))
            .unwrap_or_else(|st| panic!("no matching event within {ms} ms ({st:?}); got {all:?}"));
        let done = pred(&e);
        all.push(e);
        if done {
            return all;
        }
    }
}

/// A server that answers the upgrade with `status` and a reason.
pub fn rejecting_server(status: u16) -> Server {
    use tungstenite::handshake::server::{ErrorResponse, Request, Response};
    serve(move |stream| {
        let cb = move |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
            let mut resp = ErrorResponse::new(Some("go away".into()));
            *resp.status_mut() = tungstenite::http::StatusCode::from_u16(status).unwrap();
            Err(resp)
        };
        let _ = tungstenite::accept_hdr(stream, cb);
    })
}

/// Create a handle that does not reconnect (browser-like).
pub fn create_once(url: &str) -> ws_handle {
    create_with(url, |cfg| ok(ws_config_set_reconnect(cfg, false)))
}

pub fn send(h: ws_handle, data: &[u8], binary: bool) -> ws_status {
    unsafe { ws_send(h, data.as_ptr(), data.len(), binary) }
}

pub fn expect_open(h: ws_handle) -> String {
    match next(h, 5000) {
        Ev::Open { protocol, reconnect: false } => protocol,
        other => panic!("expected open, got {other:?}"),
    }
}

pub fn close(h: ws_handle, code: u16) -> ws_status {
    unsafe { ws_close(h, code, std::ptr::null()) }
}
