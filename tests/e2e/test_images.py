"""Images: load, list, inspect, tag, remove, save, import, errors.

Uses the images of tests/images (loaded once per session by `loaded_images`) and, for removals,
throw-away variants of busybox with their own IDs, so the shared images are never removed.
Statuses and messages are dockerd's (20.10, API 1.41); see the notes where newer dockerd words
a message differently.
"""

import gzip
import hashlib
import io
import json
import posixpath
import re
import tarfile
from pathlib import Path
from urllib.parse import quote

import docker
import pytest

from images_fixture import (  # noqa: F401 (fixtures)
    APP,
    BUSYBOX,
    IMAGE_PATH_ENV,
    api,
    loaded_images,
    names,
    unique,
    variant_archive,
    variant_image,
)

pytestmark = pytest.mark.usefixtures("loaded_images")

CREATED = "2024-01-01T00:00:00Z"


def short(image_id):
    return image_id.split(":")[-1][:12]


def archive_config(path):
    """The image config document of a docker-archive."""
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        return json.load(tar.extractfile(manifest[0]["Config"]))


@pytest.fixture
def tags(cli):
    """Gives unique tags of the form sockerless-e2e/NAME:TAG; removes them afterwards."""
    given = []

    def make(name="tag"):
        given.append(unique(f"sockerless-e2e/{name}") + ":t1")
        return given[-1]

    yield make
    for tag in given:
        cli("rmi", tag)


# --- load and list ------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", [BUSYBOX, APP])
def test_load_prints_the_loaded_tag(loaded_images, tag):
    assert loaded_images.load_stdout[tag] == f"Loaded image: {tag}\n"


def test_load_of_a_new_image(variant_image, api):
    tag, image_id, result = variant_image()
    assert (result.stdout, result.stderr) == (f"Loaded image: {tag}\n", "")
    status, body = api.get(f"/images/{tag}/json")
    assert status == 200
    assert (body["Id"], body["RepoTags"]) == (image_id, [tag])


@pytest.mark.parametrize("tag", [BUSYBOX, APP])
def test_image_ids_are_the_build_scripts(loaded_images, api, tag):
    status, body = api.get(f"/images/{tag}/json")
    assert status == 200
    assert body["Id"] == loaded_images.ids[tag]
    assert tag in body["RepoTags"]


