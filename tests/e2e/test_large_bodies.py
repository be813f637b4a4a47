"""Request bodies larger than the buffered-JSON cap (16 MiB in sockerless): docker cp in and
out, and docker import, stream through the daemon on both sockerless and dockerd."""

import os
import subprocess
import tempfile

from images_fixture import loaded_images, names  # noqa: F401 (fixtures)

BUSYBOX = "sockerless-test/busybox"
SIZE = 24 * 1024 * 1024


def test_cp_of_a_24_mib_file_round_trips(cli, names, loaded_images):  # noqa: F811
    name = names()
    assert cli("create", "--name", name, BUSYBOX, "true").returncode == 0
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "big.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(SIZE))
        put = cli("cp", src, f"{name}:/")
        assert put.returncode == 0, put.stderr
        out = os.path.join(tmp, "back.bin")
        get = cli("cp", f"{name}:/big.bin", out)
        assert get.returncode == 0, get.stderr
        with open(src, "rb") as a, open(out, "rb") as b:
            assert a.read() == b.read()


def test_import_of_a_24_mib_rootfs(cli, docker_host):
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        with open(os.path.join(root, "blob"), "wb") as f:
            f.write(os.urandom(SIZE))
        tar = os.path.join(tmp, "rootfs.tar")
        subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True)
        tag = "sockerless-e2e/large-import:1"
        out = cli("import", tar, tag)
        try:
            assert out.returncode == 0, out.stderr
            size = cli("image", "inspect", "--format", "{{.Size}}", tag)
            assert size.returncode == 0
            assert int(size.stdout.strip()) >= SIZE
        finally:
            cli("rmi", "-f", tag)
