//! `wss://` against a local TLS server whose certificate is signed by a test
//! CA: trusted through the CA-file option, refused without it (with the
//! reason), and accepted without verification only by explicit opt-in.
mod common;
use common::*;
use wsclient::*;

fn tls_echo_server() -> Server {
    tls_echo_server_on("127.0.0.1")
}

fn tls_echo_server_on(ip: &str) -> Server {
    tls_server_with(ip, "server.pem")
}

fn wss(server: &Server, host: &str) -> String {
    format!("wss://{host}:{}/secure", server.port)
}

#[test]
fn trusted_through_the_ca_file() {
    let server = tls_echo_server();
    for host in ["localhost", "127.0.0.1"] {
        let h = create_with(&wss(&server, host), |cfg| unsafe {
            ok(ws_config_set_ca_file(cfg, cs(&format!("{DATA}/ca.pem")).as_ptr()));
        });
        expect_open(h);
        let big = vec![7u8; 1 << 20];
        ok(send(h, &big, true));
        ok(send(h, b"over tls", false));
        assert_eq!(next(h, 5000), Ev::Message { data: big, binary: true });
        assert_eq!(next(h, 5000), Ev::Message { data: b"over tls".to_vec(), binary: false });
        ok(close(h, 1000));
        assert!(matches!(next(h, 5000), Ev::Close { code: 1000, clean: true, .. }));
        ok(ws_free(h));
    }
}

#[test]
fn trusted_through_a_ca_pem_in_memory() {
    let server = tls_echo_server();
    let pem = std::fs::read_to_string(format!("{DATA}/ca.pem")).unwrap();
    let h = create_with(&wss(&server, "localhost"), |cfg| unsafe {
        ok(ws_config_set_ca_pem(cfg, cs(&pem).as_ptr()));
    });
    expect_open(h);
    ok(send(h, b"over tls", false));
    assert_eq!(next(h, 5000), Ev::Message { data: b"over tls".to_vec(), binary: false });
    ok(ws_free(h));
}

#[test]
fn pem_texts_are_checked_when_set_and_never_quoted() {
    let key = std::fs::read_to_string(format!("{DATA}/server.key")).unwrap();
    let cert = std::fs::read_to_string(format!("{DATA}/server.pem")).unwrap();
    let secret_line = key.lines().nth(1).unwrap().to_string();
    unsafe {
        let mut cfg = 0;
        ok(ws_config_new(&mut cfg));
        assert_eq!(
            ws_config_set_ca_pem(cfg, cs("not a certificate").as_ptr()),
            ws_status::WS_ERR_INVALID_ARGUMENT
        );
        assert!(!last_error().contains("not a certificate"), "{}", last_error());
        assert_eq!(ws_config_set_ca_pem(cfg, std::ptr::null()), ws_status::WS_ERR_INVALID_ARGUMENT);
        ok(ws_config_set_client_cert_pem(cfg, cs(&cert).as_ptr(), cs(&key).as_ptr()));
        // A key where the certificate should be: refused, and the key's
        // text is in no message.
        assert_eq!(
            ws_config_set_client_cert_pem(cfg, cs(&key).as_ptr(), cs(&key).as_ptr()),
            ws_status::WS_ERR_INVALID_ARGUMENT
        );
        assert!(!last_error().contains(&secret_line), "{}", last_error());
        ok(ws_config_free(cfg));
    }
}

