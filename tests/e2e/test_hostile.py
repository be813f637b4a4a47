"""Hostile requests: each answered with dockerd's status code and a JSON message, and the daemon
still healthy (GET /_ping) afterwards.

Raw requests over the daemon's socket. Every status here was taken from a real dockerd (20.10)
with the same request; checks of limits dockerd does not have are marked sockerless_only.
Related cases elsewhere: oversized bodies (test_http.py), archive uploads with `../` names on the
synthetic driver (test_exec_cp.py).
"""

import io
import json
import os
import socket
import stat
import tarfile
import time

import pytest

from images_fixture import BUSYBOX, api, loaded_images, names, proc_images, proc_names  # noqa: F401

JSON = {"Content-Type": "application/json"}

# Where sockerless answers a client's mistake with 400 and dockerd 20.10 with 500 (its JSON
# decoding and strconv errors are not marked as invalid parameters), the tests expect each
# daemon's own status: sockerless's is deliberate (docs/compatibility.md, "Hostile requests").


def assert_error(status, body, expected):
    assert status == expected, (status, body[:300])
    message = json.loads(body)["message"]
    assert isinstance(message, str) and message, body


@pytest.fixture
def healthy(raw):
    """Fails the test if the daemon does not answer GET /_ping afterwards."""
    yield
    assert raw.ping(timeout=5.0), "the daemon stopped answering /_ping"


@pytest.fixture
def container(api, names, loaded_images):  # noqa: F811
    """A created (not started) busybox container's ID."""
    return api.create(names("hostile"), Image=BUSYBOX, Cmd=["true"])


# --- request bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b'{"Image": "busybox", "Cmd": ["true"]',       # truncated
    b'{"Image": busybox}',                          # malformed
    b'{"Image": "x"}}',                             # trailing garbage
    b'\xff\xfe\x00garbage',                         # not text
    b'[1, 2, 3]',                                   # not an object
    b'{"Image": 5}',                                # wrong types
    b'{"Image": "busybox", "Cmd": 5}',
    b'{"Image": "busybox", "HostConfig": {"Memory": "lots"}}',
    b'{"Image": "busybox", "Env": {"A": "1"}}',
    b'{"Image": "busybox", "HostConfig": {"Memory": 1e400}}',
], ids=["truncated", "malformed", "trailing", "binary", "array", "image-int", "cmd-int",
        "memory-string", "env-object", "memory-huge"])
def test_bad_json_on_create(raw, api, body, healthy, loaded_images,  # noqa: F811
                            target_is_sockerless):
    status, _, data = raw.request("POST", f"/v{api.version}/containers/create", body=body,
                                  headers=JSON)
    # dockerd 20.10 decodes the first object and ignores the rest: {"Image": "x"} -> 404.
    dockerd = 404 if body == b'{"Image": "x"}}' else 500
    assert_error(status, data, 400 if target_is_sockerless else dockerd)


@pytest.mark.parametrize("path,body", [
    ("/networks/create", b'{"Name": ["x"]}'),
    ("/volumes/create", b'{"Name": 1, "Labels": "x"}'),
    ("/auth", b'{"username": {}}'),
])
def test_bad_json_elsewhere(raw, api, path, body, healthy, target_is_sockerless):
    status, _, data = raw.request("POST", f"/v{api.version}{path}", body=body, headers=JSON)
    dockerd = 500 if path == "/auth" else 400
    assert_error(status, data, 400 if target_is_sockerless else dockerd)


