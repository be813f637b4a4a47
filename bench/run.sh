#!/usr/bin/env bash
# bench/run.sh: the benchmark suite of sockerless (see bench/README.md).
#
# Usage: bench/run.sh [--smoke]
#
# Starts fresh sockerlessd daemons (--driver process with the runtime it picks, --driver process
# --runtime runc when runc is installed, --driver synthetic) on temporary sockets with temporary
# data roots, loads the test images, and measures every metric of bench/README.md. When BENCH_REF_DOCKER_HOST names another daemon (unix:// only), every
# metric runs against it too, interleaved with sockerless in the same run (A B A B ...), and the
# Markdown table on stdout shows both medians and the ratio sockerless/reference. Progress goes
# to stderr. Everything created (containers, images, temporary directories, daemons) is removed
# at the end, also after an interruption.
#
# Environment:
#   SOCKERLESSD            the sockerlessd binary (default build/release/sockerlessd)
#   SOCKERLESS_LOADGEN     the load generator (default: sockerless-loadgen next to sockerlessd)
#   SOCKERLESS_FLOOR       bench/floor.c's server (default: sockerless-floor next to the loadgen)
#   SOCKERLESS_FLOOR_MHD   bench/floor_mhd.c's server (default: sockerless-floor-mhd next to it)
#   BENCH_REF_DOCKER_HOST  the reference daemon, e.g. unix:///var/run/docker.sock (default none)
#   BENCH_REF_PID          its process id, for RSS and CPU (default: found from the socket)
#   BENCH_REF_DOCKERD      a dockerd binary: measures the reference cold start by starting a
#                          throwaway dockerd on a temporary socket, data root and exec root, in
#                          a network namespace of its own (unshare --net) (default none)
#   BENCH_ROUNDS           rounds of each interleaved metric (default 3; --smoke: 1)
#   BENCH_OUT              a directory that keeps the raw results and daemon logs (default none)
#   DOCKER_CLI             the docker CLI (default: docker on PATH)
#
# --smoke: tiny counts, sockerless only, checks that every metric yields a number (ctest
# label bench). Exit status 77 (skipped) when containers cannot run here (not root, no runc or
# crun, no docker CLI).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SMOKE=0
case "${1:-}" in
--smoke) SMOKE=1 ;;
"") ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed -e 's/^# \{0,1\}//' -e '/^set -euo/d' >&2
    exit 2
    ;;
esac

SOCKERLESSD=${SOCKERLESSD:-$ROOT/build/release/sockerlessd}
LOADGEN=${SOCKERLESS_LOADGEN:-$(dirname "$SOCKERLESSD")/sockerless-loadgen}
FLOOR=${SOCKERLESS_FLOOR:-$(dirname "$LOADGEN")/sockerless-floor}
FLOOR_MHD=${SOCKERLESS_FLOOR_MHD:-$(dirname "$FLOOR")/sockerless-floor-mhd}
DOCKER=${DOCKER_CLI:-$(command -v docker || echo /usr/local/bin/docker)}
PY=/usr/bin/python3
REF=${BENCH_REF_DOCKER_HOST:-}
REF_DOCKERD=${BENCH_REF_DOCKERD:-}
[ "$SMOKE" = 1 ] && REF="" && REF_DOCKERD=""
ROUNDS=${BENCH_ROUNDS:-$([ "$SMOKE" = 1 ] && echo 1 || echo 3)}
RUNID=b$$x$RANDOM
LABEL=org.sockerless.bench=$RUNID

skip() {
    echo "bench: skipped: $*" >&2
    exit 77
}
die() {
    echo "bench: error: $*" >&2
    exit 1
}
[ -x "$SOCKERLESSD" ] || die "no sockerlessd at $SOCKERLESSD (set SOCKERLESSD)"
[ -x "$LOADGEN" ] || die "no sockerless-loadgen at $LOADGEN (set SOCKERLESS_LOADGEN)"
[ -x "$FLOOR" ] || die "no sockerless-floor at $FLOOR (set SOCKERLESS_FLOOR)"
[ -x "$FLOOR_MHD" ] || die "no sockerless-floor-mhd at $FLOOR_MHD (set SOCKERLESS_FLOOR_MHD)"
[ -x "$PY" ] || die "$PY is needed"
[ -x "$DOCKER" ] || skip "no docker CLI"
[ "$(id -u)" = 0 ] || skip "the process driver needs root"
command -v runc >/dev/null || command -v crun >/dev/null || skip "no runc or crun"
[ -z "$REF_DOCKERD" ] || command -v unshare >/dev/null || die "BENCH_REF_DOCKERD needs unshare (util-linux)"
case "$REF" in
"" | unix://*) ;;
*) die "BENCH_REF_DOCKER_HOST must be a unix:// address" ;;
esac

