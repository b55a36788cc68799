"""Options of ``WebSocket()`` -> the C config: only the options given are
passed, so every other one keeps the library's default (the ``WS_DEFAULT_*``
of wsclient.h). ``Options`` is their one typed list: ``WebSocket()``,
``connect()`` and ``wsclient.aio`` take it as keyword arguments."""

from __future__ import annotations

import ctypes
import difflib
import ssl as _ssl
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypedDict, Union

from . import _errors as errors
from ._errors import check

if TYPE_CHECKING:
    from ._client import Message, WebSocket

#: Option -> (C setter, kind of its value). Only the options given are
#: passed: the others keep the library's defaults.
_OPTIONS: Dict[str, Tuple[str, str]] = {
    "connect_timeout": ("ws_config_set_connect_timeout_ms", "ms"),
    "handshake_timeout": ("ws_config_set_handshake_timeout_ms", "ms"),
    "receive_max_events": ("ws_config_set_receive_max_events", "u64"),
    "receive_max_bytes": ("ws_config_set_receive_max_bytes", "u64"),
    "max_frame_size": ("ws_config_set_max_frame_size", "size"),
    "close_timeout": ("ws_config_set_close_timeout_ms", "ms"),
    "ping_interval": ("ws_config_set_ping_interval_ms", "ms"),
    "pong_timeout": ("ws_config_set_pong_timeout_ms", "ms"),
    "ping_payload": ("ws_config_set_ping_payload", "text"),
    "reconnect": ("ws_config_set_reconnect", "bool"),
    "initial_delay": ("ws_config_set_initial_delay_ms", "ms"),
    "max_delay": ("ws_config_set_max_delay_ms", "ms"),
    "multiplier": ("ws_config_set_backoff_multiplier", "float"),
    "jitter": ("ws_config_set_backoff_jitter", "float"),
    "max_attempts": ("ws_config_set_max_attempts", "u32"),
    "max_redirects": ("ws_config_set_max_redirects", "u32"),
    "min_uptime": ("ws_config_set_min_uptime_ms", "ms"),
    "final_close_codes": ("ws_config_set_final_close_codes", "u16s"),
    "fatal_http_statuses": ("ws_config_set_fatal_http_statuses", "u16s"),
    "queue_while_disconnected": ("ws_config_set_queue_while_disconnected", "bool"),
    "max_message_size": ("ws_config_set_max_message_size", "size"),
    "read_buffer_size": ("ws_config_set_read_buffer_size", "size"),
    "ca_file": ("ws_config_set_ca_file", "text"),
    "client_cert": ("ws_config_set_client_cert", "paths"),
    "insecure": ("ws_config_set_insecure", "bool"),
    "seed": ("ws_config_set_random_seed", "u64"),
    "permessage_deflate": ("ws_config_set_permessage_deflate", "bool"),
    "deflate_threshold": ("ws_config_set_deflate_threshold", "size"),
    "deflate_level": ("ws_config_set_deflate_level", "u32"),
    "deflate_client_max_window_bits": ("ws_config_set_deflate_client_max_window_bits", "u32"),
    "deflate_server_max_window_bits": ("ws_config_set_deflate_server_max_window_bits", "u32"),
    "deflate_server_no_context_takeover": ("ws_config_set_deflate_server_no_context_takeover", "bool"),
    "deflate_client_no_context_takeover": ("ws_config_set_deflate_client_no_context_takeover", "bool"),
    "queue_limit": ("ws_config_set_queue_max_messages", "u64"),
    "queue_limit_bytes": ("ws_config_set_queue_max_bytes", "u64"),
    "server_hostname": ("ws_config_set_server_name", "text"),
    "user_agent": ("ws_config_set_user_agent", "text"),
    "proxy": ("ws_config_set_proxy", "text"),
    "proxy_from_env": ("ws_config_set_proxy_from_env", "bool"),
    "proxy_auth": ("ws_config_set_proxy_auth", "paths"),
}
_BITS = {"u16": 16, "u32": 32, "u64": 64, "size": 8 * ctypes.sizeof(ctypes.c_size_t)}

Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]]]


