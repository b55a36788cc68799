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
fn the_handshake_timeout_covers_an_upgrade_never_answered() {
    // Accepts TCP, then never answers the upgrade request. The TCP connect
    // has its own (long) budget: only the handshake timeout ends this.
    let server = serve(|stream| {
        std::thread::sleep(Duration::from_secs(30));
        drop(stream);
    });
    let start = Instant::now();
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_connect_timeout_ms(cfg, 60_000));
        ok(ws_config_set_handshake_timeout_ms(cfg, 300));
        ok(ws_config_set_reconnect(cfg, false));
    });
    match next(h, 20_000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_CONNECT_TIMEOUT, message, .. } => {
            assert!(message.contains("handshake timeout during the HTTP upgrade"), "{message}")
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
    // Not when the server gives up after 5 s: a bound well under it.
    assert!(start.elapsed() < Duration::from_millis(2500), "close took {:?}", start.elapsed());
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

fn redirecting(status: u16, location: String) -> Server {
    answering(
        format!("HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
            .into_bytes(),
    )
}

/// An echo server that reports the path of each upgrade request.
fn path_echo() -> (Server, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = serve(move |stream| {
        let tx = tx.lock().unwrap().clone();
        let cb = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
            tx.send(req.uri().to_string()).unwrap();
            Ok(resp)
        };
        if let Ok(mut ws) = tungstenite::accept_hdr(stream, cb) {
            echo_loop(&mut ws);
        }
    });
    (server, rx)
}

#[test]
fn redirects_are_not_followed_by_default() {
    let (target, paths) = path_echo();
    let server = redirecting(302, format!("ws://user:pw1234@127.0.0.1:{}/next", target.port));
    let h = create_once(&server.url());
    match until_close(h, 5000).as_slice() {
        [Ev::Error {
            kind: ws_error_kind::WS_ERROR_HANDSHAKE_REJECTED,
            http_status: 302,
            message,
        }, Ev::Close { .. }] => {
            assert!(message.contains("not followed"), "{message}");
            assert!(message.contains("***@127.0.0.1") && !message.contains("pw1234"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(paths.try_recv().is_err(), "the target was never contacted");
    ok(ws_free(h));
}

#[test]
fn redirects_are_followed_when_enabled() {
    let (target, paths) = path_echo();
    for (status, location) in [
        (301, format!("ws://127.0.0.1:{}/a?x=1", target.port)),
        (308, format!("http://127.0.0.1:{}/b", target.port)),
    ] {
        let server = redirecting(status, location);
        let h = create_with(&server.url(), |cfg| ok(ws_config_set_max_redirects(cfg, 1)));
        expect_open(h);
        ok(send(h, b"after redirect", false));
        assert_eq!(next(h, 5000), Ev::Message { data: b"after redirect".to_vec(), binary: false });
        ok(ws_free(h));
    }
    assert_eq!(paths.recv_timeout(Duration::from_secs(5)).unwrap(), "/a?x=1");
    assert_eq!(paths.recv_timeout(Duration::from_secs(5)).unwrap(), "/b");
}

#[test]
fn a_relative_redirect_stays_on_the_server() {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = hits.clone();
    let server = common::raw::hostile(move |peer| {
        let req = peer.read_request();
        if req.starts_with("GET /start ") {
            peer.send(b"HTTP/1.1 307 Temporary\r\nLocation: /moved\r\n\r\n");
        } else {
            assert!(req.starts_with("GET /moved "), "{req}");
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            peer.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let h = create_with(&format!("{}/start", server.url()), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_max_redirects(cfg, 3));
    });
    match next(h, 5000) {
        Ev::Error { http_status: 404, .. } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    ok(ws_free(h));
}

#[test]
fn relative_redirects_resolve_against_the_current_url() {
    // `../c?x=1` from /a/b/start is /a/c?x=1; `//host:port/final` keeps the
    // scheme (the URL Standard's resolution, as a browser does it).
    let (tx, paths) = std::sync::mpsc::channel();
    let server = common::raw::hostile(move |peer| {
        let req = peer.read_request();
        let path = req.split(' ').nth(1).unwrap_or("").to_string();
        let port = peer.stream.local_addr().unwrap().port();
        let answer = match path.as_str() {
            "/a/b/start" => "HTTP/1.1 302 Found\r\nLocation: ../c?x=1\r\n\r\n".to_string(),
            "/a/c?x=1" => {
                format!("HTTP/1.1 302 Found\r\nLocation: //127.0.0.1:{port}/final\r\n\r\n")
            }
            _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string(),
        };
        let _ = tx.send(path);
        peer.send(answer.as_bytes());
    });
    let h = create_with(&format!("{}/a/b/start", server.url()), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_max_redirects(cfg, 3));
    });
    match next(h, 5000) {
        Ev::Error { http_status: 404, .. } => {}
        other => panic!("{other:?}"),
    }
    let seen: Vec<String> = paths.try_iter().collect();
    assert_eq!(seen, ["/a/b/start", "/a/c?x=1", "/final"]);
    ok(ws_free(h));
}

#[test]
fn urls_are_normalised_before_the_request() {
    // The scheme's case and dot segments, as the URL Standard parses them.
    let (tx, requests) = std::sync::mpsc::channel();
    let server = common::raw::hostile(move |peer| {
        let _ = tx.send(peer.read_request());
        peer.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    });
    let url = server.url().replacen("ws://", "WS://", 1) + "/x/./y/../z";
    let h = create_with(&url, |cfg| ok(ws_config_set_reconnect(cfg, false)));
    match next(h, 5000) {
        Ev::Error { http_status: 404, .. } => {}
        other => panic!("{other:?}"),
    }
    let req = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(req.starts_with("GET /x/z HTTP/1.1\r\n"), "{req}");
    ok(ws_free(h));
}

#[test]
fn redirect_loops_stop_at_the_limit() {
    let port = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(0));
    let p = port.clone();
    let server = common::raw::hostile(move |peer| {
        peer.read_request();
        let port = p.load(std::sync::atomic::Ordering::SeqCst);
        peer.send(
            format!("HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:{port}/again\r\n\r\n")
                .as_bytes(),
        );
    });
    port.store(server.port, std::sync::atomic::Ordering::SeqCst);
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_max_redirects(cfg, 3));
    });
    match next(h, 5000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_HANDSHAKE_REJECTED, message, .. } => {
            assert!(message.contains("more than 3 redirects"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.accepted.load(std::sync::atomic::Ordering::SeqCst), 4);
    ok(ws_free(h));
    let mut cfg = 0;
    ok(unsafe { ws_config_new(&mut cfg) });
    assert_eq!(ws_config_set_max_redirects(cfg, 21), ws_status::WS_ERR_INVALID_ARGUMENT);
    ok(ws_config_free(cfg));
}
