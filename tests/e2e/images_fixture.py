"""Fixtures shared by the container and image suites: the test images, an API helper, cleanup.

Import the fixtures into a test module (`from images_fixture import loaded_images, ...`).

`loaded_images` builds tests/images once per session (build-images.sh into a temporary
directory) and loads busybox and app into the daemon under test with `docker load`, so the same
tests run against sockerlessd and against a dockerd that cannot pull from a registry.
`proc_images` does the same for the daemon running real containers (conftest's `proc_host`), and
`proc_names` gives container names removed from that daemon afterwards.
"""

import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "tests" / "images" / "build-images.sh"

BUSYBOX = "sockerless-test/busybox:latest"
APP = "sockerless-test/app:latest"
IMAGE_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def unique(prefix):
    """A name nobody else uses: `prefix-` and 10 hex digits."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --- The test images ----------------------------------------------------------------------------


@dataclass
class LoadedImages:
    """The built images (tag -> archive path, tag -> image ID) and what `docker load` printed."""

    archives: dict
    ids: dict
    load_stdout: dict = field(default_factory=dict)


# Built once per session and loaded once per daemon host: the fixture is imported by several
# modules, and each import is a fixture definition of its own.
_built = []
_loaded = {}


def build_images(outdir):
    """Runs build-images.sh; returns ({tag: archive path}, {tag: image id})."""
    out = subprocess.run(
        [str(BUILD_SCRIPT), str(outdir)], capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )
    if out.returncode != 0:
        pytest.fail(f"{BUILD_SCRIPT} failed ({out.returncode}):\n{out.stderr}", pytrace=False)
    archives, ids = {}, {}
    for line in out.stdout.splitlines():
        path, image_id, tag = line.split()
        archives[tag], ids[tag] = path, image_id
    return archives, ids


def load_images(cli, host, tmp_path_factory):
    """Builds the test images (once per session) and loads them into `host` (once per host)."""
    if host not in _loaded:
        if not _built:
            _built.append(build_images(tmp_path_factory.mktemp("test-images")))
        archives, ids = _built[0]
        images = LoadedImages(archives, ids)
        for tag in (BUSYBOX, APP):
            result = cli("load", "-i", archives[tag], timeout=120)
            if result.returncode != 0:
                pytest.fail(f"docker load -i {archives[tag]} failed:\n{result.stderr}",
                            pytrace=False)
            images.load_stdout[tag] = result.stdout
        _loaded[host] = images
    return _loaded[host]


@pytest.fixture(scope="session")
def loaded_images(cli, docker_host, tmp_path_factory):
    return load_images(cli, docker_host, tmp_path_factory)


@pytest.fixture(scope="session")
def proc_images(proc_cli, proc_host, tmp_path_factory):
    """The test images, loaded into the daemon running real containers."""
    return load_images(proc_cli, proc_host, tmp_path_factory)


def variant_archive(source, dest, tag):
    """Writes to `dest` a copy of the docker-archive `source` whose image has a fresh ID (one
    extra label) and the single tag `tag`; returns the new image ID. The layers are unchanged."""
    with tarfile.open(source) as src:
        manifest = json.load(src.extractfile("manifest.json"))
        config = json.load(src.extractfile(manifest[0]["Config"]))
        config["config"].setdefault("Labels", {})["org.sockerless.e2e.variant"] = dest.name
        config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
        image_id = hashlib.sha256(config_bytes).hexdigest()
        last_layer_dir = manifest[0]["Layers"][-1].split("/")[0]
        repo, _, version = tag.rpartition(":")
        new_manifest = [dict(manifest[0], Config=image_id + ".json", RepoTags=[tag])]
        replaced = {"manifest.json", "repositories", manifest[0]["Config"]}
        with tarfile.open(dest, "w", format=tarfile.USTAR_FORMAT) as out:
            for member in src.getmembers():
                if member.name not in replaced:
                    out.addfile(member, src.extractfile(member) if member.isfile() else None)
            for name, data in (
                (image_id + ".json", config_bytes),
                ("manifest.json", json.dumps(new_manifest).encode()),
                ("repositories", json.dumps({repo: {version: last_layer_dir}}).encode() + b"\n"),
            ):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, 1704067200
                out.addfile(info, io.BytesIO(data))
    return "sha256:" + image_id


@pytest.fixture
def variant_image(loaded_images, cli, tmp_path):
    """Loads a throw-away image (busybox's layers, its own ID, one unique tag); returns
    (tag, image id, `docker load` result). Removed (rmi -f) afterwards if still there."""
    tags = []

    def make():
        tag = unique("sockerless-e2e/variant") + ":latest"
        archive = tmp_path / (tag.split("/")[1].replace(":", "-") + ".tar")
        image_id = variant_archive(loaded_images.archives[BUSYBOX], archive, tag)
        result = cli("load", "-i", str(archive))
        assert result.returncode == 0, result.stderr
        tags.append(image_id)
        return tag, image_id, result

    yield make
    for image_id in tags:
        cli("rmi", "-f", image_id)


# --- Containers ---------------------------------------------------------------------------------


@pytest.fixture
def names(cli):
    """Gives unique container names; every container so named is removed (rm -f) afterwards."""
    given = []

    def make(prefix="sockerless-e2e"):
        given.append(unique(prefix))
        return given[-1]

    yield make
    if given:
        cli("rm", "-f", *given)


@pytest.fixture
def proc_names(proc_cli):
    """Like `names`, on the daemon running real containers."""
    given = []

    def make(prefix="sockerless-e2e"):
        given.append(unique(prefix))
        return given[-1]

    yield make
    if given:
        proc_cli("rm", "-f", *given, timeout=60)


class Api:
    """Versioned Docker API calls on the raw client; answers are (status, decoded JSON or None)."""

    def __init__(self, raw, version):
        self.raw = raw
        self.version = version

    def call(self, method, path, body=None, timeout=10):
        headers = {}
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        status, _, data = self.raw.request(
            method, f"/v{self.version}{path}", body=body, headers=headers, timeout=timeout
        )
        if not data:
            return status, None
        try:
            return status, json.loads(data)
        except ValueError:
            raise AssertionError(f"{method} {path}: answer {status} is not JSON: {data[:300]!r}")

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def create(self, name, **config):
        """Creates a container (`name` may be None); returns its ID."""
        path = "/containers/create" + (f"?name={name}" if name else "")
        status, body = self.post(path, config)
        assert status == 201, (status, body)
        return body["Id"]

    def inspect(self, ref):
        status, body = self.get(f"/containers/{ref}/json")
        assert status == 200, (status, body)
        return body

    def start(self, ref):
        status, body = self.post(f"/containers/{ref}/start")
        assert status == 204, (status, body)

    def wait(self, ref, timeout=10):
        status, body = self.post(f"/containers/{ref}/wait", timeout=timeout)
        assert status == 200, (status, body)
        return body

    def run_to_exit(self, name, **config):
        """Creates and starts a container, waits for its exit; returns its ID."""
        cid = self.create(name, **config)
        self.start(cid)
        self.wait(cid)
        return cid


@pytest.fixture(scope="session")
def api(raw, api_version):
    return Api(raw, api_version)
