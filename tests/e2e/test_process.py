"""Real containers: processes started from the image's own layers, through the docker CLI (and
docker-py where natural), each test checking the real effect (an exit code, bytes on a stream, a
file on the host, a signal delivered, a process frozen).

The tests run against the second session sockerlessd started with `--driver process`
(conftest's `proc_*` fixtures), or against the daemon named by SOCKERLESS_E2E_DOCKER_HOST (a
real dockerd: every test here must pass there first). They are skipped when sockerlessd's /info says
the process driver is not in use. Tests marked `sockerless_only` look at sockerlessd's own state
(its data root, its mounts). Tests marked `agent_modes` also run with every container's command
under sockerless-agent, in forward and in reverse mode (conftest's `proc_mode`).

Optional cross-check: with SOCKERLESS_E2E_ORACLE_HOST set (a real dockerd), the image saved by
sockerlessd is also loaded and run there.
"""

import io
import json
import os
import re
import select
import subprocess
import tarfile
import time

import docker
import pytest

from conftest import DOCKER_CLI, external_host, make_cli
from e2e_helpers import children_of, mountinfo, ok, run_in_pty, set_winsize, wait_until
from images_fixture import BUSYBOX, proc_images, proc_names, unique  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("proc_images")

ORACLE_HOST_ENV = "SOCKERLESS_E2E_ORACLE_HOST"

# A shell loop printing line0, line1, ... every 0.2 s.
COUNTER = "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.2; done"


# --- helpers ------------------------------------------------------------------------------------


def inspect(dk, name):
    return json.loads(dk("inspect", name))[0]


def state(dk, name):
    return inspect(dk, name)["State"]


def logs(dk, name, *options):
    """(stdout, stderr) of `docker logs`."""
    result = dk.run("logs", *options, name)
    ok(result)
    return result.stdout, result.stderr


def wait_log(dk, name, text, timeout=10):
    """Waits until the container's stdout log has a line `text`; returns the stdout."""
    return wait_until(
        lambda: (out := logs(dk, name)[0]) and text in out.splitlines() and out,
        timeout=timeout, what=f"{text!r} in the logs of {name}",
    )


def wait_exited(dk, name, timeout=10):
    """Waits until the container has exited; returns its State."""
    return wait_until(
        lambda: (s := state(dk, name))["Status"] == "exited" and s,
        timeout=timeout, what=f"{name} to exit",
    )


def read_lines(proc, count, timeout=10):
    """Reads `count` lines from a Popen's stdout (bytes), failing after `timeout` s."""
    lines, buf = [], b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while len(lines) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"read {lines} (+{buf!r}) within {timeout} s, wanted {count} lines",
                        pytrace=False)
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            continue
        data = os.read(fd, 4096)
        if not data:
            pytest.fail(f"stream ended after {lines} (+{buf!r})", pytrace=False)
        buf += data
        while b"\n" in buf and len(lines) < count:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.decode())
    return lines


def assert_consecutive(lines):
    """line<N>, line<N+1>, ... as printed by COUNTER."""
    numbers = []
    for line in lines:
        m = re.fullmatch(r"line(\d+)", line)
        assert m, lines
        numbers.append(int(m.group(1)))
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), lines


# --- run: exit codes, output, input ---------------------------------------------------------------


@pytest.mark.agent_modes
def test_run_returns_exit_code(dk):
    result = dk.run("run", "--rm", BUSYBOX, "sh", "-c", "exit 3")
    assert result.returncode == 3, result.stderr


@pytest.mark.parametrize("command, code, words", [
    ("nosuch", 127, 'exec: "nosuch": executable file not found in $PATH'),
    ("/nosuch", 127, 'exec: "/nosuch": stat /nosuch: no such file or directory'),
    ("/etc", 126, 'exec: "/etc": permission denied'),
    ("/etc/passwd", 126, 'exec: "/etc/passwd": permission denied'),
])  # the run's exit codes; the words are those of CANNOT_RUN
@pytest.mark.parametrize("tty", [False, True], ids=["plain", "tty"])
def test_a_command_that_cannot_run(dk, proc_client, command, code, words, tty):
    """The docker CLI exits 127 or 126 by what the daemon's message says, and a start over the
    API is a 400 with the same words, whatever OCI runtime runs the container (crun words these
    failures its own way)."""
    result = dk.run("run", "--rm", *(["-t"] if tty else []), BUSYBOX, command)
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    container = proc_client.containers.create(BUSYBOX, [command], tty=tty)
    try:
        with pytest.raises(docker.errors.APIError) as info:
            container.start()
        assert info.value.status_code == 400, info.value
        assert words in str(info.value.explanation)
    finally:
        container.remove(force=True)


