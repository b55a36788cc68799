"""The library's log lines in Python's logging; WSCLIENT_LOG; `import
wsclient` brings wsclient.aio; mypy --strict on typed user code; the
asyncio send() waits above the write limit."""

import asyncio
import logging
import os
import subprocess
import sys
import textwrap

import pytest

import wsclient
from wsclient import _logging


def test_log_lines_of_a_connect_and_a_close_reach_logging(server, caplog):
    with caplog.at_level(logging.DEBUG, logger="wsclient"):
        with wsclient.connect(server.url) as ws:
            ws.send("x")
            assert ws.recv(10) == "x"
        handle = ws._final_stats is not None  # closed and released
    assert handle
    lines = [r for r in caplog.records if r.name == "wsclient"]
    text = "\n".join(r.getMessage() for r in lines)
    assert "connecting to ws://127.0.0.1" in text, text
    assert "open" in text and "clos" in text, text
    assert {r.levelno for r in lines} <= {logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR}
    assert all(getattr(r, "ws_handle", None) is not None for r in lines)


def test_levels_map_and_a_higher_level_lets_less_through(server, caplog):
    assert _logging.c_level(logging.DEBUG) == wsclient._c.WS_LOG_DEBUG
    assert _logging.c_level(logging.INFO) == wsclient._c.WS_LOG_INFO
    assert _logging.c_level(logging.WARNING) == wsclient._c.WS_LOG_WARN
    assert _logging.c_level(logging.ERROR) == wsclient._c.WS_LOG_ERROR
    assert _logging.c_level(logging.CRITICAL) == wsclient._c.WS_LOG_OFF
    assert _logging.c_level(5) == wsclient._c.WS_LOG_TRACE
    with caplog.at_level(logging.ERROR, logger="wsclient"):
        with wsclient.connect(server.url):
            pass
    assert not [r for r in caplog.records if r.name == "wsclient" and r.levelno < logging.ERROR]


def test_a_failing_handler_never_reaches_the_library(server, caplog):
    class Boom(logging.Filter):
        def filter(self, record):
            raise RuntimeError("a broken filter")

    logger = logging.getLogger("wsclient")
    f = Boom()
    with caplog.at_level(logging.DEBUG, logger="wsclient"):
        logger.addFilter(f)
        try:
            with wsclient.connect(server.url) as ws:
                ws.send("still works")
                assert ws.recv(10) == "still works"
        finally:
            logger.removeFilter(f)


def _run(script, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    env.pop("WSCLIENT_LOG", None) if not env_extra or "WSCLIENT_LOG" not in env_extra else None
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=60, env=env, cwd="/")


def test_nothing_is_installed_while_logging_is_not_configured(server):
    r = _run(f"""
        import wsclient
        from wsclient import _logging
        with wsclient.connect("{server.url}") as ws:
            pass
        print("installed", _logging._installed)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["installed", "0"] and r.stderr == ""


def test_wsclient_log_still_writes_to_stderr(server):
    r = _run(f"""
        import logging, wsclient
        logging.basicConfig(level=logging.DEBUG, format="PY %(message)s")
        with wsclient.connect("{server.url}") as ws:
            pass
    """, {"WSCLIENT_LOG": "debug"})
    assert r.returncode == 0, r.stderr
    assert "wsclient debug:" in r.stderr or "wsclient info:" in r.stderr, r.stderr
    assert "PY [0x" not in r.stderr


def test_import_wsclient_brings_aio():
    r = _run("import wsclient; print(wsclient.aio.connect.__name__, wsclient.aio.WebSocket.__name__)")
    assert r.returncode == 0 and r.stdout.split() == ["connect", "WebSocket"], r.stderr


TYPED_OK = """
    import asyncio
    from typing import Union
    import wsclient

    def on_message(ws: wsclient.WebSocket, message: Union[str, bytes]) -> None:
        print(message)

    def sync_use(url: str) -> None:
        with wsclient.connect(url, ping_interval=5.0, reconnect=False, headers={"X-A": "1"},
                              on_message=None) as ws:
            got: Union[str, bytes] = ws.recv(1.0)
            rtt: float = ws.ping(b"p").result(1.0)
            print(got, rtt, ws.run_forever())
        wsclient.WebSocket(url, on_message=on_message, ssl={"cadata": "..."}, server_hostname="h")

    async def aio_use(url: str) -> None:
        async with wsclient.aio.connect(url, max_attempts=3, write_limit=1 << 16) as ws:
            got: Union[str, bytes] = await ws.recv()
            rtt: float = await (await ws.ping())
            print(got, rtt)
        ws2 = await wsclient.aio.connect(url)
        other: Union[str, bytes] = await ws2.recv()
        print(other)
"""

TYPED_BAD = {
    "misspelt": ("wsclient.connect('ws://h', ping_intervall=5)", 'Unexpected keyword argument "ping_intervall"'),
    "aio misspelt": ("wsclient.aio.WebSocket('ws://h', reconect=False)", 'Unexpected keyword argument "reconect"'),
    "wrong type": ("wsclient.connect('ws://h', ping_interval='5')", "incompatible type"),
    "recv is str | bytes": ("n: int = wsclient.connect('ws://h').recv()", "incompatible types in assignment"),
}


def _mypy(tmp_path, name, code):
    path = tmp_path / f"{name.replace(' ', '_').replace('|', 'or')}.py"
    path.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
                          capture_output=True, text=True, timeout=600, cwd=str(tmp_path))


def test_mypy_strict_passes_typed_user_code_and_catches_mistakes(tmp_path):
    pytest.importorskip("mypy")
    r = _mypy(tmp_path, "ok", TYPED_OK)
    assert r.returncode == 0, r.stdout + r.stderr
    bad = "import wsclient\n" + "\n".join(f"def f{i}() -> None:\n    {line}" for i, (line, _) in
                                          enumerate(TYPED_BAD.values()))
    r = _mypy(tmp_path, "bad", bad)
    assert r.returncode == 1, r.stdout
    for i, (_, words) in enumerate(TYPED_BAD.values()):
        assert any(f"bad.py:{3 + 2 * i}:" in ln and words.lower() in ln.lower() for ln in r.stdout.splitlines()), (words, r.stdout)


def test_aio_send_waits_above_the_write_limit(make_server):
    s = make_server()
    url = s.url
    s.stop()

    async def main():
        ws = wsclient.aio.WebSocket(url, write_limit=(1000, 0), initial_delay=0.05, max_delay=0.2)
        await ws.send("small")  # under the limit: returns at once
        blocked = asyncio.ensure_future(ws.send(b"x" * 4000))  # nothing drains it while the server is down
        done, _ = await asyncio.wait({blocked}, timeout=0.3)
        assert not done and ws.sync.buffered_amount > 1000
        await asyncio.get_running_loop().run_in_executor(None, s.start)
        await asyncio.wait_for(blocked, 120)  # reconnected and written
        assert ws.sync.buffered_amount == 0
        assert await ws.recv() == "small"
        await ws.close()

    asyncio.run(main())
