"""Large container output through `docker logs` (with -f, --tail, --since/--until, -t) and
attach: every byte arrives, however much the container printed (more than the 16 MiB a
sockerless container keeps in memory) and however slowly the client reads.

dockerd reads its json-file log for `docker logs` and blocks the container's writes while an
attach client does not read; sockerless reads the json-file when memory no longer holds what a
reader needs (docs/internals/logs.md). Every test here must pass against dockerd too
(SOCKERLESS_E2E_DOCKER_HOST). Run against the process-driver daemon, and the tests marked
`agent_modes` through the agent as well.
"""

import hashlib
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest

from conftest import DOCKER_CLI
from e2e_helpers import RawClient, ok, read_response_head
from images_fixture import BUSYBOX, proc_images, proc_names  # noqa: F401 (fixtures)
from test_containers import frames

pytestmark = pytest.mark.usefixtures("proc_images")

PAD = "x" * 92  # "NNNNNN " + PAD + "\n": 100 bytes a line


def script(first, count, stream=1):
    """A shell command printing lines first..first+count-1 ("%06d PAD"), on stderr if stream 2."""
    redirect = " >&2" if stream == 2 else ""
    return f'seq -w {first} {first + count - 1} | sed "s/\\$/ {PAD}/"{redirect}'


def lines(first, count):
    return "".join(f"{i:06d} {PAD}\n" for i in range(first, first + count)).encode()


def digest(data):
    return hashlib.sha256(data).hexdigest()


