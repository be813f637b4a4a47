"""docker cp and docker export of real containers: owners, modes and names kept as dockerd keeps
them, and archives streamed rather than held in memory.

The tests run against the sockerlessd started with `--driver process` (conftest's `proc_*`
fixtures), or against the daemon named by SOCKERLESS_E2E_DOCKER_HOST (a real dockerd: every test
not marked `sockerless_only` passes there too). Host files are given owners with chown, so the
suite runs as root, as the daemons do.

Where sockerless differs on purpose: `docker cp -a` into a container whose Config.User is a
numeric "uid:gid" chowns the copy to that user; dockerd 20.10 looks the user up with getent on
the host and fails ("getent unable to find entry"). That test is `sockerless_only`.

Optional cross-check: with SOCKERLESS_E2E_ORACLE_HOST set (a real dockerd), the container
exported by sockerlessd is also imported and run there.
"""

import io
import os
import subprocess
import tarfile

import pytest

from conftest import DOCKER_CLI, external_host, make_cli
from e2e_helpers import ok, wait_until
from images_fixture import BUSYBOX, proc_images, proc_names, unique  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("proc_images")
sockerless_only = pytest.mark.sockerless_only

ORACLE_HOST_ENV = "SOCKERLESS_E2E_ORACLE_HOST"
BIG_MB = 300


# --- helpers (as in test_process.py) -----------------------------------------------------------


def wait_exited(dk, name, timeout=30):
    return wait_until(
        lambda: dk("inspect", "--format", "{{.State.Status}}", name).strip() == "exited",
        timeout=timeout, what=f"{name} to exit",
    )


def owner_and_mode(dk, name, *paths):
    """`uid gid octal-mode` of each path inside the container, one string per path."""
    out = dk("exec", name, "stat", "-c", "%u %g %a", *paths)
    return out.splitlines()


def host_file(path, data, uid, gid, mode):
    path.write_bytes(data)
    os.chown(path, uid, gid)
    os.chmod(path, mode)  # after chown, which clears setuid and setgid
    return path


