#!/usr/bin/env python3
"""`make bench`: every client in every mode against an echo server on
127.0.0.1, in three placements (unpinned; client and server on one CPU; one
CPU each), interleaved (round-robin over the clients inside each round, so
the machine's drift hits all alike). Prints, per placement, medians with
min-max, the client's CPU per message (user + system of all its threads,
from wait4) and ratios to the peers measured in the same run; the poll spin
of the C and Python clients with WSCLIENT_POLL_SPIN_US=0, =50 and unset;
checks the targets (PASS / FALLS SHORT); and writes latest.md, latest.png
and latest.json (every run's figures): into target/bench (not tracked), or with --record into
bench/results, the committed results.

    python bench/run.py [--quick] [--rounds N] [--only NAMES] [--placements NAMES] [--record | --out DIR]
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
SPIN_ENV = "WSCLIENT_POLL_SPIN_US"

FULL = {
    "rtt": dict(count=20000, size=32, window=1),
    "throughput": dict(count=100000, size=64, window=128),
    "bandwidth": dict(count=300, size=1 << 20, window=4),
    "connections": dict(count=1000, size=0, window=0, hold=30),
}
QUICK = {
    "rtt": dict(count=1000, size=32, window=1),
    "throughput": dict(count=10000, size=64, window=128),
    "bandwidth": dict(count=20, size=1 << 20, window=4),
    "connections": dict(count=100, size=0, window=0, hold=1),
}
ROUNDS = {"full": 5, "quick": 2}

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
# Ours and the peers each is compared with (besides tungstenite).
PEERS = {"wsclient C": ["raw-tcp"], "wsclient Python": ["websocket-client", "websockets"],
         "wsclient Node": ["ws (Node)"]}
# The poll spin, measured in rtt mode: the clients that read with ws_poll /
# ws_queue_poll, with the variable set to each value ("unset" is the plain run).
SPIN_CLIENTS = ["wsclient C", "wsclient Python"]
SPIN_VALUES = ["0", "50"]


def spin_name(client, value):
    return f"{client} spin={value}"


METRIC = {"rtt": ("p50_us", "µs p50", False), "throughput": ("msgs_per_s", "msg/s", True),
          "bandwidth": ("mib_per_s", "MiB/s", True), "connections": ("kib_per_conn", "KiB/conn", False)}


class Placement:
    """Where the server and the client may run: None = anywhere."""

    def __init__(self, name, server_cpus, client_cpus, what):
        self.name, self.server_cpus, self.client_cpus, self.what = name, server_cpus, client_cpus, what

    @property
    def pinned(self):
        return self.client_cpus is not None


def placements(wanted):
    """Unpinned; client and server on one CPU; server on one CPU and client on
    another (skipped, with a note, when this process may use only one CPU)."""
    cpus = sorted(os.sched_getaffinity(0))
    a = cpus[0]
    out = [Placement("unpinned", None, None, f"no pinning: client threads, server and kernel share {len(cpus)} CPUs"),
           Placement("one CPU", {a}, {a}, f"client and server pinned to CPU {a}: the CPU cost of client + server "
                                          "+ kernel per message")]
    notes = []
    if len(cpus) > 1:
        out.append(Placement("one CPU each", {a}, {cpus[1]}, f"server pinned to CPU {a}, client (all its threads) "
                                                              f"to CPU {cpus[1]}"))
    else:
        notes.append("one CPU each: skipped, this process may run on only one CPU")
    if wanted:
        out = [p for p in out if p.name in wanted.split(",")]
    return out, notes


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


def child_setup(cpus):
    """Runs in the child between fork and exec: the fd limit, and the CPUs it
    (and so every thread it starts) may run on."""
    def setup():
        raise_fd_limit()
        if cpus:
            os.sched_setaffinity(0, cpus)
    return setup


def child_env(spin):
    env = dict(os.environ)
    env.pop(SPIN_ENV, None)  # "unset" means the library's default
    if spin is not None:
        env[SPIN_ENV] = spin
    return env


def run(cmd, timeout, cpus=None, spin=None):
    """Run a client; its JSON line, plus from wait4 its peak RSS (KiB) and the
    CPU (user + system, every thread) it used after its timed loop began, per
    message."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=child_setup(cpus), env=child_env(spin))
    killer = threading.Timer(timeout, p.kill)
    killer.start()
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    killer.cancel()
    killer.join()  # no thread left alive at the next fork (preexec_fn)
    p.returncode = os.waitstatus_to_exitcode(status)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": (err.strip().splitlines() or [f"exit {p.returncode}"])[-1][:200]}
    r = json.loads(lines[-1])
    r["peak_rss_kib"] = usage.ru_maxrss
    r["cpu_s_total"] = usage.ru_utime + usage.ru_stime
    if "cpu_s_start" in r and r.get("count"):
        r["cpu_us_per_msg"] = (r["cpu_s_total"] - r["cpu_s_start"]) / r["count"] * 1e6
    if "count" in r and "rss_kib_held" in r:
        r["kib_per_conn"] = (r["rss_kib_held"] - r["rss_kib_before"]) / max(1, r["count"])
    return r


