//! The local echo server shipped with wsclient, for the demo and examples.
//!
//! Listens on 127.0.0.1 (any free port unless `--port N`), prints its URL
//! (`ws://127.0.0.1:PORT`) as the first line of stdout, and echoes every text
//! and binary message back, one thread per connection. Two text commands:
//! `!close CODE REASON` closes that connection with CODE and REASON, and
//! `!ticker MS` starts a feed on it: a text `tick N` every MS milliseconds.
//!
//! Run: `cargo run --example echo_server -- --port 9001`

use std::{
    io::{ErrorKind, Write},
    net::{TcpListener, TcpStream},
    thread,
    time::{Duration, Instant},
};
use tungstenite::{
    protocol::{frame::coding::CloseCode, CloseFrame, WebSocketConfig},
    Message,
};

fn main() {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                port = args.next().and_then(|p| p.parse().ok()).expect("--port takes a number")
            }
            "-h" | "--help" => {
                println!("usage: echo_server [--port N]");
                return;
            }
            other => panic!("unknown argument {other}; usage: echo_server [--port N]"),
        }
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("cannot bind 127.0.0.1");
    println!("ws://{}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    for stream in listener.incoming().flatten() {
        thread::spawn(move || serve(stream));
    }
}

fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let config =
        WebSocketConfig::default().max_message_size(Some(64 << 20)).max_frame_size(Some(64 << 20));
    let Ok(mut ws) = tungstenite::accept_with_config(stream, Some(config)) else { return };
    // The feed of `!ticker MS`: its period, next deadline and counter.
    let mut ticker: Option<(Duration, Instant, u64)> = None;
    loop {
        if let Some((period, next, n)) = &mut ticker {
            let now = Instant::now();
            if now >= *next {
                if ws.send(Message::text(format!("tick {n}"))).is_err() {
                    return;
                }
                *n += 1;
                *next += *period;
            }
            let wait = next.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
            let _ = ws.get_ref().set_read_timeout(Some(wait));
        }
        match ws.read() {
            Ok(Message::Text(t)) if t.starts_with("!close ") => {
                let mut parts = t["!close ".len()..].splitn(2, ' ');
                let code = parts.next().and_then(|c| c.parse::<u16>().ok()).unwrap_or(1000);
                let reason = parts.next().unwrap_or("").to_string();
                let _ = ws
                    .close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() }));
            }
            Ok(Message::Text(t)) if t.starts_with("!ticker") => {
                let ms = t["!ticker".len()..].trim().parse().unwrap_or(500u64).max(1);
                ticker = Some((Duration::from_millis(ms), Instant::now(), 0));
            }
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(m).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}
