//! The benchmark's echo server: WebSocket echo and raw TCP byte echo on
//! 127.0.0.1 (free ports, printed as one JSON line), one thread per
//! connection, so that it is never the bottleneck with one client at a time.
use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    thread,
};
use tungstenite::{protocol::WebSocketConfig, Message};

fn main() {
    let ws = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    println!(
        "{{\"ws\": \"ws://{}\", \"tcp\": \"{}\"}}",
        ws.local_addr().unwrap(),
        tcp.local_addr().unwrap()
    );
    std::io::stdout().flush().unwrap();
    thread::spawn(move || {
        for s in tcp.incoming().flatten() {
            thread::spawn(move || raw_echo(s));
        }
    });
    for s in ws.incoming().flatten() {
        thread::Builder::new().stack_size(256 << 10).spawn(move || ws_echo(s)).unwrap();
    }
}

fn raw_echo(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; 256 << 10];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 || s.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

fn ws_echo(s: TcpStream) {
    let _ = s.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(16 << 10)
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let Ok(mut ws) = tungstenite::accept_with_config(s, Some(config)) else { return };
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                // Write now; flush only when nothing more is buffered to
                // read, so a window of messages goes out in few syscalls.
                if ws.write(m).is_err() {
                    return;
                }
                if ws.flush().is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}
