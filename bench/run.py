#!/usr/bin/env python3
"""`make bench`: every client in every mode against one echo server on
127.0.0.1, interleaved (A B C ... A B C ...) so the machine's drift hits all
alike; prints a table of medians with min-max and ratios, checks the
targets, and writes latest.md and latest.png: into target/bench (not
tracked), or with --record into bench/results, the committed results.

    python bench/run.py [--quick] [--rounds N] [--only NAMES] [--record | --out DIR]
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
REL = TARGET / "release"
PY = sys.executable
RECORDED = ROOT / "bench" / "results"

FULL = {
    "rtt": dict(count=20000, size=32, window=1),
    "throughput": dict(count=200000, size=64, window=128),
    "bandwidth": dict(count=500, size=1 << 20, window=4),
    "connections": dict(count=1000, size=0, window=0, hold=30),
}
QUICK = {
    "rtt": dict(count=2000, size=32, window=1),
    "throughput": dict(count=20000, size=64, window=128),
    "bandwidth": dict(count=50, size=1 << 20, window=4),
    "connections": dict(count=100, size=0, window=0, hold=1),
}

# name -> (command, which server URL)
CLIENTS = {
    "raw-tcp": ([str(REL / "examples" / "bench_rust"), "--client", "raw-tcp"], "tcp"),
    "tungstenite": ([str(REL / "examples" / "bench_rust"), "--client", "tungstenite"], "ws"),
    "wsclient C": ([str(REL / "bench-wsclient-c")], "ws"),
    "wsclient Python": ([PY, str(ROOT / "bench/clients/python.py"), "--client", "wsclient"], "ws"),
    "websocket-client": ([PY, str(ROOT / "bench/clients/python.py"), "--client", "websocket-client"], "ws"),
    "websockets": ([PY, str(ROOT / "bench/clients/python.py"), "--client", "websockets"], "ws"),
    "wsclient Node": (["node", str(ROOT / "bench/clients/node.js"), "--client", "wsclient"], "ws"),
    "ws (Node)": (["node", str(ROOT / "bench/clients/node.js"), "--client", "ws"], "ws"),
}

METRIC = {"rtt": ("p50_us", "µs p50", False), "throughput": ("msgs_per_s", "msg/s", True),
          "bandwidth": ("mib_per_s", "MiB/s", True), "connections": ("kib_per_conn", "KiB/conn", False)}


def raise_fd_limit() -> None:
    """Each wsclient connection holds 3 fds (socket and wake-up pipe): 10,000
    connections need more than the usual hard limit, which root may raise."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (65536, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
            return
        except (ValueError, OSError):
            continue


