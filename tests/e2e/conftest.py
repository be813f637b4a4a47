"""Fixtures of the end-to-end suite.

By default the session starts the built sockerlessd (env SOCKERLESSD, default
build/release/sockerlessd) on a socket in a fresh temporary directory. With
SOCKERLESS_E2E_DOCKER_HOST=unix:///path/to/docker.sock the same tests target that daemon instead
(e.g. a real dockerd, for comparison); tests marked `sockerless_only` (registered in pytest.ini)
are then skipped.

Two daemons serve the suite. The session one (`docker_host`, `cli`, `dclient`, `raw`) runs the
synthetic driver explicitly (`--driver synthetic`: no process runs, start prints the command line),
which most tests rely on. The `proc_*` fixtures (`proc_host`, `proc_cli`, `proc_client`,
`proc_raw`; `proc_images` in images_fixture.py) start a second sockerlessd with `--driver process`
for tests of real containers; those are skipped when /info says the process driver is not in use
(no OCI runtime on the machine, say). With SOCKERLESS_E2E_DOCKER_HOST set, both sets point at the
external daemon.

Tests marked `agent_modes` run three times: against the process-driver daemon, and against one
started with `--agent-mode forward` and one with `--agent-mode reverse` (every container's
command under sockerless-agent, the same tests passing through the agent path). The mode is the
session fixture `proc_mode` ("process", "agent-forward", "agent-reverse"); against an external
daemon only "process" runs.
"""

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import docker
import pytest

from e2e_helpers import Daemon, RawClient, mounts_under, ok

REPO_ROOT = Path(__file__).resolve().parents[2]
EXTERNAL_HOST_ENV = "SOCKERLESS_E2E_DOCKER_HOST"
DOCKER_CLI = os.environ.get("DOCKER_CLI") or shutil.which("docker") or "/usr/local/bin/docker"

# The daemons started for the session, if any: their log tails are attached to failing tests.
_session_daemon = None
_proc_daemon = None


def external_host():
    return os.environ.get(EXTERNAL_HOST_ENV) or None


# --agent-mode arguments of the daemon of each proc_mode; heartbeats are short so that a dead
# agent is found within seconds.
AGENT_TIMEOUT_MS = 3000
PROC_MODES = {
    "process": [],
    "agent-forward": ["--agent-mode", "forward", "--agent-timeout", str(AGENT_TIMEOUT_MS)],
    "agent-reverse": ["--agent-mode", "reverse", "--agent-timeout", str(AGENT_TIMEOUT_MS)],
}


def pytest_generate_tests(metafunc):
    if "proc_mode" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("agent_modes") is None or external_host():
        return
    modes = metafunc.definition.get_closest_marker("agent_modes").args or tuple(PROC_MODES)
    metafunc.parametrize("proc_mode", list(modes), indirect=True, scope="session")


def pytest_collection_modifyitems(config, items):
    if not external_host():
        return
    skip = pytest.mark.skip(reason=f"sockerless-specific ({EXTERNAL_HOST_ENV} is set)")
    for item in items:
        if "sockerless_only" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    if _proc_daemon is not None and "proc_host" in getattr(item, "fixturenames", ()):
        report.sections.append(
            ("sockerlessd --driver process log (last lines)", _proc_daemon.log_tail())
        )
    elif _session_daemon is not None:
        report.sections.append(("sockerlessd log (last lines)", _session_daemon.log_tail()))


@pytest.fixture(scope="session")
def target_is_sockerless():
    return external_host() is None


@pytest.fixture(scope="session")
def sockerlessd_binary():
    path = os.environ.get("SOCKERLESSD") or str(REPO_ROOT / "build" / "release" / "sockerlessd")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"sockerlessd binary not found at {path}: build it first (scripts/build.sh release), "
            f"set SOCKERLESSD to another build, or set {EXTERNAL_HOST_ENV} to test another daemon",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def docker_host(request):
    """The `unix://...` address of the daemon under test."""
    global _session_daemon
    host = external_host()
    if host:
        yield host
        return

    binary = request.getfixturevalue("sockerlessd_binary")
    daemon = Daemon(
        binary, tempfile.mkdtemp(prefix="sockerless-e2e-"), driver="synthetic"
    ).start()
    try:
        daemon.wait_ready(timeout=15)
    except BaseException:
        daemon.kill()
        raise
    _session_daemon = daemon
    yield daemon.host
    _session_daemon = None

    stop_and_check(daemon, "session sockerlessd")


