"""HostConfig members of real containers: each one is either honoured, with an effect seen from
inside the container (its namespaces, its cgroup's files, its mounts), or refused at create with
400. Validation messages are dockerd's, so the same tests pass against a real dockerd
(SOCKERLESS_E2E_DOCKER_HOST); refusals that only sockerless makes are `sockerless_only`.

The cgroup checks read cgroup v1 files and are skipped on a cgroup v2 host.
"""

import json
import os
import socket
import stat
import time
import urllib.request

import pytest

from conftest import external_host
from e2e_helpers import RawClient, ok, wait_until
from images_fixture import BUSYBOX, proc_images, proc_names  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("proc_images")

CGROUP_V1 = os.path.isdir("/sys/fs/cgroup/memory")
v1_only = pytest.mark.skipif(not CGROUP_V1, reason="reads cgroup v1 files")


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def run(dk, proc_names):
    """Runs `sh -c script` in a busybox container with extra `docker run` options, waits for
    it and returns its output. No --rm: the fixture removes it (a run whose start fails must
    not wait for an auto-remove)."""

    def make(script, *options):
        return dk("run", "--name", proc_names("hc"), *options, BUSYBOX, "sh", "-c", script)

    return make


@pytest.fixture
def run_fails(dk, proc_names):
    """Runs a container expected not to be created or started; returns the CLI's stderr."""

    def make(*options, script="true"):
        result = dk.run("run", "--name", proc_names("hc"), *options, BUSYBOX, "sh", "-c", script)
        assert result.returncode != 0, f"{options} ran: {result.stdout}"
        return result.stderr

    return make


@pytest.fixture
def sleeper(dk, proc_names):
    """Starts a detached busybox container sleeping, with extra `docker run` options; returns
    its name."""

    def make(*options, script="sleep 300"):
        name = proc_names("hc-bg")
        dk("run", "-d", "--name", name, *options, BUSYBOX, "sh", "-c", script)
        return name

    return make


@pytest.fixture(scope="module")
def api(proc_host):
    """Versioned raw API calls: api(method, path, body) -> (status, decoded body or None)."""
    raw = RawClient(proc_host)
    status, _, version = raw.request_json("GET", "/version")
    assert status == 200
    prefix = "/v" + min(version["ApiVersion"], "1.41", key=lambda v: tuple(map(int, v.split("."))))

    def call(method, path, body=None, timeout=60):
        # dockerd looks for a missing plugin (log or volume driver) for a while
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, _, data = raw.request(method, prefix + path,
                                      body=json.dumps(body) if body is not None else None,
                                      headers=headers, timeout=timeout)
        return status, (json.loads(data) if data else None)

    return call


@pytest.fixture
def create(api, proc_names):
    """create(host_config, **config) -> (status, body): POST /containers/create of a busybox
    `true` with that HostConfig (and other Config members); removed afterwards."""

    def make(host_config, **config):
        name = proc_names("hc-api")
        body = {"Image": BUSYBOX, "Cmd": ["true"], "HostConfig": host_config, **config}
        return api("POST", f"/containers/create?name={name}", body)

    return make


def refused(create, host_config, text):
    """Asserts create answers 400 with `text` in the message (dockerd 20.10 answers some of its
    validation errors with 500)."""
    code, body = create(host_config)
    assert code in (400, 500) and text in body["message"], (host_config, code, body)
    if code == 500:
        assert not target_is_sockerless(), (host_config, code, body)


def target_is_sockerless():
    return external_host() is None


def inspect(dk, name):
    return json.loads(dk("inspect", name))[0]


def own_ns(kind):
    return os.readlink(f"/proc/self/ns/{kind}")


# --- defaults -----------------------------------------------------------------------------------


