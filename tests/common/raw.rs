//! A hostile WebSocket server with no WebSocket library on its side: it
//! answers the HTTP upgrade by hand and then writes whatever bytes a test
//! gives it, so it can break every rule of RFC 6455. It also reads the
//! client's frames exactly as they are on the wire (mask key, length
//! encoding and all).

use super::{serve, Server};
use sha1::{Digest, Sha1};
use std::{
    io::{self, Read, Write},
    net::TcpStream,
    sync::{mpsc, Mutex},
    time::Duration,
};

/// One client frame as it was on the wire.
#[derive(Debug, Clone)]
pub struct Wire {
    pub fin: bool,
    /// The three reserved bits, as the top bits of the first byte (0x70 mask).
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    /// Whether the payload length used the shortest encoding.
    pub minimal_length: bool,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

impl Wire {
    /// The close code of a close frame (None if it has no payload).
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == 0x8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// A server frame with every bit chosen by the test.
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn new(opcode: u8, payload: &[u8]) -> Frame {
        Frame { fin: true, rsv: 0, opcode, mask: None, payload: payload.to_vec() }
    }
    pub fn more(mut self) -> Frame {
        self.fin = false;
        self
    }
    pub fn rsv(mut self, bits: u8) -> Frame {
        self.rsv = bits;
        self
    }
    pub fn masked(mut self) -> Frame {
        self.mask = Some([0x12, 0x34, 0x56, 0x78]);
        self
    }
    pub fn bytes(&self) -> Vec<u8> {
        let mut f = vec![(if self.fin { 0x80 } else { 0 }) | self.rsv | self.opcode];
        let m = if self.mask.is_some() { 0x80 } else { 0 };
        match self.payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n < 65536 => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match self.mask {
            None => f.extend_from_slice(&self.payload),
            Some(key) => {
                f.extend_from_slice(&key);
                f.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
        }
        f
    }
}

/// A final, unmasked frame.
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    Frame::new(opcode, payload).bytes()
}

/// A close frame with a code and reason bytes.
pub fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    frame(0x8, &p)
}

/// The server side of one connection.
pub struct Peer {
    pub stream: TcpStream,
}

fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    wsclient::config::base64(&h.finalize())
}

impl Peer {
    /// Read the upgrade request (returned as text) without answering it.
    pub fn read_request(&mut self) -> String {
        let mut req = Vec::new();
        let mut b = [0u8; 1];
        while !req.ends_with(b"\r\n\r\n") {
            if self.stream.read(&mut b).unwrap_or(0) == 0 {
                break;
            }
            req.push(b[0]);
        }
        String::from_utf8_lossy(&req).into_owned()
    }

    /// Read the upgrade request and answer 101; returns the request.
    pub fn handshake(&mut self) -> String {
        self.handshake_with("")
    }

    /// The same, with `headers` (lines ending in CRLF, e.g. a
    /// `Sec-WebSocket-Extensions` answer) added to the 101.
    pub fn handshake_with(&mut self, headers: &str) -> String {
        let req = self.read_request();
        let key = req
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("sec-websocket-key").then(|| value.trim().to_string())
            })
            .expect("the request has a Sec-WebSocket-Key");
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{headers}\r\n",
            accept_key(&key)
        );
        self.send(resp.as_bytes());
        req
    }

    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Read one client frame as it is on the wire.
    pub fn read(&mut self) -> io::Result<Wire> {
        let s = &mut self.stream;
        let mut h = [0u8; 2];
        s.read_exact(&mut h)?;
        let (len, minimal_length) = match h[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                s.read_exact(&mut b)?;
                let n = u16::from_be_bytes(b) as usize;
                (n, n >= 126)
            }
            127 => {
                let mut b = [0u8; 8];
                s.read_exact(&mut b)?;
                let n = u64::from_be_bytes(b) as usize;
                (n, n >= 65536)
            }
            n => (n as usize, true),
        };
        let mask = if h[1] & 0x80 != 0 {
            let mut m = [0u8; 4];
            s.read_exact(&mut m)?;
            Some(m)
        } else {
            None
        };
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload)?;
        if let Some(m) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= m[i % 4];
            }
        }
        Ok(Wire {
            fin: h[0] & 0x80 != 0,
            rsv: h[0] & 0x70,
            opcode: h[0] & 0x0f,
            mask,
            minimal_length,
            payload,
        })
    }
}

/// A server that runs `script` on each connection.
pub fn hostile<F>(script: F) -> Server
where
    F: Fn(&mut Peer) + Send + Sync + 'static,
{
    serve(move |stream| {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        script(&mut Peer { stream });
    })
}

/// A server that completes the handshake, writes `bytes`, then reports
/// every frame the client sends until EOF.
pub fn scripted(bytes: Vec<u8>) -> (Server, mpsc::Receiver<Wire>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = hostile(move |peer| {
        let tx = tx.lock().unwrap().clone();
        peer.handshake();
        peer.send(&bytes);
        while let Ok(f) = peer.read() {
            let _ = tx.send(f);
        }
    });
    (server, rx)
}
