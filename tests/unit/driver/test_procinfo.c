/* driver/procinfo: the cgroup counters and pids read from v1 and v2 trees imitated under /tmp,
 * the host's CPU time, and docker top of this test's own process and its children, checked
 * against the host's ps where it is installed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/procinfo.h"

#include "../cmocka_prelude.h"

static const uint64_t GIB = 1024ULL * 1024 * 1024;

/* ---- fixture helpers ---- */

/* Writes root/rel (creating its directories). */
static void
put(const char *root, const char *rel, const char *content)
{
    char *path = xasprintf("%s/%s", root, rel);
    char *dir = xstrdup(path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(fsutil_mkdir_p(dir, 0755, NULL), 0);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    free(dir);
    free(path);
}

static char *
new_root(void)
{
    char tmpl[] = "/tmp/procinfo-test-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return xstrdup(tmpl);
}

static void
drop_root(char *root)
{
    assert_int_equal(fsutil_remove_tree(root, NULL), 0);
    free(root);
}

static uint64_t
mem_stat(const struct proc_stats *s, const char *key)
{
    for (size_t i = 0; i < s->mem_stats.n; i++)
        if (strcmp(s->mem_stats.keys[i], key) == 0)
            return s->mem_stats.values[i];
    fail_msg("memory stat %s missing", key);
    return 0;
}

static bool
has_mem_stat(const struct proc_stats *s, const char *key)
{
    for (size_t i = 0; i < s->mem_stats.n; i++)
        if (strcmp(s->mem_stats.keys[i], key) == 0)
            return true;
    return false;
}

/* A v1 layout: cpu and cpuacct co-mounted (as many distributions do), the others alone. */
static void
put_v1(const char *root, const char *limit)
{
    put(root, "cpu,cpuacct/sockerless/abc/cpuacct.usage", "123456789\n");
    put(root, "cpu,cpuacct/sockerless/abc/cpuacct.usage_percpu", "100 200 \n");
    put(root, "cpu,cpuacct/sockerless/abc/cpuacct.stat", "user 150\nsystem 50\n");
    put(root, "cpu,cpuacct/sockerless/abc/cpu.stat",
        "nr_periods 10\nnr_throttled 2\nthrottled_time 3000\n");
    put(root, "cpu,cpuacct/sockerless/abc/cgroup.procs", "30\n10\n");
    put(root, "memory/sockerless/abc/memory.usage_in_bytes", "4096\n");
    put(root, "memory/sockerless/abc/memory.max_usage_in_bytes", "8192\n");
    put(root, "memory/sockerless/abc/memory.limit_in_bytes", limit);
    put(root, "memory/sockerless/abc/memory.failcnt", "3\n");
    put(root, "memory/sockerless/abc/memory.stat",
        "cache 1\nrss 2\nshmem 7\ntotal_cache 4\ntotal_rss 5\n");
    put(root, "pids/sockerless/abc/pids.current", "3\n");
    put(root, "pids/sockerless/abc/pids.max", "max\n");
    put(root, "pids/sockerless/abc/cgroup.procs", "30\n10\n20\n");
    put(root, "pids/sockerless/abc/sub/cgroup.procs", "20\n5\n");
    put(root, "blkio/sockerless/abc/blkio.throttle.io_service_bytes",
        "8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Async 0\n8:0 Total 300\nTotal 300\n");
}

/* ---- cgroup v1 ---- */

static void
stats_from_a_v1_tree(void **state)
{
    (void)state;
    char *root = new_root();
    put_v1(root, "9223372036854771712\n");
    struct proc_stats s;
    struct err *err = NULL;
    assert_int_equal(procinfo_cgroup_stats_at(root, "/sockerless/abc", GIB, &s, &err), 0);
    uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK);
    assert_int_equal(s.cgroup_version, 1);
    assert_int_equal(s.cpu_total_ns, 123456789);
    assert_int_equal(s.n_percpu, 2);
    assert_int_equal(s.percpu_ns[0], 100);
    assert_int_equal(s.percpu_ns[1], 200);
    assert_int_equal(s.cpu_user_ns, 150 * 1000000000ULL / hz); /* USER_HZ ticks -> ns */
    assert_int_equal(s.cpu_kernel_ns, 50 * 1000000000ULL / hz);
    assert_int_equal(s.throttle_periods, 10);
    assert_int_equal(s.throttled_periods, 2);
    assert_int_equal(s.throttled_ns, 3000);
    assert_int_equal(s.mem_usage, 4096);
    assert_int_equal(s.mem_max_usage, 8192);
    assert_int_equal(s.mem_limit, GIB); /* unlimited: the host's memory, as dockerd */
    assert_int_equal(s.mem_failcnt, 3);
    /* dockerd's 32 keys, zero when the kernel has none; nothing else (no shmem). */
    assert_int_equal(s.mem_stats.n, 32);
    assert_int_equal(mem_stat(&s, "cache"), 1);
    assert_int_equal(mem_stat(&s, "rss"), 2);
    assert_int_equal(mem_stat(&s, "total_cache"), 4);
    assert_int_equal(mem_stat(&s, "total_rss"), 5);
    assert_int_equal(mem_stat(&s, "total_unevictable"), 0);
    assert_false(has_mem_stat(&s, "shmem"));
    assert_int_equal(s.pids_current, 3);
    assert_int_equal(s.pids_limit, 0); /* "max" */
    /* Device lines only, the bare "Total" line skipped, ops as the kernel spells them. */
    assert_int_equal(s.n_blkio, 5);
    assert_int_equal(s.blkio[0].major, 8);
    assert_int_equal(s.blkio[0].minor, 0);
    assert_string_equal(s.blkio[0].op, "Read");
    assert_int_equal(s.blkio[0].value, 100);
    assert_string_equal(s.blkio[1].op, "Write");
    assert_string_equal(s.blkio[4].op, "Total");
    assert_int_equal(s.blkio_read_bytes, 100);
    assert_int_equal(s.blkio_write_bytes, 200);
    /* procinfo_cgroup_stats adds these; the fixture reader leaves them alone. */
    assert_int_equal(s.system_cpu_ns, 0);
    proc_stats_fini(&s);
    assert_null(s.percpu_ns);
    drop_root(root);
}

