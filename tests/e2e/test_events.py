"""GET /events: time windows, the open stream, bad parameters, clients."""

import json
import time

import pytest

from e2e_helpers import assert_open_for, read_response_head


def open_event_stream(raw, api_version):
    """Starts GET /events (no until) on a plain socket; returns (socket, status, headers)."""
    sock = raw.socket()
    try:
        sock.sendall(f"GET /v{api_version}/events HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        status, headers, _ = read_response_head(sock)
    except BaseException:
        sock.close()
        raise
    return sock, status, headers


def event_listeners(raw, api_version):
    status, _, info = raw.request_json("GET", f"/v{api_version}/info")
    assert status == 200
    return info["NEventsListener"]


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_cli_events_end_at_until(cli):
    now = int(time.time())
    started = time.monotonic()
    result = cli("system", "events", "--since", str(now - 5), "--until", str(now + 1), timeout=15)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 5, f"docker system events took {elapsed:.1f} s"


def test_event_stream_stays_open(raw, api_version):
    sock, status, headers = open_event_stream(raw, api_version)
    try:
        assert status == 200
        assert headers.get("Content-Type", "").startswith("application/json")
        assert headers.get("Transfer-Encoding") == "chunked"
        assert_open_for(sock, 1.0)
    finally:
        sock.close()
    assert raw.ping()


def test_event_listener_is_dropped_when_client_leaves(raw, api_version):
    before = event_listeners(raw, api_version)
    sock, status, _ = open_event_stream(raw, api_version)
    try:
        assert status == 200
        assert wait_for(lambda: event_listeners(raw, api_version) == before + 1)
    finally:
        sock.close()
    assert wait_for(lambda: event_listeners(raw, api_version) == before), (
        "the daemon still counts the closed event stream"
    )


@pytest.mark.parametrize("query", ["since=abc", "until=abc", "filters=notjson"])
def test_bad_event_parameters_are_refused(raw, api_version, target_is_sockerless, query):
    status, _, body = raw.request_json("GET", f"/v{api_version}/events?{query}")
    if target_is_sockerless:
        assert status == 400
    else:
        assert status >= 400  # dockerd 20.10 answers 500
    assert body["message"]


def test_event_window_in_the_past_ends_at_once(raw, api_version):
    now = int(time.time())
    started = time.monotonic()
    status, _, body = raw.request(
        "GET", f"/v{api_version}/events?until={now - 30}&since={now - 60}", timeout=5
    )
    assert status == 200
    assert time.monotonic() - started < 3
    for line in body.splitlines():
        if line.strip():
            json.loads(line)


def test_docker_py_events(dclient):
    now = int(time.time())
    events = list(dclient.events(since=now - 5, until=now + 1, decode=True))
    assert all(isinstance(event, dict) for event in events)
