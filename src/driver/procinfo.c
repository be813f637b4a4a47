/*
 * procinfo, the cgroup half: a container's counters and pids from its cgroup, read the way
 * dockerd (through containerd's cgroups package) reads them. The process table half (docker
 * top) is procinfo_top.c.
 */
#include "driver/procinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/xalloc.h"

enum {
    CGROUP_FILE_MAX = 1024 * 1024,   /* memory.stat and friends are a few KiB */
    PROC_STAT_MAX = 4 * 1024 * 1024, /* /proc/stat grows with the CPU count */
    PIDS_MAX = 4 * 1024 * 1024,      /* far above any pid_max */
    WALK_DEPTH_MAX = 32,
};

static const char SYSFS_CGROUP[] = "/sys/fs/cgroup";
static const uint64_t NS_PER_S = 1000000000ULL;

/* The memory.stat keys dockerd reports (daemon/stats_unix.go): every one is present, 0 when
 * the kernel does not have it. */
static const char *const MEM_KEYS_V1[] = {"cache",
                                          "rss",
                                          "rss_huge",
                                          "mapped_file",
                                          "dirty",
                                          "writeback",
                                          "pgpgin",
                                          "pgpgout",
                                          "pgfault",
                                          "pgmajfault",
                                          "inactive_anon",
                                          "active_anon",
                                          "inactive_file",
                                          "active_file",
                                          "unevictable",
                                          "hierarchical_memory_limit",
                                          "hierarchical_memsw_limit",
                                          "total_cache",
                                          "total_rss",
                                          "total_rss_huge",
                                          "total_mapped_file",
                                          "total_dirty",
                                          "total_writeback",
                                          "total_pgpgin",
                                          "total_pgpgout",
                                          "total_pgfault",
                                          "total_pgmajfault",
                                          "total_inactive_anon",
                                          "total_active_anon",
                                          "total_inactive_file",
                                          "total_active_file",
                                          "total_unevictable",
                                          NULL};
static const char *const MEM_KEYS_V2[] = {"anon",
                                          "file",
                                          "kernel_stack",
                                          "slab",
                                          "sock",
                                          "shmem",
                                          "file_mapped",
                                          "file_dirty",
                                          "file_writeback",
                                          "anon_thp",
                                          "inactive_anon",
                                          "active_anon",
                                          "inactive_file",
                                          "active_file",
                                          "unevictable",
                                          "slab_reclaimable",
                                          "slab_unreclaimable",
                                          "pgfault",
                                          "pgmajfault",
                                          "workingset_refault",
                                          "workingset_activate",
                                          "workingset_nodereclaim",
                                          "pgrefill",
                                          "pgscan",
                                          "pgsteal",
                                          "pgactivate",
                                          "pgdeactivate",
                                          "pglazyfree",
                                          "pglazyfreed",
                                          "thp_fault_alloc",
                                          "thp_collapse_alloc",
                                          NULL};

void
proc_stats_fini(struct proc_stats *s)
{
    if (s == NULL)
        return;
    free(s->percpu_ns);
    for (size_t i = 0; i < s->mem_stats.n; i++)
        free(s->mem_stats.keys[i]);
    free(s->mem_stats.keys);
    free(s->mem_stats.values);
    free(s->blkio);
    memset(s, 0, sizeof(*s));
}

char *
procinfo_read_text(const char *path, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct buf b;
    buf_init(&b, cap);
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && buf_append(&b, chunk, (size_t)n, NULL) < 0)) {
            int saved = n < 0 ? errno : EFBIG;
            buf_fini(&b);
            close(fd);
            errno = saved;
            return NULL;
        }
        if (n == 0)
            break;
    }
    close(fd);
    return buf_take(&b, len);
}

/* A cgroup file of one number; "max" is UINT64_MAX. False when absent or not a number. */
static bool
read_u64(const char *dir, const char *name, uint64_t *out)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    cleanup_free char *text = procinfo_read_text(path, CGROUP_FILE_MAX, NULL);
    if (text == NULL)
        return false;
    if (strncmp(text, "max", 3) == 0) {
        *out = UINT64_MAX;
        return true;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        return false;
    *out = v;
    return true;
}

