//! The C API. Each function checks its arguments, looks up the handle, calls
//! safe Rust and maps the result to a `ws_status`. No protocol logic lives
//! here. Every body runs inside `guard`, so no panic crosses the boundary.

use crate::{
    client::Client,
    config::Config,
    conn::queue::EventQueue,
    error::{Error, Result},
    event::Event,
    log::log,
    registry::Registry,
    types::{
        ws_callback, ws_config, ws_event, ws_handle, ws_log_fn, ws_log_level, ws_queue,
        ws_ready_state, ws_stats, ws_status, ws_status::*,
    },
};
use std::{
    cell::RefCell,
    ffi::{c_char, c_int, c_void, CStr, CString},
    panic::{catch_unwind, AssertUnwindSafe},
    ptr,
    sync::{Arc, Mutex},
    time::Duration,
};

static CLIENTS: Registry<Client> = Registry::new(0x57);
static CONFIGS: Registry<Mutex<Config>> = Registry::new(0x43);
static QUEUES: Registry<EventQueue> = Registry::new(0x51);

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    LAST_ERROR.with(|l| *l.borrow_mut() = crate::event::cstring(message));
}

/// Run an API body: catch panics, record the error message, map to a status.
fn guard(body: impl FnOnce() -> Result<()>) -> ws_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => WS_OK,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(_) => {
            set_last_error("internal error: a panic was caught at the API boundary");
            WS_ERR_INTERNAL
        }
    }
}

fn null(what: &str) -> Error {
    Error::invalid(format!("{what} is NULL"))
}

/// Borrow a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
unsafe fn c_str<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null(what));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::new(WS_ERR_INVALID_UTF8, format!("{what} is not valid UTF-8")))
}

/// Copy `src` into the caller's buffer of `len` bytes (with a NUL after it
/// when `nul`), as `ws_last_error_message` documents: `*out_len` (if not
/// NULL) gets the length without the NUL, also when the buffer is too
/// small, and then nothing is written.
///
/// # Safety
/// `buf` must be writable for `len` bytes; `out_len` NULL or writable.
unsafe fn copy_out(
    src: &[u8],
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
    nul: bool,
) -> Result<()> {
    if !out_len.is_null() {
        *out_len = src.len();
    }
    if buf.is_null() && len > 0 {
        return Err(null("buf"));
    }
    let need = src.len() + usize::from(nul);
    if len < need {
        return Err(Error::new(
            WS_ERR_BUFFER_TOO_SMALL,
            format!("the buffer holds {len} bytes; {need} are needed"),
        ));
    }
    if need > 0 {
        ptr::copy_nonoverlapping(src.as_ptr(), buf, src.len());
        if nul {
            *buf.add(src.len()) = 0;
        }
    }
    Ok(())
}

/// A `timeout_ms` argument: -1 waits for ever, 0 does not wait.
fn wait_arg(timeout_ms: i32) -> Result<Option<Duration>> {
    match timeout_ms {
        -1 => Ok(None),
        t if t >= 0 => Ok(Some(Duration::from_millis(t as u64))),
        t => Err(Error::invalid(format!("timeout_ms must be -1 or >= 0, got {t}"))),
    }
}

/// Write a query's answer to its out-parameter.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn answer<T>(out: *mut T, value: impl FnOnce() -> T) -> Result<()> {
    if out.is_null() {
        return Err(null("out"));
    }
    out.write(value());
    Ok(())
}

fn client(h: ws_handle) -> Result<Arc<Client>> {
    CLIENTS.get(h).ok_or_else(|| {
        Error::new(WS_ERR_INVALID_HANDLE, format!("handle {h:#x} is not a live connection"))
    })
}

fn with_config<T>(cfg: ws_config, f: impl FnOnce(&mut Config) -> Result<T>) -> Result<T> {
    let c = CONFIGS.get(cfg).ok_or_else(|| {
        Error::new(WS_ERR_INVALID_HANDLE, format!("handle {cfg:#x} is not a live config"))
    })?;
    let mut c = c.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut c)
}

// ---------------------------------------------------------------------------
// Library information and errors
// ---------------------------------------------------------------------------

/// The library version as a static NUL-terminated string, e.g. "0.1.0".
/// Never NULL; do not free. Compare with `WSCLIENT_VERSION` to check that the
/// header matches the library.
#[no_mangle]
pub extern "C" fn ws_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The TLS stack the library uses, as a static NUL-terminated string: on
/// Linux "OpenSSL 3.0.17 (system)" for a build linked with the system's
/// OpenSSL (`make build`, `make install`), "OpenSSL 3.6.1 (vendored)" for
/// the self-contained build of the Python wheel and the npm package
/// (OpenSSL linked statically; trusted roots from `SSL_CERT_FILE` /
/// `SSL_CERT_DIR`, else the distribution's CA bundle, plus the CA options).
/// Never NULL; do not free.
#[no_mangle]
pub extern "C" fn ws_tls_backend() -> *const c_char {
    catch_unwind(|| crate::tls::backend().as_ptr()).unwrap_or(c"unknown".as_ptr())
}

/// Turn the library's logging on, off, or to your own function. Nothing is
/// logged by default. Without a call to this function, the environment
/// variable `WSCLIENT_LOG=error|warn|info|debug|trace` sends lines to stderr,
/// prefixed with `wsclient LEVEL: [0xHANDLE]`; a call replaces that.
///
/// - `level`: a `ws_log_level`; lines of this level and the ones above it are
///   logged. `WS_LOG_OFF` turns logging off.
/// - `logger`: called for each line with the level, the handle it is about
///   (0 for none), the message (valid during the call only) and `user_data`.
///   NULL: write lines to stderr. It may run on any thread, on several at
///   once; it may call `ws_*` functions (lines that arise on its thread
///   while it runs are dropped, not recursed into). Like an event callback
///   it must return normally: no exception, `longjmp` or thread exit may
///   leave it (see `ws_set_callback`).
///
/// What is logged: connection attempts with the URL (without user
/// information), DNS/TCP/TLS/upgrade steps, opens, closes, reconnects with
/// the delay and reason, pings and pongs, message sizes, and errors; also
/// the records of the libraries underneath (tungstenite, native-tls) up to
/// debug level, prefixed with their module, e.g. `tungstenite::protocol:`
/// (their trace records, which hold frames and the request's headers, are
/// never passed on). Header values are never logged, and no payload bytes. Each line is one line:
/// control characters in it (from a close reason, say) are escaped as
/// `\n`, `\r`, `\t`, `\xNN` or `\u{NNNN}`.
///
/// When this returns, the previous logger function is no longer running on
/// any other thread, so its `user_data` may be released.
///
/// Returns `WS_OK`, or `WS_ERR_INVALID_ARGUMENT` for a level out of range.
///
/// # Safety
/// `logger` must be safe to call from any thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn ws_set_logger(
    level: i32,
    logger: ws_log_fn,
    user_data: *mut c_void,
) -> ws_status {
    guard(|| {
        let level = ws_log_level::from_i32(level).ok_or_else(|| {
            Error::invalid(format!("log level {level} is not a ws_log_level (0-5)"))
        })?;
        crate::log::set(level, logger, user_data);
        Ok(())
    })
}

