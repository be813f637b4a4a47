#!/usr/bin/env bash
# Installs, on Debian 12, every package that building, running and testing sockerless needs.
# Only what is missing is installed; as root, non-interactive, safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates curl
  libmicrohttpd-dev libgnutls28-dev libjansson-dev libcmocka-dev libssl-dev libarchive-dev
  clang-format
  python3 python3-pytest python3-docker
  busybox-static
  # The process driver: an OCI runtime (crun is tried first, runc where crun cannot run, e.g.
  # on hybrid cgroup hosts), and ps for `docker top` with custom ps arguments.
  runc crun procps tini
  # scripts/host.sh: v1 hierarchies for the controllers a hybrid cgroup host leaves on cgroup v2,
  # which crun refuses.
  cgroupfs-mount
  # The registry client (libcurl with OpenSSL); its end-to-end tests run Debian's registry:2
  # (docker-registry) with htpasswd files (apache2-utils) and a CA made with openssl.
  libcurl4-openssl-dev docker-registry apache2-utils openssl zstd
  # The valgrind run of the end-to-end subset (ctest --preset valgrind).
  valgrind
  # The static sockerless-agent, and sockerlessd's static libarchive and libmicrohttpd
  # (SOCKERLESS_STATIC_LIBS, src/CMakeLists.txt): the .a archives libarchive's static link
  # needs beyond its own (pkg-config --static --libs libarchive: nettle, acl, lzma, zstd, lz4,
  # bz2, z, xml2). libarchive.a and libmicrohttpd.a come with their -dev packages above.
  libacl1-dev libzstd-dev liblz4-dev nettle-dev liblzma-dev libbz2-dev zlib1g-dev libxml2-dev
)
# The end-to-end tests drive the real docker CLI. A machine that has none gets Debian's
# (docker.io ships the CLI together with an engine that the tests never start).
command -v docker >/dev/null 2>&1 || packages+=(docker.io)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
