"""Messages both ways, the pull model, sending types, and bad input."""

import pytest

import wsclient


def test_text_binary_and_a_1_mib_message(server):
    with wsclient.connect(server.url) as ws:
        ws.send("hello")
        assert ws.recv(5) == "hello"
        ws.send(b"\x00\x01\xff")
        assert ws.recv(5) == b"\x00\x01\xff"
        big = bytes(range(256)) * 4096
        ws.send(big)
        assert ws.recv(5) == big
        ws.send(bytearray(b"ba"))
        assert ws.recv(5) == b"ba"
        ws.send(memoryview(b"mv"))
        assert ws.recv(5) == b"mv"
        assert ws.state is wsclient.State.OPEN


def test_unicode_round_trips(server):
    text = "héllo wörld ✓ 🚀 日本語"
    with wsclient.connect(server.url) as ws:
        ws.send(text)
        assert ws.recv(5) == text


def test_iteration_ends_when_the_connection_closes(server):
    ws = wsclient.connect(server.url, reconnect=False)
    for i in range(3):
        ws.send(f"m{i}")
    ws.send("!close 4000 bye")
    assert list(ws) == ["m0", "m1", "m2"]
    assert ws.close_code == 4000


def test_recv_timeout(server):
    with wsclient.connect(server.url) as ws:
        with pytest.raises(wsclient.Timeout):
            ws.recv(0.2)


def test_send_rejects_other_types(server):
    with wsclient.connect(server.url) as ws:
        with pytest.raises(TypeError):
            ws.send(42)  # type: ignore[arg-type]


def test_bad_url_and_options_raise_at_construction():
    with pytest.raises(wsclient.InvalidURL):
        wsclient.WebSocket("http://127.0.0.1/")
    with pytest.raises(wsclient.InvalidURL):
        wsclient.WebSocket("ws://host:99999/")
    with pytest.raises(wsclient.InvalidArgument):
        wsclient.WebSocket("ws://127.0.0.1:1/", connect_timeout=-1)
    with pytest.raises(wsclient.InvalidArgument):
        wsclient.WebSocket("ws://127.0.0.1:1/", headers={"Bad Name": "x"})
    with pytest.raises(wsclient.InvalidArgument):
        wsclient.WebSocket("ws://127.0.0.1:1/", jitter=2)
    with pytest.raises(wsclient.FileError):
        wsclient.WebSocket("wss://127.0.0.1:1/", ca_file="/no/such/ca.pem")


def test_message_too_large_is_refused(server):
    with wsclient.connect(server.url, max_message_size=100) as ws:
        with pytest.raises(wsclient.MessageTooLarge):
            ws.send(b"x" * 101)
        ws.send(b"x" * 100)
        assert len(ws.recv(5)) == 100


def test_close_is_idempotent_and_use_after_close_raises(server):
    ws = wsclient.connect(server.url)
    ws.send("x")
    assert ws.recv(5) == "x"
    ws.close()
    ws.close()
    assert ws.state is wsclient.State.CLOSED
    assert ws.close_code == 1000
    with pytest.raises(wsclient.ConnectionClosed) as info:
        ws.send("late")
    assert info.value.code == 1000
    with pytest.raises(wsclient.ConnectionClosed):
        ws.recv(1)
    assert ws.stats.messages_sent == 1


def test_stats_and_subprotocol(make_server):
    from websockets.asyncio.server import ServerConnection

    async def handler(ws: ServerConnection) -> None:
        async for msg in ws:
            await ws.send(msg)

    s = make_server(handler)
    with wsclient.connect(s.url) as ws:
        for _ in range(5):
            ws.send("12345")
        for _ in range(5):
            ws.recv(5)
        st = ws.stats
        assert (st.messages_sent, st.bytes_sent, st.messages_received, st.bytes_received) == (5, 25, 5, 25)
        assert st.last_open is not None and st.reconnects == 0
        assert ws.subprotocol is None
        assert ws.buffered_amount == 0
