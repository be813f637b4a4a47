"""Stress: many clients at once against one process-driver daemon, bounded in time and count.

Workers (threads, each with its own docker-py client) loop until the deadline or their
iteration cap:
- `own`: create, start, exec, logs, cp out and in, stop, rm of a container of its own;
- `shared`: exec, logs, cp, inspect, top, and now and then a stop and start, on containers
  every `shared` worker uses at once, and inspect, exec and logs on the racers' containers;
- `racer`: creates and starts a container, renames it back and forth, then removes it while
  the others inspect it by its old and new names and its ID.

Answers that a race makes legitimate (404, 409, 304) are counted; anything else (a 5xx, a
broken connection, a timeout) fails the test. Afterwards no container of the run is left or
stuck, and the daemon's fds, threads, mounts and children are back to where they were.

Sizes: SOCKERLESS_STRESS_WORKERS (16), SOCKERLESS_STRESS_SECONDS (15) and
SOCKERLESS_STRESS_ITERATIONS (per worker, 200). The daemon is private, with the sanitizers'
log_path in a directory of the test: a report from an ASan or TSan build (`ctest --preset
tsan`) fails the test even when the daemon keeps running.
"""

import glob
import io
import os
import random
import tarfile
import tempfile
import threading
import time
from collections import Counter

import docker
import pytest

from conftest import make_cli, start_process_daemon, stop_and_check
from e2e_helpers import (SLOW, Daemon, RawClient, assert_back_to, read_response_head,
                         resources)
from images_fixture import BUSYBOX, load_images, unique

pytestmark = pytest.mark.sockerless_only

WORKERS = int(os.environ.get("SOCKERLESS_STRESS_WORKERS", "16"))
SECONDS = float(os.environ.get("SOCKERLESS_STRESS_SECONDS", "15"))
ITERATIONS = int(os.environ.get("SOCKERLESS_STRESS_ITERATIONS", "200"))
LABEL = "org.sockerless.e2e.stress"
# A container that ends at once on SIGTERM and prints a line now and then.
TICKER = ["sh", "-c", "trap 'exit 0' TERM; while true; do echo tick; sleep 0.2; done"]
# Longest an operation may take before it counts as stuck.
STUCK_S = 60 * SLOW


def sanitizer_reports(logdir):
    """The contents of the sanitizer log files (log_path=<logdir>/sanitizer) written so far."""
    reports = []
    for path in sorted(glob.glob(os.path.join(logdir, "sanitizer.*"))):
        with open(path, errors="replace") as f:
            text = f.read()
        if text.strip():
            reports.append(f"--- {path}\n{text[:20000]}")
    return reports


