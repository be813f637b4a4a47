"""Exec, copying files in and out (docker cp and the archive endpoints), top, stats, prune and
/system/df.

Runs against sockerlessd or, with SOCKERLESS_E2E_DOCKER_HOST, against a real dockerd; the
expected statuses and messages are dockerd's (20.10, API 1.41). Sockerless's synthetic driver
runs nothing: exec writes its command line to stdout and exits 0 (also in an exited container,
which dockerd refuses); the container filesystem is an empty staging directory. The copy tests
therefore first make sure /tmp exists (an archive upload of the directory), which is harmless on
a busybox container of dockerd.
"""

import base64
import io
import json
import os
import subprocess
import tarfile
import time
from urllib.parse import quote

import pytest

from conftest import DOCKER_CLI
from images_fixture import (  # noqa: F401 (fixtures)
    BUSYBOX,
    api,
    loaded_images,
    names,
    unique,
    variant_image,
)
from test_containers import frames, printed, while_running  # noqa: F401 (fixture)

sockerless_only = pytest.mark.sockerless_only
pytestmark = pytest.mark.usefixtures("loaded_images")


def filters(**f):
    return quote(json.dumps(f))


@pytest.fixture
def running(api, names):
    """A started container (`sleep 30`; OpenStdin). It keeps running on dockerd; on sockerless it
    exits soon, which exec does not mind."""
    cid = api.create(names("exec"), Image=BUSYBOX, Cmd=["sleep", "30"], OpenStdin=True)
    api.start(cid)
    return cid


def exec_create(api, cid, **config):
    status, body = api.post(f"/containers/{cid}/exec", config)
    assert status == 201, (status, body)
    return body["Id"]


