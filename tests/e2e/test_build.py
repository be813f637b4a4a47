"""docker build with the classic builder (POST /build): the docker CLI with DOCKER_BUILDKIT=0 and
docker-py, against the daemon running real containers (conftest's `proc_*` fixtures), or the
daemon named by SOCKERLESS_E2E_DOCKER_HOST (a real dockerd: every test not marked
`sockerless_only` must pass there first). Each test checks the real result: the built image is
run, inspected, or its history read.

dockerd prints "Running in"/"Removing intermediate container" for every step and sockerless only
for RUN; dockerd takes steps from its cache where sockerless has none. So every build here runs
with --no-cache, and the tests check what clients rely on (step lines, RUN output, the error
text, the exit code, "Successfully built/tagged", the aux ID), not the cosmetic lines.
"""

import io
import json
import re
import socket
import subprocess
import tarfile
import time
from urllib.parse import urlparse

import docker
import pytest

from conftest import make_cli
from e2e_helpers import ok, wait_until
from images_fixture import APP, BUSYBOX, proc_images, unique  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("proc_images")

NOOP_PREFIX = "/bin/sh -c #(nop) "
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- helpers ------------------------------------------------------------------------------------


def write_context(root, files):
    """Writes {relative path: text or bytes} under root; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data)
        else:
            path.write_bytes(data)
    return root


def tar_of(files):
    """An uncompressed tar of {name: bytes} (regular files, mode 0644)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1704067200
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def running_in(output):
    """The intermediate container IDs named by "Running in <id>" lines."""
    return re.findall(r"Running in ([0-9a-f]{12})", output)


def built_id(output):
    m = re.search(r"^Successfully built ([0-9a-f]{12})$", output, re.M)
    assert m, output
    return m.group(1)


@pytest.fixture(scope="module")
def bcli(proc_host, tmp_path_factory):
    """The docker CLI against the daemon under test, with the classic builder."""
    run = make_cli(proc_host, tmp_path_factory.mktemp("docker-config-build"))
    run.env["DOCKER_BUILDKIT"] = "0"
    return run


@pytest.fixture
def cleanup(bcli):
    """Records images (tags or IDs) and containers to remove after the test."""
    images, containers = [], []
    yield images, containers
    if containers:
        bcli("rm", "-f", "-v", *containers)
    for ref in reversed(images):
        bcli("rmi", "-f", ref)


@pytest.fixture
def build(bcli, tmp_path, cleanup):
    """build(files, *options, tag=True, input=None) writes the context, runs `docker build
    --no-cache` there with a fresh tag (returned as result.tag) unless tag is False, and returns
    the CompletedProcess (stdout without color escapes); the tag is removed afterwards. "{ctx}"
    in an option is the context's path."""
    images, _ = cleanup
    counter = [0]

    def run(files, *options, tag=True, input=None, timeout=120):
        counter[0] += 1
        ctx = write_context(tmp_path / f"ctx{counter[0]}", files)
        args = ["build", "--no-cache", *(o.replace("{ctx}", str(ctx)) for o in options)]
        name = None
        if tag:
            name = unique("sockerless-e2e/build") + ":latest"
            args += ["-t", name]
            images.append(name)
        result = bcli(*args, str(ctx), input=input, timeout=timeout)
        # RUN's stderr comes in red (ESC[91m ... ESC[0m), its order against stdout not kept
        result.stdout = ANSI.sub("", result.stdout)
        result.tag = name
        return result

    return run


@pytest.fixture
def dk(bcli):
    return lambda *args, timeout=60, input=None: ok(bcli(*args, timeout=timeout, input=input))


def inspect_image(dk, ref):
    return json.loads(dk("image", "inspect", ref))[0]


def container_exists(bcli, cid):
    out = ok(bcli("ps", "-a", "-q", "--no-trunc", "--filter", f"id={cid}"))
    return out.strip() != ""


# --- RUN, ENV, ARG ------------------------------------------------------------------------------