static void
v1_limit_below_host_memory_stays(void **state)
{
    (void)state;
    char *root = new_root();
    put_v1(root, "1048576\n");
    /* The CFQ file wins when it has lines; the throttle file is then not read. */
    put(root, "blkio/sockerless/abc/blkio.io_service_bytes_recursive", "8:16 Read 7\n");
    struct proc_stats s;
    assert_int_equal(procinfo_cgroup_stats_at(root, "/sockerless/abc", GIB, &s, NULL), 0);
    assert_int_equal(s.mem_limit, 1048576);
    assert_int_equal(s.n_blkio, 1);
    assert_int_equal(s.blkio[0].minor, 16);
    assert_int_equal(s.blkio_read_bytes, 7);
    proc_stats_fini(&s);
    drop_root(root);
}

static void
v1_pids_walk_the_subtree_sorted_and_unique(void **state)
{
    (void)state;
    char *root = new_root();
    put_v1(root, "max\n");
    pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(procinfo_cgroup_pids_at(root, "/sockerless/abc", &pids, &n, NULL), 0);
    assert_int_equal(n, 4);
    assert_int_equal(pids[0], 5);
    assert_int_equal(pids[1], 10);
    assert_int_equal(pids[2], 20);
    assert_int_equal(pids[3], 30);
    free(pids);
    /* Without a pids hierarchy the cpu one (here co-mounted) answers. */
    char *pids_dir = xasprintf("%s/pids", root);
    assert_int_equal(fsutil_remove_tree(pids_dir, NULL), 0);
    free(pids_dir);
    assert_int_equal(procinfo_cgroup_pids_at(root, "/sockerless/abc", &pids, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pids[0], 10);
    assert_int_equal(pids[1], 30);
    free(pids);
    drop_root(root);
}

/* ---- cgroup v2 ---- */

static void
put_v2(const char *root)
{
    put(root, "cgroup.controllers", "cpu io memory pids\n");
    put(root, "sockerless/abc/cpu.stat",
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\n"
        "throttled_usec 20\n");
    put(root, "sockerless/abc/memory.current", "4096\n");
    put(root, "sockerless/abc/memory.max", "max\n");
    put(root, "sockerless/abc/memory.events", "low 0\nhigh 0\nmax 0\noom 2\noom_kill 1\n");
    put(root, "sockerless/abc/memory.stat", "anon 10\nfile 20\nfile_mapped 3\n");
    put(root, "sockerless/abc/pids.current", "2\n");
    put(root, "sockerless/abc/pids.max", "100\n");
    put(root, "sockerless/abc/io.stat",
        "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"
        "253:1 rbytes=5 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
    put(root, "sockerless/abc/cgroup.procs", "42\n7\n");
    put(root, "sockerless/abc/inner/cgroup.procs", "8\n42\n");
}

static void
stats_from_a_v2_tree(void **state)
{
    (void)state;
    char *root = new_root();
    put_v2(root);
    struct proc_stats s;
    struct err *err = NULL;
    assert_int_equal(procinfo_cgroup_stats_at(root, "/sockerless/abc", GIB, &s, &err), 0);
    assert_int_equal(s.cgroup_version, 2);
    assert_int_equal(s.cpu_total_ns, 1500000);
    assert_int_equal(s.cpu_user_ns, 1000000);
    assert_int_equal(s.cpu_kernel_ns, 500000);
    assert_null(s.percpu_ns); /* v2 has no per-CPU usage */
    assert_int_equal(s.throttle_periods, 4);
    assert_int_equal(s.throttled_periods, 1);
    assert_int_equal(s.throttled_ns, 20000);
    assert_int_equal(s.mem_usage, 4096);
    assert_int_equal(s.mem_limit, GIB);
    assert_int_equal(s.mem_max_usage, 0);
    assert_int_equal(s.mem_failcnt, 2); /* memory.events oom */
    assert_int_equal(s.mem_stats.n, 31);
    assert_int_equal(mem_stat(&s, "anon"), 10);
    assert_int_equal(mem_stat(&s, "file"), 20);
    assert_int_equal(mem_stat(&s, "file_mapped"), 3);
    assert_int_equal(mem_stat(&s, "thp_collapse_alloc"), 0);
    assert_int_equal(s.pids_current, 2);
    assert_int_equal(s.pids_limit, 100);
    assert_int_equal(s.n_blkio, 4);
    assert_string_equal(s.blkio[0].op, "read");
    assert_int_equal(s.blkio[0].value, 10);
    assert_string_equal(s.blkio[1].op, "write");
    assert_int_equal(s.blkio[1].value, 20);
    assert_int_equal(s.blkio[2].major, 253);
    assert_int_equal(s.blkio[2].minor, 1);
    assert_int_equal(s.blkio_read_bytes, 15);
    assert_int_equal(s.blkio_write_bytes, 20);
    proc_stats_fini(&s);

    pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(procinfo_cgroup_pids_at(root, "/sockerless/abc", &pids, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_int_equal(pids[0], 7);
    assert_int_equal(pids[1], 8);
    assert_int_equal(pids[2], 42);
    free(pids);
    drop_root(root);
}

static void
missing_or_bad_cgroups(void **state)
{
    (void)state;
    char *v1 = new_root(), *v2 = new_root();
    put_v1(v1, "max\n");
    put_v2(v2);
    struct proc_stats s;
    pid_t *pids = NULL;
    size_t n = 0;
    struct err *err = NULL;
    const char *roots[] = {v1, v2};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(procinfo_cgroup_stats_at(roots[i], "/sockerless/nope", GIB, &s, &err), -1);
        assert_int_equal(err->kind, ERR_NOT_FOUND);
        err_clear(&err);
        assert_int_equal(procinfo_cgroup_pids_at(roots[i], "/sockerless/nope", &pids, &n, &err),
                         -1);
        assert_int_equal(err->kind, ERR_NOT_FOUND);
        err_clear(&err);
        assert_int_equal(procinfo_cgroup_stats_at(roots[i], "/sockerless/../abc", GIB, &s, &err),
                         -1);
        assert_int_equal(err->kind, ERR_INVALID);
        err_clear(&err);
        assert_int_equal(procinfo_cgroup_pids_at(roots[i], "sockerless/abc", &pids, &n, &err), -1);
        assert_int_equal(err->kind, ERR_INVALID);
        err_clear(&err);
    }
    drop_root(v1);
    drop_root(v2);
}

/* ---- the host ---- */

static void
system_cpu_as_dockerd_sums_it(void **state)
{
    (void)state;
    uint64_t ns = 0;
    struct err *err = NULL;
    /* The first seven fields only (steal, guest, guest_nice are left out), ticks -> ns. */
    assert_int_equal(procinfo_parse_system_cpu("cpu  10 20 30 40 50 60 70 80 90 100\n"
                                               "cpu0 1 2 3 4 5 6 7 8 9 10\nbtime 1\n",
                                               100, &ns, &err),
                     0);
    assert_int_equal(ns, 280ULL * 10000000ULL);
    assert_int_equal(procinfo_parse_system_cpu("intr 1\ncpu  1 2 3\n", 100, &ns, &err), -1);
    assert_string_equal(err->msg, "invalid number of cpu fields");
    err_clear(&err);
    assert_int_equal(procinfo_parse_system_cpu("cpu0 1 2 3 4 5 6 7\n", 100, &ns, &err), -1);
    err_clear(&err);
}

static void
stats_of_the_hosts_root_cgroup(void **state)
{
    (void)state;
    if (access("/sys/fs/cgroup", F_OK) != 0)
        skip();
    struct proc_stats s;
    struct err *err = NULL;
    if (procinfo_cgroup_stats("/", &s, &err) < 0) {
        fprintf(stderr, "no readable root cgroup here: %s\n", err->msg);
        err_clear(&err);
        skip();
    }
    assert_true(s.cgroup_version == 1 || s.cgroup_version == 2);
    assert_true(s.system_cpu_ns > 0);
    assert_int_equal(s.online_cpus, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(s.mem_limit > 0);
    proc_stats_fini(&s);
}

/* ---- top ---- */

/* Starts sh with a command line holding a double space and a tab; waits until it has exec'd. */
static pid_t
start_child(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", "sleep 30; true", "a  b\tc", (char *)NULL);
        _exit(127);
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    for (int i = 0; i < 500; i++) {
        char buf[8] = "";
        FILE *f = fopen(path, "re");
        if (f != NULL) {
            size_t got = fread(buf, 1, 3, f);
            fclose(f);
            if (got == 3 && memcmp(buf, "sh\0", 3) == 0)
                return pid;
        }
        usleep(10000);
    }
    fail_msg("the child never ran sh");
    return -1;
}

static void
stop_child(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static char *
own_user(void)
{
    struct passwd *pw = getpwuid(geteuid());
    if (pw == NULL)
        return xasprintf("%u", (unsigned)geteuid());
    if (strlen(pw->pw_name) > 8)
        return xasprintf("%.7s+", pw->pw_name);
    return xstrdup(pw->pw_name);
}

static bool
have_ps(void)
{
    return system("ps -p 1 >/dev/null 2>&1") == 0;
}

/* The row ps -ef prints for pid, split as dockerd splits it, or NULL. */
static char **
ps_ef_row(pid_t pid)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "ps -ef -q %d", (int)pid);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096];
    char **row = NULL;
    if (fgets(line, sizeof(line), p) != NULL && fgets(line, sizeof(line), p) != NULL) {
        row = strv_append(NULL, strtok(line, " \t\n"));
        for (char *f; (f = strtok(NULL, " \t\n")) != NULL;)
            row = strv_append(row, f);
    }
    pclose(p);
    return row;
}

static void
top_ef_of_self_and_a_child(void **state)
{
    (void)state;
    pid_t child = start_child();
    pid_t pids[] = {getpid(), child};
    struct proc_top t;
    struct err *err = NULL;
    assert_int_equal(procinfo_top(pids, 2, NULL, &t, &err), 0);
    const char *titles[] = {"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD", NULL};
    assert_int_equal(strv_len(t.titles), 8);
    for (size_t i = 0; titles[i] != NULL; i++)
        assert_string_equal(t.titles[i], titles[i]);
    assert_int_equal(t.n_rows, 2);
    char *user = own_user();
    char self[16], parent[16], kid[16];
    snprintf(self, sizeof(self), "%d", (int)getpid());
    snprintf(parent, sizeof(parent), "%d", (int)getppid());
    snprintf(kid, sizeof(kid), "%d", (int)child);
    assert_string_equal(t.rows[0][0], user);
    assert_string_equal(t.rows[0][1], self);
    assert_string_equal(t.rows[0][2], parent);
    assert_string_equal(t.rows[1][1], kid);
    assert_string_equal(t.rows[1][2], self);
    assert_string_equal(t.rows[1][6], "00:00:00");
    /* Blanks made one space (dockerd splits ps output into fields), the tab shown as '?'. */
    assert_string_equal(t.rows[1][7], "sh -c sleep 30; true a b?c");
    for (size_t r = 0; r < 2; r++) {
        assert_int_equal(strv_len(t.rows[r]), 8);
        assert_true(atoi(t.rows[r][3]) >= 0 && atoi(t.rows[r][3]) <= 99);
        assert_true(strlen(t.rows[r][4]) > 0);
    }
    /* Where ps is installed, its -ef agrees column by column (C and TIME may tick between). */
    if (have_ps()) {
        for (size_t r = 0; r < 2; r++) {
            char **ps = ps_ef_row(pids[r]);
            assert_non_null(ps);
            size_t n = strv_len(ps);
            assert_true(n >= 8);
            for (size_t i = 0; i < 6; i++)
                if (i != 3)
                    assert_string_equal(t.rows[r][i], ps[i]);
            if (r == 1) {
                assert_string_equal(ps[7], "sh");
                assert_string_equal(ps[n - 1], "b?c");
            }
            strv_free(ps);
        }
    }
    proc_top_fini(&t);
    free(user);
    stop_child(child);
}

static void
top_shows_zombies_and_skips_the_gone(void **state)
{
    (void)state;
    pid_t zombie = fork();
    assert_true(zombie >= 0);
    if (zombie == 0)
        _exit(0);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)zombie);
    for (int i = 0; i < 500; i++) {
        char buf[256] = "";
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        size_t got = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[got] = '\0';
        char *close = strrchr(buf, ')');
        if (close != NULL && close[2] == 'Z')
            break;
        usleep(10000);
    }
    pid_t gone = fork();
    assert_true(gone >= 0);
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    pid_t pids[] = {zombie, gone};
    struct proc_top t;
    assert_int_equal(procinfo_top(pids, 2, "-ef", &t, NULL), 0);
    assert_int_equal(t.n_rows, 1);
    char comm[64] = "";
    FILE *f = fopen("/proc/self/comm", "re");
    assert_non_null(f);
    assert_non_null(fgets(comm, sizeof(comm), f));
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    char *want = xasprintf("[%s] <defunct>", comm);
    assert_string_equal(t.rows[0][7], want);
    free(want);
    proc_top_fini(&t);
    waitpid(zombie, NULL, 0);
}

