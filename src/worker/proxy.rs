//! The proxy's handshake on a connected stream: HTTP CONNECT (RFC 9110,
//! 9.3.6) or SOCKS5 (RFC 1928, with RFC 1929 user/password), nonblocking,
//! under the attempt's deadline, interruptible like the rest of connecting.

use super::transport::{ConnectFail, Waiter};
use crate::{
    config::proxy::{Proxy, ProxyKind},
    error::ConnError,
    types::ws_error_kind::WS_ERROR_PROXY,
};
use data_encoding::BASE64;
use std::{
    io::{self, Read, Write},
    net::{IpAddr, ToSocketAddrs},
    os::fd::RawFd,
};

/// Most of a proxy's answer to CONNECT that is read.
const MAX_ANSWER: usize = 16 << 10;

fn proxy_error(proxy: &Proxy, why: impl std::fmt::Display) -> ConnectFail {
    ConnError::new(WS_ERROR_PROXY, format!("proxy {}: {why}", proxy.shown)).into()
}

/// Ask `proxy`, over `s` (connected to it), for a tunnel to `host:port`.
pub fn tunnel<S: Read + Write>(
    s: &mut S,
    fd: RawFd,
    waiter: &mut Waiter<'_>,
    proxy: &Proxy,
    host: &str,
    port: u16,
    user_agent: Option<&str>,
) -> Result<(), ConnectFail> {
    let mut io = Io { s, fd, waiter, proxy };
    match proxy.kind {
        ProxyKind::Http | ProxyKind::Https => io.http_connect(host, port, user_agent),
        ProxyKind::Socks5 => io.socks5(host, port, true),
        ProxyKind::Socks5h => io.socks5(host, port, false),
    }
}

struct Io<'a, 'w, S> {
    s: &'a mut S,
    fd: RawFd,
    waiter: &'a mut Waiter<'w>,
    proxy: &'a Proxy,
}

impl<S: Read + Write> Io<'_, '_, S> {
    /// After a `WouldBlock`: wait until the socket can go on (a TLS stream
    /// may need to read before it writes).
    fn wait_ready(&mut self) -> Result<(), ConnectFail> {
        self.waiter.wait(self.fd, libc::POLLOUT | libc::POLLIN, "the proxy handshake").map(drop)
    }

    fn write_all(&mut self, mut buf: &[u8]) -> Result<(), ConnectFail> {
        while !buf.is_empty() {
            match self.s.write(buf) {
                Ok(0) => return Err(proxy_error(self.proxy, "the connection closed")),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_ready()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(proxy_error(self.proxy, e)),
            }
        }
        loop {
            match self.s.flush() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_ready()?,
                Err(e) => return Err(proxy_error(self.proxy, e)),
            }
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ConnectFail> {
        let mut got = 0;
        while got < buf.len() {
            match self.s.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(proxy_error(
                        self.proxy,
                        "the proxy closed the connection during its handshake",
                    ))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.waiter.wait(self.fd, libc::POLLIN, "the proxy handshake")?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(proxy_error(self.proxy, e)),
            }
        }
        Ok(())
    }