def test_run_output_env_arg_and_build_args(build, dk):
    result = build(
        {
            "Dockerfile": (
                f"FROM {BUSYBOX}\n"
                "ARG FOO=default\n"
                "ENV BAR=bar-$FOO\n"
                'RUN echo "run: $FOO $BAR" && echo to-stderr >&2\n'
                "RUN [\"/bin/echo\", \"exec form\", \"$FOO\"]\n"
            )
        },
        "--build-arg", "FOO=given", "--build-arg", "UNUSED=1",
    )
    out = ok(result)
    lines = out.splitlines()
    assert "Step 1/5 : FROM " + BUSYBOX in lines
    assert "Step 4/5 : RUN echo \"run: $FOO $BAR\" && echo to-stderr >&2" in lines
    assert "run: given bar-given" in lines
    assert "to-stderr" in out
    # exec form: no shell, so no expansion of $FOO
    assert "exec form $FOO" in lines
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in lines
    image_id = built_id(out)
    assert f"Successfully tagged {result.tag}" in lines
    assert inspect_image(dk, result.tag)["Id"].split(":")[1].startswith(image_id)
    # ENV stays in the image, the ARG does not
    assert dk("run", "--rm", result.tag, "sh", "-c", 'echo "$BAR ${FOO:-unset}"') == (
        "bar-given unset\n")


def test_arg_default_and_global_arg_in_from(build, dk):
    result = build({
        "Dockerfile": (
            "ARG BASE=" + BUSYBOX + "\n"
            "FROM $BASE\n"
            "ARG BASE\n"
            "ARG WHO=default\n"
            "RUN echo \"base=$BASE who=$WHO\" > /args\n"
            "CMD [\"cat\", \"/args\"]\n"
        )
    })
    ok(result)
    assert dk("run", "--rm", result.tag) == f"base={BUSYBOX} who=default\n"


def test_env_words_see_the_environment_before_the_instruction(build, dk):
    result = build({
        "Dockerfile": f"FROM {BUSYBOX}\nENV A=1\nENV A=2 B=$A\nCMD [\"sh\", \"-c\", \"echo $A $B\"]\n"
    })
    ok(result)
    assert dk("run", "--rm", result.tag) == "2 1\n"


def test_run_failure_message_exit_code_and_kept_container(build, bcli, cleanup):
    _, containers = cleanup
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nRUN echo before && false\n"}, tag=False)
    assert result.returncode == 1, result
    assert "The command '/bin/sh -c echo before && false' returned a non-zero code: 1" in (
        result.stderr)
    assert "before" in result.stdout.splitlines()
    # the failed step's container stays (rm removes only after success)
    ids = running_in(result.stdout)
    assert len(ids) == 1, result.stdout
    containers.extend(ids)
    assert container_exists(bcli, ids[0])
    state = json.loads(ok(bcli("inspect", ids[0])))[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 1


def test_run_failure_exit_code_is_the_commands(build):
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nRUN exit 3\n"}, "--force-rm", tag=False)
    assert result.returncode == 3, result
    assert "The command '/bin/sh -c exit 3' returned a non-zero code: 3" in result.stderr


def test_force_rm_removes_the_failed_container(build, bcli):
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nRUN false\n"}, "--force-rm", tag=False)
    assert result.returncode == 1, result
    ids = running_in(result.stdout)
    assert len(ids) == 1, result.stdout
    assert not container_exists(bcli, ids[0])


def test_intermediate_containers_are_removed(build, bcli):
    result = build({
        "Dockerfile": f"FROM {BUSYBOX}\nRUN echo one > /1\nENV X=1\nRUN echo two > /2\n"
    })
    out = ok(result)
    ids = running_in(out)
    assert len(ids) >= 2, out
    for cid in ids:
        assert f"Removing intermediate container {cid}" in out
        assert not container_exists(bcli, cid)


def test_steps_with_identical_layers_still_run(build, proc_client):
    """Two RUNs that change nothing make two identical (empty) layers, as dockerd's do; a
    container of the image must still start (one directory twice in an overlay stack fails)."""
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nRUN true\nRUN true\nCOPY a /a\nCOPY a /a\n",
                    "a": "a\n"})
    ok(result)
    container = proc_client.containers.create(result.tag, ["cat", "/a"])
    try:
        container.start()
        assert container.wait(timeout=30)["StatusCode"] == 0
        assert container.logs() == b"a\n"
    finally:
        container.remove(force=True)