/// A static NUL-terminated description of a status code ("unknown status"
/// for a number that is not one). Never NULL; do not free.
#[no_mangle]
pub extern "C" fn ws_status_str(status: i32) -> *const c_char {
    ws_status::describe(status).as_ptr().cast()
}

/// Copy the message of the last failed call made on the calling thread into
/// `buf` (NUL-terminated, truncated never). Messages are per thread: read it
/// on the thread that got the error. The message is "" if no call failed yet.
/// It never holds the value of a header or a URL's user information: a URL
/// is shown with everything between `//` and its last `@` as `***`.
///
/// - `buf`: caller-owned buffer of `len` bytes; may be NULL when `len` is 0,
///   to ask for the size.
/// - `out_len`: optional (may be NULL); receives the message length in bytes
///   without the NUL, also on `WS_ERR_BUFFER_TOO_SMALL`.
///
/// Returns `WS_OK`, `WS_ERR_BUFFER_TOO_SMALL` (nothing written to `buf`; make
/// it at least `*out_len + 1` bytes) or `WS_ERR_INVALID_ARGUMENT` (`buf` NULL
/// with `len` > 0). Does not itself change the last error.
///
/// # Safety
/// `buf` must be writable for `len` bytes; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ws_status {
    let r = catch_unwind(|| {
        LAST_ERROR.with(|l| {
            let l = l.borrow();
            let bytes = l.as_bytes_with_nul();
            if !out_len.is_null() {
                *out_len = bytes.len() - 1;
            }
            if buf.is_null() && len > 0 {
                return WS_ERR_INVALID_ARGUMENT;
            }
            if len < bytes.len() {
                return WS_ERR_BUFFER_TOO_SMALL;
            }
            ptr::copy_nonoverlapping(bytes.as_ptr().cast(), buf, bytes.len());
            WS_OK
        })
    });
    r.unwrap_or(WS_ERR_INTERNAL)
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Create a configuration with every option at its default. Set options
/// with the `ws_config_set_*` / `ws_config_add_*` functions, pass it to
/// `ws_create_with_config` (which copies it, so one config can create many
/// connections), and release it with `ws_config_free`.
///
/// - `out`: receives the config handle, only on success.
///
/// Returns `WS_OK` or `WS_ERR_INVALID_ARGUMENT` (`out` is NULL).
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_config_new(out: *mut ws_config) -> ws_status {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        *out = CONFIGS.insert(Arc::new(Mutex::new(Config::default())));
        Ok(())
    })
}

/// Release a configuration. Connections created from it are not affected.
/// Returns `WS_OK` or `WS_ERR_INVALID_HANDLE` (never issued or already
/// freed: a double free is reported, never undefined behaviour).
#[no_mangle]
pub extern "C" fn ws_config_free(cfg: ws_config) -> ws_status {
    guard(|| {
        CONFIGS
            .remove(cfg)
            .ok_or_else(|| Error::new(WS_ERR_INVALID_HANDLE, "not a live config"))?;
        Ok(())
    })
}

