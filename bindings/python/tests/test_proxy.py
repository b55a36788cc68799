"""Through a real proxy (pproxy, in the test venv): ``proxy=`` and the
environment's variables, and a proxy's refusal as ``ProxyError``."""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

import wsclient

PPROXY = shutil.which("pproxy", path=os.path.dirname(sys.executable))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def proxy():
    """An HTTP proxy that wants alice:s3cret; yields its port."""
    if PPROXY is None:
        if os.environ.get("CI"):
            pytest.fail("pproxy is not installed in the test venv")
        pytest.skip("pproxy not installed")
    port = free_port()
    p = subprocess.Popen([PPROXY, "-l", f"http://127.0.0.1:{port}#alice:s3cret", "--auth", "0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:  # ready when it accepts a connection
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "pproxy did not start"
            time.sleep(0.02)
    yield port
    p.kill()
    p.wait()


def test_proxy_option_carries_the_connection(proxy, server):
    with wsclient.connect(server.url, proxy=f"http://alice:s3cret@127.0.0.1:{proxy}", reconnect=False) as ws:
        ws.send("via the proxy")
        assert ws.recv(timeout=10) == "via the proxy"


def test_a_refused_tunnel_is_a_proxy_error_with_the_status(proxy, server):
    with pytest.raises(wsclient.ProxyError) as e:
        wsclient.connect(server.url, proxy=f"http://alice:wrong@127.0.0.1:{proxy}", timeout=10)
    assert e.value.http_status == 407
    assert "wrong" not in str(e.value)