#[test]
fn refused_without_the_ca_with_the_reason() {
    let server = tls_echo_server();
    let h = create_once(&wss(&server, "localhost"));
    match next(h, 5000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_TLS, message, .. } => {
            assert!(message.contains("certificate"), "the reason is given: {message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(h, 5000), Ev::Close { code: 1006, .. }));
    ok(ws_free(h));
}

#[test]
fn host_name_is_verified() {
    let server = tls_echo_server_on("127.0.0.2");
    // The certificate names localhost and 127.0.0.1, not 127.0.0.2.
    let h = create_with(&wss(&server, "127.0.0.2"), |cfg| unsafe {
        ok(ws_config_set_ca_file(cfg, cs(&format!("{DATA}/ca.pem")).as_ptr()));
    });
    match next(h, 5000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_TLS, message, .. } => {
            assert!(
                message.to_lowercase().contains("mismatch") || message.contains("certificate"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

#[test]
fn insecure_is_an_explicit_opt_in() {
    let server = tls_echo_server_on("127.0.0.2");
    let h = create_with(&wss(&server, "127.0.0.2"), |cfg| ok(ws_config_set_insecure(cfg, true)));
    expect_open(h);
    ok(send(h, b"x", false));
    assert_eq!(next(h, 5000), Ev::Message { data: b"x".to_vec(), binary: false });
    ok(ws_free(h));
}

#[test]
fn tls_files_are_checked_when_set() {
    unsafe {
        let mut cfg = 0;
        ok(ws_config_new(&mut cfg));
        assert_eq!(
            ws_config_set_ca_file(cfg, cs("/no/such/ca.pem").as_ptr()),
            ws_status::WS_ERR_FILE
        );
        assert!(last_error().contains("/no/such/ca.pem"), "{}", last_error());
        let not_pem = format!("{DATA}/README.md");
        assert_eq!(ws_config_set_ca_file(cfg, cs(&not_pem).as_ptr()), ws_status::WS_ERR_FILE);
        let (cert, key) = (format!("{DATA}/server.pem"), format!("{DATA}/server.key"));
        ok(ws_config_set_client_cert(cfg, cs(&cert).as_ptr(), cs(&key).as_ptr()));
        assert_eq!(
            ws_config_set_client_cert(cfg, cs(&key).as_ptr(), cs(&key).as_ptr()),
            ws_status::WS_ERR_FILE
        );
        ok(ws_config_free(cfg));
    }
}

/// The certificate `pem` must be refused with a reason that names the
/// problem, even with the test CA trusted; `insecure` accepts it.
fn refused(pem: &str, reasons: &[&str]) {
    let server = tls_server_with("127.0.0.1", pem);
    let h = create_with(&wss(&server, "localhost"), |cfg| unsafe {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_ca_file(cfg, cs(&format!("{DATA}/ca.pem")).as_ptr()));
    });
    match until_close(h, 5000).as_slice() {
        [Ev::Error { kind: ws_error_kind::WS_ERROR_TLS, message, .. }, Ev::Close { code: 1006, .. }] =>
        {
            let lower = message.to_lowercase();
            assert!(reasons.iter().any(|r| lower.contains(r)), "{pem}: unclear reason: {message}");
            assert!(!message.contains(".c:"), "no OpenSSL source locations: {message}");
        }
        other => panic!("{pem}: {other:?}"),
    }
    ok(ws_free(h));
    let h = create_with(&wss(&server, "localhost"), |cfg| ok(ws_config_set_insecure(cfg, true)));
    expect_open(h);
    ok(ws_free(h));
}

#[test]
fn expired_certificate_is_refused() {
    refused("expired.pem", &["expired"]);
}

#[test]
fn certificate_for_another_host_is_refused() {
    refused("wronghost.pem", &["mismatch", "host"]);
}

#[test]
fn self_signed_certificate_is_refused() {
    refused("selfsigned.pem", &["self-signed", "self signed"]);
}

#[test]
fn certificate_from_an_unknown_ca_is_refused() {
    refused("unknownca.pem", &["unable to get local issuer", "unknown ca", "issuer"]);
}

#[test]
fn a_redirect_from_wss_to_ws_is_never_followed() {
    use std::io::{Read, Write};
    let plain = echo_server();
    let cert = std::fs::read(format!("{DATA}/server.pem")).unwrap();
    let key = std::fs::read(format!("{DATA}/server.key")).unwrap();
    let acceptor =
        native_tls::TlsAcceptor::new(native_tls::Identity::from_pkcs8(&cert, &key).unwrap())
            .unwrap();
    let location = format!("ws://127.0.0.1:{}/", plain.port);
    let server = serve(move |stream| {
        let Ok(mut tls) = acceptor.accept(stream) else { return };
        let mut buf = [0u8; 4096];
        let _ = tls.read(&mut buf);
        let resp = format!("HTTP/1.1 301 Moved\r\nLocation: {location}\r\n\r\n");
        let _ = tls.write_all(resp.as_bytes());
        let _ = tls.flush();
    });
    let h = create_with(&wss(&server, "localhost"), |cfg| unsafe {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_max_redirects(cfg, 5));
        ok(ws_config_set_ca_file(cfg, cs(&format!("{DATA}/ca.pem")).as_ptr()));
    });
    match next(h, 5000) {
        Ev::Error {
            kind: ws_error_kind::WS_ERROR_HANDSHAKE_REJECTED,
            message,
            http_status: 301,
        } => {
            assert!(message.contains("drop TLS"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(plain.accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    ok(ws_free(h));
}