def client_args(url, mode, spec):
    args = ["--url", url, "--mode", mode]
    for k in ("count", "size", "window", "hold"):
        if k in spec:
            args += [f"--{k}", str(spec[k])]
    return args


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except Exception:  # noqa: BLE001
        return "?"


def start_server(cpus):
    server = subprocess.Popen([str(REL / "examples" / "bench_server")], stdout=subprocess.PIPE, text=True,
                              preexec_fn=child_setup(cpus))
    return server, json.loads(server.stdout.readline())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None, help="5, or 2 with --quick")
    ap.add_argument("--only", default="", help="comma-separated client names")
    ap.add_argument("--placements", default="", help="comma-separated: unpinned,one CPU,one CPU each")
    ap.add_argument("--no-spin", action="store_true", help="skip the poll spin runs")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--record", action="store_true", help=f"write the results into {RECORDED.relative_to(ROOT)}")
    where.add_argument("--out", type=Path, default=TARGET / "bench", help="where to write the results otherwise")
    a = ap.parse_args()
    a.out = RECORDED if a.record else a.out
    a.rounds = a.rounds or ROUNDS["quick" if a.quick else "full"]
    modes = QUICK if a.quick else FULL
    clients = {k: v for k, v in CLIENTS.items() if not a.only or k in a.only.split(",")}
    spins = [] if a.no_spin else [(c, v) for c in SPIN_CLIENTS if c in clients for v in SPIN_VALUES]
    places, notes = placements(a.placements)
    for n in notes:
        print(f"note: {n}", flush=True)
    raise_fd_limit()
    servers, urls = {}, {}
    for pl in places:
        key = frozenset(pl.server_cpus or ())
        if key not in servers:
            servers[key], urls[key] = start_server(pl.server_cpus)
    started = time.time()
    rate_modes = [m for m in modes if m != "connections"]
    results = {pl.name: {m: {} for m in modes} for pl in places}
    big = None
    try:
        for rnd in range(a.rounds):
            for pl in places:
                u = urls[frozenset(pl.server_cpus or ())]
                for mode in rate_modes:
                    runs = [(name, name, None) for name in clients]
                    if mode == "rtt":
                        runs += [(spin_name(c, v), c, v) for c, v in spins]
                    for label, name, spin in runs:
                        cmd, which = clients[name]
                        r = run(cmd + client_args(u[which], mode, modes[mode]), 300, pl.client_cpus, spin)
                        results[pl.name][mode].setdefault(label, []).append(r)
                        print(f"round {rnd + 1} {pl.name:12} {mode:10} {label:22} {summary(mode, r)}", flush=True)
        if "connections" in modes and places:
            # Idle connections: memory and idle CPU, one run per client, unpinned (pinning changes neither).
            pl = places[0]
            u = urls[frozenset(pl.server_cpus or ())]
            for name, (cmd, which) in clients.items():
                r = run(cmd + client_args(u[which], "connections", modes["connections"]), 300, pl.client_cpus)
                if "cpu_s_idle" in r:
                    r["cpu_pct_idle"] = r["cpu_s_idle"] / modes["connections"]["hold"] * 100
                results[pl.name]["connections"][name] = [r]
                print(f"{pl.name:12} connections {name:22} {summary('connections', r)}", flush=True)
            if not a.quick and "wsclient C" in clients:
                # 10,000 if the fd limit allows (2 fds per connection), else as many as fit.
                n = min(10000, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 64) // 2)
                big = run(CLIENTS["wsclient C"][0] + ["--url", u["ws"], "--mode", "connections",
                                                      "--count", str(n), "--hold", "30"], 600, pl.client_cpus)
                if "cpu_s_idle" in big:
                    big["cpu_pct_idle"] = big["cpu_s_idle"] / 30 * 100
                print(f"{n} connections, wsclient C: {summary('connections', big)}", flush=True)
    finally:
        for s in servers.values():
            s.kill()
            s.wait()
    report(results, modes, places, notes, spins, a, big, time.time() - started)