/* The value of key in "key value" lines (cpu.stat, memory.stat, cpuacct.stat). */
static bool
kv_get(const char *text, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            *out = strtoull(line + klen + 1, NULL, 10);
            return true;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return false;
}

static char *
read_file_in(const char *dir, const char *name)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    return procinfo_read_text(path, CGROUP_FILE_MAX, NULL);
}

static bool
is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* True when name (a v1 mount's directory, "cpu,cpuacct") lists controller. */
static bool
lists_controller(const char *name, const char *controller)
{
    size_t len = strlen(controller);
    for (const char *p = name;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (n == len && strncmp(p, controller, len) == 0)
            return true;
        if (comma == NULL)
            return false;
        p = comma + 1;
    }
}

/* A v1 controller's directory for the cgroup, as runc places an absolute cgroupsPath: below
 * the hierarchy's mount point under the cgroup root, which may be a co-mount
 * ("cpu,cpuacct"). NULL when the controller is not mounted or the cgroup is not in it. */
static char *
v1_dir(const char *root, const char *controller, const char *path)
{
    char *dir = xasprintf("%s/%s%s", root, controller, path);
    if (is_dir(dir))
        return dir;
    free(dir);
    DIR *d = opendir(root);
    if (d == NULL)
        return NULL;
    struct dirent *de;
    dir = NULL;
    while (dir == NULL && (de = readdir(d)) != NULL) {
        if (strchr(de->d_name, ',') == NULL || !lists_controller(de->d_name, controller))
            continue;
        dir = xasprintf("%s/%s%s", root, de->d_name, path);
        if (!is_dir(dir)) {
            free(dir);
            dir = NULL;
        }
    }
    closedir(d);
    return dir;
}

static bool
is_v2_root(const char *root)
{
    cleanup_free char *p = xasprintf("%s/cgroup.controllers", root);
    return access(p, F_OK) == 0;
}

/* The cgroup path must be absolute and stay inside the hierarchy. */
static int
check_cgroup_path(const char *path, struct err **err)
{
    if (path == NULL || path[0] != '/' || strstr(path, "/..") != NULL)
        return err_make(err, ERR_INVALID, 0, "invalid cgroup path %s", path ? path : "(null)");
    return 0;
}

static void
mem_stats_fill(struct proc_stats *out, const char *const *keys, const char *text)
{
    size_t n = 0;
    while (keys[n] != NULL)
        n++;
    out->mem_stats.keys = xcalloc(n, sizeof(char *));
    out->mem_stats.values = xcalloc(n, sizeof(uint64_t));
    out->mem_stats.n = n;
    for (size_t i = 0; i < n; i++) {
        out->mem_stats.keys[i] = xstrdup(keys[i]);
        if (text != NULL)
            kv_get(text, keys[i], &out->mem_stats.values[i]);
    }
}

static void
blkio_add(struct proc_stats *out, uint64_t major, uint64_t minor, const char *op, size_t op_len,
          uint64_t value)
{
    out->blkio = xrealloc(out->blkio, (out->n_blkio + 1) * sizeof(*out->blkio));
    struct proc_blkio_entry *e = &out->blkio[out->n_blkio++];
    e->major = major;
    e->minor = minor;
    snprintf(e->op, sizeof(e->op), "%.*s", (int)op_len, op);
    e->value = value;
    if (strcasecmp(e->op, "read") == 0)
        out->blkio_read_bytes += value;
    else if (strcasecmp(e->op, "write") == 0)
        out->blkio_write_bytes += value;
}

/* blkio.*io_service_bytes*: "MAJ:MIN Op value" lines and a "Total value" line. Returns the
 * entries read (0 when absent). */
static size_t
v1_blkio_read(struct proc_stats *out, const char *dir, const char *name)
{
    cleanup_free char *text = read_file_in(dir, name);
    size_t before = out->n_blkio;
    for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        unsigned long long major, minor, value;
        char op[16];
        if (sscanf(line, "%llu:%llu %15s %llu", &major, &minor, op, &value) == 4)
            blkio_add(out, major, minor, op, strlen(op), value);
    }
    return out->n_blkio - before;
}

