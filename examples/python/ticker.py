"""A monitoring client: subscribes on every open (the first and each
reconnect) and prints the live feed, surviving server restarts.

    python examples/python/ticker.py ws://127.0.0.1:9001 [SECONDS]

Against the bundled echo server, `!ticker 200` subscribes to a feed of
`tick N` messages every 200 ms.
"""

import sys
import time

import wsclient

url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0


def on_open(ws: wsclient.WebSocket) -> None:
    again = ws.stats.reconnects > 0
    print("open" + (" again: subscribing again" if again else ": subscribing"), flush=True)
    ws.send("!ticker 200")


def on_message(ws: wsclient.WebSocket, message: wsclient.Message) -> None:
    print("feed:", message, flush=True)


def on_reconnecting(ws: wsclient.WebSocket, attempt: int, delay: float, error: Exception) -> None:
    print(f"lost ({error}); reconnect attempt {attempt} in {delay:.2f} s", flush=True)


ws = wsclient.WebSocket(
    url,
    initial_delay=0.2,
    max_delay=1.0,
    ping_interval=1.0,
    pong_timeout=1.0,
    on_open=on_open,
    on_message=on_message,
    on_reconnecting=on_reconnecting,
)
try:
    time.sleep(seconds)
finally:
    stats = ws.stats
    ws.close()
    print(f"ticker: {stats.messages_received} ticks, {stats.reconnects} reconnects", flush=True)