def test_shell_instruction_changes_run_and_cmd(build, dk):
    result = build({
        "Dockerfile": (
            f"FROM {BUSYBOX}\n"
            'SHELL ["/bin/sh", "-xc"]\n'
            "RUN echo traced-by-xtrace\n"
            "CMD echo shell-form-cmd\n"
        )
    })
    out = ok(result)
    assert "+ echo traced-by-xtrace" in out  # xtrace, on the RUN's stderr
    config = inspect_image(dk, result.tag)["Config"]
    assert config["Shell"] == ["/bin/sh", "-xc"]
    assert config["Cmd"] == ["/bin/sh", "-xc", "echo shell-form-cmd"]


@pytest.mark.sockerless_only  # dockerd 20.10's classic builder has no here-documents
def test_heredoc_run(build, dk):
    result = build({
        "Dockerfile": (
            f"FROM {BUSYBOX}\n"
            "ARG NAME=world\n"
            "RUN <<EOF\n"
            'echo "hello $NAME"\n'
            "echo body > /heredoc.txt\n"
            "EOF\n"
            "RUN cat <<EOF > /file.txt\n"
            "content $NAME\n"
            "EOF\n"
            "COPY <<EOF <<'RAW' /docs/\n"
            "expanded $NAME\n"
            "EOF\n"
            "kept $NAME\n"
            "RAW\n"
            'CMD ["cat", "/heredoc.txt", "/file.txt", "/docs/EOF", "/docs/RAW"]\n'
        )
    })
    out = ok(result)
    assert "hello world" in out.splitlines()
    assert dk("run", "--rm", result.tag) == (
        "body\ncontent world\nexpanded world\nkept $NAME\n")


def test_run_output_is_streamed_while_the_step_runs(proc_client):
    body = tar_of({
        "Dockerfile": f"FROM {BUSYBOX}\nRUN echo first; sleep 2; echo second\n".encode()
    })
    seen = {}
    stream = proc_client.api.build(fileobj=io.BytesIO(body), custom_context=True, decode=True,
                                   nocache=True, rm=True, forcerm=True)
    image_id = None
    for msg in stream:
        text = msg.get("stream", "")
        for word in ("first", "second"):
            if text.strip() == word:
                seen[word] = time.monotonic()
        if "aux" in msg:
            image_id = msg["aux"]["ID"]
        assert "error" not in msg, msg
    assert set(seen) == {"first", "second"}
    assert seen["second"] - seen["first"] > 1.5  # "first" came before the step ended
    proc_client.images.remove(image_id)