def summary(mode, r):
    if "error" in r:
        return f"ERROR {r['error']}"
    if mode == "connections":
        return (f"{r['kib_per_conn']:.0f} KiB/conn, idle CPU {r.get('cpu_pct_idle', 0):.2f} %, "
                f"open all {r['open_s']:.2f} s, peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB")
    key, unit, _ = METRIC[mode]
    extra = f" p99 {r['p99_us']:.0f} mean {r['mean_us']:.0f}" if mode == "rtt" else ""
    cpu = f", CPU {r['cpu_us_per_msg']:.2f} µs/msg" if "cpu_us_per_msg" in r else ""
    return f"{r[key]:,.1f} {unit}{extra}{cpu}, peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB"


def med(rs, key):
    xs = [r[key] for r in rs or [] if key in r]
    return (statistics.median(xs), min(xs), max(xs)) if xs else None


def fmt(x):
    return f"{x:,.0f}" if x >= 1000 else f"{x:,.1f}"


def ratio_text(x, y):
    return f"{x / y:.2f}×" if x is not None and y else "n/a"


def report(results, modes, places, notes, spins, a, big, took):
    lines = []
    for pl in places:
        lines.append(f"\n## {pl.name}: {pl.what}")
        for mode in modes:
            if mode == "connections":
                continue
            lines += mode_table(results[pl.name][mode], mode)
    if spins:
        lines += spin_table(results, places, spins)
    conn = results[places[0].name]["connections"] if places else None
    if conn:
        lines.append(f"\n## Idle connections ({modes['connections']['count']} per client, held "
                     f"{modes['connections']['hold']} s, {places[0].name}, one run each)\n")
        lines.append("| client | KiB per connection | idle CPU % | open all (s) | peak RSS (MiB) |")
        lines.append("|---|---|---|---|---|")
        for name, rs in conn.items():
            r = rs[0]
            if "error" in r or "kib_per_conn" not in r:
                lines.append(f"| {name} | n/a ({r.get('error', 'no result')}) | | | |")
                continue
            lines.append(f"| {name} | {r['kib_per_conn']:.0f} | {r.get('cpu_pct_idle', 0):.2f} | {r['open_s']:.2f} "
                         f"| {r['peak_rss_kib'] / 1024:.0f} |")
    if big:
        lines.append(f"\n{big.get('count', '?')} idle connections with heartbeat, wsclient C: "
                     f"{summary('connections', big)}")
    targets = check_targets(results, places, big)
    table = "\n".join(lines)
    print(table)
    print("\n## Targets\n\n" + "\n".join(targets))
    a.out.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.platform()}, {os.cpu_count()} cores, {cpu_model()}"
    versions = ", ".join([version(["rustc", "--version"]), f"Python {platform.python_version()}",
                          f"Node {version(['node', '--version'])}", *peer_versions()])
    make = "make bench-quick" if a.quick else "make bench RECORD=1" if a.record else "make bench"
    cmd = f"python bench/run.py{' --quick' if a.quick else ''} --rounds {a.rounds}{' --record' if a.record else ''}"
    doc = [
        "# Benchmark results", "",
        f"- Machine: {machine}", f"- Versions: {versions}",
        f"- Command: `{cmd}` ({make}), {took:.0f} s",
        f"- Modes: {json.dumps(modes)}",
        f"- Rounds: {a.rounds}; in each, every placement, every mode, every client in turn (round-robin); medians "
        "over the rounds with min-max. Ratios are ours / theirs, measured in the same run and placement.",
        "- CPU µs/msg: the client process's user + system CPU time (all its threads, from wait4) after its timed "
        "loop began, divided by the messages (rtt: round trips). The server's CPU is not in it; in the one-CPU "
        "placement the time per message is client + server + kernel.",
        *[f"- Note: {n}" for n in notes],
        table, "", "## Targets", "", *targets, "",
    ]
    (a.out / "latest.md").write_text("\n".join(doc))
    # Every run's figures, for looking again without running again.
    (a.out / "latest.json").write_text(json.dumps({"modes": modes, "rounds": a.rounds, "results": results,
                                                   "big": big}, indent=1) + "\n")
    drawn = chart(results, modes, places, a.out)
    print(f"\nwrote {a.out / 'latest.md'}" + (f" and {a.out / 'latest.png'}" if drawn else ""))