/// Declares the `ws_config_*` setters listed in the table below. Each one
/// checks its pointer arguments, looks up the config and calls the `Config`
/// method named after `=>`, where the option's validation lives. `build.rs`
/// reads the same table to write the setters' declarations and docs into
/// the header (cbindgen does not expand macros). The argument types:
/// `u32`, `u64`, `usize`, `bool`, `f64` as they are; `str`, a NUL-terminated
/// UTF-8 string (NULL refused); `opt_str`, the same or NULL (`None`);
/// `[u16]`, a pointer and a `count`.
macro_rules! config_setters {
    () => {};
    ($(#[doc = $doc:literal])* fn $name:ident($($arg:ident: $ty:ident),*) => $method:ident;
     $($rest:tt)*) => {
        $(#[doc = $doc])*
        #[no_mangle]
        pub extern "C" fn $name(cfg: ws_config, $($arg: $ty),*) -> ws_status {
            guard(|| with_config(cfg, |c| c.$method($($arg),*)))
        }
        config_setters!($($rest)*);
    };
    ($(#[doc = $doc:literal])* unsafe fn $name:ident($arg:ident: [u16]) => $method:ident;
     $($rest:tt)*) => {
        $(#[doc = $doc])*
        #[no_mangle]
        pub unsafe extern "C" fn $name(
            cfg: ws_config,
            $arg: *const u16,
            count: usize,
        ) -> ws_status {
            guard(|| {
                let list = slice_arg($arg, count, stringify!($arg))?;
                with_config(cfg, |c| c.$method(list))
            })
        }
        config_setters!($($rest)*);
    };
    ($(#[doc = $doc:literal])* unsafe fn $name:ident($($arg:ident: $ty:ident),*) => $method:ident;
     $($rest:tt)*) => {
        $(#[doc = $doc])*
        #[no_mangle]
        pub unsafe extern "C" fn $name(cfg: ws_config, $($arg: *const c_char),*) -> ws_status {
            guard(|| {
                $(let $arg = string_arg!($ty, $arg);)*
                with_config(cfg, |c| c.$method($($arg),*))
            })
        }
        config_setters!($($rest)*);
    };
}

/// A string argument of a setter: `str` (NULL refused) or `opt_str`.
macro_rules! string_arg {
    (str, $arg:ident) => {
        c_str($arg, stringify!($arg))?
    };
    (opt_str, $arg:ident) => {
        if $arg.is_null() {
            None
        } else {
            Some(c_str($arg, stringify!($arg))?)
        }
    };
}

config_setters! {
    /// Set the URL: `ws://host[:port][/path][?query]` or `wss://...`. Checked at
    /// once. Returns `WS_OK`, `WS_ERR_INVALID_URL`, `WS_ERR_INVALID_UTF8`,
    /// `WS_ERR_INVALID_ARGUMENT` (NULL) or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `url` must be NULL or a NUL-terminated string.
    unsafe fn ws_config_set_url(url: str) => set_url;

    /// Add an HTTP header to the upgrade request (e.g. `Authorization`). May be
    /// called several times; the same name may repeat. Headers the handshake sets
    /// itself (Host, Upgrade, Connection, Sec-WebSocket-Key/-Version/-Protocol)
    /// are refused. Values are never logged nor shown in messages. A header that
    /// may carry a credential (`Authorization`, `Proxy-Authorization`, `Cookie`,
    /// or a name containing `auth`, `cookie`, `credential`, `key`, `passw`,
    /// `secret`, `session`, `signature` or `token`, in any case) is not sent
    /// after a redirect to another origin (see `ws_config_set_max_redirects`).
    ///
    /// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (NULL, bad name or value),
    /// `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `name` and `value` must be NULL or NUL-terminated strings.
    unsafe fn ws_config_add_header(name: str, value: str) => add_header;

    /// Offer a subprotocol (sent in `Sec-WebSocket-Protocol`, in the order added).
    /// The server's choice arrives in the open event's `protocol`. Returns
    /// `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (NULL, empty or not an HTTP token),
    /// `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `protocol` must be NULL or a NUL-terminated string.
    unsafe fn ws_config_add_subprotocol(protocol: str) => add_subprotocol;

    /// Set the `User-Agent` header of the upgrade request; "" sends none.
    /// Default `wsclient/VERSION`. A `User-Agent` added with
    /// `ws_config_add_header` (or `ws_set_header`) takes its place. Returns
    /// `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (NULL, or not a header value),
    /// `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `agent` must be NULL or a NUL-terminated string.
    unsafe fn ws_config_set_user_agent(agent: str) => set_user_agent;

    /// Set the connect timeout in ms: the budget for the TCP connect (each
    /// address of the host in turn; DNS resolution is not cut short). Default
    /// `WS_DEFAULT_CONNECT_TIMEOUT_MS`. Range 1..`WS_MAX_TIMEOUT_MS`. Returns
    /// `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (out of range) or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_connect_timeout_ms(ms: u32) => set_connect_timeout_ms;

    /// Set the handshake timeout in ms: the budget for the TLS handshake and
    /// the HTTP upgrade, counted from the end of the TCP connect, so a server
    /// that accepts TCP and never answers the upgrade is given up on quickly.
    /// Default `WS_DEFAULT_HANDSHAKE_TIMEOUT_MS`. Range 1..`WS_MAX_TIMEOUT_MS`.
    /// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_handshake_timeout_ms(ms: u32) => set_handshake_timeout_ms;

    /// Set the receive limit in events: how many events (messages and others)
    /// may have been received and not yet delivered (to the callback, to
    /// `ws_poll` or past the reader of an event queue). At the limit the worker
    /// stops reading the socket, so TCP pushes back on the server, and reads
    /// again once the consumer catches up; nothing is dropped. While reading is
    /// paused the heartbeat does not blame the server. Default
    /// `WS_DEFAULT_RECEIVE_MAX_EVENTS`; at least 1. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_receive_max_events(events: u64) => set_receive_max_events;

    /// Set the receive limit in bytes: how many message payload bytes may have
    /// been received and not yet delivered (see
    /// `ws_config_set_receive_max_events`). One message may go over it: memory
    /// stays under this limit plus one message. Default
    /// `WS_DEFAULT_RECEIVE_MAX_BYTES`; at least 1. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_receive_max_bytes(bytes: u64) => set_receive_max_bytes;

    /// Set the largest frame the server may send, in bytes. A frame's buffer is
    /// reserved when its header arrives, so this bounds what a hostile header
    /// can make the client allocate; a message in several frames may still be as
    /// large as the max message size. The limit in force is the smaller of this
    /// and the max message size. A larger frame fails the connection with 1009
    /// (`WS_ERROR_MESSAGE_TOO_LARGE`). Default `WS_DEFAULT_MAX_FRAME_SIZE`;
    /// range 1..`WS_MAX_MESSAGE_SIZE_LIMIT`. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_max_frame_size(bytes: usize) => set_max_frame_size;

    /// Set how long, in ms, to wait for the server's close frame (and TCP close)
    /// after the close handshake starts, before the connection is dropped.
    /// Default `WS_DEFAULT_CLOSE_TIMEOUT_MS`. Range 1..`WS_MAX_TIMEOUT_MS`.
    /// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_close_timeout_ms(ms: u32) => set_close_timeout_ms;

    /// Set the largest message, in bytes, either way. A bigger `ws_send` returns
    /// `WS_ERR_MESSAGE_TOO_LARGE`; a bigger incoming message fails the
    /// connection with close code 1009 and a `WS_ERROR_MESSAGE_TOO_LARGE` error.
    /// Default `WS_DEFAULT_MAX_MESSAGE_SIZE`; range 1..`WS_MAX_MESSAGE_SIZE_LIMIT`.
    /// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_max_message_size(bytes: usize) => set_max_message_size;

    /// Set the read buffer size in bytes (allocated once per connection). Larger
    /// is faster for big messages, smaller saves memory with many connections.
    /// Default `WS_DEFAULT_READ_BUFFER_SIZE`; range `WS_MIN_READ_BUFFER_SIZE`..
    /// `WS_MAX_READ_BUFFER_SIZE`. Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` or
    /// `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_read_buffer_size(bytes: usize) => set_read_buffer_size;

    /// Trust the CA certificates in a PEM file for `wss://`, in addition to the
    /// system's roots. The file is read now. Returns `WS_OK`, `WS_ERR_FILE`
    /// (unreadable, not PEM, no certificate), `WS_ERR_INVALID_ARGUMENT`,
    /// `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `path` must be NULL or a NUL-terminated string.
    unsafe fn ws_config_set_ca_file(path: str) => set_ca_file;

    /// Present a client certificate for `wss://`: a PEM certificate (chain) and
    /// its PEM PKCS#8 private key. The files are read now. Returns `WS_OK`,
    /// `WS_ERR_FILE`, `WS_ERR_INVALID_ARGUMENT`, `WS_ERR_INVALID_UTF8` or
    /// `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `cert_path` and `key_path` must be NULL or NUL-terminated strings.
    unsafe fn ws_config_set_client_cert(cert_path: str, key_path: str) => set_client_cert;

    /// Trust the CA certificates of a PEM text (one or more `BEGIN
    /// CERTIFICATE` blocks), as `ws_config_set_ca_file` does with a file:
    /// for programs that hold their certificates in memory. The text is
    /// copied and never shown in messages. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` (NULL, not PEM, no certificate),
    /// `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `pem` must be NULL or a NUL-terminated string.
    unsafe fn ws_config_set_ca_pem(pem: str) => set_ca_pem;

    /// Give the password of an encrypted private key (`BEGIN ENCRYPTED
    /// PRIVATE KEY`, PKCS#8) before passing the key to
    /// `ws_config_set_client_cert` or `ws_config_set_client_cert_pem`. The
    /// password is copied, and never logged or shown. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` (NULL), `WS_ERR_INVALID_UTF8` or
    /// `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `password` must be NULL or a NUL-terminated string.
    unsafe fn ws_config_set_client_key_password(password: str) => set_client_key_password;

    /// Use `name` as the TLS server name, sent in SNI and verified against
    /// the server's certificate, instead of the URL's host (for a server
    /// reached by IP address or through a tunnel under another name).
    /// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (NULL, empty, spaces),
    /// `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `name` must be NULL or a NUL-terminated string.
    unsafe fn ws_config_set_server_name(name: str) => set_server_name;

    /// Go through a proxy: `http://[user:password@]host[:port]` (HTTP
    /// CONNECT; default port 1080), `https://...` (the same, to a proxy
    /// reached over TLS, verified like a server; default port 443),
    /// `socks5://...` (SOCKS5, the client resolves the target's name) or
    /// `socks5h://...` (the proxy resolves it); `host:port` alone is an HTTP
    /// proxy. User and password (percent-encoded in the URL) authenticate
    /// to the proxy (Basic, or RFC 1929 for SOCKS5) and are never shown.
    /// `wss://` goes through the tunnel with TLS to the target, verified as
    /// without a proxy. "" means no proxy, whatever the environment says.
    /// Every connection attempt goes through it; a proxy that cannot be
    /// reached is an error of kind `WS_ERROR_PROXY` and is retried, a 407
    /// from an HTTP proxy is final (see `ws_config_set_fatal_http_statuses`).
    /// The connect timeout covers the TCP connect to the proxy; the
    /// handshake timeout covers the proxy's handshake, TLS and the upgrade.
    ///
    /// Without this call the environment is read when the connection is
    /// created, as curl reads it: `https_proxy`/`HTTPS_PROXY` for `wss://`,
    /// `http_proxy` (lower case only) for `ws://`, else
    /// `all_proxy`/`ALL_PROXY`; hosts in `no_proxy`/`NO_PROXY` (names and
    /// every name under them, IP addresses, CIDR ranges, `*`) go direct.
    /// Loopback is not excluded unless listed.
    ///
    /// Returns `WS_OK`, `WS_ERR_INVALID_URL` (not a proxy URL),
    /// `WS_ERR_INVALID_ARGUMENT` (NULL), `WS_ERR_INVALID_UTF8` or
    /// `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `url` must be NULL or a NUL-terminated string.
    unsafe fn ws_config_set_proxy(url: str) => set_proxy;

    /// Authenticate to the proxy (the one set or the environment's) as
    /// `user` with `password` (Basic for an HTTP proxy, RFC 1929 for SOCKS5),
    /// instead of the user information in its URL. Both are copied and
    /// never logged or shown. Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT`
    /// (NULL), `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `user` and `password` must be NULL or NUL-terminated strings.
    unsafe fn ws_config_set_proxy_auth(user: str, password: str) => set_proxy_auth;

    /// Whether the environment's proxy variables apply when no proxy was
    /// set with `ws_config_set_proxy` (default true). Returns `WS_OK` or
    /// `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_proxy_from_env(enabled: bool) => set_proxy_from_env;

    /// Present a client certificate (PEM chain) and its private key (PKCS#8
    /// PEM) given as texts, as `ws_config_set_client_cert` does with files.
    /// The texts are copied and never shown in messages or logs. Returns
    /// `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (NULL, or not a usable pair),
    /// `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `cert_pem` and `key_pem` must be NULL or NUL-terminated strings.
    unsafe fn ws_config_set_client_cert_pem(cert_pem: str, key_pem: str) => set_client_cert_pem;

    /// DANGER: with `insecure` true, `wss://` accepts any certificate and any
    /// host name, so anyone on the path can read and change the traffic. For
    /// tests only. Verification (chain and host name) is on by default. Returns
    /// `WS_OK` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_insecure(insecure: bool) => set_insecure;

    /// Deliver the server's pings as `WS_EVENT_PING` events, with their
    /// payload in `data` and `len` (the library answers every ping with a
    /// pong either way). Default off. Returns `WS_OK` or
    /// `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_ping_events(enabled: bool) => set_ping_events;

    /// Offer permessage-deflate (RFC 7692) in the upgrade request, as browsers
    /// do. Default on. When the server
    /// accepts, messages of at least the threshold are compressed
    /// (`ws_config_set_deflate_threshold`) and compressed messages from the
    /// server are inflated, with the max message size applied to the
    /// inflated size as it grows (a bomb is a `WS_ERR_MESSAGE_TOO_LARGE`
    /// error and close 1009). An answer that breaks RFC 7692 fails the
    /// attempt with `WS_ERROR_HANDSHAKE`. `ws_extensions` tells what was
    /// agreed. Returns `WS_OK` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_permessage_deflate(enabled: bool) => set_permessage_deflate;

    /// permessage-deflate's `client_max_window_bits`, the window we compress
    /// with: 0 (the default) offers the parameter with no value, so the
    /// server may pick it; 8..15 caps it (less memory per connection).
    /// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_deflate_client_max_window_bits(bits: u32) => set_deflate_client_max_window_bits;

    /// permessage-deflate's `server_max_window_bits`: 0 (the default) asks
    /// nothing; 8..15 asks the server to compress with that window at most
    /// (less memory here to inflate). Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_deflate_server_max_window_bits(bits: u32) => set_deflate_server_max_window_bits;

    /// Ask for `server_no_context_takeover`: the server resets its
    /// compressor after each message (less memory here, worse ratio).
    /// Default off. Returns `WS_OK` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_deflate_server_no_context_takeover(enabled: bool) => set_deflate_server_no_context_takeover;

    /// Offer `client_no_context_takeover`: we reset our compressor after each
    /// message. Default off. Returns `WS_OK` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_deflate_client_no_context_takeover(enabled: bool) => set_deflate_client_no_context_takeover;

    /// Messages shorter than `bytes` are sent uncompressed (compressing a
    /// small message costs more than it saves). Default
    /// `WS_DEFAULT_DEFLATE_THRESHOLD`. Returns `WS_OK` or
    /// `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_deflate_threshold(bytes: usize) => set_deflate_threshold;

    /// The deflate level: 0 stores, 1 is the fastest, 9 the smallest.
    /// Default `WS_DEFAULT_DEFLATE_LEVEL`. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_deflate_level(level: u32) => set_deflate_level;

    /// Set the heartbeat interval in ms: a ping goes out this often while the
    /// connection is open. 0 turns the heartbeat off. Default
    /// `WS_DEFAULT_PING_INTERVAL_MS`; range 0..`WS_MAX_TIMEOUT_MS`. Returns
    /// `WS_OK`, `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_ping_interval_ms(ms: u32) => set_ping_interval_ms;

    /// Set how long, in ms, the peer may stay silent after a ping before it is
    /// declared dead (`WS_ERROR_HEARTBEAT_TIMEOUT`; the socket is dropped and
    /// reconnect takes over). Any byte from the peer counts as a sign of life, so
    /// a large incoming message never trips it. Default
    /// `WS_DEFAULT_PONG_TIMEOUT_MS`; range 1..`WS_MAX_TIMEOUT_MS`. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_pong_timeout_ms(ms: u32) => set_pong_timeout_ms;

    /// Send `text` as a text message for each heartbeat instead of a protocol
    /// ping frame (for servers that expect e.g. `{"op":"ping"}`). Any reply, or
    /// any other data, counts as the sign of life; no `WS_EVENT_PONG` is
    /// reported in this mode. NULL goes back to protocol pings (the default).
    /// Returns `WS_OK`, `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `text` must be NULL or NUL-terminated.
    unsafe fn ws_config_set_ping_payload(text: opt_str) => set_ping_payload;

    /// Turn reconnecting on (the default) or off. Off, the handle behaves like a
    /// browser WebSocket: the first failure or close is the end. Returns `WS_OK`
    /// or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_reconnect(enabled: bool) => set_reconnect;

    /// Set the initial reconnect delay, in ms (1..`WS_MAX_TIMEOUT_MS`; 0 is
    /// refused: it would make a hot loop). Default `WS_DEFAULT_INITIAL_DELAY_MS`.
    /// The first reconnect after an open connection drops waits a random delay
    /// in [0, initial delay] (full jitter, so many clients cut at once do not
    /// come back in step); after a failed attempt the delay is the initial
    /// delay times the multiplier per failure, capped at the max delay, with
    /// jitter, and never below `WS_MIN_RETRY_DELAY_MS`. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`; an initial delay
    /// above the max delay is refused by `ws_create_with_config`.
    fn ws_config_set_initial_delay_ms(ms: u32) => set_initial_delay_ms;

    /// Set the largest delay between reconnect attempts, in ms. Default
    /// `WS_DEFAULT_MAX_DELAY_MS`; range 1..`WS_MAX_TIMEOUT_MS`. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_max_delay_ms(ms: u32) => set_max_delay_ms;

    /// Set the backoff multiplier (1 to 100; default 2). Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` (also for NaN) or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_backoff_multiplier(multiplier: f64) => set_backoff_multiplier;

    /// Set the backoff jitter (0 to 1; default 0.2): each delay is scaled by a
    /// random factor in [1 - jitter, 1 + jitter] (then capped at the max delay),
    /// so many clients do not reconnect in step. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_backoff_jitter(jitter: f64) => set_backoff_jitter;

    /// Give up after this many consecutive failed reconnect attempts (0, the
    /// default: never). The close event then follows the last error. Returns
    /// `WS_OK` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_max_attempts(attempts: u32) => set_max_attempts;

    /// Set how long, in ms, a connection must stay open before the attempt
    /// count (and so the delay) starts again from the first. Default
    /// `WS_DEFAULT_MIN_UPTIME_MS`; 0 allowed. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_min_uptime_ms(ms: u32) => set_min_uptime_ms;

    /// Set the server close codes after which the client stays closed. By
    /// default the list is empty: every close the user did not ask for
    /// reconnects, whatever its code (1000 included: servers use it when they
    /// rotate connections), as the browser recipe this library replaces does.
    /// The list is copied; `count` 0 (with `codes` NULL allowed) empties it. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` (a code outside 1000..4999, or NULL with
    /// `count` > 0) or `WS_ERR_INVALID_HANDLE`.
    ///
    /// # Safety
    /// `codes` must be readable for `count` values.
    unsafe fn ws_config_set_final_close_codes(codes: [u16]) => set_final_close_codes;

    /// Set the HTTP statuses of a rejected upgrade after which the client stays
    /// closed (default 401, 403 and 404); other statuses retry. Same rules as
    /// `ws_config_set_final_close_codes`, with statuses in 100..599.
    ///
    /// # Safety
    /// `statuses` must be readable for `count` values.
    unsafe fn ws_config_set_fatal_http_statuses(statuses: [u16]) => set_fatal_http_statuses;

    /// Bound the send queue: at most `max_messages` messages and `max_bytes`
    /// bytes accepted by `ws_send` and not yet written. A send that does not fit
    /// returns `WS_ERR_QUEUE_FULL` and nothing is dropped. Defaults
    /// `WS_DEFAULT_QUEUE_MAX_MESSAGES` and `WS_DEFAULT_QUEUE_MAX_BYTES`. Returns
    /// `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (a zero) or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_queue_limit(max_messages: u64, max_bytes: u64) => set_queue_limit;

    /// Set the send queue's limit in messages alone (see
    /// `ws_config_set_queue_limit`; the limit in bytes stays). Default
    /// `WS_DEFAULT_QUEUE_MAX_MESSAGES`; at least 1. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_queue_max_messages(max_messages: u64) => set_queue_max_messages;

    /// Set the send queue's limit in bytes alone (see
    /// `ws_config_set_queue_limit`; the limit in messages stays). Default
    /// `WS_DEFAULT_QUEUE_MAX_BYTES`; at least 1. Returns `WS_OK`,
    /// `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_queue_max_bytes(max_bytes: u64) => set_queue_max_bytes;

    /// With `enabled` true (the default), messages sent while connecting or
    /// reconnecting wait in the queue and go out in order after the next open.
    /// With false, `ws_send` returns `WS_ERR_NOT_CONNECTED` unless the connection
    /// is open. Returns `WS_OK` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_queue_while_disconnected(enabled: bool) => set_queue_while_disconnected;

    /// Follow up to `max` HTTP redirects (301, 302, 303, 307, 308 with a
    /// `Location`) per connection attempt. The default, 0, follows none: a
    /// redirect is then a `WS_ERROR_HANDSHAKE_REJECTED` with its status, and the
    /// message names the target. A redirect from `wss://` to `ws://` (or
    /// `http://`) is never followed. Every reconnect starts again from the
    /// configured URL. A redirect to another origin (scheme, host or port)
    /// sends none of the credentials: not the URL's user information, nor
    /// the headers `ws_config_add_header` lists as credentials; they stay
    /// dropped for the rest of that attempt. Other headers are kept.
    ///
    /// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (over `WS_MAX_REDIRECTS`, 20)
    /// or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_max_redirects(max: u32) => set_max_redirects;

    /// Seed the backoff jitter, for reproducible delays in tests. By default
    /// each handle picks its own seed. Returns `WS_OK` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_random_seed(seed: u64) => set_random_seed;

    /// Set the stack size of the connection's worker thread, in bytes (0: the
    /// platform default, usually 2 MiB of address space of which only the used
    /// pages cost memory). With many connections, a small stack (64 KiB is
    /// plenty for `ws://`; give `wss://` 256 KiB) and a small read buffer keep
    /// each connection small. Range 0 or `WS_MIN_THREAD_STACK_SIZE`..64 MiB.
    /// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` or `WS_ERR_INVALID_HANDLE`.
    fn ws_config_set_thread_stack_size(bytes: usize) => set_thread_stack_size;
}

/// Borrow a C array argument; NULL is fine when `count` is 0.
///
/// # Safety
/// `p` must be readable for `count` values.
unsafe fn slice_arg<'a>(p: *const u16, count: usize, what: &str) -> Result<&'a [u16]> {
    match (p.is_null(), count) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(null(what)),
        (false, n) if n > 65536 => Err(Error::invalid(format!("{what}: {n} values is too many"))),
        (false, n) => Ok(std::slice::from_raw_parts(p, n)),
    }
}

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

fn create(config: Config, out: *mut ws_handle) -> Result<()> {
    if out.is_null() {
        return Err(null("out"));
    }
    let client = Arc::new(Client::new(config)?);
    let h = CLIENTS.insert(Arc::clone(&client));
    let name = format!("wsclient-{}", crate::registry::slot(h));
    if let Err(e) = client.start(h, name) {
        CLIENTS.remove(h);
        return Err(e);
    }
    // SAFETY: checked non-NULL; the caller promises it is writable.
    unsafe { *out = h };
    Ok(())
}

/// Open a connection to `url` with default options. Returns at once: the
/// connection is made on the handle's own worker thread, like
/// `new WebSocket(url)`. Events that happen before a callback is set are
/// kept, and delivered by `ws_set_callback` or read with `ws_poll`.
///
/// - `url`: `ws://` or `wss://` URL, NUL-terminated; copied.
/// - `out`: receives the handle, only on success. Release it with `ws_free`.
///
/// Returns `WS_OK`, `WS_ERR_INVALID_URL`, `WS_ERR_INVALID_UTF8`,
/// `WS_ERR_INVALID_ARGUMENT` (NULL) or `WS_ERR_INTERNAL` (no thread could be
/// started). Network failures are not returned here: they arrive as a
/// `WS_EVENT_ERROR` followed by `WS_EVENT_CLOSE`.
///
/// # Safety
/// `url` must be NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_create(url: *const c_char, out: *mut ws_handle) -> ws_status {
    guard(|| {
        let mut config = Config::default();
        config.set_url(c_str(url, "url")?)?;
        create(config, out)
    })
}

/// Open a connection with the options of `cfg` (which must have a URL). The
/// config is copied: it may be changed or freed right after. Otherwise as
/// `ws_create`. Returns `WS_OK`, `WS_ERR_INVALID_HANDLE` (bad `cfg`),
/// `WS_ERR_INVALID_URL` (no URL set), `WS_ERR_INVALID_ARGUMENT` (`out` NULL)
/// or `WS_ERR_INTERNAL`.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_create_with_config(cfg: ws_config, out: *mut ws_handle) -> ws_status {
    guard(|| {
        let config = with_config(cfg, |c| Ok(c.clone()))?;
        create(config, out)
    })
}

/// Deliver events to `callback`, which runs on the connection's worker
/// thread, one event at a time, in order. Events queued before this call are
/// delivered first, on the worker thread (or, if the connection has already
/// ended, on the calling thread before this returns).
///
/// The `ws_event` and everything it points to are valid only during the
/// call: copy what you keep. `user_data` is passed through untouched. The
/// callback must return quickly; it may call any `ws_*` function, including
/// `ws_send`, `ws_close` and `ws_free` on its own handle (these never block
/// there). Pass NULL to go back to `ws_poll`.
///
/// The callback must return normally. A C++ exception that leaves it, a
/// `longjmp` out of it, or ending the thread inside it (`pthread_exit`,
/// cancellation) is undefined behaviour: it would unwind through the
/// library's frames and leave the connection's state half-updated. Catch
/// everything inside the callback; the C++ wrapper (`wsclient.hpp`) does
/// this for its handlers.
///
/// Called from a plain thread, this returns once the previous callback is no
/// longer running, so its `user_data` may be released. Called from inside a
/// callback (of this handle or of any other), it returns at once without
/// waiting, so callbacks that re-register each other's handles never
/// deadlock; the new callback takes over from the next event.
///
/// Returns `WS_OK` or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `callback` must be safe to call from another thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn ws_set_callback(
    handle: ws_handle,
    callback: ws_callback,
    user_data: *mut c_void,
) -> ws_status {
    guard(|| {
        client(handle)?.set_callback(callback, user_data);
        Ok(())
    })
}

/// Take the next event (the pull model, for callers who do not want
/// callbacks on a foreign thread). Waits up to `timeout_ms` (0: do not wait,
/// -1: wait forever). Not allowed while a callback is set. Over plain
/// `ws://`, while the worker has nothing of its own to do with the socket,
/// a waiting `ws_poll` reads the next message from the socket on the
/// calling thread (no thread switch); events the worker queued come first.
/// Control frames, fragments, messages over 64 KiB and compressed ones are
/// still read by the worker, in order.
///
/// - `out`: receives the event, only on success. Its pointers stay valid
///   until `ws_event_free(out)`, which must be called for every event
///   received (also after `ws_free`).
///
/// Returns `WS_OK`, `WS_ERR_TIMEOUT` (no event in time), `WS_ERR_CLOSED`
/// (the close event was already taken: there will be no more),
/// `WS_ERR_INVALID_STATE` (a callback is set), `WS_ERR_INVALID_ARGUMENT`
/// (`out` NULL or `timeout_ms` < -1) or `WS_ERR_INVALID_HANDLE` (also when
/// the handle is freed while waiting).
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_poll(
    handle: ws_handle,
    out: *mut ws_event,
    timeout_ms: i32,
) -> ws_status {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        let timeout = wait_arg(timeout_ms)?;
        let ev = Box::new(client(handle)?.poll(timeout)?);
        let mut view = ev.view(handle);
        view._private = Box::into_raw(ev).cast();
        *out = view;
        Ok(())
    })
}

