//! The `wsclient` command-line tool, end to end against in-process servers.
#![allow(clippy::result_large_err)]
mod common;
use common::{proxy::*, *};
use std::{
    io::Write,
    process::{Command, Output, Stdio},
    sync::{mpsc, Mutex},
    time::Duration,
};
use tungstenite::{
    handshake::server::{ErrorResponse, Request, Response},
    Message,
};

fn cli(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsclient"))
        .args(args)
        .env_remove("WSCLIENT_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn sends_lines_and_prints_the_echoes() {
    let server = echo_server();
    let o = cli(&[&server.url(), "--count", "2"], "first\nsecond ü\n");
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{out}\n{err}");
    for line in ["> first", "> second ü", "< first", "< second ü"] {
        assert!(out.lines().any(|l| l == line), "missing '{line}' in:\n{out}");
    }
    assert!(err.contains("* open"), "{err}");
    assert!(err.contains("* closed: 1000"), "{err}");
}

#[test]
fn end_of_input_closes_after_sending() {
    let server = echo_server();
    let o = cli(&[&server.url()], "only line\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("> only line"));
    assert!(text(&o.stderr).contains("* closed: 1000"), "{}", text(&o.stderr));
}

#[test]
fn json_gives_one_object_per_event() {
    let server = echo_server();
    let o = cli(&["--json", "-n", "1", &server.url()], "{\"q\":1}\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with('{') && l.ends_with('}')), "{out}");
    assert!(lines.contains(&r#"{"event":"message","binary":false,"data":"{\"q\":1}"}"#), "{out}");
    assert!(lines.iter().any(|l| l.starts_with(r#"{"event":"open","#)), "{out}");
    assert!(lines.iter().any(|l| l.starts_with(r#"{"event":"close","code":1000,"#)), "{out}");
    assert!(text(&o.stderr).is_empty(), "events go to stdout with --json");
}

#[test]
fn headers_subprotocols_and_binary_reach_the_server() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = serve(move |stream| {
        let tx = tx.lock().unwrap().clone();
        let tx2 = tx.clone();
        let cb = move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
            let h = |n: &str| req.headers().get(n).map(|v| v.to_str().unwrap().to_string());
            tx2.send(format!("token={:?} proto={:?}", h("x-token"), h("sec-websocket-protocol")))
                .unwrap();
            resp.headers_mut().insert("Sec-WebSocket-Protocol", "v2".parse().unwrap());
            Ok(resp)
        };
        let mut ws = tungstenite::accept_hdr(stream, cb).unwrap();
        while let Ok(m) = ws.read() {
            if let Message::Binary(b) = &m {
                tx.send(format!("binary {:?}", b.as_ref())).unwrap();
                let _ = ws.send(m);
            }
        }
    });
    let o = cli(
        &[&server.url(), "-H", "X-Token: abc", "-p", "v1", "-p", "v2", "--binary", "-n", "1"],
        "AB\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        r#"token=Some("abc") proto=Some("v1, v2")"#
    );
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "binary [65, 66]");
    assert!(text(&o.stderr).contains("subprotocol 'v2'"), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("< [2 bytes binary] 4142"), "{}", text(&o.stdout));
}

#[test]
fn shows_reconnects_and_pongs() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    let url = proxy.url();
    let cut = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        proxy.cut();
        proxy
    });
    let o = cli(&[&url, "--ping-interval", "100", "--timeout", "2.5"], "");
    let _proxy = cut.join().unwrap();
    let err = text(&o.stderr);
    assert!(err.contains("* pong: "), "{err}");
    assert!(err.contains("* reconnecting: attempt 1 in "), "{err}");
    assert!(err.contains("* open again"), "{err}");
}

#[test]
fn failures_exit_with_1_and_bad_usage_with_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let o = cli(&[&format!("ws://127.0.0.1:{port}/"), "--no-reconnect"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("WS_ERROR_CONNECT_REFUSED"), "{}", text(&o.stderr));

    // --count not reached before --timeout.
    let server = echo_server();
    let o = cli(&[&server.url(), "-n", "3", "-t", "1"], "one\n");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("with 1 of 3 messages"), "{}", text(&o.stderr));

    for args in [
        &[][..],
        &["--bogus", "ws://h/"],
        &["http://h/"],
        &["ws://h/", "--count", "x"],
        &["ws://h/", "-H", "no colon"],
        &["ws://h/", "--ca-file", "/nonexistent.pem"],
        &["ws://h/", "--pong-timeout", "0"],
    ] {
        let o = cli(args, "");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).starts_with("wsclient: "), "{args:?}: {}", text(&o.stderr));
    }
    let o = cli(&["--version"], "");
    assert!(o.status.success() && text(&o.stdout).starts_with("wsclient "));
}

#[test]
fn tls_with_a_ca_file_or_insecure() {
    let server = tls_server_with("127.0.0.1", "server.pem");
    let url = format!("wss://localhost:{}/", server.port);
    let ca = format!("{DATA}/ca.pem");
    let o = cli(&[&url, "--ca-file", &ca, "-n", "1", "--no-reconnect"], "over tls\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("< over tls"));
    // Without the CA: refused, with the reason.
    let o = cli(&[&url, "--no-reconnect", "-n", "1"], "x\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("WS_ERROR_TLS"), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("did not verify"), "{}", text(&o.stderr));
    let o = cli(&[&url, "--insecure", "-n", "1", "--no-reconnect"], "anyway\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
}
