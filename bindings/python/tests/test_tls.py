"""TLS with ssl.SSLContext-shaped options against a local websockets TLS
server whose certificate is for "localhost" (trustme makes the CA)."""

import asyncio
import ssl

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

import wsclient


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def tls_server(make_server, ca):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(ctx)
    return make_server(ssl=ctx)


def test_cadata_and_server_hostname(tls_server, ca):
    # The URL's host is 127.0.0.1; the certificate names localhost.
    with wsclient.connect(tls_server.url, ssl={"cadata": ca.cert_pem.bytes().decode(),
                                               "server_hostname": "localhost"}) as ws:
        ws.send("over tls")
        assert ws.recv(10) == "over tls"
    with wsclient.connect(tls_server.url, ssl={"cadata": ca.cert_pem.bytes().decode()},
                          server_hostname="localhost") as ws:
        assert ws.state is wsclient.State.OPEN


def test_without_the_name_the_tls_error_comes_at_once(tls_server, ca):
    with pytest.raises(wsclient.TLSError):
        wsclient.connect(tls_server.url, ssl={"cadata": ca.cert_pem.bytes().decode()}, timeout=120)
    with pytest.raises(wsclient.TLSError):
        wsclient.connect(tls_server.url, server_hostname="localhost", timeout=120)  # CA not trusted


def test_an_ssl_context_and_ca_files(tls_server, ca, tmp_path):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=ca.cert_pem.bytes().decode())
    with wsclient.connect(tls_server.url, ssl=ctx, server_hostname="localhost") as ws:
        assert ws.state is wsclient.State.OPEN
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    for key in ("ca_certs", "cafile"):
        with wsclient.connect(tls_server.url, ssl={key: str(path), "server_hostname": "localhost"}) as ws:
            assert ws.state is wsclient.State.OPEN
    der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())
    with wsclient.connect(tls_server.url, ssl={"cadata": der, "server_hostname": "localhost"}) as ws:
        assert ws.state is wsclient.State.OPEN


def test_cert_none_is_the_insecure_switch(tls_server):
    with wsclient.connect(tls_server.url, ssl={"cert_reqs": ssl.CERT_NONE, "check_hostname": False}) as ws:
        assert ws.state is wsclient.State.OPEN
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with wsclient.connect(tls_server.url, ssl=ctx) as ws:
        assert ws.state is wsclient.State.OPEN


@pytest.mark.parametrize("sslopt, words", [
    ({"ciphers": "HIGH"}, "ciphers"),
    ({"check_hostname": False}, "check_hostname=False"),
    ({"cert_reqs": ssl.CERT_OPTIONAL}, "CERT_OPTIONAL"),
    ({"keyfile": "k.pem"}, "keyfile without certfile"),
])
def test_what_cannot_be_mapped_is_a_clear_error(sslopt, words):
    with pytest.raises(wsclient.InvalidArgument) as info:
        wsclient.WebSocket("wss://127.0.0.1:1/", ssl=sslopt)
    assert words in str(info.value)


def test_a_client_certificate_with_an_encrypted_key(make_server, ca, tmp_path):
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED  # the client must show a certificate of this CA
    ca.configure_trust(server_ctx)
    s = make_server(ssl=server_ctx)
    client = ca.issue_cert("client@example.com")
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"s3cret"))
    certfile, keyfile = tmp_path / "client.pem", tmp_path / "client.key"
    certfile.write_bytes(b"".join(c.bytes() for c in client.cert_chain_pems))
    keyfile.write_bytes(encrypted)
    base = {"cadata": ca.cert_pem.bytes().decode(), "server_hostname": "localhost"}
    with wsclient.connect(s.url, ssl={**base, "certfile": str(certfile), "keyfile": str(keyfile),
                                      "password": "s3cret"}) as ws:
        ws.send("with a client certificate")
        assert ws.recv(10) == "with a client certificate"
    with wsclient.connect(s.url, ssl={**base, "certfile": str(certfile), "keyfile": str(keyfile),
                                      "password": lambda: b"s3cret"}) as ws:
        assert ws.state is wsclient.State.OPEN
    with pytest.raises(wsclient.WebSocketError):
        wsclient.WebSocket(s.url, ssl={**base, "certfile": str(certfile), "keyfile": str(keyfile),
                                       "password": "wrong"})


def test_aio_over_tls(tls_server, ca):
    async def main():
        async with wsclient.aio.connect(tls_server.url, ssl={"cadata": ca.cert_pem.bytes().decode()},
                                        server_hostname="localhost") as ws:
            await ws.send("aio tls")
            assert await ws.recv() == "aio tls"

    asyncio.run(main())