def cli_bytes(proc_cli, *args, timeout=180):
    """(stdout, stderr) bytes of a docker CLI command that must succeed."""
    result = subprocess.run([DOCKER_CLI, *args], env=proc_cli.env, stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def run_to_exit(proc_cli, proc_names, command, timeout=180):
    """Runs busybox `sh -c command` detached and waits for its exit (code 0); returns its name."""
    name = proc_names("logs-large")
    ok(proc_cli("run", "-d", "--name", name, BUSYBOX, "sh", "-c", command))
    assert ok(proc_cli("wait", name, timeout=timeout)).strip() == "0"
    return name


def assert_same(got, want):
    assert (len(got), digest(got)) == (len(want), digest(want)), got[:200]


@pytest.mark.agent_modes
def test_logs_of_more_than_16_mib_are_whole_on_both_streams(proc_cli, proc_names):
    # 20 MB on each stream, 40 MB in all: far past what memory keeps
    name = run_to_exit(proc_cli, proc_names,
                       f"({script(0, 200000)}) & ({script(200000, 200000, 2)}); wait")
    out, err = cli_bytes(proc_cli, "logs", name)
    assert_same(out, lines(0, 200000))
    assert_same(err, lines(200000, 200000))
    out, err = cli_bytes(proc_cli, "logs", "--tail", "3", name)
    # the last 3 entries of the two streams together: some of each stream's last lines
    assert len(out.splitlines()) + len(err.splitlines()) == 3


def test_logs_of_50_mb(proc_cli, proc_names):
    name = run_to_exit(proc_cli, proc_names, script(0, 500000))
    out, err = cli_bytes(proc_cli, "logs", name)
    assert_same(out, lines(0, 500000))
    assert err == b""


def test_logs_tail_of_a_large_log(proc_cli, proc_names):
    name = run_to_exit(proc_cli, proc_names, script(0, 400000))
    # more lines than memory holds: most of them come from the file, read backwards
    out, _ = cli_bytes(proc_cli, "logs", "--tail", "300000", name)
    assert_same(out, lines(100000, 300000))
    out, _ = cli_bytes(proc_cli, "logs", "--tail", "5", name)
    assert_same(out, lines(399995, 5))
    out, _ = cli_bytes(proc_cli, "logs", "--tail", "400001", name)
    assert_same(out, lines(0, 400000))
    out, _ = cli_bytes(proc_cli, "logs", "-t", "--tail", "1000", name)
    stamps = [line.split(b" ", 1)[0] for line in out.splitlines()]
    assert b"".join(line.split(b" ", 1)[1] + b"\n" for line in out.splitlines()) == lines(
        399000, 1000)
    assert stamps == sorted(stamps) and all(s.endswith(b"Z") for s in stamps), stamps[:3]


def unix_time(stamp):
    """Seconds since the epoch of an RFC 3339 stamp with up to nine fraction digits, as a
    decimal string with nine (what `--since` takes)."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    seconds = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(seconds.timestamp()), int((frac or "0").ljust(9, "0")[:9])


def test_logs_since_and_until_in_a_large_log(proc_cli, proc_names):
    # 25 MB, a pause, then 10 lines: the first batch is mostly in the file only
    name = run_to_exit(proc_cli, proc_names, f"{script(0, 250000)}; sleep 2; {script(250000, 10)}")
    out, _ = cli_bytes(proc_cli, "logs", "-t", "--tail", "11", name)
    last_of_first = out.splitlines()[0].split(b" ", 1)[0].decode()
    sec, ns = unix_time(last_of_first)
    between = f"{sec + 1}.{ns:09d}"
    out, _ = cli_bytes(proc_cli, "logs", "--since", between, name)
    assert_same(out, lines(250000, 10))
    out, _ = cli_bytes(proc_cli, "logs", "--until", between, name)
    assert_same(out, lines(0, 250000))


class SlowReader(threading.Thread):
    """Reads a pipe to its end, after `pause` seconds of not reading at all."""

    def __init__(self, pipe, pause):
        super().__init__(daemon=True)
        self.pipe, self.pause, self.data = pipe, pause, b""

    def run(self):
        time.sleep(self.pause)
        chunks = []
        while chunk := self.pipe.read(1 << 16):
            chunks.append(chunk)
        self.data = b"".join(chunks)


def read_slowly(proc_cli, args, pause, timeout=240):
    """Runs the docker CLI with args, its stdout read only after `pause` s; (code, stdout)."""
    proc = subprocess.Popen([DOCKER_CLI, *args], env=proc_cli.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    reader = SlowReader(proc.stdout, pause)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
        reader.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    return code, reader.data


@pytest.mark.agent_modes
def test_attached_run_of_50_mb_read_slowly_arrives_whole(proc_cli, proc_names):
    name = proc_names("logs-attach")
    # The client reads nothing for 6 s: the container prints its 50 MB meanwhile (sockerless)
    # or waits for the client (dockerd).
    code, out = read_slowly(proc_cli, ["run", "--name", name, BUSYBOX, "sh", "-c",
                                       script(0, 500000)], pause=6)
    assert code == 0
    assert_same(out, lines(0, 500000))


def test_logs_follow_of_a_big_producer_read_slowly(proc_cli, proc_names):
    name = proc_names("logs-follow")
    ok(proc_cli("run", "-d", "--name", name, BUSYBOX, "sh", "-c",
                f"sleep 1; {script(0, 300000)}; sleep 1; {script(300000, 100000)}"))
    code, out = read_slowly(proc_cli, ["logs", "-f", name], pause=5)
    assert code == 0
    assert_same(out, lines(0, 400000))


@pytest.mark.agent_modes
def test_attach_frames_hold_many_lines_of_one_stream(proc_cli, proc_host, proc_names):
    # dockerd frames an attach stream by what it read from the container (up to 32 KiB), not
    # by line: a fast burst of short lines comes in few frames, each of one stream and at most
    # 32 KiB, the output whole and in order on each stream. (`docker logs` frames one entry
    # each: the other tests here.)
    name = proc_names("logs-frames")
    ok(proc_cli("create", "--name", name, BUSYBOX, "sh", "-c",
                f"{script(100000, 100000)}; {script(200000, 1000, 2)}"))
    sock = RawClient(proc_host).socket(timeout=120)
    try:
        sock.sendall(f"POST /containers/{name}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                     f"Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
        status, _, data = read_response_head(sock)
        assert status == 101
        ok(proc_cli("start", name))
        while chunk := sock.recv(1 << 16):
            data += chunk
    finally:
        sock.close()
    got = frames(data)
    assert all(len(payload) <= 32 * 1024 for _, payload in got)
    assert_same(b"".join(p for stream, p in got if stream == 1), lines(100000, 100000))
    assert_same(b"".join(p for stream, p in got if stream == 2), lines(200000, 1000))
    assert len(got) < 101000 // 10, len(got)
