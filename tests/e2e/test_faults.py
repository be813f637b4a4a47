"""Faults: the OCI runtime failing or missing mid-start, a full disk under the data root, a
container's process killed behind the daemon's back, clients that go away mid-stream.

Each case checks two things afterwards: the state is consistent (`docker ps`, inspect, wait and
logs tell the truth) and nothing leaked: the daemon's open fds, threads, mounts under its data
root and child processes return to what they were before (e2e_helpers.resources).

The daemons are private (process driver): one runs a fault-injecting wrapper around the real OCI
runtime (`--runtime`), which fails the runtime command named in a control file next to it; one
has its data root on a small tmpfs. Sockerless only: dockerd cannot be given either.
"""

import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from conftest import driver_status, make_cli, start_process_daemon, stop_and_check
from e2e_helpers import (Daemon, RawClient, assert_back_to, mounts_under, read_response_head,
                         children_of, resources, wait_until)
from images_fixture import APP, BUSYBOX, load_images, unique

pytestmark = pytest.mark.sockerless_only

API = "/v1.41"

WRAPPER = """#!/bin/sh
# A fault-injecting OCI runtime: runs REAL unless the file `fail` next to this script names the
# runtime command to fail (run, exec, ...) or to die in (kill-run, kill-exec).
real=REAL
ctl="$(dirname "$0")/fail"
log= cmd= prev=
for a in "$@"; do
    [ "$prev" = --log ] && log=$a
    if [ -z "$cmd" ]; then
        case "$prev" in
        --root | --log | --log-format) ;;
        *) case "$a" in -*) ;; *) cmd=$a ;; esac ;;
        esac
    fi
    prev=$a
done
mode=$(cat "$ctl" 2>/dev/null)
if [ -n "$cmd" ] && [ "$mode" = "$cmd" ]; then
    [ -n "$log" ] && printf '{"level":"error","msg":"injected %s failure"}\\n' "$cmd" >>"$log"
    exit 1
fi
if [ -n "$cmd" ] && [ "$mode" = "kill-$cmd" ]; then
    kill -9 $$
fi
exec "$real" "$@"
"""


def real_runtime(request):
    """The OCI runtime the suite's process-driver daemon found working here."""
    runtime = driver_status(request.getfixturevalue("proc_raw")).get("OCI Runtime")
    if not runtime:
        pytest.skip("the process driver is not in use: no working OCI runtime")
    return runtime


def start_daemon(binary, workdir, *extra):
    daemon = Daemon(binary, workdir, driver="process")
    daemon.argv += list(extra)
    return start_process_daemon(daemon, timeout=30)


class Faulty:
    """A process-driver daemon whose runtime fails on demand (set_fault)."""

    def __init__(self, daemon, rtdir, cli):
        self.daemon, self.rtdir, self.cli = daemon, rtdir, cli
        self.raw = RawClient(daemon.host)

    def set_fault(self, mode):
        ctl = self.rtdir / "fail"
        if mode:
            ctl.write_text(mode)
        elif ctl.exists():
            ctl.unlink()

    def dk(self, *args, timeout=60):
        result = self.cli(*args, timeout=timeout)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout.strip()


@pytest.fixture(scope="module")
def faulty(request, sockerlessd_binary, tmp_path_factory, target_is_sockerless):
    if not target_is_sockerless:
        pytest.skip("needs a private sockerlessd")
    real = real_runtime(request)
    rtdir = tmp_path_factory.mktemp("faulty-runtime")
    wrapper = rtdir / "faulty-runtime"
    wrapper.write_text(WRAPPER.replace("REAL", real))
    wrapper.chmod(0o755)
    daemon = start_daemon(sockerlessd_binary, tempfile.mkdtemp(prefix="sockerless-e2e-faults-"),
                          "--runtime", str(wrapper))
    cli = make_cli(daemon.host, tmp_path_factory.mktemp("docker-config-faults"))
    load_images(cli, daemon.host, tmp_path_factory)
    yield Faulty(daemon, rtdir, cli)
    stop_and_check(daemon, "sockerlessd --runtime faulty-runtime")


