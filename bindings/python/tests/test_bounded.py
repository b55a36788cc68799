"""A fast server and a slow consumer: the library stops reading at the
receive limit (TCP holds the server back), in pull mode and with callbacks,
and every message then arrives in order. A server close 1000 is followed by
a reconnect that says how the connection ended."""

import struct
import threading
import time

import pytest

import wsclient
from conftest import Server

COUNT = 1500
SIZE = 64 << 10


@pytest.fixture
def flood():
    progress = {"sent": 0}

    async def handler(ws):
        payload = bytearray(SIZE)
        for i in range(COUNT):
            payload[:4] = struct.pack(">I", i)
            await ws.send(bytes(payload))
            progress["sent"] = i + 1
        await ws.wait_closed()

    s = Server(handler)
    yield s, progress
    s.shutdown()


def wait_for(cond, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_pull_mode_holds_back_a_flooding_server_and_then_reads_everything_in_order(flood):
    server, progress = flood
    ws = wsclient.WebSocket(server.url, reconnect=False, receive_max_events=100, receive_max_bytes=2 << 20)
    ws.wait_open(10)
    # Nobody reads: the library stops at the limit and TCP holds the server back.
    wait_for(lambda: ws.stats.undelivered_events >= 100 or ws.stats.undelivered_bytes >= 2 << 20, "paused")
    assert progress["sent"] < COUNT // 2, progress
    for i in range(COUNT):
        msg = ws.recv(60)
        assert struct.unpack(">I", msg[:4])[0] == i and len(msg) == SIZE
        assert ws.stats.undelivered_events <= 100
    ws.close()


def test_callbacks_are_flow_controlled_too(flood):
    server, progress = flood
    got = []
    gate = threading.Event()

    def on_message(ws, msg):
        gate.wait(60)  # a consumer that stalls inside its callback
        got.append(struct.unpack(">I", msg[:4])[0])

    ws = wsclient.WebSocket(server.url, reconnect=False, receive_max_events=50, on_message=on_message)
    wait_for(lambda: progress["sent"] > 0, "the flood started")
    wait_for(lambda: ws.stats.undelivered_events >= 1, "a message waits for the callback")
    assert progress["sent"] < COUNT // 2, progress
    gate.set()
    wait_for(lambda: len(got) == COUNT, f"every message ({len(got)})")
    assert got == list(range(COUNT))
    ws.close()


def test_a_server_close_1000_is_followed_by_a_reconnect_that_says_how_it_ended():
    async def handler(ws):
        await ws.close(1000, "rotating")

    server = Server(handler)
    seen = []
    reconnected = threading.Event()
    ws = wsclient.WebSocket(
        server.url, initial_delay=0.05, ping_interval=0,
        on_reconnecting=lambda ws, n, delay, err: seen.append(
            (err.close_code, err.close_reason, err.close_was_clean, delay)),
        on_open=lambda ws: ws.stats.reconnects and reconnected.set(),
    )
    try:
        assert reconnected.wait(10), seen
        assert seen[0][:3] == (1000, "rotating", True)
        assert seen[0][3] <= 0.05  # the first retry after an open: full jitter in [0, initial_delay]
    finally:
        ws.close()
        server.shutdown()