def test_the_clients_defaults_are_accepted(dk, proc_client, run, create):
    """What the CLI and docker-py send for every container (empty strings, zeros, -1 swappiness,
    an empty LogConfig, empty PortBindings) is never refused."""
    assert run("echo ok") == "ok\n"
    assert proc_client.containers.run(BUSYBOX, ["echo", "py"], remove=True) == b"py\n"
    status, body = create({
        "LogConfig": {"Type": "", "Config": {}}, "PortBindings": {}, "IpcMode": "",
        "PidMode": "", "UTSMode": "", "UsernsMode": "", "CgroupnsMode": "", "Cgroup": "",
        "CgroupParent": "", "Isolation": "", "VolumeDriver": "", "VolumesFrom": None,
        "Links": None, "MemorySwappiness": -1, "OomKillDisable": False, "BlkioWeight": 0,
        "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpusetCpus": "",
        "CpusetMems": "", "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpuCount": 0,
        "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MemoryReservation": 0,
        "KernelMemoryTCP": 0, "DeviceCgroupRules": None, "DeviceRequests": None,
        "PublishAllPorts": False, "ContainerIDFile": "", "MaskedPaths": None,
        "ReadonlyPaths": None,
    })
    assert status == 201 and body["Warnings"] == [], body
    hc = inspect(dk, body["Id"])["HostConfig"]
    assert hc["MemorySwappiness"] is None
    assert hc["IpcMode"] == "private"
    assert hc["LogConfig"]["Type"] == "json-file"
    assert hc["CgroupnsMode"] in ("host", "private")


# --- namespaces ---------------------------------------------------------------------------------


def test_pid_host_shows_the_hosts_processes(run):
    own = int(run("ls /proc | grep -c '^[0-9]'"))
    host = int(run("ls /proc | grep -c '^[0-9]'", "--pid", "host"))
    assert own <= 3 and host > own + 3, (own, host)
    assert run("readlink /proc/self/ns/pid", "--pid", "host").strip() == own_ns("pid")


def test_pid_container_joins_its_namespace(run, sleeper):
    donor = sleeper(script="exec sleep 301")
    out = run("ps -o args", "--pid", f"container:{donor}")
    assert "sleep 301" in out, out


def test_pid_and_ipc_container_name_the_full_id(dk, sleeper, proc_names):
    donor = sleeper("--ipc", "shareable")
    name = proc_names("hc")
    dk("create", "--name", name, "--pid", f"container:{donor}", "--ipc", f"container:{donor}",
       BUSYBOX, "true")
    full = inspect(dk, donor)["Id"]
    hc = inspect(dk, name)["HostConfig"]
    assert hc["PidMode"] == f"container:{full}"
    assert hc["IpcMode"] == f"container:{full}"


def test_pid_container_must_exist_and_run(dk, create, run_fails, proc_names):
    refused(create, {"PidMode": "container:sockerless-no-such"},
            "No such container: sockerless-no-such")
    stopped = proc_names("hc")
    dk("create", "--name", stopped, BUSYBOX, "true")
    assert "is not running" in run_fails("--pid", f"container:{stopped}")


def test_ipc_host_uses_the_hosts_namespace_and_shm(run):
    out = run("readlink /proc/self/ns/ipc; grep ' /dev/shm ' /proc/mounts", "--ipc", "host")
    lines = out.splitlines()
    assert lines[0] == own_ns("ipc")
    assert len(lines) == 2 and "size=65536k" not in lines[1], out


def test_ipc_none_has_no_dev_shm(run):
    assert run("grep -c ' /dev/shm ' /proc/mounts || true", "--ipc", "none").strip() == "0"
    assert run("readlink /proc/self/ns/ipc", "--ipc", "none").strip() != own_ns("ipc")


def test_ipc_container_joins_a_shareable_donor(dk, run, sleeper, run_fails):
    donor = sleeper("--ipc", "shareable")
    theirs = dk("exec", donor, "readlink", "/proc/self/ns/ipc").strip()
    assert run("readlink /proc/self/ns/ipc", "--ipc", f"container:{donor}").strip() == theirs
    private = sleeper()
    assert "non-shareable IPC" in run_fails("--ipc", f"container:{private}")


def test_uts_host_has_the_hosts_hostname(run, create):
    out = run("hostname; cat /etc/hostname", "--uts", "host").splitlines()
    assert out[0] == socket.gethostname()
    assert out[1] != out[0]  # /etc/hostname keeps the container's name, as in dockerd
    code, body = create({"UTSMode": "host"}, Hostname="x")
    assert code == 400 and "conflicting options: hostname and the UTS mode" in body["message"]