def mode_table(res, mode):
    key, unit, higher = METRIC[mode]
    base = med(res.get("tungstenite"), key)
    out = [f"\n### {mode} ({unit}, {'higher' if higher else 'lower'} is better)\n",
           f"| client | median {unit} | min-max | CPU µs/msg | vs tungstenite | vs peers | peak RSS (MiB) |",
           "|---|---|---|---|---|---|---|"]
    for name in CLIENTS:
        if name not in res:
            continue
        rs = res[name]
        m = med(rs, key)
        if m is None:
            err = next((r["error"] for r in rs if "error" in r), "no result")
            out.append(f"| {name} | n/a ({err}) | | | | | |")
            continue
        cpu = med(rs, "cpu_us_per_msg")
        peers = []
        for peer in PEERS.get(name, []):
            pm = med(res.get(peer), key)
            if pm:
                peers.append(f"{m[0] / pm[0]:.2f}× {peer}")
        rss = max(r.get("peak_rss_kib", 0) for r in rs) / 1024
        out.append(f"| {name} | {fmt(m[0])} | {fmt(m[1])}-{fmt(m[2])} | {cpu[0]:.2f} | "
                   f"{ratio_text(m[0], base[0] if base else None)} | {', '.join(peers)} | {rss:.0f} |")
    return out


def spin_table(results, places, spins):
    out = [f"\n## The poll spin ({SPIN_ENV}): rtt µs p50 [min-max] (CPU µs per round trip), medians\n",
           "Unset is the default: spin 50 µs when the process may run on more than one CPU, none when pinned "
           "to one.\n",
           "| client | " + " | ".join(pl.name for pl in places) + " |",
           "|---|" + "---|" * len(places)]
    for client in dict.fromkeys(c for c, _ in spins):
        for value in ["unset", *SPIN_VALUES]:
            label = client if value == "unset" else spin_name(client, value)
            cells = []
            for pl in places:
                rs = results[pl.name]["rtt"].get(label)
                m, c = med(rs, "p50_us"), med(rs, "cpu_us_per_msg")
                cells.append(f"{m[0]:.1f} [{m[1]:.0f}-{m[2]:.0f}] ({c[0]:.1f})" if m and c else "n/a")
            out.append(f"| {client}, {SPIN_ENV} {value if value == 'unset' else '=' + value} | " + " | ".join(cells)
                       + " |")
    return out


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def peer_versions():
    out = []
    for mod, name in (("websocket", "websocket-client"), ("websockets", "websockets")):
        v = subprocess.run([PY, "-c", f"import {mod}; print({mod}.__version__)"], capture_output=True, text=True)
        out.append(f"{name} {v.stdout.strip() or '?'}")
    for pkg in ("ws", "bufferutil"):
        try:
            out.append(f"{pkg} {json.loads((ROOT / 'bench/node_modules' / pkg / 'package.json').read_text())['version']}")
        except (OSError, ValueError, KeyError):
            out.append(f"{pkg} missing")
    return out


