"""Fixtures of the end-to-end suite.

By default the session starts the built sockerlessd (env SOCKERLESSD, default
build/release/sockerlessd) on a socket in a fresh temporary directory. With
SOCKERLESS_E2E_DOCKER_HOST=unix:///path/to/docker.sock the same tests target that daemon instead
(e.g. a real dockerd, for comparison); tests marked `sockerless_only` (registered in pytest.ini)
are then skipped.
"""

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import docker
import pytest

from e2e_helpers import Daemon, RawClient

REPO_ROOT = Path(__file__).resolve().parents[2]
EXTERNAL_HOST_ENV = "SOCKERLESS_E2E_DOCKER_HOST"
DOCKER_CLI = os.environ.get("DOCKER_CLI") or shutil.which("docker") or "/usr/local/bin/docker"

# The daemon started for the session, if any: its log tail is attached to failing tests.
_session_daemon = None


def external_host():
    return os.environ.get(EXTERNAL_HOST_ENV) or None


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
    if report.failed and _session_daemon is not None:
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
    daemon = Daemon(binary, tempfile.mkdtemp(prefix="sockerless-e2e-")).start()
    try:
        daemon.wait_ready(timeout=15)
    except BaseException:
        daemon.kill()
        raise
    _session_daemon = daemon
    yield daemon.host
    _session_daemon = None

    code = daemon.stop(signal.SIGTERM, timeout=15)
    problems = []
    if code != 0:
        problems.append(f"exit code {code} after SIGTERM (expected 0)")
    if os.path.exists(daemon.socket_path):
        problems.append(f"socket {daemon.socket_path} still exists after exit")
    if problems:
        pytest.fail(
            "session sockerlessd did not shut down cleanly: " + "; ".join(problems)
            + "\n" + daemon.describe(),
            pytrace=False,
        )
    shutil.rmtree(daemon.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def raw(docker_host):
    return RawClient(docker_host)


@pytest.fixture(scope="session")
def api_version(raw):
    status, _, body = raw.request_json("GET", "/version")
    assert status == 200, body
    return body["ApiVersion"]


@pytest.fixture(scope="session")
def cli(docker_host, tmp_path_factory):
    """Runs the docker CLI against the daemon under test; returns the CompletedProcess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_HOST"] = docker_host
    env["DOCKER_CONFIG"] = str(tmp_path_factory.mktemp("docker-config"))

    def run(*args, timeout=60):
        return subprocess.run(
            [DOCKER_CLI, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


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

    def make(extra_hosts=()):
        daemon = Daemon(sockerlessd_binary, tempfile.mkdtemp(prefix="sockerless-e2e-"), extra_hosts)
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        daemon.kill()
        shutil.rmtree(daemon.workdir, ignore_errors=True)