    fn http_connect(
        &mut self,
        host: &str,
        port: u16,
        user_agent: Option<&str>,
    ) -> Result<(), ConnectFail> {
        let authority =
            if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some((user, pass)) = &self.proxy.auth {
            let basic = BASE64.encode(format!("{user}:{}", pass.0).as_bytes());
            req.push_str(&format!("Proxy-Authorization: Basic {basic}\r\n"));
        }
        if let Some(agent) = user_agent {
            req.push_str(&format!("User-Agent: {agent}\r\n"));
        }
        req.push_str("\r\n");
        self.write_all(req.as_bytes())?;
        // The answer's head, a byte at a time: nothing after it may be
        // taken from the tunnel.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() >= MAX_ANSWER {
                return Err(proxy_error(self.proxy, "its answer to CONNECT is too long"));
            }
            let mut b = [0u8; 1];
            self.read_exact(&mut b)?;
            head.push(b[0]);
        }
        let text = String::from_utf8_lossy(&head);
        let line = text.lines().next().unwrap_or("");
        let mut parts = line.splitn(3, ' ');
        let (version, status, reason) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
        let status: u16 = match (version, status.and_then(|s| s.parse().ok())) {
            (Some(v), Some(s)) if v.starts_with("HTTP/1.") => s,
            _ => {
                return Err(proxy_error(
                    self.proxy,
                    format!("not an HTTP answer to CONNECT: '{}'", crate::log::escape(line)),
                ))
            }
        };
        if !(200..300).contains(&status) {
            let mut e = ConnError::new(
                WS_ERROR_PROXY,
                format!(
                    "proxy {} refused the tunnel with HTTP {status} {}",
                    self.proxy.shown,
                    crate::log::escape(reason.trim())
                ),
            );
            e.http_status = status;
            return Err(e.into());
        }
        Ok(())
    }

    fn socks5(&mut self, host: &str, port: u16, resolve_here: bool) -> Result<(), ConnectFail> {
        let auth = self.proxy.auth.clone();
        let methods: &[u8] = if auth.is_some() { &[0x00, 0x02] } else { &[0x00] };
        let mut hello = vec![5, methods.len() as u8];
        hello.extend_from_slice(methods);
        self.write_all(&hello)?;
        let mut choice = [0u8; 2];
        self.read_exact(&mut choice)?;
        if choice[0] != 5 {
            return Err(proxy_error(self.proxy, "not a SOCKS5 proxy"));
        }
        match (choice[1], &auth) {
            (0x00, _) => {}
            (0x02, Some((user, pass))) => {
                let (u, p) = (user.as_bytes(), pass.0.as_bytes());
                if u.len() > 255 || p.len() > 255 {
                    return Err(proxy_error(self.proxy, "user name or password over 255 bytes"));
                }
                let mut msg = vec![1, u.len() as u8];
                msg.extend_from_slice(u);
                msg.push(p.len() as u8);
                msg.extend_from_slice(p);
                self.write_all(&msg)?;
                let mut status = [0u8; 2];
                self.read_exact(&mut status)?;
                if status[1] != 0 {
                    return Err(proxy_error(self.proxy, "the user name or password was refused"));
                }
            }
            (0xFF, None) | (0x02, None) => {
                return Err(proxy_error(self.proxy, "it requires a user name and password"))
            }
            _ => {
                return Err(proxy_error(
                    self.proxy,
                    "it accepts none of the offered authentication methods",
                ))
            }
        }
        let mut req = vec![5, 1, 0];
        let ip: Option<IpAddr> = match host.parse() {
            Ok(ip) => Some(ip),
            Err(_) if resolve_here => {
                let addr = (host, port)
                    .to_socket_addrs()
                    .map_err(|e| {
                        ConnError::new(
                            crate::types::ws_error_kind::WS_ERROR_DNS,
                            format!("cannot resolve host '{host}': {e}"),
                        )
                    })?
                    .next()
                    .ok_or_else(|| {
                        ConnError::new(
                            crate::types::ws_error_kind::WS_ERROR_DNS,
                            format!("host '{host}' has no address"),
                        )
                    })?;
                Some(addr.ip())
            }
            Err(_) => None,
        };
        match ip {
            Some(IpAddr::V4(v4)) => {
                req.push(1);
                req.extend_from_slice(&v4.octets());
            }
            Some(IpAddr::V6(v6)) => {
                req.push(4);
                req.extend_from_slice(&v6.octets());
            }
            None => {
                if host.len() > 255 {
                    return Err(proxy_error(self.proxy, "the host name is over 255 bytes"));
                }
                req.push(3);
                req.push(host.len() as u8);
                req.extend_from_slice(host.as_bytes());
            }
        }
        req.extend_from_slice(&port.to_be_bytes());
        self.write_all(&req)?;
        let mut head = [0u8; 4];
        self.read_exact(&mut head)?;
        if head[1] != 0 {
            let why = match head[1] {
                1 => "general failure",
                2 => "connection not allowed by its rules",
                3 => "network unreachable",
                4 => "host unreachable",
                5 => "connection refused by the target",
                6 => "TTL expired",
                7 => "command not supported",
                8 => "address type not supported",
                _ => "unknown error",
            };
            return Err(proxy_error(
                self.proxy,
                format!("it could not connect to {host}:{port}: {why}"),
            ));
        }
        let rest = match head[3] {
            1 => 4 + 2,
            4 => 16 + 2,
            3 => {
                let mut n = [0u8; 1];
                self.read_exact(&mut n)?;
                usize::from(n[0]) + 2
            }
            _ => return Err(proxy_error(self.proxy, "its answer has an unknown address type")),
        };
        let mut bound = vec![0u8; rest];
        self.read_exact(&mut bound)
    }
}
