//! Getting a WebSocket: DNS, a nonblocking TCP connect, the TLS handshake and
//! the HTTP upgrade, all under one deadline and all interruptible by the
//! wake-up pipe. The stream stays nonblocking afterwards.

use super::link::Link;
use crate::wire::negotiate;
use crate::{config::Config, error::ConnError, log::log, types::ws_error_kind::*};
use std::{
    io::{self, Read, Write},
    mem,
    net::{SocketAddr, TcpStream, ToSocketAddrs},
    os::fd::{AsRawFd, FromRawFd, RawFd},
    time::Instant,
};
use tungstenite::{
    client::IntoClientRequest, handshake::HandshakeError, http::HeaderValue,
    protocol::WebSocketConfig,
};

/// A TCP stream, plain or TLS, that counts the bytes it reads (any byte from
/// the peer is proof of life for the heartbeat, even in the middle of a
/// frame). During the HTTP upgrade it keeps what it reads, so that frames
/// that came in the same reads as the 101 are not lost.
pub struct Stream {
    inner: Inner,
    /// Bytes read so far.
    pub bytes_read: u64,
    /// Everything read until the upgrade is done.
    upgrade_bytes: Option<Vec<u8>>,
}

/// The TCP connection to the server or to the proxy, plain or (to an
/// `https://` proxy) TLS: what the WebSocket's own TLS, if any, runs over.
#[derive(Debug)]
pub enum Tunnel {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS to an `https://` proxy.
    Tls(Box<native_tls::TlsStream<TcpStream>>),
}

impl Tunnel {
    fn fd(&self) -> RawFd {
        match self {
            Tunnel::Tcp(s) => s.as_raw_fd(),
            Tunnel::Tls(s) => s.get_ref().as_raw_fd(),
        }
    }
}

impl Read for Tunnel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Tunnel::Tcp(s) => s.read(buf),
            Tunnel::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Tunnel {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Tunnel::Tcp(s) => s.write(buf),
            Tunnel::Tls(s) => s.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            // writev(2): headers and payloads of many frames in one call.
            Tunnel::Tcp(s) => s.write_vectored(bufs),
            Tunnel::Tls(s) => s.write_vectored(bufs),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Tunnel::Tcp(s) => s.flush(),
            Tunnel::Tls(s) => s.flush(),
        }
    }
}

enum Inner {
    Plain(Tunnel),
    Tls(Box<native_tls::TlsStream<Tunnel>>),
    /// Fuzzing: what the server sends, from memory; writes are kept.
    #[cfg(fuzzing)]
    Memory(fuzz::Memory),
}

impl Stream {
    fn new(inner: Inner) -> Stream {
        Stream { inner, bytes_read: 0, upgrade_bytes: Some(Vec::new()) }
    }

    /// The upgrade is done: stop keeping what is read, and return what came
    /// after the end of the response's head (the first frames, if any).
    fn upgraded(&mut self) -> Vec<u8> {
        let seen = self.upgrade_bytes.take().unwrap_or_default();
        match seen.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => seen[end + 4..].to_vec(),
            None => Vec::new(),
        }
    }

    /// Whether the WebSocket runs over plain TCP (no TLS anywhere), so a
    /// caller may write frames to the socket itself (`conn::direct`).
    pub fn is_plain(&self) -> bool {
        matches!(self.inner, Inner::Plain(Tunnel::Tcp(_)))
    }

    /// Bytes written and not yet acknowledged by the peer's TCP (Linux:
    /// `SIOCOUTQ`); `None` where that cannot be known.
    pub fn unacked(&self) -> Option<u64> {
        #[cfg(target_os = "linux")]
        {
            let fd = self.fd();
            if fd < 0 {
                return Some(0);
            }
            let mut n: libc::c_int = 0;
            // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int for a TCP socket.
            let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
            (rc == 0).then_some(n.max(0) as u64)
        }
        #[cfg(not(target_os = "linux"))]
        None
    }

    /// The socket's fd, for `poll(2)`.
    pub fn fd(&self) -> RawFd {
        match &self.inner {
            Inner::Plain(s) => s.fd(),
            Inner::Tls(s) => s.get_ref().fd(),
            #[cfg(fuzzing)]
            Inner::Memory(_) => -1,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            Inner::Plain(s) => s.read(buf),
            Inner::Tls(s) => s.read(buf),
            #[cfg(fuzzing)]
            Inner::Memory(m) => m.read(buf),
        }?;
        self.bytes_read += n as u64;
        if let Some(seen) = &mut self.upgrade_bytes {
            seen.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            Inner::Plain(s) => s.write(buf),
            Inner::Tls(s) => s.write(buf),
            #[cfg(fuzzing)]
            Inner::Memory(m) => {
                m.written.extend_from_slice(buf);
                Ok(buf.len())
            }
        }?;
        Ok(n)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(s) => s.write_vectored(bufs),
            // TLS encrypts record by record: one slice at a time.
            Inner::Tls(s) => s.write_vectored(bufs),
            #[cfg(fuzzing)]
            Inner::Memory(m) => {
                let n = bufs.iter().map(|b| b.len()).sum();
                for b in bufs {
                    m.written.extend_from_slice(b);
                }
                Ok(n)
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(s) => s.flush(),
            Inner::Tls(s) => s.flush(),
            #[cfg(fuzzing)]
            Inner::Memory(_) => Ok(()),
        }
    }
}