/// Release the storage of an event filled by `ws_poll` and zero it. Calling
/// it again on the same (zeroed) event, or on an event from a callback, does
/// nothing. NULL is ignored.
///
/// # Safety
/// `event` must be NULL or an event filled by `ws_poll` (not a copy of one
/// that was already freed).
#[no_mangle]
pub unsafe extern "C" fn ws_event_free(event: *mut ws_event) {
    let _ = catch_unwind(|| {
        if event.is_null() || (*event)._private.is_null() {
            return;
        }
        drop(Box::from_raw((*event)._private.cast::<Event>()));
        ptr::write_bytes(event, 0, 1);
    });
}

/// Send a message. The data is copied and queued, and the call returns at
/// once: the caller may free `data` as soon as it returns. Messages are sent
/// in the order of the calls (per calling thread, and overall as the calls
/// are ordered). Sent while connecting, they go out right after the open.
/// Over plain `ws://`, while nothing is queued, the frame is written to the
/// socket on the calling thread with one nonblocking write (not a message
/// that permessage-deflate would compress: the worker does those); what the
/// socket does not take at once is left to the worker. It never blocks on
/// the network.
///
/// - `data`: the payload; may be NULL only when `len` is 0.
/// - `is_binary`: false sends a text message, which must be valid UTF-8.
///
/// Returns `WS_OK`, `WS_ERR_INVALID_UTF8` (text that is not UTF-8; nothing
/// sent), `WS_ERR_MESSAGE_TOO_LARGE` (over the max message size),
/// `WS_ERR_CLOSED` (after `ws_close`, or once the connection has ended),
/// `WS_ERR_INVALID_ARGUMENT` (`data` NULL with `len` > 0) or
/// `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `data` must be readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ws_send(
    handle: ws_handle,
    data: *const u8,
    len: usize,
    is_binary: bool,
) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        if data.is_null() && len > 0 {
            return Err(null("data"));
        }
        if len > isize::MAX as usize {
            return Err(Error::new(
                WS_ERR_MESSAGE_TOO_LARGE,
                format!("message of {len} bytes is too large"),
            ));
        }
        let bytes = if len == 0 { &[][..] } else { std::slice::from_raw_parts(data, len) };
        c.send(bytes, is_binary)
    })
}