# (mode, ours, theirs, limit, at most?): ours/theirs of the mode's metric.
TARGETS = [
    ("rtt", "wsclient C", "tungstenite", 1.25, True),
    ("throughput", "wsclient C", "tungstenite", 1.5, False),
    ("bandwidth", "wsclient C", "tungstenite", 1.0, False),
    ("throughput", "wsclient Python", "websocket-client", 3.0, False),
    ("throughput", "wsclient Python", "websockets", 1.5, False),
    ("rtt", "wsclient Python", "websocket-client", 1.0, True),
    ("throughput", "wsclient Node", "ws (Node)", 1.0, False),
    ("rtt", "wsclient Node", "ws (Node)", 1.0, True),
]


def check_targets(results, places, big):
    """Judged in each pinned placement (what users pay); the unpinned ratio is
    shown beside it, for information."""
    out = []
    pinned = [pl for pl in places if pl.pinned]
    free = next((pl for pl in places if not pl.pinned), None)

    def m(pl, mode, client):
        r = med(results[pl.name].get(mode, {}).get(client), METRIC[mode][0])
        return r[0] if r else None

    for mode, x, y, limit, le in TARGETS:
        name = f"{mode} {x} {'≤' if le else '≥'} {limit}× {y}"
        info = ""
        if free and m(free, mode, x) is not None and m(free, mode, y):
            info = f" (unpinned, for information: {m(free, mode, x) / m(free, mode, y):.2f}×)"
        for pl in pinned:
            a, b = m(pl, mode, x), m(pl, mode, y)
            if a is None or not b:
                out.append(f"- n/a: {name}, {pl.name}")
                continue
            r = a / b
            ok = r <= limit if le else r >= limit
            out.append(f"- {'PASS' if ok else 'FALLS SHORT'}: {name}, {pl.name}: {r:.2f}×{info}")
        if not pinned:
            out.append(f"- n/a: {name} (no pinned placement ran){info}")
    if big and "kib_per_conn" in big:
        n = big["count"]
        per10k = big["kib_per_conn"] * 10000 / 1024 + big["rss_kib_before"] / 1024
        ok = per10k < 1024
        out.append(f"- {'PASS' if ok else 'FALLS SHORT'}: 10,000 idle connections with heartbeat < 1 GiB resident "
                   f"(ran {n}; {big['kib_per_conn']:.0f} KiB each): {per10k:.0f} MiB for 10,000")
        ok = big["cpu_pct_idle"] < 5
        out.append(f"- {'PASS' if ok else 'FALLS SHORT'}: 10,000 idle connections with heartbeat < 5 % of a core "
                   f"(ran {n}): {big['cpu_pct_idle']:.2f} %")
    else:
        out.append("- n/a: 10,000 idle connections (full run only)")
    return out


def chart(results, modes, places, out):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no chart")
        return False
    rate_modes = [m for m in modes if m != "connections"]
    if not places or not rate_modes:
        return False
    fig, axes = plt.subplots(len(places), len(rate_modes), figsize=(5 * len(rate_modes), 4 * len(places)),
                             squeeze=False)
    for row, pl in zip(axes, places):
        for ax, mode in zip(row, rate_modes):
            key, unit, higher = METRIC[mode]
            names, meds, lo, hi = [], [], [], []
            for name in CLIENTS:
                mm = med(results[pl.name][mode].get(name), key)
                if mm:
                    names.append(name)
                    meds.append(mm[0])
                    lo.append(mm[0] - mm[1])
                    hi.append(mm[2] - mm[0])
            colors = ["tab:orange" if n.startswith("wsclient") else "tab:gray" for n in names]
            ax.barh(names, meds, xerr=[lo, hi], color=colors)
            ax.invert_yaxis()
            ax.set_title(f"{pl.name}, {mode}: {unit} ({'higher' if higher else 'lower'} is better)", fontsize=9)
            ax.tick_params(axis="y", labelsize=8)
            ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(out / "latest.png", dpi=90)
    return True


if __name__ == "__main__":
    main()
