"""Helpers shared by the end-to-end suite: a tiny HTTP client, a daemon runner, parsers."""

import http.client
import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import time
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from requests.structures import CaseInsensitiveDict

DEFAULT_TIMEOUT = 10.0


# --- HTTP ---------------------------------------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection over a unix socket; every socket operation has a timeout."""

    def __init__(self, path, timeout=DEFAULT_TIMEOUT):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def unix_path(host):
    """The socket path of a `unix://` host, or None for another scheme."""
    return host[len("unix://"):] if host.startswith("unix://") else None


class RawClient:
    """Plain HTTP requests to a daemon at `unix://PATH` or `tcp://HOST:PORT`."""

    def __init__(self, host):
        self.host = host

    def connection(self, timeout=DEFAULT_TIMEOUT):
        path = unix_path(self.host)
        if path is not None:
            return UnixHTTPConnection(path, timeout=timeout)
        url = urlsplit(self.host)
        if url.scheme != "tcp":
            raise ValueError(f"unsupported daemon host {self.host!r}")
        return http.client.HTTPConnection(url.hostname, url.port or 2375, timeout=timeout)

    def socket(self, timeout=DEFAULT_TIMEOUT):
        """A connected plain socket, for tests that speak HTTP by hand."""
        conn = self.connection(timeout=timeout)
        conn.connect()
        return conn.sock

    def request(self, method, path, body=None, headers=None, chunked=False, timeout=DEFAULT_TIMEOUT):
        """Sends one request on a fresh connection; returns (status, headers, body bytes).

        `chunked=True` sends `body` with `Transfer-Encoding: chunked`, in several chunks. If the
        server stops reading the body and answers early, the send error is ignored and the answer
        is read anyway.
        """
        headers = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()
        kwargs = {}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
            data, step = body, max(1, min(64 * 1024, len(body) // 4))
            body = (data[i:i + step] for i in range(0, len(data), step))
            kwargs["encode_chunked"] = True
        conn = self.connection(timeout=timeout)
        try:
            try:
                conn.request(method, path, body=body, headers=headers, **kwargs)
            except (BrokenPipeError, ConnectionResetError):
                pass
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, CaseInsensitiveDict(resp.getheaders()), data
        finally:
            conn.close()

    def request_json(self, method, path, **kwargs):
        """Like request(), with the body decoded as JSON."""
        status, headers, data = self.request(method, path, **kwargs)
        try:
            return status, headers, json.loads(data)
        except ValueError:
            raise AssertionError(f"{method} {path}: answer {status} is not JSON: {data[:300]!r}")

    def ping(self, timeout=2.0):
        """True when GET /_ping answers 200 OK."""
        try:
            status, _, data = self.request("GET", "/_ping", timeout=timeout)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200 and data == b"OK"


def read_response_head(sock, limit=64 * 1024):
    """Reads a response's status line and headers from a plain socket.

    Returns (status, headers, bytes already read past the headers)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(4096)
        if not data:
            raise AssertionError(f"connection closed before the end of the headers: {buf!r}")
        buf += data
        if len(buf) > limit:
            raise AssertionError("response headers too large")
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = CaseInsensitiveDict()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return status, headers, rest


def assert_open_for(sock, seconds):
    """Fails if the peer closes `sock` within `seconds` (data arriving meanwhile is fine)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], left)
        if readable and not sock.recv(4096):
            raise AssertionError(f"the server closed the stream within {seconds} s")


# --- Daemon -------------------------------------------------------------------------------------


# A command that runs sockerlessd (e.g. `valgrind --error-exitcode=99`): every daemon the suite
# starts runs under it, and the daemon's own start-up and shutdown get SLOW times as long.
WRAPPER_ENV = "SOCKERLESSD_WRAPPER"
RUNTIME_ENV = "SOCKERLESS_E2E_RUNTIME"
SLOW = 8 if os.environ.get(WRAPPER_ENV) else 1