/// Send a NUL-terminated UTF-8 string as a text message. Same rules and
/// statuses as `ws_send`.
///
/// # Safety
/// `text` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ws_send_text(handle: ws_handle, text: *const c_char) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        if text.is_null() {
            return Err(null("text"));
        }
        c.send(CStr::from_ptr(text).to_bytes(), false)
    })
}

/// Send a ping with `len` bytes of `data` as its payload (at most 125; NULL
/// with 0 for none), now, ahead of queued messages. The server's answer
/// arrives as a `WS_EVENT_PONG` carrying the payload and the round trip in
/// `rtt_us`. The library's heartbeat does not need this: it is for programs
/// that ping on their own (Node's `ws.ping()`). At most
/// 64 pings may wait to be written.
///
/// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (over 125 bytes, or `data`
/// NULL with `len` > 0), `WS_ERR_NOT_CONNECTED` (not open: the ping would
/// not reach this connection's server), `WS_ERR_CLOSED` (closing or
/// closed), `WS_ERR_QUEUE_FULL` or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `data` must be NULL or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ws_ping(handle: ws_handle, data: *const u8, len: usize) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        if data.is_null() && len > 0 {
            return Err(null("data"));
        }
        if len > 125 {
            return Err(Error::invalid(format!("a ping payload is at most 125 bytes, got {len}")));
        }
        c.ping(if len == 0 { &[] } else { std::slice::from_raw_parts(data, len) })
    })
}

