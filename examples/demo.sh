#!/usr/bin/env bash
# The demo behind `make demo`, all on 127.0.0.1:
#  1. start the bundled echo server (any free port) and run examples/c/echo.c;
#  2. run examples/c/reconnect.c, which keeps sending, while the demo stops
#     the echo server and starts it again on the same port: the output shows
#     the error, the reconnect attempts, the second open, and the messages
#     sent during the outage arriving;
#  3. the same in Python: examples/python/echo.py, then examples/python/ticker.py
#     (subscribes on every open) across another restart;
#  4. and in Node: examples/node/echo.js, then examples/node/singleton.js (classic
#     browser code, unchanged, on our WebSocket) across a third restart.
set -euo pipefail
cd "$(dirname "$0")/.."
release=${RELEASE:-target/release}
python=${PYTHON:-.venv/bin/python}

log=$(mktemp)
# `require('libwsclient')` in the Node examples resolves to bindings/node.
nodepath=$(mktemp -d)
ln -s "$PWD/bindings/node" "$nodepath/libwsclient"
server=
client=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    [ -n "$client" ] && kill "$client" 2>/dev/null || true
    rm -rf "$log" "$nodepath"
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
outage() { # stop the server after $1 s, start it again on its port 2 s later
    sleep "$1"
    echo "demo: --- stopping the echo server ---"
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=
    sleep 2
    echo "demo: --- starting the echo server again on ${url##*:} ---"
    start_server "${url##*:}"
}
outage 1.55 # between two sends (a message in flight at the cut may be lost)
status=0
wait "$client" || status=$?
client=
[ "$status" = 0 ] || { echo "demo: reconnect example failed" >&2; exit 1; }

echo
echo "demo: 3. examples/python/echo.py"
"$python" examples/python/echo.py "$url"
echo
echo "demo: 3b. examples/python/ticker.py, across another restart"
"$python" examples/python/ticker.py "$url" 4.5 &
client=$!
outage 1.1
wait "$client"
client=

echo
echo "demo: 4. examples/node/echo.js"
NODE_PATH="$nodepath" node examples/node/echo.js "$url"
echo
echo "demo: 4b. examples/node/singleton.js (browser code, unchanged), across a third restart"
NODE_PATH="$nodepath" node examples/node/singleton.js "$url" 4.5 &
client=$!
outage 1.2
wait "$client"
client=
echo
echo "demo: done"