@pytest.mark.parametrize(
    "workdir, words",
    [
        ("/etc/passwd", "Cannot mkdir: /etc/passwd is not a directory"),
        ("/etc/passwd/.", "Cannot mkdir: /etc/passwd is not a directory"),
        ("/bin/sh", "Cannot mkdir: /bin/sh is not a directory"),  # a link to busybox
        ("/etc/passwd/x", "/etc/passwd/x: not a directory"),
        ("/usr/../bin/sh/sub", "/bin/busybox/sub: not a directory"),
    ],
)
def test_a_workdir_that_cannot_be_made_fails_the_create(dk, proc_client, workdir, words):
    """dockerd makes the working directory in the container's root at create: a file in its way
    fails the create with a 500 and no container is left. (dockerd names the path below its data
    root in the second form; the container's path is what both show.)"""
    name = unique("workdir")
    result = dk.run("create", "--name", name, "-w", workdir, BUSYBOX, "true")
    assert result.returncode == 1, result
    assert words in result.stderr
    assert dk("ps", "-aq", "--filter", f"name=^{name}$") == ""
    with pytest.raises(docker.errors.APIError) as info:
        proc_client.containers.create(BUSYBOX, ["true"], working_dir=workdir)
    assert info.value.status_code == 500
    assert words in str(info.value.explanation)


def test_a_workdir_is_resolved_through_links(dk, proc_client, start):
    """The working directory is resolved in the container's root, links and a layer's whiteout
    on the way included, and its missing part is made: checked at create on the image's layers."""
    name = start("ln -s /tmp /data && ln -s ../etc/passwd /pw && rm /bin/ls && mkdir /bin/ls")
    wait_exited(dk, name)
    tag = unique("sockerless-e2e/links") + ":v1"
    dk("commit", name, tag)
    try:
        assert dk("run", "--rm", "-w", "/data/new/./deep/", tag, "pwd") == "/tmp/new/deep\n"
        assert dk("run", "--rm", "-w", "/bin/ls/sub", tag, "pwd") == "/bin/ls/sub\n"
        out = proc_client.containers.run(tag, ["pwd"], working_dir="/../data/x", remove=True)
        assert out == b"/tmp/x\n"
        result = dk.run("create", "-w", "/pw/x", tag, "true")
        assert result.returncode == 1, result
        assert "/etc/passwd/x: not a directory" in result.stderr
        result = dk.run("create", "-w", "/pw", tag, "true")
        assert "Cannot mkdir: /pw is not a directory" in result.stderr
    finally:
        dk.run("rmi", "-f", tag)


@pytest.mark.agent_modes
def test_run_prints_output(dk):
    assert dk("run", "--rm", BUSYBOX, "echo", "hi") == "hi\n"