static void
top_with_ps_arguments(void **state)
{
    (void)state;
    if (!have_ps())
        skip();
    pid_t child = start_child();
    pid_t pids[] = {child};
    struct proc_top t;
    struct err *err = NULL;
    /* Only the given pids' rows, though ps -e lists every process. */
    assert_int_equal(procinfo_top(pids, 1, "-e -o pid,comm", &t, &err), 0);
    assert_int_equal(strv_len(t.titles), 2);
    assert_string_equal(t.titles[0], "PID");
    assert_string_equal(t.titles[1], "COMMAND");
    assert_int_equal(t.n_rows, 1);
    assert_int_equal(atoi(t.rows[0][0]), child);
    assert_string_equal(t.rows[0][1], "sh");
    proc_top_fini(&t);
    /* The overhanging fields of the last column are joined with single spaces. */
    assert_int_equal(procinfo_top(pids, 1, "-o pid,args", &t, &err), 0);
    assert_int_equal(t.n_rows, 1);
    assert_int_equal(strv_len(t.rows[0]), 2);
    assert_string_equal(t.rows[0][1], "sh -c sleep 30; true a b?c");
    proc_top_fini(&t);
    /* dockerd's errors, word for word. */
    assert_int_equal(procinfo_top(pids, 1, "-o comm", &t, &err), -1);
    assert_int_equal(err->kind, ERR_INTERNAL);
    assert_string_equal(err->msg, "Couldn't find PID field in ps output");
    err_clear(&err);
    assert_int_equal(procinfo_top(pids, 1, "--bogus-option", &t, &err), -1);
    assert_int_equal(err->kind, ERR_INTERNAL);
    assert_true(strncmp(err->msg, "ps: ", 4) == 0);
    assert_null(strchr(err->msg, '\n'));
    err_clear(&err);
    stop_child(child);
}