/// What `wait` saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// The socket's `revents`.
    pub socket: i16,
    /// Whether the wake-up pipe is readable.
    pub woken: bool,
}

/// Sleep in `poll(2)` on the socket (for `events`) and the wake-up fd until
/// one is ready or `deadline` passes (`None`: no deadline).
pub fn wait(
    fd: RawFd,
    events: i16,
    wake_fd: RawFd,
    deadline: Option<Instant>,
) -> io::Result<Ready> {
    let mut fds = [
        libc::pollfd { fd, events, revents: 0 },
        libc::pollfd { fd: wake_fd, events: libc::POLLIN, revents: 0 },
    ];
    loop {
        let timeout = crate::policy::deadline::poll_ms(deadline, Instant::now());
        // SAFETY: fds is a valid array of two pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(Ready { socket: fds[0].revents, woken: fds[1].revents != 0 });
    }
}

/// Why connecting stopped.
pub enum ConnectFail {
    /// The user closed the handle while connecting.
    Aborted,
    /// The server redirected (only when redirects are enabled): the HTTP
    /// status and the `Location`.
    Redirect(u16, String),
    /// The attempt failed.
    Failed(ConnError),
}

impl From<ConnError> for ConnectFail {
    fn from(e: ConnError) -> Self {
        ConnectFail::Failed(e)
    }
}

/// An open WebSocket and the subprotocol the server chose.
pub struct Connected {
    /// The socket, nonblocking, with the message layer.
    pub ws: Link,
    /// Negotiated subprotocol, "" if none.
    pub protocol: String,
    /// The server's 101.
    pub response: crate::error::HttpResponse,
}

/// Waits on one socket with the attempt's deadline; calls `on_wake` when the
/// wake-up pipe fires, which returns true to abort.
pub(crate) struct Waiter<'a> {
    wake_fd: RawFd,
    /// The connect timeout, then the handshake timeout.
    budget: crate::policy::connect::ConnectBudget,
    on_wake: &'a mut dyn FnMut() -> bool,
}

impl Waiter<'_> {
    pub(crate) fn wait(&mut self, fd: RawFd, events: i16, what: &str) -> Result<i16, ConnectFail> {
        loop {
            let deadline = self.budget.check(Instant::now()).map_err(|phase| {
                ConnError::new(WS_ERROR_CONNECT_TIMEOUT, format!("{phase} timeout during {what}"))
            })?;
            let r = wait(fd, events, self.wake_fd, Some(deadline))
                .map_err(|e| ConnError::new(WS_ERROR_INTERNAL, format!("poll failed: {e}")))?;
            if r.woken && (self.on_wake)() {
                return Err(ConnectFail::Aborted);
            }
            if r.socket != 0 {
                return Ok(r.socket);
            }
        }
    }
}

