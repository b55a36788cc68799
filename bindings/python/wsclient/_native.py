"""The one place that knows the C ABI: finds and loads the shared library and
declares every function used, with its argument and result types.

The library is looked for, in order: bundled inside this package (the wheel
of `pip install libwsclient` carries it, prebuilt; `pip install
bindings/python` and the sdist build it with cargo), next to the package,
then at the path in the WSCLIENT_LIBRARY environment variable.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from ctypes import (
    POINTER,
    c_bool,
    c_char_p,
    c_double,
    c_int32,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, List, Tuple

from . import _c

LIB_NAME = "libwsclient.dylib" if sys.platform == "darwin" else "libwsclient.so"


def _candidates() -> List[Tuple[str, str]]:
    here = Path(__file__).resolve().parent
    found = [
        ("bundled in the package", str(here / LIB_NAME)),
        ("next to the package", str(here.parent / LIB_NAME)),
    ]
    env = os.environ.get("WSCLIENT_LIBRARY")
    found.append(("WSCLIENT_LIBRARY", env if env else "(not set)"))
    return found


def find_library() -> str:
    """Path of the shared library, or ImportError naming every place tried."""
    tried = _candidates()
    for _, path in tried:
        if os.path.isfile(path):
            return path
    lines = "\n".join(f"  {i + 1}. {where}: {path}" for i, (where, path) in enumerate(tried))
    raise ImportError(
        f"wsclient: cannot find the shared library {LIB_NAME}. Looked in:\n{lines}\n"
        f"No wheel with the library fits this platform ({sys.platform}, {platform.machine()}): "
        "install from source (`pip install --no-binary libwsclient libwsclient` builds it with cargo), "
        "or build it with `cargo build --release` and set WSCLIENT_LIBRARY to its path."
    )


#: C type (as the generated field lists name them) -> ctypes type.
_CTYPES = {
    "bool": c_bool,
    "int32_t": c_int32,
    "uint16_t": c_uint16,
    "uint32_t": c_uint32,
    "uint64_t": c_uint64,
    "size_t": c_size_t,
    "double": c_double,
    "const char *": c_char_p,
    "const uint8_t *": c_void_p,
    "const uint16_t *": POINTER(c_uint16),
    "void *": c_void_p,
}
#: Fields read another way than their C type says.
_FIELD_CTYPES = {("ws_event", "reason"): c_void_p}  # may hold NUL bytes: read reason_len bytes


def _fields(struct: str) -> List[Tuple[str, Any]]:
    """The ctypes ``_fields_`` of a struct of wsclient.h, from the generated layout."""
    out = []
    for name, ctype in _c.STRUCTS[struct]:
        t = _FIELD_CTYPES.get((struct, name)) or _CTYPES.get(ctype)
        if t is None:
            raise ImportError(f"wsclient: {struct}.{name} has the C type {ctype!r}, which _native.py does not map")
        out.append((name, t))
    return out


class Event(ctypes.Structure):
    """`ws_event` from wsclient.h."""

    _fields_ = _fields("ws_event")


class Stats(ctypes.Structure):
    """`ws_stats` from wsclient.h."""

    _fields_ = _fields("ws_stats")


CALLBACK = ctypes.CFUNCTYPE(None, POINTER(Event), c_void_p)
#: ws_log_fn: level, handle, message, user_data.
LOGGER = ctypes.CFUNCTYPE(None, c_int32, c_uint64, c_char_p, c_void_p)

_H = c_uint64  # ws_handle and ws_config
_S = c_int32  # ws_status

_PROTOTYPES = {
    "ws_version": (c_char_p, []),
    "ws_tls_backend": (c_char_p, []),
    "ws_status_str": (c_char_p, [c_int32]),
    "ws_last_error_message": (_S, [c_char_p, c_size_t, POINTER(c_size_t)]),
    "ws_config_new": (_S, [POINTER(_H)]),
    "ws_config_free": (_S, [_H]),
    "ws_create_with_config": (_S, [_H, POINTER(_H)]),
    "ws_set_callback": (_S, [_H, CALLBACK, c_void_p]),
    "ws_send": (_S, [_H, c_char_p, c_size_t, c_bool]),
    "ws_close": (_S, [_H, c_uint16, c_char_p]),
    "ws_free": (_S, [_H]),
    "ws_state": (_S, [_H, POINTER(c_int32)]),
    "ws_buffered_amount": (_S, [_H, POINTER(c_uint64)]),
    "ws_get_stats": (_S, [_H, POINTER(Stats)]),
    "ws_set_url": (_S, [_H, c_char_p]),
    "ws_queue_new": (_S, [POINTER(_H)]),
    "ws_queue_free": (_S, [_H]),
    "ws_queue_attach": (_S, [_H, _H]),
    "ws_queue_poll": (_S, [_H, POINTER(Event), c_size_t, c_int32, POINTER(c_size_t)]),
    "ws_set_header": (_S, [_H, c_char_p, c_char_p]),
    "ws_ping": (_S, [_H, c_char_p, c_size_t]),
    "ws_set_logger": (_S, [c_int32, LOGGER, c_void_p]),
    "ws_response_status": (_S, [_H, POINTER(c_uint16)]),
    "ws_response_headers": (_S, [_H, c_char_p, c_size_t, POINTER(c_size_t)]),
    "ws_extensions": (_S, [_H, c_char_p, c_size_t, POINTER(c_size_t)]),
    "ws_response_body": (_S, [_H, c_char_p, c_size_t, POINTER(c_size_t)]),
}
#: The config setters, from the header: cfg, then the option's arguments.
_PROTOTYPES.update({name: (_S, [_CTYPES[t] for _, t in params]) for name, params in _c.SETTERS.items()})


def _load() -> ctypes.CDLL:
    # CDLL (not PyDLL): the GIL is released during every call, so a call
    # that waits for a running callback lets that callback finish.
    lib = ctypes.CDLL(find_library())
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


lib = _load()


def read_buffer(fn: Any, handle: int) -> bytes:
    """The bytes a ``(handle, buf, len, *out_len)`` query gives (``WS_ERR_BUFFER_TOO_SMALL``: again, larger)."""
    size = 1024
    for _ in range(3):
        buf = ctypes.create_string_buffer(size)
        out = c_size_t(0)
        status = fn(handle, buf, size, ctypes.byref(out))
        if status == _c.WS_OK:
            return buf.raw[:out.value]
        if status != _c.WS_ERR_BUFFER_TOO_SMALL:
            return b""
        size = out.value + 1
    return b""


def last_error_message() -> str:
    """The message of the last failed call on this thread."""
    buf = ctypes.create_string_buffer(1024)
    needed = c_size_t(0)
    if lib.ws_last_error_message(buf, len(buf), ctypes.byref(needed)) != 0:
        buf = ctypes.create_string_buffer(needed.value + 1)
        lib.ws_last_error_message(buf, len(buf), None)
    return buf.value.decode("utf-8", "replace")
