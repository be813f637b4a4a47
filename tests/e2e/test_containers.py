"""Containers: create, inspect, lookup, lifecycle, list filters, logs, run, events.

Runs against sockerlessd or, with SOCKERLESS_E2E_DOCKER_HOST, against a real dockerd; the
expected statuses and messages are dockerd's (20.10, API 1.41). Where dockerd 20.10 answers 500
for a client error, sockerless must answer the 4xx status and only the message is compared.

A real container runs its command; sockerless's synthetic driver runs nothing: `start` writes the
command line to stdout, and the container exits with 0 after 50 ms (200 ms with OpenStdin).
Tests that need a running container use `while_running`, which retries a check that took longer
than that window; tests of the synthetic behaviour itself are marked sockerless_only.
"""

import json
import os
import re
import time
from datetime import datetime, timezone
from urllib.parse import quote

import docker
import pytest

from e2e_helpers import parse_rfc3339
from images_fixture import (  # noqa: F401 (fixtures)
    APP,
    BUSYBOX,
    IMAGE_PATH_ENV,
    api,
    loaded_images,
    names,
    unique,
)

sockerless_only = pytest.mark.sockerless_only
pytestmark = pytest.mark.usefixtures("loaded_images")

# A synthetic container with OpenStdin runs for 200 ms: a check finished within this much time of
# the start request saw it running.
SYNTHETIC_WINDOW = 0.15

NAME_RULE = "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def printed(target_is_sockerless, argv, lines):
    """The stdout lines of one run of `argv`: `lines` on dockerd; sockerless's synthetic driver
    writes the command line instead."""
    return [" ".join(argv)] if target_is_sockerless else list(lines)


def printed_err(target_is_sockerless, lines):
    """The stderr lines of one run: the synthetic driver writes none."""
    return [] if target_is_sockerless else list(lines)


def now_utc():
    return datetime.now(timezone.utc)


def not_running_status(target_is_sockerless, status):
    """Unpausing a container that is not paused: dockerd 20.10 answers 500."""
    return status == 409 if target_is_sockerless else status in (409, 500)


@pytest.fixture
def while_running(api, names, target_is_sockerless):
    """Starts a container that stays running (`sleep 30` on dockerd; OpenStdin on sockerless) and
    returns (id, check(id)). On sockerless the check is retried when it took longer than
    SYNTHETIC_WINDOW, as the container may have exited meanwhile."""

    def run(check, attempts=3):
        for _ in range(attempts):
            cid = api.create(names("running"), Image=BUSYBOX, Cmd=["sleep", "30"], OpenStdin=True)
            started = time.monotonic()
            api.start(cid)
            result = check(cid)
            if not target_is_sockerless or time.monotonic() - started < SYNTHETIC_WINDOW:
                return cid, result
        pytest.skip(f"the check never finished within {SYNTHETIC_WINDOW} s of the start")

    return run


# --- create -------------------------------------------------------------------------------------


def test_create_answers_201_with_id_and_no_warnings(api, names):
    status, body = api.post(f"/containers/create?name={names()}", {"Image": BUSYBOX})
    assert status == 201
    assert set(body) == {"Id", "Warnings"}
    assert HEX64.match(body["Id"]), body["Id"]
    assert body["Warnings"] == []