def test_body_shorter_than_its_content_length(raw, api, healthy):
    """The client announces 100 bytes, sends 10 and leaves: no answer is owed, the thread ends."""
    sock = raw.socket(timeout=5)
    sock.sendall(f"POST /v{api.version}/containers/create HTTP/1.1\r\nHost: x\r\n"
                 f"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                 '{"Image":"'.encode())
    sock.close()


# --- names, references, query values -------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "a b", "/", "x" * 300 + "/y", "-x", ".x"])
def test_invalid_container_names(raw, api, name, healthy, loaded_images):  # noqa: F811
    from urllib.parse import quote
    status, _, data = raw.request(
        "POST", f"/v{api.version}/containers/create?name={quote(name, safe='')}",
        body=json.dumps({"Image": BUSYBOX}), headers=JSON)
    assert_error(status, data, 400)


@pytest.mark.parametrize("method,path,expected", [
    ("POST", "/images/create?fromImage=Upper&tag=latest", 400),
    ("POST", "/images/create?fromImage=a/UPPER&tag=latest", 400),
    ("POST", "/images/create?fromImage=busybox&tag=bad%20tag", 400),
    ("POST", "/images/create?fromImage=busybox%40sha256%3Azz", 400),
    ("POST", f"/images/{BUSYBOX}/tag?repo=Bad%20Repo&tag=x", 400),
    ("POST", f"/images/{BUSYBOX}/tag?repo=x&tag=-bad", 400),
    ("GET", "/images/sha256:zz/json", 404),
])
def test_invalid_references(raw, api, method, path, expected, healthy,
                            loaded_images, target_is_sockerless):  # noqa: F811
    status, _, data = raw.request(method, f"/v{api.version}{path}")
    dockerd = 500 if "/tag?" in path else expected  # 20.10: tag errors are not marked invalid
    assert_error(status, data, expected if target_is_sockerless else dockerd)


@pytest.mark.parametrize("path,dockerd", [
    ("/containers/json?filters=notjson", 500),
    ("/containers/json?filters=%7B%22status%22%3A%5B%22sleepy%22%5D%7D", 400),
    ("/containers/json?filters=%7B%22nokey%22%3A%5B%22x%22%5D%7D", 400),
    ("/containers/json?limit=abc", 500),
    ("/images/json?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D", 400),
])
def test_bad_list_queries(raw, api, path, dockerd, healthy, target_is_sockerless):
    status, _, data = raw.request("GET", f"/v{api.version}{path}")
    assert_error(status, data, 400 if target_is_sockerless else dockerd)


@pytest.mark.parametrize("value", ["maybe", "yes", "2", " true "])
def test_booleans_are_read_as_dockerd_reads_them(raw, api, value, healthy):
    """Anything but 0, no, false and none (any case) is true."""
    from urllib.parse import quote
    status, _, data = raw.request("GET", f"/v{api.version}/containers/json?all={quote(value)}")
    assert status == 200, data[:200]


@pytest.mark.parametrize("suffix,dockerd", [
    ("/stop?t=99999999999999999999", 500),
    ("/stop?t=abc", 500),
    ("/restart?t=1.5", 500),
    ("/kill?signal=SIGNOPE", 400),
    ("/kill?signal=99999", 500),
    ("/resize?h=abc&w=80", 400),
])
def test_absurd_numbers_and_values(raw, api, container, suffix, dockerd, healthy,
                                   target_is_sockerless):
    status, _, data = raw.request("POST", f"/v{api.version}/containers/{container}{suffix}")
    assert_error(status, data, 400 if target_is_sockerless else dockerd)


def test_unknown_wait_condition(raw, api, container, healthy, target_is_sockerless):
    """dockerd 20.10 ignores an unknown condition (200, as not-running); newer ones and
    sockerless refuse it."""
    status, _, data = raw.request(
        "POST", f"/v{api.version}/containers/{container}/wait?condition=sometime")
    if target_is_sockerless:
        assert_error(status, data, 400)
    else:
        assert status == 200


@pytest.mark.parametrize("tail", ["-5", "abc", "99999999999999999999"])
def test_logs_with_odd_tail_values(raw, api, container, tail, healthy):
    """dockerd reads any tail it cannot parse, negative ones included, as `all`."""
    status, _, _ = raw.request(
        "GET", f"/v{api.version}/containers/{container}/logs?stdout=1&tail={tail}")
    assert status == 200


def test_stop_with_a_huge_timeout_on_a_stopped_container(raw, api, container, healthy):
    status, _, _ = raw.request("POST", f"/v{api.version}/containers/{container}/stop?t=99999999999")
    assert status == 304


# --- path parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize("ident", ["abc%00def", "a" * 4096, "%ff%fe"],
                         ids=["nul", "long", "bad-utf8"])
