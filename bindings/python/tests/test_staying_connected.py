"""Reconnect after a server restart and a heartbeat timeout against a server
that stops answering pings."""

import threading

import wsclient


def test_reconnect_after_restart_delivers_queued_messages_in_order(server):
    events = []
    reconnected = threading.Event()
    down = threading.Event()
    refused = threading.Event()

    def on_open(ws):
        events.append("open")
        if ws.stats.reconnects:
            reconnected.set()

    def on_reconnecting(ws, n, delay, err):
        events.append(("reconnecting", n, type(err).__name__))
        down.set()
        if n >= 2:
            refused.set()  # an attempt failed while the server was away

    ws = wsclient.WebSocket(
        server.url, initial_delay=0.1, max_delay=0.5, ping_interval=0, on_open=on_open,
        on_reconnecting=on_reconnecting,
    )
    ws.wait_open(5)
    server.stop()
    assert down.wait(10), events
    for i in range(20):
        ws.send(f"while down {i}")
    assert refused.wait(10), events
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
    resume = threading.Event()
    server.pause(resume)  # silent until the client has given up on it
    try:
        assert got_error.wait(10)
    finally:
        resume.set()
    assert isinstance(errors[0], wsclient.HeartbeatTimeout), errors
    ws.wait_open(10)  # reconnected once the server is back
    ws.close()