class ConnectionOptions(TypedDict, total=False):
    """The keyword options of a connection (all but ``on_message``, which
    ``wsclient.aio`` uses itself). None, or an option not given, keeps the
    library's default. Times are in seconds."""

    headers: Optional[Headers]
    subprotocols: Optional[Sequence[str]]
    connect_timeout: Optional[float]
    handshake_timeout: Optional[float]
    receive_max_events: Optional[int]
    receive_max_bytes: Optional[int]
    max_frame_size: Optional[int]
    close_timeout: Optional[float]
    ping_interval: Optional[float]
    pong_timeout: Optional[float]
    ping_payload: Optional[str]
    reconnect: Optional[bool]
    initial_delay: Optional[float]
    max_delay: Optional[float]
    multiplier: Optional[float]
    jitter: Optional[float]
    max_attempts: Optional[int]
    max_redirects: Optional[int]
    min_uptime: Optional[float]
    final_close_codes: Optional[Sequence[int]]
    fatal_http_statuses: Optional[Sequence[int]]
    queue_limit: Optional[int]
    queue_limit_bytes: Optional[int]
    queue_while_disconnected: Optional[bool]
    max_message_size: Optional[int]
    read_buffer_size: Optional[int]
    ca_file: Optional[str]
    client_cert: Optional[Tuple[str, str]]
    insecure: Optional[bool]
    #: An ``ssl.SSLContext`` or a mapping of its options (websocket-client's ``sslopt``).
    ssl: Optional[Union[_ssl.SSLContext, Mapping[str, Any], bool]]
    #: The TLS server name (SNI and the name verified) instead of the URL's host.
    server_hostname: Optional[str]
    #: The User-Agent header ("" sends none); the default is ``wsclient/VERSION``.
    user_agent: Optional[str]
    #: ``http://``, ``https://``, ``socks5://`` or ``socks5h://`` proxy, with
    #: ``user:password@`` if it needs them; "" goes direct. The default is the
    #: environment's (``https_proxy``, ``http_proxy``, ``all_proxy``, ``no_proxy``).
    proxy: Optional[str]
    #: Whether the environment's proxy variables apply (default True).
    proxy_from_env: Optional[bool]
    #: ``(user, password)`` for the proxy, instead of those in its URL.
    proxy_auth: Optional[Tuple[str, str]]
    #: ``recv()`` raises ``ConnectionClosed`` (``reconnecting`` True) when an
    #: open connection ends and a reconnect follows, instead of going on silently.
    raise_on_disconnect: Optional[bool]
    seed: Optional[int]
    #: permessage-deflate (RFC 7692), offered by default; False turns it off.
    permessage_deflate: Optional[bool]
    #: Messages shorter than this many bytes go uncompressed (default 1024).
    deflate_threshold: Optional[int]
    #: The deflate level, 0 to 9 (default 6).
    deflate_level: Optional[int]
    #: Cap our compression window (8 to 15); 0 (default) lets the server pick.
    deflate_client_max_window_bits: Optional[int]
    #: Ask the server for this window at most (8 to 15); 0 (default) asks nothing.
    deflate_server_max_window_bits: Optional[int]
    #: Ask the server to reset its compressor after each message.
    deflate_server_no_context_takeover: Optional[bool]
    #: Reset ours after each message.
    deflate_client_no_context_takeover: Optional[bool]
    on_open: Optional[Callable[["WebSocket"], Any]]
    on_error: Optional[Callable[["WebSocket", errors.WebSocketError], Any]]
    on_close: Optional[Callable[["WebSocket", int, str], Any]]
    on_reconnecting: Optional[Callable[["WebSocket", int, float, errors.WebSocketError], Any]]
    on_ping: Optional[Callable[["WebSocket", bytes], Any]]
    on_pong: Optional[Callable[["WebSocket", bytes], Any]]


