"""wsclient: a WebSocket client that stays connected.

Heartbeat with dead-peer detection, reconnect with backoff, and no lost
messages, as a thin ctypes layer over the wsclient C library::

    import wsclient

    with wsclient.connect("ws://127.0.0.1:9001") as ws:
        ws.send("hello")
        print(ws.recv())

``wsclient.aio`` has the asyncio version.
"""

from ._client import Data, Headers, Message, PongWaiter, Response, State, Stats, WebSocket, connect
from ._errors import (
    ConnectError,
    ConnectionClosed,
    ConnectionRefused,
    ConnectTimeout,
    DNSError,
    FileError,
    HandshakeError,
    HeartbeatTimeout,
    ProxyError,
    InternalError,
    InvalidArgument,
    InvalidHandle,
    InvalidState,
    InvalidURL,
    InvalidUTF8,
    MessageTooLarge,
    NetworkError,
    NotConnected,
    ProtocolError,
    QueueFull,
    Timeout,
    TLSError,
    WebSocketError,
)
from ._native import lib as _lib
from ._options import ConnectionOptions, Options
from . import aio  # noqa: E402 - after the names it uses

#: Version of the C library in use.
library_version: str = _lib.ws_version().decode()
__version__ = "0.1.0"


def tls_backend() -> str:
    """The library's TLS stack, e.g. "OpenSSL 3.6.1 (vendored)" for the
    self-contained wheel, "OpenSSL 3.0.17 (system)" for a library linked with
    the system's OpenSSL (see ws_tls_backend in wsclient.h)."""
    return str(_lib.ws_tls_backend().decode())


__all__ = [
    "tls_backend",
    "WebSocket",
    "connect",
    "State",
    "Stats",
    "Data",
    "Message",
    "Options",
    "ConnectionOptions",
    "Response",
    "Headers",
    "PongWaiter",
    "aio",
    "library_version",
    "WebSocketError",
    "InvalidArgument",
    "InvalidHandle",
    "InvalidURL",
    "InvalidUTF8",
    "MessageTooLarge",
    "ConnectionClosed",
    "Timeout",
    "QueueFull",
    "InvalidState",
    "FileError",
    "NotConnected",
    "InternalError",
    "DNSError",
    "ConnectionRefused",
    "ConnectError",
    "ConnectTimeout",
    "TLSError",
    "HandshakeError",
    "ProtocolError",
    "NetworkError",
    "HeartbeatTimeout",
    "ProxyError",
]
