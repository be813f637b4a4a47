#!/usr/bin/env bash
# Prepares the host's cgroups for crun, the OCI runtime the process driver tries first.
#
# On a hybrid cgroup host (cgroup v1 hierarchies under a tmpfs at /sys/fs/cgroup, cgroup v2 at
# /sys/fs/cgroup/unified), crun refuses to run a container while the v2 hierarchy holds a
# controller ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"). That
# happens when a controller has no v1 hierarchy of its own (seen: hugetlb). Debian's
# cgroupfs-mount mounts a v1 hierarchy for every enabled controller, as systemd does on a hybrid
# host, which leaves the v2 hierarchy without controllers. The kernel moves only a controller that
# no v2 cgroup uses, so nothing running is disturbed; the others stay where they are.
#
# Nothing is done on a cgroup v2 host, on a hybrid host whose v2 hierarchy already has no
# controllers, or without root. Without this, the process driver uses runc (docs/drivers.md).
# SOCKERLESS_NO_HOST_SETUP=1 skips it.
set -euo pipefail

[ "${SOCKERLESS_NO_HOST_SETUP:-0}" = 1 ] && exit 0
[ "$(id -u)" -eq 0 ] || exit 0
unified=/sys/fs/cgroup/unified/cgroup.controllers
[ -r "$unified" ] || exit 0
[ -n "$(tr -d ' \n' < "$unified")" ] || exit 0

if ! command -v cgroupfs-mount >/dev/null 2>&1; then
  echo "host.sh: cgroupfs-mount is missing (scripts/deps.sh installs it)" >&2
  exit 0
fi
echo "host.sh: the cgroup v2 hierarchy holds controllers ($(cat "$unified")); mounting their v1" \
  "hierarchies with cgroupfs-mount so that crun can run" >&2
cgroupfs-mount >/dev/null || true
if [ -n "$(tr -d ' \n' < "$unified")" ]; then
  echo "host.sh: the cgroup v2 hierarchy still holds $(cat "$unified"); the process driver will" \
    "use runc" >&2
fi