def test_cancelled_build_kills_and_removes_the_run_container(proc_host, bcli):
    """A client that goes away mid-RUN (Ctrl-C): the container is killed and removed."""
    body = tar_of({"Dockerfile": f"FROM {BUSYBOX}\nRUN echo started; sleep 60\n".encode()})
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(urlparse(proc_host).path)
    sock.sendall(
        b"POST /build?nocache=1 HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    got = b""
    deadline = time.monotonic() + 30
    while b'"stream":"started' not in got:
        assert time.monotonic() < deadline, got
        data = sock.recv(4096)
        assert data, got
        got += data
    cid = re.search(rb"Running in ([0-9a-f]{12})", got).group(1).decode()
    sock.close()
    wait_until(lambda: not container_exists(bcli, cid), timeout=20,
               what=f"build container {cid} to be removed")


# --- COPY and ADD -------------------------------------------------------------------------------


def test_copy_forms(build, dk):
    result = build({
        "Dockerfile": (
            f"FROM {BUSYBOX}\n"
            "WORKDIR /app\n"
            "COPY a.txt rel.txt\n"
            "COPY dir /d/\n"
            "COPY a.txt b.txt /multi/\n"
            "COPY *.txt /wild/\n"
            "COPY --chown=1000:1001 a.txt /owned/\n"
            "COPY a.txt /renamed\n"
        ),
        "a.txt": "a\n", "b.txt": "b\n", "c.md": "c\n",
        "dir/x": "x\n", "dir/sub/y": "y\n",
    })
    ok(result)
    listing = dk("run", "--rm", result.tag, "sh", "-c",
                 "pwd; cd /; find app d multi wild owned renamed | sort;"
                 " stat -c '%u:%g %n' owned/a.txt; cat app/rel.txt d/sub/y renamed")
    assert listing.splitlines() == [
        "/app",
        "app", "app/rel.txt",
        "d", "d/sub", "d/sub/y", "d/x",  # the directory's contents, not the directory
        "multi", "multi/a.txt", "multi/b.txt",
        "owned", "owned/a.txt",
        "renamed",
        "wild", "wild/a.txt", "wild/b.txt",  # c.md does not match
        "1000:1001 owned/a.txt",
        "a", "y", "a",
    ]


@pytest.mark.sockerless_only  # dockerd 20.10: "the --chmod option requires BuildKit"
def test_copy_chmod(build, dk):
    result = build({
        "Dockerfile": f"FROM {BUSYBOX}\nCOPY --chmod=0751 a.sh /bin/\n",
        "a.sh": "#!/bin/sh\necho ran\n",
    })
    ok(result)
    assert dk("run", "--rm", result.tag, "stat", "-c", "%a", "/bin/a.sh") == "751\n"
    assert dk("run", "--rm", result.tag, "a.sh") == "ran\n"


def test_copy_missing_source(build):
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nCOPY nope.txt /x\n"}, tag=False)
    assert result.returncode == 1
    assert ("COPY failed: file not found in build context or excluded by .dockerignore: "
            "stat nope.txt: file does not exist") in result.stderr


def test_copy_wildcard_matching_nothing(build):
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nCOPY no*.txt /x/\n"}, tag=False)
    assert result.returncode == 1
    assert "COPY failed: no source files were specified" in result.stderr


def test_copy_outside_the_context(build):
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nCOPY ../secret /x\n"}, tag=False)
    assert result.returncode == 1
    assert "COPY failed: forbidden path outside the build context: ../secret ()" in result.stderr


@pytest.mark.parametrize("target", ["/etc/hostname", "../../../../../../etc/hostname"])
def test_copy_symlinks_resolve_inside_the_context(bcli, tmp_path, target):
    """A link to a host file names a path inside the context, never the host's file."""
    ctx = tmp_path / "linkctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {BUSYBOX}\nCOPY hostlink /x\n")
    (ctx / "hostlink").symlink_to(target)
    result = bcli("build", "--no-cache", str(ctx), timeout=120)
    assert result.returncode == 1, result.stdout
    assert ("COPY failed: file not found in build context or excluded by .dockerignore: "
            "stat hostlink: file does not exist") in result.stderr


def test_add_local_tar_gz_is_extracted(build, dk):
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:gz") as tar:
        for name, data in (("inner/f.txt", b"from the archive\n"), ("top.txt", b"top\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    result = build({
        "Dockerfile": f"FROM {BUSYBOX}\nADD t.tar.gz /ext/\nCOPY t.tar.gz /copied/\n",
        "t.tar.gz": payload.getvalue(),
    })
    ok(result)
    out = dk("run", "--rm", result.tag, "sh", "-c",
             "cat /ext/inner/f.txt /ext/top.txt; ls /copied")
    assert out == "from the archive\ntop\nt.tar.gz\n"


def test_add_url_fails_and_names_the_url(build):
    url = "http://127.0.0.1:9/file.txt"  # nothing listens on the discard port
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nADD {url} /x\n"}, tag=False)
    assert result.returncode != 0
    assert url in result.stderr
    assert "ADD failed" in result.stderr


# --- .dockerignore ------------------------------------------------------------------------------

IGNORED_TREE = {
    "top.log": "1\n",
    "a/b/deep.log": "2\n",
    "a/keep.log": "3\n",
    "keep/x.txt": "4\n",
    "sub/secret.txt": "5\n",
    "sub/public.txt": "6\n",
}
IGNORE_RULES = "**/*.log\n!a/keep.log\nsub\n!sub/public.txt\n"
KEPT = ["/ctx", "/ctx/.dockerignore", "/ctx/a", "/ctx/a/b", "/ctx/a/keep.log", "/ctx/keep",
        "/ctx/keep/x.txt", "/ctx/sub", "/ctx/sub/public.txt"]


