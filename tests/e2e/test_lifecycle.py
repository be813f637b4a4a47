"""sockerlessd as a process: signals, listeners, socket files, command line.

Each test starts its own daemon on its own socket, never the session one.
"""

import os
import signal
import socket
import stat
import subprocess
import time

import pytest

from e2e_helpers import RawClient, free_tcp_port

pytestmark = pytest.mark.sockerless_only


def run_sockerlessd(binary, *args, timeout=5):
    """Runs sockerlessd to completion; fails if it is still running after `timeout` s."""
    try:
        return subprocess.run(
            [binary, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sockerlessd {' '.join(args)} still running after {timeout} s", pytrace=False)


def test_sigint_exits_cleanly(make_daemon):
    daemon = make_daemon().start().wait_ready()
    assert daemon.stop(signal.SIGINT) == 0, daemon.describe()
    assert not os.path.exists(daemon.socket_path)


def test_second_daemon_on_live_socket_is_refused(make_daemon, sockerlessd_binary):
    first = make_daemon().start().wait_ready()
    started = time.monotonic()
    second = run_sockerlessd(
        sockerlessd_binary, "-H", first.host, "--data-root", os.path.join(first.workdir, "data2")
    )
    assert time.monotonic() - started < 5
    assert second.returncode == 3, second.stderr  # documented: address in use
    assert first.socket_path in second.stderr, second.stderr
    assert RawClient(first.host).ping(), "the first daemon stopped answering"
    assert first.stop() == 0, first.describe()


def test_stale_socket_file_is_replaced(make_daemon):
    daemon = make_daemon()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(daemon.socket_path)
    stale.close()
    assert stat.S_ISSOCK(os.stat(daemon.socket_path).st_mode)

    daemon.start().wait_ready()
    assert RawClient(daemon.host).ping()


def test_socket_file_mode_is_0660(make_daemon):
    daemon = make_daemon().start().wait_ready()
    mode = os.stat(daemon.socket_path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660, oct(stat.S_IMODE(mode))


def test_version_flag(sockerlessd_binary):
    result = run_sockerlessd(sockerlessd_binary, "--version")
    assert result.returncode == 0, result.stderr
    assert any("sockerless" in line for line in result.stdout.splitlines()), result.stdout


def test_help_flag(sockerlessd_binary):
    result = run_sockerlessd(sockerlessd_binary, "--help")
    assert result.returncode == 0, result.stderr
    assert "--host" in result.stdout, result.stdout


def test_unknown_flag_exits_2(sockerlessd_binary):
    result = run_sockerlessd(sockerlessd_binary, "--no-such-flag")
    assert result.returncode == 2, (result.returncode, result.stderr)


def test_tcp_and_unix_listeners_together(make_daemon):
    tcp_host = f"tcp://127.0.0.1:{free_tcp_port()}"
    daemon = make_daemon(extra_hosts=[tcp_host]).start().wait_ready()
    for host in daemon.hosts:
        assert RawClient(host).ping(), f"no answer on {host}"
    assert daemon.stop() == 0, daemon.describe()


def driver_status(daemon):
    status, _, info = RawClient(daemon.host).request_json("GET", "/info")
    assert status == 200, info
    return dict(info["DriverStatus"])


def test_no_working_runtime_falls_back_to_synthetic(make_daemon):
    """With no runtime that works, the default (auto) daemon runs every container with the
    synthetic driver, and says so in /info and in its log."""
    daemon = make_daemon(driver="auto")
    daemon.argv += ["--runtime", "/nonexistent/runc"]
    daemon.start().wait_ready()
    status = driver_status(daemon)
    assert status["Driver Chain"] == "synthetic", status
    assert "not found" in status["Process Driver"], status
    assert "OCI Runtime" not in status, status
    with open(daemon.log_path) as log:
        text = log.read()
    assert "containers run with the synthetic driver" in text, text
    assert daemon.stop() == 0, daemon.describe()


def test_process_driver_without_runtime_is_a_startup_error(make_daemon, sockerlessd_binary):
    workdir = make_daemon().workdir
    out = run_sockerlessd(
        sockerlessd_binary, "-H", f"unix://{workdir}/s.sock", "--data-root", f"{workdir}/data",
        "--driver", "process", "--runtime", "/nonexistent/runc",
    )
    assert out.returncode == 1, out.stderr
    assert "the process driver cannot run here" in out.stderr, out.stderr
    assert "/nonexistent/runc" in out.stderr, out.stderr


def test_process_driver_with_failing_runtime_exits(make_daemon, sockerlessd_binary):
    """The trial container runs after the daemon listens; a runtime that fails it still ends a
    --driver process daemon with status 1 and says why."""
    workdir = make_daemon().workdir
    out = run_sockerlessd(
        sockerlessd_binary, "-H", f"unix://{workdir}/s.sock", "--data-root", f"{workdir}/data",
        "--driver", "process", "--runtime", "/bin/false", timeout=30,
    )
    assert out.returncode == 1, out.stderr
    assert "the process driver cannot run here: trial container with /bin/false" in out.stderr, (
        out.stderr
    )


def test_runtime_in_use_is_named_in_info(make_daemon):
    daemon = make_daemon(driver="auto").start().wait_ready()
    status = driver_status(daemon)
    if not status["Driver Chain"].startswith("process"):
        pytest.skip(f"no OCI runtime works here: {status.get('Process Driver')}")
    assert status["Driver Chain"] == "process -> synthetic", status
    assert os.path.basename(status["OCI Runtime"]) in ("runc", "crun"), status
    assert daemon.stop() == 0, daemon.describe()