@pytest.mark.parametrize("method,suffix", [("GET", "/json"), ("DELETE", "?force=1"),
                                           ("POST", "/start"), ("GET", "/archive?path=/")])
def test_odd_container_ids(raw, api, ident, method, suffix, healthy):
    status, _, data = raw.request(method, f"/v{api.version}/containers/{ident}{suffix}")
    assert_error(status, data, 404)


@pytest.mark.parametrize("ident", ["..", "..%2F..%2Fetc", "%2E%2E"])
def test_dot_dot_in_the_path(raw, api, ident, healthy, target_is_sockerless):
    """dockerd's router redirects to the cleaned path (301); sockerless does not clean paths and
    finds no such container or route (404)."""
    status, _, data = raw.request("GET", f"/v{api.version}/containers/{ident}/json")
    if target_is_sockerless:
        assert_error(status, data, 404)
    else:
        assert status == 301


def test_nul_never_truncates_a_name(raw, api, container, healthy):
    """DELETE /containers/<id>%00junk must not remove <id> (a decoded NUL would cut it)."""
    status, _, data = raw.request("DELETE", f"/v{api.version}/containers/{container}%00junk"
                                  "?force=1")
    assert_error(status, data, 404)
    assert raw.request("GET", f"/v{api.version}/containers/{container}/json")[0] == 200


def test_a_path_is_percent_decoded_once(raw, api, container, healthy):
    """%41 in a path is "A", but %2541 is "%41", not "A" again (dockerd 20.10: 404)."""
    prefix = container[:11]
    hexed = "".join(f"%{ord(ch):02X}" for ch in prefix)
    assert raw.request("GET", f"/v{api.version}/containers/{hexed}/json")[0] == 200
    twice = "".join(f"%25{ord(ch):02X}" for ch in prefix)
    status, _, data = raw.request("GET", f"/v{api.version}/containers/{twice}/json")
    assert_error(status, data, 404)


def test_very_long_image_name(raw, api, healthy):
    status, _, data = raw.request("GET", f"/v{api.version}/images/{'a' * 4096}/json")
    assert status in (400, 404), (status, data[:200])


# --- headers -------------------------------------------------------------------------------------


def test_header_past_every_limit_is_refused(raw, healthy):
    """2 MiB of header: dockerd (1 MiB cap) and sockerless (about 30 KiB) answer 431 and close while
    the client is still sending, so the client may see the 431 or only the reset."""
    sock = raw.socket(timeout=30)
    try:
        sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 << 20) +
                     b"\r\n\r\n")
        data = sock.recv(64)
    except ConnectionError:
        data = b""
    finally:
        sock.close()
    assert data == b"" or data.startswith(b"HTTP/1.1 431"), data


@pytest.mark.sockerless_only
def test_header_over_the_limit_is_431(raw, healthy):
    # dockerd's cap is 1 MiB; sockerless's is about 30 KiB (docs/compatibility.md, Request limits).
    status, _, _ = raw.request("GET", "/_ping", headers={"X-Big": "a" * (300 * 1024)})
    assert status == 431


def test_one_large_header_passes(raw, healthy):
    """A large X-Registry-Config (the CLI's build sends every registry's credentials in it)."""
    status, _, data = raw.request("GET", "/_ping", headers={"X-Registry-Config": "e" * 24576})
    assert (status, data) == (200, b"OK")


def test_many_headers(raw, healthy):
    headers = {f"X-H{i}": "v" for i in range(500)}
    status, _, data = raw.request("GET", "/_ping", headers=headers)
    assert (status, data) == (200, b"OK")


def test_garbage_request_line(raw, healthy):
    sock = raw.socket(timeout=10)
    try:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
        data = sock.recv(4096)
    except ConnectionError:
        data = b""
    finally:
        sock.close()
    assert data == b"" or data.startswith(b"HTTP/1.1 400"), data[:100]


