"""The library's log lines -> Python's ``logging`` (logger ``wsclient``).

Lazy: nothing is installed, and the library formats no line, until a
connection is made while the logger would show something (a handler is
configured somewhere on its way to the root and its effective level lets
records through). The level is read again at each new connection.
``WSCLIENT_LOG`` in the environment wins: its lines go to stderr as the
library writes them.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from typing import Any

from . import _c
from . import _native as native

logger = logging.getLogger("wsclient")

#: C level -> logging level (TRACE is below DEBUG, as level 5).
TRACE = 5
_TO_PY = {_c.WS_LOG_ERROR: logging.ERROR, _c.WS_LOG_WARN: logging.WARNING, _c.WS_LOG_INFO: logging.INFO,
          _c.WS_LOG_DEBUG: logging.DEBUG, _c.WS_LOG_TRACE: TRACE}

_installed = _c.WS_LOG_OFF
_lock = threading.Lock()


def c_level(py_level: int) -> int:
    """The C level that lets through what a logger of this effective level shows."""
    for c, py in sorted(_TO_PY.items(), key=lambda kv: kv[1]):
        if py_level <= py:
            return c
    return _c.WS_LOG_OFF  # above ERROR: CRITICAL only, which the library never logs


@native.LOGGER
def _log_line(level: int, handle: int, message: Any, _user_data: Any) -> None:
    # On any thread the library logs from. Nothing may escape into C.
    try:
        text = message.decode("utf-8", "replace") if message else ""
        if handle:
            text = f"[{handle:#018x}] {text}"
        logger.log(_TO_PY.get(level, logging.DEBUG), "%s", text, extra={"ws_handle": handle})
    except BaseException:  # noqa: BLE001 - a logging failure never reaches C
        pass


def sync() -> None:
    """Before a connection: (re)install the bridge at the level the logger wants now."""
    global _installed
    if os.environ.get("WSCLIENT_LOG"):
        return
    want = c_level(logger.getEffectiveLevel()) if logger.hasHandlers() else _c.WS_LOG_OFF
    if want == _installed:
        return
    with _lock:
        if want != _installed:
            if want == _c.WS_LOG_OFF:
                native.lib.ws_set_logger(_c.WS_LOG_OFF, native.LOGGER(), None)
            else:
                native.lib.ws_set_logger(want, _log_line, None)
            _installed = want


def uninstall() -> None:
    """At interpreter exit: no more calls into Python (returns once none runs)."""
    global _installed
    if _installed != _c.WS_LOG_OFF:
        native.lib.ws_set_logger(_c.WS_LOG_OFF, native.LOGGER(), None)
        _installed = _c.WS_LOG_OFF