# Sizes: the issue's figures, or tiny ones for the smoke test.
if [ "$SMOKE" = 1 ]; then
    PING_N=2000 REQ_T=1 LIST_CONTAINERS=10 LIST_N=200 INSPECT_N=500
    LC_SERIAL_N=3 LC_PAR_N=8 LC_T=10 RUN_RM_N=1 LINES=10000 CP_BYTES=1000000 RSS_CONTAINERS=20
else
    PING_N=300000 REQ_T=3 LIST_CONTAINERS=100 LIST_N=50000 INSPECT_N=200000
    LC_SERIAL_N=100 LC_PAR_N=400 LC_T=5 RUN_RM_N=3 LINES=500000 CP_BYTES=50000000
    RSS_CONTAINERS=1000
fi

# ---------------------------------------------------------------- state and cleanup
W=$(mktemp -d /tmp/sockerless-bench.XXXXXX)
declare -A HOST SOCK PID
DAEMON_PIDS=()
REF_HAD_IMAGE=1
IMG=sockerless-bench/busybox:$RUNID
BASE_IMG=sockerless-test/busybox:latest

say() { echo "bench: $*" >&2; }

dk() { # dk SIDE ARGS...: the docker CLI against a side (sl, ss or ref)
    local side=$1
    shift
    DOCKER_HOST=${HOST[$side]} DOCKER_CONFIG=$W/docker-config "$DOCKER" "$@"
}

lg() { # lg SIDE ARGS...: the load generator against a side; prints its JSON
    local side=$1
    shift
    "$LOADGEN" -s "${SOCK[$side]}" "$@" 2>>"$W/loadgen.err" || true
}

