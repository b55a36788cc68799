//! The `wsclient` command-line tool, end to end against in-process servers.
#![allow(clippy::result_large_err)]
mod common;
use common::{proxy::*, *};
use std::{
    io::{BufRead, BufReader, Read, Write},
    process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio},
    sync::{mpsc, Mutex},
    thread,
    time::Duration,
};
use tungstenite::{
    handshake::server::{ErrorResponse, Request, Response},
    protocol::{frame::coding::CloseCode, CloseFrame},
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

/// The tool running, its stderr (the events) read line by line as they
/// come, so that a test acts on what it printed rather than on time.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    err: Vec<String>,
    stdout: thread::JoinHandle<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsclient"))
            .args(args)
            .env_remove("WSCLIENT_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let err = BufReader::new(child.stderr.take().unwrap());
        thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        Running { stdin: child.stdin.take(), child, lines, err: Vec::new(), stdout }
    }

    /// Wait for a stderr line starting with `prefix` (an earlier one
    /// counts); false if the tool ended first.
    fn saw(&mut self, prefix: &str) -> bool {
        if self.err.iter().any(|l| l.starts_with(prefix)) {
            return true;
        }
        // A bound against hanging only; the tool reacts in milliseconds.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(60)) {
            let hit = line.starts_with(prefix);
            self.err.push(line);
            if hit {
                return true;
            }
        }
        false
    }

    fn expect(&mut self, prefix: &str) {
        if !self.saw(prefix) {
            let _ = self.child.kill();
            panic!("no '{prefix}' on stderr:\n{}", self.err.join("\n"));
        }
    }

    /// Close stdin, wait for the exit: (status, stdout, stderr).
    fn finish(mut self) -> (ExitStatus, String, String) {
        drop(self.stdin.take());
        while let Ok(line) = self.lines.recv() {
            self.err.push(line);
        }
        let status = self.child.wait().unwrap();
        (status, self.stdout.join().unwrap(), self.err.join("\n"))
    }
}

fn refused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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

/// An echo server that reports, for each connection, its X-Token and
/// Sec-WebSocket-Protocol headers and then each binary message; it accepts
/// the last subprotocol offered.
fn reporting_server() -> (Server, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = serve(move |stream| {
        let tx = tx.lock().unwrap().clone();
        let tx2 = tx.clone();
        let cb = move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
            let h = |n: &str| req.headers().get(n).map(|v| v.to_str().unwrap().to_string());
            let proto = h("sec-websocket-protocol");
            tx2.send(format!("token={:?} proto={proto:?}", h("x-token"))).unwrap();
            if let Some(last) = proto.as_deref().and_then(|p| p.rsplit(", ").next()) {
                resp.headers_mut().insert("Sec-WebSocket-Protocol", last.parse().unwrap());
            }
            Ok(resp)
        };
        let mut ws = tungstenite::accept_hdr(stream, cb).unwrap();
        while let Ok(m) = ws.read() {
            if let Message::Binary(b) = &m {
                tx.send(format!("binary {:?}", b.as_ref())).unwrap();
            }
            if m.is_text() || m.is_binary() {
                let _ = ws.send(m);
            }
        }
    });
    (server, rx)
}

#[test]
fn headers_subprotocols_and_binary_reach_the_server() {
    let (server, rx) = reporting_server();
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
    let mut cli = Running::start(&[&proxy.url(), "--ping-interval", "100"]);
    cli.expect("* open ");
    cli.expect("* pong: ");
    proxy.cut();
    cli.expect("* reconnecting: attempt 1 in ");
    cli.expect("* open again");
    // The end of stdin closes it: a normal end, after a healed outage.
    let (status, _, err) = cli.finish();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("* closed: 1000"), "{err}");
}

#[test]
fn bad_usage_exits_with_2() {
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
    let o = cli(&["--help"], "");
    assert!(o.status.success() && text(&o.stdout).contains("exit status:"));
}

#[test]
fn a_failure_with_no_reconnect_exits_with_1() {
    let o = cli(&[&format!("ws://127.0.0.1:{}/", refused_port()), "--no-reconnect"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("WS_ERROR_CONNECT_REFUSED"), "{}", text(&o.stderr));

    // Open, then the server drops the connection: the error ends the run.
    let server = serve(|stream| {
        let mut ws = tungstenite::accept(stream).unwrap();
        let _ = ws.read();
    });
    let o = cli(&[&server.url(), "--no-reconnect", "-n", "2"], "one\n");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("* open"), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("! error (WS_ERROR_NETWORK)"), "{}", text(&o.stderr));
}

#[test]
fn a_timeout_run_that_never_connected_exits_with_1() {
    // Retrying all along against a refused port: the reconnects are not
    // success. With --count too.
    let url = format!("ws://127.0.0.1:{}/", refused_port());
    for args in [&[&url, "--timeout", "1.5"][..], &[&url, "-n", "1", "-t", "1.5"]] {
        let o = cli(args, "");
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("* reconnecting: attempt 1"), "{err}");
        assert!(err.contains("wsclient: timeout after 1.5 s: never connected"), "{err}");
    }
}

