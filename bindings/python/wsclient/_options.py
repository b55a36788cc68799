"""Options of ``WebSocket()`` -> the C config: only the options given are
passed, so every other one keeps the library's default (the ``WS_DEFAULT_*``
of wsclient.h)."""

from __future__ import annotations

import ctypes
from typing import Any, Dict, Tuple

from . import _errors as errors
from ._errors import check

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
    "queue_limit": ("ws_config_set_queue_max_messages", "u64"),
    "queue_limit_bytes": ("ws_config_set_queue_max_bytes", "u64"),
}
_BITS = {"u16": 16, "u32": 32, "u64": 64, "size": 8 * ctypes.sizeof(ctypes.c_size_t)}


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


def configure(lib: Any, cfg: int, url: str, headers: Any, subprotocols: Any, options: Dict[str, Any]) -> None:
    """Pass the URL and every option given (not None) to the C config."""
    check(lib.ws_config_set_url(cfg, url.encode()))
    for name, value in headers.items() if isinstance(headers, dict) else (headers or []):
        check(lib.ws_config_add_header(cfg, name.encode(), value.encode()))
    for p in subprotocols or []:
        check(lib.ws_config_add_subprotocol(cfg, p.encode()))
    for name, value in options.items():
        if value is not None:
            setter, kind = _OPTIONS[name]
            check(getattr(lib, setter)(cfg, *_args(name, kind, value)))


#: Every option name of ``WebSocket()`` that goes to the C config.
OPTION_NAMES = frozenset(_OPTIONS)
