#!/usr/bin/python3
"""Time `docker pull` of a ~100 MB image from a local registry, on sockerlessd and on dockerd.

Starts Debian's docker-registry on 127.0.0.1 (a free port, storage in a temporary directory),
uploads one image over the registry API (four gzip layers; half of the bytes random, half
compressible text, so that decompression counts too), then for each daemon: removes the image,
pulls it with the docker CLI, and prints the wall time of each run and the median.

    bench/registry_pull.py --sockerlessd build/release/sockerlessd \\
        --oracle unix:///var/run/docker.sock [--size-mb 100] [--runs 3]

Without --sockerlessd only the given hosts (--host, repeatable) are measured. Needs
/usr/bin/docker-registry (apt-get install docker-registry) and the docker CLI; no network.
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REGISTRY_BIN = "/usr/bin/docker-registry"
LAYERS = 4


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=300) as resp:
        return resp.status, resp.headers


def push_blob(base, repo, data):
    digest = sha256(data)
    _, headers = request("POST", f"{base}/v2/{repo}/blobs/uploads/")
    location = headers["Location"]
    if location.startswith("/"):
        location = base + location
    sep = "&" if "?" in location else "?"
    request("PUT", f"{location}{sep}digest={digest}", data,
            {"Content-Type": "application/octet-stream"})
    return digest


def layer(size, seed):
    """A tar of one file of `size` bytes: half random, half repetitive text."""
    import io
    import tarfile
    text = (f"line {seed} of a compressible file\n" * (size // 64 + 1)).encode()[: size // 2]
    body = os.urandom(size - len(text)) + text
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(f"data{seed}.bin")
        info.size, info.mtime = len(body), 1704067200
        tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def upload_image(base, repo, size_mb):
    diff_ids, descriptors = [], []
    for i in range(LAYERS):
        raw = layer(size_mb * 1000 * 1000 // LAYERS, i)
        blob = gzip.compress(raw, compresslevel=6, mtime=0)
        diff_ids.append(sha256(raw))
        descriptors.append({"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "size": len(blob), "digest": push_blob(base, repo, blob)})
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": push_blob(base, repo, config)},
        "layers": descriptors}).encode()
    request("PUT", f"{base}/v2/{repo}/manifests/bench", manifest,
            {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
    return sha256(config), sum(d["size"] for d in descriptors)


def docker(host, *args):
    env = dict(os.environ, DOCKER_HOST=host)
    return subprocess.run(["docker", *args], env=env, capture_output=True, text=True)


def measure(host, ref, image_id, runs):
    times = []
    for _ in range(runs):
        docker(host, "rmi", "-f", image_id)
        start = time.monotonic()
        result = docker(host, "pull", ref)
        elapsed = time.monotonic() - start
        if result.returncode != 0:
            sys.exit(f"pull on {host} failed: {result.stderr}")
        times.append(elapsed)
    docker(host, "rmi", "-f", image_id)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockerlessd", help="a sockerlessd binary to start and measure")
    parser.add_argument("--oracle", help="a dockerd to measure (unix:///...)")
    parser.add_argument("--host", action="append", default=[], help="another daemon to measure")
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not os.access(REGISTRY_BIN, os.X_OK):
        sys.exit(f"{REGISTRY_BIN} is missing: apt-get install docker-registry")
    work = tempfile.mkdtemp(prefix="sockerless-bench-")
    procs = []
    try:
        port = free_port()
        with open(f"{work}/registry.yml", "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                    f"    rootdirectory: {work}/registry\nhttp:\n  addr: 127.0.0.1:{port}\n")
        procs.append(subprocess.Popen([REGISTRY_BIN, "serve", f"{work}/registry.yml"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                request("GET", f"{base}/v2/")
                break
            except OSError:
                time.sleep(0.05)
        image_id, compressed = upload_image(base, "bench/image", args.size_mb)
        print(f"image: {args.size_mb} MB in {LAYERS} layers, {compressed / 1e6:.1f} MB compressed")
        hosts = []
        if args.sockerlessd:
            sock = f"{work}/sockerless.sock"
            procs.append(subprocess.Popen(
                [args.sockerlessd, "-H", f"unix://{sock}", "--data-root", f"{work}/data",
                 "--log-level", "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for _ in range(100):
                if os.path.exists(sock):
                    break
                time.sleep(0.05)
            hosts.append(("sockerlessd", f"unix://{sock}"))
        if args.oracle:
            hosts.append(("dockerd", args.oracle))
        hosts += [(h, h) for h in args.host]
        ref = f"127.0.0.1:{port}/bench/image:bench"
        for label, host in hosts:
            times = measure(host, ref, image_id, args.runs)
            print(f"{label:12s} " + " ".join(f"{t:6.2f}s" for t in times)
                  + f"   median {statistics.median(times):.2f}s")
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
