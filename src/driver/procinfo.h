/*
 * procinfo: what the kernel says about a container's processes: its cgroup's counters
 * (cgroup v1 or v2) for docker stats, and the process table of its pids for docker top.
 * It knows nothing of containers: the process driver's side (process_top, process_stats, in
 * process_info.c) maps a container to its cgroup, and api/ turns the results into Docker's JSON.
 */
#ifndef SOCKERLESS_DRIVER_PROCINFO_H
#define SOCKERLESS_DRIVER_PROCINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct engine;
struct container;

/* One line of blkio io_service_bytes_recursive: op as the kernel spells it ("Read", "Write",
 * "Sync", "Async", "Discard" on v1; "read" and "write" from v2's io.stat, as dockerd names
 * them). */
struct proc_blkio_entry {
    uint64_t major, minor;
    char op[16];
    uint64_t value;
};

/* One sample of a container's counters, in Docker's units. */
struct proc_stats {
    /* 1 or 2: the cgroup version the counters come from, which decides the keys Docker shows
     * (percpu_usage and max_usage on v1 only, blkio lists null on v2); 0: no cgroup (the
     * synthetic driver's zero counters, in the seed's shape). */
    int cgroup_version;
    uint64_t cpu_total_ns, cpu_kernel_ns, cpu_user_ns; /* the cgroup's CPU time */
    uint64_t *percpu_ns;                               /* v1 only (malloc'd), else NULL */
    size_t n_percpu;
    uint64_t system_cpu_ns; /* the host's total CPU time (/proc/stat), as Docker computes it */
    uint32_t online_cpus;
    uint64_t throttle_periods, throttled_periods, throttled_ns;
    uint64_t mem_usage, mem_limit, mem_max_usage; /* limit: the host's memory when unlimited */
    uint64_t mem_failcnt;                         /* v1 memory.failcnt; v2 memory.events oom */
    struct {                                      /* memory_stats.stats: key -> value */
        char **keys;
        uint64_t *values;
        size_t n;
    } mem_stats;
    uint64_t pids_current, pids_limit; /* limit 0: none */
    uint64_t blkio_read_bytes, blkio_write_bytes;
    struct proc_blkio_entry *blkio; /* io_service_bytes_recursive (malloc'd), n_blkio lines */
    size_t n_blkio;
};
void proc_stats_fini(struct proc_stats *s);

/* The process table docker top answers: Titles and one row of as many cells per process. */
struct proc_top {
    char **titles; /* NULL-ended */
    char ***rows;  /* n_rows NULL-ended string lists */
    size_t n_rows;
};
void proc_top_fini(struct proc_top *t);

/* The cgroup a container runs in, as given to the runtime ("/sockerless/<id>"): where its
 * counters are on this host (v2 unified, or the v1 controllers' hierarchies), plus the host's
 * CPU time and online CPUs. ERR_NOT_FOUND when the cgroup does not exist. */
int procinfo_cgroup_stats(const char *cgroup_path, struct proc_stats *out, struct err **err);
/* The pids in the cgroup and its descendants (every process of the container), sorted and
 * without duplicates; *pids is malloc'd (NULL when *n is 0). ERR_NOT_FOUND when the cgroup
 * does not exist. */
int procinfo_cgroup_pids(const char *cgroup_path, pid_t **pids, size_t *n, struct err **err);
/* Docker's top for pids: ps_args NULL or "" or "-ef" gives ps -ef's columns (UID PID PPID C
 * STIME TTY TIME CMD) built from /proc; other arguments run the host's ps with them (split on
 * single spaces) and keep the rows whose PID column is one of pids. Errors as dockerd 20.10's
 * (all ERR_INTERNAL, a 500 there too): procinfo_check_ps_args's, ps failing ("ps: " and the
 * first line of its stderr), no PID column ("Couldn't find PID field in ps output"). */
int procinfo_top(const pid_t *pids, size_t n, const char *ps_args, struct proc_top *out,
                 struct err **err);
/* dockerd's first check of docker top's arguments, made before it looks the container up: a
 * rename of the PID column ("-o comm=PID") other than "pid=PID..." is ERR_INTERNAL
 * 'specifying "comm=PID" is not allowed'. */
int procinfo_check_ps_args(const char *ps_args, struct err **err);

/* For tests: the cgroup counters only (no /proc/stat, no online CPUs), read below
 * sysfs_cgroup_root (normally /sys/fs/cgroup) from a v2 tree (cgroup.controllers at the
 * root) or v1 controller directories (<root>/cpuacct, <root>/cpu,cpuacct, ...).
 * host_mem caps memory limits (dockerd clamps an unlimited cgroup to the machine's memory). */
int procinfo_cgroup_stats_at(const char *sysfs_cgroup_root, const char *cgroup_path,
                             uint64_t host_mem, struct proc_stats *out, struct err **err);
int procinfo_cgroup_pids_at(const char *sysfs_cgroup_root, const char *cgroup_path, pid_t **pids,
                            size_t *n, struct err **err);
/* For tests: the system CPU time dockerd derives from /proc/stat text (the first seven fields
 * of the "cpu" line, in clock ticks of ticks_per_s, as ns). ERR_INTERNAL on a malformed line. */
int procinfo_parse_system_cpu(const char *proc_stat, long ticks_per_s, uint64_t *ns,
                              struct err **err);

/* Internal, shared by procinfo.c and procinfo_top.c: the whole of a small kernel file as a
 * NUL-terminated string (malloc'd) and its length in *len (may be NULL), or NULL with errno
 * set (EFBIG past cap bytes). */
char *procinfo_read_text(const char *path, size_t cap, size_t *len);

/* The process driver's top and stats (process_info.c): the container's cgroup is
 * "/sockerless/<id>" (the cgroupsPath it runs with). ERR_CONFLICT "Container <id> is not
 * running" when it is not running; takes the engine lock itself for the state check and calls
 * the kernel without it. */
int process_top(struct engine *eng, struct container *c, const char *ps_args, struct proc_top *out,
                struct err **err);
int process_stats(struct engine *eng, struct container *c, struct proc_stats *out,
                  struct err **err);

#endif
