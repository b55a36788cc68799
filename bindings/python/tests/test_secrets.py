"""No secret in an exception message for a malformed URL or header."""

import pytest

import wsclient

MARK = "s3cr3t"
BAD_URLS = [
    "ws://alice:S3CR3TMARK/PW@127.0.0.1/",
    "ws://alice:S3CR3TMARK?PW@127.0.0.1/",
    "ws://alice:S3CR3TMARK#PW@127.0.0.1/",
    "wss://alice:S3CR3TMARK@host:99999/",
    "ws://alice:S3CR3TMARK%zz@host/",
    "http://alice:S3CR3TMARK@host/",
    "alice:S3CR3TMARK@host",
]
BAD_HEADERS = [
    ("Authorization", "Bearer S3CR3TMARK\n"),
    ("Authorization", "Bearer S3CR3TMARK\r\nX-Injected: 1"),
    ("X-Api-Key", "S3CR3TMARK\x01"),
    ("X-Api-Key S3CR3TMARK", "x"),
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_url_never_shows_its_secret(url):
    with pytest.raises(wsclient.WebSocketError) as info:
        wsclient.WebSocket(url, reconnect=False)
    assert MARK not in str(info.value).lower()


@pytest.mark.parametrize("name,value", BAD_HEADERS)
def test_a_bad_header_never_shows_its_value(name, value):
    with pytest.raises(wsclient.WebSocketError) as info:
        wsclient.WebSocket("ws://127.0.0.1:1/", reconnect=False, headers={name: value})
    assert MARK not in str(info.value).lower()