def test_cgroupns_private_hides_the_hosts_cgroup_paths(run):
    lines = run("cat /proc/self/cgroup", "--cgroupns", "private").splitlines()
    assert lines and all(line.endswith(":/") for line in lines), lines
    host = run("cat /proc/self/cgroup", "--cgroupns", "host").splitlines()
    assert any(not line.endswith(":/") for line in host), host


def test_invalid_namespace_modes_are_refused(create):
    refused(create, {"CgroupnsMode": "foo"}, "invalid cgroup namespace mode: foo")


@pytest.mark.sockerless_only
def test_invalid_namespace_modes_are_refused_at_create(create):
    # dockerd 20.10 accepts these at create (newer ones refuse them with these messages)
    refused(create, {"PidMode": "foo"}, "invalid PID mode: foo")
    refused(create, {"IpcMode": "foo"}, "invalid IPC mode: foo")
    refused(create, {"UTSMode": "foo"}, "invalid UTS mode: foo")


# --- cgroups ------------------------------------------------------------------------------------


def test_cgroup_parent_places_the_cgroup(run, proc_names):
    parent = "/" + proc_names("hc-parent")
    try:
        lines = run("cat /proc/self/cgroup", "--cgroup-parent", parent).splitlines()
        pids = [line for line in lines if ":pids:" in line or line.startswith("0::")]
        assert pids and all(f":{parent}/" in line for line in pids), lines
    finally:
        remove_cgroups(parent[1:])


def remove_cgroups(name):
    """Removes the cgroup directories `name` the runtime made under each hierarchy's root (the
    container's own one inside is gone once the runtime has deleted it, soon after its exit)."""
    for _ in range(50):
        left = []
        for base, dirs, _ in os.walk("/sys/fs/cgroup"):
            if os.path.basename(base) == name:
                try:
                    os.rmdir(base)
                except OSError:
                    left.append(base)
            if base.count("/") > 4:
                dirs.clear()
        if not left:
            return
        time.sleep(0.1)


def test_cpuset_cpus_limits_the_cpus(run, create):
    out = run("nproc; grep Cpus_allowed_list /proc/self/status", "--cpuset-cpus", "0")
    assert out.split() == ["1", "Cpus_allowed_list:", "0"], out
    ncpu = os.cpu_count()
    refused(create, {"CpusetCpus": str(ncpu + 90)},
            f"Requested CPUs are not available - requested {ncpu + 90}")
    refused(create, {"CpusetCpus": "1-0"}, "Invalid value 1-0 for cpuset cpus: invalid format: 1-0")
    refused(create, {"CpusetCpus": "9000"}, "value of out range, maximum is 8192")
    refused(create, {"CpusetMems": "77"}, "Requested memory nodes are not available")


@v1_only
def test_memory_reservation_swappiness_and_oom_killer(run, create):
    out = run("cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes "
              "/sys/fs/cgroup/memory/memory.swappiness; "
              "grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control",
              "--memory-reservation", "10m", "--memory-swappiness", "7", "--oom-kill-disable",
              "-m", "20m")
    assert out.split() == [str(10 << 20), "7", "oom_kill_disable", "1"], out
    refused(create, {"MemoryReservation": 1024}, "Minimum memory reservation allowed is 6MB")
    refused(create, {"MemoryReservation": 10 << 20, "Memory": 8 << 20},
            "Minimum memory limit can not be less than memory reservation limit")
    refused(create, {"MemorySwappiness": 101},
            "Invalid value: 101, valid memory swappiness range is 0-100")


def test_oom_kill_disable_without_a_limit_warns(create):
    code, body = create({"OomKillDisable": True})
    assert code == 201, body
    assert any("OOM killer is disabled" in w for w in body["Warnings"]), body


@v1_only
def test_device_cgroup_rule_allows_the_devices(run):
    out = run("cat /sys/fs/cgroup/devices/devices.list", "--device-cgroup-rule", "c 42:* rmw")
    assert "c 42:* rwm" in out.splitlines(), out


