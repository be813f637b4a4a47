"""Image distribution against real registries: Debian's docker-registry (distribution's
registry:2) started here, one over plain HTTP on 127.0.0.1 and one over TLS with a CA made here
and htpasswd authentication.

The tests run against the daemon running real containers (conftest's `proc_*` fixtures), or
against the daemon named by SOCKERLESS_E2E_DOCKER_HOST: every test not marked sockerless_only
passes on dockerd 20.10 as well, so the statuses, messages, image IDs and digests asserted here
are dockerd's. Images are pushed by the daemon (the CLI's `docker push`) or built and uploaded
by the test itself over the registry API (deterministic bytes: the same IDs and digests on any
daemon).

The TLS registry listens on this machine's non-loopback address when it has one: dockerd then
verifies its certificate, which it trusts through /etc/docker/certs.d/<host:port>/ca.crt (written
here, removed afterwards; sockerlessd reads the same directory). On 127.0.0.0/8 both daemons
treat a registry as insecure (no verification, plain HTTP as a fallback).
"""

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker
import pytest

from e2e_helpers import free_tcp_port
from images_fixture import BUSYBOX, proc_images, unique  # noqa: F401 (fixtures)

REGISTRY_BIN = "/usr/bin/docker-registry"
CERTS_D = Path("/etc/docker/certs.d")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
USER, PASSWORD = "sockerless", "s3cret-pa55"

pytestmark = [
    pytest.mark.usefixtures("proc_images"),
    pytest.mark.skipif(not os.access(REGISTRY_BIN, os.X_OK),
                       reason=f"{REGISTRY_BIN} not installed (apt-get install docker-registry)"),
]


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- a registry -----------------------------------------------------------------------------------


class Registry:
    """One docker-registry process with its storage in a temporary directory."""

    def __init__(self, workdir, address, tls=None, htpasswd=None):
        self.workdir = Path(workdir)
        self.address = address
        self.port = free_tcp_port() if address == "127.0.0.1" else free_port_on(address)
        self.host = f"{address}:{self.port}"
        self.storage = self.workdir / "storage"
        self.tls = tls  # (cert, key, ca) paths
        self.auth = None
        self.proc = None
        config = [
            "version: 0.1",
            "log:",
            "  level: error",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}",
        ]
        if tls:
            config += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
        if htpasswd:
            config += ["auth:", "  htpasswd:", "    realm: Sockerless Test Registry",
                       f"    path: {htpasswd}"]
            self.auth = (USER, PASSWORD)
        self.config = self.workdir / "config.yml"
        self.config.write_text("\n".join(config) + "\n")
        self.scheme = "https" if tls else "http"
        self.context = ssl.create_default_context(cafile=str(tls[2])) if tls else None

    def start(self):
        with open(self.workdir / "registry.log", "ab") as log:
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(self.config)],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                status, _, _ = self.request("GET", "/v2/", auth=False)
                if status in (200, 401):
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"docker-registry did not start on {self.host}:\n"
                            + (self.workdir / "registry.log").read_text(errors="replace"))
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def request(self, method, path, data=None, headers=None, auth=True):
        """(status, headers, body) of one request to the registry."""
        url = path if path.startswith("http") else f"{self.scheme}://{self.host}{path}"
        headers = dict(headers or {})
        if auth and self.auth:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def push_blob(self, repo, data):
        digest = sha256(data)
        status, headers, body = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        assert status == 202, (status, body)
        location = headers["Location"]
        sep = "&" if "?" in location else "?"
        status, _, body = self.request("PUT", f"{location}{sep}digest={digest}", data,
                                       {"Content-Type": "application/octet-stream"})
        assert status == 201, (status, body)
        return digest

    def put_manifest(self, repo, ref, body, media_type):
        status, headers, answer = self.request("PUT", f"/v2/{repo}/manifests/{ref}", body,
                                               {"Content-Type": media_type})
        assert status == 201, (status, answer)
        assert headers["Docker-Content-Digest"] == sha256(body)
        return sha256(body)

    def get_manifest(self, repo, ref):
        accept = ", ".join([
            "application/vnd.docker.distribution.manifest.v2+json", OCI_MANIFEST, OCI_INDEX,
            "application/vnd.docker.distribution.manifest.list.v2+json"])
        status, _, body = self.request("GET", f"/v2/{repo}/manifests/{ref}",
                                       headers={"Accept": accept})
        assert status == 200, (status, body)
        return body

    def blob_file(self, digest):
        hexd = digest.split(":")[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"


def free_port_on(address):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def outward_address():
    """This machine's address on its default route (not loopback), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.123", 9))  # no packet is sent: this only picks a route
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def plain_registry(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("registry-plain"), "127.0.0.1").start()
    yield reg
    reg.stop()


def make_tls_material(workdir, address):
    """A CA and a server certificate for address (IP and name), made with openssl."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/CN=sockerless e2e test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", f"/CN={address}")
    (workdir / "ext.cnf").write_text(f"subjectAltName=IP:{address},DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf")
    return workdir / "server.crt", workdir / "server.key", workdir / "ca.crt"


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory):
    """The TLS registry with htpasswd auth; its CA in /etc/docker/certs.d/<host:port>/."""
    workdir = tmp_path_factory.mktemp("registry-tls")
    address = outward_address() or "127.0.0.1"
    tls = make_tls_material(workdir, address)
    htpasswd = workdir / "htpasswd"
    out = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("htpasswd not available (apt-get install apache2-utils)")
    htpasswd.write_text(out.stdout)
    reg = Registry(workdir, address, tls=tls, htpasswd=htpasswd)
    reg.certs = CERTS_D / reg.host
    made_certs_d = not CERTS_D.exists()
    try:
        reg.certs.mkdir(parents=True, exist_ok=True)
        shutil.copy(tls[2], reg.certs / "ca.crt")
    except OSError as e:
        pytest.skip(f"cannot install the test CA in {reg.certs}: {e}")
    reg.start()
    yield reg
    reg.stop()
    shutil.rmtree(reg.certs, ignore_errors=True)
    if made_certs_d:
        try:
            CERTS_D.rmdir()
        except OSError:
            pass