static void
v1_cpu(const char *root, const char *path, struct proc_stats *out, bool *found)
{
    cleanup_free char *acct = v1_dir(root, "cpuacct", path);
    if (acct != NULL) {
        *found = true;
        read_u64(acct, "cpuacct.usage", &out->cpu_total_ns);
        cleanup_free char *percpu = read_file_in(acct, "cpuacct.usage_percpu");
        for (char *p = percpu, *end; p != NULL;) {
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p)
                break;
            out->percpu_ns = xrealloc(out->percpu_ns, (out->n_percpu + 1) * sizeof(uint64_t));
            out->percpu_ns[out->n_percpu++] = v;
            p = end;
        }
        /* user and system are in USER_HZ ticks (containerd converts them the same way). */
        cleanup_free char *stat = read_file_in(acct, "cpuacct.stat");
        uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK), ticks;
        if (stat != NULL && hz > 0 && kv_get(stat, "user", &ticks))
            out->cpu_user_ns = ticks * NS_PER_S / hz;
        if (stat != NULL && hz > 0 && kv_get(stat, "system", &ticks))
            out->cpu_kernel_ns = ticks * NS_PER_S / hz;
    }
    cleanup_free char *cpu = v1_dir(root, "cpu", path);
    if (cpu != NULL) {
        *found = true;
        cleanup_free char *stat = read_file_in(cpu, "cpu.stat");
        if (stat != NULL) {
            kv_get(stat, "nr_periods", &out->throttle_periods);
            kv_get(stat, "nr_throttled", &out->throttled_periods);
            kv_get(stat, "throttled_time", &out->throttled_ns);
        }
    }
}

static int
stats_v1(const char *root, const char *path, uint64_t host_mem, struct proc_stats *out,
         struct err **err)
{
    bool found = false;
    out->cgroup_version = 1;
    v1_cpu(root, path, out, &found);
    cleanup_free char *mem = v1_dir(root, "memory", path);
    cleanup_free char *mem_stat = NULL;
    if (mem != NULL) {
        found = true;
        read_u64(mem, "memory.usage_in_bytes", &out->mem_usage);
        read_u64(mem, "memory.max_usage_in_bytes", &out->mem_max_usage);
        read_u64(mem, "memory.limit_in_bytes", &out->mem_limit);
        read_u64(mem, "memory.failcnt", &out->mem_failcnt);
        mem_stat = read_file_in(mem, "memory.stat");
    }
    mem_stats_fill(out, MEM_KEYS_V1, mem_stat);
    cleanup_free char *pids = v1_dir(root, "pids", path);
    if (pids != NULL) {
        found = true;
        read_u64(pids, "pids.current", &out->pids_current);
        if (read_u64(pids, "pids.max", &out->pids_limit) && out->pids_limit == UINT64_MAX)
            out->pids_limit = 0;
    }
    cleanup_free char *blkio = v1_dir(root, "blkio", path);
    if (blkio != NULL) {
        found = true;
        /* The CFQ/BFQ files first, the throttle ones when those have nothing (containerd). */
        if (v1_blkio_read(out, blkio, "blkio.io_service_bytes_recursive") == 0)
            v1_blkio_read(out, blkio, "blkio.throttle.io_service_bytes");
    }
    if (!found)
        return err_make(err, ERR_NOT_FOUND, ENOENT, "cgroup %s not found", path);
    if (host_mem > 0 && out->mem_limit > host_mem)
        out->mem_limit = host_mem;
    return 0;
}

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device; dockerd shows rbytes as a
 * "read" entry and wbytes as a "write" one. */
static void
v2_io(const char *dir, struct proc_stats *out)
{
    cleanup_free char *text = read_file_in(dir, "io.stat");
    for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        unsigned long long major, minor;
        if (sscanf(line, "%llu:%llu", &major, &minor) != 2)
            continue;
        uint64_t rbytes = 0, wbytes = 0;
        for (char *tok = strchr(line, ' '); tok != NULL; tok = strchr(tok + 1, ' ')) {
            if (strncmp(tok + 1, "rbytes=", 7) == 0)
                rbytes = strtoull(tok + 8, NULL, 10);
            else if (strncmp(tok + 1, "wbytes=", 7) == 0)
                wbytes = strtoull(tok + 8, NULL, 10);
        }
        blkio_add(out, major, minor, "read", 4, rbytes);
        blkio_add(out, major, minor, "write", 5, wbytes);
    }
}