@pytest.fixture
def baseline(faulty):
    """The idle daemon's resources; the test's containers are removed and the daemon must be
    back there at the end."""
    faulty.set_fault(None)
    before = idle_resources(faulty.daemon)
    made = []
    yield made
    faulty.set_fault(None)
    if made:
        faulty.cli("rm", "-f", *made, timeout=60)
    assert_back_to(faulty.daemon, before)


def idle_resources(daemon):
    """resources() once the connection threads of earlier requests are gone: the least of a
    few readings."""
    least = resources(daemon)
    for _ in range(5):
        time.sleep(0.1)
        least = {k: min(v, least[k]) for k, v in resources(daemon).items()}
    return least


def inspect_state(raw, name):
    status, _, body = raw.request_json("GET", f"{API}/containers/{name}/json")
    assert status == 200, body
    return body["State"]


def ps_names(faulty, all_=False):
    out = faulty.dk("ps", *(["-a"] if all_ else []), "--format", "{{.Names}}")
    return set(out.split())


def assert_logs_follow_ends(faulty, name):
    """`docker logs -f` of a container that is not running returns at once."""
    result = faulty.cli("logs", "-f", name, timeout=10)
    assert result.returncode == 0, result.stderr


def assert_not_running(faulty, name, exit_code=None):
    state = inspect_state(faulty.raw, name)
    assert state["Running"] is False and state["Pid"] == 0, state
    assert state["Status"] in ("created", "exited"), state
    if exit_code is not None:
        assert state["ExitCode"] == exit_code, state
    assert name not in ps_names(faulty)
    assert name in ps_names(faulty, all_=True)
    runtime_state = Path(faulty.daemon.data_root) / "runtime" / "faulty-runtime"
    cid = faulty.dk("inspect", "-f", "{{.Id}}", name)
    assert not (runtime_state / cid).exists(), "the runtime's state of the container is left"
    assert_logs_follow_ends(faulty, name)
    return state


# --- the OCI runtime ------------------------------------------------------------------------------


# A start is one runtime command: `run` (in the foreground without a terminal, detached with one).
@pytest.mark.parametrize("mode, message", [
    ("run", "injected run failure"),
    ("kill-run", "killed by signal 9"),
])
def test_runtime_failing_mid_start(faulty, baseline, mode, message):
    name = unique("fault-rt")
    baseline.append(name)
    faulty.dk("create", "--name", name, BUSYBOX, "sh", "-c", "echo hello; sleep 30")
    faulty.set_fault(mode)
    result = faulty.cli("start", name)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    state = assert_not_running(faulty, name)
    assert message in state["Error"], state
    # Nothing of the failed start runs: no container process is left as the daemon's child.
    assert resources(faulty.daemon)["children"] == 0

    # The same container starts once the runtime works again.
    faulty.set_fault(None)
    faulty.dk("start", name)
    assert inspect_state(faulty.raw, name)["Running"]
    wait_until(lambda: "hello" in faulty.dk("logs", name), what="the retried start's output")


def test_runtime_killed_while_the_container_runs(faulty, baseline):
    """The runtime runs in the foreground for the life of a container without a terminal: when
    it dies, the container is reported exited and nothing of it is left running."""
    name = unique("fault-rt-dies")
    baseline.append(name)
    faulty.dk("run", "-d", "--name", name, BUSYBOX, "sleep", "300")
    pid = inspect_state(faulty.raw, name)["Pid"]
    assert pid > 0
    runtimes = [kid for kid in children_of(faulty.daemon.proc.pid)
                if b"faulty-runtime" in Path(f"/proc/{kid}/cmdline").read_bytes()]
    assert len(runtimes) == 1, runtimes
    os.kill(runtimes[0], signal.SIGKILL)
    wait_until(lambda: not inspect_state(faulty.raw, name)["Running"],
               what="the container reported exited")
    assert_not_running(faulty, name, exit_code=137)
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), what="the container's process gone")
    wait_until(lambda: resources(faulty.daemon)["children"] == 0, what="no child left")
    faulty.dk("start", name)
    assert inspect_state(faulty.raw, name)["Running"]


