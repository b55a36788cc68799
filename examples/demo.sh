#!/usr/bin/env bash
# The demo behind `make demo`: start the bundled echo server on 127.0.0.1
# (any free port), run the C example against it, stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
release=${RELEASE:-target/release}

log=$(mktemp)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

"$release/examples/echo_server" >"$log" &
server=$!
url=
for _ in $(seq 200); do
    url=$(head -n 1 "$log")
    [ -n "$url" ] && break
    sleep 0.05
done
[ -n "$url" ] || { echo "demo: the echo server did not start" >&2; exit 1; }
echo "demo: echo server listening at $url"
echo "demo: running examples/c/echo.c"
"$release/echo-c" "$url"
echo "demo: done"
