//! A redirect to another origin (scheme, host or port) carries no
//! credentials: not the URL's user information, not Authorization, Cookie,
//! Proxy-Authorization, nor any header whose name marks it as a secret. A
//! redirect on the same origin keeps them all.
mod common;
use common::{raw::*, *};
use std::{
    sync::{mpsc, Mutex},
    time::Duration,
};
use wsclient::*;

const MARK: &str = "S3CR3TMARK";

/// Headers that must not reach another origin, and one that may.
const SECRET_HEADERS: [(&str, &str); 7] = [
    ("Cookie", "session=S3CR3TMARK-cookie"),
    ("Proxy-Authorization", "Basic S3CR3TMARK-proxy"),
    ("X-Api-Key", "S3CR3TMARK-key"),
    ("X-Auth-Token", "S3CR3TMARK-token"),
    ("X-Session-Id", "S3CR3TMARK-session"),
    ("X-Client-Secret", "S3CR3TMARK-secret"),
    ("X-Password", "S3CR3TMARK-password"),
];
const KEPT: (&str, &str) = ("X-Client", "demo-1");

/// A server that answers `/start` with a redirect to `location(port)` and
/// any other path with a 101, reporting that request; then closes.
fn server(
    location: impl Fn(u16) -> String + Send + Sync + 'static,
) -> (Server, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let port = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(0));
    let own = port.clone();
    let server = hostile(move |peer| {
        let own = own.load(std::sync::atomic::Ordering::SeqCst);
        // Peek at the request line: a redirect for /start, else accept.
        let mut line = [0u8; 11];
        for _ in 0..500 {
            match peer.stream.peek(&mut line) {
                Ok(n) if n < line.len() && n > 0 => std::thread::sleep(Duration::from_millis(5)),
                _ => break,
            }
        }
        if &line == b"GET /start " {
            peer.read_request();
            let to = location(own);
            peer.send(format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\n\r\n").as_bytes());
            return;
        }
        let req = peer.handshake();
        tx.lock().unwrap().send(req).unwrap();
        peer.send(&close_frame(1000, b""));
        let _ = peer.read();
    });
    port.store(server.port, std::sync::atomic::Ordering::SeqCst);
    (server, rx)
}

/// Connect to `url` (its /start redirects) with the secret headers, plus
/// `extra`; return the request the accepting server saw.
fn request_after_redirect(
    url: &str,
    extra: &[(&str, &str)],
    seen: &mpsc::Receiver<String>,
) -> String {
    let h = create_with(url, |cfg| unsafe {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_max_redirects(cfg, 2));
        for (n, v) in SECRET_HEADERS.iter().chain([KEPT].iter()).chain(extra) {
            ok(ws_config_add_header(cfg, cs(n).as_ptr(), cs(v).as_ptr()));
        }
    });
    let events = until(h, 5000, |e| matches!(e, Ev::Close { .. }));
    assert!(matches!(events[0], Ev::Open { .. }), "{events:?}");
    ok(ws_free(h));
    seen.recv_timeout(Duration::from_secs(5)).unwrap().to_ascii_lowercase()
}

fn basic(user_pass: &str) -> String {
    format!("authorization: basic {}", wsclient::config::base64(user_pass.as_bytes()))
        .to_ascii_lowercase()
}

#[test]
fn a_redirect_to_another_port_drops_every_credential() {
    let (second, at_second) = server(|_| unreachable!("the second server never redirects"));
    let target = second.port;
    let (first, at_first) = server(move |_| format!("ws://127.0.0.1:{target}/next"));

    // URL credentials (Basic) and the secret headers.
    let url = format!("ws://alice:{MARK}-url@127.0.0.1:{}/start", first.port);
    let req = request_after_redirect(&url, &[], &at_second);
    assert!(req.starts_with("get /next "), "{req}");
    // An explicit Authorization header, as well.
    let url = format!("ws://127.0.0.1:{}/start", first.port);
    let req2 =
        request_after_redirect(&url, &[("Authorization", "Bearer S3CR3TMARK-bearer")], &at_second);
    for req in [&req, &req2] {
        assert!(
            !req.contains(&MARK.to_ascii_lowercase()),
            "a secret reached the new origin: {req}"
        );
        for name in ["authorization", "cookie", "proxy-authorization", "x-api-key", "x-auth-token"]
        {
            assert!(!req.contains(&format!("\r\n{name}:")), "{name} reached the new origin: {req}");
        }
        assert!(req.contains("\r\nx-client: demo-1\r\n"), "a harmless header is kept: {req}");
    }
    assert!(at_first.try_recv().is_err(), "the first server only redirected");
}

#[test]
fn a_redirect_on_the_same_origin_keeps_every_credential() {
    for absolute in [false, true] {
        let (server, seen) = server(move |port| {
            if absolute {
                format!("ws://127.0.0.1:{port}/next")
            } else {
                "/next".to_string()
            }
        });
        let url = format!("ws://alice:pw-{MARK}@127.0.0.1:{}/start", server.port);
        let req = request_after_redirect(&url, &[], &seen);
        assert!(req.starts_with("get /next "), "{req}");
        assert!(req.contains(&basic(&format!("alice:pw-{MARK}"))), "URL credentials kept: {req}");
        for (name, value) in SECRET_HEADERS {
            let line = format!("\r\n{name}: {value}\r\n").to_ascii_lowercase();
            assert!(req.contains(&line), "{name} kept on the same origin: {req}");
        }
        let req = request_after_redirect(
            &format!("ws://127.0.0.1:{}/start", server.port),
            &[("Authorization", "Bearer S3CR3TMARK-bearer")],
            &seen,
        );
        assert!(req.contains("\r\nauthorization: bearer s3cr3tmark-bearer\r\n"), "{req}");
    }
}