stop_pid() { # SIGTERM, then SIGKILL after 20 s
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? side pid ids
    trap - EXIT INT TERM HUP
    set +e
    if [ -n "$REF" ] && [ -n "${HOST[ref]:-}" ]; then
        ids=$(dk ref ps -aq --filter "label=$LABEL" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && dk ref rm -f $ids >/dev/null 2>&1
        dk ref rmi "$IMG" >/dev/null 2>&1
        # The test image only if this run loaded it and nothing else uses it now (no -f).
        [ "$REF_HAD_IMAGE" = 0 ] && dk ref rmi "$BASE_IMG" >/dev/null 2>&1
    fi
    for pid in "${DAEMON_PIDS[@]}"; do
        stop_pid "$pid"
    done
    if [ -n "${BENCH_OUT:-}" ]; then
        mkdir -p "$BENCH_OUT" && cp -f "$W"/*.tsv "$W"/*.txt "$W"/*.md "$W"/*.log "$W"/*.err \
            "$BENCH_OUT"/ 2>/dev/null
    fi
    # Nothing should be mounted under $W once the daemons are gone; if something is, detach it
    # rather than let rm reach through a mount.
    awk -v w="$W/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m"; done
    rm -rf "$W"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---------------------------------------------------------------- results
RESULTS=$W/results.tsv
NOTES=$W/notes.txt
: >"$RESULTS"
: >"$NOTES"

emit() { # emit METRIC SIDE VALUE: one sample
    [ -n "$3" ] || return 0
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"
    say "  $1 $2 $3"
}
note() {
    echo "$*" >>"$NOTES"
    say "note: $*"
}

# field JSON KEY [ERRCTX]: a field of a loadgen result; with ERRCTX, notes its errors.
field() {
    "$PY" - "$@" <<'EOF'
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    d = {}
v = d.get(sys.argv[2], d.get("latency_ms", {}).get(sys.argv[2]))
if len(sys.argv) > 3 and (d.get("errors") or d.get("error") or not d):
    with open(sys.argv[3].split("|")[0], "a") as f:
        f.write("%s: %s errors, first: %s\n" % (sys.argv[3].split("|")[1], d.get("errors", "?"),
                d.get("first_error") or d.get("error") or "no result"))
print("" if v is None else v)
EOF
}

# elapsed T0: seconds since T0 (an $EPOCHREALTIME).
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }'; }
cpu_s() { awk '{ printf "%.3f\n", $1 + $2 }' <<<"$1"; } # "USER SYS" seconds: their sum
mbps() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.3f\n", n / s / 1e6 }'; }
rss_mib() { awk '/^VmRSS:/ { printf "%.2f\n", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

sides() { # the sides a metric runs against, sockerless first
    echo "$1"
    [ -z "$REF" ] || echo ref
}

# ---------------------------------------------------------------- daemons
start_sockerless() { # start_sockerless NAME DRIVER [FLAGS...]
    local name=$1 driver=$2
    shift 2
    SOCK[$name]=$W/$name.sock
    HOST[$name]=unix://$W/$name.sock
    "$SOCKERLESSD" -H "${HOST[$name]}" --data-root "$W/$name-data" --driver "$driver" "$@" \
        >"$W/sockerlessd-$name.log" 2>&1 </dev/null &
    PID[$name]=$!
    DAEMON_PIDS+=("$!")
    "$LOADGEN" -s "${SOCK[$name]}" -t 20 --wait ||
        die "sockerlessd --driver $driver did not start: $(tail -5 "$W/sockerlessd-$name.log")"
}

find_ref_pid() { # the pid holding the listening socket of the reference daemon
    "$PY" - "${REF#unix://}" <<'EOF'
import os, sys
path = os.path.realpath(sys.argv[1])
inodes = set()
with open("/proc/net/unix") as f:
    for line in f:
        parts = line.split()
        if len(parts) >= 8 and os.path.realpath(parts[7]) == path:
            inodes.add("socket:[%s]" % parts[6])
for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
    try:
        for fd in os.listdir("/proc/%s/fd" % pid):
            if os.readlink("/proc/%s/fd/%s" % (pid, fd)) in inodes:
                print(pid)
                sys.exit(0)
    except OSError:
        pass
EOF
}

load_images() { # load_images SIDE
    dk "$1" load -q -i "$W/imgs/busybox.tar" >/dev/null
    dk "$1" tag "$BASE_IMG" "$IMG"
}

# ---------------------------------------------------------------- metrics
m_ping() { # /_ping req/s over 2 connections, and the daemon's CPU time per request; then the
    # same load against bench/floor.c (a server that only reads and writes): the machine's floor,
    # and against bench/floor_mhd.c (libmicrohttpd as the daemon sets it up, one fixed answer)
    local s j
    for s in $(sides sl); do
        j=$(lg "$s" -c 2 -n "$PING_N" -t "$REQ_T" ${PID[$s]:+--cpu-pid "${PID[$s]}"} /_ping)
        emit ping_rps "$s" "$(field "$j" rate "$NOTES|ping $s")"
        emit cpu_us_ping "$s" "$(field "$j" cpu_us_per_request)"
    done
    j=$(lg floor -c 2 -n "$PING_N" -t "$REQ_T" /_ping)
    emit ping_floor_rps floor "$(field "$j" rate "$NOTES|ping floor")"
    j=$(lg floor_mhd -c 2 -n "$PING_N" -t "$REQ_T" /_ping)
    emit ping_floor_mhd_rps floor_mhd "$(field "$j" rate "$NOTES|ping floor_mhd")"
}

start_floor() {
    SOCK[floor]=$W/floor.sock
    "$FLOOR" "${SOCK[floor]}" </dev/null 2>>"$W/floor.err" &
    DAEMON_PIDS+=("$!")
    "$LOADGEN" -s "${SOCK[floor]}" -t 20 --wait || die "sockerless-floor did not start"
    SOCK[floor_mhd]=$W/floor_mhd.sock
    "$FLOOR_MHD" "${SOCK[floor_mhd]}" </dev/null 2>>"$W/floor.err" &
    DAEMON_PIDS+=("$!")
    "$LOADGEN" -s "${SOCK[floor_mhd]}" -t 20 --wait || die "sockerless-floor-mhd did not start"
}

create_body() { printf '{"Image":"%s","Cmd":["true"],"Labels":{"org.sockerless.bench":"%s"}}' "$IMG" "$RUNID"; }

prune_ours() { # prune_ours SIDE: removes this run's stopped containers
    lg "$1" -X POST -n 1 -t 600 \
        "/containers/prune?filters=%7B%22label%22%3A%5B%22org.sockerless.bench%3D$RUNID%22%5D%7D" \
        >/dev/null
}

m_list_inspect() { # list and inspect with LIST_CONTAINERS created containers
    local s r j id
    for s in $(sides sl); do
        j=$(lg "$s" -c 2 -n "$LIST_CONTAINERS" -t 600 -X POST -e 201 -d "$(create_body)" \
            /containers/create)
        field "$j" ok "$NOTES|create $s" >/dev/null
        note "list on $s: $(dk "$s" ps -aq | wc -l) containers in all"
        INSPECT_ID[$s]=$(dk "$s" ps -aq --no-trunc --filter "label=$LABEL" | head -1)
    done
    for ((r = 1; r <= ROUNDS; r++)); do
        for s in $(sides sl); do
            j=$(lg "$s" -c 2 -n "$LIST_N" -t "$REQ_T" "/containers/json?all=1")
            emit list_rps "$s" "$(field "$j" rate "$NOTES|list $s")"
        done
        for s in $(sides sl); do
            id=${INSPECT_ID[$s]}
            j=$(lg "$s" -c 2 -n "$INSPECT_N" -t "$REQ_T" "/containers/$id/json")
            emit inspect_rps "$s" "$(field "$j" rate "$NOTES|inspect $s")"
        done
    done
    for s in $(sides sl); do prune_ours "$s"; done
}
declare -A INSPECT_ID

m_lifecycle() { # m_lifecycle METRIC SOCKERLESS_SIDE PARALLEL COUNT
    local metric=$1 a=$2 par=$3 n=$4 s j
    for s in $(sides "$a"); do
        j=$(lg "$s" -c "$par" -n "$n" -t "$LC_T" --label "$LABEL" --lifecycle "$IMG" true)
        emit "$metric" "$s" "$(field "$j" rate "$NOTES|$metric $s")"
    done
}

m_run_rm() { # m_run_rm METRIC SOCKERLESS_SIDE: docker run --rm img true, through the CLI
    local metric=$1 a=$2 s i t0
    for s in $(sides "$a"); do
        for ((i = 0; i < RUN_RM_N; i++)); do
            t0=$EPOCHREALTIME
            if dk "$s" run --rm --label "$LABEL" "$IMG" true >/dev/null 2>>"$W/cli.err"; then
                emit "$metric" "$s" "$(elapsed "$t0")"
            else
                note "docker run --rm failed on $s: $(tail -1 "$W/cli.err")"
            fi
        done
    done
}

stream_cmd() { echo "yes $LINE | head -n $LINES"; }

declare -A LOGS_ID CP_ID
setup_streams() { # a finished container with LINES lines of output, and one for docker cp
    local s
    for s in $(sides sl); do
        LOGS_ID[$s]=$(dk "$s" run -d --label "$LABEL" "$IMG" sh -c "$(stream_cmd)")
        dk "$s" wait "${LOGS_ID[$s]}" >/dev/null
        CP_ID[$s]=$(dk "$s" create --label "$LABEL" "$IMG" true)
    done
}

m_streams() { # docker logs, attached docker run, docker cp in and out
    # The CLI's own CPU time (user+sys of the docker process and its threads, bash's `time`)
    # is kept for logs and cp: a command cannot take less wall time than that.
    local s t0 bytes size TIMEFORMAT='%3U %3S' cpu
    for s in $(sides sl); do
        t0=$EPOCHREALTIME
        if bytes=$({ time dk "$s" logs "${LOGS_ID[$s]}" 2>>"$W/cli.err"; } 2>"$W/time.txt" |
            wc -c); then
            emit logs_mbps "$s" "$(mbps "$bytes" "$(elapsed "$t0")")"
            emit cli_cpu_logs_s "$s" "$(cpu_s "$(cat "$W/time.txt")")"
            echo "logs $s $bytes" >>"$W/bytes.txt"
        fi
    done
    # The same request from the load generator: the daemon's own speed, without the CLI.
    for s in $(sides sl); do
        j=$(lg "$s" -n 1 -t 120 "/containers/${LOGS_ID[$s]}/logs?stdout=1&stderr=1")
        emit logs_api_mbps "$s" "$(mbps $((LINES * 100)) "$(field "$j" seconds "$NOTES|logs API $s")")"
    done
    for s in $(sides sl); do
        t0=$EPOCHREALTIME
        if bytes=$(dk "$s" run --rm --label "$LABEL" "$IMG" sh -c "$(stream_cmd)" 2>>"$W/cli.err" |
            wc -c); then
            emit attach_mbps "$s" "$(mbps "$bytes" "$(elapsed "$t0")")"
            echo "attach $s $bytes" >>"$W/bytes.txt"
        fi
    done
    for s in $(sides sl); do
        t0=$EPOCHREALTIME
        if cpu=$({ time dk "$s" cp "$W/blob" "${CP_ID[$s]}:/blob" 2>>"$W/cli.err"; } 2>&1); then
            emit cp_in_mbps "$s" "$(mbps "$CP_BYTES" "$(elapsed "$t0")")"
            emit cli_cpu_cp_in_s "$s" "$(cpu_s "$cpu")"
        else
            note "docker cp in failed on $s: $(tail -1 "$W/cli.err")"
        fi
    done
    for s in $(sides sl); do
        rm -f "$W/cp-out"
        t0=$EPOCHREALTIME
        if cpu=$({ time dk "$s" cp "${CP_ID[$s]}:/blob" "$W/cp-out" 2>>"$W/cli.err"; } 2>&1); then
            size=$(stat -c %s "$W/cp-out")
            emit cp_out_mbps "$s" "$(mbps "$size" "$(elapsed "$t0")")"
            emit cli_cpu_cp_out_s "$s" "$(cpu_s "$cpu")"
            [ "$size" = "$CP_BYTES" ] || note "docker cp out on $s: $size bytes, not $CP_BYTES"
        else
            note "docker cp out failed on $s: $(tail -1 "$W/cli.err")"
        fi
        rm -f "$W/cp-out"
    done
    # The copies' requests from the load generator (the tar of the file up, the file's tar down).
    for s in $(sides sl); do
        j=$(lg "$s" -X PUT -n 1 -t 120 --data-file "$W/blob.tar" "/containers/${CP_ID[$s]}/archive?path=/")
        emit cp_in_api_mbps "$s" "$(mbps "$CP_BYTES" "$(field "$j" seconds "$NOTES|cp in API $s")")"
        j=$(lg "$s" -n 1 -t 120 "/containers/${CP_ID[$s]}/archive?path=/blob")
        emit cp_out_api_mbps "$s" "$(mbps "$CP_BYTES" "$(field "$j" seconds "$NOTES|cp out API $s")")"
    done
}

m_cold_start() { # time from exec to the first 200 on /_ping, fresh data root each time
    local r=$1 d j
    d=$W/cold-$r
    mkdir -p "$d"
    j=$("$LOADGEN" -s "$d/s.sock" -t 30 --log "$W/cold.log" --cold-start \
        "$SOCKERLESSD" -H "unix://$d/s.sock" --data-root "$d/data" --driver process) || true
    emit cold_start_s sl "$(field "$j" seconds "$NOTES|cold start sockerless")"
    if [ -n "$REF" ] && [ -n "$REF_DOCKERD" ]; then
        # In a network namespace of its own: the throwaway dockerd sets up its default bridge
        # and iptables rules there, and cannot touch the host's (--bridge=none would not do:
        # dockerd then deletes the host's docker0, breaking any dockerd that uses it).
        j=$("$LOADGEN" -s "$d/d.sock" -t 60 --log "$W/cold.log" --cold-start \
            unshare --net -- "$REF_DOCKERD" --data-root "$d/ddata" --exec-root "$d/dexec" \
            --pidfile "$d/d.pid" -H "unix://$d/d.sock") || true
        emit cold_start_s ref "$(field "$j" seconds "$NOTES|cold start reference")"
    fi
}

m_rss() { # idle, with RSS_CONTAINERS created containers, after removing them
    local phase=$1 s j
    for s in $(sides sl); do
        [ -n "${PID[$s]:-}" ] || continue
        case $phase in
        idle) ;;
        full)
            j=$(lg "$s" -c 2 -n "$RSS_CONTAINERS" -t 900 -X POST -e 201 -d "$(create_body)" \
                /containers/create)
            note "$s created $(field "$j" ok "$NOTES|create $s") containers at $(field "$j" rate) /s"
            ;;
        after) prune_ours "$s" ;;
        esac
        sleep 1
        emit "rss_${phase}_mib" "$s" "$(rss_mib "${PID[$s]}")"
    done
}

# ---------------------------------------------------------------- the run
say "work directory $W, run $RUNID, $ROUNDS round(s)$([ -n "$REF" ] && echo ", reference $REF")"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$EPOCHREALTIME
mkdir -p "$W/docker-config"
bash "$ROOT/tests/images/build-images.sh" "$W/imgs" >/dev/null
printf -v LINE '%99s' ''
LINE=${LINE// /x}
head -c "$CP_BYTES" /dev/urandom >"$W/blob"
tar -cf "$W/blob.tar" -C "$W" blob

start_sockerless sl process
start_sockerless ss synthetic
load_images sl
load_images ss
RUNTIME=$(dk sl info --format '{{range .DriverStatus}}{{if eq (index . 0) "OCI Runtime"}}{{index . 1}}{{end}}{{end}}')
# The same driver with runc, dockerd's runtime, where the daemon picked another one: its rows
# are measured against the reference's rows of the default runtime, without runs of their own.
RUNC=$(command -v runc || true)
if [ -n "$RUNC" ] && [ "$(basename "$RUNTIME")" != runc ]; then
    start_sockerless sr process --runtime "$RUNC"
    load_images sr
fi
start_floor
if [ -n "$REF" ]; then
    HOST[ref]=$REF
    SOCK[ref]=${REF#unix://}
    PID[ref]=${BENCH_REF_PID:-$(find_ref_pid)}
    [ -n "${PID[ref]}" ] || note "reference pid not found (set BENCH_REF_PID): no RSS or CPU"
    dk ref image inspect "$BASE_IMG" >/dev/null 2>&1 || REF_HAD_IMAGE=0
    load_images ref
    REF_VERSION=$(dk ref version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)
fi

# RSS first, before the other metrics leave freed but untrimmed heap behind on either side.
say "== RSS idle, with $RSS_CONTAINERS created containers, after removing them"
m_rss idle
m_rss full
m_rss after
say "== cold start"
for ((r = 1; r <= ROUNDS; r++)); do m_cold_start "$r"; done
say "== /_ping"
for ((r = 1; r <= ROUNDS; r++)); do m_ping; done
say "== list and inspect"
m_list_inspect
say "== lifecycles"
for ((r = 1; r <= ROUNDS; r++)); do
    m_lifecycle lc_proc_serial sl 1 "$LC_SERIAL_N"
    m_lifecycle lc_proc_par8 sl 8 "$LC_PAR_N"
    if [ -n "${SOCK[sr]:-}" ]; then
        REF="" m_lifecycle lc_runc_serial sr 1 "$LC_SERIAL_N"
        REF="" m_lifecycle lc_runc_par8 sr 8 "$LC_PAR_N"
    fi
    m_lifecycle lc_syn_serial ss 1 "$LC_SERIAL_N"
    m_lifecycle lc_syn_par8 ss 8 "$LC_PAR_N"
done
say "== docker run --rm"
for ((r = 1; r <= ROUNDS; r++)); do
    m_run_rm run_rm_s sl
    [ -z "${SOCK[sr]:-}" ] || REF="" m_run_rm run_rm_runc_s sr
done
say "== logs, attach, cp"
setup_streams
for ((r = 1; r <= ROUNDS; r++)); do m_streams; done
for s in $(sides sl); do dk "$s" rm -f "${LOGS_ID[$s]}" "${CP_ID[$s]}" >/dev/null; done

{
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); run time $(elapsed "$T_START" | cut -d. -f1) s, $ROUNDS round(s)"
    echo "- machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r), $( (runc --version 2>/dev/null || echo 'runc none') | head -1)"
    echo "- load average (1, 5, 15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "- source tree: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ modified)')"
    echo "- sockerless: $SOCKERLESSD ($("$SOCKERLESSD" --version 2>/dev/null | head -1)); process driver runtime $RUNTIME ($("$RUNTIME" --version 2>/dev/null | head -1))"
    [ -z "$REF" ] || echo "- reference: $REF, server version $REF_VERSION, pid ${PID[ref]:-unknown}"
    [ ! -f "$W/bytes.txt" ] || echo "- bytes received: $(sort -u "$W/bytes.txt" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
} >"$W/facts.txt"
"$PY" "$HERE/table.py" "$RESULTS" "$W/facts.txt" "$NOTES" ${REF:+--reference} | tee "$W/table.md"
if [ "$SMOKE" = 1 ]; then
    "$PY" "$HERE/table.py" "$RESULTS" "$W/facts.txt" "$NOTES" --check
fi
