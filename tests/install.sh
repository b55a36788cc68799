#!/usr/bin/env bash
# `make install` into a temporary prefix, then use it as a new user would:
#  (a) a C program built with `cc $(pkg-config --cflags --libs wsclient)`;
#  (b) the CMake project in examples/cmake (find_package(wsclient)), in C,
#      statically linked C, and C++ with the wrapper;
#  (c) a statically linked C program from pkg-config --static;
#  (d) the installed CLI;
#  (e) `make install` again while a process has the library loaded: the
#      library is replaced by a rename (a new file), never rewritten in
#      place under that process, which keeps working.
# Each one exchanges a message with the bundled echo server. Then the
# installed library's exports and soname are checked, and `make uninstall`
# must leave nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
release=${RELEASE:-target/release}

work=$(mktemp -d)
prefix=$work/prefix
log=$work/server.log
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test-install: FAILED: $*" >&2; exit 1; }

make -s install PREFIX="$prefix" >/dev/null

"$release/examples/echo_server" >"$log" &
server=$!
for _ in $(seq 200); do url=$(head -n 1 "$log"); [ -n "$url" ] && break; sleep 0.05; done
[ -n "$url" ] || fail "the echo server did not start"

expect_echo() { # name command...
    local name=$1 out
    shift
    out=$("$@" 2>&1) || fail "$name: exit status $? ($out)"
    grep -q '^< hello$' <<<"$out" || fail "$name: no echo in: $out"
    echo "test-install: $name: ok"
}

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion wsclient)" = "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)" ] ||
    fail "pkg-config --modversion"

# (a) pkg-config, shared.
cp examples/cmake/hello.c "$work/user.c"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$work/user" "$work/user.c" $(pkg-config --cflags --libs wsclient) \
    -Wl,-rpath,"$prefix/lib"
ldd "$work/user" | grep -q "libwsclient.so.0 => $prefix/lib/libwsclient.so.0" ||
    fail "pkg-config program does not load the installed libwsclient.so.0"
expect_echo "pkg-config (shared)" "$work/user" "$url"

# (b) CMake find_package.
cmake -S examples/cmake -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; fail "cmake configure"; }
cmake --build "$work/build" >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; fail "cmake build"; }
expect_echo "cmake find_package (C)" "$work/build/hello_c" "$url"
expect_echo "cmake find_package (static C)" "$work/build/hello_c_static" "$url"
expect_echo "cmake find_package (C++ wrapper)" "$work/build/hello_cpp" "$url"
if ldd "$work/build/hello_c_static" | grep -q libwsclient; then
    fail "the static CMake program still loads libwsclient.so"
fi

# (c) pkg-config, static.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$work/user_static" "$work/user.c" $(pkg-config --cflags wsclient) \
    "$prefix/lib/libwsclient.a" $(pkg-config --static --libs-only-l wsclient | sed 's/-lwsclient//')
if ldd "$work/user_static" | grep -q libwsclient; then
    fail "the static program still loads libwsclient.so"
fi
expect_echo "pkg-config (static)" "$work/user_static" "$url"

# (d) the CLI.
out=$(echo hello | "$prefix/bin/wsclient" --count 1 "$url" 2>/dev/null) || fail "wsclient CLI: $out"
grep -q '^< hello$' <<<"$out" || fail "wsclient CLI: no echo in: $out"
echo "test-install: CLI: ok"

# (e) Reinstall under a process that has the library mapped. It prints the
# version, waits for a line on stdin, and calls into the library again.
lib=$prefix/lib/libwsclient.so.$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
coproc HOLDER { python3 -c '
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.ws_version.restype = ctypes.c_char_p
print(lib.ws_version().decode(), flush=True)
sys.stdin.readline()
print(lib.ws_version().decode(), flush=True)
' "$lib"; }
read -r -t 30 first <&"${HOLDER[0]}" || fail "the process holding the library did not start"
inode=$(stat -c %i "$lib")
# (Without the PKG_CONFIG_PATH set above: openssl-sys would rebuild for it.)
env -u PKG_CONFIG_PATH make -s install PREFIX="$prefix" >/dev/null
[ "$(stat -c %i "$lib")" != "$inode" ] || fail "make install rewrote the loaded library in place"
echo >&"${HOLDER[1]}"
read -r -t 30 second <&"${HOLDER[0]}" || fail "the process holding the library died at the reinstall"
[ "$second" = "$first" ] || fail "the process holding the library read '$second' after the reinstall"
wait "$HOLDER_PID" || fail "the process holding the library failed after the reinstall"
leftover=$(find "$prefix" -name '*.tmp.*')
[ -z "$leftover" ] || fail "temporary files left: $leftover"
echo "test-install: reinstall under a process using the library: ok"

# Only ws_* functions are exported; the soname carries the major version.
exports=$(nm -D --defined-only "$prefix/lib/libwsclient.so" | awk '{print $3}')
others=$(grep -v '^ws_' <<<"$exports" || true)
[ -z "$others" ] || fail "symbols other than ws_* are exported: $others"
grep -q '^ws_create$' <<<"$exports" || fail "ws_create is not exported"
readelf -d "$prefix/lib/libwsclient.so" | grep -q 'Library soname: \[libwsclient.so.0\]' || fail "soname"
echo "test-install: exports ($(wc -l <<<"$exports") ws_* symbols) and soname: ok"

make -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "test-install: uninstall: ok"
