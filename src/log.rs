//! Logging: off unless the program calls `ws_set_logger` or the
//! environment sets `WSCLIENT_LOG=error|warn|info|debug|trace` (to stderr).
//!
//! A line is formatted only when its level is enabled, which one atomic load
//! tells. The user's function is copied out of the lock before it runs.
//!
//! The records that tungstenite and native-tls emit through the `log` crate
//! go the same way (`Bridge`), prefixed with their module, except their
//! trace records: those hold frame payloads and the upgrade request with
//! its header values, which the library never logs.

use crate::types::{ws_handle, ws_log_fn, ws_log_level};
use std::{
    borrow::Cow,
    cell::Cell,
    ffi::{c_char, c_void, CString},
    fmt::{self, Write as _},
    io::Write,
    sync::{
        atomic::{AtomicI32, Ordering},
        Arc, Mutex, Once, OnceLock,
    },
    time::Duration,
};

impl ws_log_level {
    fn name(self) -> &'static str {
        match self {
            ws_log_level::WS_LOG_OFF => "off",
            ws_log_level::WS_LOG_ERROR => "error",
            ws_log_level::WS_LOG_WARN => "warn",
            ws_log_level::WS_LOG_INFO => "info",
            ws_log_level::WS_LOG_DEBUG => "debug",
            ws_log_level::WS_LOG_TRACE => "trace",
        }
    }

    const ALL: [ws_log_level; 6] = {
        use ws_log_level::*;
        [WS_LOG_OFF, WS_LOG_ERROR, WS_LOG_WARN, WS_LOG_INFO, WS_LOG_DEBUG, WS_LOG_TRACE]
    };

    /// Parse a level name as in `WSCLIENT_LOG` (case-insensitive).
    pub fn parse(s: &str) -> Option<ws_log_level> {
        Self::ALL.into_iter().find(|l| l.name().eq_ignore_ascii_case(s.trim()))
    }

    /// The level with this number, if there is one.
    pub fn from_i32(n: i32) -> Option<ws_log_level> {
        Self::ALL.into_iter().find(|l| *l as i32 == n)
    }
}

type LogFn = unsafe extern "C" fn(ws_log_level, ws_handle, *const c_char, *mut c_void);

/// The user's logger; `live` has one extra count per call in progress.
struct Slot {
    f: LogFn,
    user_data: usize,
    live: Arc<()>,
}

static LEVEL: AtomicI32 = AtomicI32::new(0);
/// None: lines go to stderr.
static SINK: Mutex<Option<Slot>> = Mutex::new(None);
static FROM_ENV: Once = Once::new();

thread_local! {
    /// Calls of a user logger in progress on this thread.
    static INSIDE: Cell<usize> = const { Cell::new(0) };
    /// The connection whose worker runs on this thread (0: none), for the
    /// records of the `log` crate.
    static THREAD_HANDLE: Cell<ws_handle> = const { Cell::new(0) };
}

/// The records of the `log` crate (from tungstenite and native-tls) as
/// lines of the library's log.
struct Bridge;

static BRIDGE: Bridge = Bridge;

/// The library's level for a `log` level; `None` for trace (see the module
/// docs).
fn from_log(level: ::log::Level) -> Option<ws_log_level> {
    match level {
        ::log::Level::Error => Some(ws_log_level::WS_LOG_ERROR),
        ::log::Level::Warn => Some(ws_log_level::WS_LOG_WARN),
        ::log::Level::Info => Some(ws_log_level::WS_LOG_INFO),
        ::log::Level::Debug => Some(ws_log_level::WS_LOG_DEBUG),
        ::log::Level::Trace => None,
    }
}

impl ::log::Log for Bridge {
    fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
        from_log(metadata.level()).is_some_and(enabled)
    }

    fn log(&self, record: &::log::Record<'_>) {
        if let Some(level) = from_log(record.level()).filter(|l| enabled(*l)) {
            let handle = THREAD_HANDLE.with(Cell::get);
            write(level, handle, format_args!("{}: {}", record.target(), record.args()));
        }
    }

    fn flush(&self) {}
}

/// Tell the `log` crate which of its records the library's level wants.
/// When the host program (a Rust program linking the library) installed a
/// logger of its own, the records go there instead.
fn set_log_crate_level(level: i32) {
    let filter = match level {
        0 => ::log::LevelFilter::Off,
        1 => ::log::LevelFilter::Error,
        2 => ::log::LevelFilter::Warn,
        3 => ::log::LevelFilter::Info,
        _ => ::log::LevelFilter::Debug,
    };
    static BRIDGED: OnceLock<bool> = OnceLock::new();
    if *BRIDGED.get_or_init(|| ::log::set_logger(&BRIDGE).is_ok()) {
        ::log::set_max_level(filter);
    }
}

/// Mark the calling thread as the worker of `handle`: records of the `log`
/// crate made on it are about that connection.
pub fn set_thread_handle(handle: ws_handle) {
    THREAD_HANDLE.with(|h| h.set(handle));
}

