#!/usr/bin/env bash
# Data races: every C test and C example under ThreadSanitizer, with the
# library and Rust's standard library instrumented too (nightly
# -Zsanitizer=thread -Zbuild-std) and the C code compiled with
# -fsanitize=thread. Any report fails the run.
#
# Why not helgrind or DRD: they follow pthread mutexes and a few annotated
# primitives, but Rust's std::sync locks are built on futexes and atomics,
# which they cannot see, so every lock-protected access in the library is
# reported as a race (run `valgrind --tool=helgrind` on any of these
# programs to see). ThreadSanitizer instruments the atomics themselves.
#
# Needs a nightly toolchain with rust-src; installs them with rustup when
# missing. Usage: tests/c/check-threads.sh   (from the project root)
set -euo pipefail
cd "$(dirname "$0")/../.."

target=x86_64-unknown-linux-gnu
if [ "$(uname -sm)" != "Linux x86_64" ]; then
    echo "check-threads: skipped (ThreadSanitizer setup here is for Linux x86_64)"
    exit 0
fi
# Without a way to get nightly (no rustup, no network to its server) this
# check is skipped loudly, unless WSCLIENT_REQUIRE_TSAN=1 makes that an error.
skip() {
    echo "check-threads: SKIPPED: $1" >&2
    [ "${WSCLIENT_REQUIRE_TSAN:-0}" = 1 ] && exit 1
    exit 0
}
command -v rustup >/dev/null || skip "no rustup to get a nightly toolchain"
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal || skip "cannot install a nightly toolchain"
fi
rustup component list --toolchain nightly --installed | grep -q '^rust-src' ||
    rustup component add rust-src --toolchain nightly || skip "cannot add rust-src to nightly"

out=target/tsan
RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=$out \
    cargo +nightly build --quiet --lib --examples -Zbuild-std --target $target
lib=$out/$target/debug
# The programs ask for the soname, libwsclient.so.MAJOR, at run time.
major=$(sed -n 's/^version = "\([0-9]*\)\..*"/\1/p' Cargo.toml | head -n 1)
ln -sfn libwsclient.so "$lib/libwsclient.so.$major"
sysroot=$(rustc +nightly --print sysroot)
runtime=$(ls "$sysroot"/lib/rustlib/$target/lib/librustc-nightly_rt.tsan.a)

# The echo server (also instrumented), on a free port.
log=$(mktemp)
"$lib/examples/echo_server" >"$log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 200); do url=$(head -n 1 "$log"); [ -n "$url" ] && break; sleep 0.05; done
[ -n "$url" ] || { echo "check-threads: the echo server did not start" >&2; exit 1; }

export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
status=0
for src in tests/c/test_*.c tests/c/test_*.cpp examples/c/echo.c examples/c/quickstart.c \
    examples/cpp/echo.cpp; do
    name=$(basename "$src"); name=${name%.*}
    bin=$lib/c-$name
    case $src in
    *.cpp) c++ -std=c++17 -g -O1 -fsanitize=thread -Iinclude -c "$src" -o "$bin.o" ;;
    *) cc -std=c11 -g -O1 -fsanitize=thread -Iinclude -Itests/c -c "$src" -o "$bin.o" ;;
    esac
    cc "$bin.o" -L"$lib" -lwsclient -Wl,-rpath,"$PWD/$lib" \
        -Wl,--whole-archive "$runtime" -Wl,--no-whole-archive -lpthread -ldl -lm -lstdc++ -o "$bin"
    args=()
    [ "$name" = test_exchange ] && args=(2000)
    if "$bin" "$url" "${args[@]}" >"$bin.out" 2>&1; then
        echo "check-threads: $(basename "$src"): no races ($(tail -n 1 "$bin.out"))"
    else
        echo "check-threads: $name FAILED:" >&2
        cat "$bin.out" >&2
        status=1
    fi
done
exit $status