@pytest.fixture(scope="module")
def stress_daemon(sockerlessd_binary, tmp_path_factory, target_is_sockerless):
    if not target_is_sockerless:
        pytest.skip("needs a private sockerlessd")
    workdir = tempfile.mkdtemp(prefix="sockerless-e2e-stress-")
    daemon = Daemon(sockerlessd_binary, workdir, driver="process")
    daemon.argv[daemon.argv.index("--log-level") + 1] = "info"
    env = dict(os.environ)
    # Outside the work directory, which the shutdown check removes.
    logdir = str(tmp_path_factory.mktemp("sanitizer"))
    log = f"log_path={logdir}/sanitizer"
    for name in ("TSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env[name] = ":".join(x for x in (env.get(name), log) if x)
    daemon.env = env
    start_process_daemon(daemon, timeout=30)
    cli = make_cli(daemon.host, tmp_path_factory.mktemp("docker-config-stress"))
    load_images(cli, daemon.host, tmp_path_factory)
    yield daemon
    try:
        stop_and_check(daemon, "sockerlessd (stress)")
    finally:  # a report explains a daemon that died: it comes first
        reports = sanitizer_reports(logdir)
        assert not reports, "sanitizer reports:\n" + "\n".join(reports)


class Run:
    """What the workers share: the deadline, the containers to race on, the outcomes."""

    def __init__(self, host):
        self.host = host
        self.deadline = time.monotonic() + SECONDS
        self.lock = threading.Lock()
        self.shared = []  # ids of the shared containers
        self.victims = []  # (id, current name) of the racers' containers
        self.counts = Counter()
        self.failures = []
        self.slowest = (0.0, "")

    def client(self):
        return docker.APIClient(base_url=self.host, version="1.41", timeout=STUCK_S)

    def going(self, i):
        return i < ITERATIONS and time.monotonic() < self.deadline and not self.failures

    def op(self, what, fn, *args, allowed=(), **kwargs):
        """Runs fn; an APIError whose status is in `allowed` (a race the test allows) is
        counted and None returned; any other exception is a failure."""
        t0 = time.monotonic()
        try:
            result = fn(*args, **kwargs)
            outcome = "ok"
        except docker.errors.APIError as e:
            code = e.status_code
            if code in allowed:
                result, outcome = None, str(code)
            else:
                self.fail(f"{what}: {code} {e.explanation}")
                raise
        except Exception as e:
            self.fail(f"{what}: {type(e).__name__}: {e}")
            raise
        finally:
            took = time.monotonic() - t0
            with self.lock:
                if took > self.slowest[0]:
                    self.slowest = (took, what)
        with self.lock:
            self.counts[f"{what} {outcome}"] += 1
        return result

    def fail(self, message):
        with self.lock:
            self.failures.append(message)


def tar_of(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def demux(data):
    """The payload of a multiplexed stream (stdout and stderr frames), concatenated."""
    out = b""
    while len(data) >= 8:
        size = int.from_bytes(data[4:8], "big")
        out += data[8:8 + size]
        data = data[8 + size:]
    return out


def exec_start(host, exec_id):
    """POST /exec/<id>/start, attached, on a socket of its own; the output. docker-py's
    exec_start reads the stream from the raw socket under its buffered reader: output that
    arrives with the 101 answer's head is lost, which this test must not mistake for the
    daemon's loss."""
    sock = RawClient(host).socket(timeout=STUCK_S)
    try:
        body = b'{"Detach": false, "Tty": false}'
        sock.sendall(f"POST /v1.41/exec/{exec_id}/start HTTP/1.1\r\nHost: docker\r\n"
                     f"Content-Type: application/json\r\nConnection: Upgrade\r\n"
                     f"Upgrade: tcp\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        status, _, data = read_response_head(sock)
        if status != 101:
            raise docker.errors.APIError(f"exec start: {status}", response=FakeResponse(status))
        while chunk := sock.recv(65536):
            data += chunk
        return demux(data)
    finally:
        sock.close()


class FakeResponse:
    """Enough of a requests.Response for docker.errors.APIError's status_code."""

    def __init__(self, status):
        self.status_code = status
        self.reason = ""


def exec_output(api, cid, cmd, allowed=()):
    """exec create + start (attached); its output, or None when a race refused it."""
    run = api.run
    x = run.op("exec create", api.c.exec_create, cid, cmd, allowed=allowed)
    if x is None:
        return None
    return run.op("exec start", exec_start, run.host, x["Id"], allowed=allowed)


class Worker:
    def __init__(self, run, index):
        self.run, self.index = run, index
        self.c = run.client()
        self.rng = random.Random(index)

    def create(self, name=None):
        return self.run.op("create", self.c.create_container, BUSYBOX, TICKER, name=name,
                           labels={LABEL: "1"}, host_config=self.c.create_host_config())["Id"]

    def own(self):
        run, c = self.run, self.c
        i = 0
        while run.going(i):
            i += 1
            cid = self.create(unique("stress-own"))
            run.op("start", c.start, cid)
            out = exec_output(self, cid, ["echo", f"exec-{self.index}"])
            assert out.strip() == f"exec-{self.index}".encode(), out
            run.op("logs", c.logs, cid, tail=5)
            stream, _ = run.op("cp out", c.get_archive, cid, "/etc/hostname")
            assert b"".join(stream)
            run.op("cp in", c.put_archive, cid, "/tmp", tar_of(f"f{i}", b"data"))
            run.op("stop", c.stop, cid, timeout=5)
            assert c.inspect_container(cid)["State"]["Running"] is False
            run.op("rm", c.remove_container, cid)

    def shared(self):
        run, c = self.run, self.c
        race = (404, 409)
        i = 0
        while run.going(i):
            i += 1
            cid = self.rng.choice(run.shared)
            roll = self.rng.random()
            if roll < 0.05:
                run.op("stop shared", c.stop, cid, timeout=5, allowed=race)
                run.op("start shared", c.start, cid, allowed=race)
            elif roll < 0.35:
                exec_output(self, cid, ["cat", "/etc/hostname"], allowed=race)
            elif roll < 0.5:
                run.op("logs shared", c.logs, cid, tail=3, allowed=race)
            elif roll < 0.6:
                result = run.op("cp shared", c.get_archive, cid, "/etc/hosts", allowed=race)
                if result is not None:
                    b"".join(result[0])
            elif roll < 0.7:
                run.op("top shared", c.top, cid, allowed=race)
            else:
                with run.lock:
                    victims = list(run.victims)
                if not victims:
                    continue
                vid, vname = self.rng.choice(victims)
                run.op("inspect victim", c.inspect_container,
                       self.rng.choice((vid, vname, vid[:12])), allowed=race)
                if self.rng.random() < 0.3:
                    exec_output(self, vid, ["true"], allowed=race)
                if self.rng.random() < 0.3:
                    run.op("logs victim", c.logs, vid, tail=2, allowed=race)

    def racer(self):
        run, c = self.run, self.c
        i = 0
        while run.going(i):
            i += 1
            names = [unique("stress-race-a"), unique("stress-race-b")]
            cid = self.create(names[0])
            with run.lock:
                run.victims.append((cid, names[0]))
            run.op("start racer", c.start, cid)
            for k in range(4):
                old, new = names[k % 2], names[(k + 1) % 2]
                run.op("rename", c.rename, cid, new)
                with run.lock:
                    run.victims = [(v, new if v == cid else n) for v, n in run.victims]
                run.op("inspect old name", c.inspect_container, old, allowed=(404,))
                assert run.op("inspect new name", c.inspect_container, new)["Id"] == cid
            run.op("rm -f racer", c.remove_container, cid, force=True)
            with run.lock:
                run.victims = [(v, n) for v, n in run.victims if v != cid]

    def main(self, kind):
        try:
            getattr(self, kind)()
        except Exception as e:  # noqa: BLE001 (recorded: the main thread fails the test)
            if not self.run.failures:
                self.run.fail(f"{kind} worker {self.index}: {type(e).__name__}: {e}")
        finally:
            self.c.close()


def test_many_clients_at_once(stress_daemon):
    daemon = stress_daemon
    baseline = resources(daemon)
    run = Run(daemon.host)
    admin = run.client()
    try:
        for _ in range(2):
            cid = admin.create_container(BUSYBOX, TICKER, labels={LABEL: "1"},
                                         name=unique("stress-shared"))["Id"]
            admin.start(cid)
            run.shared.append(cid)
        kinds = ["own", "own", "shared", "racer"]
        threads = []
        for i in range(WORKERS):
            worker = Worker(run, i)
            threads.append(threading.Thread(target=worker.main, args=(kinds[i % len(kinds)],),
                                            daemon=True))
        for t in threads:
            t.start()
        end = run.deadline + 2 * STUCK_S
        for t in threads:
            t.join(max(0.1, end - time.monotonic()))
        stuck = [t.name for t in threads if t.is_alive()]
        assert not stuck, f"workers still running: {stuck}; counts {dict(run.counts)}"
        assert not run.failures, "\n".join(run.failures[:20])
        assert run.slowest[0] < STUCK_S, run.slowest
        done = sum(n for k, n in run.counts.items() if k.startswith("rm ok"))
        assert done > 0, dict(run.counts)
        print(f"\nstress: {WORKERS} workers, {SECONDS} s: {sorted(run.counts.items())}; "
              f"slowest {run.slowest[1]} {run.slowest[0]:.2f} s")
    finally:
        leftovers = admin.containers(all=True, filters={"label": LABEL})
        for ctr in leftovers:
            admin.remove_container(ctr["Id"], force=True)
        admin.close()
    # Every worker removed its containers: nothing left behind, nothing stuck in between.
    assert [(c["Names"], c["State"]) for c in leftovers
            if c["Id"] not in run.shared] == []
    assert_back_to(daemon, baseline, timeout=30 * SLOW)
