"""tests/images/build-images.sh: the test images later suites load.

Daemon-independent: builds the images twice and checks that the archives are deterministic and
self-consistent (image ID = sha256 of the config, diff_ids = sha256 of the layer tars).
"""

import hashlib
import json
import os
import subprocess
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "tests", "images", "build-images.sh")


def build(outdir):
    out = subprocess.run([SCRIPT, outdir], capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    ids = {}
    for line in out.stdout.splitlines():
        path, image_id, tag = line.split()
        ids[tag] = (path, image_id)
    return ids


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_images_are_deterministic_and_consistent(tmp_path):
    first = build(str(tmp_path / "a"))
    second = build(str(tmp_path / "b"))
    assert set(first) == {"sockerless-test/busybox:latest", "sockerless-test/app:latest"}
    for tag, (path, image_id) in first.items():
        other = second[tag][0]
        with open(path, "rb") as f1, open(other, "rb") as f2:
            assert f1.read() == f2.read(), f"{tag}: archives differ between two builds"
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
            assert manifest[0]["RepoTags"] == [tag]
            config_bytes = tar.extractfile(manifest[0]["Config"]).read()
            assert sha256(config_bytes) == image_id
            config = json.loads(config_bytes)
            diff_ids = [sha256(tar.extractfile(layer).read()) for layer in manifest[0]["Layers"]]
            assert config["rootfs"]["diff_ids"] == diff_ids
            assert config["os"] == "linux"
    rootfs = tmp_path / "a" / "busybox-rootfs.tar"
    with tarfile.open(rootfs) as tar:
        names = set(tar.getnames())
        assert {"bin/busybox", "bin/sh", "etc/passwd"} <= {n.lstrip("./") for n in names}
