#!/usr/bin/env python3
"""The compression part of `make bench` (permessage-deflate, issue 17):
16 KiB JSON-like text messages echoed by a `ws` server that compresses
(bench/deflate_server.js), from our C client and our Node binding with
compression on and off, and from Node's `ws` client with it on and off, in
the pinned placements of bench/run.py, interleaved, medians of the rounds.
Per client: messages per second, the client's CPU per message (user +
system of all its threads, from wait4, after its timed loop began) and the
bytes on the wire per message, both ways (the server's count of the TCP
connection).

    python bench/deflate.py [--quick] [--rounds N]
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: placements, the child runner)

ROOT = bench.ROOT
C = str(bench.REL / "bench-wsclient-c")
NODE = ["node", str(ROOT / "bench/clients/node.js")]
CLIENTS = {
    "wsclient C, deflate": ([C], "1"),
    "wsclient C, off": ([C], "0"),
    "wsclient Node, deflate": (NODE + ["--client", "wsclient"], "1"),
    "ws (Node), deflate": (NODE + ["--client", "ws"], "1"),
    "ws (Node), off": (NODE + ["--client", "ws"], "0"),
}
SIZE = 16 << 10


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int)
    a = ap.parse_args()
    count, rounds = (400, 1) if a.quick else (4000, 5)
    rounds = a.rounds or rounds
    places, _ = bench.placements("one CPU,one CPU each")
    results = {p.name: {c: [] for c in CLIENTS} for p in places}
    for p in places:
        server = subprocess.Popen(["node", str(ROOT / "bench/deflate_server.js")], stdout=subprocess.PIPE,
                                  text=True, preexec_fn=bench.child_setup(p.server_cpus))
        try:
            url = json.loads(server.stdout.readline())["ws"]
            for _ in range(rounds):
                for name, (cmd, deflate) in CLIENTS.items():
                    args = ["--url", url, "--mode", "throughput", "--count", str(count), "--size", str(SIZE),
                            "--window", "8", "--payload", "json", "--deflate", deflate]
                    r = bench.run(cmd + args, 300, cpus=p.client_cpus)
                    wire = json.loads(server.stdout.readline()) if "error" not in r else {}
                    if wire:
                        r["wire_kib_per_msg"] = (wire["bytes_read"] + wire["bytes_written"]) / count / 1024
                        r["extensions"] = wire["extensions"]
                    results[p.name][name].append(r)
        finally:
            server.kill()
            server.wait()
    report(results, places, count, rounds)


def med(rs, key):
    xs = [r[key] for r in rs if key in r]
    return statistics.median(xs) if xs else None


def report(results, places, count, rounds):
    print(f"\n## Compression: {SIZE >> 10} KiB JSON-like text, echoed by ws with permessage-deflate "
          f"({count} messages, window 8, medians of {rounds} rounds)\n")
    for p in places:
        res = results[p.name]
        print(f"### {p.name}: {p.what}\n")
        print("| client | msg/s | client CPU µs/msg | wire KiB/msg (both ways) | agreed |")
        print("|---|---|---|---|---|")
        for name, rs in res.items():
            errs = [r["error"] for r in rs if "error" in r]
            if errs and len(errs) == len(rs):
                print(f"| {name} | error: {errs[0]} | | | |")
                continue
            ext = next((r.get("extensions") for r in rs if "extensions" in r), "")
            print(f"| {name} | {fmt(med(rs, 'msgs_per_s'), 0)} | {fmt(med(rs, 'cpu_us_per_msg'), 1)} | "
                  f"{fmt(med(rs, 'wire_kib_per_msg'), 2)} | {ext or 'none'} |")
        ours, peer = res["wsclient C, deflate"], res["ws (Node), deflate"]
        for key, what in (("cpu_us_per_msg", "client CPU per message"), ("wire_kib_per_msg", "bytes on the wire"),
                          ("msgs_per_s", "rate")):
            x, y = med(ours, key), med(peer, key)
            if x and y:
                print(f"\n- wsclient C vs ws (Node), both compressing: {what} {x / y:.2f}×", end="")
        print("\n")


def fmt(x, digits):
    return "—" if x is None else f"{x:,.{digits}f}"


if __name__ == "__main__":
    main()
