"""Networks: the built-in networks, create/inspect/remove, connect/disconnect, aliases, IPs of
running containers, prune and list filters.

Runs against sockerlessd or, with SOCKERLESS_E2E_DOCKER_HOST, against a real dockerd; the
expected statuses and messages are dockerd's (20.10, API 1.41). Sockerless models networks as
state (no real networking): IPs are allocated while a container runs and released at its exit.
Every network a test creates carries a unique label and is removed afterwards.
"""

import json
import ipaddress
import re
from urllib.parse import quote

import pytest

from images_fixture import BUSYBOX, api, loaded_images, names, unique  # noqa: F401 (fixtures)
from test_containers import while_running  # noqa: F401 (fixture)

sockerless_only = pytest.mark.sockerless_only
pytestmark = pytest.mark.usefixtures("loaded_images")

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def filters(**f):
    return quote(json.dumps(f))


@pytest.fixture
def nets(api, cli):
    """Creates networks (API, with a unique label `org.sockerless.e2e` per test); returns
    make(name=None, **config) -> (name, id). Removes them all afterwards (by ID, as dockerd
    allows duplicate names)."""
    label = unique("nets")
    made = []

    def make(name=None, **config):
        name = name or unique("sockerless-e2e-net")
        body = {"Name": name, **config}
        body.setdefault("Labels", {})["org.sockerless.e2e"] = label
        status, answer = api.post("/networks/create", body)
        assert status == 201, (status, answer)
        made.append(answer["Id"])
        return name, answer["Id"]

    make.label = label
    make.made = made
    yield make
    for nid in made:
        cli("network", "rm", nid)


def test_builtin_networks_are_listed(api):
    status, body = api.get("/networks")
    assert status == 200
    by_name = {n["Name"]: n for n in body}
    assert {"bridge", "host", "none"} <= set(by_name)
    assert by_name["bridge"]["Driver"] == "bridge"
    assert by_name["host"]["Driver"] == "host"
    assert by_name["none"]["Driver"] == "null"
    for name in ("bridge", "host", "none"):
        assert by_name[name]["Scope"] == "local"
        assert HEX64.match(by_name[name]["Id"]), by_name[name]["Id"]


def test_create_answers_201_and_inspect_shape(api, nets):
    name = unique("sockerless-e2e-net")
    status, body = api.post("/networks/create", {"Name": name, "Labels": {"k": "v"}})
    assert status == 201, body
    nets.made.append(body["Id"])
    assert set(body) == {"Id", "Warning"}
    assert HEX64.match(body["Id"])
    assert body["Warning"] == ""
    status, n = api.get(f"/networks/{name}")
    assert status == 200
    assert n["Name"] == name
    assert n["Id"] == body["Id"]
    assert n["Driver"] == "bridge"
    assert n["Scope"] == "local"
    assert n["Internal"] is False
    assert n["Attachable"] is False
    assert n["EnableIPv6"] is False
    assert n["Containers"] == {}
    assert n["Options"] == {}
    assert n["Labels"] == {"k": "v"}
    assert n["IPAM"]["Driver"] == "default"
    [config] = n["IPAM"]["Config"]
    subnet = ipaddress.ip_network(config["Subnet"])
    assert ipaddress.ip_address(config["Gateway"]) in subnet
    # Lookup by ID and by ID prefix.
    assert api.get(f"/networks/{body['Id']}")[1]["Name"] == name
    assert api.get(f"/networks/{body['Id'][:12]}")[1]["Name"] == name


def test_explicit_subnet_and_gateway_are_honoured(api, nets):
    name, _ = nets(IPAM={"Config": [{"Subnet": "10.231.0.0/16", "Gateway": "10.231.0.254"}]})
    status, n = api.get(f"/networks/{name}")
    assert status == 200
    assert n["IPAM"]["Config"] == [{"Subnet": "10.231.0.0/16", "Gateway": "10.231.0.254"}]


def test_overlapping_subnet_is_403(api, nets):
    nets(IPAM={"Config": [{"Subnet": "10.232.0.0/16"}]})
    status, body = api.post(
        "/networks/create",
        {"Name": unique("sockerless-e2e-net"), "IPAM": {"Config": [{"Subnet": "10.232.5.0/24"}]}},
    )
    if status == 201:
        nets.made.append(body["Id"])
    assert status == 403
    assert body["message"] == "Pool overlaps with other one on this address space"


@pytest.mark.parametrize("name", ["bridge", "host", "none"])
def test_removing_a_builtin_network_is_403(api, name):
    status, body = api.delete(f"/networks/{name}")
    assert status == 403
    assert body["message"] == f"{name} is a pre-defined network and cannot be removed"


@pytest.mark.parametrize("method, suffix", [("GET", ""), ("DELETE", "")])
def test_unknown_network_is_404(api, method, suffix):
    name = unique("sockerless-e2e-nonet")
    status, body = api.call(method, f"/networks/{name}{suffix}")
    assert status == 404
    assert body["message"] == f"network {name} not found"


def test_create_with_a_taken_name_checkduplicate_is_409(api, nets):
    name, _ = nets()
    status, body = api.post("/networks/create", {"Name": name, "CheckDuplicate": True})
    if status == 201:
        nets.made.append(body["Id"])
    assert status == 409
    assert body["message"] == f"network with name {name} already exists"