/// Connect to the configured URL. `on_wake` is called when the wake-up pipe
/// fires and returns true if the user asked to close.
pub fn connect(
    config: &Config,
    handle: u64,
    wake_fd: RawFd,
    on_wake: &mut dyn FnMut() -> bool,
) -> Result<Connected, ConnectFail> {
    let target = config.target.as_ref().expect("checked at create");
    // Not always the host itself: see Target::shown_host.
    let host = target.shown_host();
    let budget = crate::policy::connect::ConnectBudget::new(
        Instant::now(),
        config.connect_timeout,
        config.handshake_timeout,
    );
    let mut waiter = Waiter { wake_fd, budget, on_wake };

    let proxy = config.proxy_for(target).map_err(|e| ConnError::new(WS_ERROR_PROXY, e.message))?;
    // Where the TCP connection goes: the proxy, or the server.
    let (dial_host, dial_port, dialed) = match &proxy {
        Some(p) => (p.host.as_str(), p.port, format!("proxy {}", p.shown)),
        None => (target.host.as_str(), target.port, host.clone()),
    };
    let in_proxy = |e: ConnError| match &proxy {
        Some(p) => ConnError {
            kind: WS_ERROR_PROXY,
            message: format!("proxy {}: {}", p.shown, e.message),
            ..e
        },
        None => e,
    };
    let addrs: Vec<SocketAddr> = (dial_host, dial_port)
        .to_socket_addrs()
        .map_err(|e| {
            in_proxy(ConnError::new(WS_ERROR_DNS, format!("cannot resolve {dialed}: {e}")))
        })?
        .collect();
    if addrs.is_empty() {
        return Err(
            in_proxy(ConnError::new(WS_ERROR_DNS, format!("{dialed} has no address"))).into()
        );
    }
    log!(WS_LOG_DEBUG, handle, "{dialed} resolved to {addrs:?}");

    let mut last = None;
    let mut tcp = None;
    for addr in addrs {
        match tcp_connect(addr, &mut waiter) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(ConnectFail::Failed(e)) if e.kind != WS_ERROR_CONNECT_TIMEOUT => last = Some(e),
            Err(other) => return Err(other),
        }
    }
    let tcp = match tcp {
        Some(t) => t,
        None => return Err(in_proxy(last.expect("at least one address was tried")).into()),
    };
    let _ = tcp.set_nodelay(true);
    // TLS and the upgrade (and the proxy's handshake) have their own
    // budget, from here.
    waiter.budget.connected(Instant::now());
    log!(
        WS_LOG_DEBUG,
        handle,
        "TCP connected to {}",
        tcp.peer_addr().map_or_else(|e| e.to_string(), |a| a.to_string())
    );
    let fd = tcp.as_raw_fd();
    let mut tunnel = Tunnel::Tcp(tcp);
    if let Some(p) = &proxy {
        if p.kind == crate::config::proxy::ProxyKind::Https {
            let connector = config
                .proxy_tls_connector()
                .map_err(|e| ConnError::new(WS_ERROR_PROXY, e.message))?;
            let Tunnel::Tcp(tcp) = tunnel else { unreachable!("plain until here") };
            let s =
                tls_handshake(&connector, &p.host, tcp, fd, &mut waiter, &dialed).map_err(|f| {
                    match f {
                        ConnectFail::Failed(e) => {
                            ConnectFail::Failed(ConnError { kind: WS_ERROR_PROXY, ..e })
                        }
                        other => other,
                    }
                })?;
            tunnel = Tunnel::Tls(Box::new(s));
        }
        let agent = config.user_agent.as_ref().and_then(|a| a.to_str().ok());
        super::proxy::tunnel(&mut tunnel, fd, &mut waiter, p, &target.host, target.port, agent)?;
        log!(WS_LOG_DEBUG, handle, "{dialed}: tunnel to {host} open");
    }

    let stream = match &config.connector {
        None => Stream::new(Inner::Plain(tunnel)),
        Some(connector) => {
            let name = config.tls.server_name.as_deref().unwrap_or(&target.host);
            let s = tls_handshake(connector, name, tunnel, fd, &mut waiter, &host)?;
            Stream::new(Inner::Tls(Box::new(s)))
        }
    };
    upgrade(config, handle, stream, &mut waiter)
}

/// A nonblocking TLS handshake over `stream`, verifying `name`; `shown`
/// names the peer in messages.
fn tls_handshake<S: Read + Write + std::fmt::Debug>(
    connector: &native_tls::TlsConnector,
    name: &str,
    stream: S,
    fd: RawFd,
    waiter: &mut Waiter<'_>,
    shown: &str,
) -> Result<native_tls::TlsStream<S>, ConnectFail> {
    let mut attempt = connector.connect(name, stream);
    loop {
        match attempt {
            Ok(s) => return Ok(s),
            Err(native_tls::HandshakeError::Failure(e)) => {
                return Err(ConnError::new(
                    WS_ERROR_TLS,
                    format!("TLS handshake with {shown} failed: {}", tls_reason(&e)),
                )
                .into())
            }
            Err(native_tls::HandshakeError::WouldBlock(mid)) => {
                waiter.wait(fd, libc::POLLIN, "the TLS handshake")?;
                attempt = mid.handshake();
            }
        }
    }
}