class Daemon:
    """One sockerlessd process with its own work directory (socket, data root, log). `env`
    (a dict) replaces the environment it starts with."""

    def __init__(self, binary, workdir, extra_hosts=(), driver="synthetic", extra_args=()):
        self.workdir = workdir
        self.driver = driver
        self.socket_path = os.path.join(workdir, "sockerless.sock")
        self.log_path = os.path.join(workdir, "daemon.log")
        self.hosts = [f"unix://{self.socket_path}", *extra_hosts]
        self.argv = shlex.split(os.environ.get(WRAPPER_ENV, "")) + [binary]
        self.env = None
        for host in self.hosts:
            self.argv += ["-H", host]
        self.data_root = os.path.join(workdir, "data")
        self.argv += ["--data-root", self.data_root, "--driver", driver, "--log-level", "debug"]
        # SOCKERLESS_E2E_RUNTIME: the OCI runtime of process-driver daemons (--runtime), instead of
        # the daemon's own choice (crun, then runc).
        if driver == "process" and os.environ.get(RUNTIME_ENV):
            self.argv += ["--runtime", os.environ[RUNTIME_ENV]]
        self.argv += list(extra_args)
        self.proc = None

    @property
    def host(self):
        return self.hosts[0]

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env,
            )
        return self

    def wait_ready(self, timeout=15.0):
        """Waits until every host answers GET /_ping; fails with the log tail otherwise."""
        timeout *= SLOW
        deadline = time.monotonic() + timeout
        pending = list(self.hosts)
        while pending:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"sockerlessd exited with code {self.proc.returncode} during startup\n"
                    f"{self.describe()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(
                    f"sockerlessd did not answer GET /_ping on {pending} within {timeout} s\n"
                    f"{self.describe()}",
                    pytrace=False,
                )
            pending = [h for h in pending if not RawClient(h).ping(timeout=1.0)]
            if pending:
                time.sleep(0.05)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Sends `sig` and returns the exit code; kills -9 and fails if it takes too long."""
        timeout *= SLOW
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(
                f"sockerlessd did not exit within {timeout} s of {signal.Signals(sig).name}; "
                f"killed\n{self.describe()}",
                pytrace=False,
            )

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines=60):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"(no log: {e})"
        return "\n".join(text.splitlines()[-lines:])

    def describe(self):
        return (
            f"command: {' '.join(self.argv)}\n"
            f"log: {self.log_path}\n--- last lines ---\n{self.log_tail()}"
        )


# --- Mounts, terminals, polling -----------------------------------------------------------------


def _unescape_mountinfo(field):
    """Undoes the octal escapes (`\\040` for a space, ...) of a /proc/*/mountinfo field."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mountinfo(pid="self"):
    """The mounts of /proc/PID/mountinfo as dicts: mount_point, fstype, source, options (the
    per-mount and the per-superblock options joined with a comma)."""
    mounts = []
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            head, _, tail = line.rstrip("\n").partition(" - ")
            fields, rest = head.split(), tail.split()
            mounts.append({
                "mount_point": _unescape_mountinfo(fields[4]),
                "fstype": rest[0],
                "source": _unescape_mountinfo(rest[1]) if len(rest) > 1 else "",
                "options": fields[5] + "," + (rest[2] if len(rest) > 2 else ""),
            })
    return mounts


def mounts_under(path, pid="self"):
    """The mount points at or below `path` (a directory, made absolute and real)."""
    root = os.path.realpath(path).rstrip("/")
    return [m["mount_point"] for m in mountinfo(pid)
            if m["mount_point"] == root or m["mount_point"].startswith(root + "/")]


def run_in_pty(argv, env=None, rows=24, cols=80, timeout=30.0, on_output=None):
    """Runs `argv` with stdin, stdout and stderr on a new pseudo-terminal (its controlling
    terminal, in a session of its own) of `rows` x `cols`.

    `on_output(master_fd, text_so_far)` is called whenever output arrives (it may resize the
    terminal with set_winsize). Returns (exit code, output with \\r\\n turned into \\n). Kills the
    process and fails if it has not ended within `timeout` s."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()
    set_winsize(master, rows, cols)

    def make_controlling_tty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.Popen(
            argv, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
            preexec_fn=make_controlling_tty,
        )
    finally:
        os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                proc.wait()
                pytest.fail(f"{argv} still running after {timeout} s; output so far: {out!r}",
                            pytrace=False)
            readable, _, _ = select.select([master], [], [], min(left, 0.2))
            if not readable:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every slave end is closed
                data = b""
            if not data:
                break
            out += data
            if on_output is not None:
                on_output(master, out.decode("utf-8", "replace").replace("\r\n", "\n"))
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, out.decode("utf-8", "replace").replace("\r\n", "\n")


def set_winsize(fd, rows, cols):
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def wait_until(predicate, timeout=10.0, interval=0.1, what="condition"):
    """Polls `predicate()` until it returns a true value, which is returned; fails after
    `timeout` s with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {value!r})",
                        pytrace=False)
        time.sleep(interval)


# --- Misc ---------------------------------------------------------------------------------------


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def parse_rfc3339(text):
    """Parses an RFC 3339 timestamp (any number of fraction digits) into an aware datetime."""
    m = _RFC3339.match(text)
    assert m, f"not an RFC 3339 timestamp: {text!r}"
    base, frac, zone = m.groups()
    frac = (frac or ".0")[:7].ljust(7, "0")
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(base + frac + zone)


def ok(result):
    """Asserts a CLI run succeeded; returns its stdout."""
    assert result.returncode == 0, (
        f"{result.args[1:]} exited {result.returncode}\nstdout: {result.stdout}\n"
        f"stderr: {result.stderr}"
    )
    return result.stdout


# --- A daemon's resources (the fault and stress tests' leak checks) -----------------------------


def children_of(pid):
    """The pids whose parent is `pid` (zombies included), from /proc/*/stat."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name (field 2) is in parentheses and may hold blanks: split after it.
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def resources(daemon):
    """What a running sockerlessd holds: open fds, threads, mounts under its data root and child
    processes, as counts (from /proc/<pid>)."""
    pid = daemon.proc.pid
    return {
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": len(os.listdir(f"/proc/{pid}/task")),
        "mounts": len(mounts_under(daemon.data_root, pid)),
        "children": len(children_of(pid)),
    }


def describe_resources(daemon):
    """The details behind resources(), for a failure message."""
    pid = daemon.proc.pid
    fds = []
    for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            fds.append(f"{fd}->{os.readlink(f'/proc/{pid}/fd/{fd}')}")
        except OSError:
            pass
    kids = []
    for kid in children_of(pid):
        try:
            with open(f"/proc/{kid}/cmdline", "rb") as f:
                argv = f.read().replace(b"\0", b" ").decode(errors="replace")
            kids.append(f"{kid}: {argv}")
        except OSError:
            kids.append(str(kid))
    return (f"fds: {fds}\nmounts: {mounts_under(daemon.data_root, pid)}\nchildren: {kids}")


def assert_back_to(daemon, baseline, timeout=15.0):
    """Waits until the daemon holds no more than `baseline` (a resources() snapshot); fails
    with the details otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        now = resources(daemon)
        over = {k: (baseline[k], v) for k, v in now.items() if v > baseline[k]}
        if not over:
            return now
        if time.monotonic() > deadline:
            pytest.fail(f"sockerlessd did not return to its baseline within {timeout} s: "
                        f"(baseline, now) {over}\n{describe_resources(daemon)}", pytrace=False)
        time.sleep(0.1)
