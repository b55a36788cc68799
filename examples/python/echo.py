"""Connect to an echo server, send text and binary, print what comes back, close.

    python examples/python/echo.py ws://127.0.0.1:9001
"""

import sys

import wsclient

url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"
print(f"wsclient {wsclient.library_version}, connecting to {url}")
with wsclient.connect(url) as ws:
    ws.send("hello from Python")
    print("<", ws.recv(timeout=5))
    ws.send(b"\x00\x01\x02\x03")
    print("<", ws.recv(timeout=5))
print(f"closed with {ws.close_code}")
