//! The upgrade request's User-Agent, the TLS server name, encrypted client
//! keys, and the server's answer to the upgrade (status, headers, body).
mod common;
use common::{raw::*, *};
use std::{ffi::c_char, ptr::null_mut, sync::mpsc, time::Duration};
use wsclient::*;

/// A server that reports each upgrade request and rejects it with `answer`.
fn recording(answer: &'static str) -> (Server, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = hostile(move |peer| {
        let _ = tx.lock().unwrap().send(peer.read_request());
        peer.send(answer.as_bytes());
    });
    (server, rx)
}

fn user_agents(request: &str) -> Vec<String> {
    request
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

const REJECT: &str =
    "HTTP/1.1 403 Forbidden\r\nSet-Cookie: session=abc\r\nContent-Length: 11\r\n\r\nnot allowed";

fn request_with(setup: impl FnOnce(ws_config)) -> String {
    let (server, requests) = recording(REJECT);
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        setup(cfg);
    });
    assert!(matches!(next(h, 5000), Ev::Error { http_status: 403, .. }));
    ok(ws_free(h));
    requests.recv_timeout(Duration::from_secs(5)).unwrap()
}

#[test]
fn a_user_agent_is_sent_by_default_and_can_be_replaced_or_removed() {
    let version = unsafe { std::ffi::CStr::from_ptr(ws_version()) }.to_str().unwrap();
    assert_eq!(user_agents(&request_with(|_| {})), [format!("wsclient/{version}")]);
    let custom =
        request_with(|cfg| unsafe { ok(ws_config_set_user_agent(cfg, cs("my-app/2").as_ptr())) });
    assert_eq!(user_agents(&custom), ["my-app/2"]);
    let none = request_with(|cfg| unsafe { ok(ws_config_set_user_agent(cfg, cs("").as_ptr())) });
    assert!(user_agents(&none).is_empty(), "{none}");
    let header = request_with(|cfg| unsafe {
        ok(ws_config_add_header(cfg, cs("User-Agent").as_ptr(), cs("by-header").as_ptr()))
    });
    assert_eq!(user_agents(&header), ["by-header"]);
    unsafe {
        let mut cfg = 0;
        ok(ws_config_new(&mut cfg));
        assert_eq!(
            ws_config_set_user_agent(cfg, cs("a\tb\r\nX: y").as_ptr()),
            ws_status::WS_ERR_INVALID_ARGUMENT
        );
        ok(ws_config_free(cfg));
    }
}

/// The server's answer to the last upgrade of `h`: status, headers, body.
fn response(h: ws_handle) -> (u16, String, Vec<u8>) {
    unsafe {
        let mut status = 0;
        ok(ws_response_status(h, &mut status));
        let mut n = 0;
        assert_eq!(
            ws_response_headers(h, null_mut(), 0, &mut n),
            ws_status::WS_ERR_BUFFER_TOO_SMALL
        );
        let mut headers = vec![0 as c_char; n + 1];
        assert_eq!(
            ws_response_headers(h, headers.as_mut_ptr(), n, &mut n),
            ws_status::WS_ERR_BUFFER_TOO_SMALL
        );
        ok(ws_response_headers(h, headers.as_mut_ptr(), n + 1, &mut n));
        assert_eq!(headers[n], 0, "NUL-terminated");
        let headers = String::from_utf8(headers[..n].iter().map(|c| *c as u8).collect()).unwrap();
        let mut body = vec![0u8; 4096];
        let mut m = 0;
        ok(ws_response_body(h, body.as_mut_ptr(), body.len(), &mut m));
        body.truncate(m);
        (status, headers, body)
    }
}

#[test]
fn the_answer_to_the_upgrade_can_be_read_after_an_open_and_after_a_rejection() {
    let server = echo_server();
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_reconnect(cfg, false)));
    let mut status = 7;
    ok(unsafe { ws_response_status(h, &mut status) });
    // Either still connecting (no answer yet) or already open.
    assert!(status == 0 || status == 101, "{status}");
    expect_open(h);
    let (status, headers, body) = response(h);
    assert_eq!(status, 101);
    assert!(headers.contains("upgrade: websocket\r\n"), "{headers}");
    assert!(body.is_empty());
    ok(ws_free(h));

    let (server, _requests) = recording(REJECT);
    let h = create_with(&server.url(), |cfg| ok(ws_config_set_reconnect(cfg, false)));
    assert!(matches!(next(h, 5000), Ev::Error { http_status: 403, .. }));
    let (status, headers, body) = response(h);
    assert_eq!(status, 403);
    assert!(headers.contains("set-cookie: session=abc\r\n"), "{headers}");
    assert_eq!(body, b"not allowed");
    ok(ws_free(h));
    assert_eq!(unsafe { ws_response_status(h, &mut 0) }, ws_status::WS_ERR_INVALID_HANDLE);
}

fn wss_127(server: &Server) -> String {
    format!("wss://127.0.0.1:{}/", server.port)
}

#[test]
fn the_tls_server_name_can_be_given() {
    // A certificate for other.example only, reached by IP address.
    let server = tls_server_with("127.0.0.1", "wronghost.pem");
    let ca = cs(&format!("{DATA}/ca.pem"));
    let h = create_with(&wss_127(&server), |cfg| unsafe {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_ca_file(cfg, ca.as_ptr()));
    });
    match next(h, 5000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_TLS, .. } => {}
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
    let h = create_with(&wss_127(&server), |cfg| unsafe {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_ca_file(cfg, ca.as_ptr()));
        ok(ws_config_set_server_name(cfg, cs("other.example").as_ptr()));
    });
    expect_open(h);
    ok(ws_free(h));
    unsafe {
        let mut cfg = 0;
        ok(ws_config_new(&mut cfg));
        assert_eq!(
            ws_config_set_server_name(cfg, cs("").as_ptr()),
            ws_status::WS_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            ws_config_set_server_name(cfg, cs("a b").as_ptr()),
            ws_status::WS_ERR_INVALID_ARGUMENT
        );
        ok(ws_config_free(cfg));
    }
}

#[test]
fn an_encrypted_client_key_needs_its_password_which_is_never_shown() {
    let key = std::fs::read(format!("{DATA}/server.key")).unwrap();
    let cert = std::fs::read_to_string(format!("{DATA}/server.pem")).unwrap();
    let pkey = openssl::pkey::PKey::private_key_from_pem(&key).unwrap();
    let encrypted = pkey
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"s3cret-pw")
        .unwrap();
    let encrypted = String::from_utf8(encrypted).unwrap();
    assert!(encrypted.contains("ENCRYPTED PRIVATE KEY"));
    unsafe {
        let mut cfg = 0;
        ok(ws_config_new(&mut cfg));
        let (c, k) = (cs(&cert), cs(&encrypted));
        assert_eq!(
            ws_config_set_client_cert_pem(cfg, c.as_ptr(), k.as_ptr()),
            ws_status::WS_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("password"), "{}", last_error());
        ok(ws_config_set_client_key_password(cfg, cs("wrong-pw").as_ptr()));
        assert_eq!(
            ws_config_set_client_cert_pem(cfg, c.as_ptr(), k.as_ptr()),
            ws_status::WS_ERR_INVALID_ARGUMENT
        );
        assert!(!last_error().contains("wrong-pw"), "{}", last_error());
        ok(ws_config_set_client_key_password(cfg, cs("s3cret-pw").as_ptr()));
        ok(ws_config_set_client_cert_pem(cfg, c.as_ptr(), k.as_ptr()));
        ok(ws_config_free(cfg));
    }
}