def stop_and_check(daemon, what):
    """Stops a session daemon with SIGTERM and fails unless it shut down cleanly: exit code 0, no
    socket file left, nothing left mounted under its work directory. The directory is removed
    only when nothing is mounted there (a bind mount left behind must not let the removal reach
    into the host's files)."""
    code = daemon.stop(signal.SIGTERM, timeout=15)
    problems = []
    if code != 0:
        problems.append(f"exit code {code} after SIGTERM (expected 0)")
    if os.path.exists(daemon.socket_path):
        problems.append(f"socket {daemon.socket_path} still exists after exit")
    left_mounted = mounts_under(daemon.workdir)
    if left_mounted:
        problems.append(f"still mounted under {daemon.workdir}: {left_mounted}")
    else:
        shutil.rmtree(daemon.workdir, ignore_errors=True)
    if problems:
        pytest.fail(
            f"{what} did not shut down cleanly: " + "; ".join(problems) + "\n" + daemon.describe(),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def raw(docker_host):
    return RawClient(docker_host)


@pytest.fixture(scope="session")
def api_version(raw):
    status, _, body = raw.request_json("GET", "/version")
    assert status == 200, body
    return body["ApiVersion"]


def cli_env(host, config_dir):
    """The environment for a docker CLI talking to `host`, with a private config directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_HOST"] = host
    env["DOCKER_CONFIG"] = str(config_dir)
    return env


def make_cli(host, config_dir):
    """A function running the docker CLI against `host`: run(*args, timeout=60, input=None)
    returns the CompletedProcess (text mode); `input` is written to its stdin, which is closed
    afterwards (otherwise stdin is /dev/null). `run.env` is the CLI's environment."""
    env = cli_env(host, config_dir)

    def run(*args, timeout=60, input=None):
        return subprocess.run(
            [DOCKER_CLI, *args],
            env=env,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    run.env = env
    return run


@pytest.fixture(scope="session")
def cli(docker_host, tmp_path_factory):
    """Runs the docker CLI against the daemon under test; returns the CompletedProcess."""
    return make_cli(docker_host, tmp_path_factory.mktemp("docker-config"))


@pytest.fixture(scope="session")
def dclient(docker_host):
    client = docker.DockerClient(base_url=docker_host, version="auto", timeout=30)
    yield client
    client.close()


@pytest.fixture
def make_daemon(sockerlessd_binary):
    """Creates (not starts) private sockerlessd instances, each in its own temporary directory;
    kills leftovers and removes the directories afterwards."""
    daemons = []

    def make(extra_hosts=(), driver="synthetic"):
        daemon = Daemon(
            sockerlessd_binary, tempfile.mkdtemp(prefix="sockerless-e2e-"), extra_hosts, driver
        )
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        daemon.kill()
        if not mounts_under(daemon.workdir):
            shutil.rmtree(daemon.workdir, ignore_errors=True)


# --- The daemon running real containers (--driver process) ----------------------------------------


def driver_status(raw):
    """GET /info's DriverStatus as a dict."""
    status, _, body = raw.request_json("GET", "/info")
    assert status == 200, body
    return dict(body.get("DriverStatus") or [])


def start_process_daemon(daemon, timeout=15, first="process"):
    """Starts `daemon` (a Daemon with driver "process") and waits until it answers; skips the
    caller when /info's driver chain does not start with `first` (the process driver, or the
    agent driver in an agent mode), fails (never hangs) when the daemon refuses to start.
    Returns the daemon."""
    daemon.start()
    try:
        daemon.wait_ready(timeout=timeout)
        chain = driver_status(RawClient(daemon.host)).get("Driver Chain", "")
    except BaseException:
        daemon.kill()
        raise
    if not chain.startswith(first):
        stop_and_check(daemon, "sockerlessd --driver process")
        pytest.skip(f"the process driver is not in use: /info DriverStatus has Driver Chain "
                    f"{chain!r}")
    return daemon


def dynamic_interpreter(path):
    """The ELF program interpreter of the binary at path (b"" for a static binary)."""
    import struct
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return b""
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ptype, _, offset, _, _, filesz = struct.unpack("<IIQQQQ", f.read(40))
            if ptype == 3:  # PT_INTERP
                f.seek(offset)
                return f.read(filesz).rstrip(b"\0")
    return b""


@pytest.fixture(scope="session")
def proc_mode(request):
    """How the process-driver daemon runs containers: "process" (directly), "agent-forward" or
    "agent-reverse" (under sockerless-agent); parametrized for tests marked agent_modes."""
    return getattr(request, "param", "process")


@pytest.fixture(scope="session")
def proc_daemon(request, proc_mode):
    """The sockerlessd started with `--driver process` (and the --agent-mode of proc_mode) in a
    work directory of its own, or None when an external daemon is tested. Skips its tests when
    /info says the process driver is not in use; fails (never hangs) when the daemon refuses to
    start. Stopped at the end of the session, with the same clean-shutdown checks as the session
    daemon."""
    global _proc_daemon
    if external_host():
        yield None
        return

    binary = request.getfixturevalue("sockerlessd_binary")
    # SOCKERLESS_E2E_AGENT: the agent for local use (a static one, e.g. the release build's
    # with an asan sockerlessd); default: the one next to sockerlessd.
    agent = os.environ.get("SOCKERLESS_E2E_AGENT") or os.path.join(os.path.dirname(binary),
                                                                    "sockerless-agent")
    if proc_mode != "process" and os.path.exists(agent) and dynamic_interpreter(agent):
        pytest.skip(f"{agent} is dynamically linked (an asan build?): it cannot run inside the "
                    "test images, which have no libc; set SOCKERLESS_E2E_AGENT to a static one")
    extra = PROC_MODES[proc_mode] + (["--agent-binary", agent] if proc_mode != "process" else [])
    daemon = start_process_daemon(
        Daemon(binary, tempfile.mkdtemp(prefix=f"sockerless-e2e-{proc_mode}-"), driver="process",
               extra_args=extra),
        first="agent" if proc_mode != "process" else "process")
    _proc_daemon = daemon
    yield daemon
    _proc_daemon = None
    stop_and_check(daemon, "sockerlessd --driver process")


@pytest.fixture(scope="session")
def proc_host(proc_daemon):
    """The `unix://...` address of the daemon running real containers."""
    return proc_daemon.host if proc_daemon is not None else external_host()


@pytest.fixture(scope="session")
def proc_raw(proc_host):
    return RawClient(proc_host)


@pytest.fixture(scope="session")
def proc_cli(proc_host, tmp_path_factory):
    """Runs the docker CLI against the daemon running real containers (see make_cli)."""
    return make_cli(proc_host, tmp_path_factory.mktemp("docker-config-proc"))


@pytest.fixture(scope="session")
def proc_client(proc_host):
    client = docker.DockerClient(base_url=proc_host, version="auto", timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def proc_data_root(proc_raw):
    """The data root of the daemon running real containers, as its /info reports it."""
    root = driver_status(proc_raw).get("Data Root")
    assert root, "no Data Root in /info DriverStatus"
    return root


@pytest.fixture
def dk(proc_cli):
    """The docker CLI against the process-driver daemon, succeeding or failing the test:
    dk(*args) returns stdout; dk.run(*args) returns the CompletedProcess whatever its exit code."""

    def run_ok(*args, timeout=30, input=None):
        return ok(proc_cli(*args, timeout=timeout, input=input))

    run_ok.run = lambda *args, timeout=30, input=None: proc_cli(*args, timeout=timeout,
                                                                 input=input)
    return run_ok


@pytest.fixture
def start(dk, proc_names):
    """Starts a detached busybox container running `sh -c script`, with extra `docker run`
    options; returns its name. Removed afterwards (proc_names)."""
    from images_fixture import BUSYBOX

    def make(script, *options, prefix="proc"):
        name = proc_names(prefix)
        dk("run", "-d", "--name", name, *options, BUSYBOX, "sh", "-c", script)
        return name

    return make
