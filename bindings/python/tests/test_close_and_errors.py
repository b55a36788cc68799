"""Closes from the server, rejected handshakes, and errors as exceptions."""

import http
import threading

import pytest

import wsclient

from conftest import reject


def test_server_close_code_and_reason_in_on_close_and_exception(server):
    seen = []
    done = threading.Event()

    def on_close(ws, code, reason):
        seen.append((code, reason))
        done.set()

    ws = wsclient.WebSocket(server.url, reconnect=False, on_close=on_close)
    ws.wait_open(5)
    ws.send("!close 4001 server says bye")
    assert done.wait(5)
    assert seen == [(4001, "server says bye")]
    with pytest.raises(wsclient.ConnectionClosed) as info:
        ws.recv(1)
    assert (info.value.code, info.value.reason) == (4001, "server says bye")
    ws.close()


def test_handshake_403_is_a_handshake_error_with_the_status(make_server):
    s = make_server(process_request=reject(403))
    errors = []
    with pytest.raises(wsclient.HandshakeError) as info:
        wsclient.connect(s.url, on_error=lambda ws, e: errors.append(e))
    assert info.value.status == 403
    assert info.value.http_status == 403
    assert isinstance(errors[0], wsclient.HandshakeError)


def test_refused_connection_without_reconnect(make_server):
    s = make_server()
    url = s.url
    s.stop()
    with pytest.raises(wsclient.ConnectionRefused):
        wsclient.connect(url, reconnect=False)


def test_errors_share_one_base():
    for cls in (wsclient.HandshakeError, wsclient.ConnectTimeout, wsclient.TLSError, wsclient.QueueFull,
                wsclient.ConnectionClosed, wsclient.InvalidHandle, wsclient.HeartbeatTimeout):
        assert issubclass(cls, wsclient.WebSocketError)


def test_redirects_followed_only_when_enabled(make_server):
    target = make_server()

    def redirect(connection, request):
        response = connection.respond(http.HTTPStatus.FOUND, "")
        response.headers["Location"] = target.url + "/moved"
        return response

    s = make_server(process_request=redirect)
    with pytest.raises(wsclient.HandshakeError) as info:
        wsclient.connect(s.url, reconnect=False)
    assert info.value.http_status == 302
    assert "not followed" in str(info.value)

    with wsclient.connect(s.url, max_redirects=1) as ws:
        ws.send("after a redirect")
        assert ws.recv(timeout=5) == "after a redirect"
    with pytest.raises(wsclient.InvalidArgument):
        wsclient.connect(s.url, max_redirects=-1)