def test_dockerignore_through_the_cli(build, dk):
    result = build({
        **IGNORED_TREE,
        ".dockerignore": IGNORE_RULES + "Dockerfile\n",
        "Dockerfile": f"FROM {BUSYBOX}\nCOPY . /ctx/\n",
    })
    ok(result)
    listing = dk("run", "--rm", result.tag, "find", "/ctx")
    assert sorted(listing.split()) == KEPT


@pytest.mark.parametrize("rules,kept", [
    # the client filters: dockerd's classic builder takes out only .dockerignore and the
    # Dockerfile, when the patterns exclude them (remotecontext's removeDockerfile)
    (IGNORE_RULES + "Dockerfile\n", [".dockerignore", *IGNORED_TREE]),
    ("*\n", list(IGNORED_TREE)),
    ("*\n!Dockerfile\n", ["Dockerfile", *IGNORED_TREE]),
])
def test_dockerignore_in_a_raw_context(proc_client, dk, rules, kept):
    """A raw tar with the excluded files in it, as a client that does not filter sends it."""
    files = {name: data.encode() for name, data in IGNORED_TREE.items()}
    files[".dockerignore"] = rules.encode()
    files["Dockerfile"] = f"FROM {BUSYBOX}\nCOPY . /ctx/\n".encode()
    tag = unique("sockerless-e2e/build") + ":latest"
    stream = proc_client.api.build(fileobj=io.BytesIO(tar_of(files)), custom_context=True,
                                   tag=tag, decode=True, nocache=True)
    try:
        messages = list(stream)
        assert not [m for m in messages if "error" in m], messages
        found = dk("run", "--rm", tag, "find", "/ctx", "-type", "f").split()
        assert sorted(found) == sorted("/ctx/" + name for name in kept)
    finally:
        proc_client.images.remove(tag, force=True)


# --- stages -------------------------------------------------------------------------------------

MULTISTAGE = (
    f"FROM {BUSYBOX} AS build\n"
    "RUN echo built > /out.txt\n"
    f"FROM {BUSYBOX} AS second\n"
    "RUN echo second > /second.txt\n"
    'CMD ["cat", "/second.txt"]\n'
    "FROM scratch\n"
    "COPY --from=0 /bin/busybox /bin/\n"
    "COPY --from=build /out.txt /\n"
    "COPY --from=1 /second.txt /\n"
    'CMD ["/bin/busybox", "cat", "/out.txt", "/second.txt"]\n'
)


def test_multistage_copy_from_name_and_index_onto_scratch(build, dk):
    result = build({"Dockerfile": MULTISTAGE})
    out = ok(result)
    assert "Step 10/10 : CMD" in out
    assert dk("run", "--rm", result.tag) == "built\nsecond\n"
    # scratch: nothing but what was copied
    image = inspect_image(dk, result.tag)
    assert len(image["RootFS"]["Layers"]) == 3
    root = dk("run", "--rm", result.tag, "/bin/busybox", "ls", "/").split()
    assert {"bin", "out.txt", "second.txt"} <= set(root) and "usr" not in root, root
    assert dk("run", "--rm", result.tag, "/bin/busybox", "ls", "/bin") == "busybox\n"


def test_target_stops_at_the_named_stage(build, dk):
    result = build({"Dockerfile": MULTISTAGE}, "--target", "second")
    out = ok(result)
    assert "Step 5/5 : CMD [\"cat\", \"/second.txt\"]" in out and "Step 6/" not in out
    assert dk("run", "--rm", result.tag) == "second\n"


def test_unknown_target(build):
    result = build({"Dockerfile": MULTISTAGE}, "--target", "nope", tag=False)
    assert result.returncode == 1
    assert "failed to reach build target nope in Dockerfile" in result.stderr


def test_copy_from_another_image(build, dk):
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nCOPY --from={APP} /app/hello.txt /\n"})
    ok(result)
    assert dk("run", "--rm", result.tag, "ls", "/hello.txt") == "/hello.txt\n"