def test_runtime_failing_at_start_with_tty_and_stdin(faulty, baseline):
    name = unique("fault-rt-tty")
    baseline.append(name)
    faulty.dk("create", "-t", "-i", "--name", name, BUSYBOX, "sh")
    faulty.set_fault("run")
    assert faulty.cli("start", name).returncode != 0
    assert_not_running(faulty, name)
    faulty.set_fault(None)
    faulty.dk("start", name)
    assert inspect_state(faulty.raw, name)["Running"]


def test_runtime_missing(faulty, baseline):
    name = unique("fault-rt-missing")
    baseline.append(name)
    faulty.dk("create", "--name", name, BUSYBOX, "echo", "back")
    wrapper = faulty.rtdir / "faulty-runtime"
    hidden = faulty.rtdir / "hidden"
    wrapper.rename(hidden)
    try:
        result = faulty.cli("start", name)
        assert result.returncode != 0
        assert "faulty-runtime" in result.stderr, result.stderr
        assert_not_running(faulty, name)
    finally:
        hidden.rename(wrapper)
    assert faulty.dk("start", "-a", name) == "back"
    assert inspect_state(faulty.raw, name)["ExitCode"] == 0


def test_runtime_failing_exec(faulty, baseline):
    name = unique("fault-exec")
    baseline.append(name)
    faulty.dk("run", "-d", "--name", name, BUSYBOX, "sleep", "30")
    faulty.set_fault("exec")
    result = faulty.cli("exec", name, "true")
    # As dockerd: exit code 126, the message on the stdout stream (test_process's
    # test_exec_of_a_command_that_cannot_run checks it against dockerd).
    assert result.returncode == 126 and "injected exec failure" in result.stdout, result
    faulty.set_fault("kill-exec")
    assert faulty.cli("exec", name, "true").returncode != 0
    faulty.set_fault(None)
    assert faulty.dk("exec", name, "echo", "fine") == "fine"
    assert inspect_state(faulty.raw, name)["Running"]
    assert resources(faulty.daemon)["children"] == 1  # the container's process only


# --- a container's process killed behind the daemon's back ----------------------------------------


@pytest.mark.parametrize("tty", [False, True])
def test_process_killed_behind_the_daemons_back(faulty, baseline, tty):
    name = unique("fault-killed")
    baseline.append(name)
    faulty.dk("run", "-d", *(["-t"] if tty else []), "--name", name, BUSYBOX,
              "sh", "-c", "echo up; exec sleep 60")
    pid = inspect_state(faulty.raw, name)["Pid"]
    assert pid > 0
    wait_until(lambda: "up" in faulty.dk("logs", name), what="the container's first line")
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: name not in ps_names(faulty), what="docker ps to drop the container")
    state = assert_not_running(faulty, name, exit_code=137)
    assert state["Status"] == "exited" and state["OOMKilled"] is False
    assert faulty.dk("wait", name) == "137"
    assert "up" in faulty.dk("logs", name)
    result = faulty.cli("exec", name, "true")
    assert result.returncode != 0 and "is not running" in result.stderr, result.stderr
    # It starts again as usual.
    faulty.dk("start", name)
    assert inspect_state(faulty.raw, name)["Running"]


def test_orphans_of_a_host_pid_container_are_reaped(faulty, baseline):
    """With --pid host a container's orphans are reparented to the daemon (the child
    subreaper): they must be reaped, not left as zombies."""
    name = unique("fault-orphan")
    baseline.append(name)
    faulty.dk("run", "-d", "--pid", "host", "--name", name, BUSYBOX,
              "sh", "-c", "sleep 0.3 & sleep 0.3 & exit 0")
    assert faulty.dk("wait", name) == "0"
    wait_until(lambda: resources(faulty.daemon)["children"] == 0, timeout=10,
               what="the orphans to be reaped")


# --- clients going away mid-stream ----------------------------------------------------------------


