"""Benchmark clients in Python: ours (wsclient), websocket-client, and the
websockets package's sync client. Same command line as every bench client;
prints one JSON line. Sends from the main thread and waits there."""

import argparse
import json
import os
import resource
import time


def rss_kib() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s() -> float:
    """CPU time of the whole process (every thread), user + system."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def connect(client: str, url: str, small: bool = False):
    if client == "wsclient":
        import wsclient

        opts = {"read_buffer_size": 4096} if small else {"ping_interval": 0}
        ws = wsclient.connect(url, **opts)
        return ws, ws.send, ws.recv
    if client == "websocket-client":
        import websocket

        ws = websocket.create_connection(url, enable_multithread=False)
        return ws, (lambda m: ws.send_binary(m) if isinstance(m, bytes) else ws.send(m)), ws.recv
    if client == "websockets":
        from websockets.sync.client import connect as wconnect

        ws = wconnect(url, max_size=None, compression=None, ping_interval=20 if small else None)
        return ws, ws.send, ws.recv
    raise SystemExit(f"unknown client {client}")


def main() -> None:
    p = argparse.ArgumentParser()
    for name, typ, default in (("client", str, "wsclient"), ("url", str, ""), ("mode", str, "rtt"),
                               ("count", int, 1000), ("size", int, 32), ("window", int, 1), ("hold", float, 30)):
        p.add_argument(f"--{name}", type=typ, default=default)
    a = p.parse_args()

    if a.mode == "connections":
        before = rss_kib()
        t0 = time.perf_counter()
        conns = [connect(a.client, a.url, small=True)[0] for _ in range(a.count)]
        open_s = time.perf_counter() - t0
        c0 = cpu_s()
        time.sleep(a.hold)
        print(json.dumps({"open_s": open_s, "rss_kib_before": before, "rss_kib_held": rss_kib(),
                          "cpu_s_idle": cpu_s() - c0, "count": len(conns)}), flush=True)
        os._exit(0)

    ws, send, recv = connect(a.client, a.url)
    payload = b"x" * a.size if a.size > 1024 else "x" * a.size
    times = []
    sent = got = 0
    cpu0 = cpu_s()  # the harness counts the CPU used after this: the loop, the close, the exit
    t0 = time.perf_counter()
    if a.window == 1:
        for _ in range(a.count):
            t = time.perf_counter()
            send(payload)
            recv()
            times.append(time.perf_counter() - t)
    else:
        while sent < min(a.window, a.count):
            send(payload)
            sent += 1
        while got < a.count:
            recv()
            got += 1
            if sent < a.count:
                send(payload)
                sent += 1
    secs = time.perf_counter() - t0
    out = {"msgs_per_s": a.count / secs, "mib_per_s": a.count * a.size / secs / 2**20, "cpu_s_start": cpu0,
           "count": a.count}
    if times:
        times.sort()
        out.update(p50_us=times[len(times) // 2] * 1e6, p99_us=times[len(times) * 99 // 100] * 1e6,
                   mean_us=sum(times) / len(times) * 1e6)
    print(json.dumps(out), flush=True)
    ws.close()


main()
