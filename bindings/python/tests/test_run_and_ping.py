"""run_forever() and wait_closed(), ping() with its waiter, on_ping and
on_pong with websocket-client's arguments, and the User-Agent."""

import asyncio
import threading

import pytest
from websockets.asyncio.server import ServerConnection

import wsclient


def test_run_forever_returns_false_after_a_close(server):
    seen = []

    def on_open(ws):
        ws.send("hello")

    def on_message(ws, msg):
        seen.append(msg)
        ws.close()

    ws = wsclient.WebSocket(server.url, on_open=on_open, on_message=on_message,
                            on_close=lambda ws, code, reason: seen.append(code))
    assert ws.run_forever() is False
    assert seen == ["hello", 1000]
    ws.wait_closed(0)


def test_run_forever_returns_true_when_an_error_ended_the_connection(make_server):
    s = make_server()
    url = s.url
    s.stop()
    errors = []
    ws = wsclient.WebSocket(url, reconnect=False, on_error=lambda ws, e: errors.append(e))
    assert ws.run_forever() is True
    assert isinstance(errors[0], wsclient.ConnectionRefused)


def test_run_forever_in_pull_mode_and_a_server_close(server):
    ws = wsclient.connect(server.url, reconnect=False)
    ws.send("!close 4000 bye")
    assert ws.run_forever() is False
    assert ws.close_code == 4000


def test_wait_closed(server):
    ws = wsclient.connect(server.url)
    with pytest.raises(wsclient.Timeout):
        ws.wait_closed(0.1)
    threading.Thread(target=ws.close).start()
    ws.wait_closed()
    assert ws.state is wsclient.State.CLOSED


@pytest.mark.parametrize("pull", [True, False])
def test_ping_returns_a_waiter_and_on_pong_gets_the_payload(server, pull):
    pongs = []
    got = threading.Event()

    def on_pong(ws, payload):
        pongs.append((payload, ws.last_rtt))
        got.set()

    ws = wsclient.connect(server.url, ping_interval=0, **({} if pull else {"on_pong": on_pong}))
    waiter = ws.ping(b"abc")
    assert isinstance(waiter, threading.Event)
    rtt = waiter.result(30)
    assert rtt > 0 and waiter.rtt == rtt and waiter.payload == b"abc"
    assert ws.last_rtt is not None and ws.last_rtt > 0
    assert ws.ping().wait(30)  # 4 random bytes
    if not pull:
        assert got.wait(10)
        assert pongs[0][0] == b"abc" and pongs[0][1] > 0
    ws.close()


def test_a_ping_waiting_for_its_pong_fails_when_the_connection_ends(server):
    ws = wsclient.connect(server.url, ping_interval=0, close_timeout=0.2, reconnect=False)
    resume = threading.Event()
    server.pause(resume)
    try:
        waiter = ws.ping("x")
        with pytest.raises(wsclient.InvalidState):
            ws.ping("x")  # the same payload still waits
        ws.close(timeout=30)
    finally:
        resume.set()
    with pytest.raises(wsclient.ConnectionClosed):
        waiter.result(30)
    with pytest.raises(wsclient.ConnectionClosed):
        ws.ping()


def test_ping_while_not_open_raises_not_connected():
    ws = wsclient.WebSocket("ws://127.0.0.1:1/")
    try:
        with pytest.raises(wsclient.NotConnected):
            ws.ping()
    finally:
        ws.close(timeout=0)


def test_on_ping_gets_the_servers_ping_payload(make_server):
    async def pinger(ws: ServerConnection) -> None:
        await ws.ping(b"server ping")
        await ws.wait_closed()

    s = make_server(pinger)
    got = []
    done = threading.Event()

    def on_ping(ws, payload):
        got.append(payload)
        done.set()

    ws = wsclient.WebSocket(s.url, on_ping=on_ping)
    assert done.wait(30)
    assert got == [b"server ping"]
    ws.close()
    plain = wsclient.WebSocket(s.url)
    with pytest.raises(wsclient.InvalidState):
        plain.on_ping = on_ping  # ping events are chosen at creation
    plain.close(timeout=0)


def test_aio_ping_is_an_awaitable_of_the_rtt(server):
    async def main():
        async with wsclient.aio.connect(server.url, ping_interval=0) as ws:
            waiter = await ws.ping()
            rtt = await waiter
            assert rtt > 0 and ws.last_rtt is not None

    asyncio.run(main())


def _agent_server(make_server):
    agents = []

    def process_request(connection, request):
        agents.append(request.headers.get_all("User-Agent"))
        return None

    return make_server(process_request=process_request), agents


@pytest.mark.parametrize("options, expected", [
    ({}, [f"wsclient/{wsclient.library_version}"]),
    ({"user_agent": "mybot/2.0"}, ["mybot/2.0"]),
    ({"user_agent": ""}, []),
    ({"headers": {"User-Agent": "from-headers/1"}}, ["from-headers/1"]),
])
def test_user_agent_default_replaced_and_removed(make_server, options, expected):
    s, agents = _agent_server(make_server)
    with wsclient.connect(s.url, **options) as ws:
        assert ws.response is not None and ws.response.status == 101
    assert agents == [expected]


def test_the_101_response_status_and_headers(make_server):
    def process_response(connection, request, response):
        response.headers["Set-Cookie"] = "session=abc"
        return response

    s = make_server(process_response=process_response)
    with wsclient.connect(s.url) as ws:
        r = ws.response
        assert r.status == 101 and r.body == b""
        assert r.headers["set-cookie"] == "session=abc"
        assert r.headers.get("Upgrade", "").lower() == "websocket"
        assert r.headers.get("X-Missing") is None
