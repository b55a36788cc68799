"""The WebSocket class: options in, events out, over the C API."""

from __future__ import annotations

import atexit
import ctypes
import enum
import logging
import os
import queue
import sys
import threading
import time
import weakref
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from . import _c
from . import _errors as errors
from . import _logging
from . import _native as native
from ._errors import check
from ._options import CALLBACKS, check_names, configure

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

    from ._options import Options

__all__ = ["WebSocket", "State", "Stats", "Response", "PongWaiter", "connect"]

log = logging.getLogger("wsclient")

#: What ``send`` accepts.
Data = Union[str, bytes, bytearray, memoryview]
#: A received message: ``str`` for text, ``bytes`` for binary.
Message = Union[str, bytes]


class State(enum.IntEnum):
    """Connection state (``WebSocket.state``); the first four match the browser's readyState."""

    CONNECTING = _c.WS_STATE_CONNECTING
    OPEN = _c.WS_STATE_OPEN
    CLOSING = _c.WS_STATE_CLOSING
    CLOSED = _c.WS_STATE_CLOSED
    RECONNECTING = _c.WS_STATE_RECONNECTING

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Stats:
    """Counters of one connection (``WebSocket.stats``)."""

    messages_sent: int
    bytes_sent: int
    messages_received: int
    bytes_received: int
    reconnects: int
    #: The reconnect attempt under way or waited for; 0 while open.
    attempt: int
    #: Round-trip time of the last answered ping, in seconds (None before the first).
    last_rtt: Optional[float]
    #: When the connection last opened, as a Unix timestamp (None if never).
    last_open: Optional[float]
    queued_messages: int
    queued_bytes: int
    #: Messages handed to the kernel on connections that then died uncleanly:
    #: maybe not received (a message not entirely written is sent again instead).
    messages_maybe_lost: int = 0
    #: Events received and not yet delivered, and their message bytes (see ``receive_max_events``).
    undelivered_events: int = 0
    undelivered_bytes: int = 0


def _reason(ev: native.Event) -> str:
    """The close reason of an event: every byte up to reason_len (NUL bytes included)."""
    return ctypes.string_at(ev.reason, ev.reason_len).decode("utf-8", "replace") if ev.reason_len else ""


_CLOSED = object()  # end marker in the receive queue


@dataclass(frozen=True)
class Disconnected:
    """Marker in the receive queue (``raise_on_disconnect``): an open connection ended, a reconnect follows."""

    code: int
    reason: str
    error: errors.WebSocketError

    def exception(self) -> errors.ConnectionClosed:
        e = errors.ConnectionClosed(f"connection closed ({self.code} {self.reason}), reconnecting".replace(" )", ")"),
                                    code=self.code, reason=self.reason)
        e.reconnecting = True
        e.__cause__ = None if self.error.__class__ is errors.WebSocketError else self.error
        return e


@dataclass(frozen=True)
class Response:
    """The HTTP response to the upgrade request: the 101 (``ws.response``) or a
    rejection (``HandshakeError.response``)."""

    status: int
    #: (name, value) pairs in the order received; ``headers["name"]`` works too, case-insensitively.
    headers: "Headers"
    #: A rejection's first bytes of body (up to 4 KiB); b"" for the 101.
    body: bytes = b""

    @property
    def status_code(self) -> int:
        """The status (websockets' name for it)."""
        return self.status


