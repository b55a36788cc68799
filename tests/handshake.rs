//! The opening handshake: subprotocols, extra headers, rejection with an HTTP
//! status, and the ways connecting fails (refused, timeout, DNS).
// tungstenite's accept_hdr callback fixes the Err type.
#![allow(clippy::result_large_err)]
mod common;
use common::*;
use std::{
    net::TcpListener,
    sync::mpsc,
    time::{Duration, Instant},
};
use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use wsclient::*;

#[test]
fn subprotocol_negotiated_and_headers_seen_by_server() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = serve(move |stream| {
        let tx = tx.lock().unwrap().clone();
        let cb = move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
            let h = req.headers();
            let get = |n: &str| {
                h.get_all(n).iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>()
            };
            tx.send((
                get("x-token"),
                get("x-multi"),
                get("sec-websocket-protocol"),
                req.uri().to_string(),
            ))
            .unwrap();
            resp.headers_mut().insert("Sec-WebSocket-Protocol", "chat.v2".parse().unwrap());
            Ok(resp)
        };
        if let Ok(mut ws) = tungstenite::accept_hdr(stream, cb) {
            echo_loop(&mut ws);
        }
    });
    let h = create_with(&format!("{}/room/7?user=ann", server.url()), |cfg| unsafe {
        ok(ws_config_add_header(cfg, cs("X-Token").as_ptr(), cs("secret").as_ptr()));
        ok(ws_config_add_header(cfg, cs("X-Multi").as_ptr(), cs("a").as_ptr()));
        ok(ws_config_add_header(cfg, cs("X-Multi").as_ptr(), cs("b").as_ptr()));
        ok(ws_config_add_subprotocol(cfg, cs("chat.v1").as_ptr()));
        ok(ws_config_add_subprotocol(cfg, cs("chat.v2").as_ptr()));
    });
    assert_eq!(expect_open(h), "chat.v2");
    let (token, multi, protos, uri) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(token, ["secret"]);
    assert_eq!(multi, ["a", "b"]);
    assert_eq!(protos, ["chat.v1, chat.v2"]);
    assert_eq!(uri, "/room/7?user=ann");
    ok(ws_free(h));
}

#[test]
fn handshake_rejected_with_403_reports_the_status() {
    let server = rejecting_server(403);
    let h = create(&server.url());
    match next(h, 5000) {
        Ev::Error {
            kind: ws_error_kind::WS_ERROR_HANDSHAKE_REJECTED,
            http_status: 403,
            message,
        } => {
            assert!(message.contains("403"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, clean: false, .. }));
    ok(ws_free(h));
}

#[test]
fn connection_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let h = create_once(&format!("ws://127.0.0.1:{port}/"));
    match next(h, 5000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_CONNECT_REFUSED, message, .. } => {
            assert!(message.contains(&port.to_string()), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, .. }));
    ok(ws_free(h));
}

#[test]
fn connect_timeout_covers_the_http_upgrade() {
    // Accepts TCP, then never answers the upgrade request.
    let server = serve(|stream| {
        std::thread::sleep(Duration::from_secs(5));
        drop(stream);
    });
    let start = Instant::now();
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_connect_timeout_ms(cfg, 300));
        ok(ws_config_set_reconnect(cfg, false));
    });
    match next(h, 5000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_CONNECT_TIMEOUT, message, .. } => {
            assert!(message.contains("upgrade"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, .. }));
    ok(ws_free(h));
}

#[test]
fn close_while_connecting_abandons_the_attempt_at_once() {
    let server = serve(|stream| {
        std::thread::sleep(Duration::from_secs(5));
        drop(stream);
    });
    let h = create(&server.url());
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    ok(close(h, 1000));
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, clean: false, .. }));
    assert!(start.elapsed() < Duration::from_millis(1000), "close took {:?}", start.elapsed());
    ok(ws_free(h));
}

#[test]
fn unknown_host_is_a_dns_error() {
    let h = create_once("ws://no-such-host.invalid/");
    match next(h, 30000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_DNS, message, .. } => {
            assert!(message.contains("no-such-host.invalid"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, .. }));
    ok(ws_free(h));
}

/// A server that answers the upgrade with `response` (raw bytes).
fn answering(response: Vec<u8>) -> Server {
    common::raw::hostile(move |peer| {
        peer.read_request();
        peer.send(&response);
        std::thread::sleep(Duration::from_millis(500));
    })
}

fn handshake_error(server: &Server) -> (ws_error_kind, String) {
    let h = create_once(&server.url());
    let events = until_close(h, 5000);
    ok(ws_free(h));
    match events.as_slice() {
        [Ev::Error { kind, message, .. }, Ev::Close { code: 1006, .. }] => (*kind, message.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_oversized_handshake_response_is_refused() {
    let mut resp = b"HTTP/1.1 101 Switching Protocols\r\nX-Big: ".to_vec();
    resp.extend(vec![b'a'; 100 << 10]);
    let (kind, message) = handshake_error(&answering(resp));
    assert_eq!(kind, ws_error_kind::WS_ERROR_PROTOCOL, "{message}");
    assert!(message.contains("64 KiB"), "{message}");
}

#[test]
fn a_handshake_response_with_too_many_headers_is_refused() {
    let mut resp = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
    for i in 0..200 {
        resp.extend(format!("X-H{i}: v\r\n").as_bytes());
    }
    resp.extend(b"\r\n");
    let (kind, message) = handshake_error(&answering(resp));
    assert_eq!(kind, ws_error_kind::WS_ERROR_PROTOCOL, "{message}");
    assert!(message.contains("headers"), "{message}");
}

#[test]
fn a_handshake_response_that_is_not_http_is_refused() {
    let (kind, message) = handshake_error(&answering(b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec()));
    assert_eq!(kind, ws_error_kind::WS_ERROR_PROTOCOL, "{message}");
}