def test_device_cgroup_rule_format_is_checked(api, create):
    # dockerd 20.10 checks the format when it starts the container, sockerless at create
    code, body = create({"DeviceCgroupRules": ["c 1:3"]})
    if code == 201:
        code, body = api("POST", f"/containers/{body['Id']}/start")
    assert code >= 400 and body["message"] == "invalid device cgroup rule format: 'c 1:3'", body


def first_block_device():
    for name in sorted(os.listdir("/dev")):
        path = "/dev/" + name
        try:
            if stat.S_ISBLK(os.stat(path).st_mode):
                return path, os.stat(path).st_rdev
        except OSError:
            continue
    pytest.skip("no block device on this host")


@v1_only
def test_device_read_bps_throttles_the_device(run):
    if not os.path.exists("/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device"):
        pytest.skip("no blkio throttling on this host")
    path, rdev = first_block_device()
    out = run("cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device",
              "--device-read-bps", f"{path}:1mb", "--device-write-iops", f"{path}:50")
    assert f"{os.major(rdev)}:{os.minor(rdev)} 1048576" in out.splitlines(), out


def test_blkio_device_must_exist_at_start(api, proc_names):
    name = proc_names("hc")
    status, _ = api("POST", f"/containers/create?name={name}", {
        "Image": BUSYBOX, "Cmd": ["true"],
        "HostConfig": {"BlkioDeviceReadBps": [{"Path": "/dev/sockerless-nosuch", "Rate": 5}]}})
    assert status == 201
    status, body = api("POST", f"/containers/{name}/start")
    assert status >= 400 and "/dev/sockerless-nosuch" in body["message"], body


def test_blkio_weight_is_applied_or_discarded_with_a_warning(create):
    code, body = create({"BlkioWeight": 500})
    assert code == 201, body
    supported = os.path.exists("/sys/fs/cgroup/blkio/blkio.weight") or \
        os.path.exists("/sys/fs/cgroup/blkio/blkio.bfq.weight")
    if CGROUP_V1 and not supported:
        assert body["Warnings"] == ["Your kernel does not support Block I/O weight or the cgroup "
                                    "is not mounted. Weight discarded."]


def test_cpu_realtime_values_are_checked(create):
    refused(create, {"CpuRealtimePeriod": 1000, "CpuRealtimeRuntime": 2000},
            "cpu real-time runtime cannot be higher than cpu real-time period")


def test_windows_only_members(create):
    code, body = create({"CpuPercent": 50})
    assert code == 201 and "linux does not support CPU percent. Percent discarded." in \
        body["Warnings"], body
    code, body = create({"IOMaximumIOps": 5})
    assert code >= 400 and "Invalid QoS settings: linux does not support" in body["message"]
    code, body = create({"IOMaximumBandwidth": 5})
    assert code >= 400 and "Invalid QoS settings: linux does not support" in body["message"]
    code, body = create({"Isolation": "hyperv"})
    assert code >= 400 and body["message"] == \
        "Invalid isolation: \"hyperv\" - linux only supports 'default'"
    code, body = create({"Isolation": "default"})
    assert code == 201, body


@pytest.mark.sockerless_only
def test_cpu_count_is_discarded_with_a_warning(create):
    code, body = create({"CpuCount": 2})
    assert code == 201 and "linux does not support CPU count. Count discarded." in \
        body["Warnings"], body


# --- volumes, links, ports, logging -------------------------------------------------------------


def test_volumes_from_shares_the_mounts(dk, run, proc_names, run_fails):
    donor = proc_names("hc")
    volume = proc_names("hc-vol")
    dk("run", "--name", donor, "-v", f"{volume}:/named", "-v", "/anon", BUSYBOX, "sh", "-c",
       "echo n > /named/f; echo a > /anon/f")
    try:
        assert run("cat /named/f /anon/f", "--volumes-from", donor).split() == ["n", "a"]
        out = run("touch /named/g 2>&1 || true", "--volumes-from", f"{donor}:ro")
        assert "Read-only file system" in out, out
        stderr = run_fails("--volumes-from", f"{donor}:xyz")
        assert "invalid mode: xyz" in stderr
        assert "No such container: sockerless-no-such" in \
            run_fails("--volumes-from", "sockerless-no-such")
    finally:
        users = dk.run("ps", "-aq", "--filter", f"volume={volume}").stdout.split()
        dk.run("rm", "-f", donor, *users)
        dk.run("volume", "rm", volume)