static int
stats_v2(const char *root, const char *path, uint64_t host_mem, struct proc_stats *out,
         struct err **err)
{
    cleanup_free char *dir = xasprintf("%s%s", root, path);
    if (!is_dir(dir))
        return err_make(err, ERR_NOT_FOUND, ENOENT, "cgroup %s not found", path);
    out->cgroup_version = 2;
    cleanup_free char *cpu = read_file_in(dir, "cpu.stat");
    uint64_t usec;
    if (cpu != NULL && kv_get(cpu, "usage_usec", &usec))
        out->cpu_total_ns = usec * 1000;
    if (cpu != NULL && kv_get(cpu, "user_usec", &usec))
        out->cpu_user_ns = usec * 1000;
    if (cpu != NULL && kv_get(cpu, "system_usec", &usec))
        out->cpu_kernel_ns = usec * 1000;
    if (cpu != NULL && kv_get(cpu, "throttled_usec", &usec))
        out->throttled_ns = usec * 1000;
    if (cpu != NULL) {
        kv_get(cpu, "nr_periods", &out->throttle_periods);
        kv_get(cpu, "nr_throttled", &out->throttled_periods);
    }
    read_u64(dir, "memory.current", &out->mem_usage);
    read_u64(dir, "memory.max", &out->mem_limit);
    if (host_mem > 0 && out->mem_limit > host_mem)
        out->mem_limit = host_mem;
    cleanup_free char *events = read_file_in(dir, "memory.events");
    if (events != NULL)
        kv_get(events, "oom", &out->mem_failcnt);
    cleanup_free char *mem_stat = read_file_in(dir, "memory.stat");
    mem_stats_fill(out, MEM_KEYS_V2, mem_stat);
    read_u64(dir, "pids.current", &out->pids_current);
    if (read_u64(dir, "pids.max", &out->pids_limit) && out->pids_limit == UINT64_MAX)
        out->pids_limit = 0;
    v2_io(dir, out);
    return 0;
}

int
procinfo_cgroup_stats_at(const char *sysfs_cgroup_root, const char *cgroup_path, uint64_t host_mem,
                         struct proc_stats *out, struct err **err)
{
    if (check_cgroup_path(cgroup_path, err) < 0)
        return -1;
    struct proc_stats s = {0};
    int rc = is_v2_root(sysfs_cgroup_root)
                 ? stats_v2(sysfs_cgroup_root, cgroup_path, host_mem, &s, err)
                 : stats_v1(sysfs_cgroup_root, cgroup_path, host_mem, &s, err);
    if (rc < 0) {
        proc_stats_fini(&s);
        return -1;
    }
    *out = s;
    return 0;
}

