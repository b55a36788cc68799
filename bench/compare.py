#!/usr/bin/env python3
"""Before/after: the C and Python clients against another build of the library
(BASE_LIB_DIR holding its libwsclient.so and libwsclient.so.0) and against this
one, with tungstenite and websocket-client, interleaved in each round, in the
two pinned placements of run.py. Prints medians [min-max], the client's CPU per
message and the ratios to tungstenite.

    python bench/compare.py BASE_LIB_DIR [ROUNDS]

For Python, a copy of the installed package with the other library is put in a
temporary folder on PYTHONPATH. Run `make bench-deps` first.
"""

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as R  # noqa: E402

SPEC = {"rtt": dict(count=20000, size=32, window=1), "throughput": dict(count=100000, size=64, window=128)}
CLIENTS = ["tungstenite", "wsclient C", "wsclient C (before)", "wsclient Python", "wsclient Python (before)",
           "websocket-client"]


def main() -> None:
    base = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    import wsclient  # the installed package, copied with the other library
    pkg = Path(tempfile.mkdtemp())
    shutil.copytree(Path(wsclient.__file__).parent, pkg / "wsclient")
    shutil.copy(base / "libwsclient.so", pkg / "wsclient" / "libwsclient.so")
    before = {"LD_LIBRARY_PATH": str(base), "PYTHONPATH": str(pkg)}
    places, _ = R.placements("one CPU,one CPU each")
    servers, urls = {}, {}
    for pl in places:
        key = frozenset(pl.server_cpus)
        if key not in servers:
            servers[key], urls[key] = R.start_server(pl.server_cpus)
    plain_env = R.child_env
    res = {}
    try:
        for _ in range(rounds):
            for pl in places:
                u = urls[frozenset(pl.server_cpus)]
                for mode, spec in SPEC.items():
                    for name in CLIENTS:
                        extra = before if name.endswith(" (before)") else {}
                        cmd, which = R.CLIENTS[name.removesuffix(" (before)")]
                        R.child_env = lambda spin, extra=extra: {**plain_env(spin), **extra}
                        r = R.run(cmd + R.client_args(u[which], mode, spec), 300, pl.client_cpus)
                        res.setdefault((pl.name, mode, name), []).append(r)
    finally:
        for s in servers.values():
            s.kill()
            s.wait()
        shutil.rmtree(pkg, ignore_errors=True)
    print("| placement | mode | client | median | min-max | CPU µs/msg | vs tungstenite |")
    print("|---|---|---|---|---|---|---|")
    for pl in places:
        for mode in SPEC:
            key = R.METRIC[mode][0]
            ref = None
            for name in CLIENTS:
                rs = res[(pl.name, mode, name)]
                vals = [r[key] for r in rs if key in r] or [float("nan")]
                cpu = [r["cpu_us_per_msg"] for r in rs if "cpu_us_per_msg" in r] or [float("nan")]
                m = statistics.median(vals)
                ref = m if name == "tungstenite" else ref
                print(f"| {pl.name} | {mode} {R.METRIC[mode][1]} | {name} | {m:,.1f} | {min(vals):,.1f}-{max(vals):,.1f} "
                      f"| {statistics.median(cpu):.2f} | {m / ref:.2f}× |")


if __name__ == "__main__":
    main()
