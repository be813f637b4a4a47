"""Who may talk to sockerlessd: the unix socket's mode and group (--group), plain TCP confined to
loopback unless forced, and --tlsverify with a CA and client certificates, as dockerd does.

The certificates are made with the openssl CLI in a temporary directory. Each test starts its
own daemon (these are flags of the daemon, not API behaviour), hence sockerless_only.
"""

import grp
import os
import socket
import ssl
import stat
import subprocess

import docker
import pytest

from conftest import DOCKER_CLI, cli_env
from e2e_helpers import Daemon, RawClient, free_tcp_port, ok

pytestmark = pytest.mark.sockerless_only


def run_sockerlessd(binary, *args, timeout=10):
    return subprocess.run([binary, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


# --- unix socket ---------------------------------------------------------------------------------


def group_of_socket(daemon):
    st = os.stat(daemon.socket_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(stat.S_IMODE(st.st_mode))
    return st.st_gid


def test_socket_gets_the_docker_group_by_default(make_daemon):
    daemon = make_daemon().start().wait_ready()
    try:
        expected = grp.getgrnam("docker").gr_gid
    except KeyError:
        expected = os.getgid()  # dockerd only warns when its default group does not exist
    assert group_of_socket(daemon) == expected
    assert daemon.stop() == 0, daemon.describe()


def test_group_flag_sets_the_socket_group(make_daemon):
    gid = os.getgroups()[-1] if os.getuid() != 0 else 12345
    daemon = make_daemon()
    daemon.argv += ["--group", str(gid)]
    daemon.start().wait_ready()
    assert group_of_socket(daemon) == gid
    assert daemon.stop() == 0, daemon.describe()


def test_unknown_group_is_a_startup_error(make_daemon, sockerlessd_binary):
    workdir = make_daemon().workdir
    out = run_sockerlessd(sockerlessd_binary, "-H", f"unix://{workdir}/s.sock", "--data-root",
                          f"{workdir}/data", "--group", "no-such-group-sockerless")
    assert out.returncode == 2, out.stderr
    assert "no-such-group-sockerless" in out.stderr, out.stderr
    assert not os.path.exists(f"{workdir}/s.sock")


# --- plain TCP -----------------------------------------------------------------------------------


def test_plain_tcp_beyond_loopback_is_refused(make_daemon, sockerlessd_binary):
    workdir = make_daemon().workdir
    out = run_sockerlessd(sockerlessd_binary, "-H", f"tcp://0.0.0.0:{free_tcp_port()}",
                          "--data-root", f"{workdir}/data")
    assert out.returncode == 2, out.stderr
    assert "--tlsverify" in out.stderr and "--tls=false" in out.stderr, out.stderr


def test_plain_tcp_beyond_loopback_when_forced_warns(make_daemon):
    port = free_tcp_port()
    daemon = make_daemon(extra_hosts=[f"tcp://0.0.0.0:{port}"])
    daemon.argv += ["--tls=false"]
    daemon.start().wait_ready()
    assert RawClient(f"tcp://127.0.0.1:{port}").ping()
    with open(daemon.log_path) as f:
        log = f.read()
    assert "without authentication" in log and "[!]" in log, log
    assert daemon.stop() == 0, daemon.describe()


def test_plain_tcp_on_loopback_is_allowed_with_a_warning(make_daemon):
    daemon = make_daemon(extra_hosts=[f"tcp://127.0.0.1:{free_tcp_port()}"])
    daemon.start().wait_ready()
    with open(daemon.log_path) as f:
        assert "without authentication" in f.read()
    assert daemon.stop() == 0, daemon.describe()


# --- TLS -----------------------------------------------------------------------------------------


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}-key.pem", "-out", f"{name}.pem", "-days", "2",
            "-subj", f"/CN={name}", cwd=d)


def sign(d, ca, name, cn, ext):
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(ext)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
            "-CAcreateserial", "-out", f"{name}-cert.pem", "-days", "2",
            "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1, a client certificate, and a client certificate
    from another CA; returns the directory."""
    d = str(tmp_path_factory.mktemp("tls"))
    make_ca(d, "ca")
    sign(d, "ca", "server", "localhost",
         "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    sign(d, "ca", "client", "client", "extendedKeyUsage=clientAuth\n")
    make_ca(d, "evil")
    sign(d, "evil", "intruder", "client", "extendedKeyUsage=clientAuth\n")
    return d


def tls_flags(certs):
    return ["--tlscacert", f"{certs}/ca.pem", "--tlscert", f"{certs}/server-cert.pem",
            "--tlskey", f"{certs}/server-key.pem"]


@pytest.fixture(scope="module")
def tls_daemon(sockerlessd_binary, certs, tmp_path_factory):
    """A synthetic-driver sockerlessd with --tlsverify on a loopback TCP port (and its unix
    socket, which is not TLS, as in dockerd); `.tcp` is its TCP address."""
    daemon = Daemon(sockerlessd_binary, str(tmp_path_factory.mktemp("tlsd")))
    daemon.tcp = f"tcp://127.0.0.1:{free_tcp_port()}"
    daemon.argv += ["-H", daemon.tcp, "--tlsverify", *tls_flags(certs)]
    daemon.start().wait_ready()
    yield daemon
    assert daemon.stop() == 0, daemon.describe()


@pytest.fixture
def tls_cli(tls_daemon, certs, tmp_path):
    """The docker CLI with --tlsverify and the client certificate; extra global flags first."""
    env = cli_env(tls_daemon.tcp, tmp_path)

    def run(*args, flags=None, timeout=60, input=None):
        if flags is None:
            flags = ["--tlsverify", "--tlscacert", f"{certs}/ca.pem",
                     "--tlscert", f"{certs}/client-cert.pem", "--tlskey", f"{certs}/client-key.pem"]
        return subprocess.run([DOCKER_CLI, *flags, "-H", tls_daemon.tcp, *args], env=env,
                              input=input, capture_output=True, text=True, timeout=timeout)

    return run


def test_cli_with_tlsverify(tls_cli, tls_daemon):
    assert ok(tls_cli("version", "--format", "{{.Server.APIVersion}}")).strip()
    ok(tls_cli("ps", "-a"))
    out = ok(tls_cli("run", "--rm", "busybox", "echo", "over-tls"))
    assert "over-tls" in out  # the synthetic driver prints the command line


def test_hijacked_streams_over_tls(tls_cli):
    # attach with stdin (run -i) and exec both upgrade the connection to a raw stream.
    out = ok(tls_cli("run", "-i", "--rm", "busybox", "cat", input="in\n"))
    assert "cat" in out
    name = f"tls-exec-{os.getpid()}"
    ok(tls_cli("run", "-d", "--name", name, "busybox", "sleep", "60"))
    try:
        assert "echo exec-over-tls" in ok(tls_cli("exec", name, "echo", "exec-over-tls"))
        assert ok(tls_cli("exec", "-i", name, "cat", input="x\n")) is not None
    finally:
        tls_cli("rm", "-f", name)


def test_docker_py_with_tls(tls_daemon, certs, monkeypatch):
    # requests prefers REQUESTS_CA_BUNDLE over a session's CA file: it would replace our CA.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    tls = docker.tls.TLSConfig(client_cert=(f"{certs}/client-cert.pem",
                                            f"{certs}/client-key.pem"),
                               ca_cert=f"{certs}/ca.pem", verify=True)
    client = docker.DockerClient(base_url=tls_daemon.tcp, tls=tls, version="auto", timeout=30)
    try:
        assert client.ping()
        out = client.containers.run("busybox", ["echo", "py-tls"], remove=True)
        assert b"py-tls" in out
    finally:
        client.close()


@pytest.mark.parametrize("which", ["no-cert", "other-ca"])
def test_client_without_a_valid_certificate_is_refused(tls_cli, tls_daemon, certs, which):
    flags = ["--tls", "--tlscacert", f"{certs}/ca.pem"]
    if which == "other-ca":
        flags += ["--tlscert", f"{certs}/intruder-cert.pem", "--tlskey",
                  f"{certs}/intruder-key.pem"]
    out = tls_cli("ps", flags=flags, timeout=30)
    assert out.returncode != 0, out.stdout
    assert "CONTAINER ID" not in out.stdout
    # The same with a bare TLS client: the handshake or the first read fails, no HTTP answer.
    ctx = ssl.create_default_context(cafile=f"{certs}/ca.pem")
    if which == "other-ca":
        ctx.load_cert_chain(f"{certs}/intruder-cert.pem", f"{certs}/intruder-key.pem")
    port = int(tls_daemon.tcp.rsplit(":", 1)[1])
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw_sock:
            with ctx.wrap_socket(raw_sock, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
                data = s.recv(100)
                if not data:
                    raise ConnectionError("closed without an answer")
                pytest.fail(f"an unverified client got an answer: {data!r}")
    assert RawClient(tls_daemon.host).ping()
    assert tls_cli("version").returncode == 0


def test_plain_http_on_the_tls_port_gets_no_api(tls_daemon):
    port = int(tls_daemon.tcp.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(4096)
        except ConnectionError:
            data = b""
    assert b"OK" not in data


def test_unix_socket_of_a_tls_daemon_stays_plain(tls_daemon):
    assert RawClient(tls_daemon.host).ping()


@pytest.mark.parametrize("problem", ["missing", "mismatch", "not-pem"])
def test_bad_tls_material_is_a_startup_error(make_daemon, sockerlessd_binary, certs, problem):
    workdir = make_daemon().workdir
    flags = tls_flags(certs)
    if problem == "missing":
        flags[1] = f"{certs}/nope.pem"
    elif problem == "mismatch":
        flags[5] = f"{certs}/client-key.pem"
    else:
        junk = os.path.join(workdir, "junk.pem")
        with open(junk, "w") as f:
            f.write("not a certificate\n")
        flags[3] = junk
    out = run_sockerlessd(sockerlessd_binary, "-H", f"tcp://127.0.0.1:{free_tcp_port()}",
                          "--data-root", f"{workdir}/data", "--tlsverify", *flags)
    assert out.returncode == 2, out.stderr
    assert "TLS" in out.stderr, out.stderr
