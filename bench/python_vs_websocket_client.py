"""Python binding vs websocket-client: throughput and RTT, interleaved. Usage: python_vs_websocket_client.py URL"""
import sys, time, statistics, websocket, wsclient
url = sys.argv[1]; N = 20000; W = 128; P = "x" * 64
def ours_tp():
    ws = wsclient.connect(url, ping_interval=0); t = time.perf_counter(); s = r = 0
    while s < W: ws.send(P); s += 1
    while r < N:
        ws.recv(); r += 1
        if s < N: ws.send(P); s += 1
    d = time.perf_counter() - t; ws.close(); return N / d
def wsc_tp():
    ws = websocket.create_connection(url); t = time.perf_counter(); s = r = 0
    while s < W: ws.send(P); s += 1
    while r < N:
        ws.recv(); r += 1
        if s < N: ws.send(P); s += 1
    d = time.perf_counter() - t; ws.close(); return N / d
def rtt(make, send, recv, close, n=5000):
    ws = make(); xs = []
    for _ in range(n):
        t = time.perf_counter(); send(ws, "y" * 32); recv(ws); xs.append(time.perf_counter() - t)
    close(ws); return statistics.median(xs) * 1e6
res = {"ours_tp": [], "wsc_tp": [], "ours_rtt": [], "wsc_rtt": []}
for _ in range(3):
    res["ours_tp"].append(ours_tp()); res["wsc_tp"].append(wsc_tp())
    res["ours_rtt"].append(rtt(lambda: wsclient.connect(url, ping_interval=0), lambda w, m: w.send(m), lambda w: w.recv(), lambda w: w.close()))
    res["wsc_rtt"].append(rtt(lambda: websocket.create_connection(url), lambda w, m: w.send(m), lambda w: w.recv(), lambda w: w.close()))
m = {k: statistics.median(v) for k, v in res.items()}
print(f"throughput msg/s: ours {m['ours_tp']:.0f}  websocket-client {m['wsc_tp']:.0f}  ratio {m['ours_tp']/m['wsc_tp']:.2f}x")
print(f"rtt p50 us:       ours {m['ours_rtt']:.0f}  websocket-client {m['wsc_rtt']:.0f}  ratio {m['ours_rtt']/m['wsc_rtt']:.2f}x")
