"""The asyncio adapter end to end."""

import asyncio

import pytest

import wsclient
import wsclient.aio

from conftest import reject


def test_async_echo_iteration_and_close(server):
    async def main():
        # A server close reconnects by default; iteration ends at a close
        # only for a socket that does not reconnect.
        async with wsclient.aio.connect(server.url, reconnect=False) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x01\x02")
            assert await ws.recv() == b"\x01\x02"
            for i in range(3):
                await ws.send(f"m{i}")
            await ws.send("!close 1000 done")
            got = [m async for m in ws]
            assert got == ["m0", "m1", "m2"]
        assert ws.state is wsclient.State.CLOSED

    asyncio.run(main())


def test_the_loop_is_never_blocked(server):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        t = asyncio.ensure_future(ticker())
        ws = await wsclient.aio.connect(server.url)
        for i in range(200):
            await ws.send(f"{i}")
        for i in range(200):
            assert await ws.recv() == f"{i}"
        await ws.close()
        t.cancel()
        assert ticks > 0

    asyncio.run(main())


def test_async_handshake_error(make_server):
    s = make_server(process_request=reject(403))

    async def main():
        with pytest.raises(wsclient.HandshakeError) as info:
            await wsclient.aio.connect(s.url)
        assert info.value.status == 403

    asyncio.run(main())
