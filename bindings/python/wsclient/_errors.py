"""Exceptions, and the one place that maps C status codes and error kinds to
them."""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

from . import _c, _native


class WebSocketError(Exception):
    """Base of every wsclient error."""

    def __init__(self, message: str = "", *, status: Optional[int] = None) -> None:
        super().__init__(message)
        #: The C status code (negative) for errors returned by a call, else None.
        self.status = status
        #: For the error of ``on_reconnecting``: how the connection that ended
        #: closed (code 1006, reason "" and not clean when it had no close handshake).
        self.close_code: Optional[int] = None
        self.close_reason: str = ""
        self.close_was_clean: bool = False


# --- errors returned by calls (ws_status) --------------------------------------------------------


class InvalidArgument(WebSocketError, ValueError):
    """An argument or option is out of range or malformed."""


class InvalidHandle(WebSocketError):
    """The connection was already released (used after close and free)."""


class InvalidURL(InvalidArgument):
    """The URL is not a ws:// or wss:// URL with a host."""


class InvalidUTF8(InvalidArgument):
    """A string is not valid UTF-8."""


class MessageTooLarge(WebSocketError):
    """A message is larger than max_message_size."""


class ConnectionClosed(WebSocketError):
    """The connection is closed (or closing) for good."""

    def __init__(self, message: str = "connection closed", *, code: Optional[int] = None, reason: str = "",
                 status: Optional[int] = None) -> None:
        super().__init__(message, status=status)
        #: The close code, when known (1006: ended without a close handshake).
        self.code = code
        #: The close reason, when known.
        self.reason = reason
        #: True when the connection reconnects after this (``raise_on_disconnect``).
        self.reconnecting = False


class Timeout(WebSocketError, TimeoutError):
    """A wait (recv, wait_open, close) timed out."""


class QueueFull(WebSocketError):
    """The send queue is full; the message was not queued."""


class InvalidState(WebSocketError):
    """The call does not fit the object's mode."""


class FileError(WebSocketError, OSError):
    """A CA file or client certificate could not be read or parsed."""


class NotConnected(WebSocketError):
    """Not connected, and queue_while_disconnected is off."""


class InternalError(WebSocketError):
    """A bug in wsclient (including a caught panic); please report it."""


# --- errors reported by events (ws_error_kind) ---------------------------------------------------


class DNSError(WebSocketError):
    """The host name could not be resolved."""


class ConnectionRefused(WebSocketError, ConnectionRefusedError):
    """Nothing listens on the server's port."""


class ConnectError(WebSocketError, ConnectionError):
    """The TCP connection failed (host or network unreachable, ...)."""


class ConnectTimeout(WebSocketError, TimeoutError):
    """The TCP connect took longer than connect_timeout, or TLS and the HTTP upgrade longer than handshake_timeout."""


class TLSError(WebSocketError):
    """The TLS handshake failed (the message says why, e.g. an untrusted certificate)."""


class HandshakeError(WebSocketError):
    """The server rejected the WebSocket upgrade with an HTTP status."""

    def __init__(self, message: str = "", *, http_status: int = 0) -> None:
        super().__init__(message, status=http_status)
        #: The HTTP status of the rejection (e.g. 403); also in ``status``.
        self.http_status = http_status
        #: The rejection (``status``, ``headers``, the first bytes of ``body``), when the library kept it.
        self.response: Optional[Any] = None

    @property
    def status_code(self) -> int:
        """The HTTP status (websocket-client's name for it)."""
        return self.http_status


class ProtocolError(WebSocketError):
    """The server violated the WebSocket protocol."""


class NetworkError(WebSocketError, ConnectionError):
    """The connection was lost (reset, or closed without a close handshake)."""


class HeartbeatTimeout(WebSocketError, TimeoutError):
    """No sign of life from the server within pong_timeout after a ping."""


class ProxyError(WebSocketError, ConnectionError):
    """The proxy could not be reached or refused the tunnel (``http_status``
    holds an HTTP proxy's status: 407 when it wants credentials)."""

    def __init__(self, message: str = "", *, http_status: int = 0) -> None:
        super().__init__(message)
        self.http_status = http_status


_BY_STATUS: Dict[int, Type[WebSocketError]] = {
    _c.WS_ERR_INVALID_ARGUMENT: InvalidArgument,
    _c.WS_ERR_INVALID_HANDLE: InvalidHandle,
    _c.WS_ERR_INVALID_URL: InvalidURL,
    _c.WS_ERR_INVALID_UTF8: InvalidUTF8,
    _c.WS_ERR_MESSAGE_TOO_LARGE: MessageTooLarge,
    _c.WS_ERR_CLOSED: ConnectionClosed,
    _c.WS_ERR_TIMEOUT: Timeout,
    _c.WS_ERR_QUEUE_FULL: QueueFull,
    _c.WS_ERR_INVALID_STATE: InvalidState,
    _c.WS_ERR_BUFFER_TOO_SMALL: InternalError,  # never surfaces here
    _c.WS_ERR_FILE: FileError,
    _c.WS_ERR_INTERNAL: InternalError,
    _c.WS_ERR_NOT_CONNECTED: NotConnected,
}

_BY_KIND: Dict[int, Type[WebSocketError]] = {
    _c.WS_ERROR_DNS: DNSError,
    _c.WS_ERROR_CONNECT_REFUSED: ConnectionRefused,
    _c.WS_ERROR_CONNECT_FAILED: ConnectError,
    _c.WS_ERROR_CONNECT_TIMEOUT: ConnectTimeout,
    _c.WS_ERROR_TLS: TLSError,
    _c.WS_ERROR_HANDSHAKE_REJECTED: HandshakeError,
    _c.WS_ERROR_PROTOCOL: ProtocolError,
    _c.WS_ERROR_NETWORK: NetworkError,
    _c.WS_ERROR_MESSAGE_TOO_LARGE: MessageTooLarge,
    _c.WS_ERROR_HEARTBEAT_TIMEOUT: HeartbeatTimeout,
    _c.WS_ERROR_INTERNAL: InternalError,
    _c.WS_ERROR_PROXY: ProxyError,
}


def check(status: int) -> None:
    """Raise the exception for a failed call (status not WS_OK)."""
    if status != _c.WS_OK:
        raise from_status(status, _native.last_error_message())


def from_status(status: int, message: str) -> WebSocketError:
    """The exception for a failed call."""
    cls = _BY_STATUS.get(status, WebSocketError)
    return cls(message, status=status)


def from_event(kind: int, message: str, http_status: int = 0) -> WebSocketError:
    """The exception describing an error event."""
    cls = _BY_KIND.get(kind, WebSocketError)
    if cls is HandshakeError:
        return HandshakeError(message, http_status=http_status)
    if cls is ProxyError:
        return ProxyError(message, http_status=http_status)
    return cls(message)
