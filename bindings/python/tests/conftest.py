"""Test servers built with the `websockets` package, each on its own event
loop thread, on 127.0.0.1 with a free port."""

from __future__ import annotations

import asyncio
import http
import threading
from typing import Any, Awaitable, Callable, Iterator, Optional

import pytest
from websockets.asyncio.server import ServerConnection, serve

Handler = Callable[[ServerConnection], Awaitable[None]]


async def echo(ws: ServerConnection) -> None:
    """Echo every message; a text `!close CODE REASON` closes with that code."""
    async for msg in ws:
        if isinstance(msg, str) and msg.startswith("!close "):
            _, code, *reason = msg.split(" ", 2)
            await ws.close(int(code), reason[0] if reason else "")
            return
        await ws.send(msg)


class Server:
    """A websockets server that can be stopped, restarted on its port, and paused."""

    def __init__(self, handler: Handler = echo, process_request: Optional[Callable[..., Any]] = None,
                 **serve_options: Any) -> None:
        self.handler = handler
        self.process_request = process_request
        self.serve_options = serve_options  # ssl=, process_response=, subprotocols=, ...
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = 0
        self.server: Any = None
        self.connections = 0
        self.start()

    def _run(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)  # type: ignore[arg-type]

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        await self.handler(ws)

    def start(self) -> None:
        async def go() -> Any:
            return await serve(
                self._handle, "127.0.0.1", self.port, max_size=None, process_request=self.process_request,
                **self.serve_options,
            )

        self.server = self._run(go())
        self.port = self.server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def go() -> None:
            self.server.close()
            await self.server.wait_closed()

        self._run(go())

    def pause(self, until: threading.Event, limit: float = 30) -> None:
        """Block the server's loop until `until` is set (at most `limit` s):
        it answers nothing, pings included."""
        self.loop.call_soon_threadsafe(until.wait, limit)

    @property
    def url(self) -> str:
        return f"{'wss' if self.serve_options.get('ssl') else 'ws'}://127.0.0.1:{self.port}"

    def shutdown(self) -> None:
        try:
            self.stop()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            if not self.thread.is_alive():
                self.loop.close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.shutdown()


def reject(status: int) -> Callable[..., Any]:
    """A process_request hook that refuses the upgrade with `status`."""

    def process_request(connection: Any, request: Any) -> Any:
        return connection.respond(http.HTTPStatus(status), "go away\n")

    return process_request


@pytest.fixture
def make_server() -> Iterator[Callable[..., Server]]:
    made = []

    def make(handler: Handler = echo, process_request: Optional[Callable[..., Any]] = None,
             **serve_options: Any) -> Server:
        s = Server(handler, process_request, **serve_options)
        made.append(s)
        return s

    yield make
    for s in made:
        s.shutdown()


def task_count() -> int:
    """Threads of this process, Rust worker threads included."""
    import os

    return len(os.listdir("/proc/self/task"))