def test_onbuild_triggers_run_in_the_child_build(build, dk):
    base = build({
        "Dockerfile": (
            f"FROM {BUSYBOX}\n"
            "ONBUILD COPY t.txt /t.txt\n"
            'ONBUILD RUN echo "trigger ran" > /trig\n'
        )
    })
    ok(base)
    assert inspect_image(dk, base.tag)["Config"]["OnBuild"] == [
        "COPY t.txt /t.txt", 'RUN echo "trigger ran" > /trig']
    child = build({
        "Dockerfile": f"FROM {base.tag}\nRUN cat /trig /t.txt\n",
        "t.txt": "trig-file\n",
    })
    out = ok(child)
    assert "# Executing 2 build triggers" in out
    assert "trigger ran\ntrig-file\n" in out
    # triggers are not inherited
    assert inspect_image(dk, child.tag)["Config"]["OnBuild"] in (None, [])


# --- metadata -----------------------------------------------------------------------------------


def test_metadata_in_the_image_config(build, dk, bcli, cleanup):
    _, containers = cleanup
    result = build(
        {
            "Dockerfile": (
                f"FROM {BUSYBOX}\n"
                "ENV X=1 Y=\"two words\"\n"
                'LABEL l1=v1 "l 2"="v 2"\n'
                "EXPOSE 80 53/udp 1000-1001\n"
                "VOLUME /data\n"
                "WORKDIR /w\n"
                "USER nobody\n"
                "STOPSIGNAL SIGUSR1\n"
                "HEALTHCHECK --interval=5s --retries=2 CMD true\n"
                'CMD ["id", "-u"]\n'
            )
        },
        "--label", "from.cli=yes",
    )
    out = ok(result)
    assert "Step 11/11 : LABEL from.cli=yes" in out  # dockerd adds a step per --label
    config = inspect_image(dk, result.tag)["Config"]
    assert config["Env"][-2:] == ["X=1", "Y=two words"]
    assert config["Labels"] == {"l1": "v1", "l 2": "v 2", "from.cli": "yes"}
    assert config["ExposedPorts"] == {
        "80/tcp": {}, "53/udp": {}, "1000/tcp": {}, "1001/tcp": {}}
    assert config["Volumes"] == {"/data": {}}
    assert config["WorkingDir"] == "/w"
    assert config["User"] == "nobody"
    assert config["StopSignal"] == "SIGUSR1"
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5000000000,
                                     "Retries": 2}
    assert config["Cmd"] == ["id", "-u"]
    assert dk("run", "--rm", result.tag) == "65534\n"
    # a container of the image gets an anonymous volume at /data
    name = unique("sockerless-e2e-build")
    containers.append(name)
    dk("create", "--name", name, result.tag)
    mounts = json.loads(dk("inspect", name))[0]["Mounts"]
    assert [(m["Type"], m["Destination"]) for m in mounts] == [("volume", "/data")]


def test_entrypoint_resets_the_base_cmd(build, dk):
    reset = build({"Dockerfile": f'FROM {APP}\nENTRYPOINT ["echo", "ep"]\n'})
    ok(reset)
    config = inspect_image(dk, reset.tag)["Config"]
    assert config["Entrypoint"] == ["echo", "ep"]
    assert config["Cmd"] is None
    assert dk("run", "--rm", reset.tag) == "ep\n"
    kept = build({"Dockerfile": f'FROM {APP}\nCMD ["mine"]\nENTRYPOINT ["echo", "ep"]\n'})
    ok(kept)
    assert dk("run", "--rm", kept.tag) == "ep mine\n"


def test_history_entries(build, dk):
    result = build(
        {
            "Dockerfile": (
                f"FROM {BUSYBOX}\n"
                "ARG V=1\n"
                "ENV E=$V\n"
                "WORKDIR /w\n"
                "COPY a.txt .\n"
                "RUN echo hi > /f\n"
                'CMD ["cat", "/f"]\n'
            ),
            "a.txt": "a\n",
        },
        "--build-arg", "V=2",
    )
    ok(result)
    history = json.loads("[" + ",".join(
        dk("history", "--no-trunc", "--format", "{{json .}}", result.tag).splitlines()) + "]")
    created_by = [h["CreatedBy"] for h in history]
    base = len(json.loads("[" + ",".join(
        dk("history", "--format", "{{json .}}", BUSYBOX).splitlines()) + "]"))
    assert len(created_by) == base + 6, created_by
    assert created_by[:6] == [
        NOOP_PREFIX + ' CMD ["cat" "/f"]',
        "|1 V=2 /bin/sh -c echo hi > /f",
        created_by[2],
        NOOP_PREFIX + "WORKDIR /w",
        NOOP_PREFIX + " ENV E=2",
        NOOP_PREFIX + " ARG V=1",
    ]
    assert re.fullmatch(r"/bin/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \. ", created_by[2])