def open_stream(raw, method, path, body=b"", headers=None):
    """Sends a request on a plain socket and reads the answer's head; returns (sock, status)."""
    sock = raw.socket(timeout=30)
    head = [f"{method} {path} HTTP/1.1", "Host: docker"]
    for k, v in (headers or {}).items():
        head.append(f"{k}: {v}")
    head.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    status, _, _ = read_response_head(sock)
    return sock, status


def hang_up(sock, linger=0.3):
    """Leaves the data unread for a moment (the daemon's writes back up), then closes."""
    time.sleep(linger)
    sock.close()


def test_clients_disconnecting_mid_stream(faulty, baseline):
    name = unique("fault-chatty")
    baseline.append(name)
    faulty.dk("run", "-d", "--name", name, BUSYBOX, "sh", "-c",
              "while true; do echo chatter chatter chatter chatter chatter chatter; done")
    raw = faulty.raw
    running = idle_resources(faulty.daemon)
    streams = [
        ("GET", f"{API}/containers/{name}/logs?follow=1&stdout=1&stderr=1", b"", None, 200),
        ("GET", f"{API}/containers/{name}/logs?follow=1&stdout=1&tail=0", b"", None, 200),
        ("POST", f"{API}/containers/{name}/attach?stream=1&stdout=1&stderr=1&stdin=1", b"",
         {"Upgrade": "tcp", "Connection": "Upgrade"}, 101),
        ("POST", f"{API}/containers/{name}/attach?stream=1&logs=1&stdout=1", b"", None, 200),
        ("GET", f"{API}/events", b"", None, 200),
        ("GET", f"{API}/containers/{name}/stats?stream=1", b"", None, 200),
    ]
    for method, path, body, headers, want in streams:
        sock, status = open_stream(raw, method, path, body, headers)
        assert status == want, (path, status)
        hang_up(sock)
    # Each stream's thread and fds go with its client, while the container runs on.
    assert_back_to(faulty.daemon, running)
    # An exec whose client goes: the process keeps running (as with dockerd), its output is
    # drained, and it ends with the container.
    status, _, body = raw.request_json(
        "POST", f"{API}/containers/{name}/exec",
        body=json.dumps({"Cmd": ["sh", "-c", "yes exec-output"], "AttachStdout": True}),
        headers={"Content-Type": "application/json"})
    assert status == 201, body
    sock, status = open_stream(raw, "POST", f"{API}/exec/{body['Id']}/start",
                               json.dumps({"Detach": False}).encode(),
                               {"Content-Type": "application/json", "Upgrade": "tcp",
                                "Connection": "Upgrade"})
    assert status == 101
    hang_up(sock)
    # The daemon still answers and the container still runs.
    assert inspect_state(raw, name)["Running"]
    assert "chatter" in faulty.dk("logs", "--tail", "1", name)


def build_context(dockerfile):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    return data.getvalue()


def test_client_disconnecting_mid_build(faulty, baseline):
    tag = unique("fault-build") + ":latest"
    context = build_context(
        f"FROM {BUSYBOX}\nRUN echo step; sleep 2\nRUN echo two\n".encode())
    sock, status = open_stream(faulty.raw, "POST", f"{API}/build?t={tag}&rm=1&forcerm=1",
                               context, {"Content-Type": "application/x-tar"})
    assert status == 200
    data = b""
    deadline = time.monotonic() + 30
    while b"step" not in data and time.monotonic() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    assert b"step" in data, data
    sock.close()
    # The build's containers go, running or not; no intermediate container is left.
    wait_until(lambda: not faulty.dk("ps", "-aq"), timeout=30,
               what="the build's containers to go")
    faulty.cli("rmi", "-f", tag)