def run(cmd, timeout):
    """Run a client; its JSON line plus peak RSS (KiB) from wait4."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=raise_fd_limit)
    killer = threading.Timer(timeout, p.kill)
    killer.start()
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    killer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": (err.strip().splitlines() or [f"exit {p.returncode}"])[-1][:200]}
    r = json.loads(lines[-1])
    r["peak_rss_kib"] = usage.ru_maxrss
    if "count" in r and "rss_kib_held" in r:
        r["kib_per_conn"] = (r["rss_kib_held"] - r["rss_kib_before"]) / max(1, r["count"])
        r["cpu_pct_idle"] = r["cpu_s_idle"] / r.get("hold", 1) * 100
    return r


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except Exception:  # noqa: BLE001
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated client names")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--record", action="store_true", help=f"write the results into {RECORDED.relative_to(ROOT)}")
    where.add_argument("--out", type=Path, default=TARGET / "bench", help="where to write the results otherwise")
    a = ap.parse_args()
    a.out = RECORDED if a.record else a.out
    modes = QUICK if a.quick else FULL
    clients = {k: v for k, v in CLIENTS.items() if not a.only or k in a.only.split(",")}
    raise_fd_limit()
    server = subprocess.Popen([str(REL / "examples" / "bench_server")], stdout=subprocess.PIPE, text=True)
    urls = json.loads(server.stdout.readline())
    started = time.time()
    results = {m: {c: [] for c in clients} for m in modes}
    try:
        for rnd in range(a.rounds):
            for mode, spec in modes.items():
                if mode == "connections" and rnd > 0:
                    continue  # held for `hold` seconds each: one round
                for name, (cmd, which) in clients.items():
                    args = ["--url", urls[which], "--mode", mode]
                    for k in ("count", "size", "window", "hold"):
                        if k in spec:
                            args += [f"--{k}", str(spec[k])]
                    r = run(cmd + args, timeout=300)
                    if mode == "connections" and "hold" in spec and "cpu_s_idle" in r:
                        r["cpu_pct_idle"] = r["cpu_s_idle"] / spec["hold"] * 100
                    results[mode][name].append(r)
                    print(f"round {rnd + 1} {mode:11} {name:17} {summary(mode, r)}", flush=True)
        big = None
        if not a.quick and "wsclient C" in clients:
            # 10,000 if the fd limit allows (2 fds per connection), else as many as fit.
            n = min(10000, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 64) // 2)
            spec = dict(count=n, hold=30)
            big = run(CLIENTS["wsclient C"][0] + ["--url", urls["ws"], "--mode", "connections",
                                                  "--count", str(n), "--hold", "30"], timeout=600)
            if "cpu_s_idle" in big:
                big["cpu_pct_idle"] = big["cpu_s_idle"] / spec["hold"] * 100
            print(f"{n} connections, wsclient C: {summary('connections', big)}", flush=True)
    finally:
        server.kill()
    report(results, modes, a, big, time.time() - started)


def summary(mode, r):
    if "error" in r:
        return f"ERROR {r['error']}"
    if mode == "connections":
        return (f"{r['kib_per_conn']:.0f} KiB/conn, idle CPU {r.get('cpu_pct_idle', 0):.2f} %, "
                f"open all {r['open_s']:.2f} s, peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB")
    key, unit, _ = METRIC[mode]
    extra = f" p99 {r['p99_us']:.0f} mean {r['mean_us']:.0f}" if mode == "rtt" else ""
    return f"{r[key]:.1f} {unit}{extra}, peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB"


def med(rs, key):
    xs = [r[key] for r in rs if key in r]
    return (statistics.median(xs), min(xs), max(xs)) if xs else None


def report(results, modes, a, big, took):
    lines = []
    for mode in modes:
        key, unit, higher = METRIC[mode]
        base = med(results[mode].get("tungstenite", []), key)
        lines.append(f"\n### {mode} ({unit}{', higher is better' if higher else ', lower is better'})\n")
        if mode == "connections":
            lines.append("| client | KiB per connection | idle CPU % | open all (s) | peak RSS (MiB) |")
            lines.append("|---|---|---|---|---|")
        else:
            lines.append(f"| client | median {unit} | min-max | vs tungstenite | peak RSS (MiB) |")
            lines.append("|---|---|---|---|---|")
        for name, rs in results[mode].items():
            m = med(rs, key)
            if m is None:
                err = next((r["error"] for r in rs if "error" in r), "no result")
                lines.append(f"| {name} | n/a ({err}) | | | |")
                continue
            rss = max(r.get("peak_rss_kib", 0) for r in rs) / 1024
            if mode == "connections":
                r = rs[0]
                lines.append(f"| {name} | {m[0]:.0f} | {r.get('cpu_pct_idle', 0):.2f} | {r['open_s']:.2f} | {rss:.0f} |")
            else:
                ratio = f"{m[0] / base[0]:.2f}x" if base else ""
                lines.append(f"| {name} | {m[0]:,.1f} | {m[1]:,.1f}-{m[2]:,.1f} | {ratio} | {rss:.0f} |")
    if big:
        lines.append(f"\n{big.get('count', '?')} idle connections, wsclient C: {summary('connections', big)}")
    targets = check_targets(results, big)
    table = "\n".join(lines)
    print(table)
    print("\nTargets:\n" + "\n".join(targets))
    a.out.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.platform()}, {os.cpu_count()} cores, {cpu_model()}"
    versions = ", ".join([version(["rustc", "--version"]), f"Python {platform.python_version()}",
                          f"Node {version(['node', '--version'])}"])
    make = "make bench-quick" if a.quick else "make bench RECORD=1" if a.record else "make bench"
    doc = [
        "# Benchmark results", "",
        f"- Machine: {machine}", f"- Versions: {versions}",
        f"- Command: `python bench/run.py{' --quick' if a.quick else ''} --rounds {a.rounds}"
        f"{' --record' if a.record else ''}` ({make}), {took:.0f} s",
        f"- Modes: {json.dumps(modes)}",
        "- Medians over the rounds (connections: one run), interleaved client by client; ratios are to "
        "raw tungstenite measured in the same run.", table, "", "## Targets", "", *targets, "",
    ]
    (a.out / "latest.md").write_text("\n".join(doc))
    drawn = chart(results, modes, a.out)
    print(f"\nwrote {a.out / 'latest.md'}" + (f" and {a.out / 'latest.png'}" if drawn else ""))


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def check_targets(results, big):
    def m(mode, client, key=None):
        r = med(results.get(mode, {}).get(client, []), key or METRIC[mode][0])
        return r[0] if r else None

    out = []

    def line(name, value, ok):
        out.append(f"- {'pass' if ok else 'FALLS SHORT'}: {name} ({value})")

    def ratio(mode, a, b, limit, le):
        x, y = m(mode, a), m(mode, b)
        if x is None or y is None:
            out.append(f"- n/a: {mode} {a} vs {b}")
            return
        r = x / y
        line(f"{mode} {a} {'≤' if le else '≥'} {limit}× {b}", f"{r:.2f}×", r <= limit if le else r >= limit)

    ratio("rtt", "wsclient C", "tungstenite", 1.25, True)
    ratio("throughput", "wsclient C", "tungstenite", 1.0, False)
    ratio("bandwidth", "wsclient C", "tungstenite", 0.9, False)
    ratio("throughput", "wsclient Python", "websocket-client", 3.0, False)
    ratio("throughput", "wsclient Python", "websockets", 1.5, False)
    ratio("rtt", "wsclient Python", "websocket-client", 1.0, True)
    ratio("throughput", "wsclient Node", "ws (Node)", 1.0, False)
    ratio("rtt", "wsclient Node", "ws (Node)", 1.0, True)
    if big and "kib_per_conn" in big:
        n = big["count"]
        per10k = big["kib_per_conn"] * 10000 / 1024 + big["rss_kib_before"] / 1024
        line(f"10,000 idle connections under 1 GiB resident (ran {n}; {big['kib_per_conn']:.0f} KiB each)",
             f"{per10k:.0f} MiB for 10,000", per10k < 1024)
        line(f"10,000 idle connections under 5 % of one core (ran {n})", f"{big['cpu_pct_idle']:.2f} %",
             big["cpu_pct_idle"] < 5)
    else:
        out.append("- n/a: 10,000 connections (full run only)")
    return out


def chart(results, modes, out):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no chart")
        return False
    fig, axes = plt.subplots(1, len(modes), figsize=(5 * len(modes), 4.5))
    for ax, mode in zip(axes, modes):
        key, unit, higher = METRIC[mode]
        names, meds, lo, hi = [], [], [], []
        for name, rs in results[mode].items():
            mm = med(rs, key)
            if mm:
                names.append(name)
                meds.append(mm[0])
                lo.append(mm[0] - mm[1])
                hi.append(mm[2] - mm[0])
        colors = ["tab:orange" if n.startswith("wsclient") else "tab:gray" for n in names]
        ax.barh(names, meds, xerr=[lo, hi], color=colors)
        ax.invert_yaxis()
        ax.set_title(f"{mode}: {unit} ({'higher' if higher else 'lower'} is better)")
        ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(out / "latest.png", dpi=100)
    return True


if __name__ == "__main__":
    main()