/// Start the close handshake and return at once. Messages sent before this
/// call still go out first, then the close frame; later sends return
/// `WS_ERR_CLOSED`. The close timeout starts now, whatever is queued: the
/// `WS_EVENT_CLOSE` event follows when the server answers, or when the
/// timeout passes (code 1006, with what never left in `unsent_messages` and
/// `unsent_bytes`). No heartbeat error and no `WS_EVENT_RECONNECTING` follow
/// a close. Calling it while connecting abandons the attempt (close code
/// 1006). Calling it again, or after the connection ended, does nothing and
/// returns `WS_OK`.
///
/// - `code`: 1000 (normal) or 3000..4999 (application codes), or 0 for a
///   close frame without a body (the server sees 1005, "no status": what a
///   browser's `close()` sends without arguments).
/// - `reason`: NUL-terminated UTF-8 of at most 123 bytes, or NULL for none
///   (none with code 0).
///
/// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (bad code, reason too long, a
/// reason with code 0), `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `reason` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ws_close(
    handle: ws_handle,
    code: u16,
    reason: *const c_char,
) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        let reason = if reason.is_null() { "" } else { c_str(reason, "reason")? };
        c.close(code, reason)
    })
}

/// Release the handle. If the connection is still open it is closed with
/// 1000 in the background (this call does not wait for the network). When
/// the program exits, closes still under way are cut short and their
/// threads joined (for at most half a second), so no library thread or
/// allocation outlives the program.
/// Pending and later events are dropped, and no callback of this handle
/// starts after this returns. What it waits for depends on where it is
/// called:
/// - from a plain thread (no callback of any handle running on it): it
///   waits until a callback of this handle running on its worker returns, so
///   once it returns that callback is not running and its `user_data` may be
///   freed;
/// - from inside a callback of this handle: it returns at once; the callback
///   finishes normally and is the last one;
/// - from inside a callback of another handle: it returns at once, without
///   waiting (that worker may be waiting for this one: two callbacks freeing
///   each other's handles never deadlock). A callback of the freed handle
///   that is running right now on its own worker may still be finishing;
///   none starts afterwards. Free its `user_data` from a plain thread, or
///   from its close event.
///
/// Every later call with this handle returns `WS_ERR_INVALID_HANDLE`; so
/// does a second `ws_free`.
///
/// Returns `WS_OK` or `WS_ERR_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn ws_free(handle: ws_handle) -> ws_status {
    guard(|| {
        let c = CLIENTS.remove(handle).ok_or_else(|| {
            Error::new(
                WS_ERR_INVALID_HANDLE,
                format!("handle {handle:#x} is not a live connection"),
            )
        })?;
        log!(WS_LOG_DEBUG, handle, "freed");
        c.free();
        Ok(())
    })
}

