"""Scripts of websocket-client and websockets, ported with docs/guide.md's
tables line by line, against a local websockets server."""

import asyncio
import threading

import wsclient
from wsclient.aio import connect as aio_connect


def test_a_websocket_app_script(server):
    # websocket.WebSocketApp(url, on_open=..., ...) and app.run_forever()
    log = []

    def on_open(ws):
        ws.send("Hello")

    def on_message(ws, message):
        log.append(message)
        ws.close()

    def on_error(ws, error):
        log.append(error)

    def on_close(ws, close_status_code, close_msg):
        log.append(("closed", close_status_code))

    def on_pong(ws, data):
        log.append(("pong", data))

    app = wsclient.WebSocket(server.url, on_open=on_open, on_message=on_message, on_error=on_error,
                             on_close=on_close, ping_interval=30, pong_timeout=5, initial_delay=5)
    assert app.run_forever() is False
    assert log == ["Hello", ("closed", 1000)]


def test_a_create_connection_script(server):
    ws = wsclient.connect(server.url, timeout=10, reconnect=False)
    ws.send("Hello, World")
    assert ws.recv() == "Hello, World"
    assert ws.response.status == 101 and ws.response.headers["upgrade"].lower() == "websocket"
    ws.ping("hi")
    ws.close(code=1000, reason="")


def test_a_websockets_sync_example(server):
    from wsclient import connect

    with connect(server.url) as websocket:
        websocket.send("Hello world!")
        message = websocket.recv(timeout=5)
        assert message == "Hello world!"
        pong = websocket.ping()
        assert pong.wait(30)


def test_a_websockets_asyncio_example(server):
    async def hello():
        async with aio_connect(server.url, ping_interval=20, pong_timeout=20, write_limit=2**15) as websocket:
            await websocket.send("Hello world!")
            message = await websocket.recv()
            assert message == "Hello world!"
            latency = await (await websocket.ping())
            assert latency > 0 and websocket.last_rtt is not None
            assert websocket.response.status_code == 101
        await websocket.wait_closed()

    asyncio.run(hello())


def test_a_websocket_app_closed_from_another_thread(server):
    opened = threading.Event()
    app = wsclient.WebSocket(server.url, on_open=lambda ws: opened.set())
    threading.Thread(target=lambda: (opened.wait(30), app.close())).start()
    assert app.run_forever() is False
