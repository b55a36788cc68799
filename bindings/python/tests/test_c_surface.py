"""The binding's numbers, layouts and defaults are the header's and the library's.

The constants, enums and struct layouts come from ``wsclient/_c.py``, which
tools/gen_bindings.py generates from include/wsclient.h: these tests check
that the committed file, and the one of the installed package, are what the
header gives, and that options not given never reach the C config.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import pytest

import wsclient
from wsclient import _c, _native, _options

ROOT = Path(__file__).resolve().parents[3]
GEN = ROOT / "tools" / "gen_bindings.py"
HEADER = ROOT / "include" / "wsclient.h"

pytestmark = pytest.mark.skipif(not GEN.is_file(), reason="not run from a wsclient checkout")


def _gen() -> Any:
    spec = importlib.util.spec_from_file_location("gen_bindings", GEN)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _check(header: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, str(GEN), "--check", "--header", str(header)],
                          capture_output=True, text=True, timeout=60)


def test_the_committed_generated_files_are_what_the_header_gives():
    r = _check(HEADER)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("old, new", [
    ("#define WS_DEFAULT_QUEUE_MAX_MESSAGES 100000", "#define WS_DEFAULT_QUEUE_MAX_MESSAGES 100001"),
    ("WS_ERR_QUEUE_FULL = -8,", "WS_ERR_QUEUE_FULL = -80,"),
    ("  uint16_t http_status;", "  uint32_t http_status;"),
])
def test_the_check_fails_when_a_number_default_or_layout_differs(tmp_path, old, new):
    text = HEADER.read_text()
    assert old in text
    changed = tmp_path / "wsclient.h"
    changed.write_text(text.replace(old, new))
    r = _check(changed)
    assert r.returncode == 1
    assert "make bindings-gen" in r.stderr and "_c.py" in r.stderr and "c.js" in r.stderr


def test_the_output_depends_on_names_and_values_only():
    gen = _gen()
    text = HEADER.read_text()
    # Move the first enum to the end and the defines after it, and add comments.
    start = text.index("enum ws_status")
    end = text.index("typedef int32_t ws_status;", start)
    block = text[start:end]
    defines = [ln for ln in text.splitlines() if ln.startswith("#define WS_")]
    moved = text[:start] + text[end:]
    for ln in defines:
        moved = moved.replace(ln + "\n", "/* was here */\n")
    moved = moved.replace("#endif  /* WSCLIENT_H */", block + "\n" + "\n".join(reversed(defines))
                          + "\n// the end\n#endif  /* WSCLIENT_H */")
    assert moved != text
    parsed, reordered = gen.parse(text), gen.parse(moved)
    assert gen.render_python(parsed) == gen.render_python(reordered)
    assert gen.render_node(parsed) == gen.render_node(reordered)


def test_the_installed_binding_has_the_headers_numbers_and_layouts():
    parsed = _gen().parse(HEADER.read_text())
    for name, value in parsed["constants"].items():
        assert getattr(_c, name) == value, name
    for enum, members in parsed["enums"].items():
        assert _c.ENUMS[enum] == members, enum
        for name, value in members.items():
            assert getattr(_c, name) == value, name
    assert _c.STRUCTS == {name: list(fields) for name, fields in parsed["structs"].items()}
    assert [f[0] for f in _native.Event._fields_] == [f for f, _ in parsed["structs"]["ws_event"]]
    assert [f[0] for f in _native.Stats._fields_] == [f for f, _ in parsed["structs"]["ws_stats"]]


def test_the_loaded_library_matches_the_header():
    assert wsclient.library_version == _c.WSCLIENT_VERSION
    described = {_native.lib.ws_status_str(v).decode() for v in _c.ENUMS["ws_status"].values()}
    assert "unknown status" not in described
    assert len(described) == len(_c.ENUMS["ws_status"])
    assert {s.value for s in wsclient.State} == set(_c.ENUMS["ws_ready_state"].values())


class _Recording:
    """native.lib, recording the names and arguments of the ws_config_set_* calls."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.calls: List[Tuple[str, Tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self.lib, name)

        def call(*args: Any) -> Any:
            if name.startswith("ws_config_set_"):
                self.calls.append((name, args[1:]))
            return fn(*args)

        return call


def _config_calls(monkeypatch, **options) -> List[Tuple[str, Tuple[Any, ...]]]:
    rec = _Recording(_native.lib)
    monkeypatch.setattr(_native, "lib", rec)
    ws = wsclient.WebSocket("ws://127.0.0.1:1/", **options)
    ws.close(timeout=0)
    return rec.calls


def test_options_not_given_keep_the_librarys_defaults(monkeypatch):
    assert [name for name, _ in _config_calls(monkeypatch)] == ["ws_config_set_url"]
    calls = _config_calls(monkeypatch, reconnect=False, ping_interval=0, close_timeout=1.5)
    assert sorted(calls[1:]) == [("ws_config_set_close_timeout_ms", (1500,)),
                                 ("ws_config_set_ping_interval_ms", (0,)),
                                 ("ws_config_set_reconnect", (False,))]


def test_one_queue_limit_given_sets_that_limit_alone(monkeypatch):
    assert _config_calls(monkeypatch, queue_limit=7)[1:] == [("ws_config_set_queue_max_messages", (7,))]
    assert _config_calls(monkeypatch, queue_limit_bytes=4096)[1:] == [("ws_config_set_queue_max_bytes", (4096,))]


def test_a_queue_limit_given_alone_is_in_force():
    # Nothing listens on port 1: sends wait in the queue, which holds 3.
    ws = wsclient.WebSocket("ws://127.0.0.1:1/", queue_limit=3)
    try:
        for i in range(3):
            ws.send(f"m{i}")
        with pytest.raises(wsclient.QueueFull):
            ws.send("one too many")
    finally:
        ws.close(timeout=0)


def test_option_values_that_do_not_fit_the_c_type_raise():
    with pytest.raises(wsclient.InvalidArgument):
        wsclient.WebSocket("ws://127.0.0.1:1/", max_attempts=1 << 32)
    with pytest.raises(wsclient.InvalidArgument):
        wsclient.WebSocket("ws://127.0.0.1:1/", queue_limit=-1)
    with pytest.raises(TypeError):
        wsclient.WebSocket("ws://127.0.0.1:1/", max_redirects="3")
    assert _options.OPTION_NAMES <= _options.ALL_NAMES  # every C option is a keyword of WebSocket()