@sockerless_only
def test_create_with_a_taken_name_is_409(api, nets):
    """dockerd 20.10 creates a second network of the same name (with a Warning)."""
    name, _ = nets()
    status, body = api.post("/networks/create", {"Name": name})
    if status == 201:
        nets.made.append(body["Id"])
    assert status == 409
    assert body["message"] == f"network with name {name} already exists"


def test_removing_a_network_with_a_running_container_is_403(api, nets, while_running):
    name, nid = nets()

    def check(cid):
        status, body = api.post(f"/networks/{name}/connect", {"Container": cid})
        assert status == 200, body
        return api.delete(f"/networks/{name}")

    _, (status, body) = while_running(check)
    assert status == 403
    assert body["message"] == (
        f"error while removing network: network {name} id {nid} has active endpoints"
    )


def test_connect_and_disconnect_a_created_container(api, nets, names):
    name, nid = nets()
    cid = api.create(names(), Image=BUSYBOX)
    status, body = api.post(
        f"/networks/{name}/connect", {"Container": cid, "EndpointConfig": {"Aliases": ["web"]}}
    )
    assert status == 200, body
    networks = api.inspect(cid)["NetworkSettings"]["Networks"]
    assert set(networks) == {"bridge", name}
    assert "web" in networks[name]["Aliases"]

    status, body = api.post(f"/networks/{nid}/disconnect", {"Container": cid})
    assert status == 200, body
    assert set(api.inspect(cid)["NetworkSettings"]["Networks"]) == {"bridge"}


def test_disconnect_when_not_connected_is_an_error(api, nets, names, target_is_sockerless):
    """dockerd 20.10 answers 500; sockerless answers 403 with the same message."""
    name, _ = nets()
    cid = api.create(names(), Image=BUSYBOX)
    status, body = api.post(f"/networks/{name}/disconnect", {"Container": cid})
    assert status == (403 if target_is_sockerless else 500)
    assert body["message"] == f"container {cid} is not connected to the network {name}"


def test_connect_unknown_container_is_404(api, nets):
    name, _ = nets()
    status, body = api.post(f"/networks/{name}/connect", {"Container": "sockerless-e2e-noc"})
    assert status == 404
    assert body["message"] == "No such container: sockerless-e2e-noc"


def test_cli_network_alias(cli, nets, names):
    name, _ = nets()
    cname = names()
    result = cli("create", "--name", cname, "--network", name, "--network-alias", "db", BUSYBOX)
    assert result.returncode == 0, result.stderr
    result = cli("inspect", "--format", "{{json .NetworkSettings.Networks}}", cname)
    assert result.returncode == 0, result.stderr
    networks = json.loads(result.stdout)
    assert set(networks) == {name}
    assert "db" in networks[name]["Aliases"]


def test_running_container_gets_an_ip_in_the_subnet(api, nets, while_running):
    name, nid = nets(IPAM={"Config": [{"Subnet": "10.233.0.0/24", "Gateway": "10.233.0.1"}]})

    def check(cid):
        status, body = api.post(f"/networks/{name}/connect", {"Container": cid})
        assert status == 200, body
        return api.inspect(cid)["NetworkSettings"]["Networks"][name], api.get(f"/networks/{name}")

    cid, (endpoint, (status, n)) = while_running(check)
    ip = ipaddress.ip_address(endpoint["IPAddress"])
    assert ip in ipaddress.ip_network("10.233.0.0/24")
    assert ip != ipaddress.ip_address("10.233.0.1")
    assert endpoint["Gateway"] == "10.233.0.1"
    assert endpoint["IPPrefixLen"] == 24
    assert endpoint["NetworkID"] == nid
    assert status == 200
    assert cid in n["Containers"]
    assert n["Containers"][cid]["IPv4Address"] == f"{ip}/24"


def test_the_ip_is_released_at_exit(api, nets, names):
    name, _ = nets(IPAM={"Config": [{"Subnet": "10.234.0.0/24"}]})
    cid = api.run_to_exit(names(), Image=BUSYBOX, Cmd=["true"], HostConfig={"NetworkMode": name})
    networks = api.inspect(cid)["NetworkSettings"]["Networks"]
    assert set(networks) == {name}
    assert networks[name]["IPAddress"] == ""
    status, n = api.get(f"/networks/{name}")
    assert status == 200
    assert n["Containers"] == {}


def test_network_prune_removes_unused_custom_networks(api, nets):
    unused, _ = nets()
    status, body = api.post("/networks/prune?filters=" + filters(label=[
        f"org.sockerless.e2e={nets.label}"]))
    assert status == 200
    assert body == {"NetworksDeleted": [unused]}
    assert api.get(f"/networks/{unused}")[0] == 404
    status, listed = api.get("/networks")
    assert {"bridge", "host", "none"} <= {n["Name"] for n in listed}


def test_network_ls_filters(cli, nets):
    a, _ = nets(Labels={"color": "red"})
    b, _ = nets(Labels={"color": "blue"})
    own = f"label=org.sockerless.e2e={nets.label}"

    def ls(*filters_):
        args = ["network", "ls", "--format", "{{.Name}}", "--filter", own]
        for f in filters_:
            args += ["--filter", f]
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        return sorted(result.stdout.split())

    assert ls() == sorted([a, b])
    assert ls(f"name={a}") == [a]
    assert ls("label=color=blue") == [b]
    assert ls("label=color") == sorted([a, b])
    assert ls("driver=bridge") == sorted([a, b])
    assert ls("driver=null") == []
    result = cli("network", "ls", "--format", "{{.Name}}", "--filter", "driver=null")
    assert result.stdout.split() == ["none"]