/// Read `WSCLIENT_LOG` once, before the first line or the first
/// `ws_set_logger` (which then wins).
fn init() {
    FROM_ENV.call_once(|| {
        if let Some(level) =
            std::env::var("WSCLIENT_LOG").ok().as_deref().and_then(ws_log_level::parse)
        {
            LEVEL.store(level as i32, Ordering::Relaxed);
        }
        set_log_crate_level(LEVEL.load(Ordering::Relaxed));
    });
}

/// Whether lines at `level` are wanted.
#[inline]
pub fn enabled(level: ws_log_level) -> bool {
    init();
    (level as i32) <= LEVEL.load(Ordering::Relaxed)
}

/// Send lines up to `level` to `f` (stderr when `f` is None). When this
/// returns, the previous logger is no longer running on other threads.
pub fn set(level: ws_log_level, f: ws_log_fn, user_data: *mut c_void) {
    init();
    let slot = f.map(|f| Slot { f, user_data: user_data as usize, live: Arc::new(()) });
    let old = std::mem::replace(&mut *SINK.lock().unwrap_or_else(|e| e.into_inner()), slot);
    LEVEL.store(level as i32, Ordering::Relaxed);
    set_log_crate_level(level as i32);
    if let Some(old) = old {
        // A call on this very thread (set from inside the logger) is left.
        let own = INSIDE.with(Cell::get);
        while Arc::strong_count(&old.live) > 1 + own {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Whether `c` must not appear raw in a log line or message: C0 and C1
/// controls, DEL, the Unicode line and paragraph separators and the
/// bidirectional formatting characters (which can make a terminal show a
/// line other than the one written).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Text that came from the peer (close reasons, HTTP reason phrases, header
/// values, a redirect's `Location`) made safe for a log line or an event
/// message: `\n`, `\r` and `\t` as such, other ASCII controls as `\xNN`,
/// the other unsafe characters (C1 controls, U+2028, U+2029, bidirectional
/// controls) as `\u{NNNN}`. A peer can then never start a line of its own,
/// and every log line is one line.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() && is_unsafe(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Write one line (call through the `log!` macro, which checks the level).
/// Control characters in it are escaped ([`escape`]).
pub fn write(level: ws_log_level, handle: ws_handle, args: fmt::Arguments<'_>) {
    let user = SINK
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|s| (s.f, s.user_data, Arc::clone(&s.live)));
    let text = args.to_string();
    let text = escape(&text);
    match user {
        None => {
            let line = if handle == 0 {
                format!("wsclient {}: {text}\n", level.name())
            } else {
                format!("wsclient {}: [{handle:#x}] {text}\n", level.name())
            };
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        // A line that arises inside the user's logger (say it calls
        // ws_send) is dropped rather than recursed into.
        Some(_) if INSIDE.with(Cell::get) > 0 => {}
        Some((f, user_data, live)) => {
            // escape() leaves no NUL.
            let msg = CString::new(text.into_owned()).unwrap_or_default();
            INSIDE.with(|c| c.set(c.get() + 1));
            // SAFETY: the user gave this function and data to ws_set_logger;
            // the message outlives the call. No lock is held.
            unsafe { f(level, handle, msg.as_ptr(), user_data as *mut c_void) };
            INSIDE.with(|c| c.set(c.get() - 1));
            drop(live);
        }
    }
}

/// `log!(LEVEL, handle, "format", args...)`: a line if `LEVEL` is enabled.
macro_rules! log {
    ($level:ident, $handle:expr, $($arg:tt)+) => {
        if $crate::log::enabled($crate::types::ws_log_level::$level) {
            $crate::log::write($crate::types::ws_log_level::$level, $handle, format_args!($($arg)+));
        }
    };
}
pub(crate) use log;

#[cfg(test)]
mod tests {
    use super::ws_log_level::*;
    use super::*;

    #[test]
    fn levels_parse_by_name() {
        assert_eq!(ws_log_level::parse("DEBUG"), Some(WS_LOG_DEBUG));
        assert_eq!(ws_log_level::parse(" warn "), Some(WS_LOG_WARN));
        assert_eq!(ws_log_level::parse("off"), Some(WS_LOG_OFF));
        assert_eq!(ws_log_level::parse("loud"), None);
        assert!(WS_LOG_ERROR < WS_LOG_TRACE);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert!(matches!(escape("plain text, é ü"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nwsclient error: forged"), "a\\nwsclient error: forged");
        assert_eq!(escape("\r\t\0\x1b[31m\x7f"), "\\r\\t\\x00\\x1b[31m\\x7f");
        assert_eq!(
            escape("\u{85}\u{2028}\u{2029}\u{202e}"),
            "\\u{0085}\\u{2028}\\u{2029}\\u{202e}"
        );
        assert_eq!(escape("C:\\path"), "C:\\path", "a backslash stays as it is");
    }
}
