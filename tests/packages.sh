#!/usr/bin/env bash
# The packages of `make dist`, installed as a new user would: in a fresh
# venv and a fresh Node project in a folder outside the checkout, with a
# PATH that holds python3, node and npm and no cargo, rustc or C compiler:
#  (a) the bundled library stands alone: no libssl/libcrypto in NEEDED, only
#      ws_* exported, and the wheel passes `auditwheel show`;
#  (b) `pip install dist/*.whl`, then an echo over ws:// and over wss://
#      (the test CA) from the installed package, whose library is the one
#      inside the venv and reports the vendored OpenSSL;
#  (c) `npm install dist/*.tgz` (koffi comes from the registry), the same
#      echoes from the installed package, whose library is the one under
#      prebuilds/PLATFORM/;
#  (d) under LD_DEBUG=bindings, in Node (which exports its own OpenSSL) and
#      in Python (which loads the system's for its ssl module), the library
#      binds no OpenSSL symbol to anything: its own copy is linked in. The
#      check sees the library's libc bindings, so it does look; and on the
#      checkout's own build, which links the system OpenSSL, it finds them;
#  (e) the sdist, installed by pip with cargo on PATH, builds the library from
#      source (system OpenSSL) and does the same echoes.
# The echo servers are Python's websockets, from the test venv.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-.venv/bin/python}

work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test-packages: FAILED: $*" >&2; exit 1; }
ok() { echo "test-packages: $*: ok"; }