class SlowRegistry:
    """A registry serving one image (slow:latest) whose layer blob trickles out (4 KiB every
    50 ms): a pull stays in its download until its client goes. `aborted` is set when the
    daemon hangs up on the layer download."""

    def __init__(self):
        import gzip
        import hashlib
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w") as tar:
            data = os.urandom(2 << 20)
            info = tarfile.TarInfo("noise")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        raw = layer.getvalue()
        self.blob = gzip.compress(raw, mtime=0)
        digest = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()  # noqa: E731
        config = json.dumps({
            "architecture": "amd64", "os": "linux",
            "config": {"Cmd": ["true"]},
            "rootfs": {"type": "layers", "diff_ids": [digest(raw)]},
        }).encode()
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": len(config), "digest": digest(config)},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": len(self.blob), "digest": digest(self.blob)}],
        }).encode()
        blobs = {digest(config): config, digest(self.blob): self.blob}
        self.started = threading.Event()
        self.aborted = threading.Event()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, body, ctype="application/json", extra=None):
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?")[0]
                if path == "/v2/":
                    return self.answer(b"{}")
                if path == "/v2/slow/manifests/latest":
                    return self.answer(manifest, json.loads(manifest)["mediaType"],
                                       {"Docker-Content-Digest": digest(manifest)})
                name = path.rsplit("/", 1)[-1]
                if path.startswith("/v2/slow/blobs/") and name in blobs:
                    body = blobs[name]
                    if body is not registry.blob:
                        return self.answer(body, "application/octet-stream")
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    registry.started.set()
                    try:
                        for i in range(0, len(body), 4096):
                            self.wfile.write(body[i:i + 4096])
                            self.wfile.flush()
                            time.sleep(0.05)
                    except OSError:
                        registry.aborted.set()
                    return None
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_client_disconnecting_mid_pull(faulty, baseline):
    registry = SlowRegistry()
    size_before = tree_size(faulty.daemon.data_root)
    try:
        sock, status = open_stream(faulty.raw, "POST",
                                   f"{API}/images/create?fromImage={registry.host}/slow&tag=latest")
        assert status == 200
        assert registry.started.wait(30), "the pull never reached the layer download"
        data = b""
        while b"Downloading" not in data:
            chunk = sock.recv(4096)
            assert chunk, data
            data += chunk
        sock.close()
        # The daemon notices at its next progress line and drops the download.
        assert registry.aborted.wait(15), "the pull went on after its client left"
        assert f"{registry.host}/slow" not in faulty.dk("images", "--format",
                                                        "{{.Repository}}")
        # Nor is any part of the layer left on disk.
        wait_until(lambda: tree_size(faulty.daemon.data_root) <= size_before + 64 * 1024,
                   what="the partial download to be removed")
    finally:
        registry.close()


def tree_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


# --- a full disk ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_disk(sockerlessd_binary, tmp_path_factory, target_is_sockerless):
    """A process-driver daemon whose data root is a 48 MiB tmpfs."""
    if not target_is_sockerless:
        pytest.skip("needs a private sockerlessd")
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    workdir = tempfile.mkdtemp(prefix="sockerless-e2e-diskfull-")
    data = os.path.join(workdir, "data")
    os.mkdir(data)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", data],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr}")
    daemon, code = None, None
    try:
        daemon = start_daemon(sockerlessd_binary, workdir)
        cli = make_cli(daemon.host, tmp_path_factory.mktemp("docker-config-diskfull"))
        load_images(cli, daemon.host, tmp_path_factory)
        yield Faulty(daemon, None, cli)
        code = daemon.stop(signal.SIGTERM, timeout=30)
        left = mounts_under(data)
        assert code == 0 and left == [data], (code, left, daemon.describe())
    finally:
        if daemon is not None:
            daemon.kill()
        subprocess.run(["umount", data], check=False)
        if not mounts_under(workdir):
            shutil.rmtree(workdir, ignore_errors=True)


class Filler:
    """Fills the tmpfs but for `spare` bytes with one file; free() removes it."""

    def __init__(self, data_root):
        self.path = Path(data_root) / "filler"

    def fill(self, spare):
        st = os.statvfs(self.path.parent)
        size = max(0, st.f_bavail * st.f_frsize - spare)
        with open(self.path, "ab") as f:
            block = b"\0" * (1 << 20)
            while size > 0:
                n = min(size, len(block))
                try:
                    f.write(block[:n])
                    f.flush()
                except OSError:
                    break
                size -= n

    def free(self):
        if self.path.exists():
            self.path.unlink()