def tar_of(entries):
    """A tar archive of (name, data or None for a directory, mode) entries."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, 1704067200
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def put_archive(raw, api, ref, path, data):
    status, _, body = raw.request(
        "PUT", f"/v{api.version}/containers/{ref}/archive?path={quote(path)}", body=data,
        headers={"Content-Type": "application/x-tar"},
    )
    return status, body


@pytest.fixture
def with_tmp(api, raw, names):
    """A created busybox container whose /tmp exists; returns its name."""
    name = names("cp")
    api.create(name, Image=BUSYBOX, Cmd=["sleep", "30"])
    status, body = put_archive(raw, api, name, "/", tar_of([("tmp", None, 0o1777)]))
    assert status == 200, body
    return name


# --- exec ---------------------------------------------------------------------------------------


def test_exec_create_answers_201_with_id(api, running):
    status, body = api.post(f"/containers/{running}/exec", {"Cmd": ["echo", "hi"]})
    assert status == 201
    assert set(body) == {"Id"}
    assert len(body["Id"]) == 64


@pytest.mark.parametrize("config", [{}, {"Cmd": []}])
def test_exec_without_command_is_400(api, running, config):
    status, body = api.post(f"/containers/{running}/exec", config)
    assert status == 400
    assert body["message"] == "No exec command specified"


@pytest.mark.parametrize("method, suffix", [("GET", "/json"), ("POST", "/start")])
def test_unknown_exec_is_404(api, method, suffix):
    body = {} if method == "POST" else None
    status, answer = api.call(method, f"/exec/sockerless-e2e-noexec{suffix}", body)
    assert status == 404
    assert answer["message"] == "No such exec instance: sockerless-e2e-noexec"


def test_exec_in_unknown_container_is_404(api):
    status, body = api.post("/containers/sockerless-e2e-noc/exec", {"Cmd": ["true"]})
    assert status == 404
    assert body["message"] == "No such container: sockerless-e2e-noc"


def test_exec_inspect_before_and_after_start(api, running):
    cmd = ["sh", "-c", "echo hi"]
    eid = exec_create(api, running, Cmd=cmd, AttachStdout=True, AttachStderr=True)
    status, before = api.get(f"/exec/{eid}/json")
    assert status == 200
    assert before["ID"] == eid
    assert before["ContainerID"] == running
    assert before["Running"] is False
    assert before["ExitCode"] is None
    assert before["ProcessConfig"] == {
        "tty": False, "entrypoint": "sh", "arguments": ["-c", "echo hi"], "privileged": False,
    }
    assert before["OpenStdout"] is True
    assert before["OpenStderr"] is True
    assert before["OpenStdin"] is False
    assert before["CanRemove"] is False
    assert before["Pid"] == 0

    status, _, _ = api.raw.request(
        "POST", f"/v{api.version}/exec/{eid}/start", body="{}",
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    status, after = api.get(f"/exec/{eid}/json")
    assert status == 200
    assert after["Running"] is False
    assert after["ExitCode"] == 0
    assert after["ProcessConfig"] == before["ProcessConfig"]


def api_at_least(version, wanted):
    return tuple(map(int, version.split("."))) >= tuple(map(int, wanted.split(".")))


@pytest.mark.parametrize("version", ["current", "1.41"])
def test_raw_exec_start_without_upgrade_streams_multiplexed(api, running, target_is_sockerless,
                                                            version):
    """Testcontainers starts execs without Upgrade headers: a 200 with the multiplexed stream,
    typed application/vnd.docker.raw-stream before API 1.42 and
    application/vnd.docker.multiplexed-stream from 1.42."""
    version = api.version if version == "current" else version
    cmd = ["echo", "hi"]
    eid = exec_create(api, running, Cmd=cmd, AttachStdout=True, AttachStderr=True)
    status, headers, data = api.raw.request(
        "POST", f"/v{version}/exec/{eid}/start", body='{"Detach":false,"Tty":false}',
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    kind = "multiplexed-stream" if api_at_least(version, "1.42") else "raw-stream"
    assert headers["Content-Type"] == f"application/vnd.docker.{kind}"
    out = b"".join(payload for stream, payload in frames(data) if stream == 1)
    assert out.decode().splitlines() == printed(target_is_sockerless, cmd, ["hi"])


def test_exec_start_detached_answers_200_at_once(api, running):
    eid = exec_create(api, running, Cmd=["sleep", "1"])
    begin = time.monotonic()
    status, headers, data = api.raw.request(
        "POST", f"/v{api.version}/exec/{eid}/start", body='{"Detach":true}',
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    assert data == b""
    assert time.monotonic() - begin < 0.9


def started_exec(api, running):
    """An exec that has run to its end."""
    eid = exec_create(api, running, Cmd=["true"], AttachStdout=True)
    status, _, _ = api.raw.request(
        "POST", f"/v{api.version}/exec/{eid}/start", body="{}",
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    return eid


def test_exec_start_twice_detached_is_409(api, running):
    eid = started_exec(api, running)
    status, body = api.post(f"/exec/{eid}/start", {"Detach": True})
    assert status == 409
    assert body["message"] == f"Error: Exec command {eid} has already run"


def test_exec_start_twice_attached_writes_the_error_to_the_stream(api, running):
    """dockerd has already answered 200 when it finds out, and writes the error to stdout."""
    eid = started_exec(api, running)
    status, _, data = api.raw.request(
        "POST", f"/v{api.version}/exec/{eid}/start", body="{}",
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    assert frames(data) == [(1, f"Error: Exec command {eid} has already run\r\n".encode())]


def test_exec_in_a_stopped_container_is_409(api, names, target_is_sockerless):
    if target_is_sockerless:
        pytest.skip("sockerless allows exec in an exited container (test_exec_in_an_exited_...)")
    cid = api.run_to_exit(names(), Image=BUSYBOX, Cmd=["true"])
    status, body = api.post(f"/containers/{cid}/exec", {"Cmd": ["true"]})
    assert status == 409
    assert body["message"] == f"Container {cid} is not running"


@sockerless_only
def test_exec_in_an_exited_container_runs(api, names):
    cid = api.run_to_exit(names(), Image=BUSYBOX, Cmd=["true"])
    eid = exec_create(api, cid, Cmd=["echo", "hi"], AttachStdout=True)
    status, _, data = api.raw.request(
        "POST", f"/v{api.version}/exec/{eid}/start", body="{}",
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    assert frames(data) == [(1, b"echo hi\n")]
    assert api.get(f"/exec/{eid}/json")[1]["ExitCode"] == 0


def test_cli_exec_output_and_env(cli, api, names, target_is_sockerless):
    name = names("exec")
    result = cli("run", "-d", "--name", name, "-e", "CENV=c1", BUSYBOX, "sleep", "30")
    assert result.returncode == 0, result.stderr
    cmd = ["sh", "-c", "echo $FOO $CENV"]
    result = cli("exec", "-e", "FOO=bar", name, *cmd)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == printed(target_is_sockerless, cmd, ["bar c1"])


# --- cp and the archive endpoints ---------------------------------------------------------------


def path_stat(headers):
    return json.loads(base64.b64decode(headers["X-Docker-Container-Path-Stat"]))


def test_cp_round_trip_of_a_directory_and_a_file(cli, with_tmp, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("hello\n")
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)
    single = tmp_path / "single.txt"
    single.write_text("single file\n")

    assert cli("cp", str(src), f"{with_tmp}:/tmp/").returncode == 0
    result = cli("cp", str(single), f"{with_tmp}:/tmp/copied.txt")
    assert result.returncode == 0, result.stderr

    out = tmp_path / "out"
    out.mkdir()
    result = cli("cp", f"{with_tmp}:/tmp/src", str(out))
    assert result.returncode == 0, result.stderr
    result = cli("cp", f"{with_tmp}:/tmp/copied.txt", str(out / "back.txt"))
    assert result.returncode == 0, result.stderr

    assert (out / "src" / "a.txt").read_text() == "hello\n"
    assert (out / "src" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 10
    assert sorted(os.listdir(out / "src")) == ["a.txt", "sub"]
    assert (out / "back.txt").read_text() == "single file\n"


def test_archive_head_gives_the_path_stat(api, raw, with_tmp):
    data = tar_of([("d", None, 0o755), ("d/f.txt", b"12345", 0o640)])
    status, body = put_archive(raw, api, with_tmp, "/tmp", data)
    assert status == 200, body

    status, headers, _ = raw.request(
        "HEAD", f"/v{api.version}/containers/{with_tmp}/archive?path=/tmp/d/f.txt")
    assert status == 200
    st = path_stat(headers)
    assert set(st) == {"name", "size", "mode", "mtime", "linkTarget"}
    assert st["name"] == "f.txt"
    assert st["size"] == 5
    assert st["mode"] == 0o640
    assert st["linkTarget"] == ""
    assert st["mtime"].startswith("2024-01-01T00:00:00")

    status, headers, _ = raw.request(
        "HEAD", f"/v{api.version}/containers/{with_tmp}/archive?path=/tmp/d")
    assert status == 200
    st = path_stat(headers)
    assert st["name"] == "d"
    assert st["mode"] & (1 << 31)
    assert st["mode"] & 0o777 == 0o755

    # GET gives the same header and a tar of the path.
    status, headers, body = raw.request(
        "GET", f"/v{api.version}/containers/{with_tmp}/archive?path=/tmp/d")
    assert status == 200
    assert path_stat(headers)["name"] == "d"
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {"d", "d/f.txt"}
        assert tar.extractfile("d/f.txt").read() == b"12345"


@pytest.mark.parametrize("copy_uid", [False, True])
def test_archive_keeps_owners_and_modes_both_ways(api, raw, with_tmp, copy_uid):
    """dockerd keeps each entry's uid/gid and its setuid/setgid bits; copyUIDGID (docker cp -a)
    changes nothing for a container without Config.User. Downloads carry the owners back."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, kind, mode, uid, gid in (("o", tarfile.DIRTYPE, 0o2750, 5, 6),
                                           ("o/f", tarfile.REGTYPE, 0o640, 1234, 2345),
                                           ("o/su", tarfile.REGTYPE, 0o4755, 0, 0),
                                           ("o/l", tarfile.SYMTYPE, 0o777, 1234, 2345)):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = kind, mode, uid, gid
            info.mtime = 1704067200
            if kind == tarfile.SYMTYPE:
                info.linkname = "f"
            data = b"x" if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    status, _, body = raw.request(
        "PUT", f"/v{api.version}/containers/{with_tmp}/archive?path=/tmp"
        f"&copyUIDGID={'1' if copy_uid else '0'}", body=buf.getvalue(),
        headers={"Content-Type": "application/x-tar"})
    assert status == 200, body

    status, _, body = raw.request(
        "GET", f"/v{api.version}/containers/{with_tmp}/archive?path=/tmp/o")
    assert status == 200, body
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        got = [(m.name, m.uid, m.gid, m.mode & 0o7777) for m in tar.getmembers()]
    # bytewise order, as dockerd's filepath.Walk
    assert got == [("o", 5, 6, 0o2750), ("o/f", 1234, 2345, 0o640),
                   ("o/l", 1234, 2345, 0o777), ("o/su", 0, 0, 0o4755)]


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_archive_of_an_unknown_path_is_404(api, raw, with_tmp, method):
    status, _, body = raw.request(
        method, f"/v{api.version}/containers/{with_tmp}/archive?path=/nope")
    assert status == 404
    if method == "GET":
        assert json.loads(body)["message"] == (
            f"Could not find the file /nope in container {with_tmp}")


