"""Reconnect after a server restart and a heartbeat timeout against a server
that stops answering pings."""

import threading
import time

import wsclient


def test_reconnect_after_restart_delivers_queued_messages_in_order(server):
    events = []
    reconnected = threading.Event()

    def on_open(ws):
        events.append("open")
        if ws.stats.reconnects:
            reconnected.set()

    ws = wsclient.WebSocket(
        server.url, initial_delay=0.1, max_delay=0.5, ping_interval=0, on_open=on_open,
        on_reconnecting=lambda ws, n, delay, err: events.append(("reconnecting", n, type(err).__name__)),
    )
    ws.wait_open(5)
    server.stop()
    deadline = time.monotonic() + 5
    while ws.state is wsclient.State.OPEN and time.monotonic() < deadline:
        time.sleep(0.01)
    for i in range(20):
        ws.send(f"while down {i}")
    time.sleep(0.5)
    server.start()
    assert reconnected.wait(5), events
    assert [ws.recv(5) for _ in range(20)] == [f"while down {i}" for i in range(20)]
    assert any(isinstance(e, tuple) and e[0] == "reconnecting" for e in events)
    assert ws.stats.reconnects == 1
    ws.close()


def test_heartbeat_timeout_when_the_server_stops_answering(server):
    errors = []
    got_error = threading.Event()

    def on_error(ws, err):
        errors.append(err)
        got_error.set()

    ws = wsclient.WebSocket(server.url, ping_interval=0.2, pong_timeout=0.2, initial_delay=0.1, on_error=on_error)
    ws.wait_open(5)
    start = time.monotonic()
    server.pause(1.5)
    assert got_error.wait(3)
    assert isinstance(errors[0], wsclient.HeartbeatTimeout), errors
    assert time.monotonic() - start < 1.0
    ws.wait_open(5)  # reconnected once the server is back
    ws.close()