/// The connection's state, through `out` (only on success). Returns `WS_OK`,
/// `WS_ERR_INVALID_ARGUMENT` (`out` NULL) or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_state(handle: ws_handle, out: *mut ws_ready_state) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        answer(out, || c.state())
    })
}

/// Bytes accepted by `ws_send` and not yet handed to the network (queued,
/// or written but not flushed), through `out` (only on success). Like the
/// browser's `bufferedAmount`. Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT`
/// (`out` NULL) or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_buffered_amount(handle: ws_handle, out: *mut u64) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        answer(out, || c.buffered_amount())
    })
}

/// A snapshot of the connection's counters, through `out` (only on
/// success). Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (`out` NULL) or
/// `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_get_stats(handle: ws_handle, out: *mut ws_stats) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        answer(out, || c.stats())
    })
}

/// Connect to `url` from the next connection attempt on (for example a URL
/// with a fresh token). The open connection, if any, is not affected. Safe
/// from any thread, including from the `WS_EVENT_RECONNECTING` callback.
/// Returns `WS_OK`, `WS_ERR_INVALID_URL`, `WS_ERR_INVALID_UTF8`,
/// `WS_ERR_INVALID_ARGUMENT` (NULL) or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `url` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ws_set_url(handle: ws_handle, url: *const c_char) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        c.set_url(c_str(url, "url")?)
    })
}

/// Send header `name: value` from the next connection attempt on, replacing
/// every header of that name (for example an `Authorization` with a fresh
/// token). Same rules as `ws_config_add_header`; safe from any thread,
/// including from the `WS_EVENT_RECONNECTING` callback. Returns `WS_OK`,
/// `WS_ERR_INVALID_ARGUMENT`, `WS_ERR_INVALID_UTF8` or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `name` and `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ws_set_header(
    handle: ws_handle,
    name: *const c_char,
    value: *const c_char,
) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        c.set_header(c_str(name, "name")?, c_str(value, "value")?)
    })
}

/// The HTTP status of the server's last answer to an upgrade request of
/// this connection: 101 once it opened, or the status of a rejection (say
/// 401), or 0 when no answer came yet (connecting, or the attempts failed
/// before HTTP). Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (`out` NULL)
/// or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_response_status(handle: ws_handle, out: *mut u16) -> ws_status {
    guard(|| {
        let c = client(handle)?;
        answer(out, || c.response().map_or(0, |r| r.status))
    })
}

/// Copy the headers of that answer (see `ws_response_status`) into `buf`
/// as `Name: value\r\n` lines, NUL-terminated: cookies and session ids of
/// the 101, or what a rejection says. Names are lower case; values are as
/// the server sent them. "" when no answer came yet. Buffer rules as
/// `ws_last_error_message`: `*out_len` gets the length without the NUL,
/// and `WS_ERR_BUFFER_TOO_SMALL` means nothing was written.
///
/// Returns `WS_OK`, `WS_ERR_BUFFER_TOO_SMALL`, `WS_ERR_INVALID_ARGUMENT`
/// or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `buf` must be writable for `len` bytes; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_response_headers(
    handle: ws_handle,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ws_status {
    guard(|| {
        let lines = client(handle)?.response().map(|r| r.header_lines()).unwrap_or_default();
        copy_out(&lines, buf.cast(), len, out_len, true)
    })
}

