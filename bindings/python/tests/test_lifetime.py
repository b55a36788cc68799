"""Callbacks, garbage collection, threads, interpreter exit and Ctrl-C."""

import gc
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

import wsclient

from conftest import task_count


def test_callback_exceptions_are_logged_and_survived(server, caplog):
    got = []
    done = threading.Event()

    def on_message(ws, msg):
        if msg == "boom":
            raise RuntimeError("callback failed")
        got.append(msg)
        done.set()

    with caplog.at_level(logging.ERROR, logger="wsclient"):
        ws = wsclient.connect(server.url, on_message=on_message)
        ws.send("boom")
        ws.send("after")
        assert done.wait(5)
        ws.close()
    assert got == ["after"]
    assert "callback failed" in caplog.text
    assert "on_message" in caplog.text


def test_callbacks_can_send_and_close_on_their_own_connection(server):
    closed = threading.Event()
    seen = []

    def on_open(ws):
        ws.send("from on_open")

    def on_message(ws, msg):
        seen.append(msg)
        ws.close(4000, "enough")

    ws = wsclient.WebSocket(server.url, on_open=on_open, on_message=on_message,
                            on_close=lambda ws, code, reason: closed.set())
    assert closed.wait(5)
    assert seen == ["from on_open"]
    assert ws.close_code == 4000
    ws.close()


def test_garbage_collected_without_close(server):
    before = task_count()
    for _ in range(5):
        ws = wsclient.connect(server.url)
        ws.send("x")
        del ws
    gc.collect()
    deadline = time.monotonic() + 5
    while task_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert task_count() <= before


def test_100_sockets_opened_and_closed_leave_no_threads(server):
    before = task_count()
    sockets = [wsclient.WebSocket(server.url) for _ in range(100)]
    for ws in sockets:
        ws.wait_open(10)
    assert task_count() >= before + 100
    for ws in sockets:
        ws.close()
    deadline = time.monotonic() + 5
    while task_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert task_count() <= before


def _run(script: str, timeout: float = 20, cwd: str = "/", env: dict = None) -> subprocess.CompletedProcess:
    # From "/" so that the installed package is imported, not the source tree.
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=timeout, env=env if env is not None else os.environ.copy(), cwd=cwd)


def test_missing_library_error_names_all_three_places(tmp_path):
    import shutil

    src = os.path.dirname(wsclient.__file__)
    shutil.copytree(src, tmp_path / "wsclient", ignore=shutil.ignore_patterns("*.so", "*.dylib", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "WSCLIENT_LIBRARY"}
    r = _run("import wsclient", cwd=str(tmp_path), env=env)
    assert r.returncode != 0
    import platform

    for place in ("bundled in the package", "next to the package", "WSCLIENT_LIBRARY", platform.machine()):
        assert place in r.stderr, r.stderr
    env["WSCLIENT_LIBRARY"] = os.path.join(src, "libwsclient.so")
    r = _run("import wsclient; print(wsclient.library_version)", cwd=str(tmp_path), env=env)
    assert r.returncode == 0 and r.stdout.strip() == wsclient.library_version, r.stderr


def test_interpreter_exit_with_open_sockets(server):
    r = _run(f"""
        import wsclient
        keep = [wsclient.WebSocket("{server.url}", on_message=lambda ws, m: None) for _ in range(3)]
        keep[0].wait_open(5)
        keep[0].send("x")
        print("exiting with open sockets")
    """)
    assert r.returncode == 0, r.stderr
    assert "exiting" in r.stdout


def test_ctrl_c_interrupts_a_blocking_recv_promptly(server):
    r = _run(f"""
        import os, signal, sys, threading, time, wsclient
        # Run in the background by a non-interactive shell, this process
        # starts with SIGINT ignored, and Python then installs no handler:
        # restore the one an interactive run has.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        ws = wsclient.connect("{server.url}")
        main = threading.main_thread()

        def in_recv():
            f = sys._current_frames().get(main.ident)
            while f is not None:
                if f.f_code.co_name == "recv" and "wsclient" in f.f_code.co_filename:
                    return True
                f = f.f_back
            return False

        def interrupt():
            # Once the main thread is blocked in recv(), not before.
            while not in_recv():
                time.sleep(0.01)
            global sent
            sent = time.monotonic()
            os.kill(os.getpid(), signal.SIGINT)

        sent = None
        threading.Thread(target=interrupt, daemon=True).start()
        try:
            ws.recv()
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - sent, 2))
    """)
    assert r.returncode == 0, r.stderr
    assert "interrupted after" in r.stdout, r.stdout
    # Without the interrupt recv() would wait forever (no message comes): a
    # generous bound, not a timing claim.
    assert float(r.stdout.split()[-1]) < 5.0


def test_assigning_a_callback_later_keeps_every_message_in_order(server):
    ws = wsclient.connect(server.url)  # no callbacks: the fast pull mode
    for i in range(5):
        ws.send(f"m{i}")
    _wait_received(ws, 5)
    assert ws.recv(5) == "m0"  # that read took m1..m4 into the local inbox too
    for i in range(5, 10):
        ws.send(f"m{i}")
    _wait_received(ws, 10)  # m5..m9 wait in the library's queue
    got = []
    done = threading.Event()

    def on_message(w, msg):
        got.append(msg)
        if msg == "m11":
            done.set()

    ws.on_message = on_message  # switches to callbacks
    ws.send("m10")
    ws.send("m11")
    assert done.wait(5)
    assert got == [f"m{i}" for i in range(1, 12)]
    ws.close()


def _wait_received(ws, n: int, timeout: float = 10) -> None:
    """Until the library has received n messages (a bound, not a window)."""
    deadline = time.monotonic() + timeout
    while ws.stats.messages_received < n:
        assert time.monotonic() < deadline, ws.stats
        time.sleep(0.01)