# --- images made here -----------------------------------------------------------------------------


def layer_tar(files):
    """A deterministic layer tar of {name: bytes}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1704067200
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def upload_image(reg, repo, files, arch="amd64", label="x", compress="gzip"):
    """Uploads a one-layer image over the registry API: (manifest bytes, config digest,
    layer blob digest)."""
    raw = layer_tar(files)
    if compress == "zstd":
        blob = subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True,
                              check=True).stdout
    else:
        blob = gzip.compress(raw, mtime=0)
    config = json.dumps({
        "architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/bin"], "Labels": {"org.sockerless.e2e": label}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(raw)]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "sockerless e2e"}],
    }, sort_keys=True).encode()
    layer_digest = reg.push_blob(repo, blob)
    config_digest = reg.push_blob(repo, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": OCI_LAYER_ZSTD if compress == "zstd" else OCI_LAYER_GZIP,
                    "size": len(blob), "digest": layer_digest}],
    }).encode()
    return manifest, config_digest, layer_digest


def archive_with_layer(source, dest, tag, files):
    """A copy of the docker-archive `source` with one more layer (files) and the single tag
    `tag`; returns the new image ID."""
    with tarfile.open(source) as src:
        manifest = json.load(src.extractfile("manifest.json"))
        config = json.load(src.extractfile(manifest[0]["Config"]))
        raw = layer_tar(files)
        diff = sha256(raw)
        config["rootfs"]["diff_ids"].append(diff)
        config.setdefault("history", []).append(
            {"created": "2024-01-01T00:00:00Z", "created_by": "sockerless e2e payload"})
        config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
        image_id = sha256(config_bytes)
        layer_path = diff.split(":")[1] + "/layer.tar"
        new_manifest = [dict(manifest[0], Config=image_id.split(":")[1] + ".json",
                             RepoTags=[tag], Layers=manifest[0]["Layers"] + [layer_path])]
        replaced = {"manifest.json", "repositories", manifest[0]["Config"]}
        with tarfile.open(dest, "w", format=tarfile.USTAR_FORMAT) as out:
            for member in src.getmembers():
                if member.name not in replaced:
                    out.addfile(member, src.extractfile(member) if member.isfile() else None)
            for name, data in ((image_id.split(":")[1] + ".json", config_bytes),
                               (layer_path, raw),
                               ("manifest.json", json.dumps(new_manifest).encode())):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, 1704067200
                out.addfile(info, io.BytesIO(data))
    return image_id


# --- helpers ----------------------------------------------------------------------------------------


@pytest.fixture
def dk(proc_cli):
    """The docker CLI against the daemon under test: dk(*args) returns stdout and fails the
    test on a non-zero exit; dk.run(*args) returns the CompletedProcess."""

    def run_ok(*args, timeout=120):
        result = proc_cli(*args, timeout=timeout)
        assert result.returncode == 0, (
            f"{args} exited {result.returncode}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}")
        return result.stdout

    run_ok.run = lambda *args, timeout=120: proc_cli(*args, timeout=timeout)
    return run_ok


@pytest.fixture
def cleanup(proc_cli):
    """Images removed (rmi -f) at the end of a test: cleanup(ref) registers one."""
    refs = []
    yield refs.append
    for ref in reversed(refs):
        proc_cli("rmi", "-f", ref)


def inspect(dk, ref):
    return json.loads(dk("image", "inspect", ref))[0]


def absent(dk, ref):
    return dk.run("image", "inspect", ref).returncode != 0


@pytest.fixture
def own_image(dk, proc_images, tmp_path, cleanup):
    """Loads a copy of the test busybox with a layer of its own (a unique /payload.txt), so a
    pull of it has a layer to download; returns (tag, image ID, payload)."""
    payload = unique("payload")
    tag = unique("sockerless-e2e/own") + ":latest"
    image_id = archive_with_layer(proc_images.archives[BUSYBOX], tmp_path / "own.tar", tag,
                                  {"payload.txt": payload.encode()})
    dk("load", "-i", str(tmp_path / "own.tar"))
    cleanup(image_id)
    return tag, image_id, payload


PUSHED = re.compile(r"^(\S+): digest: (sha256:[0-9a-f]{64}) size: (\d+)$", re.M)


# --- tests ------------------------------------------------------------------------------------------


def test_push_remove_pull_by_tag_and_by_digest_then_run(plain_registry, dk, own_image):
    tag, image_id, payload = own_image
    repo = unique("sockerless-e2e/roundtrip")
    name = f"{plain_registry.host}/{repo}"
    dk("tag", tag, f"{name}:v1")
    out = dk("push", f"{name}:v1")
    assert f"The push refers to repository [{name}]" in out
    pushed = PUSHED.search(out)
    assert pushed and pushed.group(1) == "v1", out
    digest = pushed.group(2)
    # What the registry has: that manifest, whose config is the image itself.
    manifest = plain_registry.get_manifest(repo, "v1")
    assert sha256(manifest) == digest and int(pushed.group(3)) == len(manifest)
    assert json.loads(manifest)["config"]["digest"] == image_id
    assert inspect(dk, f"{name}:v1")["RepoDigests"] == [f"{name}@{digest}"]

    dk("rmi", f"{name}:v1", tag)
    assert absent(dk, image_id)
    out = dk("pull", f"{name}:v1")
    assert "v1: Pulling from " + repo in out
    assert f"Digest: {digest}" in out
    assert f"Status: Downloaded newer image for {name}:v1" in out
    img = inspect(dk, f"{name}:v1")
    assert img["Id"] == image_id
    assert img["RepoTags"] == [f"{name}:v1"]
    assert img["RepoDigests"] == [f"{name}@{digest}"]
    assert dk("run", "--rm", f"{name}:v1", "cat", "/payload.txt") == payload

    dk("rmi", f"{name}:v1")
    assert absent(dk, image_id)
    out = dk("pull", f"{name}@{digest}")
    assert f"Status: Downloaded newer image for {name}@{digest}" in out
    img = inspect(dk, f"{name}@{digest}")
    assert (img["Id"], img["RepoTags"], img["RepoDigests"]) == (image_id, [],
                                                                 [f"{name}@{digest}"])
    assert dk("run", "--rm", f"{name}@{digest}", "cat", "/payload.txt") == payload
    assert f"Status: Image is up to date for {name}@{digest}" in dk("pull", f"{name}@{digest}")


def test_push_to_another_repository_mounts_the_layers(plain_registry, dk, own_image):
    tag, _, _ = own_image
    first = unique("sockerless-e2e/mount-a")
    second = unique("sockerless-e2e/mount-b")
    dk("tag", tag, f"{plain_registry.host}/{first}:v1")
    dk("tag", tag, f"{plain_registry.host}/{second}:v1")
    dk("push", f"{plain_registry.host}/{first}:v1")
    out = dk("push", f"{plain_registry.host}/{second}:v1")
    assert f"Mounted from {first}" in out
    # The same blobs: the same manifest.
    assert (plain_registry.get_manifest(first, "v1") ==
            plain_registry.get_manifest(second, "v1"))


def test_pull_of_a_multi_platform_index_gets_the_hosts_variant(plain_registry, dk, proc_client,
                                                              cleanup):
    host_arch = proc_client.version()["Arch"]
    other = "arm64" if host_arch != "arm64" else "amd64"
    repo = unique("sockerless-e2e/multi")
    name = f"{plain_registry.host}/{repo}"
    entries, configs = [], {}
    for arch in (other, host_arch):  # the host's is not the first entry
        manifest, config, _ = upload_image(plain_registry, repo, {"arch.txt": arch.encode()},
                                           arch=arch, label=arch)
        digest = plain_registry.put_manifest(repo, sha256(manifest), manifest, OCI_MANIFEST)
        entries.append({"mediaType": OCI_MANIFEST, "size": len(manifest), "digest": digest,
                        "platform": {"architecture": arch, "os": "linux"}})
        configs[arch] = config
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": entries}).encode()
    index_digest = plain_registry.put_manifest(repo, "multi", index, OCI_INDEX)
    cleanup(configs[host_arch])
    cleanup(configs[other])

    out = dk("pull", f"{name}:multi")
    assert f"Digest: {index_digest}" in out
    img = inspect(dk, f"{name}:multi")
    assert img["Id"] == configs[host_arch]
    assert img["Architecture"] == host_arch
    assert img["RepoDigests"] == [f"{name}@{index_digest}"]
    assert img["Config"]["Labels"] == {"org.sockerless.e2e": host_arch}

    dk("pull", "--platform", f"linux/{other}", f"{name}:multi")
    img = inspect(dk, f"{name}:multi")
    assert (img["Id"], img["Architecture"]) == (configs[other], other)


def test_a_corrupted_blob_is_refused(plain_registry, dk):
    repo = unique("sockerless-e2e/corrupt")
    name = f"{plain_registry.host}/{repo}"
    manifest, config, layer = upload_image(plain_registry, repo,
                                           {"data.bin": os.urandom(200_000)})
    plain_registry.put_manifest(repo, "v1", manifest, OCI_MANIFEST)
    data = bytearray(plain_registry.blob_file(layer).read_bytes())
    data[len(data) // 2] ^= 0xFF
    plain_registry.blob_file(layer).write_bytes(bytes(data))

    result = dk.run("pull", f"{name}:v1")
    assert result.returncode != 0
    assert f"filesystem layer verification failed for digest {layer}" in result.stderr
    assert absent(dk, config)
    assert absent(dk, f"{name}:v1")


def test_an_unknown_tag_is_a_404_in_the_registrys_words(plain_registry, dk, proc_client):
    name = f"{plain_registry.host}/{unique('sockerless-e2e/none')}"
    result = dk.run("pull", f"{name}:nope")
    assert result.returncode != 0
    assert (f"manifest for {name}:nope not found: manifest unknown: manifest unknown"
            in result.stderr)
    with pytest.raises(docker.errors.NotFound):
        proc_client.api.pull(name, tag="nope")


def test_tls_registry_with_a_password(tls_registry, dk, own_image, proc_client, cleanup):
    tag, image_id, payload = own_image
    host = tls_registry.host
    result = subprocess_login(dk, host, "not-the-password")
    assert result.returncode != 0
    assert (f"login attempt to https://{host}/v2/ failed with status: 401 Unauthorized"
            in result.stderr)
    assert "Login Succeeded" in subprocess_login(dk, host, PASSWORD).stdout
    try:
        repo = unique("sockerless-e2e/private")
        name = f"{host}/{repo}"
        dk("tag", tag, f"{name}:v1")
        digest = PUSHED.search(dk("push", f"{name}:v1")).group(2)
        dk("rmi", f"{name}:v1", tag)
        assert absent(dk, image_id)
        if not host.startswith("127."):  # a secure registry: trusted through certs.d only
            hidden = tls_registry.certs.with_name(tls_registry.certs.name + ".hidden")
            tls_registry.certs.rename(hidden)
            try:
                untrusted = dk.run("pull", f"{name}:v1")
            finally:
                hidden.rename(tls_registry.certs)
            assert untrusted.returncode != 0
            assert "certificate" in untrusted.stderr
            assert absent(dk, image_id)
        assert f"Digest: {digest}" in dk("pull", f"{name}:v1")
        assert inspect(dk, f"{name}:v1")["Id"] == image_id
        assert dk("run", "--rm", f"{name}:v1", "cat", "/payload.txt") == payload
        dk("rmi", f"{name}:v1")
        # Credentials given with the request win over a login's, and a wrong one is refused.
        if not host.startswith("127."):  # dockerd falls back to plain HTTP there
            with pytest.raises(docker.errors.APIError) as e:
                proc_client.images.pull(name, tag="v1",
                                        auth_config={"username": USER, "password": "wrong"})
            assert "unauthorized: authentication required" in str(e.value)
            assert absent(dk, image_id)
    finally:
        dk.run("logout", host)


def subprocess_login(dk, host, password):
    return dk.run("login", "-u", USER, "-p", password, host)


@pytest.mark.sockerless_only
def test_a_docker_hub_name_offline_fails_without_a_synthetic_image(dk):
    # dockerd fails the same way here; the point is that the process daemon never makes a
    # synthetic image in place of a failed real pull (only --driver synthetic or
    # --offline-pulls=synthetic do).
    ref = unique("sockerless-e2e-offline") + ":latest"
    result = dk.run("pull", ref)
    assert result.returncode != 0
    assert "registry-1.docker.io" in result.stderr
    assert absent(dk, ref)


@pytest.mark.sockerless_only
def test_the_synthetic_daemon_pulls_for_real_when_the_registry_answers(plain_registry, cli):
    repo = unique("sockerless-e2e/real")
    manifest, config, _ = upload_image(plain_registry, repo, {"f.txt": b"real\n"})
    plain_registry.put_manifest(repo, "v1", manifest, OCI_MANIFEST)
    name = f"{plain_registry.host}/{repo}:v1"
    assert cli("pull", name).returncode == 0
    img = json.loads(cli("image", "inspect", name).stdout)[0]
    assert img["Id"] == config and len(img["RootFS"]["Layers"]) == 1
    cli("rmi", "-f", config)
    # Unreachable: the synthetic pull of the seed (no layers).
    offline = unique("sockerless-e2e-offline") + ":latest"
    assert cli("pull", offline).returncode == 0
    img = json.loads(cli("image", "inspect", offline).stdout)[0]
    assert img["RootFS"]["Layers"] == []
    cli("rmi", "-f", offline)


@pytest.mark.sockerless_only
def test_zstd_layers(plain_registry, dk, cleanup):
    # dockerd 20.10 cannot extract zstd layers ("unexpected EOF"); newer engines can.
    repo = unique("sockerless-e2e/zstd")
    manifest, config, _ = upload_image(plain_registry, repo, {"z.txt": b"zstd layer\n"},
                                       compress="zstd")
    plain_registry.put_manifest(repo, "v1", manifest, OCI_MANIFEST)
    cleanup(config)
    dk("pull", f"{plain_registry.host}/{repo}:v1")
    assert inspect(dk, f"{plain_registry.host}/{repo}:v1")["Id"] == config