class Options(ConnectionOptions, total=False):
    """Every keyword option of ``WebSocket()`` and ``connect()``."""

    on_message: Optional[Callable[["WebSocket", "Message"], Any]]


#: Every option name of ``WebSocket()`` that goes to the C config.
OPTION_NAMES = frozenset(_OPTIONS)
#: The callbacks, in the order of ``WebSocket``'s attributes.
CALLBACKS = ("on_open", "on_message", "on_error", "on_close", "on_reconnecting", "on_pong", "on_ping")
#: Every keyword option ``WebSocket()`` takes.
ALL_NAMES = frozenset(Options.__required_keys__ | Options.__optional_keys__)


def check_names(where: str, names: Any, allowed: "frozenset[str]" = ALL_NAMES) -> None:
    """A TypeError, as Python gives for a misspelt keyword, naming the closest option."""
    for name in names:
        if name not in allowed:
            close = difflib.get_close_matches(name, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(f"{where} got an unexpected keyword argument {name!r}{hint}")


def _uint(name: str, value: int, kind: str) -> int:
    """An integer that fits the C type (ctypes would wrap it); the library checks its range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value < 1 << _BITS[kind]:
        raise errors.InvalidArgument(f"{name} must be between 0 and {(1 << _BITS[kind]) - 1}, got {value}")
    return value


def _args(name: str, kind: str, value: Any) -> Tuple[Any, ...]:
    """The C setter's arguments after the config, for an option's value."""
    if kind == "ms":
        if value < 0:
            raise errors.InvalidArgument(f"{name} must not be negative, got {value}")
        return (_uint(name, int(round(value * 1000)), "u32"),)
    if kind in _BITS:
        return (_uint(name, value, kind),)
    if kind == "u16s":
        return (ctypes.c_uint16 * len(value))(*(_uint(name, v, "u16") for v in value)), len(value)
    if kind == "paths":
        return tuple(str(path).encode() for path in value)
    if kind == "text":
        return (str(value).encode(),)
    return (bool(value),) if kind == "bool" else (float(value),)


# --- TLS: an ssl.SSLContext-shaped subset -> the C setters -------------------------------------

#: The keys of ``ssl={...}`` (websocket-client's ``sslopt`` and ``SSLContext``'s argument names).
SSL_KEYS = ("ca_certs", "cafile", "cadata", "certfile", "keyfile", "password", "server_hostname",
            "check_hostname", "cert_reqs")
_UNMAPPED = {
    "ciphers": "the cipher list is OpenSSL's default",
    "ecdh_curve": "the curves are OpenSSL's defaults",
    "ssl_version": "the TLS version is negotiated (1.2 or later)",
    "ca_cert_path": "give the CA certificates as ca_certs (a file) or cadata (PEM text)",
    "capath": "give the CA certificates as cafile (a file) or cadata (PEM text)",
    "context": "pass the SSLContext itself as ssl=",
}


def _der_to_pem(der: bytes) -> str:
    """DER certificates, one after the other (as SSLContext's cadata takes them), as PEM."""
    out, i = [], 0
    while i < len(der):
        if der[i] != 0x30 or i + 2 > len(der):
            raise errors.InvalidArgument("cadata: bytes that are not DER certificates")
        n = der[i + 1]
        head = 2
        if n & 0x80:
            width = n & 0x7F
            n, head = int.from_bytes(der[i + 2:i + 2 + width], "big"), 2 + width
        out.append(_ssl.DER_cert_to_PEM_cert(der[i:i + head + n]))
        i += head + n
    return "".join(out)


def _verification(cert_reqs: Any, check_hostname: Any) -> List[Tuple[str, Tuple[Any, ...]]]:
    if cert_reqs == _ssl.CERT_NONE:
        return [("ws_config_set_insecure", (True,))]
    if cert_reqs == _ssl.CERT_OPTIONAL:
        raise errors.InvalidArgument("ssl: cert_reqs=CERT_OPTIONAL cannot be mapped: the server's certificate is "
                                     "always verified (CERT_REQUIRED) unless cert_reqs=CERT_NONE turns it off")
    if check_hostname is False:
        raise errors.InvalidArgument("ssl: check_hostname=False with verification on cannot be mapped: give the "
                                     "name the certificate holds as server_hostname=, or cert_reqs=CERT_NONE "
                                     "to turn verification off (tests only)")
    return []


def _password(value: Any) -> bytes:
    if callable(value):
        value = value()
    return value.encode() if isinstance(value, str) else bytes(value)


def ssl_calls(value: Any) -> List[Tuple[str, Tuple[Any, ...]]]:
    """The C setter calls for ``ssl=``: an ``ssl.SSLContext``, a mapping of
    ``SSL_KEYS``, or True (the defaults). A clear error for what cannot be mapped."""
    if value is True:
        return []
    if isinstance(value, _ssl.SSLContext):
        calls = _verification(value.verify_mode, value.check_hostname)
        # What load_verify_locations loaded (cafile, cadata); the system's roots stay trusted.
        cas = value.get_ca_certs(binary_form=True)
        if cas and value.verify_mode != _ssl.CERT_NONE:
            calls.append(("ws_config_set_ca_pem", ("".join(map(_ssl.DER_cert_to_PEM_cert, cas)).encode(),)))
        return calls
    if not isinstance(value, Mapping):
        raise TypeError(f"ssl must be an ssl.SSLContext or a mapping, not {type(value).__name__}")
    for key in value:
        if key not in SSL_KEYS:
            why = _UNMAPPED.get(key, "it has no counterpart in wsclient")
            raise errors.InvalidArgument(f"ssl: {key!r} cannot be mapped ({why}); the keys wsclient takes are "
                                         + ", ".join(SSL_KEYS))
    calls = _verification(value.get("cert_reqs"), value.get("check_hostname"))
    for key in ("ca_certs", "cafile"):
        if value.get(key) is not None:
            calls.append(("ws_config_set_ca_file", (str(value[key]).encode(),)))
    cadata = value.get("cadata")
    if cadata is not None:
        pem = cadata if isinstance(cadata, str) else _der_to_pem(bytes(cadata))
        calls.append(("ws_config_set_ca_pem", (pem.encode(),)))
    if value.get("password") is not None:  # before the certificate, whose key it opens
        calls.append(("ws_config_set_client_key_password", (_password(value["password"]),)))
    certfile = value.get("certfile")
    if certfile is not None:
        keyfile = value.get("keyfile") or certfile  # as load_cert_chain: the key may be in the certfile
        calls.append(("ws_config_set_client_cert", (str(certfile).encode(), str(keyfile).encode())))
    elif value.get("keyfile") is not None:
        raise errors.InvalidArgument("ssl: keyfile without certfile")
    if value.get("server_hostname") is not None:
        calls.append(("ws_config_set_server_name", (str(value["server_hostname"]).encode(),)))
    return calls


def configure(lib: Any, cfg: int, url: str, options: Mapping[str, Any]) -> None:
    """Pass the URL and every option given (not None) to the C config."""
    check(lib.ws_config_set_url(cfg, url.encode()))
    headers = options.get("headers")
    for name, value in headers.items() if isinstance(headers, Mapping) else (headers or []):
        check(lib.ws_config_add_header(cfg, name.encode(), value.encode()))
    for p in options.get("subprotocols") or []:
        check(lib.ws_config_add_subprotocol(cfg, p.encode()))
    if options.get("ssl") is not None:
        for setter, args in ssl_calls(options["ssl"]):
            check(getattr(lib, setter)(cfg, *args))
    for name, value in options.items():
        if value is not None and name in _OPTIONS:
            setter, kind = _OPTIONS[name]
            check(getattr(lib, setter)(cfg, *_args(name, kind, value)))
    if options.get("on_ping") is not None:
        check(lib.ws_config_set_ping_events(cfg, True))
