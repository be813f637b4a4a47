"""Volumes: create/inspect/remove, named and anonymous volumes of containers, container Mounts,
bind mounts, list filters and prune.

Runs against sockerlessd or, with SOCKERLESS_E2E_DOCKER_HOST, against a real dockerd; the
expected statuses and messages are dockerd's (20.10, API 1.41). Sockerless's volumes are real
directories under its data root. Every volume a test creates by name is removed afterwards.
"""

import json
import re
from urllib.parse import quote

import pytest

from e2e_helpers import parse_rfc3339
from images_fixture import BUSYBOX, api, loaded_images, names, unique  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("loaded_images")

HEX64 = re.compile(r"^[0-9a-f]{64}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def filters(**f):
    return quote(json.dumps(f))


def api_at_least(version, wanted):
    return tuple(map(int, version.split("."))) >= tuple(map(int, wanted.split(".")))


@pytest.fixture
def vols(api, cli):
    """Creates named volumes labelled `org.sockerless.e2e=<unique per test>`; returns
    make(name=None, labels=None) -> name. Removes every volume it named (and any other volume
    recorded in vols.extra) afterwards, after the test's containers (`names`) are gone."""
    label = unique("vols")
    made = []

    def make(name=None, labels=None):
        name = name or unique("sockerless-e2e-vol")
        body = {"Name": name, "Labels": {"org.sockerless.e2e": label, **(labels or {})}}
        status, answer = api.post("/volumes/create", body)
        assert status == 201, (status, answer)
        made.append(name)
        return name

    make.label = label
    make.extra = made
    yield make
    if made:
        cli("volume", "rm", "-f", *made)


def volume_names(cli):
    result = cli("volume", "ls", "-q")
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_create_and_inspect_shape(api, vols):
    name = unique("sockerless-e2e-vol")
    vols.extra.append(name)
    status, body = api.post("/volumes/create", {"Name": name, "Labels": {"k": "v"}})
    assert status == 201
    assert set(body) >= {"Name", "Driver", "Mountpoint", "Labels", "Scope", "CreatedAt", "Options"}
    assert body["Name"] == name
    assert body["Driver"] == "local"
    assert body["Scope"] == "local"
    assert body["Labels"] == {"k": "v"}
    assert body["Options"] is None
    assert body["Mountpoint"].startswith("/")
    assert body["Mountpoint"].endswith(f"/volumes/{name}/_data")
    assert RFC3339.match(body["CreatedAt"]), body["CreatedAt"]
    parse_rfc3339(body["CreatedAt"])
    status, inspected = api.get(f"/volumes/{name}")
    assert status == 200
    assert inspected == body


def test_create_the_same_name_twice_returns_the_volume(api, vols):
    name = vols(labels={"first": "1"})
    status, first = api.get(f"/volumes/{name}")
    status, again = api.post("/volumes/create", {"Name": name})
    assert status == 201
    assert again == first


def test_name_too_short_is_400(api):
    status, body = api.post("/volumes/create", {"Name": "a"})
    assert status == 400
    assert body["message"] == (
        "create a: volume name is too short, names should be at least two alphanumeric characters"
    )


def test_invalid_name_is_400(api):
    status, body = api.post("/volumes/create", {"Name": "a b"})
    assert status == 400
    assert body["message"] == (
        'create a b: "a b" includes invalid characters for a local volume name, only '
        '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
        "use absolute path"
    )


def test_unknown_driver_is_404(api):
    """dockerd retries the plugin lookup for 15 s before answering."""
    name = unique("sockerless-e2e-vol")
    status, body = api.post("/volumes/create", {"Name": name, "Driver": "nope-drv"}, timeout=30)
    assert status == 404
    assert body["message"] == (
        f'create {name}: error looking up volume plugin nope-drv: plugin "nope-drv" not found'
    )


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_volume_is_404(api, method):
    name = unique("sockerless-e2e-novol")
    status, body = api.call(method, f"/volumes/{name}")
    assert status == 404
    assert body["message"] == f"get {name}: no such volume"


def test_removing_a_volume_in_use_is_409(api, vols, names):
    name = vols()
    cid = api.create(names(), Image=BUSYBOX, HostConfig={"Binds": [f"{name}:/data"]})
    status, body = api.delete(f"/volumes/{name}")
    assert status == 409
    assert body["message"] == f"remove {name}: volume is in use - [{cid}]"


def test_run_with_a_named_volume_creates_it_and_mounts(api, cli, vols, names):
    vol = unique("sockerless-e2e-vol")
    vols.extra.append(vol)
    cname = names()
    result = cli("run", "--name", cname, "-v", f"{vol}:/data", BUSYBOX, "true")
    assert result.returncode == 0, result.stderr
    status, v = api.get(f"/volumes/{vol}")
    assert status == 200
    assert v["Driver"] == "local"
    [mount] = api.inspect(cname)["Mounts"]
    assert mount["Type"] == "volume"
    assert mount["Name"] == vol
    assert mount["Source"] == v["Mountpoint"]
    assert mount["Destination"] == "/data"
    assert mount["Driver"] == "local"
    assert mount["RW"] is True
    assert mount["Mode"] == "z"


def test_rm_v_removes_the_anonymous_volume_and_keeps_the_named_one(api, cli, vols, names):
    vol = unique("sockerless-e2e-vol")
    vols.extra.append(vol)
    cname = names()
    result = cli("create", "--name", cname, "-v", f"{vol}:/data", "-v", "/anon", BUSYBOX)
    assert result.returncode == 0, result.stderr
    mounts = {m["Destination"]: m for m in api.inspect(cname)["Mounts"]}
    assert set(mounts) == {"/data", "/anon"}
    anon = mounts["/anon"]
    assert anon["Type"] == "volume"
    assert HEX64.match(anon["Name"]), anon["Name"]
    assert anon["Driver"] == "local"
    assert anon["RW"] is True
    status, v = api.get(f"/volumes/{anon['Name']}")
    assert status == 200
    assert anon["Source"] == v["Mountpoint"]

    result = cli("rm", "-v", cname)
    assert result.returncode == 0, result.stderr
    assert api.get(f"/volumes/{anon['Name']}")[0] == 404
    assert api.get(f"/volumes/{vol}")[0] == 200


def test_rm_without_v_keeps_the_anonymous_volume(api, cli, names, vols):
    cname = names()
    result = cli("create", "--name", cname, "-v", "/anon", BUSYBOX)
    assert result.returncode == 0, result.stderr
    [mount] = api.inspect(cname)["Mounts"]
    vols.extra.append(mount["Name"])
    assert cli("rm", cname).returncode == 0
    assert api.get(f"/volumes/{mount['Name']}")[0] == 200


def test_run_rm_removes_the_anonymous_volume(cli):
    before = volume_names(cli)
    result = cli("run", "--rm", "-v", "/anon", BUSYBOX, "true")
    assert result.returncode == 0, result.stderr
    assert volume_names(cli) - before == set()


def test_bind_mount_read_only(api, cli, names):
    cname = names()
    result = cli("create", "--name", cname, "-v", "/tmp:/h:ro", BUSYBOX)
    assert result.returncode == 0, result.stderr
    [mount] = api.inspect(cname)["Mounts"]
    assert mount["Type"] == "bind"
    assert mount["Source"] == "/tmp"
    assert mount["Destination"] == "/h"
    assert mount["RW"] is False
    assert mount["Mode"] == "ro"
    assert mount["Propagation"] in ("rprivate", "rslave")  # dockerd: per the host's /tmp
    assert "Name" not in mount
    assert "Driver" not in mount


def test_volume_ls_filters(api, cli, vols, names):
    red = vols(labels={"color": "red"})
    blue = vols(labels={"color": "blue"})
    api.create(names(), Image=BUSYBOX, HostConfig={"Binds": [f"{blue}:/data"]})
    own = f"label=org.sockerless.e2e={vols.label}"

    def ls(*filters_):
        args = ["volume", "ls", "-q", "--filter", own]
        for f in filters_:
            args += ["--filter", f]
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        return sorted(result.stdout.split())

    assert ls() == sorted([red, blue])
    assert ls(f"name={red}") == [red]
    assert ls("label=color=blue") == [blue]
    assert ls("label=color") == sorted([red, blue])
    assert ls("dangling=true") == [red]
    assert ls("dangling=false") == [blue]

    own_filter = filters(label=[f"org.sockerless.e2e={vols.label}"])
    status, body = api.get("/volumes?filters=" + own_filter)
    assert status == 200
    assert set(body) >= {"Volumes", "Warnings"}
    assert sorted(v["Name"] for v in body["Volumes"]) == sorted([red, blue])


def test_volume_prune(api, vols, names, api_version):
    """API < 1.42 prunes every unused volume; from 1.42 only anonymous ones unless all=true."""
    unused = vols()
    used = vols()
    api.create(names(), Image=BUSYBOX, HostConfig={"Binds": [f"{used}:/data"]})
    own = {"label": [f"org.sockerless.e2e={vols.label}"]}
    status, body = api.post("/volumes/prune?filters=" + quote(json.dumps(own)))
    assert status == 200
    if api_at_least(api_version, "1.42"):
        assert body["VolumesDeleted"] in (None, [])
        assert api.get(f"/volumes/{unused}")[0] == 200
        status, body = api.post(
            "/volumes/prune?filters=" + quote(json.dumps({**own, "all": ["true"]}))
        )
        assert status == 200
    assert body["VolumesDeleted"] == [unused]
    assert isinstance(body["SpaceReclaimed"], int)
    assert api.get(f"/volumes/{unused}")[0] == 404
    assert api.get(f"/volumes/{used}")[0] == 200
