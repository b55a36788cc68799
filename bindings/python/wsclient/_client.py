"""The WebSocket class: options in, events out, over the C API."""

from __future__ import annotations

import atexit
import ctypes
import enum
import logging
import queue
import threading
import time
import weakref
from dataclasses import dataclass, fields
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _c
from . import _errors as errors
from . import _native as native
from ._errors import check
from ._options import OPTION_NAMES, configure

__all__ = ["WebSocket", "State", "Stats", "connect"]

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


Callback = Callable[..., Any]


class _CallbackAttribute:
    """An ``on_*`` attribute. Setting one (not None) on a WebSocket that is
    read with ``recv()`` switches it to callbacks, for good."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, ws: "Optional[WebSocket]", owner: type) -> Optional[Callback]:
        return None if ws is None else ws.__dict__.get(self.slot)

    def __set__(self, ws: "WebSocket", callback: Optional[Callback]) -> None:
        ws.__dict__[self.slot] = callback
        if callback is not None:
            ws._to_callbacks()


class WebSocket:
    """A WebSocket connection that stays connected.

    Creating one starts connecting at once, on the connection's own worker
    thread, like the browser's ``new WebSocket(url)``. Bad URLs and options
    raise here, never later.

    Callbacks (constructor arguments or attributes) run **on the connection's
    worker thread**, one at a time, in order; keep them short. An exception
    raised in one is logged (logger ``wsclient``) with its traceback and the
    connection goes on:

    - ``on_open(ws)``: open, first time or after a reconnect (``ws.stats.reconnects`` tells);
    - ``on_message(ws, message)``: ``str`` for text, ``bytes`` for binary;
    - ``on_error(ws, error)``: a ``WebSocketError`` subclass (``HandshakeError``, ``TLSError``, ...);
    - ``on_reconnecting(ws, attempt, delay, error)``: before each wait for a reconnect (delay in s);
      ``error.close_code``, ``error.close_reason`` and ``error.close_was_clean`` tell how the
      connection that ended closed (a server close is an error of kind ``NONE``);
    - ``on_pong(ws, rtt)``: a heartbeat ping was answered (rtt in s);
    - ``on_close(ws, code, reason)``: closed for good; always the last call.

    Without ``on_message``, messages wait for ``recv()`` or iteration. A
    ``WebSocket`` with no callback at all is read by the thread that calls
    ``recv()``/``wait_open()``, in batches, with no thread switch into Python
    (the fast path); assigning a callback later switches it to callbacks,
    keeping the order of events.

    Options have the C API's names, with times in seconds. An option not
    given (None) is not passed to the library, which then uses its own
    default: the ``WS_DEFAULT_*`` of wsclient.h (e.g. ``connect_timeout``
    10 s, ``ping_interval`` 30 s, ``reconnect`` on). ``queue_limit`` and
    ``queue_limit_bytes`` are the send queue's limits in messages and bytes.
    """

    on_open = _CallbackAttribute()
    on_message = _CallbackAttribute()
    on_error = _CallbackAttribute()
    on_close = _CallbackAttribute()
    on_reconnecting = _CallbackAttribute()
    on_pong = _CallbackAttribute()

    def __init__(
        self,
        url: str,
        *,
        headers: Optional[Union[Dict[str, str], Sequence[Tuple[str, str]]]] = None,
        subprotocols: Optional[Sequence[str]] = None,
        connect_timeout: Optional[float] = None,
        handshake_timeout: Optional[float] = None,
        receive_max_events: Optional[int] = None,
        receive_max_bytes: Optional[int] = None,
        max_frame_size: Optional[int] = None,
        close_timeout: Optional[float] = None,
        ping_interval: Optional[float] = None,
        pong_timeout: Optional[float] = None,
        ping_payload: Optional[str] = None,
        reconnect: Optional[bool] = None,
        initial_delay: Optional[float] = None,
        max_delay: Optional[float] = None,
        multiplier: Optional[float] = None,
        jitter: Optional[float] = None,
        max_attempts: Optional[int] = None,
        max_redirects: Optional[int] = None,
        min_uptime: Optional[float] = None,
        final_close_codes: Optional[Sequence[int]] = None,
        fatal_http_statuses: Optional[Sequence[int]] = None,
        queue_limit: Optional[int] = None,
        queue_limit_bytes: Optional[int] = None,
        queue_while_disconnected: Optional[bool] = None,
        max_message_size: Optional[int] = None,
        read_buffer_size: Optional[int] = None,
        ca_file: Optional[str] = None,
        client_cert: Optional[Tuple[str, str]] = None,
        insecure: Optional[bool] = None,
        seed: Optional[int] = None,
        on_open: Optional[Callback] = None,
        on_message: Optional[Callback] = None,
        on_error: Optional[Callback] = None,
        on_close: Optional[Callback] = None,
        on_reconnecting: Optional[Callback] = None,
        on_pong: Optional[Callback] = None,
    ) -> None:
        # Every C option by name (first, before other locals exist); None: not given.
        options = {k: v for k, v in locals().items() if k in OPTION_NAMES}
        self._handle = 0
        self._url = url
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._opened = threading.Event()
        self._closed = threading.Event()
        self._protocol: Optional[str] = None
        self._close_info: Tuple[Optional[int], str] = (None, "")
        self._last_error: Optional[errors.WebSocketError] = None
        self._worker: Optional[int] = None
        self._final_stats: Optional[Stats] = None
        self._lock = threading.RLock()
        self._pull_lock = threading.Lock()
        self._events_q = 0  # the event queue while read with recv(); 0 with callbacks
        self._batch = (native.Event * _BATCH)()
        self._count = ctypes.c_size_t(0)
        callbacks = (on_open, on_message, on_error, on_close, on_reconnecting, on_pong)
        self.on_open, self.on_message, self.on_error, self.on_close, self.on_reconnecting, self.on_pong = callbacks

        lib = native.lib
        cfg = ctypes.c_uint64(0)
        check(lib.ws_config_new(ctypes.byref(cfg)))
        try:
            configure(lib, cfg.value, url, headers, subprotocols, options)
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
        elif t == _c.WS_EVENT_OPEN:
            self._protocol = (ev.protocol or b"").decode() or None
            self._opened.set()
            self._fire("on_open")
        elif t == _c.WS_EVENT_PONG:
            self._fire("on_pong", ev.rtt_us / 1e6)
        elif t == _c.WS_EVENT_ERROR:
            err = errors.from_event(ev.error_kind, (ev.message or b"").decode("utf-8", "replace"), ev.http_status)
            self._last_error = err
            self._fire("on_error", err)
        elif t == _c.WS_EVENT_RECONNECTING:
            self._opened.clear()
            err = errors.from_event(ev.error_kind, (ev.message or b"").decode("utf-8", "replace"))
            # How the connection that ended closed (1006, "" and False without a handshake).
            err.close_code, err.close_reason, err.close_was_clean = ev.code, _reason(ev), bool(ev.was_clean)
            self._fire("on_reconnecting", ev.attempt, ev.delay_ms / 1000, err)
        elif t == _c.WS_EVENT_CLOSE:
            self._close_info = (ev.code, _reason(ev))
            self._opened.clear()
            self._closed.set()
            self._queue.put(_CLOSED)
            self._fire("on_close", ev.code, self._close_info[1])

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

    def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message (``str`` or ``bytes``), waiting up to ``timeout``
        seconds (None: for ever). Raises ``Timeout``, or ``ConnectionClosed``
        once the connection has closed for good and every message was read.
        Ctrl-C interrupts the wait promptly.
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
            return item  # type: ignore[no-any-return]

    def _closed_error(self) -> errors.ConnectionClosed:
        code, reason = self._close_info
        return errors.ConnectionClosed(f"connection closed ({code} {reason})".strip(), code=code, reason=reason)

    def __iter__(self) -> Iterator[Message]:
        """Messages until the connection closes for good."""
        while True:
            try:
                yield self.recv()
            except errors.ConnectionClosed:
                return

    def wait_open(self, timeout: Optional[float] = None) -> "WebSocket":
        """Wait until the connection is open. Raises ``Timeout``, or the
        error that ended the connection (e.g. ``HandshakeError``), or
        ``ConnectionClosed``. Returns ``self``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._opened.wait(0 if self._events_q else 0.1):
            if self._events_q and not self._closed.is_set():
                self._pull(deadline)
                if self._opened.is_set():
                    break
            if self._closed.is_set():
                if self._last_error is not None:
                    raise self._last_error
                code, reason = self._close_info
                raise errors.ConnectionClosed("closed before it opened", code=code, reason=reason)
            if deadline is not None and time.monotonic() >= deadline:
                raise errors.Timeout(f"not open within {timeout} s")
        return self

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


def connect(url: str, *, timeout: Optional[float] = 10.0, **options: Any) -> WebSocket:
    """Open a connection and wait until it is open (see ``WebSocket`` for
    the options). Use it as a context manager to close on exit::

        with wsclient.connect("ws://127.0.0.1:9001") as ws:
            ws.send("hello")
            print(ws.recv())
    """
    ws = WebSocket(url, **options)
    try:
        return ws.wait_open(timeout)
    except BaseException:
        ws.close(timeout=0)
        raise