int
procinfo_parse_system_cpu(const char *proc_stat, long ticks_per_s, uint64_t *ns, struct err **err)
{
    for (const char *line = proc_stat; line != NULL && *line != '\0';) {
        if (strncmp(line, "cpu ", 4) == 0) {
            /* user nice system idle iowait irq softirq: dockerd sums these seven only. */
            uint64_t total = 0;
            const char *p = line + 4;
            for (int i = 0; i < 7; i++) {
                char *end;
                unsigned long long v = strtoull(p, &end, 10);
                if (end == p || ticks_per_s <= 0)
                    return err_make(err, ERR_INTERNAL, 0, "invalid number of cpu fields");
                total += v;
                p = end;
            }
            *ns = total * NS_PER_S / (uint64_t)ticks_per_s;
            return 0;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return err_make(err, ERR_INTERNAL, 0,
                    "invalid stat format. Error trying to parse the '/proc/stat' file");
}

int
procinfo_cgroup_stats(const char *cgroup_path, struct proc_stats *out, struct err **err)
{
    struct sysinfo si;
    uint64_t host_mem = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
    struct proc_stats s;
    if (procinfo_cgroup_stats_at(SYSFS_CGROUP, cgroup_path, host_mem, &s, err) < 0)
        return -1;
    cleanup_free char *stat = procinfo_read_text("/proc/stat", PROC_STAT_MAX, NULL);
    if (stat == NULL) {
        proc_stats_fini(&s);
        return err_errno(err, "read /proc/stat");
    }
    if (procinfo_parse_system_cpu(stat, sysconf(_SC_CLK_TCK), &s.system_cpu_ns, err) < 0) {
        proc_stats_fini(&s);
        return -1;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN); /* what dockerd 20.10 asks */
    s.online_cpus = ncpu > 0 ? (uint32_t)ncpu : 0;
    *out = s;
    return 0;
}

/* --- pids ------------------------------------------------------------------------------- */

struct pid_list {
    pid_t *v;
    size_t n, alloc;
};

/* Appends the pids of dir/cgroup.procs, then those of every child cgroup (runc's GetAllPids
 * walks the subtree too). */
static int
collect_pids(const char *dir, int depth, struct pid_list *l, struct err **err)
{
    cleanup_free char *procs = read_file_in(dir, "cgroup.procs");
    if (procs == NULL)
        return errno == ENOENT ? err_make(err, ERR_NOT_FOUND, ENOENT, "%s not found", dir)
                               : err_errno(err, "read %s/cgroup.procs", dir);
    for (char *p = procs, *end;; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (l->n == PIDS_MAX)
            return err_make(err, ERR_TOO_LARGE, 0, "too many processes in %s", dir);
        if (l->n == l->alloc) {
            l->alloc = l->alloc ? l->alloc * 2 : 16;
            l->v = xrealloc(l->v, l->alloc * sizeof(pid_t));
        }
        l->v[l->n++] = (pid_t)v;
    }
    if (depth >= WALK_DEPTH_MAX)
        return 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0; /* removed meanwhile: what was read stands */
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        cleanup_free char *sub = xasprintf("%s/%s", dir, de->d_name);
        struct err *sub_err = NULL;
        rc = collect_pids(sub, depth + 1, l, &sub_err);
        if (rc < 0 && err_kind_of(&sub_err) == ERR_NOT_FOUND) {
            rc = 0; /* a child cgroup removed while we walked */
            err_clear(&sub_err);
        } else if (rc < 0 && err != NULL) {
            err_clear(err);
            *err = sub_err;
        } else {
            err_clear(&sub_err);
        }
    }
    closedir(d);
    return rc;
}

static int
cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

int
procinfo_cgroup_pids_at(const char *sysfs_cgroup_root, const char *cgroup_path, pid_t **pids,
                        size_t *n, struct err **err)
{
    if (check_cgroup_path(cgroup_path, err) < 0)
        return -1;
    char *dir = NULL;
    if (is_v2_root(sysfs_cgroup_root)) {
        dir = xasprintf("%s%s", sysfs_cgroup_root, cgroup_path);
    } else {
        /* Any v1 hierarchy holds every process of the container; pids and cpu are the ones
         * runc always joins. */
        static const char *const order[] = {"pids", "cpu", "cpuacct", "memory", "devices", NULL};
        for (size_t i = 0; dir == NULL && order[i] != NULL; i++)
            dir = v1_dir(sysfs_cgroup_root, order[i], cgroup_path);
    }
    if (dir == NULL || !is_dir(dir)) {
        free(dir);
        return err_make(err, ERR_NOT_FOUND, ENOENT, "cgroup %s not found", cgroup_path);
    }
    struct pid_list l = {0};
    int rc = collect_pids(dir, 0, &l, err);
    free(dir);
    if (rc < 0) {
        free(l.v);
        return -1;
    }
    if (l.n > 0)
        qsort(l.v, l.n, sizeof(pid_t), cmp_pid);
    size_t k = 0;
    for (size_t i = 0; i < l.n; i++)
        if (k == 0 || l.v[k - 1] != l.v[i])
            l.v[k++] = l.v[i];
    if (k == 0) {
        free(l.v);
        l.v = NULL;
    }
    *pids = l.v;
    *n = k;
    return 0;
}

int
procinfo_cgroup_pids(const char *cgroup_path, pid_t **pids, size_t *n, struct err **err)
{
    return procinfo_cgroup_pids_at(SYSFS_CGROUP, cgroup_path, pids, n, err);
}
