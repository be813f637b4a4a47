#!/usr/bin/env bash
# Installs what is missing, builds, and runs sockerlessd in the foreground.
#   scripts/start.sh [sockerlessd flags...]
# Default socket: /var/run/sockerless.sock as root, $XDG_RUNTIME_DIR/sockerless.sock otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/host.sh
scripts/build.sh release >/dev/null

host=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    -H | --host) host="${args[i + 1]:-}"; break ;;
    --host=*) host="${args[i]#--host=}"; break ;;
  esac
done
if [ -z "$host" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    host="unix:///var/run/sockerless.sock"
  else
    host="unix://${XDG_RUNTIME_DIR:-/tmp}/sockerless.sock"
  fi
  args=(-H "$host" "${args[@]}")
fi
echo "sockerlessd is starting on $host; in another shell:"
echo "  export DOCKER_HOST=$host"
exec build/release/sockerlessd "${args[@]}"