def test_links_to_a_missing_container_are_refused(create):
    refused(create, {"Links": ["sockerless-no-such:alias"]},
            "could not get container for sockerless-no-such")


@pytest.mark.sockerless_only
def test_links_are_refused(create, sleeper):
    other = sleeper()
    refused(create, {"Links": [f"{other}:alias"]}, "Links is not supported by sockerless")


def test_port_binding_to_the_same_port_is_reachable(dk, sleeper):
    port = 18000 + os.getpid() % 1000
    name = sleeper("-p", f"{port}:{port}",
                   script=f"mkdir /www; echo hello > /www/index.html; httpd -f -p {port} -h /www")

    def fetch():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2).read()
        except OSError:
            return None

    assert wait_until(fetch, timeout=10, what=f"httpd on port {port}") == b"hello\n"
    bindings = inspect(dk, name)["HostConfig"]["PortBindings"]
    assert bindings == {f"{port}/tcp": [{"HostIp": "", "HostPort": str(port)}]}


def test_invalid_port_bindings_are_refused(create):
    refused(create, {"PortBindings": {"abc/tcp": [{"HostPort": "80"}]}},
            'invalid port specification: "abc"')
    refused(create, {"PortBindings": {"80/tcp": [{"HostPort": "x"}]}},
            'invalid port specification: "x"')


@pytest.mark.sockerless_only
def test_port_bindings_that_need_a_proxy_are_refused(create):
    refused(create, {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}},
            "PortBindings is not supported by sockerless: host port 8080")
    refused(create, {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "80"}]}},
            "PortBindings is not supported by sockerless: host address 127.0.0.1")
    code, body = create({"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": ""}]},
                         "PublishAllPorts": True})
    assert code == 201, body


def test_log_config_is_checked(create):
    refused(create, {"LogConfig": {"Type": "foo", "Config": {}}},
            'error looking up logging plugin foo: plugin "foo" not found')
    refused(create, {"LogConfig": {"Type": "json-file", "Config": {"foo": "bar"}}},
            "unknown log opt 'foo' for json-file log driver")
    code, body = create({"LogConfig": {"Type": "json-file", "Config": {}}})
    assert code == 201, body


@pytest.mark.sockerless_only
def test_log_drivers_and_options_not_kept_are_refused(create):
    refused(create, {"LogConfig": {"Type": "none", "Config": {}}},
            "LogConfig is not supported by sockerless: log driver \"none\"")
    refused(create, {"LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}}},
            "LogConfig is not supported by sockerless: json-file option max-size")


def test_volume_driver_other_than_local_fails_for_a_volume(create):
    code, body = create({"VolumeDriver": "sockerless-nosuch", "Binds": ["/data"]})
    assert code == 404 and 'plugin "sockerless-nosuch" not found' in body["message"], body


def test_runtime_must_be_known(create):
    refused(create, {"Runtime": "sockerless-nosuch"}, "Unknown runtime specified sockerless-nosuch")


# --- what cannot be honoured here ---------------------------------------------------------------


@pytest.mark.sockerless_only
def test_gpus_are_refused(dk, proc_names):
    result = dk.run("create", "--name", proc_names("hc"), "--gpus", "all", BUSYBOX, "true")
    assert result.returncode != 0
    assert "DeviceRequests is not supported by sockerless" in result.stderr


@pytest.mark.sockerless_only
def test_members_that_cannot_be_honoured_are_refused(create):
    refused(create, {"UsernsMode": "private"}, "UsernsMode is not supported by sockerless")
    refused(create, {"Cgroup": "container:x"}, "Cgroup is not supported by sockerless")
    refused(create, {"StorageOpt": {"size": "1G"}}, "StorageOpt is not supported by sockerless")
    refused(create, {"KernelMemory": 10 << 20}, "KernelMemory is not supported by sockerless")
    code, body = create({"UsernsMode": "host", "StorageOpt": {}})
    assert code == 201, body