shopt -s nullglob
wheels=(dist/*.whl) tarballs=(dist/*.tgz) sdists=(dist/*.tar.gz)
[ ${#wheels[@]} = 1 ] && [ ${#tarballs[@]} = 1 ] && [ ${#sdists[@]} = 1 ] ||
    fail "dist/ should hold one wheel, one npm tarball and one sdist (make dist)"
wheel=$root/${wheels[0]} tarball=$root/${tarballs[0]} sdist=$root/${sdists[0]}

# (a) What the packages carry.
case $(basename "$wheel") in
    libwsclient-*-py3-none-manylinux_*_x86_64*.whl) ;;
    *) fail "wheel tag: $(basename "$wheel")" ;;
esac
target/dist/venv/bin/auditwheel show "$wheel" >"$work/auditwheel.txt" || fail "auditwheel show"
grep -q 'manylinux_' "$work/auditwheel.txt" || fail "auditwheel show names no manylinux policy"
mkdir "$work/unpacked"
(cd "$work/unpacked" && "$root/$python" -m zipfile -e "$wheel" wheel && tar xzf "$tarball")
platform=$(node bindings/node/lib/platform.js)
for lib in "$work/unpacked/wheel/wsclient/libwsclient.so" "$work/unpacked/package/prebuilds/$platform/libwsclient.so"; do
    [ -f "$lib" ] || fail "no library at ${lib#"$work"/unpacked/}"
    needed=$(readelf -d "$lib" | grep NEEDED)
    grep -qE 'libssl|libcrypto' <<<"$needed" && fail "${lib#"$work"/} needs the system OpenSSL: $needed"
    exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^ws_/ {print $3}')
    [ -z "$exports" ] || fail "${lib#"$work"/} exports more than ws_*: $(head -n 3 <<<"$exports")"
done
tar tzf "$sdist" >"$work/sdist.txt"
grep -q '/rust/Cargo.lock$' "$work/sdist.txt" || fail "the sdist carries no crate"
grep -q '/rust/src/lib.rs$' "$work/sdist.txt" || fail "the sdist carries no crate sources"
ok "package contents (manylinux wheel, standalone library, sdist with the crate)"

# The servers: ws:// and wss:// with the test certificate.
cat >"$work/server.py" <<'EOF'
import asyncio, ssl, sys
import websockets

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    async with websockets.serve(echo, "127.0.0.1", 0) as plain, \
            websockets.serve(echo, "127.0.0.1", 0, ssl=ctx) as tls:
        p, t = plain.sockets[0].getsockname()[1], tls.sockets[0].getsockname()[1]
        print(f"ws://127.0.0.1:{p}/ wss://localhost:{t}/", flush=True)
        await asyncio.Future()

asyncio.run(main())
EOF
"$python" "$work/server.py" tests/data/server.pem tests/data/server.key >"$work/server.log" 2>&1 &
server=$!
urls=
for _ in $(seq 400); do urls=$(head -n 1 "$work/server.log"); [ -n "$urls" ] && break; sleep 0.05; done
[ -n "$urls" ] || fail "the echo servers did not start: $(cat "$work/server.log")"
read -r ws_url wss_url <<<"$urls"
ca=$root/tests/data/ca.pem

# A PATH with only what a user of the packages has: no cargo, no compiler.
mkdir "$work/bin"
# (python3 itself, not a version manager's shell shim)
ln -s "$(python3 -c 'import sys; print(sys.executable)')" "$work/bin/python3"
for tool in node npm sh; do
    ln -s "$(command -v $tool)" "$work/bin/$tool"
done
clean_path=$work/bin
for tool in cargo rustc cc gcc c++ g++ clang ld; do
    PATH=$clean_path command -v $tool >/dev/null && fail "$tool is on the clean PATH"
done

# (b) Python: a fresh venv outside the checkout.
cd "$work"
PATH=$clean_path python3 -m venv venv
PATH=$clean_path venv/bin/python -m pip install -q --no-index --disable-pip-version-check "$wheel" ||
    fail "pip install $(basename "$wheel")"
cat >"$work/echo.py" <<'EOF'
import sys
import wsclient

ca = sys.argv[1]
backend = wsclient.tls_backend()
assert "vendored" in backend, backend
maps = open("/proc/self/maps").read()
lib = next(line.split()[-1] for line in maps.splitlines() if line.endswith("libwsclient.so"))
assert lib.startswith(sys.prefix), f"loaded {lib}, not the venv's"
tls = {} if ca == "-" else {"ca_file": ca}  # "-": the system's roots only
for url in sys.argv[2:]:
    with wsclient.connect(url, reconnect=False, **tls) as ws:
        ws.send(f"hello {url}")
        got = ws.recv(timeout=60)
        assert got == f"hello {url}", got
        print(f"{url}: echo ok ({backend})")
EOF
PATH=$clean_path venv/bin/python echo.py "$ca" "$ws_url" "$wss_url" >py.out 2>&1 || fail "Python echo: $(cat py.out)"
grep -q "^ws://.*echo ok" py.out && grep -q "^wss://.*echo ok" py.out || fail "Python echo: $(cat py.out)"
ok "pip install of the wheel, echo over ws:// and wss:// ($(tail -n 1 py.out | sed 's/.*echo ok (//; s/)$//'))"
# The vendored OpenSSL takes the system's roots, and SSL_CERT_FILE and
# SSL_CERT_DIR name them: the test CA there, and no CA option, is trusted;
# without them it is not.
mkdir certdir && cp "$ca" certdir/
PATH=$clean_path SSL_CERT_FILE=$ca venv/bin/python echo.py - "$wss_url" >py.out 2>&1 || fail "SSL_CERT_FILE: $(cat py.out)"
PATH=$clean_path SSL_CERT_DIR=$work/certdir venv/bin/python echo.py - "$wss_url" >py.out 2>&1 || fail "SSL_CERT_DIR: $(cat py.out)"
PATH=$clean_path venv/bin/python echo.py - "$wss_url" >py.out 2>&1 && fail "the test CA is trusted without being named"
grep -q TLSError py.out || fail "no TLS error without the test CA: $(cat py.out)"
ok "the wheel's library trusts the roots SSL_CERT_FILE and SSL_CERT_DIR name, and not the test CA otherwise"

# (c) Node: a fresh project outside the checkout.
mkdir "$work/app"
cd "$work/app"
echo '{"name": "app", "version": "1.0.0", "private": true}' >package.json
PATH=$clean_path npm install --no-audit --no-fund --loglevel=error "$tarball" >npm.log 2>&1 ||
    fail "npm install $(basename "$tarball"): $(cat npm.log)"
cat >echo.js <<'EOF'
'use strict';
const fs = require('fs');
const { WebSocket, tlsBackend } = require('libwsclient');

const [ca, ...urls] = process.argv.slice(2);
const backend = tlsBackend();
if (!backend.includes('vendored')) throw new Error(`TLS backend ${backend}`);

function echo(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca: fs.readFileSync(ca), reconnect: false });
    ws.onopen = () => ws.send(`hello ${url}`);
    ws.onmessage = (event) => {
      if (event.data !== `hello ${url}`) reject(new Error(`got ${event.data}`));
      ws.close(1000);
    };
    ws.onerror = (event) => reject(new Error(`${url}: ${event.message}`));
    ws.onclose = (event) => (event.code === 1000 ? resolve() : reject(new Error(`${url}: close ${event.code}`)));
  });
}

(async () => {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
  const lib = maps.find((line) => line.endsWith('libwsclient.so')).split(/\s+/).pop();
  const expected = `${process.cwd()}/node_modules/libwsclient/prebuilds/`;
  if (!lib.startsWith(expected)) throw new Error(`loaded ${lib}, not ${expected}...`);
  for (const url of urls) {
    await echo(url);
    console.log(`${url}: echo ok (${backend})`);
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
EOF
PATH=$clean_path node echo.js "$ca" "$ws_url" "$wss_url" >node.out 2>&1 || fail "Node echo: $(cat node.out)"
grep -q "^ws://.*echo ok" node.out && grep -q "^wss://.*echo ok" node.out || fail "Node echo: $(cat node.out)"
ok "npm install of the tarball, echo over ws:// and wss://"

# (d) The symbol bindings of the library, in each host process.
# "binding file .../libwsclient.so [0] to node [0]: normal symbol `SSL_new'"
openssl_bindings() { # LD_DEBUG output prefix
    cat "$1".[0-9]* | grep -E 'binding file [^ ]*libwsclient\.so ' |
        grep -E "symbol \`(SSL|TLS|DTLS|CRYPTO|OPENSSL|EVP|X509|BIO|ERR|PEM|RSA|EC|BN|OSSL)_" || true
}
bindings() { # name out-prefix command...
    local name=$1 prefix=$2 openssl libc
    shift 2
    PATH=$clean_path LD_DEBUG=bindings LD_DEBUG_OUTPUT=$prefix "$@" >"$prefix.out" 2>&1 ||
        fail "$name under LD_DEBUG: $(cat "$prefix.out")"
    openssl=$(openssl_bindings "$prefix")
    [ -z "$openssl" ] || fail "$name: the library binds OpenSSL symbols outside itself: $(head -n 3 <<<"$openssl")"
    libc=$(cat "$prefix".[0-9]* | grep -E 'binding file [^ ]*libwsclient\.so .* to [^ ]*libc\.so' | wc -l)
    [ "$libc" -gt 0 ] || fail "$name: LD_DEBUG showed none of the library's bindings (the check would see nothing)"
    ok "$name: no OpenSSL symbol bound outside the library ($libc bindings to libc seen)"
}
mkdir "$work/ld"
bindings "Node" "$work/ld/node" node echo.js "$ca" "$wss_url"
cd "$work"
bindings "Python (with ssl imported)" "$work/ld/python" venv/bin/python -c \
    "import ssl, runpy, sys; sys.argv = ['echo.py', '$ca', '$wss_url']; runpy.run_path('echo.py')"

# The control: the checkout's own build (`make node`), which links the system
# OpenSSL, is seen by the same check binding OpenSSL symbols outside itself.
cat >"$work/control.js" <<'EOF'
'use strict';
const { WebSocket } = require(process.argv[2]);
const ws = new WebSocket(process.argv[3], { ca: require('fs').readFileSync(process.argv[4]), reconnect: false });
ws.onopen = () => ws.close(1000);
ws.onerror = (event) => { console.error(event.message); process.exitCode = 1; };
EOF
LD_DEBUG=bindings LD_DEBUG_OUTPUT=$work/ld/control node "$work/control.js" "$root/bindings/node" "$wss_url" "$ca" \
    >"$work/ld/control.out" 2>&1 || fail "the control under LD_DEBUG: $(cat "$work/ld/control.out")"
control=$(openssl_bindings "$work/ld/control" | wc -l)
[ "$control" -gt 0 ] || fail "the check saw no OpenSSL binding of the system-linked build either: it cannot fail"
ok "control: the system-linked build binds $control OpenSSL symbols outside itself, as the check sees"

# (e) The sdist builds the library from source with cargo (here with the
# system OpenSSL, as a from-source install does) and works the same.
cd "$work"
python3 -m venv sdist-venv
CARGO_TARGET_DIR=$root/target/sdist sdist-venv/bin/python -m pip install -q --disable-pip-version-check "$sdist" \
    >sdist.log 2>&1 || fail "pip install $(basename "$sdist"): $(tail -n 20 sdist.log)"
sed -i 's/assert "vendored" in backend, backend/assert "system" in backend, backend/' echo.py
sdist-venv/bin/python echo.py "$ca" "$ws_url" "$wss_url" >sdist.out 2>&1 || fail "sdist echo: $(cat sdist.out)"
grep -q "^wss://.*echo ok" sdist.out || fail "sdist echo: $(cat sdist.out)"
ok "pip install of the sdist (built by cargo), echo over ws:// and wss:// ($(tail -n 1 sdist.out | sed 's/.*echo ok (//; s/)$//'))"