class Headers(List[Tuple[str, str]]):
    """Header lines as (name, value) pairs; ``h["Name"]`` (case-insensitive)
    gives the first value, ``h.get_all("Name")`` every one."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for name, value in self:
                if name.lower() == key.lower():
                    return value
            raise KeyError(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        try:
            return self[key]  # type: ignore[no-any-return,unused-ignore]
        except KeyError:
            return default

    def get_all(self, key: str) -> List[str]:
        return [v for n, v in self if n.lower() == key.lower()]


class PongWaiter(threading.Event):
    """What ``ping()`` returns: set when the pong arrives (``rtt`` is then its
    round trip in seconds), or when the connection ends first (``error`` is
    then a ``ConnectionClosed``). ``wait(timeout)`` as ``threading.Event``'s;
    ``result(timeout)`` returns the RTT or raises."""

    def __init__(self, ws: "WebSocket", payload: bytes) -> None:
        super().__init__()
        self.payload = payload
        self.rtt: Optional[float] = None
        self.error: Optional[errors.WebSocketError] = None
        self._sent = time.monotonic()
        self._ws = weakref.ref(ws)
        self._done: List[Callable[["PongWaiter"], Any]] = []

    def _resolve(self, rtt: Optional[float], error: Optional[errors.WebSocketError] = None) -> None:
        self.rtt = (time.monotonic() - self._sent) if rtt is None and error is None else rtt
        self.error = error
        self.set()
        for fn in self._done:
            fn(self)

    def wait(self, timeout: Optional[float] = None) -> bool:
        ws = self._ws()
        if ws is None or not ws._events_q:
            return super().wait(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        return ws._wait_for(self.is_set, deadline)  # pull mode: read events while waiting

    def result(self, timeout: Optional[float] = None) -> float:
        """The round-trip time in seconds; raises ``Timeout`` or ``ConnectionClosed``."""
        if not self.wait(timeout):
            raise errors.Timeout(f"no pong within {timeout} s")
        if self.error is not None:
            raise self.error
        assert self.rtt is not None
        return self.rtt


def _slice(deadline: Optional[float]) -> float:
    """How long one wait may take: at most 0.1 s, so that Ctrl-C stays prompt."""
    return 0.1 if deadline is None else min(0.1, max(0.0, deadline - time.monotonic()))
_BATCH = 64  # events per poll in pull mode

# Live connections by handle. Weak, so that a WebSocket nobody holds is
# collected (and its __del__ frees the handle); the trampoline looks the
# object up for each event.
_live: "Dict[int, weakref.ReferenceType[WebSocket]]" = {}
_live_lock = threading.Lock()


@native.CALLBACK
def _trampoline(event: Any, _user_data: Any) -> None:
    # Runs on the connection's worker thread. Never let anything escape into C.
    try:
        ev = event.contents
        ref = _live.get(ev.handle)
        ws = ref() if ref is not None else None
        if ws is not None:
            ws._worker = threading.get_ident()  # the connection's worker thread
            ws._on_event(ev)
    except BaseException:  # noqa: BLE001 - nothing may cross into C
        log.exception("wsclient: error while delivering an event")


@atexit.register
def _free_all() -> None:
    # At interpreter exit, release every handle while Python can still run
    # callbacks: once ws_free returns, C never calls back again.
    with _live_lock:
        handles = list(_live)
        _live.clear()
    for h in handles:
        native.lib.ws_free(h)
    _logging.uninstall()


Callback = Callable[..., Any]


class _CallbackAttribute:
    """An ``on_*`` attribute. Setting one (not None) on a WebSocket that is
    read with ``recv()`` switches it to callbacks, for good."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, ws: "Optional[WebSocket]", owner: type) -> Optional[Callback]:
        return None if ws is None else ws.__dict__.get(self.slot)

    def __set__(self, ws: "WebSocket", callback: Optional[Callback]) -> None:
        if self.slot == "_on_ping" and callback is not None and not ws.__dict__.get("_ping_events"):
            raise errors.InvalidState("on_ping must be given to WebSocket() or connect(): it turns the "
                                      "library's ping events on")
        ws.__dict__[self.slot] = callback
        if callback is not None:
            ws._to_callbacks()