def test_docker_images_lists_them(cli, loaded_images):
    result = cli("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
    assert result.returncode == 0, result.stderr
    listed = set(result.stdout.splitlines())
    for tag in (BUSYBOX, APP):
        assert f"{tag} {loaded_images.ids[tag]}" in listed, result.stdout


def test_image_list_entry(api, loaded_images):
    status, entries = api.get("/images/json")
    assert status == 200
    by_id = {e["Id"]: e for e in entries}
    app = by_id[loaded_images.ids[APP]]
    assert APP in app["RepoTags"]
    assert app["Created"] == 1704067200
    assert app["Labels"] == {"org.sockerless.test": "app"}
    assert app["ParentId"] == ""
    assert app["Size"] > 0
    busybox = by_id[loaded_images.ids[BUSYBOX]]
    assert BUSYBOX in busybox["RepoTags"]
    assert busybox["Size"] > 0


def test_image_list_reference_filter(api, loaded_images):
    flt = quote(json.dumps({"reference": ["sockerless-test/app"]}))
    status, entries = api.get(f"/images/json?filters={flt}")
    assert status == 200
    assert [e["Id"] for e in entries] == [loaded_images.ids[APP]]


# --- inspect ------------------------------------------------------------------------------------


def test_inspect_matches_the_archive(api, loaded_images):
    status, body = api.get(f"/images/{APP}/json")
    assert status == 200
    config = archive_config(loaded_images.archives[APP])
    assert (body["Os"], body["Architecture"]) == ("linux", config["architecture"])
    assert body["RootFS"] == {"Type": "layers", "Layers": config["rootfs"]["diff_ids"]}
    c = body["Config"]
    assert c["Env"] == [IMAGE_PATH_ENV, "GREETING=hi"]
    assert c["Cmd"] == ["default-arg"]
    assert c["Entrypoint"] == ["/bin/sh", "/app/run.sh"]
    assert c["WorkingDir"] == "/app"
    assert c["User"] == ""
    assert c["Labels"] == {"org.sockerless.test": "app"}
    assert c["ExposedPorts"] == {"8080/tcp": {}}
    assert body["Size"] > 0
    assert body["Created"] == CREATED  # RFC 3339 with the fraction's trailing zeros dropped


@pytest.mark.parametrize("ref", ["sockerless-test/busybox", "full-id", "short-id", "hex-prefix"])
def test_inspect_by_name_and_id(api, loaded_images, ref):
    image_id = loaded_images.ids[BUSYBOX]
    ref = {
        "full-id": image_id, "short-id": short(image_id), "hex-prefix": short(image_id)[:6],
    }.get(ref, ref)
    status, body = api.get(f"/images/{ref}/json")
    assert status == 200, body
    assert body["Id"] == image_id


def test_docker_py_image(dclient, loaded_images):
    image = dclient.images.get(APP)
    assert image.id == loaded_images.ids[APP]
    assert APP in image.tags
    assert image.labels == {"org.sockerless.test": "app"}


@pytest.mark.parametrize(
    "ref, normalized",
    [
        ("sockerless-e2e/no-such-image", "sockerless-e2e/no-such-image:latest"),
        ("sockerless-e2e/no-such-image:v1", "sockerless-e2e/no-such-image:v1"),
        ("sha256:" + "0" * 64, "sha256:" + "0" * 64),
    ],
)
def test_inspect_of_an_unknown_image_is_404(api, ref, normalized):
    status, body = api.get(f"/images/{ref}/json")
    assert status == 404
    # dockerd 20.10 prefixes "no such image: REF: "; newer dockerd answers only this.
    assert body["message"].endswith(f"No such image: {normalized}"), body["message"]


def test_cli_inspect_of_an_unknown_image(cli):
    result = cli("image", "inspect", "sockerless-e2e/no-such-image")
    assert result.returncode == 1
    assert "No such image: sockerless-e2e/no-such-image:latest" in result.stderr


def test_docker_py_unknown_image(dclient):
    with pytest.raises(docker.errors.ImageNotFound):
        dclient.images.get("sockerless-e2e/no-such-image")


def test_inspect_with_a_bad_reference_is_400(api):
    status, body = api.get("/images/UPPER/json")
    assert status == 400
    # dockerd 20.10 prefixes "no such image: UPPER: ".
    assert body["message"].endswith(
        "invalid reference format: repository name must be lowercase"
    ), body["message"]


# --- tag ----------------------------------------------------------------------------------------


def test_tag(api, loaded_images, tags):
    new = tags()
    repo, _, tag = new.rpartition(":")
    status, body = api.post(f"/images/{BUSYBOX}/tag?repo={repo}&tag={tag}")
    assert (status, body) == (201, None)
    status, body = api.get(f"/images/{new}/json")
    assert status == 200
    assert body["Id"] == loaded_images.ids[BUSYBOX]
    assert sorted(body["RepoTags"]) == sorted([BUSYBOX, new])


def test_cli_tag_without_a_tag_means_latest(cli, api, loaded_images, tags):
    new = tags().rpartition(":")[0]
    result = cli("tag", loaded_images.ids[APP], new)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    try:
        status, body = api.get(f"/images/{new}:latest/json")
        assert (status, body["Id"]) == (200, loaded_images.ids[APP])
    finally:
        cli("rmi", new)


def test_tag_of_an_unknown_image_is_404(api):
    status, body = api.post("/images/sockerless-e2e/no-such-image/tag?repo=sockerless-e2e/x&tag=1")
    assert status == 404
    assert body["message"] == "No such image: sockerless-e2e/no-such-image:latest"


# --- remove -------------------------------------------------------------------------------------


def test_rmi_of_one_of_two_tags_untags_only(cli, api, loaded_images, tags):
    new = tags()
    assert cli("tag", BUSYBOX, new).returncode == 0
    result = cli("rmi", new)
    assert (result.returncode, result.stdout) == (0, f"Untagged: {new}\n"), result.stderr
    status, body = api.get(f"/images/{BUSYBOX}/json")
    assert (status, body["Id"], body["RepoTags"]) == (200, loaded_images.ids[BUSYBOX], [BUSYBOX])
    assert api.get(f"/images/{new}/json")[0] == 404


def test_raw_delete_of_a_tag(api, tags):
    new = tags()
    repo, _, tag = new.rpartition(":")
    assert api.post(f"/images/{BUSYBOX}/tag?repo={repo}&tag={tag}")[0] == 201
    assert api.delete(f"/images/{new}") == (200, [{"Untagged": new}])


def test_rmi_of_the_last_tag_deletes_the_image(cli, api, variant_image):
    tag, image_id, _ = variant_image()
    result = cli("rmi", tag)
    assert result.returncode == 0, result.stderr
    # The layers are busybox's, still in use: only the image itself goes.
    assert result.stdout == f"Untagged: {tag}\nDeleted: {image_id}\n"
    assert api.get(f"/images/{image_id}/json")[0] == 404


def test_rmi_of_an_image_used_by_a_container_is_409(api, names, variant_image):
    tag, image_id, _ = variant_image()
    cid = api.create(names(), Image=tag)
    status, body = api.delete(f"/images/{tag}")
    assert status == 409
    assert body["message"] == (
        f'conflict: unable to remove repository reference "{tag}" (must force) - '
        f"container {cid[:12]} is using its referenced image {short(image_id)}"
    )
    status, body = api.delete(f"/images/{short(image_id)}")
    assert status == 409
    assert body["message"] == (
        f"conflict: unable to delete {short(image_id)} (must be forced) - "
        f"image is being used by stopped container {cid[:12]}"
    )
    assert api.get(f"/images/{tag}/json")[0] == 200


def test_rmi_by_id_of_an_image_with_two_tags_is_409(api, variant_image, tags):
    tag, image_id, _ = variant_image()
    repo, _, version = tags().rpartition(":")
    assert api.post(f"/images/{tag}/tag?repo={repo}&tag={version}")[0] == 201
    status, body = api.delete(f"/images/{short(image_id)}")
    assert status == 409
    assert body["message"] == (
        f"conflict: unable to delete {short(image_id)} (must be forced) - "
        "image is referenced in multiple repositories"
    )


def test_rmi_force_of_an_image_used_by_a_container(cli, api, names, variant_image):
    tag, image_id, _ = variant_image()
    cid = api.create(names(), Image=tag)
    result = cli("rmi", "-f", tag)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Untagged: {tag}\nDeleted: {image_id}\n"
    assert api.get(f"/images/{tag}/json")[0] == 404
    assert api.get(f"/images/{image_id}/json")[0] == 404
    assert api.inspect(cid)["Image"] == image_id


def test_rmi_of_an_unknown_image_is_404(api, cli):
    status, body = api.delete("/images/sockerless-e2e/no-such-image")
    assert (status, body["message"]) == (404, "No such image: sockerless-e2e/no-such-image:latest")
    result = cli("rmi", "sockerless-e2e/no-such-image")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error response from daemon: No such image: sockerless-e2e/no-such-image:latest"
    )


