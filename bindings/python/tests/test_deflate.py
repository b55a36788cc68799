"""permessage-deflate against the `websockets` server, which compresses by
default: what is agreed, compressed echoes with and without context
takeover, the option that turns it off, and a decompression bomb."""

from __future__ import annotations

import json
import threading
from typing import Any, List

import pytest
from conftest import Server
from websockets.asyncio.server import ServerConnection
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory

import wsclient


def json_like(n: int) -> str:
    """Text that compresses well, about `n` bytes."""
    rows: List[Any] = []
    size = 0
    i = 0
    while size < n:
        row = {"seq": i, "price": 100 + i % 7, "side": "buy" if i % 2 else "sell", "venue": "X"}
        rows.append(row)
        size += len(json.dumps(row)) + 1
        i += 1
    return json.dumps(rows)


class Recorder:
    """An echo handler that keeps the extensions the server agreed to and the
    close code it saw."""

    def __init__(self) -> None:
        self.extensions: List[Any] = []
        self.close_code: Any = None
        self.closed = threading.Event()

    async def __call__(self, ws: ServerConnection) -> None:
        self.extensions = list(ws.protocol.extensions)
        try:
            async for msg in ws:
                await ws.send(msg)
        finally:
            self.close_code = ws.close_code
            self.closed.set()


def echo_all(ws: wsclient.WebSocket, messages: List[Any]) -> None:
    for m in messages:
        ws.send(m)
        assert ws.recv(timeout=30) == m


def test_compressed_echo_with_the_default_server():
    rec = Recorder()
    server = Server(rec)
    try:
        with wsclient.connect(server.url) as ws:
            assert ws.extensions.startswith("permessage-deflate"), ws.extensions
            echo_all(ws, [json_like(16 << 10), json_like(100), b"\x00" * (1 << 20), "é" * 3000, ""])
        [ext] = rec.extensions
        assert isinstance(ext, PerMessageDeflate)
    finally:
        server.shutdown()


def test_compressed_echo_without_context_takeover():
    rec = Recorder()
    factory = ServerPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True)
    server = Server(rec, compression=None, extensions=[factory])
    try:
        with wsclient.connect(server.url, deflate_client_no_context_takeover=True) as ws:
            assert ws.extensions == "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
            echo_all(ws, [json_like(8000) for _ in range(5)])
        [ext] = rec.extensions
        assert ext.local_no_context_takeover and ext.remote_no_context_takeover
    finally:
        server.shutdown()


def test_small_windows_are_asked_and_honoured():
    rec = Recorder()
    server = Server(rec)
    try:
        with wsclient.connect(server.url, deflate_server_max_window_bits=10,
                              deflate_client_max_window_bits=11) as ws:
            assert "server_max_window_bits=10" in ws.extensions, ws.extensions
            assert "client_max_window_bits=11" in ws.extensions, ws.extensions
            echo_all(ws, [json_like(40 << 10) for _ in range(3)])
        [ext] = rec.extensions
        assert (ext.remote_max_window_bits, ext.local_max_window_bits) == (11, 10)
    finally:
        server.shutdown()


def test_off_means_not_offered():
    rec = Recorder()
    server = Server(rec)
    try:
        with wsclient.connect(server.url, permessage_deflate=False) as ws:
            assert ws.extensions == ""
            echo_all(ws, [json_like(4000)])
        assert rec.extensions == []
    finally:
        server.shutdown()


def test_a_decompression_bomb_is_message_too_large_and_close_1009():
    rec = Recorder()

    async def bomb(ws: ServerConnection) -> None:
        rec.extensions = list(ws.protocol.extensions)
        await ws.send(b"\x00" * (64 << 20))  # about 64 KiB on the wire
        try:
            await ws.wait_closed()
        finally:
            rec.close_code = ws.close_code
            rec.closed.set()

    server = Server(bomb)
    errors: List[Exception] = []
    try:
        ws = wsclient.WebSocket(server.url, max_message_size=1 << 20, reconnect=False,
                                on_error=lambda ws, e: errors.append(e))
        ws.run_forever()
        assert rec.extensions, "the server compressed nothing"
        assert any(isinstance(e, wsclient.MessageTooLarge) for e in errors), errors
        assert rec.closed.wait(10)
        assert rec.close_code == 1009
    finally:
        server.shutdown()


@pytest.mark.parametrize("bad", [{"deflate_level": 10}, {"deflate_client_max_window_bits": 7},
                                 {"deflate_server_max_window_bits": 16}])
def test_bad_options_are_refused(bad):
    with pytest.raises(wsclient.InvalidArgument):
        wsclient.WebSocket("ws://127.0.0.1:9/", **bad)