# --- options and errors -------------------------------------------------------------------------


def test_quiet_prints_only_the_id(build, dk):
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nRUN echo noisy\n"}, "-q")
    out = ok(result)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", out), out
    assert inspect_image(dk, result.tag)["Id"] == out.strip()


def test_several_tags(build, dk, cleanup):
    images, _ = cleanup
    other = unique("sockerless-e2e/build-other") + ":v1"
    images.append(other)
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nLABEL x=1\n"}, "-t", other)
    out = ok(result)
    assert f"Successfully tagged {other}" in out
    assert inspect_image(dk, other)["Id"] == inspect_image(dk, result.tag)["Id"]


def test_dockerfile_in_a_subdirectory(build, dk, tmp_path):
    result = build({
        "build/My.Dockerfile": f"FROM {BUSYBOX}\nCOPY a.txt /\nCMD [\"cat\", \"/a.txt\"]\n",
        "a.txt": "from the context root\n",
    }, "-f", "{ctx}/build/My.Dockerfile")
    ok(result)
    assert dk("run", "--rm", result.tag) == "from the context root\n"


def test_dockerfile_on_stdin(build, dk):
    result = build({"a.txt": "via stdin\n"}, "-f", "-",
                   input=f"FROM {BUSYBOX}\nCOPY a.txt /\nCMD [\"cat\", \"/a.txt\"]\n")
    ok(result)
    assert dk("run", "--rm", result.tag) == "via stdin\n"


def test_empty_dockerfile(build):
    result = build({"Dockerfile": ""}, tag=False)
    assert result.returncode == 1
    assert "the Dockerfile (Dockerfile) cannot be empty" in result.stderr


def test_missing_dockerfile(build, proc_client):
    result = build({"a.txt": "x"}, tag=False)
    assert result.returncode == 1
    assert "Dockerfile" in result.stderr  # the CLI's own check
    # the daemon's, for a client that does not check
    with pytest.raises(docker.errors.APIError) as info:
        list(proc_client.api.build(fileobj=io.BytesIO(tar_of({"a.txt": b"x"})),
                                   custom_context=True, dockerfile="sub/Dockerfile"))
    assert info.value.response.status_code == 500
    assert "Cannot locate specified Dockerfile: sub/Dockerfile" in str(info.value)


def test_dockerfile_outside_the_context(proc_client):
    with pytest.raises(docker.errors.APIError) as info:
        list(proc_client.api.build(fileobj=io.BytesIO(tar_of({"Dockerfile": b"FROM x\n"})),
                                   custom_context=True, dockerfile="../Dockerfile"))
    assert info.value.response.status_code == 500
    assert "forbidden path outside the build context: ../Dockerfile ()" in str(info.value)


def test_parse_error_is_a_400(build, proc_client):
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nFROBNICATE x\n"}, tag=False)
    assert result.returncode == 1
    assert "dockerfile parse error line 2: unknown instruction: FROBNICATE" in result.stderr
    with pytest.raises(docker.errors.APIError) as info:
        list(proc_client.api.build(
            fileobj=io.BytesIO(tar_of({"Dockerfile": b"FROM x\nFROBNICATE x\n"})),
            custom_context=True))
    assert info.value.response.status_code == 400


# --- docker-py ----------------------------------------------------------------------------------


def test_docker_py_build_with_options(proc_client, tmp_path):
    ctx = write_context(tmp_path / "pyctx", {
        "Dockerfile": (
            f"FROM {BUSYBOX} AS first\n"
            "ARG GREETING=hello\n"
            "RUN echo \"$GREETING\" > /greeting\n"
            "CMD [\"cat\", \"/greeting\"]\n"
            f"FROM {BUSYBOX}\n"
            "RUN false\n"
        ),
    })
    tag = unique("sockerless-e2e/build-py") + ":latest"
    image, logs = proc_client.images.build(
        path=str(ctx), tag=tag, buildargs={"GREETING": "bonjour"}, labels={"py": "yes"},
        target="first", nocache=True, rm=True)
    try:
        assert tag in image.tags
        assert image.labels == {"py": "yes"}
        assert any("Successfully built" in entry.get("stream", "") for entry in logs)
        out = proc_client.containers.run(tag, remove=True)
        assert out == b"bonjour\n"
    finally:
        proc_client.images.remove(tag, force=True)