def test_archive_upload_to_a_missing_directory_is_404(api, raw, with_tmp):
    status, body = put_archive(raw, api, with_tmp, "/nope/x", tar_of([("f", b"x", 0o644)]))
    assert status == 404
    assert json.loads(body)["message"] == f"Could not find the file /nope/x in container {with_tmp}"


@pytest.fixture
def cp_listing(docker_host):
    """The member names of `docker cp NAME:/ -` (the `cli` fixture decodes text; a tar is bytes)."""

    def listing(name):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_HOST"] = docker_host
        out = subprocess.run([DOCKER_CLI, "cp", f"{name}:/", "-"], env=env, capture_output=True,
                             timeout=60, stdin=subprocess.DEVNULL)
        assert out.returncode == 0, out.stderr
        with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
            return [n[2:] if n.startswith("./") else n.lstrip("/") for n in tar.getnames()]

    return listing


def test_archive_upload_cannot_escape(api, raw, with_tmp, cp_listing):
    """dockerd refuses the archive; sockerless too (400). Only the outcome is compared: nothing
    lands outside the target directory, and the daemon still answers."""
    data = tar_of([("../escape", b"x", 0o644), ("../../../escape2", b"y", 0o644)])
    status, _ = put_archive(raw, api, with_tmp, "/tmp", data)
    assert status >= 400
    assert raw.ping()
    names_ = cp_listing(with_tmp)
    assert not any(n.split("/")[-1] in ("escape", "escape2") for n in names_), names_
    assert not os.path.exists("/tmp/escape2")