static void
ps_arguments_that_rename_pid(void **state)
{
    (void)state;
    struct err *err = NULL;
    assert_int_equal(procinfo_check_ps_args("-ef", &err), 0);
    assert_int_equal(procinfo_check_ps_args("-e -o pid=PID,comm", &err), 0);
    assert_int_equal(procinfo_check_ps_args("-o comm=PID", NULL), -1);
    assert_int_equal(procinfo_check_ps_args("-o pid,comm=PID", &err), -1);
    assert_int_equal(err->kind, ERR_INTERNAL);
    assert_string_equal(err->msg, "specifying \"pid,comm=PID\" is not allowed");
    err_clear(&err);
    assert_int_equal(procinfo_check_ps_args("x -o =PIDS", &err), -1);
    assert_string_equal(err->msg, "specifying \"=PIDS\" is not allowed");
    err_clear(&err);
    assert_int_equal(procinfo_check_ps_args("-o comm= PID", &err), -1);
    assert_string_equal(err->msg, "specifying \"comm=PID\" is not allowed");
    err_clear(&err);
    /* Needs a blank before the name, as the regexp does. */
    assert_int_equal(procinfo_check_ps_args("comm=PID", &err), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stats_from_a_v1_tree),
        cmocka_unit_test(v1_limit_below_host_memory_stays),
        cmocka_unit_test(v1_pids_walk_the_subtree_sorted_and_unique),
        cmocka_unit_test(stats_from_a_v2_tree),
        cmocka_unit_test(missing_or_bad_cgroups),
        cmocka_unit_test(system_cpu_as_dockerd_sums_it),
        cmocka_unit_test(stats_of_the_hosts_root_cgroup),
        cmocka_unit_test(top_ef_of_self_and_a_child),
        cmocka_unit_test(top_shows_zombies_and_skips_the_gone),
        cmocka_unit_test(top_with_ps_arguments),
        cmocka_unit_test(ps_arguments_that_rename_pid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