def test_create_with_taken_name_is_409(api, names):
    name = names()
    cid = api.create(name, Image=BUSYBOX)
    status, body = api.post(f"/containers/create?name={name}", {"Image": BUSYBOX})
    assert status == 409
    assert body["message"] == (
        f'Conflict. The container name "/{name}" is already in use by container "{cid}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    )


@pytest.mark.parametrize("name", ["bad%20name", "a", "-x", "_x", "a%2Fb"])
def test_create_with_invalid_name_is_400(api, name):
    status, body = api.post(f"/containers/create?name={name}", {"Image": BUSYBOX})
    assert status == 400
    shown = name.replace("%20", " ").replace("%2F", "/")
    assert body["message"] == f"Invalid container name ({shown}), {NAME_RULE}"


@pytest.mark.parametrize(
    "image, shown",
    [
        ("sockerless-e2e/no-such-image", "sockerless-e2e/no-such-image:latest"),
        ("sockerless-e2e/no-such-image:v1", "sockerless-e2e/no-such-image:v1"),
    ],
)
def test_create_from_unknown_image_is_404(api, names, image, shown):
    status, body = api.post(f"/containers/create?name={names()}", {"Image": image})
    assert status == 404
    assert body["message"] == f"No such image: {shown}"


def test_create_with_bad_image_reference_is_400(api, names):
    status, body = api.post(f"/containers/create?name={names()}", {"Image": "UPPER"})
    assert status == 400
    assert body["message"] == "invalid reference format: repository name must be lowercase"


def test_create_with_a_relative_workdir_is_400(api, names):
    """dockerd checks the request's WorkingDir before it looks the image up."""
    for image in (BUSYBOX, "sockerless-e2e/no-such-image"):
        status, body = api.post(
            f"/containers/create?name={names()}", {"Image": image, "WorkingDir": "rel/dir"}
        )
        assert (status, body["message"]) == (
            400,
            "the working directory 'rel/dir' is invalid, it needs to be an absolute path",
        )


@pytest.mark.parametrize(
    "given, kept", [("/a/../srv/./x/", "/srv/x"), ("/../..//w", "/w"), ("/", "/")]
)
def test_create_keeps_the_workdir_cleaned(api, names, given, kept):
    cid = api.create(names(), Image=BUSYBOX, WorkingDir=given)
    assert api.inspect(cid)["Config"]["WorkingDir"] == kept


def host_cpus():
    """What dockerd's sysinfo.NumCPU counts: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    "host_config, message",
    [
        ({"Memory": 1000000}, "Minimum memory limit allowed is 6MB"),
        ({"Memory": -5}, "Minimum memory limit allowed is 6MB"),
        (
            {"MemorySwap": 100000000},
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ),
        (
            {"Memory": 100000000, "MemorySwap": 50000000},
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ),
        (
            {"NanoCpus": 1000000000, "CpuPeriod": 50000},
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ),
        (
            {"NanoCpus": 1000000000, "CpuQuota": 50000},
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        ({"CpuQuota": 500}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
        (
            {"CpuPeriod": 500},
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        ({"ShmSize": -1}, "SHM size can not be less than 0"),
        ({"OomScoreAdj": 1001}, "Invalid value 1001, range for oom score adj is [-1000, 1000]"),
        ({"CapAdd": ["FOO"]}, 'invalid CapAdd: unknown capability: "CAP_FOO"'),
        ({"CapDrop": ["net_admin", "bar"]}, 'invalid CapDrop: unknown capability: "CAP_BAR"'),
        ({"ExtraHosts": ["foo"]}, 'bad format for add-host: "foo"'),
        ({"ExtraHosts": ["foo=1.2.3.4"]}, 'bad format for add-host: "foo=1.2.3.4"'),
        ({"ExtraHosts": ["foo:bar"]}, 'invalid IP address in add-host: "bar"'),
        ({"Tmpfs": {"x": ""}}, "invalid mount path: 'x' mount path must be absolute"),
        ({"Tmpfs": {"/x": ""}, "Binds": ["/tmp:/x"]}, "Duplicate mount point: /x"),
    ],
)
def test_create_with_invalid_host_config_is_400(api, names, host_config, message):
    status, body = api.post(
        f"/containers/create?name={names()}", {"Image": BUSYBOX, "HostConfig": host_config}
    )
    assert (status, body["message"]) == (400, message)


@pytest.mark.parametrize("nano_cpus", [-1, "beyond"])
def test_create_with_nano_cpus_out_of_range_is_400(api, names, nano_cpus):
    n = host_cpus()
    value = (n + 1) * 1000000000 if nano_cpus == "beyond" else nano_cpus
    status, body = api.post(
        f"/containers/create?name={names()}", {"Image": BUSYBOX, "HostConfig": {"NanoCpus": value}}
    )
    assert status == 400
    assert body["message"] == (
        f"Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"
    )


@pytest.mark.parametrize(
    "opt, message",
    [
        ("foo", 'invalid --security-opt 1: "foo"'),
        ("no-new-privileges:maybe", 'invalid --security-opt 2: "no-new-privileges:maybe"'),
        ("systempaths=unconfined", 'invalid --security-opt 2: "systempaths=unconfined"'),
    ],
)
def test_create_with_invalid_security_opt(api, names, target_is_sockerless, opt, message):
    """dockerd 20.10 answers 500; sockerless answers 400 with the same message."""
    config = {"Image": BUSYBOX, "HostConfig": {"SecurityOpt": [opt]}}
    status, body = api.post(f"/containers/create?name={names()}", config)
    assert status == (400 if target_is_sockerless else 500)
    assert body["message"] == message


def test_create_accepts_the_process_settings(api, names):
    host_config = {
        "ReadonlyRootfs": True,
        "CapAdd": ["net_admin", "CAP_SYS_PTRACE"],
        "CapDrop": ["MKNOD"],
        "GroupAdd": ["10"],
        "Memory": 64 * 1024 * 1024,
        "NanoCpus": 500000000,
        "CpuShares": 512,
        "PidsLimit": 100,
        "ShmSize": 0,
        "OomScoreAdj": 100,
        "ExtraHosts": ["foo:1.2.3.4", "bar:::1", "gw:host-gateway"],
        "Dns": ["1.1.1.1"],
        "DnsSearch": ["example.com"],
        "DnsOptions": ["ndots:2"],
        "Init": True,
        "SecurityOpt": ["no-new-privileges", "seccomp=unconfined", "label=disable"],
        "Sysctls": {"kernel.shmmax": "100000"},
        "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
        "Devices": [
            {"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "rwm"}
        ],
        "Tmpfs": {"/run": "size=1m"},
    }
    status, body = api.post(
        f"/containers/create?name={names()}", {"Image": BUSYBOX, "HostConfig": host_config}
    )
    assert status == 201, body
    hc = api.inspect(body["Id"])["HostConfig"]
    # what dockerd's adaptContainerSettings fills in
    assert hc["ShmSize"] == 67108864
    swap_dropped = any("swap limit" in w for w in body["Warnings"] or [])
    assert hc["MemorySwap"] == (-1 if swap_dropped else 2 * 64 * 1024 * 1024)
    assert hc["CapAdd"] == ["net_admin", "CAP_SYS_PTRACE"]
    assert hc["Tmpfs"] == {"/run": "size=1m"}
    assert hc["Init"] is True


@pytest.mark.parametrize("pids", [0, -1])
def test_create_shows_no_pids_limit_for_unlimited(api, names, pids):
    cid = api.create(names(), Image=BUSYBOX, HostConfig={"PidsLimit": pids})
    assert api.inspect(cid)["HostConfig"]["PidsLimit"] is None


def test_create_merges_the_image_config(api, names, loaded_images):
    cid = api.create(
        names(), Image="sockerless-test/app", Env=["FOO=bar", "GREETING=yo"], Labels={"x": "y"}
    )
    c = api.inspect(cid)
    # The request's variables first, then the image's that the request does not set.
    assert c["Config"]["Env"] == ["FOO=bar", "GREETING=yo", IMAGE_PATH_ENV]
    assert c["Config"]["Cmd"] == ["default-arg"]
    assert c["Config"]["Entrypoint"] == ["/bin/sh", "/app/run.sh"]
    assert c["Config"]["WorkingDir"] == "/app"
    assert c["Config"]["Labels"] == {"org.sockerless.test": "app", "x": "y"}
    assert c["Config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert (c["Path"], c["Args"]) == ("/bin/sh", ["/app/run.sh", "default-arg"])
    assert c["Image"] == loaded_images.ids[APP]


def test_request_cmd_replaces_the_image_cmd(api, names):
    c = api.inspect(api.create(names(), Image="sockerless-test/app", Cmd=["other"]))
    assert c["Config"]["Cmd"] == ["other"]
    assert c["Config"]["Entrypoint"] == ["/bin/sh", "/app/run.sh"]
    assert (c["Path"], c["Args"]) == ("/bin/sh", ["/app/run.sh", "other"])


def test_inspect_of_a_created_container(api, names, loaded_images):
    name = names()
    before = now_utc()
    cid = api.create(name, Image="sockerless-test/busybox")
    c = api.inspect(cid)
    assert c["Id"] == cid
    assert c["Name"] == "/" + name
    assert c["Config"]["Image"] == "sockerless-test/busybox"  # as written
    assert c["Image"] == loaded_images.ids[BUSYBOX]
    assert c["Config"]["Hostname"] == cid[:12]
    assert c["Config"]["Env"] == [IMAGE_PATH_ENV]
    assert c["Config"]["Cmd"] == ["sh"]
    assert c["Config"]["Entrypoint"] is None
    assert c["Config"]["WorkingDir"] == ""
    assert (c["Path"], c["Args"]) == ("sh", [])
    assert c["State"]["Status"] == "created"
    assert c["State"]["Running"] is False
    assert c["State"]["ExitCode"] == 0
    assert c["State"]["Pid"] == 0
    assert c["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert c["RestartCount"] == 0
    assert c["Mounts"] == []
    assert c["Config"]["Labels"] == {}
    assert c["NetworkSettings"]["Ports"] == {}
    assert RFC3339_NANO.match(c["Created"]), c["Created"]
    created = parse_rfc3339(c["Created"])
    assert before.replace(microsecond=0) <= created <= now_utc()


def test_cli_create_default_restart_policy(cli, names):
    name = names()
    result = cli("create", "--name", name, BUSYBOX)
    assert result.returncode == 0, result.stderr
    assert HEX64.match(result.stdout.strip()), result.stdout
    result = cli("inspect", "--format", "{{json .HostConfig.RestartPolicy}}", name)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"Name": "no", "MaximumRetryCount": 0}


# --- lookup -------------------------------------------------------------------------------------


def test_lookup_by_id_name_and_prefix(api, names, dclient):
    name = names()
    cid = api.create(name, Image=BUSYBOX)
    for ref in (cid, name, cid[:12], cid[:5]):
        status, body = api.get(f"/containers/{ref}/json")
        assert status == 200, (ref, body)
        assert body["Id"] == cid, ref
    assert dclient.containers.get(cid[:8]).name == name
    assert dclient.containers.get(name).id == cid


@pytest.mark.parametrize(
    "method, path, message",
    [
        ("GET", "/containers/{x}/json", "No such container: {x}"),
        ("POST", "/containers/{x}/start", "No such container: {x}"),
        ("POST", "/containers/{x}/stop", "No such container: {x}"),
        ("POST", "/containers/{x}/restart", "No such container: {x}"),
        ("POST", "/containers/{x}/kill", "Cannot kill container: {x}: No such container: {x}"),
        ("POST", "/containers/{x}/wait", "No such container: {x}"),
        ("POST", "/containers/{x}/pause", "No such container: {x}"),
        ("POST", "/containers/{x}/rename?name=sockerless-e2e-new", "No such container: {x}"),
        ("DELETE", "/containers/{x}", "No such container: {x}"),
        ("GET", "/containers/{x}/logs?stdout=1", "No such container: {x}"),
    ],
)
def test_unknown_container_is_404(api, method, path, message):
    x = unique("sockerless-e2e-nosuch")
    status, body = api.call(method, path.format(x=x))
    assert status == 404
    assert body["message"] == message.format(x=x)


def test_docker_py_unknown_container(dclient):
    with pytest.raises(docker.errors.NotFound):
        dclient.containers.get(unique("sockerless-e2e-nosuch"))


# --- lifecycle ----------------------------------------------------------------------------------


def test_start_runs_the_container_to_its_exit(api, names):
    cid = api.create(names(), Image=BUSYBOX, Cmd=["true"])
    before = now_utc()
    status, body = api.post(f"/containers/{cid}/start")
    assert (status, body) == (204, None)
    assert api.wait(cid) == {"Error": None, "StatusCode": 0}
    state = api.inspect(cid)["State"]
    assert state["Status"] == "exited"
    assert (state["Running"], state["ExitCode"], state["Pid"]) == (False, 0, 0)
    # Not ordered: dockerd may record a quick process's FinishedAt before its StartedAt.
    for stamp in (state["StartedAt"], state["FinishedAt"]):
        assert RFC3339_NANO.match(stamp), stamp
        assert before.replace(microsecond=0) <= parse_rfc3339(stamp) <= now_utc()


def test_start_of_a_running_container_is_304(api, while_running):
    _, (status, body) = while_running(lambda cid: api.post(f"/containers/{cid}/start"))
    assert (status, body) == (304, None)


@pytest.fixture(scope="module", params=["created", "exited"])
def stopped(request, api, cli, loaded_images):
    """(id, name) of a container that is not running: never started, or run to its exit.
    Shared by the tests that do not change it."""
    name = unique(f"sockerless-e2e-{request.param}")
    try:
        cid = api.create(name, Image=BUSYBOX, Cmd=["true"])
        if request.param == "exited":
            api.start(cid)
            api.wait(cid)
        yield cid, name
    finally:
        cli("rm", "-f", name)


def test_stop_of_a_stopped_container_is_304(api, stopped):
    cid, _ = stopped
    assert api.post(f"/containers/{cid}/stop") == (304, None)


def test_kill_of_a_stopped_container_is_409(api, stopped):
    cid, name = stopped
    status, body = api.post(f"/containers/{name}/kill")
    assert status == 409
    assert body["message"] == f"Cannot kill container: {name}: Container {cid} is not running"


def test_kill_with_an_invalid_signal_is_400(api, stopped):
    cid, _ = stopped
    status, body = api.post(f"/containers/{cid}/kill?signal=NOPE")
    assert status == 400
    assert body["message"] == "Invalid signal: NOPE"


def test_sigkill_ends_a_running_container_with_137(api, while_running):
    cid, (status, body) = while_running(
        lambda cid: api.post(f"/containers/{cid}/kill?signal=KILL")
    )
    assert (status, body) == (204, None)
    assert api.wait(cid) == {"Error": None, "StatusCode": 137}
    state = api.inspect(cid)["State"]
    assert (state["Status"], state["Running"], state["ExitCode"]) == ("exited", False, 137)


def test_stop_of_a_running_container(api, while_running):
    cid, (status, body) = while_running(lambda cid: api.post(f"/containers/{cid}/stop?t=0"))
    assert (status, body) == (204, None)
    state = api.inspect(cid)["State"]
    assert (state["Status"], state["Running"]) == ("exited", False)


def test_rm_of_a_running_container_needs_force(api, while_running):
    cid, (status, body) = while_running(lambda cid: api.delete(f"/containers/{cid}"))
    assert status == 409
    assert body["message"] == (
        f"You cannot remove a running container {cid}. "
        "Stop the container before attempting removal or force remove"
    )
    assert api.get(f"/containers/{cid}/json")[0] == 200


def test_rm_force_removes_a_running_container(api, while_running):
    cid, result = while_running(lambda cid: api.delete(f"/containers/{cid}?force=1"))
    assert result == (204, None)
    status, body = api.get(f"/containers/{cid}/json")
    assert (status, body["message"]) == (404, f"No such container: {cid}")


def test_cli_rm_force(cli, api, names):
    name = names()
    api.create(name, Image=BUSYBOX)
    result = cli("rm", "-f", name)
    assert (result.returncode, result.stdout) == (0, name + "\n"), result.stderr
    assert api.get(f"/containers/{name}/json")[0] == 404


def test_wait_of_a_stopped_container_answers_at_once(api, stopped):
    cid, _ = stopped
    assert api.wait(cid, timeout=5) == {"Error": None, "StatusCode": 0}


def test_cli_wait(cli, api, names):
    name = names()
    api.create(name, Image=BUSYBOX, Cmd=["true"])
    api.start(name)
    result = cli("wait", name)
    assert (result.returncode, result.stdout) == (0, "0\n"), result.stderr


def test_manual_restart_does_not_count(api, names):
    # RestartCount counts the restart policy's restarts, not POST /restart.
    cid = api.run_to_exit(names(), Image=BUSYBOX, Cmd=["true"])
    first = api.inspect(cid)
    status, body = api.post(f"/containers/{cid}/restart?t=0")
    assert (status, body) == (204, None)
    api.wait(cid)
    again = api.inspect(cid)
    assert again["RestartCount"] == 0
    assert again["State"]["Status"] == "exited"
    assert parse_rfc3339(again["State"]["StartedAt"]) > parse_rfc3339(first["State"]["StartedAt"])


def test_restart_of_a_created_container_starts_it(api, names):
    cid = api.create(names(), Image=BUSYBOX, Cmd=["true"])
    assert api.post(f"/containers/{cid}/restart?t=0") == (204, None)
    api.wait(cid)
    state = api.inspect(cid)["State"]
    assert state["Status"] == "exited"
    assert state["StartedAt"] != "0001-01-01T00:00:00Z"


def test_rename(api, names, cli):
    old, new = names(), names()
    cid = api.create(old, Image=BUSYBOX)
    assert api.post(f"/containers/{old}/rename?name={new}") == (204, None)
    assert api.inspect(cid)["Name"] == "/" + new
    assert api.get(f"/containers/{new}/json")[1]["Id"] == cid
    status, body = api.get(f"/containers/{old}/json")
    assert (status, body["message"]) == (404, f"No such container: {old}")
    result = cli("rename", new, old)
    assert result.returncode == 0, result.stderr
    assert api.inspect(cid)["Name"] == "/" + old


def test_rename_to_a_taken_name_is_409(api, names):
    first, second = names(), names()
    api.create(first, Image=BUSYBOX)
    taken_by = api.create(second, Image=BUSYBOX)
    status, body = api.post(f"/containers/{first}/rename?name={second}")
    assert status == 409
    assert body["message"] == (
        f'Error when allocating new name: Conflict. The container name "/{second}" is already in '
        f'use by container "{taken_by}". You have to remove (or rename) that container to be able '
        "to reuse that name."
    )


@pytest.mark.parametrize(
    "query, message",
    [
        ("name={same}", "Renaming a container with the same name as its current name"),
        ("name=", "Neither old nor new names may be empty"),
        ("", "Neither old nor new names may be empty"),
        (
            "name=bad%20name",
            f"Error when allocating new name: Invalid container name (/bad name), {NAME_RULE}",
        ),
    ],
    ids=["same", "empty", "missing", "invalid"],
)
def test_rename_bad_requests_are_400(api, names, query, message):
    name = names()
    api.create(name, Image=BUSYBOX)
    status, body = api.post(f"/containers/{name}/rename?" + query.format(same=name))
    assert status == 400
    assert body["message"] == message


def test_pause_and_unpause_of_a_running_container(api, while_running, target_is_sockerless):
    def check(cid):
        return (
            api.post(f"/containers/{cid}/pause"),
            api.inspect(cid)["State"],
            api.post(f"/containers/{cid}/pause"),
            api.post(f"/containers/{cid}/unpause"),
            api.inspect(cid)["State"],
            api.post(f"/containers/{cid}/unpause"),
        )

    cid, (pause, paused, pause_again, unpause, unpaused, unpause_again) = while_running(check)
    assert pause == (204, None)
    assert (paused["Status"], paused["Paused"], paused["Running"]) == ("paused", True, True)
    assert pause_again[0] == 409
    assert pause_again[1]["message"] == f"Container {cid} is already paused"
    assert unpause == (204, None)
    assert (unpaused["Status"], unpaused["Paused"]) == ("running", False)
    assert not_running_status(target_is_sockerless, unpause_again[0]), unpause_again
    assert unpause_again[1]["message"] == f"Container {cid} is not paused"


def test_pause_and_unpause_of_a_stopped_container(api, stopped, target_is_sockerless):
    cid, _ = stopped
    status, body = api.post(f"/containers/{cid}/pause")
    assert (status, body["message"]) == (409, f"Container {cid} is not running")
    status, body = api.post(f"/containers/{cid}/unpause")
    assert not_running_status(target_is_sockerless, status), (status, body)
    assert body["message"] == f"Container {cid} is not paused"


# --- list ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listed(api, cli, loaded_images):
    """Two containers labelled with a unique run label: an exited busybox, a created app."""
    run = unique("list")
    exited_name, created_name = f"sockerless-e2e-{run}-exited", f"sockerless-e2e-{run}-created"
    labels = {"e2e.run": run}
    try:
        exited = api.run_to_exit(
            exited_name, Image="sockerless-test/busybox", Cmd=["true"],
            Labels=dict(labels, **{"e2e.role": "exited"}),
        )
        created = api.create(
            created_name, Image="sockerless-test/app", Labels=dict(labels, **{"e2e.role": "created"})
        )
        yield {"run": run, "exited": (exited, exited_name), "created": (created, created_name)}
    finally:
        cli("rm", "-f", exited_name, created_name)


def ps_names(cli, *args):
    result = cli("ps", "--format", "{{.Names}}", *args)
    assert result.returncode == 0, result.stderr
    return sorted(result.stdout.split())


@pytest.mark.parametrize(
    "flt, expected",
    [
        ("name={exited_name}", ["exited"]),
        ("name=sockerless-e2e-{run}", ["created", "exited"]),
        ("label=e2e.role", ["created", "exited"]),
        ("label=e2e.role=exited", ["exited"]),
        ("label=org.sockerless.test=app", ["created"]),  # from the image
        ("status=exited", ["exited"]),
        ("status=created", ["created"]),
        ("status=running", []),
        ("id={exited_id12}", ["exited"]),
        ("ancestor=sockerless-test/app", ["created"]),
        ("ancestor=sockerless-test/busybox:latest", ["exited"]),
    ],
)
def test_ps_filters(cli, listed, flt, expected):
    exited_id, exited_name = listed["exited"]
    value = flt.format(run=listed["run"], exited_name=exited_name, exited_id12=exited_id[:12])
    got = ps_names(cli, "-a", "--filter", f"label=e2e.run={listed['run']}", "--filter", value)
    assert got == sorted(listed[key][1] for key in expected)


def test_list_all_and_limit(api, listed):
    scope = quote(json.dumps({"label": [f"e2e.run={listed['run']}"]}))
    status, running = api.get(f"/containers/json?filters={scope}")
    assert (status, running) == (200, [])  # none is running
    status, every = api.get(f"/containers/json?all=1&filters={scope}")
    assert status == 200
    assert sorted(c["Id"] for c in every) == sorted([listed["exited"][0], listed["created"][0]])
    status, newest = api.get(f"/containers/json?limit=1&filters={scope}")
    assert status == 200
    assert [c["Id"] for c in newest] == [listed["created"][0]]


def test_list_entry(api, listed, loaded_images):
    scope = quote(json.dumps({"label": [f"e2e.run={listed['run']}"], "status": ["created"]}))
    status, entries = api.get(f"/containers/json?all=1&filters={scope}")
    assert status == 200 and len(entries) == 1, entries
    entry = entries[0]
    assert entry["Id"] == listed["created"][0]
    assert entry["Names"] == ["/" + listed["created"][1]]
    assert entry["Image"] == "sockerless-test/app"
    assert entry["ImageID"] == loaded_images.ids[APP]
    assert entry["Command"] == "/bin/sh /app/run.sh default-arg"
    assert entry["State"] == "created"
    assert entry["Status"] == "Created"
    assert entry["Labels"] == {
        "org.sockerless.test": "app", "e2e.run": listed["run"], "e2e.role": "created"
    }
    assert entry["Mounts"] == []
    assert isinstance(entry["Created"], int)


def test_docker_py_list(dclient, listed):
    found = dclient.containers.list(all=True, filters={"label": f"e2e.run={listed['run']}"})
    assert sorted(c.name for c in found) == sorted([listed["exited"][1], listed["created"][1]])
    status = {c.name: c.status for c in found}
    assert status[listed["exited"][1]] == "exited"
    assert status[listed["created"][1]] == "created"


def test_list_with_bad_filter_json_is_400(api, target_is_sockerless):
    status, body = api.get("/containers/json?filters=notjson")
    if target_is_sockerless:
        assert status == 400
    else:
        assert status >= 400  # dockerd 20.10 answers 500
    assert body["message"]


@pytest.mark.parametrize(
    "flt, message",
    [
        ({"nokey": ["x"]}, "Invalid filter 'nokey'"),
        ({"status": ["bogus"]}, "Invalid filter 'status=bogus'"),
    ],
)
def test_list_with_unknown_filter_is_400(api, flt, message):
    status, body = api.get(f"/containers/json?filters={quote(json.dumps(flt))}")
    assert (status, body["message"]) == (400, message)


# --- logs ---------------------------------------------------------------------------------------

TWO_LINES = ["sh", "-c", "echo one; echo two"]
BOTH_STREAMS = ["sh", "-c", "echo out; echo err >&2"]


@pytest.fixture(scope="module")
def logged(api, cli, loaded_images):
    """A container of TWO_LINES started twice, and one of BOTH_STREAMS started once."""
    twice, both = unique("sockerless-e2e-logs-twice"), unique("sockerless-e2e-logs-both")
    try:
        begin = now_utc()
        api.run_to_exit(twice, Image=BUSYBOX, Cmd=TWO_LINES)
        api.start(twice)
        api.wait(twice)
        api.run_to_exit(both, Image=BUSYBOX, Cmd=BOTH_STREAMS)
        yield {"twice": twice, "both": both, "begin": begin}
    finally:
        cli("rm", "-f", twice, both)


def frames(data):
    """Splits a multiplexed stream into (stream, payload) frames."""
    out = []
    while data:
        assert len(data) >= 8, f"truncated frame header: {data!r}"
        stream, zeros, size = data[0], data[1:4], int.from_bytes(data[4:8], "big")
        assert zeros == b"\0\0\0", data[:8]
        assert len(data) >= 8 + size, "truncated frame"
        out.append((stream, data[8:8 + size]))
        data = data[8 + size:]
    return out


def test_cli_logs_of_a_stopped_container(cli, logged, target_is_sockerless):
    result = cli("logs", logged["both"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == printed(target_is_sockerless, BOTH_STREAMS, ["out"])
    assert result.stderr.splitlines() == printed_err(target_is_sockerless, ["err"])


def test_logs_accumulate_over_runs(cli, logged, target_is_sockerless):
    result = cli("logs", logged["twice"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == 2 * printed(target_is_sockerless, TWO_LINES, ["one", "two"])


@pytest.mark.parametrize("tail", ["0", "1", "3", "all"])
def test_logs_tail(cli, logged, target_is_sockerless, tail):
    result = cli("logs", "--tail", tail, logged["twice"])
    assert result.returncode == 0, result.stderr
    every = 2 * printed(target_is_sockerless, TWO_LINES, ["one", "two"])
    expected = every if tail == "all" else every[max(0, len(every) - int(tail)):]
    assert result.stdout.splitlines() == expected


def test_logs_timestamps(cli, logged, target_is_sockerless):
    result = cli("logs", "--timestamps", logged["twice"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == 2 * printed(
        target_is_sockerless, TWO_LINES, ["one", "two"]
    )
    stamps = [line.split(" ", 1)[0] for line in lines]
    for stamp in stamps:
        assert RFC3339_NANO.match(stamp), stamp
    times = [parse_rfc3339(s) for s in stamps]
    assert times == sorted(times)
    assert logged["begin"].replace(microsecond=0) <= times[0] and times[-1] <= now_utc()


@pytest.mark.parametrize(
    "query, stdout, stderr",
    [
        ("stdout=1&stderr=1", True, True),
        ("stdout=1", True, False),
        ("stderr=1", False, True),
    ],
)
def test_raw_logs_are_multiplexed(api, raw, logged, target_is_sockerless, query, stdout, stderr):
    status, _, data = raw.request("GET", f"/v{api.version}/containers/{logged['both']}/logs?{query}")
    assert status == 200
    got = frames(data)
    assert {stream for stream, _ in got} <= {1, 2}
    out = b"".join(payload for stream, payload in got if stream == 1).decode()
    err = b"".join(payload for stream, payload in got if stream == 2).decode()
    want_out = printed(target_is_sockerless, BOTH_STREAMS, ["out"]) if stdout else []
    want_err = printed_err(target_is_sockerless, ["err"]) if stderr else []
    assert out.splitlines() == want_out
    assert err.splitlines() == want_err


def test_logs_of_a_never_started_container_are_empty(api, raw, names, cli):
    name = names()
    api.create(name, Image=BUSYBOX)
    status, _, data = raw.request(
        "GET", f"/v{api.version}/containers/{name}/logs?stdout=1&stderr=1"
    )
    assert (status, data) == (200, b"")
    result = cli("logs", name)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_logs_without_a_stream_is_400(api, names):
    name = names()
    api.create(name, Image=BUSYBOX)
    status, body = api.get(f"/containers/{name}/logs")
    assert status == 400
    assert body["message"] == "Bad parameters: you must choose at least one stream"


# --- run ----------------------------------------------------------------------------------------


def test_run_rm(cli, api, names, target_is_sockerless):
    name = names()
    result = cli("run", "--rm", "--name", name, BUSYBOX, "echo", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == printed(target_is_sockerless, ["echo", "hi"], ["hi"])
    status, body = api.get(f"/containers/{name}/json")
    assert (status, body["message"]) == (404, f"No such container: {name}")


def test_run_detached_then_wait(cli, api, names):
    name = names()
    result = cli("run", "-d", "--name", name, BUSYBOX, "true")
    assert result.returncode == 0, result.stderr
    cid = result.stdout.strip()
    assert HEX64.match(cid), result.stdout
    result = cli("wait", name)
    assert (result.returncode, result.stdout) == (0, "0\n"), result.stderr
    c = api.inspect(cid)
    assert (c["Name"], c["State"]["Status"], c["State"]["ExitCode"]) == ("/" + name, "exited", 0)


def test_run_with_name_then_rm(cli, names):
    name = names()
    result = cli("run", "--name", name, BUSYBOX, "true")
    assert (result.returncode, result.stderr) == (0, "")
    result = cli("rm", name)
    assert (result.returncode, result.stdout) == (0, name + "\n"), result.stderr
    result = cli("rm", name)
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error response from daemon: No such container: {name}"


def test_docker_py_run(dclient, names, target_is_sockerless):
    name = names()
    output = dclient.containers.run(BUSYBOX, ["echo", "hi"], name=name)
    assert output.decode().splitlines() == printed(target_is_sockerless, ["echo", "hi"], ["hi"])
    assert dclient.containers.get(name).attrs["State"]["ExitCode"] == 0


def test_events_of_a_run(cli, names):
    name = names()
    since = time.time()
    result = cli("run", "--name", name, BUSYBOX, "true")
    assert result.returncode == 0, result.stderr
    result = cli("rm", name)
    assert result.returncode == 0, result.stderr
    result = cli(
        "events", "--since", f"{since - 1:.9f}", "--until", f"{time.time() + 0.2:.9f}",
        "--filter", f"container={name}", "--format", "{{json .}}", timeout=10,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    mine = [e for e in events if e["Type"] == "container"]
    actions = [e["Action"] for e in mine]
    wanted = ["create", "start", "die", "destroy"]
    assert [a for a in actions if a in wanted] == wanted, actions
    cid = mine[0]["Actor"]["ID"]
    for event in mine:
        assert event["Actor"]["ID"] == cid
        attributes = event["Actor"]["Attributes"]
        assert attributes["name"] == name, event
        assert attributes["image"] == BUSYBOX, event
        assert (event["status"], event["id"], event["from"]) == (event["Action"], cid, BUSYBOX)
        assert event["scope"] == "local"
        assert event["timeNano"] // 10**9 == event["time"]
    die = next(e for e in mine if e["Action"] == "die")
    assert die["Actor"]["Attributes"]["exitCode"] == "0"


# --- the synthetic driver (sockerless) ----------------------------------------------------------


@sockerless_only
def test_synthetic_run_prints_the_command_line(cli, names):
    name = names()
    result = cli("run", "--name", name, BUSYBOX, "echo", "hi")
    assert (result.returncode, result.stdout, result.stderr) == (0, "echo hi\n", "")
    result = cli("logs", name)
    assert (result.returncode, result.stdout, result.stderr) == (0, "echo hi\n", "")


@sockerless_only
def test_synthetic_container_exits_by_itself(api, names):
    cid = api.create(names(), Image=BUSYBOX, Cmd=["sleep", "30"])
    started = time.monotonic()
    api.start(cid)
    assert api.wait(cid, timeout=5) == {"Error": None, "StatusCode": 0}
    assert time.monotonic() - started < 1
    state = api.inspect(cid)["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 0)


@sockerless_only
@pytest.mark.parametrize("signal, code", [("KILL", 137), ("TERM", 0), ("HUP", 0)])
def test_synthetic_kill_exit_codes(cli, api, while_running, signal, code):
    cid, result = while_running(lambda cid: cli("kill", "-s", signal, cid))
    assert result.returncode == 0, result.stderr
    assert api.wait(cid) == {"Error": None, "StatusCode": code}


@sockerless_only
def test_synthetic_stop_exits_with_0(api, while_running):
    cid, result = while_running(lambda cid: api.post(f"/containers/{cid}/stop"))
    assert result == (204, None)
    assert api.inspect(cid)["State"]["ExitCode"] == 0
