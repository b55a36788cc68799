"""asyncio adapter: the same connection, awaited.

Events are handed to the event loop with ``call_soon_threadsafe`` and the
loop is never blocked: sends only enqueue, and waits are awaits::

    async with wsclient.aio.connect("ws://127.0.0.1:9001") as ws:
        await ws.send("hello")
        async for message in ws:
            print(message)
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Optional

from . import _client
from ._errors import ConnectionClosed, WebSocketError

__all__ = ["WebSocket", "connect"]

_CLOSED = object()


class WebSocket:
    """An asyncio WebSocket over ``wsclient.WebSocket``; same options.

    Callbacks are not used here: ``recv()`` / ``async for`` give messages,
    ``wait_open()`` waits for an open, and ``on_reconnecting`` / ``on_error``
    style notifications can still be passed as options; they run on the
    worker thread.
    """

    def __init__(self, url: str, **options: Any) -> None:
        self._loop = asyncio.get_running_loop()
        self._messages: "asyncio.Queue[Any]" = asyncio.Queue()
        self._open = asyncio.Event()
        self._closed = asyncio.Event()
        self._error: Optional[WebSocketError] = None
        user_open = options.pop("on_open", None)
        user_error = options.pop("on_error", None)
        user_close = options.pop("on_close", None)
        call = self._loop.call_soon_threadsafe

        def on_open(ws: _client.WebSocket) -> None:
            call(self._open.set)
            if user_open:
                user_open(ws)

        def on_message(ws: _client.WebSocket, msg: _client.Message) -> None:
            call(self._messages.put_nowait, msg)

        def on_error(ws: _client.WebSocket, err: WebSocketError) -> None:
            self._error = err
            if user_error:
                user_error(ws, err)

        def on_close(ws: _client.WebSocket, code: int, reason: str) -> None:
            call(self._messages.put_nowait, _CLOSED)
            call(self._closed.set)
            if user_close:
                user_close(ws, code, reason)

        self.sync = _client.WebSocket(
            url, on_open=on_open, on_message=on_message, on_error=on_error, on_close=on_close, **options
        )

    async def wait_open(self, timeout: Optional[float] = None) -> "WebSocket":
        """Wait until open; raises the error that ended the connection, or ``ConnectionClosed``."""
        opened = asyncio.ensure_future(self._open.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            done, _ = await asyncio.wait({opened, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
            closed.cancel()
        if self._open.is_set():
            return self
        if not done:
            raise asyncio.TimeoutError(f"not open within {timeout} s")
        if self._error is not None:
            raise self._error
        raise ConnectionClosed("closed before it opened", code=self.sync.close_code, reason=self.sync.close_reason)

    async def send(self, data: _client.Data) -> None:
        """Queue a message (never blocks the loop)."""
        self.sync.send(data)

    async def recv(self) -> _client.Message:
        """The next message; ``ConnectionClosed`` once closed for good."""
        item = await self._messages.get()
        if item is _CLOSED:
            self._messages.put_nowait(_CLOSED)
            raise ConnectionClosed("connection closed", code=self.sync.close_code, reason=self.sync.close_reason)
        return item  # type: ignore[no-any-return]

    def __aiter__(self) -> AsyncIterator[_client.Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[_client.Message]:
        while True:
            try:
                yield await self.recv()
            except ConnectionClosed:
                return

    async def close(self, code: int = 1000, reason: str = "", timeout: float = 5.0) -> None:
        """Close and wait for the close handshake (up to ``timeout`` s), without blocking the loop."""
        if self.sync.state != _client.State.CLOSED:
            self.sync.close(code, reason, timeout=0)
            try:
                await asyncio.wait_for(self._closed.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        self.sync.close(timeout=0)

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


class connect:  # noqa: N801 - used as `async with connect(...)` and `await connect(...)`
    """Open a connection and wait until it is open: ``async with
    wsclient.aio.connect(url) as ws:`` or ``ws = await wsclient.aio.connect(url)``."""

    def __init__(self, url: str, *, timeout: Optional[float] = 10.0, **options: Any) -> None:
        self._url, self._timeout, self._options = url, timeout, options
        self._ws: Optional[WebSocket] = None

    async def _open(self) -> WebSocket:
        ws = WebSocket(self._url, **self._options)
        try:
            return await ws.wait_open(self._timeout)
        except BaseException:
            await ws.close(timeout=0.1)
            raise

    def __await__(self) -> Any:
        return self._open().__await__()

    async def __aenter__(self) -> WebSocket:
        self._ws = await self._open()
        return self._ws

    async def __aexit__(self, *exc: Any) -> None:
        if self._ws is not None:
            await self._ws.close()