def cp_out(proc_cli, name, path):
    """The tar of `docker cp NAME:PATH -` as a TarFile (the CLI fixture decodes text)."""
    out = subprocess.run([DOCKER_CLI, "cp", f"{name}:{path}", "-"], env=proc_cli.env,
                         capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return tarfile.open(fileobj=io.BytesIO(out.stdout))


# --- docker cp into a container -----------------------------------------------------------------


def test_cp_in_keeps_the_owner_and_mode_of_each_entry(dk, start, tmp_path):
    name = start("sleep 60")
    src = tmp_path / "src"
    src.mkdir()
    host_file(src / "owned", b"x\n", 1234, 2345, 0o640)
    host_file(src / "setuid", b"#!/bin/sh\n", 0, 0, 0o4755)
    host_file(src / "setgid", b"y\n", 77, 0, 0o6711)
    os.chown(src, 5, 6)
    os.chmod(src, 0o2750)

    dk("cp", str(src / "owned"), f"{name}:/tmp/owned")
    dk("cp", str(src), f"{name}:/tmp/")
    assert owner_and_mode(dk, name, "/tmp/owned", "/tmp/src", "/tmp/src/owned",
                          "/tmp/src/setuid", "/tmp/src/setgid") == [
        "1234 2345 640", "5 6 2750", "1234 2345 640", "0 0 4755", "77 0 6711"]


def test_cp_a_without_a_user_keeps_the_owners(dk, start, tmp_path):
    name = start("sleep 60")
    f = host_file(tmp_path / "f", b"x\n", 1234, 2345, 0o644)
    dk("cp", "-a", str(f), f"{name}:/tmp/f")
    assert owner_and_mode(dk, name, "/tmp/f") == ["1234 2345 644"]


def test_cp_a_with_a_named_user_chowns_to_it(dk, start, tmp_path):
    """nobody is 65534:65534 in busybox's passwd (and on the host, where dockerd looks)."""
    name = start("sleep 60", "-u", "nobody")
    f = host_file(tmp_path / "f", b"x\n", 1234, 2345, 0o600)
    d = tmp_path / "d"
    d.mkdir()
    host_file(d / "inner", b"y\n", 0, 0, 0o644)
    dk("cp", "-a", str(f), f"{name}:/tmp/f")
    dk("cp", "-a", str(d), f"{name}:/tmp/")
    assert owner_and_mode(dk, name, "/tmp/f", "/tmp/d", "/tmp/d/inner") == [
        "65534 65534 600", "65534 65534 755", "65534 65534 644"]


@sockerless_only
def test_cp_a_with_a_numeric_user_chowns_to_it(dk, start, tmp_path):
    """dockerd 20.10 fails here (getent on the host cannot find "1000:1000"); sockerless does
    what -a means: the copy belongs to the container's user."""
    name = start("sleep 60", "-u", "1000:1000")
    f = host_file(tmp_path / "f", b"x\n", 1234, 2345, 0o644)
    dk("cp", "-a", str(f), f"{name}:/tmp/f")
    dk("cp", str(f), f"{name}:/tmp/g")  # without -a the archive's owner stays
    assert owner_and_mode(dk, name, "/tmp/f", "/tmp/g") == ["1000 1000 644", "1234 2345 644"]


def test_cp_a_with_an_unknown_user_fails(dk, proc_names, tmp_path):
    name = proc_names("cp")
    dk("create", "--name", name, "-u", "nosuchuser", BUSYBOX, "true")
    f = host_file(tmp_path / "f", b"x\n", 0, 0, 0o644)
    result = dk.run("cp", "-a", str(f), f"{name}:/tmp/f")
    assert result.returncode != 0
    assert "nosuchuser" in result.stderr, result.stderr


# --- docker cp out of a container ---------------------------------------------------------------


def test_cp_out_keeps_the_owner_of_files_a_user_made(dk, proc_cli, start):
    name = start("echo z > /tmp/mine; mkdir /tmp/md; touch /tmp/md/a; touch /tmp/nob;"
                 " sleep 60", "-u", "1000")
    wait_until(lambda: dk.run("exec", name, "test", "-e", "/tmp/nob").returncode == 0,
               timeout=10, what="the container's files")
    with cp_out(proc_cli, name, "/tmp/mine") as tar:
        (m,) = tar.getmembers()
        assert (m.name, m.uid, m.gid, m.uname, m.size) == ("mine", 1000, 0, "", 2)
        assert m.gname == "root"  # the container's /etc/group names gid 0
    with cp_out(proc_cli, name, "/tmp/md") as tar:
        assert [(m.name, m.uid, m.isdir()) for m in tar.getmembers()] == [
            ("md", 1000, True), ("md/a", 1000, False)]
    dk("exec", "-u", "0", name, "chown", "65534:65534", "/tmp/nob")
    with cp_out(proc_cli, name, "/tmp/nob") as tar:
        (m,) = tar.getmembers()
        # names from the container's passwd and group, not the host's
        assert (m.uid, m.gid, m.uname, m.gname) == (65534, 65534, "nobody", "nogroup")


def test_cp_out_names_and_order(dk, proc_cli, start):
    name = start("mkdir -p /w/b /w/a-b; echo 1 > /w/b/x; echo 2 > /w/a-b/y; ln /w/b/x /w/hard;"
                 " sleep 60")
    wait_until(lambda: dk.run("exec", name, "test", "-e", "/w/hard").returncode == 0,
               timeout=10, what="the container's files")
    with cp_out(proc_cli, name, "/w") as tar:
        members = tar.getmembers()
        # Go's filepath.Walk order: siblings sorted bytewise, each directory's contents next
        assert [m.name for m in members] == ["w", "w/a-b", "w/a-b/y", "w/b", "w/b/x", "w/hard"]
        assert members[-1].islnk() and members[-1].linkname == "w/b/x"
    with cp_out(proc_cli, name, "/w/.") as tar:
        assert tar.getnames()[:2] == [".", "./a-b"]
    with cp_out(proc_cli, name, "/etc/../w/b/") as tar:
        assert tar.getnames() == ["b", "b/x"]


# --- docker export ------------------------------------------------------------------------------


def test_export_is_the_root_without_mounts(dk, start, tmp_path):
    name = start("echo v > /vol/x; mkdir /made; echo y > /made/y; sleep 60", "-v", "/vol")
    wait_until(lambda: dk.run("exec", name, "test", "-e", "/made/y").returncode == 0,
               timeout=10, what="the container's files")
    dk("export", "-o", str(tmp_path / "fs.tar"), name)
    with tarfile.open(tmp_path / "fs.tar") as tar:
        members = {m.name: m for m in tar.getmembers()}
    # names relative to the root, no entry for the root itself
    assert not any(n in (".", "./", "/", "") or n.startswith(("./", "/")) for n in members)
    # the init layer's files, empty (the runtime's bind mounts are not part of it)
    for init_file in (".dockerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf"):
        assert members[init_file].isfile() and members[init_file].size == 0, init_file
    assert members["etc/mtab"].issym() and members["etc/mtab"].linkname == "/proc/mounts"
    # a volume's mount point is there, not its contents
    assert members["vol"].isdir() and "vol/x" not in members
    assert members["made/y"].size == 2 and members["bin/busybox"].isfile()


def test_export_can_be_imported_and_run(dk, proc_cli, start, tmp_path):
    name = start("echo exported > /created.txt")
    wait_exited(dk, name)
    archive = tmp_path / "fs.tar"
    dk("export", "-o", str(archive), name)
    tag = unique("sockerless-e2e/imported") + ":v1"
    try:
        dk("import", str(archive), tag, timeout=60)
        assert dk("run", "--rm", tag, "cat", "/created.txt") == "exported\n"
    finally:
        dk.run("rmi", "-f", tag)
    oracle = os.environ.get(ORACLE_HOST_ENV)
    if oracle and external_host() is None:
        oracle_cli = make_cli(oracle, tmp_path / "oracle-config")
        try:
            ok(oracle_cli("import", str(archive), tag, timeout=60))
            assert ok(oracle_cli("run", "--rm", tag, "cat", "/created.txt")) == "exported\n"
        finally:
            oracle_cli("rmi", "-f", tag)


@pytest.fixture(scope="module")
def big_container(proc_cli, proc_images):  # noqa: F811 (fixture)
    """An exited container whose root holds a /big file of BIG_MB MiB."""
    name = unique("cp-big")
    ok(proc_cli("run", "--name", name, BUSYBOX, "dd", "if=/dev/zero", "of=/big", "bs=1M",
                f"count={BIG_MB}", timeout=120))
    yield name
    proc_cli("rm", "-f", name, timeout=60)


def export_and_check_big(proc_cli, name, path):
    ok(proc_cli("export", "-o", str(path), name, timeout=120))
    with tarfile.open(path) as tar:
        big = tar.getmember("big")
        assert big.isfile() and big.size == BIG_MB << 20


def test_export_of_a_container_larger_than_memory_caps(proc_cli, big_container, tmp_path):
    export_and_check_big(proc_cli, big_container, tmp_path / "big.tar")


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


@sockerless_only
def test_export_and_cp_stream_without_holding_the_archive(proc_cli, proc_daemon, big_container,
                                                          tmp_path):
    """The archive is streamed (export through a temporary file, cp while it is made): the
    daemon's peak RSS stays far below the archive's size."""
    pid = proc_daemon.proc.pid
    before = vm_hwm_kib(pid)
    export_and_check_big(proc_cli, big_container, tmp_path / "big.tar")
    (tmp_path / "big.tar").unlink()
    out = subprocess.run([DOCKER_CLI, "cp", f"{big_container}:/big", str(tmp_path / "big")],
                         env=proc_cli.env, capture_output=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "big").stat().st_size == BIG_MB << 20
    grown = vm_hwm_kib(pid) - before
    assert grown < 64 * 1024, f"peak RSS grew by {grown} KiB for a {BIG_MB} MiB archive"
    # and nothing is left behind in the data root's tmp/
    tmp_dir = os.path.join(proc_daemon.data_root, "tmp")
    assert not os.path.isdir(tmp_dir) or os.listdir(tmp_dir) == []