def test_rmi_with_a_bad_reference_is_400(api):
    status, body = api.delete("/images/UPPER")
    assert status == 400
    assert body["message"] == "invalid reference format: repository name must be lowercase"


def test_removed_image_is_gone_from_the_list(api, cli, variant_image):
    tag, image_id, _ = variant_image()
    assert cli("rmi", tag).returncode == 0
    status, entries = api.get("/images/json")
    assert status == 200
    assert image_id not in {e["Id"] for e in entries}
    assert re.search(re.escape(tag), json.dumps(entries)) is None


def test_list_before_and_since_filters(cli, loaded_images):
    """before/since name an image; the named image itself is never listed, an unknown one is an
    error."""
    out = cli("images", "--filter", "since=sockerless-test/busybox", "--format", "{{.Repository}}")
    assert out.returncode == 0, out.stderr
    assert "sockerless-test/busybox" not in out.stdout.split()
    out = cli("images", "--filter", "before=sockerless-e2e/no-such-image", "-q")
    assert out.returncode != 0
    assert "No such image: sockerless-e2e/no-such-image:latest" in out.stderr


# --- save, and load and import with layers ------------------------------------------------------


def archive_manifest(path):
    with tarfile.open(path) as tar:
        return json.load(tar.extractfile("manifest.json"))


def archive_layer_digests(path, entry):
    """The sha256 of each layer.tar an entry of manifest.json names (symlinks followed)."""
    digests = []
    with tarfile.open(path) as tar:
        for name in entry["Layers"]:
            member = tar.getmember(name)
            while member.issym():
                member = tar.getmember(posixpath.normpath(
                    posixpath.join(posixpath.dirname(member.name), member.linkname)))
            digests.append("sha256:" + hashlib.sha256(tar.extractfile(member).read()).hexdigest())
    return digests


