#!/usr/bin/python3
"""The Markdown table of a bench/run.sh run (standard library only).

Usage: table.py RESULTS.tsv FACTS.txt NOTES.txt [--reference] [--check]

RESULTS.tsv holds one sample a line: metric, side (sl, sr and ss are sockerless with the process
driver and the runtime it picks, with runc, and with the synthetic driver; floor is
bench/floor.c, floor_mhd bench/floor_mhd.c; ref the reference daemon), value. The table shows the median of each
metric's samples per side, the ratio sockerless/reference and whether the issue's target is met.
--check prints nothing and exits 1 unless every metric has a sockerless value (the smoke test).
"""

import statistics
import sys

# key, what, unit, better ("hi" or "lo"), target ratio sockerless/reference or None
METRICS = [
    ("ping_rps", "`GET /_ping`, 2 keep-alive connections", "req/s", "hi", 5),
    ("ping_floor_rps", "the machine's floor: the same `/_ping` load against `bench/floor.c`, "
     "which only reads and writes (no daemon)", "req/s", "hi", None),
    ("ping_floor_mhd_rps", "libmicrohttpd's floor: the same load against `bench/floor_mhd.c`, "
     "the library set up as the daemon sets it up, with one fixed answer", "req/s", "hi", None),
    ("list_rps", "`GET /containers/json?all=1`, 100 containers", "req/s", "hi", 50),
    ("inspect_rps", "`GET /containers/{id}/json`", "req/s", "hi", 10),
    ("lc_proc_serial", "create, start, wait, remove `true`: process driver, serial",
     "containers/s", "hi", 10),
    ("lc_proc_par8", "the same, process driver, 8 in parallel", "containers/s", "hi", 10),
    ("lc_runc_serial", "the same, process driver with `--runtime runc`, serial",
     "containers/s", "hi", None),
    ("lc_runc_par8", "the same, process driver with `--runtime runc`, 8 in parallel",
     "containers/s", "hi", None),
    ("lc_syn_serial", "the same, synthetic driver, serial", "containers/s", "hi", None),
    ("lc_syn_par8", "the same, synthetic driver, 8 in parallel", "containers/s", "hi", None),
    ("run_rm_s", "`docker run --rm img true`, wall time through the CLI", "s", "lo", 0.2),
    ("run_rm_runc_s", "the same, process driver with `--runtime runc`", "s", "lo", None),
    ("logs_mbps", "`docker logs`, ~50 MB of output in 100-byte lines", "MB/s", "hi", 2),
    ("cli_cpu_logs_s", "the docker CLI's own CPU time (user+sys) in that `docker logs`", "s",
     "lo", None),
    ("logs_api_mbps", "the same logs requested by the load generator (the daemon alone, no CLI)",
     "MB/s", "hi", None),
    ("attach_mbps", "attached `docker run`, ~50 MB in 100-byte lines", "MB/s", "hi", 2),
    ("cp_in_mbps", "`docker cp` of 50 MB into a container", "MB/s", "hi", 3),
    ("cp_out_mbps", "`docker cp` of 50 MB out of a container", "MB/s", "hi", 3),
    ("cp_in_api_mbps", "the copy in as the load generator's `PUT /containers/{id}/archive` "
     "(no CLI)", "MB/s", "hi", None),
    ("cp_out_api_mbps", "the copy out as the load generator's `GET /containers/{id}/archive` "
     "(no CLI)", "MB/s", "hi", None),
    ("cli_cpu_cp_in_s", "the docker CLI's own CPU time (user+sys) in that `docker cp` in", "s",
     "lo", None),
    ("cli_cpu_cp_out_s", "the same in a `docker cp` out", "s", "lo", None),
    ("rss_idle_mib", "daemon RSS, idle", "MiB", "lo", 1 / 20),
    ("rss_full_mib", "daemon RSS with 1,000 created containers", "MiB", "lo", 1 / 5),
    ("rss_after_mib", "daemon RSS after removing them", "MiB", "lo", None),
    ("cold_start_s", "cold start to the first `/_ping`", "s", "lo", 1 / 30),
    ("cpu_us_ping", "daemon CPU time per `/_ping` (utime+stime)", "µs", "lo", None),
]
# Rows without a reference run of their own: the ratio is against another row's reference.
REF_OF = {"ping_floor_rps": "ping_rps", "ping_floor_mhd_rps": "ping_rps", "lc_runc_serial": "lc_proc_serial",
          "lc_runc_par8": "lc_proc_par8", "run_rm_runc_s": "run_rm_s"}
# Rows that need runc: a machine with crun only has no value for them.
OPTIONAL = {"lc_runc_serial", "lc_runc_par8", "run_rm_runc_s"}


def fmt(v):
    if v is None:
        return "n/a"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def fmt_target(better, target):
    if target is None:
        return ""
    if target >= 1:
        return f"≥ {target:g}×"
    return f"≤ 1/{1 / target:.0f}" if better == "lo" and 1 / target >= 3 else f"≤ {target:g}×"


def main(argv):
    results, facts, notes = argv[1:4]
    with_ref = "--reference" in argv
    samples = {}
    with open(results) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or not parts[2]:
                continue
            side = "ref" if parts[1] == "ref" else "sockerless"
            try:
                samples.setdefault((parts[0], side), []).append(float(parts[2]))
            except ValueError:
                pass
    med = {k: statistics.median(v) for k, v in samples.items()}

    if "--check" in argv:
        missing = [m[0] for m in METRICS
                   if (m[0], "sockerless") not in med and m[0] not in OPTIONAL]
        if missing:
            print("bench: no sockerless value for: " + ", ".join(missing), file=sys.stderr)
            return 1
        return 0

    out = []
    with open(facts) as f:
        out += [line.rstrip("\n") for line in f]
    out.append("")
    if with_ref:
        out.append("| metric | unit | sockerless | reference | ratio | target | met |")
        out.append("|---|---|---:|---:|---:|---|---|")
    else:
        out.append("| metric | unit | sockerless |")
        out.append("|---|---|---:|")
    for key, what, unit, better, target in METRICS:
        a = med.get((key, "sockerless"))
        n = len(samples.get((key, "sockerless"), []))
        if not with_ref:
            out.append(f"| {what} | {unit} | {fmt(a)} |")
            continue
        b = med.get((REF_OF.get(key, key), "ref"))
        ratio = a / b if a is not None and b else None
        met = ""
        if ratio is not None and target is not None:
            ok = ratio >= target if better == "hi" else ratio <= target
            met = "yes" if ok else "**no**"
        rtxt = "n/a" if ratio is None else f"{ratio:.3g}×"
        out.append(
            f"| {what} | {unit} | {fmt(a)} | {fmt(b)} | {rtxt} | {fmt_target(better, target)} "
            f"| {met} |"
        )
    out.append("")
    out.append(
        "Medians over the samples of every round (each round runs sockerless then the reference); "
        "the ratio is sockerless/reference."
    )
    with open(notes) as f:
        extra = [line.rstrip("\n") for line in f if line.strip()]
    if extra:
        out.append("")
        out.append("Notes from the run:")
        out += ["- " + line for line in extra]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
