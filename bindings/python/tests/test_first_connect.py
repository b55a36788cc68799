"""connect() says why a first connection failed, at once, with reconnect on;
keep_trying retries until the timeout, whose Timeout carries the last error.
What recv() does when an open connection ends and a reconnect follows."""

import asyncio
import threading

import pytest
from websockets.asyncio.server import ServerConnection

import wsclient

from conftest import reject

# Large: the error must come long before it (an event, not a time).
PATIENT = 120


def refused_url(make_server):
    s = make_server()
    url = s.url
    s.stop()
    return url


def test_refused_raises_connection_refused_at_once_with_reconnect_on(make_server):
    url = refused_url(make_server)
    with pytest.raises(wsclient.ConnectionRefused):
        wsclient.connect(url, timeout=PATIENT)  # reconnect is on by default


def test_unresolvable_host_raises_dns_error():
    with pytest.raises(wsclient.DNSError):
        wsclient.connect("ws://no-such-host.invalid/", timeout=PATIENT)


def test_a_500_raises_handshake_error_with_status_headers_and_body(make_server):
    s = make_server(process_request=reject(500))
    with pytest.raises(wsclient.HandshakeError) as info:
        wsclient.connect(s.url, timeout=PATIENT)
    e = info.value
    assert e.status == e.http_status == e.status_code == 500
    assert e.response is not None and e.response.status == 500
    assert e.response.body == b"go away\n"
    assert e.response.headers["Content-Type"].startswith("text/plain")
    assert "content-length" in [name for name, _ in e.response.headers]


def test_a_refused_subprotocol_raises_a_handshake_error(make_server):
    s = make_server(subprotocols=["chat"])
    with pytest.raises(wsclient.HandshakeError) as info:
        wsclient.connect(s.url, subprotocols=["other"], timeout=PATIENT)
    assert info.value.status == 400


def test_keep_trying_gives_a_timeout_carrying_the_last_error(make_server):
    url = refused_url(make_server)
    failed = threading.Event()
    with pytest.raises(wsclient.Timeout) as info:
        wsclient.connect(url, keep_trying=True, timeout=3, initial_delay=0.05,
                         on_error=lambda ws, e: failed.set())
    assert failed.is_set()
    assert isinstance(info.value.__cause__, wsclient.ConnectionRefused)
    assert "ConnectionRefused" in str(info.value)


def test_keep_trying_opens_once_the_server_is_up(make_server):
    s = make_server()
    url = s.url
    s.stop()
    down = threading.Event()

    def on_reconnecting(ws, attempt, delay, err):
        down.set()

    started = threading.Thread(target=lambda: (down.wait(PATIENT), s.start()))
    started.start()
    with wsclient.connect(url, keep_trying=True, timeout=PATIENT, initial_delay=0.05, max_delay=0.2,
                          on_reconnecting=on_reconnecting) as ws:
        ws.send("up")
        assert ws.recv(10) == "up"
    started.join()


def test_wait_open_timeout_carries_the_last_error(make_server):
    url = refused_url(make_server)
    ws = wsclient.WebSocket(url, initial_delay=0.05)
    try:
        with pytest.raises(wsclient.Timeout) as info:
            ws.wait_open(3)
        assert isinstance(info.value.__cause__, wsclient.ConnectionRefused)
    finally:
        ws.close(timeout=0)


def test_aio_connect_raises_the_real_error_at_once(make_server):
    url = refused_url(make_server)
    s500 = make_server(process_request=reject(500))

    async def main():
        with pytest.raises(wsclient.ConnectionRefused):
            await wsclient.aio.connect(url, timeout=PATIENT)
        with pytest.raises(wsclient.HandshakeError) as info:
            async with wsclient.aio.connect(s500.url, timeout=PATIENT):
                pass
        assert info.value.response.body == b"go away\n"
        with pytest.raises(wsclient.Timeout) as info:
            await wsclient.aio.connect(url, keep_trying=True, timeout=3, initial_delay=0.05)
        assert isinstance(info.value.__cause__, wsclient.ConnectionRefused)

    asyncio.run(main())


async def one_message_then_1001(ws: ServerConnection) -> None:
    n = getattr(one_message_then_1001, "n", 0) + 1
    one_message_then_1001.n = n  # type: ignore[attr-defined]
    await ws.send(f"connection {n}")
    await ws.close(1001, "going away")


def test_by_default_recv_goes_on_across_a_reconnect(make_server):
    one_message_then_1001.n = 0  # type: ignore[attr-defined]
    s = make_server(one_message_then_1001)
    with wsclient.connect(s.url, initial_delay=0.05) as ws:
        assert ws.recv(10) == "connection 1"
        assert ws.recv(10) == "connection 2"  # the reconnect was silent


def test_raise_on_disconnect_raises_connection_closed_with_the_code_then_reads_on(make_server):
    one_message_then_1001.n = 0  # type: ignore[attr-defined]
    s = make_server(one_message_then_1001)
    with wsclient.connect(s.url, initial_delay=0.05, raise_on_disconnect=True) as ws:
        assert ws.recv(10) == "connection 1"
        with pytest.raises(wsclient.ConnectionClosed) as info:
            ws.recv(10)
        assert (info.value.code, info.value.reason, info.value.reconnecting) == (1001, "going away", True)
        assert ws.recv(10) == "connection 2"
        assert list(ws) == []  # iteration ends at the next disconnect


def test_aio_raise_on_disconnect(make_server):
    one_message_then_1001.n = 0  # type: ignore[attr-defined]
    s = make_server(one_message_then_1001)

    async def main():
        async with wsclient.aio.connect(s.url, initial_delay=0.05, raise_on_disconnect=True) as ws:
            assert [m async for m in ws] == ["connection 1"]
            assert ws.state is not wsclient.State.CLOSED
            with pytest.raises(wsclient.ConnectionClosed) as info:
                while True:
                    await ws.recv()
            assert info.value.code == 1001 and info.value.reconnecting

    asyncio.run(main())


def test_without_reconnect_recv_raises_connection_closed_like_websocket_client(make_server):
    s = make_server(one_message_then_1001)
    ws = wsclient.connect(s.url, reconnect=False)
    assert ws.recv(10).startswith("connection")
    with pytest.raises(wsclient.ConnectionClosed) as info:
        ws.recv(10)
    assert info.value.code == 1001 and not info.value.reconnecting
    ws.close()
