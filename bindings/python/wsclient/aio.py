"""asyncio adapter: the same connection, awaited.

Events are handed to the event loop with ``call_soon_threadsafe`` and the
loop is never blocked: waits are awaits, and ``send()`` only waits while
the send queue is above its high-water mark (``write_limit``)::

    async with wsclient.aio.connect("ws://127.0.0.1:9001") as ws:
        await ws.send("hello")
        async for message in ws:
            print(message)
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Generator, Optional, Tuple, Union

from . import _client
from ._errors import ConnectionClosed, Timeout, WebSocketError
from ._options import ConnectionOptions, check_names

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = ["WebSocket", "connect", "DEFAULT_WRITE_LIMIT"]

_CLOSED = object()
_NAMES = frozenset(ConnectionOptions.__required_keys__ | ConnectionOptions.__optional_keys__)

#: ``send()`` waits while more than this many bytes wait to be sent, until a
#: quarter of it is left (websockets' ``write_limit`` is the same idea).
DEFAULT_WRITE_LIMIT = 1 << 20
WriteLimit = Union[int, Tuple[int, int], None]


def _marks(write_limit: WriteLimit) -> Tuple[Optional[int], int]:
    if write_limit is None:
        return None, 0
    if isinstance(write_limit, tuple):
        high, low = write_limit
        return high, (high // 4 if low is None else low)
    return write_limit, write_limit // 4


class WebSocket:
    """An asyncio WebSocket over ``wsclient.WebSocket``; same options (but
    ``on_message``: messages are read with ``recv()`` / ``async for``).

    ``write_limit``: ``send()`` waits while more than this many bytes are
    queued, until a quarter of it is left (or a ``(high, low)`` pair; None:
    never wait). Callbacks given as options (``on_open``, ``on_error``,
    ``on_reconnecting``, ``on_pong``, ...) run on the worker thread and
    receive the ``sync`` object.
    """

    def __init__(self, url: str, *, write_limit: WriteLimit = DEFAULT_WRITE_LIMIT,
                 **options: "Unpack[ConnectionOptions]") -> None:
        check_names("wsclient.aio.WebSocket()", options, _NAMES)
        self._loop = asyncio.get_running_loop()
        self._messages: "asyncio.Queue[Any]" = asyncio.Queue()
        self._open = asyncio.Event()
        self._closed = asyncio.Event()
        self._error: Optional[WebSocketError] = None
        self._high, self._low = _marks(write_limit)
        opts: Any = dict(options)
        user_open = opts.pop("on_open", None)
        user_error = opts.pop("on_error", None)
        user_close = opts.pop("on_close", None)
        call = self._loop.call_soon_threadsafe

        def on_open(ws: _client.WebSocket) -> None:
            call(self._open.set)
            if user_open:
                user_open(ws)

        def on_message(ws: _client.WebSocket, msg: _client.Message) -> None:
            call(self._messages.put_nowait, msg)

        def on_error(ws: _client.WebSocket, err: WebSocketError) -> None:
            self._error = err
            call(self._open.set)  # wakes wait_open, which looks at the error
            if user_error:
                user_error(ws, err)

        def on_close(ws: _client.WebSocket, code: int, reason: str) -> None:
            call(self._messages.put_nowait, _CLOSED)
            call(self._closed.set)
            if user_close:
                user_close(ws, code, reason)

        self.sync = _client.WebSocket(
            url, on_open=on_open, on_message=on_message, on_error=on_error, on_close=on_close, **opts
        )
        self.sync._marker_sink = lambda marker: call(self._messages.put_nowait, marker)

    async def wait_open(self, timeout: Optional[float] = None) -> "WebSocket":
        """Wait until open, through failed attempts and reconnects; raises
        the error that ended the connection, ``ConnectionClosed``, or
        ``Timeout`` with the last error as its cause."""
        return await self._wait_open(timeout, fail_fast=False)

    async def _wait_open(self, timeout: Optional[float], fail_fast: bool) -> "WebSocket":
        deadline = None if timeout is None else self._loop.time() + timeout
        sync = self.sync

        def failed() -> bool:
            return fail_fast and not sync._ever_opened and sync._last_error is not None

        def settled() -> bool:
            # Opened counts even if it closed again since (see WebSocket._wait_open).
            return sync._ever_opened or sync._closed.is_set() or failed()

        while not settled():
            left = None if deadline is None else deadline - self._loop.time()
            if left is not None and left <= 0:
                err = sync._last_error
                why = f"last error: {type(err).__name__}: {err}" if err is not None else "no error yet"
                raise Timeout(f"not open within {timeout} s ({why})") from err
            self._open.clear()  # set (on the loop) after each open or error
            if settled():
                break
            opened = asyncio.ensure_future(self._open.wait())
            closed = asyncio.ensure_future(self._closed.wait())
            try:
                await asyncio.wait({opened, closed}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                opened.cancel()
                closed.cancel()
        if sync._ever_opened:
            return self
        if sync._last_error is not None:
            raise sync._last_error
        raise ConnectionClosed("closed before it opened", code=sync.close_code, reason=sync.close_reason)

    async def send(self, data: _client.Data) -> None:
        """Queue a message; while more than ``write_limit`` bytes wait to be
        sent (a slow network, or a reconnect under way), wait until the queue
        is down to the low-water mark. Never blocks the loop."""
        self.sync.send(data)
        if self._high is not None and self.sync.buffered_amount > self._high:
            delay = 0.0005
            while self.sync.buffered_amount > self._low:
                if self.sync.state == _client.State.CLOSED:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.02)

    async def recv(self) -> _client.Message:
        """The next message; ``ConnectionClosed`` once closed for good (or,
        with ``raise_on_disconnect``, when an open connection ends)."""
        item = await self._messages.get()
        if item is _CLOSED:
            self._messages.put_nowait(_CLOSED)
            raise ConnectionClosed("connection closed", code=self.sync.close_code, reason=self.sync.close_reason)
        if isinstance(item, _client.Disconnected):
            raise item.exception()
        return item  # type: ignore[no-any-return]

    def __aiter__(self) -> AsyncIterator[_client.Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[_client.Message]:
        while True:
            try:
                yield await self.recv()
            except ConnectionClosed:
                return

    async def ping(self, data: Union[str, bytes, None] = None) -> "Awaitable[float]":
        """Send a ping; returns an awaitable of the round trip in seconds, as
        websockets' ``ping()``: ``rtt = await (await ws.ping())``. It raises
        ``ConnectionClosed`` if the connection ends first."""
        fut: "asyncio.Future[float]" = self._loop.create_future()

        def settle(w: _client.PongWaiter) -> None:
            if not fut.done():
                if w.error is not None:
                    fut.set_exception(w.error)
                else:
                    fut.set_result(w.rtt or 0.0)

        waiter = self.sync.ping(data)
        waiter._done.append(lambda w: self._loop.call_soon_threadsafe(settle, w))
        if waiter.is_set():
            settle(waiter)
        return fut

    async def wait_closed(self, timeout: Optional[float] = None) -> None:
        """Wait until the connection is closed for good; ``Timeout`` after ``timeout`` s."""
        try:
            await asyncio.wait_for(self._closed.wait(), timeout)
        except asyncio.TimeoutError:
            raise Timeout(f"not closed within {timeout} s") from None

    async def close(self, code: int = 1000, reason: str = "", timeout: float = 5.0) -> None:
        """Close and wait for the close handshake (up to ``timeout`` s), without blocking the loop."""
        if self.sync.state != _client.State.CLOSED:
            self.sync._start_close(code, reason)  # the close event follows; the handle stays until then
            try:
                await asyncio.wait_for(self._closed.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        self.sync.close(timeout=0)
        self._closed.set()  # released: no event comes any more

    async def __aenter__(self) -> "WebSocket":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def state(self) -> _client.State:
        """The connection state."""
        return self.sync.state

    @property
    def stats(self) -> _client.Stats:
        """A snapshot of the counters."""
        return self.sync.stats

    @property
    def subprotocol(self) -> Optional[str]:
        """The negotiated subprotocol, or None."""
        return self.sync.subprotocol

    @property
    def extensions(self) -> str:
        """The extensions agreed at the last open ("" for none)."""
        return self.sync.extensions

    @property
    def response(self) -> Optional[_client.Response]:
        """The response to the upgrade (status 101, headers) once open."""
        return self.sync.response

    @property
    def last_rtt(self) -> Optional[float]:
        """Round trip of the last answered ping, in seconds."""
        return self.sync.last_rtt

    @property
    def close_code(self) -> Optional[int]:
        """The close code once closed for good."""
        return self.sync.close_code

    @property
    def close_reason(self) -> str:
        """The close reason once closed for good."""
        return self.sync.close_reason


class connect:  # noqa: N801 - used as `async with connect(...)` and `await connect(...)`
    """Open a connection and wait until it is open: ``async with
    wsclient.aio.connect(url) as ws:`` or ``ws = await wsclient.aio.connect(url)``.
    A failed first connection raises its error at once (``keep_trying=True``:
    retry until ``timeout``), as ``wsclient.connect``."""

    def __init__(self, url: str, *, timeout: Optional[float] = 10.0, keep_trying: bool = False,
                 write_limit: WriteLimit = DEFAULT_WRITE_LIMIT, **options: "Unpack[ConnectionOptions]") -> None:
        check_names("wsclient.aio.connect()", options, _NAMES)
        self._url, self._timeout, self._keep_trying, self._options = url, timeout, keep_trying, options
        self._write_limit = write_limit
        self._ws: Optional[WebSocket] = None

    async def _connect(self) -> WebSocket:
        ws = WebSocket(self._url, write_limit=self._write_limit, **self._options)
        try:
            return await ws._wait_open(self._timeout, fail_fast=not self._keep_trying)
        except BaseException:
            await ws.close(timeout=0.1)
            raise

    def __await__(self) -> Generator[Any, None, WebSocket]:
        return self._connect().__await__()

    async def __aenter__(self) -> WebSocket:
        self._ws = await self._connect()
        return self._ws

    async def __aexit__(self, *exc: Any) -> None:
        if self._ws is not None:
            await self._ws.close()