class WebSocket:
    """A WebSocket connection that stays connected.

    Creating one starts connecting at once, on the connection's own worker
    thread, like the browser's ``new WebSocket(url)``. Bad URLs and options
    raise here, never later.

    Callbacks (keyword arguments or attributes) run **on the connection's
    worker thread**, one at a time, in order; keep them short. An exception
    raised in one is logged (logger ``wsclient``) with its traceback and the
    connection goes on:

    - ``on_open(ws)``: open, first time or after a reconnect (``ws.stats.reconnects`` tells);
    - ``on_message(ws, message)``: ``str`` for text, ``bytes`` for binary;
    - ``on_error(ws, error)``: a ``WebSocketError`` subclass (``HandshakeError``, ``TLSError``, ...);
    - ``on_reconnecting(ws, attempt, delay, error)``: before each wait for a reconnect (delay in s);
      ``error.close_code``, ``error.close_reason`` and ``error.close_was_clean`` tell how the
      connection that ended closed (a server close is an error of kind ``NONE``);
    - ``on_ping(ws, payload)``: the server pinged (``bytes``; the library has answered it).
      Give it to the constructor: it turns the library's ping events on;
    - ``on_pong(ws, payload)``: a pong arrived (``bytes``), for the heartbeat's pings, for
      ``ping()``'s, or unasked; ``ws.last_rtt`` is the round trip of the last answered ping;
    - ``on_close(ws, code, reason)``: closed for good; always the last call.

    Without ``on_message``, messages wait for ``recv()`` or iteration. A
    ``WebSocket`` with no callback at all is read by the thread that calls
    ``recv()``/``wait_open()``, in batches, with no thread switch into Python
    (the fast path); assigning a callback later switches it to callbacks,
    keeping the order of events.

    Options (``wsclient.Options``) have the C API's names, with times in
    seconds. An option not given (None) is not passed to the library, which
    then uses its own default: the ``WS_DEFAULT_*`` of wsclient.h (e.g.
    ``connect_timeout`` 10 s, ``ping_interval`` 30 s, ``reconnect`` on).
    ``queue_limit`` and ``queue_limit_bytes`` are the send queue's limits in
    messages and bytes. TLS: ``ssl`` takes an ``ssl.SSLContext`` or a
    mapping of its options (``cafile``/``ca_certs``, ``cadata``,
    ``certfile``, ``keyfile``, ``password``, ``server_hostname``,
    ``check_hostname``, ``cert_reqs``), besides ``ca_file``,
    ``client_cert`` and ``insecure``.
    """

    on_open = _CallbackAttribute()
    on_message = _CallbackAttribute()
    on_error = _CallbackAttribute()
    on_close = _CallbackAttribute()
    on_reconnecting = _CallbackAttribute()
    on_pong = _CallbackAttribute()
    on_ping = _CallbackAttribute()

    def __init__(self, url: str, **options: "Unpack[Options]") -> None:
        check_names("WebSocket()", options)
        self._handle = 0
        self._url = url
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._opened = threading.Event()
        self._closed = threading.Event()
        self._changed = threading.Condition()  # notified on open, error, pong, reconnecting, close
        self._ever_opened = False
        self._protocol: Optional[str] = None
        self._extensions = ""
        self._close_info: Tuple[Optional[int], str] = (None, "")
        self._last_error: Optional[errors.WebSocketError] = None
        self._error_since_open = False
        self._ended_by_error = False
        self._worker: Optional[int] = None
        self._final_stats: Optional[Stats] = None
        self._lock = threading.RLock()
        self._pull_lock = threading.Lock()
        self._events_q = 0  # the event queue while read with recv(); 0 with callbacks
        self._batch = (native.Event * _BATCH)()
        self._count = ctypes.c_size_t(0)
        self._pings: List[PongWaiter] = []
        self._pings_lock = threading.Lock()
        self._raise_on_disconnect = bool(options.get("raise_on_disconnect"))
        self._marker_sink: Optional[Callable[[Any], Any]] = None  # where Disconnected goes (aio sets it)
        self._ping_events = options.get("on_ping") is not None
        #: Round-trip time in seconds of the last pong that answered one of our pings (None before).
        self.last_rtt: Optional[float] = None
        #: The response to the upgrade (status 101, headers) once open, else None.
        self.response: Optional[Response] = None
        callbacks = [options.get(name) for name in CALLBACKS]
        for name, cb in zip(CALLBACKS, callbacks):
            setattr(self, name, cb)

        _logging.sync()
        lib = native.lib
        cfg = ctypes.c_uint64(0)
        check(lib.ws_config_new(ctypes.byref(cfg)))
        try:
            configure(lib, cfg.value, url, options)
            handle = ctypes.c_uint64(0)
            check(lib.ws_create_with_config(cfg.value, ctypes.byref(handle)))
        finally:
            lib.ws_config_free(cfg.value)
        self._handle = handle.value
        with _live_lock:
            _live[self._handle] = weakref.ref(self)
        # The delivery mode: callbacks if any was given, else the caller's
        # thread reads an event queue (until a callback is set). Events that
        # happened since ws_create were kept; they arrive now.
        if any(cb is not None for cb in callbacks):
            check(lib.ws_set_callback(self._handle, _trampoline, None))
        else:
            q = ctypes.c_uint64(0)
            check(lib.ws_queue_new(ctypes.byref(q)))
            self._events_q = q.value
            check(lib.ws_queue_attach(self._handle, self._events_q))

    def _to_callbacks(self) -> None:
        # Pull mode -> callbacks, in order: park new events in the library,
        # hand over what the queue already holds, then let the worker deliver
        # the parked ones (newer) to the callback. Nothing to do before the
        # handle exists or once in callback mode.
        with self._pull_lock:
            q, self._events_q = self._events_q, 0
            if not q or not self._handle:
                return
            check(native.lib.ws_set_callback(self._handle, native.CALLBACK(), None))  # NULL: park events
            # Oldest first: messages already taken from the event queue, then
            # what it still holds, then (from the worker) the parked events.
            if self.on_message is not None:
                for item in self._take_all():
                    if item is _CLOSED:
                        self._queue.put(item)
                    else:
                        self._fire("on_message", item)
            while self._pull_batch(q, 0):
                pass
            native.lib.ws_queue_free(q)
            check(native.lib.ws_set_callback(self._handle, _trampoline, None))

    def _pull_batch(self, q: int, timeout_ms: int) -> int:
        """Pull mode: take one batch of events from the queue and handle them here."""
        check(native.lib.ws_queue_poll(q, self._batch, _BATCH, timeout_ms, ctypes.byref(self._count)))
        n = self._count.value
        for i in range(n):
            self._on_event(self._batch[i])
        return n

    def _pull(self, deadline: Optional[float]) -> None:
        """Pull mode: wait for events (at most 0.1 s, so Ctrl-C stays prompt). Else nothing."""
        with self._pull_lock:
            if self._events_q:
                self._pull_batch(self._events_q, int(_slice(deadline) * 1000))

    def _take_all(self) -> List[Any]:
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    # --- events (worker thread) ----------------------------------------------------------------

    def _on_event(self, ev: native.Event) -> None:
        t = ev.type
        if t == _c.WS_EVENT_MESSAGE:
            data = ctypes.string_at(ev.data, ev.len) if ev.len else b""
            msg: Message = data if ev.is_binary else data.decode("utf-8")
            if self.on_message is not None:
                self._fire("on_message", msg)
            else:
                self._queue.put(msg)
            return
        if t == _c.WS_EVENT_OPEN:
            self._protocol = (ev.protocol or b"").decode() or None
            self._extensions = native.read_buffer(native.lib.ws_extensions, self._handle).decode("latin-1")
            self.response = self._read_response(with_body=False)
            self._ever_opened = True
            self._error_since_open = False
            self._opened.set()
            self._notify()
            self._fire("on_open")
        elif t == _c.WS_EVENT_PONG:
            payload = ctypes.string_at(ev.data, ev.len) if ev.len else b""
            rtt = ev.rtt_us / 1e6 if ev.rtt_us else None
            if rtt is not None:
                self.last_rtt = rtt
            self._pong(payload, rtt)
            self._notify()
            self._fire("on_pong", payload)
        elif t == _c.WS_EVENT_PING:
            self._fire("on_ping", ctypes.string_at(ev.data, ev.len) if ev.len else b"")
        elif t == _c.WS_EVENT_ERROR:
            err = errors.from_event(ev.error_kind, (ev.message or b"").decode("utf-8", "replace"), ev.http_status)
            if isinstance(err, errors.HandshakeError):
                err.response = self._read_response(with_body=True)
            self._last_error = err
            self._error_since_open = True
            self._notify()
            self._fire("on_error", err)
        elif t == _c.WS_EVENT_RECONNECTING:
            was_open = self._opened.is_set()
            self._opened.clear()
            err = errors.from_event(ev.error_kind, (ev.message or b"").decode("utf-8", "replace"))
            # How the connection that ended closed (1006, "" and False without a handshake).
            err.close_code, err.close_reason, err.close_was_clean = ev.code, _reason(ev), bool(ev.was_clean)
            self._fail_pings("the connection ended before the pong arrived", ev.code, err.close_reason)
            if was_open and self._raise_on_disconnect:
                marker = Disconnected(ev.code, err.close_reason, err)
                if self._marker_sink is not None:
                    self._marker_sink(marker)
                elif self.on_message is None:
                    self._queue.put(marker)
            self._notify()
            self._fire("on_reconnecting", ev.attempt, ev.delay_ms / 1000, err)
        elif t == _c.WS_EVENT_CLOSE:
            self._close_info = (ev.code, _reason(ev))
            self._ended_by_error = self._error_since_open and not ev.was_clean
            self._opened.clear()
            self._closed.set()
            self._fail_pings("the connection closed before the pong arrived", ev.code, self._close_info[1])
            self._queue.put(_CLOSED)
            self._notify()
            self._fire("on_close", ev.code, self._close_info[1])

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _pong(self, payload: bytes, rtt: Optional[float]) -> None:
        """Resolve the ping() waiting for this payload, and the earlier ones (a pong answers them too)."""
        with self._pings_lock:
            for i, w in enumerate(self._pings):
                if w.payload == payload:
                    done, self._pings = self._pings[:i + 1], self._pings[i + 1:]
                    break
            else:
                return
        for w in done[:-1]:
            w._resolve(None)
        done[-1]._resolve(rtt)

    def _fail_pings(self, why: str, code: Optional[int], reason: str) -> None:
        with self._pings_lock:
            waiting, self._pings = self._pings, []
        for w in waiting:
            w._resolve(None, errors.ConnectionClosed(why, code=code, reason=reason))

    def _read_response(self, with_body: bool) -> Optional[Response]:
        """The last handshake response, as the library keeps it (None without one)."""
        lib, h = native.lib, self._handle
        if not h:
            return None
        status = ctypes.c_uint16(0)
        if lib.ws_response_status(h, ctypes.byref(status)) != _c.WS_OK or not status.value:
            return None
        raw = native.read_buffer(lib.ws_response_headers, h).decode("latin-1")
        headers = Headers()
        for line in raw.split("\r\n"):
            if ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip(), value.strip()))
        body = native.read_buffer(lib.ws_response_body, h) if with_body else b""
        return Response(status.value, headers, body)

    def _fire(self, name: str, *args: Any) -> None:
        cb = getattr(self, name)
        if cb is None:
            return
        try:
            cb(self, *args)
        except Exception:
            log.exception("wsclient: exception in %s callback (the connection goes on)", name)

    # --- calls ---------------------------------------------------------------------------------

    def _live_handle(self) -> int:
        if not self._handle:
            code, reason = self._close_info
            raise errors.ConnectionClosed("the connection was closed", code=code, reason=reason, status=_c.WS_ERR_INVALID_HANDLE)
        return self._handle

    def send(self, data: Data) -> None:
        """Queue a message and return at once: ``str`` goes as text, anything
        bytes-like as binary. Sent while connecting or reconnecting, it goes
        out right after the next open, in order.

        Raises ``QueueFull``, ``MessageTooLarge``, ``NotConnected`` (when
        ``queue_while_disconnected=False``) or ``ConnectionClosed``.
        """
        if isinstance(data, str):
            buf, binary = data.encode("utf-8"), False
        elif isinstance(data, bytes):
            buf, binary = data, True
        elif isinstance(data, (bytearray, memoryview)):
            buf, binary = bytes(data), True
        else:
            raise TypeError(f"send() takes str or a bytes-like object, not {type(data).__name__}")
        status = native.lib.ws_send(self._live_handle(), buf, len(buf), binary)
        if status == _c.WS_ERR_CLOSED:
            code, reason = self._close_info
            raise errors.ConnectionClosed("the connection is closing or closed", code=code, reason=reason,
                                          status=status)
        check(status)

    def ping(self, payload: Union[str, bytes, None] = None) -> PongWaiter:
        """Send a ping now (ahead of queued messages) and return a ``PongWaiter``,
        an ``threading.Event`` set when its pong arrives: ``ws.ping().result(5)``
        is the round trip in seconds. ``payload`` (at most 125 bytes; ``str`` is
        sent as UTF-8) defaults to 4 random bytes. A pong answers its ping and
        every earlier one. Raises ``NotConnected`` while not open,
        ``ConnectionClosed``, or ``InvalidState`` if a ping with the same
        payload still waits for its pong.
        """
        data = os.urandom(4) if payload is None else payload.encode() if isinstance(payload, str) else bytes(payload)
        waiter = PongWaiter(self, data)
        with self._pings_lock:
            if any(w.payload == data for w in self._pings):
                raise errors.InvalidState("a ping with this payload already waits for its pong")
            self._pings.append(waiter)  # before the ping: its pong may come first
        status = native.lib.ws_ping(self._live_handle(), data, len(data))
        if status != _c.WS_OK:
            with self._pings_lock:
                if waiter in self._pings:
                    self._pings.remove(waiter)
            if status == _c.WS_ERR_CLOSED:
                code, reason = self._close_info
                raise errors.ConnectionClosed("the connection is closing or closed", code=code, reason=reason,
                                              status=status)
            check(status)
        return waiter

    def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message (``str`` or ``bytes``), waiting up to ``timeout``
        seconds (None: for ever). Raises ``Timeout``, or ``ConnectionClosed``
        once the connection has closed for good and every message was read.
        Across a reconnect ``recv()`` goes on with the next connection's
        messages, unless ``raise_on_disconnect=True``: then it raises
        ``ConnectionClosed`` (with the code and reason, ``reconnecting`` True)
        once for each open connection that ended, and the next ``recv()`` reads
        on. Ctrl-C interrupts the wait promptly.
        """
        if self.on_message is not None:
            raise errors.InvalidState("recv() is not available while on_message is set")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:  # read with recv(): what the last pull brought, else pull more
                item = self._queue.get(block=not self._events_q, timeout=_slice(deadline))
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise errors.Timeout(f"no message within {timeout} s") from None
                self._pull(deadline)
                continue
            if item is _CLOSED:
                self._queue.put(_CLOSED)  # every later recv() sees it too
                raise self._closed_error()
            if isinstance(item, Disconnected):
                raise item.exception()
            return item  # type: ignore[no-any-return]

    def _closed_error(self) -> errors.ConnectionClosed:
        code, reason = self._close_info
        return errors.ConnectionClosed(f"connection closed ({code} {reason})".strip(), code=code, reason=reason)

    def __iter__(self) -> Iterator[Message]:
        """Messages until ``recv()`` raises ``ConnectionClosed``: the connection
        closed for good (or, with ``raise_on_disconnect``, it dropped)."""
        while True:
            try:
                yield self.recv()
            except errors.ConnectionClosed:
                return

    def _wait_for(self, done: Callable[[], bool], deadline: Optional[float]) -> bool:
        """Wait until ``done()`` (reading events here in pull mode), at most
        until ``deadline``, in slices of 0.1 s so that Ctrl-C stays prompt."""
        if threading.get_ident() == self._worker and not done():
            raise errors.InvalidState("cannot wait for the connection inside one of its callbacks")
        while True:
            if self._events_q and not self._closed.is_set():
                if done():
                    return True
                self._pull(deadline)
            else:
                with self._changed:
                    if done():
                        return True
                    if deadline is not None and time.monotonic() >= deadline:
                        return False
                    self._changed.wait(_slice(deadline))
            if deadline is not None and time.monotonic() >= deadline:
                return done()

    def wait_open(self, timeout: Optional[float] = None) -> "WebSocket":
        """Wait until the connection is open, through failed attempts and
        reconnects. Raises ``Timeout`` (the last error as its ``__cause__``
        and in its message), or the error that ended the connection (e.g.
        ``HandshakeError``), or ``ConnectionClosed``. Returns ``self``.
        """
        return self._wait_open(timeout, fail_fast=False)

    def _wait_open(self, timeout: Optional[float], fail_fast: bool) -> "WebSocket":
        deadline = None if timeout is None else time.monotonic() + timeout

        def failed() -> bool:
            return fail_fast and not self._ever_opened and self._last_error is not None

        # Opened counts even if it closed again before this thread looked
        # (open, message and close can arrive together): recv() then gives
        # the message, then raises ConnectionClosed.
        self._wait_for(lambda: self._ever_opened or self._closed.is_set() or failed(), deadline)
        if self._ever_opened:
            return self
        err = self._last_error
        if failed() or (self._closed.is_set() and err is not None):
            assert err is not None
            raise err
        if self._closed.is_set():
            code, reason = self._close_info
            raise errors.ConnectionClosed("closed before it opened", code=code, reason=reason)
        why = f"last error: {type(err).__name__}: {err}" if err is not None else "no error yet: still connecting"
        raise errors.Timeout(f"not open within {timeout} s ({why})") from err

    def wait_closed(self, timeout: Optional[float] = None) -> None:
        """Wait until the connection is closed for good (``on_close`` has run):
        after ``close()``, a server close that no reconnect follows, or the
        last failed attempt. Raises ``Timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._wait_for(self._closed.is_set, deadline):
            raise errors.Timeout(f"not closed within {timeout} s")

    def run_forever(self) -> bool:
        """Block until the connection is closed for good, as websocket-client's
        ``WebSocketApp.run_forever()``: returns False when it closed normally
        (``close()``, or a close handshake no reconnect follows), True when an
        error ended it (the error went to ``on_error`` first). Ctrl-C closes
        the connection (``on_close`` runs) and raises ``KeyboardInterrupt``.
        Reconnecting, the heartbeat and their options are the connection's own
        (``WebSocket(..., ping_interval=, pong_timeout=, initial_delay=)``).
        """
        try:
            self._wait_for(self._closed.is_set, None)
        except KeyboardInterrupt:
            self.close()
            raise
        return self._ended_by_error

    def _start_close(self, code: int, reason: str) -> None:
        """Start the close handshake and return (the handle stays until ``close()``)."""
        with self._lock:
            if self._handle:
                status = native.lib.ws_close(self._handle, code, reason.encode() if reason else None)
                if status != _c.WS_ERR_CLOSED:
                    check(status)

    def close(self, code: int = 1000, reason: str = "", timeout: Optional[float] = 5.0) -> None:
        """Close: start the close handshake, wait for it (up to ``timeout``
        seconds; not when called from a callback), and release the handle.
        Calling it again does nothing. No reconnect follows a close.
        """
        with self._lock:
            handle = self._handle
            if not handle:
                return
            check(native.lib.ws_close(handle, code, reason.encode() if reason else None))
            if threading.get_ident() == self._worker:
                return  # inside a callback: the close event follows; __del__ frees
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._events_q and not self._closed.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._pull(deadline)
            self._closed.wait(timeout)
            self._final_stats = self._read_stats(handle)
            self._release()

    def _release(self) -> None:
        handle, self._handle = self._handle, 0
        if handle:
            with _live_lock:
                _live.pop(handle, None)
            native.lib.ws_free(handle)
        q, self._events_q = getattr(self, "_events_q", 0), 0
        if q:
            native.lib.ws_queue_free(q)

    def __del__(self) -> None:
        # Garbage-collected without close(): release without waiting.
        try:
            if self._handle:
                self._release()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __enter__(self) -> "WebSocket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def set_url(self, url: str) -> None:
        """Connect to ``url`` from the next (re)connection attempt on, e.g. with a fresh token."""
        check(native.lib.ws_set_url(self._live_handle(), url.encode()))
        self._url = url

    def set_header(self, name: str, value: str) -> None:
        """Send this header from the next (re)connection attempt on, replacing any of that name."""
        check(native.lib.ws_set_header(self._live_handle(), name.encode(), value.encode()))

    # --- queries -------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The connection state."""
        if not self._handle:
            return State.CLOSED
        out = ctypes.c_int32(0)
        check(native.lib.ws_state(self._handle, ctypes.byref(out)))
        return State(out.value)

    @property
    def buffered_amount(self) -> int:
        """Bytes sent with ``send`` and not yet written to the network."""
        if not self._handle:
            return self._final_stats.queued_bytes if self._final_stats else 0
        out = ctypes.c_uint64(0)
        check(native.lib.ws_buffered_amount(self._handle, ctypes.byref(out)))
        return out.value

    @staticmethod
    def _read_stats(handle: int) -> Stats:
        s = native.Stats()
        check(native.lib.ws_get_stats(handle, ctypes.byref(s)))
        raw = {f.name: getattr(s, f.name) for f in fields(Stats) if hasattr(s, f.name)}
        rtt, opened = s.last_rtt_us, s.last_open_unix_ms
        return Stats(**raw, last_rtt=rtt / 1e6 if rtt else None, last_open=opened / 1000 if opened else None)

    @property
    def stats(self) -> Stats:
        """A snapshot of the counters (the final ones after ``close``)."""
        if not self._handle:
            if self._final_stats is None:
                raise errors.InvalidHandle("the connection was released before its stats were read")
            return self._final_stats
        return self._read_stats(self._handle)

    @property
    def subprotocol(self) -> Optional[str]:
        """The subprotocol the server chose, or None."""
        return self._protocol

    @property
    def extensions(self) -> str:
        """The extensions agreed at the last open, as the browser's
        ``WebSocket.extensions`` shows them: "" for none, else e.g.
        "permessage-deflate; client_max_window_bits=12"."""
        return self._extensions

    @property
    def url(self) -> str:
        """The URL (as last set)."""
        return self._url

    @property
    def close_code(self) -> Optional[int]:
        """The close code once closed for good, else None."""
        return self._close_info[0]

    @property
    def close_reason(self) -> str:
        """The close reason once closed for good."""
        return self._close_info[1]

    def __repr__(self) -> str:
        return f"<wsclient.WebSocket {self._url} {self.state.name}>"


def connect(url: str, *, timeout: Optional[float] = 10.0, keep_trying: bool = False,
            **options: "Unpack[Options]") -> WebSocket:
    """Open a connection and wait until it is open (see ``WebSocket`` for
    the options). Use it as a context manager to close on exit::

        with wsclient.connect("ws://127.0.0.1:9001") as ws:
            ws.send("hello")
            print(ws.recv())

    A first connection that fails raises its error at once, as it would
    without reconnect: ``ConnectionRefused``, ``DNSError``, ``TLSError``,
    ``HandshakeError`` (``.status``, ``.response``), ... With
    ``keep_trying=True`` failed attempts are retried with the backoff until
    ``timeout``; the ``Timeout`` then carries the last error (as
    ``__cause__`` and in its message). Once open, reconnecting is the
    connection's business (the ``reconnect`` option).
    """
    check_names("connect()", options)
    ws = WebSocket(url, **options)
    try:
        return ws._wait_open(timeout, fail_fast=not keep_trying)
    except BaseException:
        ws.close(timeout=0)
        raise