# --- top, stats, prune, df ----------------------------------------------------------------------


def test_top_of_a_running_container(api, while_running):
    _, (status, body) = while_running(lambda cid: api.get(f"/containers/{cid}/top"))
    assert status == 200
    assert {"PID", "CMD"} <= set(body["Titles"])
    cmd = body["Titles"].index("CMD")
    assert "sleep 30" in [row[cmd] for row in body["Processes"]]
    assert all(len(row) == len(body["Titles"]) for row in body["Processes"])


def test_top_of_a_stopped_container_is_409(api, names):
    name = names()
    cid = api.run_to_exit(name, Image=BUSYBOX, Cmd=["true"])
    status, body = api.get(f"/containers/{name}/top")
    assert status == 409
    assert body["message"] == f"Container {cid} is not running"


def test_stats_no_stream_shape(api, while_running):
    _, (status, body) = while_running(
        lambda cid: api.get(f"/containers/{cid}/stats?stream=false"))
    assert status == 200
    assert {"read", "preread", "cpu_stats", "precpu_stats", "memory_stats", "pids_stats",
            "blkio_stats", "name", "id"} <= set(body)


def test_container_prune(api, names):
    label = unique("prune")
    created = api.create(names(), Image=BUSYBOX, Labels={"e2e": label})
    exited = api.run_to_exit(names(), Image=BUSYBOX, Cmd=["true"], Labels={"e2e": label})
    other = api.create(names(), Image=BUSYBOX, Labels={"e2e": label + "-other"})
    status, body = api.post("/containers/prune?filters=" + filters(label=[f"e2e={label}"]))
    assert status == 200
    assert sorted(body["ContainersDeleted"]) == sorted([created, exited])
    assert isinstance(body["SpaceReclaimed"], int)
    assert api.get(f"/containers/{created}/json")[0] == 404
    assert api.get(f"/containers/{exited}/json")[0] == 404
    assert api.get(f"/containers/{other}/json")[0] == 200


def test_image_prune_all_removes_an_unused_tagged_image(api, variant_image):
    tag, image_id, _ = variant_image()
    archive_name = tag.split("/")[1].replace(":", "-") + ".tar"
    status, body = api.post("/images/prune?filters=" + filters(
        dangling=["false"], label=[f"org.sockerless.e2e.variant={archive_name}"]))
    assert status == 200
    assert {"Untagged": tag} in body["ImagesDeleted"]
    assert {"Deleted": image_id} in body["ImagesDeleted"]
    assert isinstance(body["SpaceReclaimed"], int)
    assert api.get(f"/images/{image_id}/json")[0] == 404
    assert api.get(f"/images/{BUSYBOX}/json")[0] == 200


def test_system_df_keys(api):
    status, body = api.get("/system/df")
    assert status == 200
    assert {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"} <= set(body)
    assert isinstance(body["Images"], list)
    assert any(BUSYBOX in (i.get("RepoTags") or []) for i in body["Images"])