#[test]
fn a_timeout_while_down_after_an_error_exits_with_1() {
    let server = echo_server();
    let proxy = Proxy::start(server.port);
    let mut cli = Running::start(&[&proxy.url(), "--timeout", "5"]);
    // Open (unless the machine is too slow to connect within the 5 s: then
    // it never connected, which also exits with 1).
    let opened = cli.saw("* open ");
    if opened {
        proxy.set(Mode::Refuse);
        proxy.cut();
        cli.expect("! error ");
    }
    let (status, _, err) = cli.finish();
    assert_eq!(status.code(), Some(1), "{err}");
    let why = if opened { "not connected (" } else { "never connected" };
    assert!(err.contains(&format!("wsclient: timeout after 5.0 s: {why}")), "{err}");
}

#[test]
fn a_server_close_before_count_exits_with_1_and_a_clean_one_without_count_with_0() {
    let server = serve(|stream| {
        let mut ws = tungstenite::accept(stream).unwrap();
        let _ = ws.read();
        let _ = ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() }));
        while ws.read().is_ok() {}
    });
    // A server close reconnects by default (1000 too): these runs do not.
    let o = cli(&[&server.url(), "--no-reconnect", "-n", "5"], "one\n");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("* closed: 1000 'bye'"), "{}", text(&o.stderr));
    // stdin stays open: only the server's clean close ends the run.
    let mut cli = Running::start(&[&server.url(), "--no-reconnect"]);
    cli.expect("* open ");
    writeln!(cli.stdin.as_mut().unwrap(), "hello").unwrap();
    cli.expect("* closed: 1000 'bye'");
    let (status, _, err) = cli.finish();
    assert_eq!(status.code(), Some(0), "{err}");
}

#[test]
fn a_timeout_on_a_working_connection_exits_with_0_or_with_3_short_of_count() {
    // Bounds for connecting to 127.0.0.1, not timing claims.
    let server = echo_server();
    let o = cli(&[&server.url(), "-t", "2"], "one\n");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("< one"));

    let o = cli(&[&server.url(), "-n", "3", "-t", "2"], "one\n");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("timeout after 2.0 s with 1 of 3 messages"),
        "{}",
        text(&o.stderr)
    );

    let o = cli(&[&server.url(), "-n", "1", "-t", "30"], "one\n");
    assert_eq!(o.status.code(), Some(0), "--count reached first: {}", text(&o.stderr));
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

#[test]
fn option_values_may_be_joined_with_equals() {
    let (server, rx) = reporting_server();
    let url = server.url();
    let o = cli(&["--header=X-Token: a=b", "--subprotocol=v1", "--count=2", "-n2", &url], "1\n2\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        r#"token=Some("a=b") proto=Some("v1")"#,
        "the value is everything after the first '='"
    );
    assert!(text(&o.stdout).contains("< 2"), "{}", text(&o.stdout));
    // A bad joined value is named as a separate one is.
    let o = cli(&[&url, "--count=x"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).starts_with("wsclient: --count takes a whole number, got 'x'"));
    // A flag takes no value (and the value is not shown).
    let o = cli(&[&url, "--insecure=s3cret"], "");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).starts_with("wsclient: --insecure takes no value"),
        "{}",
        text(&o.stderr)
    );
    assert!(!text(&o.stderr).contains("s3cret"), "{}", text(&o.stderr));
}

#[test]
fn double_dash_ends_the_options() {
    // After `--`, an argument that looks like an option is the URL: here a
    // bad one, refused as a URL (not as an unknown option).
    let o = cli(&["--", "--json"], "");
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.starts_with("wsclient: ") && !err.contains("unknown option"), "{err}");
    let o = cli(&["--json", "--"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).starts_with("wsclient: a URL is needed"), "{}", text(&o.stderr));
    let server = echo_server();
    let o = cli(&["--json", "-n", "1", "--", &server.url()], "hi\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(r#""data":"hi""#), "{}", text(&o.stdout));
}

#[test]
fn json_output_parses_and_carries_every_field() {
    let server = echo_server();
    // Quotes, a backslash, control characters and non-ASCII in text.
    let line = "q\"b\\s\tt\u{1}é";
    let o = cli(&["--json", "-n", "1", "--ping-interval=0", &server.url()], &format!("{line}\n"));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let events: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let find = |name: &str| {
        events
            .iter()
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no {name}: {events:?}"))
    };
    let open = find("open");
    assert_eq!(open["reconnect"], false);
    assert_eq!(open["protocol"], "");
    let message = find("message");
    assert_eq!(message["data"], line);
    assert_eq!(message["binary"], false);
    // ("sent" is printed by the thread reading stdin, not ordered with the rest.)
    let close = events.last().unwrap();
    assert_eq!(close["event"], "close", "the last event");
    assert_eq!(close["code"], 1000);
    assert_eq!(close["clean"], true);
    assert_eq!(close["unsent"], 0);

    // Binary messages as base64 (standard alphabet, padded), UTF-8 or not.
    let o = cli(&["--json", "--binary", "-n", "1", &server.url()], "\u{ff}ab?\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let message = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "message")
        .expect("the echo");
    assert_eq!(message["binary"], true);
    assert_eq!(message["base64"], "w79hYj8=", "{message}");

    // An error event: its kind by name, the message, the HTTP status.
    let o = cli(&["--json", "--no-reconnect", &format!("ws://127.0.0.1:{}/", refused_port())], "");
    assert_eq!(o.status.code(), Some(1));
    let error = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "error")
        .expect("an error event");
    assert_eq!(error["kind"], "WS_ERROR_CONNECT_REFUSED");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{error}");
    assert_eq!(error["http_status"], 0);
}
