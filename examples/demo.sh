#!/usr/bin/env bash
# The demo behind `make demo`, all on 127.0.0.1:
#  1. start the bundled echo server (any free port) and run examples/c/echo.c;
#  2. run examples/c/reconnect.c, which keeps sending, while the demo stops
#     the echo server and starts it again on the same port: the output shows
#     the error, the reconnect attempts, the second open, and the messages
#     sent during the outage arriving.
set -euo pipefail
cd "$(dirname "$0")/.."
release=${RELEASE:-target/release}

log=$(mktemp)
server=
client=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    [ -n "$client" ] && kill "$client" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

start_server() { # [port]
    : >"$log"
    "$release/examples/echo_server" --port "${1:-0}" >"$log" &
    server=$!
    url=
    for _ in $(seq 200); do
        url=$(head -n 1 "$log")
        [ -n "$url" ] && return 0
        sleep 0.05
    done
    echo "demo: the echo server did not start" >&2
    exit 1
}

start_server
echo "demo: echo server listening at $url"
echo
echo "demo: 1. examples/c/echo.c"
"$release/echo-c" "$url"

echo
echo "demo: 2. examples/c/reconnect.c, while the server stops and comes back"
"$release/reconnect-c" "$url" 5 &
client=$!
sleep 1.55 # between two sends (a message in flight at the cut may be lost)
echo "demo: --- stopping the echo server ---"
kill "$server"
wait "$server" 2>/dev/null || true
server=
sleep 2
echo "demo: --- starting the echo server again on ${url##*:} ---"
start_server "${url##*:}"
status=0
wait "$client" || status=$?
client=
[ "$status" = 0 ] || { echo "demo: reconnect example failed" >&2; exit 1; }
echo
echo "demo: done"
