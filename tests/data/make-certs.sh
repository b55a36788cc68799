#!/bin/sh
# Regenerate the test-only TLS material in this folder (see README.md).
# Needs the openssl command. The CA keys live in a temporary folder and are
# discarded; every leaf certificate uses server.key.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

san_local="DNS:localhost,IP:127.0.0.1"

ca() { # name subject
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/$1.key" -out "$tmp/$1.pem" \
    -days 36500 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() { # out ca san startdate enddate
  mkdir -p "$tmp/db-$1"
  : > "$tmp/db-$1/index.txt"
  cat > "$tmp/$1.cnf" <<EOF
[ca]
default_ca = test
[test]
database = $tmp/db-$1/index.txt
new_certs_dir = $tmp/db-$1
serial = $tmp/db-$1/serial
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = leaf
[any]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $3
EOF
  openssl rand -hex 8 > "$tmp/db-$1/serial"
  openssl req -new -key server.key -subj "/CN=wsclient test server" -out "$tmp/$1.csr"
  openssl ca -batch -config "$tmp/$1.cnf" -cert "$tmp/$2.pem" -keyfile "$tmp/$2.key" \
    -startdate "$4" -enddate "$5" -in "$tmp/$1.csr" -out "$tmp/$1.crt" 2>/dev/null
  openssl x509 -in "$tmp/$1.crt" -out "$1.pem"
}

[ -f server.key ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server.key
ca ca "wsclient test CA"
ca other-ca "some other CA"
cp "$tmp/ca.pem" ca.pem

leaf server ca "$san_local" 20260101000000Z 21260101000000Z
leaf expired ca "$san_local" 20200101000000Z 20210101000000Z
leaf wronghost ca "DNS:other.example" 20260101000000Z 21260101000000Z
leaf unknownca other-ca "$san_local" 20260101000000Z 21260101000000Z
openssl req -x509 -key server.key -subj "/CN=localhost" -days 36500 \
  -addext "subjectAltName=$san_local" -out selfsigned.pem
