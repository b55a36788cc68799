//! Through real proxies (pproxy, installed in the project's venv by `make
//! test`): HTTP CONNECT with and without Basic authentication, an HTTP proxy
//! reached over TLS, SOCKS5 with user and password, `wss://` inside the
//! tunnel, a proxy that is down, a 407, and the environment's variables
//! through the CLI. Every byte goes to 127.0.0.1.
mod common;
use common::*;
use std::{
    io::{BufRead, BufReader},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use wsclient::*;

/// pproxy from the venv; None (the test says it skipped) when it is not
/// installed, except under CI, where it must be.
fn pproxy_bin() -> Option<PathBuf> {
    let bin = std::env::var_os("WSCLIENT_PPROXY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/pproxy")));
    if bin.is_file() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "pproxy is not installed ({}): `make test` installs it",
        bin.display()
    );
    eprintln!("skipped: pproxy not installed (`make test` installs it in .venv)");
    None
}

/// A running pproxy, listening on `uri` (with `{port}` filled in), whose
/// verbose log lines are kept.
struct Pproxy {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Pproxy {
    fn start(bin: &PathBuf, uri: &str, extra: &[&str]) -> Pproxy {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Pproxy::start_on(bin, port, uri, extra)
    }

    fn start_on(bin: &PathBuf, port: u16, uri: &str, extra: &[&str]) -> Pproxy {
        let mut child = Command::new(bin)
            .arg("-l")
            .arg(uri.replace("{port}", &port.to_string()))
            .args(extra)
            .arg("-v")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("pproxy starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        // Ready when it accepts a TCP connection.
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "pproxy did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Pproxy { child, port, log }
    }

    /// Wait until a log line names `port` (the tunnel's target).
    fn saw(&self, port: u16) -> bool {
        let start = Instant::now();
        loop {
            if self.log.lock().unwrap().iter().any(|l| l.contains(&format!(":{port}"))) {
                return true;
            }
            if start.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Pproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn through(proxy: &str, url: &str) -> ws_handle {
    let proxy = cs(proxy);
    create_with(url, |cfg| unsafe {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_proxy(cfg, proxy.as_ptr()));
        ok(ws_config_set_ca_file(cfg, cs(&format!("{DATA}/ca.pem")).as_ptr()));
    })
}

fn echo_once(h: ws_handle) {
    expect_open(h);
    ok(send(h, b"through the tunnel", false));
    assert_eq!(next(h, 5000), Ev::Message { data: b"through the tunnel".to_vec(), binary: false });
    ok(close(h, 1000));
    until_close(h, 5000);
    ok(ws_free(h));
}

#[test]
fn http_connect_with_and_without_authentication() {
    let Some(bin) = pproxy_bin() else { return };
    let server = echo_server();
    let open = Pproxy::start(&bin, "http://127.0.0.1:{port}", &[]);
    echo_once(through(&format!("http://127.0.0.1:{}", open.port), &server.url()));
    assert!(open.saw(server.port), "the proxy carried it: {:?}", open.log.lock().unwrap());

    // `--auth 0`: pproxy would otherwise trust an address that once
    // authenticated, for 30 days.
    let guarded = Pproxy::start(&bin, "http://127.0.0.1:{port}#alice:s3cret", &["--auth", "0"]);
    echo_once(through(&format!("http://alice:s3cret@127.0.0.1:{}", guarded.port), &server.url()));
    // A wrong password: the proxy's 407 is an error of its own kind, and
    // final (no reconnect) by default.
    let proxy = cs(&format!("http://alice:wrong@127.0.0.1:{}", guarded.port));
    let h =
        create_with(&server.url(), |cfg| unsafe { ok(ws_config_set_proxy(cfg, proxy.as_ptr())) });
    let events = until_close(h, 10000);
    match &events[0] {
        Ev::Error { kind: ws_error_kind::WS_ERROR_PROXY, http_status: 407, message } => {
            assert!(message.contains("407") && !message.contains("wrong"), "{message}")
        }
        other => panic!("{other:?} in {events:?}"),
    }
    assert!(!events.iter().any(|e| matches!(e, Ev::Reconnecting { .. })), "{events:?}");
    ok(ws_free(h));
}

#[test]
fn wss_inside_the_tunnel_and_a_proxy_reached_over_tls() {
    let Some(bin) = pproxy_bin() else { return };
    let tls_server = tls_server_with("127.0.0.1", "server.pem");
    let wss = format!("wss://127.0.0.1:{}/", tls_server.port);
    let plain = Pproxy::start(&bin, "http://127.0.0.1:{port}", &[]);
    echo_once(through(&format!("http://127.0.0.1:{}", plain.port), &wss));
    let ssl = format!("{DATA}/server.pem,{DATA}/server.key");
    let over_tls = Pproxy::start(&bin, "http+ssl://127.0.0.1:{port}", &["--ssl", &ssl]);
    let server = echo_server();
    echo_once(through(&format!("https://127.0.0.1:{}", over_tls.port), &server.url()));
    echo_once(through(&format!("https://127.0.0.1:{}", over_tls.port), &wss));
}

#[test]
fn socks5_with_user_and_password() {
    let Some(bin) = pproxy_bin() else { return };
    let server = echo_server();
    let socks = Pproxy::start(&bin, "socks5://127.0.0.1:{port}#bob:pa55", &["--auth", "0"]);
    for scheme in ["socks5", "socks5h"] {
        echo_once(through(&format!("{scheme}://bob:pa55@127.0.0.1:{}", socks.port), &server.url()));
    }
    assert!(socks.saw(server.port));
    let h = through(&format!("socks5h://bob:nope@127.0.0.1:{}", socks.port), &server.url());
    match next(h, 10000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_PROXY, message, .. } => {
            assert!(!message.contains("nope"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

#[test]
fn a_proxy_that_is_down_is_retried_until_it_is_up() {
    let Some(bin) = pproxy_bin() else { return };
    let server = echo_server();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proxy = cs(&format!("http://user:pw@127.0.0.1:{port}"));
    let h = create_with(&server.url(), |cfg| unsafe {
        ok(ws_config_set_proxy(cfg, proxy.as_ptr()));
        ok(ws_config_set_initial_delay_ms(cfg, 10));
        ok(ws_config_set_max_delay_ms(cfg, 200));
    });
    match next(h, 5000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_PROXY, message, .. } => {
            assert!(message.contains("proxy") && !message.contains("pw"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(h, 5000), Ev::Reconnecting { .. }));
    // The proxy comes up on that port: a later attempt goes through it.
    let up = Pproxy::start_on(&bin, port, "http://127.0.0.1:{port}", &[]);
    until(h, 30000, |e| matches!(e, Ev::Open { .. }));
    assert!(up.saw(server.port));
    ok(ws_free(h));
}

#[test]
fn credentials_can_come_from_an_option() {
    let Some(bin) = pproxy_bin() else { return };
    let server = echo_server();
    let guarded = Pproxy::start(&bin, "socks5://127.0.0.1:{port}#carol:opt-pw", &["--auth", "0"]);
    let proxy = cs(&format!("socks5h://127.0.0.1:{}", guarded.port));
    let h = create_with(&server.url(), |cfg| unsafe {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_proxy(cfg, proxy.as_ptr()));
        ok(ws_config_set_proxy_auth(cfg, cs("carol").as_ptr(), cs("opt-pw").as_ptr()));
    });
    echo_once(h);
}

#[test]
fn the_handshake_timeout_covers_a_proxy_that_never_answers() {
    // Accepts TCP, then says nothing.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let _keep = std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let proxy = cs(&format!("http://127.0.0.1:{port}"));
    let h = create_with("ws://127.0.0.1:9/", |cfg| unsafe {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_proxy(cfg, proxy.as_ptr()));
        ok(ws_config_set_handshake_timeout_ms(cfg, 200));
    });
    match next(h, 10000) {
        Ev::Error { kind: ws_error_kind::WS_ERROR_CONNECT_TIMEOUT, message, .. } => {
            assert!(message.contains("proxy handshake"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

/// The CLI with `env` set, against the echo server: its exit status.
fn cli_with(env: &[(&str, String)], args: &[&str], url: &str) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsclient"));
    for var in [
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v))).args(args).args(["--no-reconnect", "-n", "1", url]);
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    // A CLI that refuses its options exits before it reads: a broken pipe.
    let _ = child.stdin.take().unwrap().write_all(b"hello\n");
    child.wait_with_output().unwrap()
}

#[test]
fn the_environment_chooses_the_proxy_as_curl_does() {
    let Some(bin) = pproxy_bin() else { return };
    let server = echo_server();
    let proxy = Pproxy::start(&bin, "http://127.0.0.1:{port}", &[]);
    let via = format!("http://127.0.0.1:{}", proxy.port);
    // With credentials in the variable and every log line on: they are
    // sent to the proxy, and never shown.
    let with_secret = format!("http://u:topsecret@127.0.0.1:{}", proxy.port);
    let out = cli_with(
        &[("http_proxy", with_secret), ("WSCLIENT_LOG", "trace".into())],
        &[],
        &server.url(),
    );
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(proxy.saw(server.port), "http_proxy was used");
    assert!(stderr.contains("proxy http://***@127.0.0.1"), "{stderr}");
    assert!(!stderr.contains("topsecret") && !stdout.contains("topsecret"), "{stderr}");

    // NO_PROXY sends it direct: the proxy never hears of this server.
    let other = echo_server();
    let out = cli_with(
        &[("all_proxy", via.clone()), ("NO_PROXY", "localhost,127.0.0.0/8".into())],
        &[],
        &other.url(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // --proxy '' turns the environment off, too.
    let third = echo_server();
    let out = cli_with(&[("http_proxy", via.clone())], &["--proxy", ""], &third.url());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = proxy.log.lock().unwrap().clone();
    for port in [other.port, third.port] {
        assert!(!log.iter().any(|l| l.contains(&format!(":{port}"))), "{log:?}");
    }
    // Only HTTPS_PROXY set, and a wss:// server: TLS inside the tunnel.
    let tls_server = tls_server_with("127.0.0.1", "server.pem");
    let wss = format!("wss://127.0.0.1:{}/", tls_server.port);
    let ca = format!("{DATA}/ca.pem");
    let out = cli_with(&[("HTTPS_PROXY", via.clone())], &["--ca-file", &ca], &wss);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(proxy.saw(tls_server.port), "HTTPS_PROXY was used for wss://");
    // A variable that is not a proxy URL is refused, without its secret.
    let out = cli_with(&[("http_proxy", "ftp://u:hunter2@x".into())], &[], &server.url());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("proxy") && !err.contains("hunter2"), "{err}");
}