def test_docker_py_build_error(proc_client, tmp_path):
    ctx = write_context(tmp_path / "pyerr", {"Dockerfile": f"FROM {BUSYBOX}\nRUN exit 7\n"})
    with pytest.raises(docker.errors.BuildError) as info:
        proc_client.images.build(path=str(ctx), nocache=True, forcerm=True)
    assert info.value.msg == "The command '/bin/sh -c exit 7' returned a non-zero code: 7"


def test_low_level_stream_messages(proc_client):
    body = tar_of({"Dockerfile": f"FROM {BUSYBOX}\nRUN echo out\nRUN exit 5\n".encode()})
    messages = list(proc_client.api.build(fileobj=io.BytesIO(body), custom_context=True,
                                          decode=True, nocache=True, forcerm=True))
    streams = [m["stream"] for m in messages if "stream" in m]
    assert "Step 1/3 : FROM " + BUSYBOX in streams
    assert "out\n" in streams
    assert messages[-1] == {
        "errorDetail": {"code": 5,
                        "message": "The command '/bin/sh -c exit 5' returned a non-zero code: 5"},
        "error": "The command '/bin/sh -c exit 5' returned a non-zero code: 5",
    }
    ok_body = tar_of({"Dockerfile": f"FROM {BUSYBOX}\nLABEL a=b\n".encode()})
    messages = list(proc_client.api.build(fileobj=io.BytesIO(ok_body), custom_context=True,
                                          decode=True, nocache=True))
    aux = [m["aux"]["ID"] for m in messages if "aux" in m]
    assert len(aux) == 1 and re.fullmatch(r"sha256:[0-9a-f]{64}", aux[0])
    assert proc_client.images.get(aux[0]).labels == {"a": "b"}
    proc_client.images.remove(aux[0])


def test_a_second_identical_build_uses_the_cache_for_every_step(bcli, tmp_path, cleanup, dk):
    images, _ = cleanup
    marker = unique("cache")
    ctx = write_context(tmp_path / "ctx", {
        "Dockerfile": (
            f"FROM {BUSYBOX}\n"
            f"ENV MARK={marker}\n"
            "RUN echo $MARK > /mark\n"
            "COPY data.txt /data/\n"
            "WORKDIR /srv\n"
            'CMD ["cat", "/mark"]\n'
        ),
        "data.txt": "payload\n",
    })
    tag = unique("sockerless-e2e/cached") + ":latest"
    images.append(tag)
    first = ok(bcli("build", "-t", tag, str(ctx), timeout=120))
    assert " ---> Using cache" not in first
    # A second later: what the step stamps with the time (the directories COPY makes) must not
    # change its cache key.
    time.sleep(1.1)
    second = ok(bcli("build", "-t", tag, str(ctx), timeout=120))
    # Every step after FROM comes from the cache, and the result is the same image.
    assert second.count(" ---> Using cache") == 5, second
    assert "Running in" not in second, second
    assert built_id(second) == built_id(first)
    assert dk("run", "--rm", tag) == f"{marker}\n"
    third = ok(bcli("build", "--no-cache", str(ctx), timeout=120))
    assert " ---> Using cache" not in third
    assert built_id(third) != built_id(first)


def test_image_list_hides_intermediate_images_unless_all(build, proc_client):
    result = build({"Dockerfile": f"FROM {BUSYBOX}\nENV A=1\nENV B=2\n"})
    ok(result)
    final = proc_client.images.get(result.tag)
    parent = final.attrs["Parent"]
    assert parent, final.attrs
    listed = {i["Id"]: i for i in proc_client.api.images()}
    everything = {i["Id"]: i for i in proc_client.api.images(all=True)}
    assert final.id in listed and parent not in listed
    assert parent in everything
    assert everything[final.id]["ParentId"] == parent
    dangling = {i["Id"] for i in proc_client.api.images(filters={"dangling": True})}
    assert parent not in dangling
