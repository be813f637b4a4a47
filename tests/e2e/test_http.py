"""HTTP plumbing: keep-alive, chunked request bodies, long request lines, body size limit."""

import json

import pytest

AUTH = {"username": "u", "password": "p", "serveraddress": "localhost:5000"}
JSON_HEADERS = {"Content-Type": "application/json"}


def test_keep_alive(raw, api_version):
    conn = raw.connection()
    try:
        conn.request("GET", "/_ping")
        first = conn.getresponse()
        assert (first.status, first.read()) == (200, b"OK")
        assert not first.will_close
        sock = conn.sock

        conn.request("GET", f"/v{api_version}/version")
        second = conn.getresponse()
        assert second.status == 200
        assert json.loads(second.read())["ApiVersion"] == api_version
        assert conn.sock is sock, "the second request needed a new connection"
    finally:
        conn.close()


@pytest.mark.sockerless_only
def test_chunked_request_body(raw, api_version):
    # dockerd checks the credentials against the registry; sockerless only stores them for now.
    status, _, body = raw.request_json(
        "POST", f"/v{api_version}/auth", body=json.dumps(AUTH), headers=JSON_HEADERS, chunked=True
    )
    assert status == 200, body
    assert body["Status"] == "Login Succeeded"
    assert raw.ping()


def test_long_request_line(raw):
    status, _, body = raw.request("GET", "/_ping?x=" + "a" * 6000)
    assert (status, body) == (200, b"OK")
    assert raw.ping()


@pytest.mark.sockerless_only
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_body_is_refused(raw, api_version, chunked):
    # dockerd has no cap on request bodies.
    padding = "a" * (20 * 1024 * 1024)
    payload = json.dumps(dict(AUTH, password=padding)).encode()
    status, _, body = raw.request_json(
        "POST", f"/v{api_version}/auth", body=payload, headers=JSON_HEADERS, chunked=chunked,
        timeout=30,
    )
    assert status == 413
    assert body["message"]
    assert raw.ping()