/// The HTTP upgrade on a connected (and maybe TLS) stream.
fn upgrade(
    config: &Config,
    handle: u64,
    stream: Stream,
    waiter: &mut Waiter<'_>,
) -> Result<Connected, ConnectFail> {
    let target = config.target.as_ref().expect("checked at create");
    let mut request = target.uri.clone().into_client_request().map_err(|e| {
        ConnError::new(WS_ERROR_INTERNAL, format!("cannot build the upgrade request: {e}"))
    })?;
    for (name, value) in &config.headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    if let Some(auth) = &target.authorization {
        if !request.headers().contains_key("authorization") {
            request.headers_mut().insert("authorization", auth.clone());
        }
    }
    if let Some(agent) = &config.user_agent {
        if !request.headers().contains_key("user-agent") {
            request.headers_mut().insert("user-agent", agent.clone());
        }
    }
    if !config.subprotocols.is_empty() {
        let joined = config.subprotocols.join(", ");
        let value = HeaderValue::from_str(&joined).expect("subprotocol tokens were checked");
        request.headers_mut().insert("Sec-WebSocket-Protocol", value);
    }
    if let Some(offer) = config.deflate.offer() {
        let value = HeaderValue::from_str(&offer).expect("the offer is ASCII tokens");
        request.headers_mut().insert("Sec-WebSocket-Extensions", value);
    }
    let ws_config = ws_config(config);

    log!(
        WS_LOG_DEBUG,
        handle,
        "sending the upgrade request for {} with headers {:?} (values not logged)",
        target.url,
        request.headers().keys().map(|k| k.as_str()).collect::<Vec<_>>()
    );
    let fd = stream.fd();
    let mut attempt = tungstenite::client::client_with_config(request, stream, Some(ws_config));
    loop {
        match attempt {
            Ok((ws, response)) => {
                log!(WS_LOG_DEBUG, handle, "upgrade accepted: HTTP {}", response.status());
                // RFC 6455, 4.1 and RFC 7692, 5: an extension or a parameter
                // the client did not offer, or a bad one, fails the connection.
                let values: Vec<&str> = response
                    .headers()
                    .get_all("Sec-WebSocket-Extensions")
                    .iter()
                    .map(|v| v.to_str().unwrap_or("\u{fffd}"))
                    .collect();
                let deflate = negotiate(&config.deflate, &values).map_err(|e| {
                    ConnError::new(
                        WS_ERROR_PROTOCOL,
                        format!(
                            "protocol violation by the server in Sec-WebSocket-Extensions: {e} \
                             (RFC 6455, 4.1; RFC 7692, 5)"
                        ),
                    )
                })?;
                let protocol = response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let response = crate::error::HttpResponse::of(&response, &[]);
                // tungstenite's part ends here: the frames that came with
                // the 101 go to our decoder.
                let mut stream = ws.into_inner();
                let tail = stream.upgraded();
                let seed = config.seed.unwrap_or_else(|| {
                    use std::hash::BuildHasher;
                    std::collections::hash_map::RandomState::new().hash_one(handle)
                });
                let link = Link::new(
                    stream,
                    &tail,
                    (config.read_buffer_size, config.max_message_size, config.frame_limit()),
                    deflate.as_ref(),
                    seed,
                );
                if !link.extensions().is_empty() {
                    log!(WS_LOG_DEBUG, handle, "extensions agreed: {}", link.extensions());
                }
                return Ok(Connected { ws: link, protocol, response });
            }
            Err(HandshakeError::Failure(tungstenite::Error::Http(resp)))
                if matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) =>
            {
                let status = resp.status().as_u16();
                let location = resp.headers().get("location").and_then(|v| v.to_str().ok());
                match location {
                    Some(l) if config.max_redirects > 0 => {
                        return Err(ConnectFail::Redirect(status, l.to_string()))
                    }
                    _ => {
                        let mut e = ConnError::from_ws(tungstenite::Error::Http(resp.clone()));
                        e.message += &match location {
                            Some(l) => format!(
                                " (a redirect to '{}', not followed: redirects are off)",
                                crate::config::redact(l)
                            ),
                            None => " (a redirect without a Location)".into(),
                        };
                        return Err(e.into());
                    }
                }
            }
            Err(HandshakeError::Failure(e)) => return Err(ConnError::from_ws(e).into()),
            Err(HandshakeError::Interrupted(mid)) => {
                waiter.wait(fd, libc::POLLIN, "the HTTP upgrade")?;
                attempt = mid.handshake();
            }
        }
    }
}

/// The tungstenite options of the HTTP upgrade (the only part it does).
pub fn ws_config(config: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size.min(64 << 10))
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.frame_limit()))
}