# --- archive uploads into a real container (process driver) --------------------------------------


def tar_entries(entries):
    """A tar of TarInfo-like dicts: name, type (tarfile constant), data, linkname, mode,
    devmajor, devminor."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.type = e.get("type", tarfile.REGTYPE)
            info.mode = e.get("mode", 0o644)
            info.mtime = 1704067200
            info.linkname = e.get("linkname", "")
            info.devmajor, info.devminor = e.get("dev", (0, 0))
            data = e.get("data", b"")
            info.size = len(data) if info.type == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if info.size else None)
    return buf.getvalue()


@pytest.fixture
def proc_box(proc_raw, proc_client, proc_names, proc_images):  # noqa: F811
    """A running busybox container on the process-driver daemon: (container, host path of its
    root, as inspect's GraphDriver MergedDir gives it)."""
    name = proc_names("hostile")
    container = proc_client.containers.run(BUSYBOX, ["sleep", "60"], name=name, detach=True)
    container.reload()
    root = container.attrs["GraphDriver"]["Data"]["MergedDir"]
    return container, root


def exists_inside(container, path):
    return container.exec_run(["test", "-e", path]).exit_code == 0


def put(proc_raw, name, path, data):
    status, _, body = proc_raw.request(
        "PUT", f"/containers/{name}/archive?path={path}", body=data,
        headers={"Content-Type": "application/x-tar"}, timeout=30)
    return status, body


def landing_spots(root, marker):
    """Where an escaping entry named `marker` could land on the host."""
    spots = [os.path.join(d, marker) for d in ("/", "/tmp", "/etc")]
    parent = root
    for _ in range(8):
        parent = os.path.dirname(parent)
        spots.append(os.path.join(parent, marker))
    return spots


def assert_nothing_outside(root, marker):
    leaked = [p for p in landing_spots(root, marker) if os.path.lexists(p)]
    for p in leaked:
        os.unlink(p)
    assert not leaked, f"written outside the container's root: {leaked}"


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink-abs", "symlink-rel"])
def test_upload_cannot_write_outside_the_root(proc_raw, proc_box, case, target_is_sockerless):
    """dockerd extracts in a chroot: `..` and absolute names land inside the root (200);
    sockerless refuses such entries (400, documented). A symlink out is followed inside the
    root by dockerd (the file lands in /tmp); sockerless never extracts through a symlink: it
    replaces the symlink with a directory (libarchive's secure-symlinks mode), so the file lands
    in /esc (documented)."""
    box, root = proc_box
    name = box.name
    marker = f"sockerless-escape-{os.getpid()}-{case}"
    entries = {
        "dotdot": [{"name": "../../../../../../../tmp/" + marker, "data": b"x"}],
        "absolute": [{"name": "/tmp/" + marker, "data": b"x"}],
        # A symlink to a host directory, then a file through it.
        "symlink-abs": [{"name": "esc", "type": tarfile.SYMTYPE, "linkname": "/tmp"},
                        {"name": "esc/" + marker, "data": b"x"}],
        "symlink-rel": [{"name": "esc", "type": tarfile.SYMTYPE,
                         "linkname": "../../../../../../../../tmp"},
                        {"name": "esc/" + marker, "data": b"x"}],
    }[case]
    status, body = put(proc_raw, name, "/", tar_entries(entries))
    if case.startswith("symlink"):
        assert status == 200, body
        where = "/esc/" if target_is_sockerless else "/tmp/"
        assert exists_inside(box, where + marker)
    elif target_is_sockerless:
        assert_error(status, body, 400)
    else:
        assert status == 200, body
    assert_nothing_outside(root, marker)
    assert proc_raw.ping()


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../../../../etc/passwd"])
def test_hardlink_cannot_reach_a_host_file(proc_raw, proc_box, target, target_is_sockerless):
    """Refused by both: dockerd 500 (its tar errors are not marked invalid), sockerless 400."""
    box, root = proc_box
    name = box.name
    before = os.stat("/etc/passwd")
    status, body = put(proc_raw, name, "/tmp", tar_entries(
        [{"name": "pw", "type": tarfile.LNKTYPE, "linkname": target}]))
    assert_error(status, body, 400 if target_is_sockerless else 500)
    after = os.stat("/etc/passwd")
    assert after.st_nlink == before.st_nlink, "a hard link to the host's /etc/passwd was made"
    assert proc_raw.ping()


def test_device_node_upload(proc_raw, proc_box, target_is_sockerless):
    """dockerd creates device nodes from an archive; sockerless refuses them (400), a
    deliberate difference (docs/compatibility.md, archive)."""
    box, _ = proc_box
    status, body = put(proc_raw, box.name, "/tmp", tar_entries(
        [{"name": "mem", "type": tarfile.CHRTYPE, "dev": (1, 1), "mode": 0o666}]))
    if target_is_sockerless:
        assert_error(status, body, 400)
        assert not exists_inside(box, "/tmp/mem")
    else:
        assert status == 200
    assert proc_raw.ping()


def test_setuid_bits_are_kept_inside_the_root(proc_raw, proc_box):
    box, _ = proc_box
    status, body = put(proc_raw, box.name, "/tmp", tar_entries(
        [{"name": "su", "data": b"#!/bin/sh\n", "mode": 0o4755}]))
    assert status == 200, body
    out = box.exec_run(["stat", "-c", "%a", "/tmp/su"])
    assert out.output.decode().strip() == "4755", out.output
    assert proc_raw.ping()


# --- slow clients ----------------------------------------------------------------------------------


def thread_count(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


@pytest.mark.sockerless_only
def test_slow_clients_are_cut_off_and_free_their_threads(make_daemon):
    """A client sending a header byte every second never completes a request. With
    --header-timeout 2 each such connection is closed within a few seconds and its thread
    ends. (dockerd 20.10 has no header timeout: such a client is kept forever.)"""
    from e2e_helpers import RawClient, wait_until
    daemon = make_daemon()
    daemon.argv += ["--header-timeout", "2"]
    daemon.start().wait_ready()
    raw = RawClient(daemon.host)
    pid = daemon.proc.pid
    time.sleep(0.5)
    baseline = thread_count(pid)
    socks = [raw.socket(timeout=10) for _ in range(5)]
    for s in socks:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n")
    wait_until(lambda: thread_count(pid) >= baseline + 5, timeout=5,
               what="a thread for each slow connection")
    started = time.monotonic()
    open_socks = list(socks)
    while open_socks and time.monotonic() - started < 15:
        for s in list(open_socks):
            try:
                s.sendall(b"X")
                s.setblocking(False)
                gone = s.recv(1) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            finally:
                s.setblocking(True)
            if gone:
                open_socks.remove(s)
        assert raw.ping(), "the daemon stopped answering while slow clients were connected"
        time.sleep(1)
    elapsed = time.monotonic() - started
    for s in socks:
        s.close()
    assert not open_socks, f"{len(open_socks)} slow connections still open after {elapsed:.0f} s"
    assert elapsed < 8, f"slow connections were cut off only after {elapsed:.0f} s"
    wait_until(lambda: thread_count(pid) <= baseline, timeout=10,
               what=f"the thread count back to {baseline}")
    assert daemon.stop() == 0, daemon.describe()


@pytest.mark.sockerless_only
def test_a_prompt_client_is_not_cut_off(make_daemon):
    """The header deadline ends when the headers are in: a long request (a stream) goes on."""
    from e2e_helpers import RawClient, assert_open_for, read_response_head
    daemon = make_daemon()
    daemon.argv += ["--header-timeout", "1"]
    daemon.start().wait_ready()
    sock = RawClient(daemon.host).socket(timeout=10)
    try:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, _ = read_response_head(sock)
        assert status == 200
        assert_open_for(sock, 3)
    finally:
        sock.close()
    assert daemon.stop() == 0, daemon.describe()
