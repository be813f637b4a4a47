"""docker build with the synthetic driver (the session daemon runs `--driver synthetic`).

The seed's builder semantics: the Dockerfile is parsed and every step makes an image; metadata
instructions set the config; RUN runs in a synthetic container, which prints its command line and
exits 0, so the build goes on; no step adds a layer (a synthetic container has no filesystem
layers). These are sockerless semantics: a real dockerd runs the commands.
"""

import io
import json
import subprocess
import tarfile

import pytest

from conftest import DOCKER_CLI
from images_fixture import BUSYBOX, loaded_images, unique  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.sockerless_only, pytest.mark.usefixtures("loaded_images")]


def context_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def tags(cli):
    made = []

    def make():
        made.append(unique("sockerless-e2e/built").lower())
        return made[-1]

    yield make
    for tag in made:
        cli("rmi", "-f", tag)


def build(cli, tmp_path, dockerfile, *args):
    (tmp_path / "Dockerfile").write_text(dockerfile)
    return subprocess.run(
        [DOCKER_CLI, "build", *args, str(tmp_path)], env=dict(cli.env, DOCKER_BUILDKIT="0"),
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )


def test_run_prints_the_command_and_metadata_is_applied(cli, tmp_path, tags):
    tag = tags()
    result = build(
        cli, tmp_path,
        f"FROM {BUSYBOX}\nENV GREETING=hello\nRUN echo $GREETING\nLABEL a=b\n"
        'WORKDIR /srv\nCMD ["serve"]\n',
        "-t", tag,
    )
    assert result.returncode == 0, result.stderr
    assert "Step 3/6 : RUN echo $GREETING" in result.stdout, result.stdout
    # The synthetic container prints its command line instead of running it.
    assert "/bin/sh -c echo $GREETING" in result.stdout, result.stdout
    assert f"Successfully tagged {tag}:latest" in result.stdout, result.stdout
    inspect = json.loads(cli("image", "inspect", tag).stdout)[0]
    config = inspect["Config"]
    assert "GREETING=hello" in config["Env"], config
    assert config["Labels"] == {"a": "b"}, config
    assert (config["WorkingDir"], config["Cmd"]) == ("/srv", ["serve"]), config
    base = json.loads(cli("image", "inspect", BUSYBOX).stdout)[0]
    # No step adds a layer: the synthetic containers have none to give.
    assert inspect["RootFS"]["Layers"] == base["RootFS"]["Layers"]
    history = json.loads(cli("history", "--format", "{{json .}}", tag).stdout.splitlines()[0])
    assert history["CreatedBy"].startswith("/bin/sh -c #(nop)"), history


def test_raw_stream_has_steps_aux_id_and_the_error_of_a_bad_copy(raw, api_version):
    client = raw
    body = context_tar({"Dockerfile": f"FROM {BUSYBOX}\nRUN true\n".encode()})
    status, _, data = client.request(
        "POST", f"/v{api_version}/build?q=0&rm=1", body=body,
        headers={"Content-Type": "application/x-tar"},
    )
    assert status == 200, data
    messages = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    ids = [m["aux"]["ID"] for m in messages if "aux" in m]
    assert len(ids) == 1 and ids[0].startswith("sha256:"), messages
    assert any(m.get("stream", "").startswith("Step 1/2 : FROM") for m in messages), messages

    body = context_tar({"Dockerfile": f"FROM {BUSYBOX}\nCOPY missing.txt /x\n".encode()})
    status, _, data = client.request(
        "POST", f"/v{api_version}/build", body=body, headers={"Content-Type": "application/x-tar"}
    )
    assert status == 200, data
    last = json.loads(data.decode().splitlines()[-1])
    assert "file not found in build context" in last["error"], last
    assert last["errorDetail"]["message"] == last["error"], last


def test_parse_error_is_a_400(raw, api_version):
    body = context_tar({"Dockerfile": b"FROM busybox\nNOPE x\n"})
    status, _, data = raw.request(
        "POST", f"/v{api_version}/build", body=body, headers={"Content-Type": "application/x-tar"}
    )
    assert status == 400, data
    assert json.loads(data)["message"] == "dockerfile parse error line 2: unknown instruction: NOPE"