def test_save_rmi_load_round_trip(cli, api, variant_image, tmp_path):
    tag, image_id, _ = variant_image()
    archive = tmp_path / "saved.tar"
    result = cli("save", "-o", str(archive), tag)
    assert result.returncode == 0, result.stderr
    [entry] = archive_manifest(archive)
    assert entry["Config"] == image_id.split(":")[1] + ".json"
    assert entry["RepoTags"] == [tag]
    config = archive_config(archive)
    assert archive_layer_digests(archive, entry) == config["rootfs"]["diff_ids"]
    with tarfile.open(archive) as tar:
        repositories = json.load(tar.extractfile("repositories"))
    repo, _, version = tag.rpartition(":")
    assert repositories == {repo: {version: entry["Layers"][-1].split("/")[0]}}

    assert cli("rmi", tag).returncode == 0
    assert api.get(f"/images/{tag}/json")[0] == 404
    result = cli("load", "-i", str(archive))
    assert (result.returncode, result.stdout) == (0, f"Loaded image: {tag}\n"), result.stderr
    status, body = api.get(f"/images/{tag}/json")
    assert status == 200
    assert (body["Id"], body["RepoTags"]) == (image_id, [tag])
    assert body["RootFS"]["Layers"] == config["rootfs"]["diff_ids"]


def test_save_of_two_images(cli, loaded_images, tmp_path):
    archive = tmp_path / "two.tar"
    result = cli("save", "-o", str(archive), BUSYBOX, APP)
    assert result.returncode == 0, result.stderr
    manifest = archive_manifest(archive)
    by_tag = {tuple(e["RepoTags"]): e for e in manifest}
    assert set(by_tag) == {(BUSYBOX,), (APP,)}
    for tag, entry in by_tag.items():
        assert entry["Config"] == loaded_images.ids[tag[0]].split(":")[1] + ".json"
        with tarfile.open(archive) as tar:
            config = json.load(tar.extractfile(entry["Config"]))
        assert archive_layer_digests(archive, entry) == config["rootfs"]["diff_ids"]
    # app is busybox plus one layer: its first layer is busybox's, whatever the directory.
    assert len(by_tag[(APP,)]["Layers"]) == 2


def test_save_by_id_has_no_repo_tags(raw, api_version, loaded_images, tmp_path):
    image_id = loaded_images.ids[BUSYBOX]
    status, headers, data = raw.request("GET", f"/v{api_version}/images/{short(image_id)}/get")
    assert status == 200
    assert headers["Content-Type"] == "application/x-tar"
    archive = tmp_path / "byid.tar"
    archive.write_bytes(data)
    [entry] = archive_manifest(archive)
    assert entry["RepoTags"] is None
    assert entry["Config"] == image_id.split(":")[1] + ".json"


def test_save_of_a_repository_saves_every_tag(raw, api_version, api, tags, tmp_path):
    first = tags("repo")
    repo = first.rpartition(":")[0]
    second = repo + ":t2"
    for t in (first, second):
        r, _, v = t.rpartition(":")
        assert api.post(f"/images/{BUSYBOX}/tag?repo={r}&tag={v}")[0] == 201
    try:
        status, _, data = raw.request("GET", f"/v{api_version}/images/get?names={quote(repo)}")
        assert status == 200
        archive = tmp_path / "repo.tar"
        archive.write_bytes(data)
        [entry] = archive_manifest(archive)
        assert sorted(entry["RepoTags"]) == sorted([first, second])
    finally:
        api.delete(f"/images/{second}")


def test_save_of_no_names_is_an_empty_archive(raw, api_version, tmp_path):
    status, _, data = raw.request("GET", f"/v{api_version}/images/get")
    assert status == 200
    archive = tmp_path / "empty.tar"
    archive.write_bytes(data)
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["manifest.json"]
        assert tar.extractfile("manifest.json").read() == b"null\n"


NO_SUCH = "sockerless-e2e/no-such-image"


