"""The agent path beyond the Process driver's own tests (which run through the agent too: the
`agent_modes` tests of test_process.py): large streams with bounded memory, a dead or silent
agent, a wrong token, reverse mode across a restart of the daemon's callback listener, and
agents the daemon reaches as remote ones (labels), including one in a network namespace of its
own behind a veth pair.

Every test is sockerless-specific. Containers run on the process-driver daemon of the given
`proc_mode` (conftest): "agent-forward" and "agent-reverse" wrap every container's command in
sockerless-agent; "process" serves remote agents only (the labels below).
"""

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest

from conftest import AGENT_TIMEOUT_MS, DOCKER_CLI, driver_status
from e2e_helpers import free_tcp_port, wait_until
from images_fixture import BUSYBOX, proc_images, proc_names, unique  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.usefixtures("proc_images"), pytest.mark.sockerless_only]

BOTH_MODES = pytest.mark.agent_modes("agent-forward", "agent-reverse")
# A dead agent must be noticed within the heartbeat timeout; the margin covers the CLI.
DEAD_WITHIN_S = AGENT_TIMEOUT_MS / 1000 + 5
MIB = 1024 * 1024


def state(dk, name):
    return json.loads(dk("inspect", name))[0]["State"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def agent_binary(sockerlessd_binary):
    path = os.path.join(os.path.dirname(sockerlessd_binary), "sockerless-agent")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no sockerless-agent next to {sockerlessd_binary}", pytrace=False)
    return path


class RssWatch:
    """Samples the resident memory of some pids while a stream runs."""

    def __init__(self, pids):
        self.pids = pids
        self.base = {p: rss_kib(p) for p in pids}
        self.peak = dict(self.base)

    def sample(self):
        for p in self.pids:
            try:
                self.peak[p] = max(self.peak[p], rss_kib(p))
            except OSError:
                pass

    def growth_mib(self, pid):
        return (self.peak[pid] - self.base[pid]) / 1024


@BOTH_MODES
def test_100_mib_through_exec_arrive_intact_with_bounded_memory(dk, proc_cli, proc_daemon, start):
    name = start("exec sleep 300", prefix="big")
    agent_pid = state(dk, name)["Pid"]
    watch = RssWatch([proc_daemon.proc.pid, agent_pid])

    # Out of the container: 100 MiB of random bytes, read slowly at first (the agent must wait
    # for credit, not buffer), checked against the container's own sha256sum.
    dk("exec", name, "sh", "-c", "head -c 104857600 /dev/urandom > /tmp/big")
    want = dk("exec", name, "sha256sum", "/tmp/big", timeout=60).split()[0]
    reader = subprocess.Popen([DOCKER_CLI, "exec", name, "cat", "/tmp/big"], env=proc_cli.env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    digest, total = hashlib.sha256(), 0
    time.sleep(2)  # a slow client: nothing read for a while
    watch.sample()
    while chunk := reader.stdout.read(MIB):
        digest.update(chunk)
        total += len(chunk)
        watch.sample()
    assert reader.wait(timeout=60) == 0, reader.stderr.read()
    reader.stderr.close()
    assert (total, digest.hexdigest()) == (100 * MIB, want)

    # Into the container: 100 MiB on an exec's stdin.
    data = os.urandom(MIB)
    feeder = subprocess.Popen([DOCKER_CLI, "exec", "-i", name, "sha256sum"], env=proc_cli.env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    digest = hashlib.sha256()
    for i in range(100):
        piece = data[i:] + data[:i]
        digest.update(piece)
        feeder.stdin.write(piece)
        if i % 10 == 0:
            watch.sample()
    feeder.stdin.close()
    out = feeder.stdout.read().decode()
    assert feeder.wait(timeout=60) == 0, feeder.stderr.read()
    assert out.split()[0] == digest.hexdigest()
    checked = [(agent_pid, "the agent")]
    # AddressSanitizer keeps freed memory in quarantine (256 MiB): RSS says nothing there.
    if not sanitized(proc_daemon.proc.pid):
        checked.append((proc_daemon.proc.pid, "sockerlessd"))
    for p, what in checked:
        assert watch.growth_mib(p) < 48, (
            f"{what} grew by {watch.growth_mib(p):.1f} MiB while streaming 100 MiB"
        )


@contextlib.contextmanager
def ticking_exec(proc_cli, name):
    """A `docker exec` printing "tick" every 0.1 s, once its first tick arrived; killed and
    reaped afterwards whatever happens."""
    execer = subprocess.Popen(
        [DOCKER_CLI, "exec", name, "sh", "-c", "while true; do echo tick; sleep 0.1; done"],
        env=proc_cli.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert execer.stdout.readline() == b"tick\n"
        yield execer
    finally:
        if execer.poll() is None:
            execer.kill()
            execer.wait()
        execer.stdout.close()
        execer.stderr.close()


@BOTH_MODES
def test_killing_the_agent_fails_exec_and_ends_the_container(dk, proc_cli, start):
    name = start("exec sleep 300", prefix="killed")
    agent_pid = state(dk, name)["Pid"]
    with ticking_exec(proc_cli, name) as execer:
        t0 = time.monotonic()
        os.kill(agent_pid, signal.SIGKILL)
        code = execer.wait(timeout=DEAD_WITHIN_S)
        assert code != 0
        assert time.monotonic() - t0 < DEAD_WITHIN_S
    assert dk("wait", name, timeout=DEAD_WITHIN_S).strip() == "137"
    result = dk.run("exec", name, "true")
    assert result.returncode != 0 and "is not running" in result.stderr, result.stderr


@BOTH_MODES
def test_a_silent_agent_is_dead_within_the_heartbeat_timeout(dk, proc_cli, start):
    """A stopped agent (SIGSTOP) keeps its connection open but answers nothing: the daemon's
    heartbeat timeout fails the exec, and neither exec nor stop nor rm hang."""
    name = start("exec sleep 300", prefix="silent")
    agent_pid = state(dk, name)["Pid"]
    try:
        with ticking_exec(proc_cli, name) as execer:
            t0 = time.monotonic()
            os.kill(agent_pid, signal.SIGSTOP)
            try:
                execer.wait(timeout=DEAD_WITHIN_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"docker exec still running {DEAD_WITHIN_S} s after the agent went "
                            "silent", pytrace=False)
            assert execer.returncode != 0
            assert AGENT_TIMEOUT_MS / 1000 * 0.5 < time.monotonic() - t0 < DEAD_WITHIN_S
        # A new exec fails cleanly too (no agent connected), within the same bound.
        t1 = time.monotonic()
        result = dk.run("exec", name, "true", timeout=DEAD_WITHIN_S + 5)
        assert result.returncode != 0
        assert time.monotonic() - t1 < DEAD_WITHIN_S + 5
        # stop gives up on the agent and kills the container's processes.
        dk("stop", "-t", "1", name, timeout=60)
        assert state(dk, name)["Status"] == "exited"
    finally:
        try:
            os.kill(agent_pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


@pytest.mark.agent_modes("agent-reverse")
def test_reverse_agent_reconnects_after_the_listener_restarts(dk, proc_daemon, start):
    name = start("i=0; while true; do echo line$i; i=$((i+1)); sleep 0.1; done", prefix="rev")
    wait_until(lambda: "line3" in dk("logs", name), what="the first lines")
    cid = json.loads(dk("inspect", name))[0]["Id"]

    def connections():
        with open(proc_daemon.log_path, errors="replace") as f:
            return f.read().count(f"agent of {cid[:12]} connected")

    for round in range(1, 3):
        before = connections()
        proc_daemon.proc.send_signal(signal.SIGHUP)  # closes every reverse connection
        wait_until(lambda: connections() > before, timeout=30,
                   what=f"the agent to dial the reopened listener (round {round})")
        assert dk("exec", name, "echo", "back") == "back\n"
    assert state(dk, name)["Status"] == "running"
    # What the command printed while the agent was away arrived after the reconnect, in order.
    numbers = [int(line[4:]) for line in dk("logs", name).splitlines()]
    assert numbers == list(range(len(numbers))), numbers[:20]
    first = len(numbers)
    time.sleep(0.5)
    assert len(dk("logs", name).splitlines()) > first


# --- remote agents: registered through labels -----------------------------------------------------


class RemoteAgent:
    """A sockerless-agent started by the test (optionally under `ip netns exec`), with its own
    token file."""

    def __init__(self, binary, tmp_path, mode_args, cmd, prefix=(), token_file=None):
        self.token_file = token_file
        if token_file is None:
            self.token_file = tmp_path / f"token-{uuid.uuid4().hex[:8]}"
            self.token_file.write_text(secrets.token_hex(32) + "\n")
            self.token_file.chmod(0o600)
        self.log = open(tmp_path / f"agent-{uuid.uuid4().hex[:8]}.log", "wb")
        self.proc = subprocess.Popen(
            [*prefix, binary, *mode_args, "--token-file", str(self.token_file),
             "--heartbeat-interval", str(AGENT_TIMEOUT_MS // 3),
             "--heartbeat-timeout", str(AGENT_TIMEOUT_MS), "--reconnect-max", "1000", "--", *cmd],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def remote_agents(sockerlessd_binary, tmp_path):
    agents = []

    def make(mode_args, cmd, prefix=(), token_file=None):
        agent = RemoteAgent(agent_binary(sockerlessd_binary), tmp_path, mode_args, cmd, prefix,
                            token_file)
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.stop()


def create_remote(dk, proc_names, labels):
    name = proc_names("remote")
    args = ["create", "--name", name]
    for k, v in labels.items():
        args += ["--label", f"{k}={v}"]
    dk(*args, BUSYBOX, "true")
    return name


def wait_listening(host, port):
    def up():
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            return False

    wait_until(up, timeout=10, what=f"the agent listening on {host}:{port}")


def test_remote_agent_with_a_wrong_token_is_refused(dk, proc_names, remote_agents, tmp_path):
    port = free_tcp_port()
    agent = remote_agents(["--listen", f"tcp:127.0.0.1:{port}"], ["sh", "-c", "echo ran"])
    wait_listening("127.0.0.1", port)
    wrong = tmp_path / "wrong-token"
    wrong.write_text(secrets.token_hex(32))
    name = create_remote(dk, proc_names, {"sockerless.agent.address": f"tcp:127.0.0.1:{port}",
                                          "sockerless.agent.token-file": str(wrong)})
    result = dk.run("start", name)
    assert result.returncode != 0
    assert "token" in result.stderr.lower() or "refused" in result.stderr.lower(), result.stderr
    assert agent.proc.poll() is None  # the agent keeps waiting for the right daemon

    # The same agent with the right token runs its command.
    good = create_remote(dk, proc_names, {"sockerless.agent.address": f"tcp:127.0.0.1:{port}",
                                          "sockerless.agent.token-file": str(agent.token_file)})
    dk("start", good)
    assert dk("wait", good).strip() == "0"
    assert dk("logs", good) == "ran\n"


@pytest.mark.agent_modes("agent-reverse")
def test_reverse_agent_with_a_wrong_token_is_refused(dk, proc_cli, proc_raw, proc_daemon,
                                                     proc_names, remote_agents, tmp_path):
    """A container whose agent dials the daemon (label sockerless.agent.callback): the daemon
    refuses an agent with another token and takes the one with the token of the file."""
    callback = driver_status(proc_raw)["Agent Callback"]
    token_file = tmp_path / "expected"
    token_file.write_text(secrets.token_hex(32) + "\n")
    name = create_remote(dk, proc_names, {"sockerless.agent.callback": "true",
                                          "sockerless.agent.token-file": str(token_file)})
    cid = json.loads(dk("inspect", name))[0]["Id"]
    starter = subprocess.Popen([DOCKER_CLI, "start", name], env=proc_cli.env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        wrong = remote_agents(["--callback", callback, "--container-id", cid],
                              ["echo", "never"])
        wait_until(lambda: "agent callback refused" in proc_daemon.log_tail(400), timeout=15,
                   what="the daemon to refuse the agent with the wrong token")
        wrong.stop()
        remote_agents(["--callback", callback, "--container-id", cid], ["echo", "dialled back"],
                      token_file=token_file)
    finally:
        code = starter.wait(timeout=30)
        err = starter.stderr.read().decode()
        starter.stdout.close()
        starter.stderr.close()
    assert code == 0, err
    assert dk("wait", name, timeout=20).strip() == "0"
    assert dk("logs", name) == "dialled back\n"


# --- an agent on another network host (ip netns) ----------------------------------------------


def have_netns():
    return os.geteuid() == 0 and shutil.which("ip") is not None


@pytest.fixture
def netns():
    """A network namespace with a veth pair to it: (namespace, host address, agent address).
    Removed whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("ip netns needs root (run the suite as root to test across a namespace)")
    if shutil.which("ip") is None:
        pytest.skip("the ip command (iproute2) is not installed")
    tag = uuid.uuid4().hex[:6]
    ns, host_if, ns_if = f"sl-agent-{tag}", f"sla{tag}", f"slb{tag}"
    octet = int(tag[:2], 16) % 200 + 20
    host_ip, agent_ip = f"10.251.{octet}.1", f"10.251.{octet}.2"
    steps = [
        ["ip", "netns", "add", ns],
        ["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if],
        ["ip", "link", "set", ns_if, "netns", ns],
        ["ip", "addr", "add", f"{host_ip}/30", "dev", host_if],
        ["ip", "link", "set", host_if, "up"],
        ["ip", "netns", "exec", ns, "ip", "addr", "add", f"{agent_ip}/30", "dev", ns_if],
        ["ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up"],
        ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
    ]
    try:
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True)
            if result.returncode != 0:
                pytest.skip(f"cannot set up the namespace ({' '.join(step)}): {result.stderr}")
        yield ns, host_ip, agent_ip
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_agent_in_its_own_network_namespace(dk, proc_names, remote_agents, netns, tmp_path):
    ns, _, agent_ip = netns
    port = 7400 + secrets.randbelow(500)
    work = tmp_path / "remote-root"
    work.mkdir()
    agent = remote_agents(
        ["--listen", f"tcp:{agent_ip}:{port}"],
        ["sh", "-c", "echo hello from the namespace; exec sleep 300"],
        prefix=["ip", "netns", "exec", ns],
    )
    wait_listening(agent_ip, port)  # across the veth pair
    name = create_remote(dk, proc_names, {"sockerless.agent.address": f"tcp:{agent_ip}:{port}",
                                          "sockerless.agent.token-file": str(agent.token_file)})
    dk("start", name)
    wait_until(lambda: "hello from the namespace" in dk("logs", name), what="the agent's output")
    # exec runs in the namespace: it sees the veth address, not the host's.
    out = dk("exec", name, "cat", "/proc/net/fib_trie")
    with open("/proc/net/fib_trie") as f:
        assert agent_ip in out and out != f.read(), out
    # docker cp both ways through the agent (its root is the host's: a private directory).
    (tmp_path / "in.txt").write_text("over the veth\n")
    dk("cp", str(tmp_path / "in.txt"), f"{name}:{work}/copied.txt")
    assert (work / "copied.txt").read_text() == "over the veth\n"
    dk("exec", name, "sh", "-c", f"echo made remotely > {work}/out.txt")
    dk("cp", f"{name}:{work}/out.txt", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text() == "made remotely\n"
    dk("kill", "-s", "TERM", name)
    assert dk("wait", name, timeout=20).strip() == "143"


# --- TLS ----------------------------------------------------------------------------------------


def make_certs(dirpath):
    """A CA and a certificate for 127.0.0.1 signed by it (openssl CLI): (ca, cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    ca_key, ca, key, csr, cert = (dirpath / n for n in ("ca.key", "ca.pem", "agent.key",
                                                         "agent.csr", "agent.pem"))
    ext = dirpath / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    for cmd in (
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out",
         ca, "-days", "1", "-subj", "/CN=sockerless test CA"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
         "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "1", "-extfile", ext],
    ):
        subprocess.run([str(c) for c in cmd], check=True, capture_output=True)
    return ca, cert, key


def test_remote_agent_over_tls(dk, proc_names, remote_agents, tmp_path):
    ca, cert, key = make_certs(tmp_path)
    port = free_tcp_port()
    agent = remote_agents(["--listen", f"tcp:127.0.0.1:{port}", "--tls-cert", str(cert),
                           "--tls-key", str(key)], ["sh", "-c", "echo over tls; exit 7"])
    wait_listening("127.0.0.1", port)
    # Without the CA label the daemon speaks plaintext to a TLS agent: refused.
    plain = create_remote(dk, proc_names, {"sockerless.agent.address": f"tcp:127.0.0.1:{port}",
                                           "sockerless.agent.token-file": str(agent.token_file)})
    assert dk.run("start", plain).returncode != 0
    name = create_remote(dk, proc_names, {"sockerless.agent.address": f"tcp:127.0.0.1:{port}",
                                          "sockerless.agent.token-file": str(agent.token_file),
                                          "sockerless.agent.tls-ca": str(ca)})
    dk("start", name)
    assert dk("wait", name).strip() == "7"
    assert dk("logs", name) == "over tls\n"