/// The reason of a failed TLS handshake in words. OpenSSL's text for a
/// certificate that does not verify ends with the verify result in
/// parentheses ("certificate has expired", "hostname mismatch",
/// "self-signed certificate", "unable to get local issuer certificate").
fn tls_reason(e: &native_tls::Error) -> String {
    let text = e.to_string();
    if text.contains("certificate verify failed") {
        if let Some(why) = text.rsplit_once('(').and_then(|(_, r)| r.strip_suffix(')')) {
            return format!("the server's certificate did not verify: {why}");
        }
    }
    text
}

/// A nonblocking TCP connect that the waiter can time out or abort.
fn tcp_connect(addr: SocketAddr, waiter: &mut Waiter<'_>) -> Result<TcpStream, ConnectFail> {
    let fail = |e: io::Error| {
        ConnectFail::Failed(ConnError::from_io(&format!("cannot connect to {addr}"), &e))
    };
    let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(fail(io::Error::last_os_error()));
    }
    // SAFETY: fd is a fresh socket we own; TcpStream closes it on drop.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    // SAFETY: fcntl on our own fd.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    // A write to a reset socket must not raise SIGPIPE in the host program.
    // Linux: std's TcpStream writes with MSG_NOSIGNAL. macOS has no such
    // flag, so the socket gets SO_NOSIGPIPE.
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    // SAFETY: setsockopt on our own socket with a valid int.
    unsafe {
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    stream.set_nonblocking(true).map_err(fail)?;

    let (storage, len) = sockaddr(&addr);
    // SAFETY: storage holds a sockaddr of `len` bytes for this family.
    let rc = unsafe { libc::connect(fd, (&storage as *const libc::sockaddr_storage).cast(), len) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(fail(e));
        }
        waiter.wait(fd, libc::POLLOUT, "the TCP connect")?;
        if let Some(e) = stream.take_error().map_err(fail)? {
            return Err(fail(e));
        }
    }
    Ok(stream)
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
            {
                sin.sin_len = mem::size_of::<libc::sockaddr_in>() as u8;
            }
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
            {
                sin6.sin6_len = mem::size_of::<libc::sockaddr_in6>() as u8;
            }
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Entry points for the fuzz targets (`fuzz/`), built with `--cfg fuzzing`.
#[cfg(fuzzing)]
pub mod fuzz {
    use super::*;

    /// What the server sends, then EOF. `@ACCEPT@` in it becomes the
    /// Sec-WebSocket-Accept for the key the client wrote, so a fuzzer can
    /// reach a successful upgrade.
    pub struct Memory {
        input: io::Cursor<Vec<u8>>,
        pub(super) written: Vec<u8>,
        substituted: bool,
    }

    impl Memory {
        pub(super) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.substituted {
                self.substituted = true;
                let text = String::from_utf8_lossy(&self.written);
                let key = text.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("sec-websocket-key").then_some(value)
                });
                if let Some(key) = key {
                    let accept = tungstenite::handshake::derive_accept_key(key.trim().as_bytes());
                    let input = self.input.get_ref();
                    if let Some(i) = input.windows(8).position(|w| w == b"@ACCEPT@") {
                        let mut new = input[..i].to_vec();
                        new.extend_from_slice(accept.as_bytes());
                        new.extend_from_slice(&input[i + 8..]);
                        self.input = io::Cursor::new(new);
                    }
                }
            }
            self.input.read(buf)
        }
    }

    /// A stream that yields `input` and then EOF.
    pub fn memory(input: &[u8]) -> Stream {
        Stream::new(Inner::Memory(Memory {
            input: io::Cursor::new(input.to_vec()),
            written: Vec::new(),
            substituted: false,
        }))
    }

    /// The same, after the upgrade (what it reads is not kept).
    pub fn open_memory(input: &[u8]) -> Stream {
        let mut s = memory(input);
        s.upgrade_bytes = None;
        s
    }

    /// Run the HTTP upgrade against `response` as the server's answer.
    pub fn upgrade(config: &Config, response: &[u8]) -> Result<Connected, ConnectFail> {
        let mut never = || false;
        let (now, second) = (Instant::now(), std::time::Duration::from_secs(1));
        let mut budget = crate::policy::connect::ConnectBudget::new(now, second, second);
        budget.connected(now);
        let mut waiter = Waiter { wake_fd: -1, budget, on_wake: &mut never };
        super::upgrade(config, 0, memory(response), &mut waiter)
    }
}