@pytest.mark.parametrize(
    "path, message",
    [
        # A repository without a tag names every tag of it, or else an image ID (prefix).
        (f"/images/{NO_SUCH}/get", f"No such image: {NO_SUCH}"),
        (f"/images/get?names={NO_SUCH}", f"No such image: {NO_SUCH}"),
        (f"/images/get?names={NO_SUCH}:v1", "reference does not exist"),
        (f"/images/get?names={quote(BUSYBOX)}&names={NO_SUCH}:v1", "reference does not exist"),
    ],
)
def test_save_of_an_unknown_image_is_404(api, path, message):
    assert api.get(path) == (404, {"message": message})


def test_cli_save_of_an_unknown_image(cli, tmp_path):
    result = cli("save", "-o", str(tmp_path / "x.tar"), "sockerless-e2e/no-such-image")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error response from daemon: No such image: sockerless-e2e/no-such-image"
    )


def test_docker_py_save(dclient, loaded_images, tmp_path):
    archive = tmp_path / "py.tar"
    with open(archive, "wb") as out:
        for chunk in dclient.images.get(APP).save(named=True):
            out.write(chunk)
    [entry] = archive_manifest(archive)
    assert entry["RepoTags"] == [APP]


def test_load_with_a_wrong_diff_id_adds_nothing(cli, api, loaded_images, tmp_path):
    """dockerd checks each layer against the config's rootfs.diff_ids, and reports in-band."""
    tag = unique("sockerless-e2e/baddiff") + ":latest"
    archive = tmp_path / "bad.tar"
    image_id = variant_archive(loaded_images.archives[BUSYBOX], archive, tag)
    # Rewrite the config with a wrong diff ID (the ID changes with it).
    with tarfile.open(archive) as src:
        manifest = json.load(src.extractfile("manifest.json"))
        config = json.load(src.extractfile(manifest[0]["Config"]))
        members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src]
    wrong = "sha256:" + "1" * 64
    config["rootfs"]["diff_ids"] = [wrong]
    config_bytes = json.dumps(config).encode()
    image_id = hashlib.sha256(config_bytes).hexdigest()
    manifest[0]["Config"] = image_id + ".json"
    with tarfile.open(archive, "w") as out:
        for member, data in members:
            if member.name.endswith(".json") and "/" not in member.name:
                continue
            out.addfile(member, io.BytesIO(data) if data is not None else None)
        for name, data in ((image_id + ".json", config_bytes),
                           ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    result = cli("load", "-i", str(archive))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'invalid diffID for layer 0: expected "{wrong}", got '
        f'"{archive_config(loaded_images.archives[BUSYBOX])["rootfs"]["diff_ids"][0]}"'
    )
    assert api.get(f"/images/{tag}/json")[0] == 404
    assert api.get(f"/images/sha256:{image_id}/json")[0] == 404


@pytest.mark.parametrize("compress", [False, True])
def test_import_stores_a_real_layer(cli, api, loaded_images, tmp_path, compress):
    """The tar becomes the image's one layer: the diff ID is the uncompressed tar's digest and
    the size is what the files of the layer add up to (busybox's first layer here)."""
    rootfs = Path(loaded_images.archives[BUSYBOX]).parent / "busybox-rootfs.tar"
    source = rootfs
    if compress:
        source = tmp_path / "rootfs.tar.gz"
        source.write_bytes(gzip.compress(rootfs.read_bytes()))
    tag = unique("sockerless-e2e/imported") + ":v1"
    result = cli("import", str(source), tag)
    assert result.returncode == 0, result.stderr
    try:
        status, body = api.get(f"/images/{tag}/json")
        assert status == 200
        busybox = api.get(f"/images/{BUSYBOX}/json")[1]
        diff_id = "sha256:" + hashlib.sha256(rootfs.read_bytes()).hexdigest()
        assert body["RootFS"]["Layers"] == [diff_id] == busybox["RootFS"]["Layers"]
        assert body["Size"] == busybox["Size"]
    finally:
        cli("rmi", tag)


@pytest.mark.sockerless_only
def test_save_of_a_synthetic_image_is_refused(api, cli):
    """A synthetic pull makes an image without layers, which dockerd never has."""
    tag = unique("sockerless-e2e/synthetic") + ":v1"
    assert cli("pull", tag).returncode == 0
    try:
        status, body = api.get(f"/images/{tag}/get")
        assert status == 501
        assert "synthetic pull" in body["message"]
    finally:
        cli("rmi", tag)