/// Copy the extensions agreed for the current connection (or the last
/// one, while reconnecting) into `buf`, NUL-terminated, as the browser's
/// `WebSocket.extensions` shows them: "" for none, else e.g.
/// "permessage-deflate" or "permessage-deflate; server_no_context_takeover;
/// client_max_window_bits=12" (only the parameters that differ from RFC
/// 7692's defaults). Set when `WS_EVENT_OPEN` is delivered, so an open
/// callback may read it. Buffer rules as `ws_response_headers`.
///
/// Returns `WS_OK`, `WS_ERR_BUFFER_TOO_SMALL`, `WS_ERR_INVALID_ARGUMENT`
/// or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `buf` must be writable for `len` bytes; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_extensions(
    handle: ws_handle,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> ws_status {
    guard(|| {
        let extensions = client(handle)?.extensions();
        copy_out(extensions.as_bytes(), buf.cast(), len, out_len, true)
    })
}

/// Copy the first bytes of a rejection's body (up to `WS_MAX_RESPONSE_BODY`,
/// 4 KiB: what the server sent with, say, its 403) into `buf`, not
/// NUL-terminated: `*out_len` gets its length. Empty after a 101 or when no
/// answer came. Buffer rules
/// as `ws_response_headers`.
///
/// Returns `WS_OK`, `WS_ERR_BUFFER_TOO_SMALL`, `WS_ERR_INVALID_ARGUMENT`
/// or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `buf` must be writable for `len` bytes; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_response_body(
    handle: ws_handle,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> ws_status {
    guard(|| {
        let body = client(handle)?.response().map(|r| r.body).unwrap_or_default();
        copy_out(&body, buf, len, out_len, false)
    })
}

// ---------------------------------------------------------------------------
// Event queues
// ---------------------------------------------------------------------------

fn queue(q: ws_queue) -> Result<Arc<EventQueue>> {
    QUEUES.get(q).ok_or_else(|| {
        Error::new(WS_ERR_INVALID_HANDLE, format!("handle {q:#x} is not a live queue"))
    })
}

/// Create an event queue: one place to collect the events of many
/// connections, read in batches with `ws_queue_poll` from one thread (for
/// example an event loop's worker). Connection threads push to it and never
/// wait for the reader. Returns `WS_OK` or `WS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_queue_new(out: *mut ws_queue) -> ws_status {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        *out = QUEUES.insert(Arc::new(EventQueue::default()));
        Ok(())
    })
}

/// Free a queue and every event still in it. Free (or re-route) the
/// connections attached to it first: their later events would have nowhere
/// to go. Returns `WS_OK` or `WS_ERR_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn ws_queue_free(q: ws_queue) -> ws_status {
    guard(|| {
        let q = QUEUES
            .remove(q)
            .ok_or_else(|| Error::new(WS_ERR_INVALID_HANDLE, "not a live queue"))?;
        q.wake();
        Ok(())
    })
}

/// Send every event of `handle` to queue `q` from now on; events kept since
/// `ws_create` go first, in order. Replaces a callback set with
/// `ws_set_callback` (and `ws_set_callback` replaces the queue). Returns
/// `WS_OK` or `WS_ERR_INVALID_HANDLE` (bad handle or queue).
#[no_mangle]
pub extern "C" fn ws_queue_attach(handle: ws_handle, q: ws_queue) -> ws_status {
    guard(|| {
        client(handle)?.attach_queue(queue(q)?);
        Ok(())
    })
}

/// Take up to `max` events from queue `q`, waiting up to `timeout_ms` for
/// the first (0: do not wait, -1: until an event or `ws_queue_wake`).
/// Events of one connection come in order; `events[i].handle` says whose.
/// A waiting poll on a queue of one `ws://` connection may read that
/// connection's messages from its socket on the calling thread, as
/// `ws_poll` does.
///
/// - `events`: caller-owned array of `max` events, filled with the batch.
///   The events and what they point to stay valid until the next
///   `ws_queue_poll` on this queue or `ws_queue_free`; do not pass them to
///   `ws_event_free`.
/// - `out_count`: receives the number of events (0 after a timeout or a wake).
///
/// One poll at a time per queue. Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT`
/// (NULL, `max` 0, `timeout_ms` < -1) or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `events` must be writable for `max` events; `out_count` writable.
#[no_mangle]
pub unsafe extern "C" fn ws_queue_poll(
    q: ws_queue,
    events: *mut ws_event,
    max: usize,
    timeout_ms: i32,
    out_count: *mut usize,
) -> ws_status {
    guard(|| {
        let q = queue(q)?;
        if events.is_null() || out_count.is_null() || max == 0 {
            return Err(Error::invalid(
                "events and out_count must not be NULL, and max at least 1",
            ));
        }
        let timeout = wait_arg(timeout_ms)?;
        // SAFETY: the caller gave room for `max` events; at most that many come.
        *out_count = q.next_batch(max, timeout, |i, h, ev| events.add(i).write(ev.view(h)));
        Ok(())
    })
}

/// The queue's readiness file descriptor, for programs with an event loop
/// of their own (epoll, GLib, libuv, asio, Node's main thread): watch it
/// instead of giving a thread to a blocking `ws_queue_poll`.
///
/// It is the read end of a nonblocking pipe, level-triggered: readable while
/// the queue holds events, and emptied by the library when a
/// `ws_queue_poll` takes the last one. On each readiness, call
/// `ws_queue_poll(q, events, max, 0, &n)` until it returns 0 events. Do not
/// write to it or close it: it belongs to the queue and is closed by
/// `ws_queue_free`. Reading it yourself is harmless (a loop that must read
/// what it watches may), provided the queue is drained after each
/// readiness. The same fd is returned on every call.
///
/// Returns `WS_OK`, `WS_ERR_INVALID_ARGUMENT` (`out_fd` NULL),
/// `WS_ERR_INTERNAL` (no pipe could be made) or `WS_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out_fd` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ws_queue_fd(q: ws_queue, out_fd: *mut c_int) -> ws_status {
    guard(|| {
        let q = queue(q)?;
        if out_fd.is_null() {
            return Err(null("out_fd"));
        }
        let fd = q.fd().map_err(|e| {
            Error::new(WS_ERR_INTERNAL, format!("cannot make the queue's readiness pipe: {e}"))
        })?;
        out_fd.write(fd);
        Ok(())
    })
}

/// Make a `ws_queue_poll` that is waiting on `q` return now (with 0 events,
/// or the next poll at once if none is waiting). Safe from any thread.
/// Returns `WS_OK` or `WS_ERR_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn ws_queue_wake(q: ws_queue) -> ws_status {
    guard(|| {
        queue(q)?.wake();
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_ws_err_internal() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let status = guard(|| panic!("boom"));
        std::panic::set_hook(prev);
        assert_eq!(status, WS_ERR_INTERNAL);
        let mut buf = [0 as c_char; 128];
        let mut n = 0;
        assert_eq!(unsafe { ws_last_error_message(buf.as_mut_ptr(), buf.len(), &mut n) }, WS_OK);
        let msg = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert!(msg.contains("panic"), "{msg}");
        assert_eq!(n, msg.len());
    }
}