@pytest.mark.agent_modes
def test_run_keeps_stdout_and_stderr_apart(dk):
    result = dk.run("run", "--rm", BUSYBOX, "sh", "-c", "echo out; echo err >&2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


@pytest.mark.agent_modes
def test_run_interactive_reads_stdin_to_eof(dk):
    assert dk("run", "-i", "--rm", BUSYBOX, "cat", input="hi\n") == "hi\n"


@pytest.mark.agent_modes
def test_run_interactive_streams_large_stdin(dk):
    data = "".join(f"{i:07d}\n" for i in range(40000))  # 320 000 bytes
    out = dk("run", "-i", "--rm", BUSYBOX, "sh", "-c", "wc -c; echo done", input=data)
    assert out.split() == [str(len(data)), "done"]


@pytest.mark.agent_modes
def test_run_tty_under_a_pty(proc_cli):
    code, out = run_in_pty(
        [DOCKER_CLI, "run", "-t", "--rm", BUSYBOX, "sh", "-c", "tty; sleep 0.3; stty size"],
        env=proc_cli.env, rows=31, cols=101,
    )
    assert code == 0, out
    lines = out.splitlines()
    assert re.fullmatch(r"/dev/pts/\d+", lines[0]), out
    assert lines[1] == "31 101", out


@pytest.mark.agent_modes
def test_docker_py_run_returns_output(proc_client):
    out = proc_client.containers.run(BUSYBOX, ["sh", "-c", "echo from-py"], remove=True)
    assert out == b"from-py\n"


@pytest.mark.agent_modes
def test_docker_py_run_nonzero_exit_raises(proc_client):
    with pytest.raises(docker.errors.ContainerError) as info:
        proc_client.containers.run(BUSYBOX, ["sh", "-c", "echo bad >&2; exit 9"], remove=True)
    assert info.value.exit_status == 9


# --- logs ---------------------------------------------------------------------------------------


@pytest.mark.agent_modes
def test_logs_follow_ends_when_the_container_stops(dk, proc_cli, start):
    name = start(COUNTER)
    follow = subprocess.Popen(
        [DOCKER_CLI, "logs", "-f", name], env=proc_cli.env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        lines = read_lines(follow, 3)
        assert lines[0] == "line0", lines
        assert_consecutive(lines)
        dk("kill", name)
        try:
            code = follow.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("docker logs -f still running 10 s after the container was killed",
                        pytrace=False)
        assert code == 0, follow.stderr.read()
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()
        follow.stdout.close()
        follow.stderr.close()


@pytest.mark.agent_modes
def test_logs_tail(dk, start):
    name = start(COUNTER)
    wait_log(dk, name, "line4")
    out, _ = logs(dk, name, "--tail", "2")
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert_consecutive(lines)
    assert int(lines[0][4:]) >= 3, out


@pytest.mark.agent_modes
def test_logs_survive_the_exit(dk, start):
    name = start("echo out1; echo err1 >&2; echo out2")
    assert wait_exited(dk, name)["ExitCode"] == 0
    out, err = logs(dk, name)
    assert out == "out1\nout2\n"
    assert err == "err1\n"


# --- exec ---------------------------------------------------------------------------------------


@pytest.fixture
def sleeper(start):
    """A running container (`sleep 60`, exec'd by its shell); returns its name."""
    return start("exec sleep 60", prefix="sleeper")


@pytest.mark.agent_modes
def test_exec_exit_code(dk, sleeper):
    assert dk.run("exec", sleeper, "sh", "-c", "exit 5").returncode == 5
    assert dk("exec", sleeper, "echo", "in-exec") == "in-exec\n"


CANNOT_RUN = [  # a command, and how runc (and dockerd) word why it cannot be started
    ("nosuch", 'exec: "nosuch": executable file not found in $PATH'),
    ("/nosuch", 'exec: "/nosuch": stat /nosuch: no such file or directory'),
    ("/etc", 'exec: "/etc": permission denied'),
    ("/etc/passwd", 'exec: "/etc/passwd": permission denied'),
]


@pytest.mark.parametrize("command, words", CANNOT_RUN)
def test_exec_of_a_command_that_cannot_run(dk, proc_client, sleeper, command, words):
    """As dockerd: an attached exec ends with code 126 (a missing command too) and the message
    on stdout; a detached start is refused with a 400 and the same message; whatever OCI runtime
    runs the container."""
    result = dk.run("exec", sleeper, command)
    assert result.returncode == 126, result
    assert words in result.stdout, result
    container = proc_client.containers.get(sleeper)
    code, output = container.exec_run([command])
    assert code == 126
    assert words.encode() in output
    exec_id = proc_client.api.exec_create(sleeper, [command])["Id"]
    with pytest.raises(docker.errors.APIError) as info:
        proc_client.api.exec_start(exec_id, detach=True)
    assert info.value.status_code == 400, info.value
    assert words in str(info.value.explanation)
    assert proc_client.api.exec_inspect(exec_id)["ExitCode"] == 126


@pytest.mark.agent_modes
def test_exec_env_workdir_user(dk, sleeper):
    assert dk("exec", "-e", "FOO=bar baz", sleeper, "sh", "-c", 'echo "$FOO"') == "bar baz\n"
    assert dk("exec", "-w", "/tmp", sleeper, "pwd") == "/tmp\n"
    assert dk("exec", "-u", "1000:1000", sleeper, "sh", "-c", "id -u; id -g") == "1000\n1000\n"
    assert dk("exec", "-u", "nobody", sleeper, "id", "-u") == "65534\n"


@pytest.mark.agent_modes
def test_exec_interactive_reads_stdin(dk, sleeper):
    assert dk("exec", "-i", sleeper, "sh", "-c", "cat; echo end", input="piped\n") == (
        "piped\nend\n"
    )


@pytest.mark.agent_modes
def test_exec_stdout_and_stderr_apart(dk, sleeper):
    result = dk.run("exec", sleeper, "sh", "-c", "echo out; echo err >&2; exit 2")
    assert (result.returncode, result.stdout, result.stderr) == (2, "out\n", "err\n")


@pytest.mark.agent_modes
def test_exec_tty_under_a_pty(proc_cli, sleeper):
    code, out = run_in_pty(
        [DOCKER_CLI, "exec", "-it", sleeper, "sh", "-c", "tty; sleep 0.3; stty size"],
        env=proc_cli.env, rows=33, cols=97,
    )
    assert code == 0, out
    lines = out.splitlines()
    assert re.fullmatch(r"/dev/pts/\d+", lines[0]), out
    assert lines[1] == "33 97", out


@pytest.mark.agent_modes
def test_exec_tty_follows_a_resize(proc_cli, sleeper):
    resized = []

    def on_output(master, text):
        if not resized and "ready" in text.splitlines():
            set_winsize(master, 45, 132)  # the kernel sends SIGWINCH to the CLI
            resized.append(True)

    code, out = run_in_pty(
        [DOCKER_CLI, "exec", "-it", sleeper, "sh", "-c",
         "sleep 0.3; stty size; echo ready; sleep 1.5; stty size"],
        env=proc_cli.env, rows=30, cols=100, on_output=on_output,
    )
    assert code == 0, out
    assert out.splitlines() == ["30 100", "ready", "45 132"], out


@pytest.mark.agent_modes
def test_exec_in_stopped_container_is_refused(dk, start):
    name = start("exit 0")
    wait_exited(dk, name)
    result = dk.run("exec", name, "true")
    assert result.returncode != 0
    assert "is not running" in result.stderr, result.stderr


@pytest.mark.agent_modes
def test_docker_py_exec_run(proc_client, sleeper):
    container = proc_client.containers.get(sleeper)
    code, out = container.exec_run(["sh", "-c", 'echo "$X"; exit 4'], environment={"X": "y"})
    assert (code, out) == (4, b"y\n")


# --- docker cp ----------------------------------------------------------------------------------


@pytest.mark.agent_modes
def test_cp_file_in_and_out(dk, sleeper, tmp_path):
    (tmp_path / "in.txt").write_text("file-in\n")
    dk("cp", str(tmp_path / "in.txt"), f"{sleeper}:/tmp/in.txt")
    assert dk("exec", sleeper, "cat", "/tmp/in.txt") == "file-in\n"

    dk("exec", sleeper, "sh", "-c", "echo file-out > /tmp/out.txt")
    dk("cp", f"{sleeper}:/tmp/out.txt", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text() == "file-out\n"


@pytest.mark.agent_modes
def test_cp_directory_in_and_out(dk, sleeper, tmp_path):
    src = tmp_path / "d"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.txt").write_text("nested\n")
    (src / "top.txt").write_text("top\n")
    dk("cp", str(src), f"{sleeper}:/tmp/")
    assert dk("exec", sleeper, "cat", "/tmp/d/sub/f.txt", "/tmp/d/top.txt") == "nested\ntop\n"

    dk("exec", sleeper, "sh", "-c",
       "mkdir -p /tmp/o/sub && echo deep > /tmp/o/sub/g && ln -s g /tmp/o/sub/link")
    dk("cp", f"{sleeper}:/tmp/o", str(tmp_path / "o"))
    assert (tmp_path / "o" / "sub" / "g").read_text() == "deep\n"
    assert os.readlink(tmp_path / "o" / "sub" / "link") == "g"


@pytest.mark.agent_modes
def test_cp_through_symlinks_stays_inside_the_container(dk, proc_cli, sleeper, tmp_path):
    """Symlinks in the container that point above `/` or at absolute host paths resolve inside
    the container's root: copying out gives the container's file, copying in writes the
    container's file, never the host's."""
    host_dir = tmp_path / "hostside"
    host_dir.mkdir()
    (host_dir / "secret").write_text("host-secret\n")
    dk("exec", sleeper, "sh", "-c",
       f"mkdir -p {host_dir} && echo container-secret > {host_dir}/secret"
       f" && echo container-shadow > /etc/shadow"
       f" && ln -s /../../..{host_dir}/secret /tmp/abs"
       f" && ln -s ../../../../../../../..{host_dir} /tmp/rel"
       f" && ln -s /../../../etc/shadow /tmp/shadow")
    out = tmp_path / "out"
    out.mkdir()

    dk("cp", "-L", f"{sleeper}:/tmp/abs", str(out / "abs"))
    assert (out / "abs").read_text() == "container-secret\n"
    dk("cp", "-L", f"{sleeper}:/tmp/shadow", str(out / "shadow"))
    assert (out / "shadow").read_text() == "container-shadow\n"
    dk("cp", f"{sleeper}:/tmp/rel/secret", str(out / "rel-secret"))
    assert (out / "rel-secret").read_text() == "container-secret\n"
    # Without -L the link itself is copied (as a tar on stdout: the CLI refuses to write a link
    # pointing out of the destination).
    result = subprocess.run([DOCKER_CLI, "cp", f"{sleeper}:/tmp/abs", "-"], env=proc_cli.env,
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.issym()) == ("abs", True)
        assert member.linkname == f"/../../..{host_dir}/secret"

    (tmp_path / "payload").write_text("payload\n")
    dk("cp", str(tmp_path / "payload"), f"{sleeper}:/tmp/rel/payload")
    dk("cp", str(tmp_path / "payload"), f"{sleeper}:/tmp/abs")
    assert sorted(os.listdir(host_dir)) == ["secret"]
    assert (host_dir / "secret").read_text() == "host-secret\n"
    assert dk("exec", sleeper, "cat", f"{host_dir}/payload", f"{host_dir}/secret") == (
        "payload\npayload\n"
    )


@pytest.mark.agent_modes
def test_cp_archive_with_escaping_entries_stays_inside(dk, proc_cli, sleeper, tmp_path):
    """An uploaded tar whose entries climb out (`../..`) or go through a symlink it just created
    to a host path lands inside the container (dockerd) or is refused, never on the host."""
    host_dir = tmp_path / "hostside"
    host_dir.mkdir()
    dk("exec", sleeper, "mkdir", "-p", str(host_dir))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        link = tarfile.TarInfo("esc")
        link.type, link.linkname = tarfile.SYMTYPE, f"/../../../..{host_dir}"
        tar.addfile(link)
        for member in ("esc/evil", f"../../../..{host_dir}/dotdot"):
            info = tarfile.TarInfo(member)
            info.size = 5
            tar.addfile(info, io.BytesIO(b"evil\n"))
    result = subprocess.run(
        [DOCKER_CLI, "cp", "-", f"{sleeper}:/tmp"], env=proc_cli.env, input=buf.getvalue(),
        capture_output=True, timeout=30,
    )
    assert os.listdir(host_dir) == [], "the upload wrote on the host"
    if result.returncode == 0:
        listed = dk("exec", sleeper, "ls", str(host_dir)).split()
        assert sorted(listed) == ["dotdot", "evil"], listed


@pytest.mark.agent_modes
def test_cp_into_a_created_container_then_start(dk, proc_names, tmp_path):
    name = proc_names("cp-created")
    dk("create", "--name", name, BUSYBOX, "cat", "/tmp/in.txt")
    (tmp_path / "in.txt").write_text("copied before start\n")
    dk("cp", str(tmp_path / "in.txt"), f"{name}:/tmp/in.txt")
    assert dk("start", "-a", name) == "copied before start\n"


@pytest.mark.agent_modes
def test_cp_into_an_exited_container_then_restart(dk, start, tmp_path):
    name = start("cat /tmp/late.txt 2>/dev/null || echo missing")
    wait_exited(dk, name)
    (tmp_path / "late.txt").write_text("late\n")
    dk("cp", str(tmp_path / "late.txt"), f"{name}:/tmp/late.txt")
    assert dk("start", "-a", name) == "late\n"


@pytest.mark.agent_modes
def test_docker_py_archive_round_trip(proc_client, sleeper):
    container = proc_client.containers.get(sleeper)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("py.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"py-in\n"))
    assert container.put_archive("/tmp", buf.getvalue())
    assert container.exec_run(["cat", "/tmp/py.txt"]).output == b"py-in\n"
    stream, stat = container.get_archive("/tmp/py.txt")
    assert stat["name"] == "py.txt" and stat["size"] == 6
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        assert tar.extractfile("py.txt").read() == b"py-in\n"


# --- signals: stop, kill ------------------------------------------------------------------------


@pytest.mark.agent_modes
def test_stop_delivers_sigterm_to_a_trap(dk, start):
    name = start("trap 'echo got; exit 7' TERM; echo ready; while :; do sleep 0.1; done")
    wait_log(dk, name, "ready")
    started = time.monotonic()
    dk("stop", name)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"docker stop took {elapsed:.1f} s: SIGTERM not delivered?"
    assert state(dk, name)["ExitCode"] == 7
    assert logs(dk, name)[0].splitlines()[-1] == "got"


@pytest.mark.agent_modes
def test_stop_kills_after_the_timeout_when_sigterm_is_ignored(dk, start):
    name = start("trap '' TERM; echo ready; while :; do sleep 0.1; done")
    wait_log(dk, name, "ready")
    started = time.monotonic()
    dk("stop", "-t", "1", name)
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 6, f"docker stop -t 1 took {elapsed:.1f} s"
    s = state(dk, name)
    assert (s["Status"], s["ExitCode"]) == ("exited", 137)


@pytest.mark.agent_modes
def test_kill_with_a_signal_and_sigkill(dk, start):
    name = start("trap 'echo usr1' USR1; echo ready; while :; do sleep 0.1; done")
    wait_log(dk, name, "ready")
    dk("kill", "-s", "USR1", name)
    wait_log(dk, name, "usr1", timeout=5)
    assert state(dk, name)["Running"] is True
    dk("kill", name)
    s = wait_exited(dk, name)
    assert s["ExitCode"] == 137


@pytest.mark.agent_modes
def test_pause_freezes_the_processes(dk, start):
    name = start("i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done")
    wait_log(dk, name, "3")

    def last():
        return int(logs(dk, name)[0].split()[-1])

    dk("pause", name)
    try:
        s = state(dk, name)
        assert (s["Status"], s["Paused"]) == ("paused", True)
        time.sleep(0.3)  # a line written just before the freeze may still be in flight
        frozen = last()
        time.sleep(1.0)
        assert last() == frozen, "the counter moved while paused"
    finally:
        dk("unpause", name)
    wait_until(lambda: last() > frozen, timeout=5, what="the counter to move after unpause")
    assert state(dk, name)["Status"] == "running"


def test_stop_kill_and_remove_of_a_paused_container(dk, start):
    """A frozen process cannot act on a signal: stop ends it with SIGKILL after the timeout,
    and kill and rm -f end it at once (the daemon thaws it for SIGKILL)."""
    stopped, killed, removed = (start("sleep 100") for _ in range(3))
    for name in (stopped, killed, removed):
        dk("pause", name)
    began = time.monotonic()
    dk("stop", "-t", "1", stopped)
    assert time.monotonic() - began < 8
    assert (state(dk, stopped)["Status"], state(dk, stopped)["ExitCode"]) == ("exited", 137)
    dk("kill", killed)
    wait_exited(dk, killed)
    assert state(dk, killed)["ExitCode"] == 137
    began = time.monotonic()
    dk("rm", "-f", removed)
    assert time.monotonic() - began < 8
    assert dk.run("inspect", removed).returncode != 0


def test_commit_with_a_config_in_the_body(dk, proc_client, start):
    """docker commit's body config goes over the container's, as dockerd merges it: Env by key
    (the body's first), Cmd replaced, Labels and ExposedPorts added."""
    name = start("echo made > /made; sleep 100", "-e", "X=1")
    wait_until(lambda: dk.run("exec", name, "test", "-f", "/made").returncode == 0,
               what="the file to be made")
    repo = unique("commit-config").lower()
    image = proc_client.containers.get(name).commit(
        repository=repo, tag="t",
        conf={"Env": ["A=b"], "Cmd": ["cat", "/made"], "Labels": {"l": "v"},
              "ExposedPorts": {"80/tcp": {}}},
    )
    try:
        config = image.attrs["Config"]
        assert config["Env"][:2] == ["A=b", "X=1"], config
        assert config["Cmd"] == ["cat", "/made"], config
        assert config["Labels"] == {"l": "v"}, config
        assert "80/tcp" in config["ExposedPorts"], config
        assert dk("run", "--rm", f"{repo}:t") == "made\n"
    finally:
        dk("rmi", f"{repo}:t")


def test_inspect_paths_and_json_file_log(dk, proc_names, start):
    """Before a start inspect has no file paths; after it, LogPath is a json-file log of the
    output and HostsPath the container's /etc/hosts."""
    created = proc_names("paths")
    dk("create", "--name", created, BUSYBOX, "true")
    try:
        before = inspect(dk, created)
        assert (before["LogPath"], before["HostsPath"]) == ("", ""), before
    finally:
        dk("rm", created)
    name = start("echo out; echo err >&2; cat /etc/hosts; echo done; sleep 100")
    wait_log(dk, name, "done")
    info = inspect(dk, name)
    with open(info["LogPath"]) as log:
        entries = [json.loads(line) for line in log if line.strip()]
    # stdout and stderr are read apart: their order in the log is not fixed
    assert any(e["log"] == "out\n" and e["stream"] == "stdout" for e in entries), entries
    assert any(e["log"] == "err\n" and e["stream"] == "stderr" for e in entries), entries
    assert all(e["time"].endswith("Z") for e in entries), entries
    with open(info["HostsPath"]) as hosts:
        assert hosts.read() in logs(dk, name)[0], "HostsPath is not the container's /etc/hosts"
    for key in ("ResolvConfPath", "HostnamePath"):
        assert os.path.isfile(info[key]), info[key]
    assert os.path.isdir(info["GraphDriver"]["Data"]["MergedDir"]), info["GraphDriver"]


# --- top, stats, diff, export, save/load --------------------------------------------------------


def test_top_lists_the_processes(dk, sleeper):
    dk("exec", "-d", sleeper, "sleep", "31")
    out = wait_until(lambda: (o := dk("top", sleeper)) and "sleep 31" in o and o, timeout=5,
                     what="the exec'd sleep in docker top")
    header, *rows = out.splitlines()
    assert "PID" in header.split() and "CMD" in header.split(), out
    commands = [row.split(None, 7)[-1] for row in rows]
    assert "sleep 60" in commands and "sleep 31" in commands, out


def test_stats_reports_memory(dk, proc_client, sleeper):
    usage = dk("stats", "--no-stream", "--format", "{{.MemUsage}}", sleeper).strip()
    m = re.match(r"([0-9.]+)([KMG]i?B|B)\s*/", usage)
    assert m and float(m.group(1)) > 0, usage
    stats = proc_client.containers.get(sleeper).stats(stream=False)
    assert stats["memory_stats"]["usage"] > 0, stats["memory_stats"]
    assert stats["pids_stats"].get("current", 1) >= 1


def test_diff_shows_added_changed_deleted(dk, start):
    name = start("echo x > /tmp/new; echo y >> /etc/passwd; rm /etc/group; mkdir /newdir;"
                 " touch /newdir/f")
    assert wait_exited(dk, name)["ExitCode"] == 0
    changes = set(dk("diff", name).splitlines())
    assert {"A /tmp/new", "C /etc/passwd", "D /etc/group", "A /newdir", "A /newdir/f",
            "C /etc", "C /tmp"} <= changes, changes
    assert not any(line.endswith("/bin/busybox") for line in changes), changes


def test_export_has_the_files_the_container_created(dk, start, tmp_path):
    name = start("mkdir /data && echo exported > /data/created.txt && rm /etc/group")
    assert wait_exited(dk, name)["ExitCode"] == 0
    dk("export", "-o", str(tmp_path / "fs.tar"), name)
    with tarfile.open(tmp_path / "fs.tar") as tar:
        members = {m.name.lstrip("./").rstrip("/"): m for m in tar.getmembers()}
        assert tar.extractfile(members["data/created.txt"]).read() == b"exported\n"
        assert members["bin/busybox"].isfile()
        assert "etc/passwd" in members and "etc/group" not in members


def test_save_and_load_round_trip(dk, proc_cli, start, tmp_path):
    name = start("mkdir /data && echo committed > /data/created.txt")
    wait_exited(dk, name)
    tag = unique("sockerless-e2e/saved") + ":v1"
    image_id = None
    try:
        image_id = dk("commit", name, tag).strip()
        archive = tmp_path / "saved.tar"
        dk("save", "-o", str(archive), tag)
        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
            assert manifest[0]["RepoTags"] == [tag]
            config = json.load(tar.extractfile(manifest[0]["Config"]))
            assert len(manifest[0]["Layers"]) == len(config["rootfs"]["diff_ids"]) == 2
        dk("rmi", tag)
        assert dk.run("image", "inspect", tag).returncode != 0
        loaded = dk("load", "-i", str(archive), timeout=60)
        assert f"Loaded image: {tag}" in loaded, loaded
        assert dk("image", "inspect", "--format", "{{.Id}}", tag).strip() == image_id
        assert dk("run", "--rm", tag, "cat", "/data/created.txt") == "committed\n"

        oracle = os.environ.get(ORACLE_HOST_ENV)
        if oracle and external_host() is None:
            cross_check_on_oracle(make_cli(oracle, tmp_path / "oracle-config"), archive, tag)
    finally:
        dk.run("rmi", "-f", tag)


def cross_check_on_oracle(oracle_cli, archive, tag):
    """Loads sockerlessd's `docker save` archive into a real dockerd and runs it there."""
    try:
        ok(oracle_cli("load", "-i", str(archive), timeout=60))
        assert ok(oracle_cli("run", "--rm", tag, "cat", "/data/created.txt")) == "committed\n"
    finally:
        oracle_cli("rmi", "-f", tag)


# --- volumes, binds, tmpfs ----------------------------------------------------------------------


def test_named_volume_is_shared_between_containers(dk, proc_names):
    volume, reader = unique("sockerless-e2e-vol"), proc_names("vol-reader")
    try:
        dk("run", "-d", "--name", reader, "-v", f"{volume}:/data", BUSYBOX, "sleep", "60")
        dk("run", "--rm", "-v", f"{volume}:/data", BUSYBOX, "sh", "-c",
           "echo shared > /data/f")
        assert dk("exec", reader, "cat", "/data/f") == "shared\n"
        dk("exec", reader, "sh", "-c", "echo back > /data/g")
        assert dk("run", "--rm", "-v", f"{volume}:/data", BUSYBOX, "cat", "/data/g") == "back\n"
    finally:
        dk.run("rm", "-f", reader)
        dk.run("volume", "rm", "-f", volume)


def test_bind_mount_and_read_only_bind(dk, tmp_path):
    (tmp_path / "from-host").write_text("host\n")
    out = dk("run", "--rm", "-v", f"{tmp_path}:/mnt", BUSYBOX, "sh", "-c",
             "cat /mnt/from-host; echo container > /mnt/from-container")
    assert out == "host\n"
    assert (tmp_path / "from-container").read_text() == "container\n"

    result = dk.run("run", "--rm", "-v", f"{tmp_path}:/mnt:ro", BUSYBOX, "sh", "-c",
                    "cat /mnt/from-host; echo no > /mnt/refused")
    assert result.returncode != 0
    assert result.stdout == "host\n"
    assert "Read-only file system" in result.stderr, result.stderr
    assert not (tmp_path / "refused").exists()


def test_tmpfs_mount(dk):
    out = dk("run", "--rm", "--tmpfs", "/scratch", BUSYBOX, "sh", "-c",
             "grep ' /scratch ' /proc/mounts; echo s > /scratch/f && cat /scratch/f")
    first, second = out.splitlines()
    assert first.split()[:3] == ["tmpfs", "/scratch", "tmpfs"], out
    assert second == "s"


# --- run options --------------------------------------------------------------------------------


def test_read_only_rootfs(dk):
    result = dk.run("run", "--rm", "--read-only", BUSYBOX, "touch", "/x")
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr, result.stderr
    out = dk("run", "--rm", "--read-only", "--tmpfs", "/tmp", BUSYBOX, "sh", "-c",
             "touch /tmp/x && echo ok")
    assert out == "ok\n"


@pytest.mark.agent_modes
def test_user_workdir_env_hostname(dk):
    assert dk("run", "--rm", "-u", "1000:1000", BUSYBOX, "sh", "-c", "id -u; id -g") == (
        "1000\n1000\n"
    )
    assert dk("run", "--rm", "-w", "/tmp", BUSYBOX, "pwd") == "/tmp\n"
    assert dk("run", "--rm", "-w", "/made/by/run", BUSYBOX, "pwd") == "/made/by/run\n"
    assert dk("run", "--rm", "-e", "A=b", BUSYBOX, "sh", "-c", 'echo "$A"') == "b\n"
    assert dk("run", "--rm", "--hostname", "h1", BUSYBOX, "hostname") == "h1\n"


def test_network_none_has_only_loopback(dk):
    out = dk("run", "--rm", "--network", "none", BUSYBOX, "cat", "/proc/net/dev")
    interfaces = [line.split(":")[0].strip() for line in out.splitlines()[2:]]
    assert interfaces == ["lo"], out


def test_pid_1_is_the_command(dk):
    assert dk("run", "--rm", BUSYBOX, "sh", "-c", "echo $$") == "1\n"


# --- --rm, restart, health, wait ----------------------------------------------------------------


@pytest.mark.agent_modes
def test_run_rm_leaves_no_container(dk, proc_names):
    name = proc_names("rm")
    assert dk("run", "--rm", "--name", name, BUSYBOX, "echo", "gone") == "gone\n"
    assert dk("ps", "-a", "-q", "--filter", f"name=^{name}$") == ""
    assert dk.run("inspect", name).returncode != 0


@pytest.mark.sockerless_only
def test_run_rm_leaves_no_mount_nor_directory(dk, proc_data_root, tmp_path):
    root = os.path.realpath(proc_data_root)

    def mounts_in_root():
        return {(m["mount_point"], m["options"]) for m in mountinfo()
                if m["mount_point"].startswith(root + "/")}

    before = mounts_in_root()
    cidfile = tmp_path / "cid"
    out = dk("run", "--rm", "--cidfile", str(cidfile), "-v", f"{tmp_path}:/mnt",
             "--tmpfs", "/scratch", BUSYBOX, "echo", "gone")
    assert out == "gone\n"
    cid = cidfile.read_text().strip()
    assert len(cid) == 64, cid
    after = mounts_in_root()
    assert after - before == set(), "new mounts under the data root"
    assert [m for m in after if cid in m[0] or cid in m[1]] == []
    assert not os.path.exists(os.path.join(root, "containers", cid))
    # The OCI runtime's own state (<data-root>/runtime/<runtime>/<id>) is gone too.
    runtimes = os.listdir(os.path.join(root, "runtime"))
    assert runtimes, "no runtime state directory"
    assert [r for r in runtimes if os.path.exists(os.path.join(root, "runtime", r, cid))] == []


@pytest.mark.sockerless_only
def test_runtime_is_out_of_the_daemons_session(dk, proc_daemon, start):
    """A terminal's ^C to the daemon's process group must not reach the runtime that runs a
    container in the foreground (it would forward it to the container): it has a session of
    its own, as has the container."""
    name = start("sleep 300")
    cid = inspect(dk, name)["Id"]
    pid = inspect(dk, name)["State"]["Pid"]

    def session(p):
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[2]), int(fields[3])  # pgrp, session

    def cmdline(p):
        with open(f"/proc/{p}/cmdline", "rb") as f:
            return f.read().split(b"\0")

    runtimes = [p for p in children_of(proc_daemon.proc.pid) if cid.encode() in cmdline(p)]
    assert len(runtimes) == 1, "no runtime runs the container in the foreground"
    daemon = session(proc_daemon.proc.pid)
    for p in (runtimes[0], pid):
        assert session(p)[0] != daemon[0] and session(p)[1] != daemon[1], (p, daemon)


def test_restart_on_failure_stops_after_the_maximum(dk, start):
    name = start("echo run; exit 1", "--restart", "on-failure:2")
    s = wait_until(
        lambda: (i := inspect(dk, name))["RestartCount"] == 2
        and i["State"]["Status"] == "exited" and i,
        timeout=20, what="RestartCount 2 and exited",
    )
    assert s["State"]["ExitCode"] == 1
    time.sleep(1.0)
    again = inspect(dk, name)
    assert (again["RestartCount"], again["State"]["Status"]) == (2, "exited")
    assert logs(dk, name)[0] == "run\nrun\nrun\n"


def test_health_check_runs_a_real_command(dk, start):
    name = start("exec sleep 60", "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s",
                 "--health-retries", "3")
    wait_until(lambda: (h := state(dk, name).get("Health")) and h["Log"], timeout=5,
               what="a first health check")
    health = state(dk, name)["Health"]
    assert health["Status"] in ("starting", "unhealthy"), health
    assert health["Log"][-1]["ExitCode"] == 1, health
    dk("exec", name, "touch", "/tmp/ok")
    health = wait_until(
        lambda: (h := state(dk, name)["Health"])["Status"] == "healthy" and h,
        timeout=10, what="status healthy",
    )
    assert health["Log"][-1]["ExitCode"] == 0
    assert health["FailingStreak"] == 0


@pytest.mark.agent_modes
def test_wait_returns_the_exit_code(dk, proc_client, start):
    name = start("sleep 0.5; exit 42")
    assert dk("wait", name, timeout=15) == "42\n"
    other = start("sleep 0.3; exit 6")
    assert proc_client.containers.get(other).wait(timeout=15)["StatusCode"] == 6


def test_inspect_and_list_follow_every_change(dk, proc_client, start, proc_names):
    """inspect and list, asked again and again, show each change at once: sockerless keeps their
    encoded answers while nothing changed, so a change it failed to notice would show here as an
    old answer."""
    name = start("exec sleep 60")
    net = proc_names("follow-net")
    dk("network", "create", net)
    try:
        def seen():
            """(inspect, the list entry) of the container, each asked twice."""
            for _ in range(2):
                doc = inspect(dk, name)
                entry = [c for c in proc_client.api.containers(all=True)
                         if c["Id"] == doc["Id"]]
            assert len(entry) == 1, entry
            return doc, entry[0]

        seen()
        renamed = name + "-renamed"
        dk("rename", name, renamed)
        name = renamed  # removed in the finally clause
        doc, entry = seen()
        assert (doc["Name"], entry["Names"]) == ("/" + renamed, ["/" + renamed])

        dk("network", "connect", net, name)
        doc, entry = seen()
        assert net in doc["NetworkSettings"]["Networks"]
        assert net in entry["NetworkSettings"]["Networks"]
        dk("network", "disconnect", net, name)
        doc, entry = seen()
        assert net not in doc["NetworkSettings"]["Networks"]
        assert net not in entry["NetworkSettings"]["Networks"]

        dk("pause", name)
        doc, entry = seen()
        assert (doc["State"]["Status"], entry["State"]) == ("paused", "paused")
        assert entry["Status"].endswith("(Paused)"), entry["Status"]
        dk("unpause", name)
        doc, entry = seen()
        assert (doc["State"]["Status"], entry["State"]) == ("running", "running")

        dk("update", "--restart", "on-failure:3", name)
        doc, _ = seen()
        assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                      "MaximumRetryCount": 3}

        dk("kill", name)
        doc = wait_exited(dk, name)
        doc, entry = seen()
        assert (doc["State"]["Status"], entry["State"]) == ("exited", "exited")
        assert entry["Status"].startswith("Exited (137)"), entry["Status"]
    finally:
        dk.run("rm", "-f", name)
        dk.run("network", "rm", net)
