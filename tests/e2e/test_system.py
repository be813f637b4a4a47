"""System endpoints: /_ping, version negotiation, errors, common headers, /version, /info."""

import json
import os
import socket
import time

import pytest

from e2e_helpers import parse_rfc3339

sockerless_only = pytest.mark.sockerless_only

# Go's names for the machine architectures, as Docker reports them in /version.
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def is_json(headers):
    return headers.get("Content-Type", "").split(";")[0].strip() == "application/json"


def meminfo_total_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


# --- /_ping -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", pytest.param("POST", marks=sockerless_only)])
def test_ping(raw, api_version, method):
    status, headers, body = raw.request(method, "/_ping")
    assert status == 200
    assert body == (b"" if method == "HEAD" else b"OK")
    assert headers.get("Api-Version") == api_version
    assert headers.get("Ostype") == "linux"
    assert headers.get("Server")
    assert headers.get("Docker-Experimental") in ("true", "false")
    assert headers.get("Cache-Control") == "no-cache, no-store, must-revalidate"
    assert headers.get("Pragma") == "no-cache"


# --- Version prefix -----------------------------------------------------------------------------


@pytest.mark.parametrize("versioned", [False, True], ids=["bare", "versioned"])
def test_ping_with_and_without_version_prefix(raw, api_version, versioned):
    path = f"/v{api_version}/_ping" if versioned else "/_ping"
    status, _, body = raw.request("GET", path)
    assert (status, body) == (200, b"OK")


def test_oldest_version_we_support_is_accepted(raw):
    # 1.24 is sockerless's minimum; dockerd 20.10 accepts down to 1.12.
    status, _, body = raw.request_json("GET", "/v1.24/version")
    assert status == 200
    assert body["Os"] == "linux"


def test_too_new_version_is_refused(raw, api_version):
    status, headers, body = raw.request_json("GET", "/v1.99/version")
    assert status == 400
    assert is_json(headers)
    assert body["message"] == (
        f"client version 1.99 is too new. Maximum supported API version is {api_version}"
    )


def test_too_old_version_is_refused(raw, target_is_sockerless):
    _, _, version = raw.request_json("GET", "/version")
    status, headers, data = raw.request("GET", "/v1.10/version")
    assert status == 400
    if target_is_sockerless:
        # dockerd 20.10 answers text/plain here; sockerless answers JSON like its other errors.
        assert is_json(headers)
        message = json.loads(data)["message"]
    else:
        message = data.decode()
    assert "client version 1.10 is too old" in message
    assert f"Minimum supported API version is {version['MinAPIVersion']}" in message


# --- Errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("versioned", [False, True], ids=["bare", "versioned"])
def test_unknown_route_is_404(raw, api_version, versioned):
    path = f"/v{api_version}/nope" if versioned else "/nope"
    status, headers, body = raw.request_json("GET", path)
    assert status == 404
    assert is_json(headers)
    assert body["message"] == "page not found"


@sockerless_only
def test_wrong_method_is_405(raw, api_version):
    # dockerd 20.10 answers 404 "page not found" here.
    status, headers, body = raw.request_json("DELETE", f"/v{api_version}/version")
    assert status == 405
    assert is_json(headers)
    assert body["message"]


@pytest.mark.parametrize(
    "method, path, expected_status",
    [
        ("GET", "/v{v}/_ping", 200),
        ("GET", "/v{v}/version", 200),
        ("GET", "/v1.99/version", 400),
        # dockerd omits the common headers on its 404 and has no 405.
        pytest.param("GET", "/v{v}/nope", 404, marks=sockerless_only),
        pytest.param("DELETE", "/v{v}/version", 405, marks=sockerless_only),
    ],
)
def test_common_headers_on_every_response(raw, api_version, method, path, expected_status):
    status, headers, _ = raw.request(method, path.format(v=api_version))
    assert status == expected_status
    assert headers.get("Api-Version") == api_version
    assert headers.get("Ostype") == "linux"
    assert headers.get("Server")


# --- /version -----------------------------------------------------------------------------------


def test_version(raw, api_version):
    status, headers, v = raw.request_json("GET", f"/v{api_version}/version")
    assert status == 200
    assert is_json(headers)
    for key in ("Version", "ApiVersion", "MinAPIVersion", "Os", "Arch", "KernelVersion"):
        assert v.get(key), f"missing or empty {key}"
    assert v["ApiVersion"] == api_version
    assert version_tuple(v["MinAPIVersion"]) <= version_tuple(v["ApiVersion"])
    assert v["Os"] == "linux"
    machine = os.uname().machine
    assert v["Arch"] == GOARCH.get(machine, machine)
    assert v["KernelVersion"] == os.uname().release
    engine = v["Components"][0]
    assert engine["Name"] == "Engine"
    assert engine["Details"]["ApiVersion"] == api_version


def test_cli_version_json(cli, raw):
    _, _, expected = raw.request_json("GET", "/version")
    result = cli("version", "--format", "{{json .Server}}")
    assert result.returncode == 0, result.stderr
    server = json.loads(result.stdout)
    assert server["Version"] == expected["Version"]
    assert server["ApiVersion"] == expected["ApiVersion"]


def test_cli_version_plain(cli):
    result = cli("version")
    assert result.returncode == 0, result.stderr
    assert "Server:" in result.stdout, result.stdout
    server = result.stdout.split("Server:", 1)[1]
    assert "Engine:" in server
    assert "API version:" in server


# --- /info --------------------------------------------------------------------------------------


def check_info(info):
    uname = os.uname()
    assert info["NCPU"] == len(os.sched_getaffinity(0))
    memtotal = meminfo_total_bytes()
    assert abs(info["MemTotal"] - memtotal) <= memtotal * 0.01, (info["MemTotal"], memtotal)
    assert info["KernelVersion"] == uname.release
    assert info["OSType"] == "linux"
    assert info["Architecture"] == uname.machine
    assert info["OperatingSystem"]
    assert info["Name"] == socket.gethostname()
    counts = ("Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images")
    for key in counts:
        assert type(info[key]) is int and info[key] >= 0, f"{key}={info[key]!r}"
    assert (
        info["ContainersRunning"] + info["ContainersPaused"] + info["ContainersStopped"]
        == info["Containers"]
    )
    assert info["ServerVersion"]
    assert info["DockerRootDir"]
    drift = abs(parse_rfc3339(info["SystemTime"]).timestamp() - time.time())
    assert drift < 60, f"SystemTime {info['SystemTime']} is {drift:.0f} s off"
    assert info["Warnings"] is None or isinstance(info["Warnings"], list)


def test_info(raw, api_version):
    status, headers, info = raw.request_json("GET", f"/v{api_version}/info")
    assert status == 200
    assert is_json(headers)
    check_info(info)


def test_cli_info_json(cli):
    result = cli("info", "--format", "{{json .}}")
    assert result.returncode == 0, result.stderr
    check_info(json.loads(result.stdout))


def test_cli_info_plain(cli):
    result = cli("info")
    assert result.returncode == 0, result.stderr
    assert "Server Version:" in result.stdout, result.stdout


# --- docker-py ----------------------------------------------------------------------------------


def test_docker_py_system(dclient, api_version):
    assert dclient.ping() is True
    version = dclient.version()
    assert version["ApiVersion"] == api_version
    assert version["Os"] == "linux"
    info = dclient.info()
    assert info["ServerVersion"] == version["Version"]
    assert info["OSType"] == "linux"