def disk_used(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


@pytest.fixture
def disk(small_disk):
    before = idle_resources(small_disk.daemon)
    filler = Filler(small_disk.daemon.data_root)
    made = []
    yield small_disk, filler, made
    filler.free()
    if made:
        small_disk.cli("rm", "-f", *made, timeout=60)
    assert_back_to(small_disk.daemon, before)


def test_disk_full_while_writing_logs(disk):
    d, filler, made = disk
    name = unique("fault-disk-logs")
    made.append(name)
    faulty_cli = d.cli
    result = faulty_cli("create", "--name", name, BUSYBOX, "sh", "-c",
                        "i=0; while [ $i -lt 30000 ]; do echo line $i of a log that fills the "
                        "disk; i=$((i+1)); done; echo done")
    assert result.returncode == 0, result.stderr
    filler.fill(spare=256 * 1024)
    d.dk("start", name)
    assert d.dk("wait", name, timeout=120) == "0"
    logs = d.cli("logs", "--tail", "1", name)
    assert logs.returncode == 0 and "done" in logs.stdout, logs
    state = inspect_state(d.raw, name)
    assert state["Status"] == "exited" and state["ExitCode"] == 0
    assert name not in ps_names(d)
    filler.free()
    # With room again the same container runs as usual.
    d.dk("start", name)
    assert d.dk("wait", name, timeout=120) == "0"


def test_disk_full_at_start_and_in_the_container(disk):
    d, filler, made = disk
    name = unique("fault-disk-start")
    made.append(name)
    d.dk("create", "--name", name, BUSYBOX, "sh", "-c",
         "dd if=/dev/zero of=/big bs=1M count=200; echo dd=$?; sleep 30")
    filler.fill(spare=0)
    result = d.cli("start", name)
    if result.returncode != 0:  # no room for the bundle: a clean failure
        state = inspect_state(d.raw, name)
        assert not state["Running"] and state["Pid"] == 0, state
        assert name not in ps_names(d)
        assert resources(d.daemon)["children"] == 0
    filler.free()
    filler.fill(spare=8 * 1024 * 1024)
    if result.returncode != 0:
        d.dk("start", name)
    # The container's own writes hit ENOSPC; the daemon carries on.
    wait_until(lambda: "dd=" in d.dk("logs", name), timeout=60, what="dd to end")
    assert "dd=1" in d.dk("logs", name)
    assert inspect_state(d.raw, name)["Running"]
    d.dk("rm", "-f", name)
    made.remove(name)


@pytest.mark.parametrize("short_of", ["the upload", "the layers"])
def test_disk_full_while_loading_an_image(disk, tmp_path_factory, short_of):
    """No room for the uploaded archive (the spool file), or room for it but not for the layers
    it holds: the load fails with ENOSPC's message, leaves no image or partial layer, and works
    once there is room."""
    d, filler, made = disk
    archives = load_images(d.cli, d.daemon.host, tmp_path_factory).archives
    archive = archives[BUSYBOX]
    d.cli("rmi", "-f", APP)
    d.dk("rmi", "-f", BUSYBOX)
    assert d.dk("images", "-q") == ""
    used = disk_used(d.daemon.data_root)
    spare = 16 * 1024 if short_of == "the upload" else os.path.getsize(archive) + 256 * 1024
    filler.fill(spare=spare)
    result = d.cli("load", "-i", archive, timeout=120)
    assert result.returncode != 0, result.stdout
    assert "no space left on device" in result.stderr.lower(), result.stderr
    assert d.dk("images", "-q") == ""
    filler.free()
    # No partial layer or spool file is left taking room.
    assert disk_used(d.daemon.data_root) <= used + 64 * 1024
    for tag in (BUSYBOX, APP):
        d.dk("load", "-i", archives[tag], timeout=120)
    name = unique("fault-disk-app")
    made.append(name)
    assert d.dk("run", "--name", name, BUSYBOX, "echo", "busybox") == "busybox"
