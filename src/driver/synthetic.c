/*
 * The synthetic driver: no process runs. Its behaviour is the seed's, documented in
 * docs/drivers.md: start writes the command line to the container's stdout and the container
 * exits with code 0 after 50 ms (200 ms with OpenStdin); stop ends it with code 0; kill ends it
 * with 137 for SIGKILL and 0 for any other signal; pause and unpause only change the state;
 * exec writes its command line to stdout and exits 0, also in a container that has exited; the
 * filesystem is a per-container staging directory under the data root; top shows one process,
 * the command line; stats are Docker's shape with zero counters.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "driver/procinfo.h"
#include "driver/rootfs.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "image/tarfs.h"

enum { AUTO_EXIT_MS = 50, AUTO_EXIT_STDIN_MS = 200 };

struct synth_exit {
    struct engine *eng;
    struct container *c;
    uint64_t run;
};

static bool
synth_owns(const struct driver *d, struct engine *eng, const struct container *c)
{
    (void)d;
    (void)eng;
    (void)c;
    return true; /* the last link: it can answer for any container */
}

static void
synth_exit_fire(void *arg)
{
    struct synth_exit *x = arg;
    engine_container_exited(x->eng, x->c, x->run, 0);
}

static void
synth_exit_free(void *arg)
{
    struct synth_exit *x = arg;
    container_unref(x->c);
    free(x);
}

static void
append_word(struct buf *b, const char *w)
{
    if (b->len > 0)
        buf_append(b, " ", 1, NULL);
    buf_append(b, w, strlen(w), NULL);
}

static int
synth_start(struct engine *eng, struct container *c, struct err **err)
{
    (void)err;
    struct buf line;
    buf_init(&line, 64 * 1024);
    append_word(&line, c->path ? c->path : "");
    for (size_t i = 0; c->args != NULL && c->args[i] != NULL; i++)
        append_word(&line, c->args[i]);
    buf_append(&line, "\n", 1, NULL);
    logbuf_append(c->logs, 1, line.data, line.len);
    buf_fini(&line);
    struct synth_exit *x = xcalloc(1, sizeof(*x));
    x->eng = eng;
    x->c = c;
    container_ref(c);
    x->run = engine_container_run(eng, c);
    timers_after(eng->timers, c->spec.open_stdin ? AUTO_EXIT_STDIN_MS : AUTO_EXIT_MS,
                 synth_exit_fire, x, synth_exit_free);
    return 0;
}

static int
synth_stop(struct engine *eng, struct container *c, int signal, int timeout_s, struct err **err)
{
    (void)signal;
    (void)timeout_s;
    (void)err;
    engine_container_exited(eng, c, engine_container_run(eng, c), 0);
    return 0;
}

static int
synth_kill(struct engine *eng, struct container *c, int signal, struct err **err)
{
    (void)err;
    engine_container_exited(eng, c, engine_container_run(eng, c), signal == SIGKILL ? 137 : 0);
    return 0;
}

static int
synth_pause(struct engine *eng, struct container *c, struct err **err)
{
    (void)eng;
    (void)c;
    (void)err;
    return 0;
}

/* Exec echoes its command line on stdout and exits 0. */
static int
synth_exec(struct engine *eng, struct container *c, struct exec *e, const struct exec_io *io,
           struct err **err)
{
    (void)eng;
    (void)c;
    (void)err;
    struct buf line;
    buf_init(&line, 64 * 1024);
    for (size_t i = 0; e->cmd[i] != NULL; i++)
        append_word(&line, e->cmd[i]);
    buf_append(&line, "\n", 1, NULL);
    io->write(io->ctx, 1, line.data, line.len);
    buf_fini(&line);
    return 0;
}

/* A per-container staging directory is its filesystem, so docker cp round-trips. */
static char *
staging_dir(struct engine *eng, const struct container *c)
{
    return xasprintf("%s/containers/%s/staging", eng->data_root, c->id);
}

static int
synth_root_path(struct engine *eng, struct container *c, char **out, struct err **err)
{
    char *dir = staging_dir(eng, c);
    if (fsutil_mkdir_p(dir, 0755, err) < 0) {
        free(dir);
        return -1;
    }
    *out = dir;
    return 0;
}

/* top: one process, the command (Path and Args) as the container's user ("root" when unset),
 * with the pid the state records and the start time (the seed's answer). */
static int
synth_top(struct engine *eng, struct container *c, const char *ps_args, struct proc_top *out,
          struct err **err)
{
    (void)ps_args; /* no ps to run: every argument gives the same columns */
    (void)err;
    struct buf cmd;
    buf_init(&cmd, 64 * 1024);
    append_word(&cmd, c->path ? c->path : "");
    for (size_t i = 0; c->args != NULL && c->args[i] != NULL; i++)
        append_word(&cmd, c->args[i]);
    engine_lock(eng);
    char *user = xstrdup(c->spec.user && *c->spec.user ? c->spec.user : "root");
    int pid = c->state.pid;
    time_t started = (time_t)(c->state.started_ns / 1000000000);
    engine_unlock(eng);
    char stime[8];
    struct tm tm;
    localtime_r(&started, &tm);
    strftime(stime, sizeof(stime), "%H:%M", &tm);
    static const char *const titles[] = {"UID", "PID",  "PPID", "C", "STIME",
                                         "TTY", "TIME", "CMD",  NULL};
    char **row = xcalloc(9, sizeof(char *));
    row[0] = user;
    row[1] = xasprintf("%d", pid);
    row[2] = xstrdup("0");
    row[3] = xstrdup("0");
    row[4] = xstrdup(stime);
    row[5] = xstrdup("?");
    row[6] = xstrdup("00:00:00");
    row[7] = buf_take(&cmd, NULL);
    out->titles = strv_dup((char *const *)titles);
    out->rows = xcalloc(1, sizeof(char **));
    out->rows[0] = row;
    out->n_rows = 1;
    return 0;
}

/* stats: every counter zero, the host's CPUs and memory as the limit (the seed's answer). */
static int
synth_stats(struct engine *eng, struct container *c, struct proc_stats *out, struct err **err)
{
    (void)c;
    (void)err;
    memset(out, 0, sizeof(*out));
    out->cgroup_version = 0; /* no cgroup: api/ keeps the seed's shape with its zero keys */
    out->online_cpus = eng->host.ncpu > 0 ? (uint32_t)eng->host.ncpu : 0;
    out->mem_limit = eng->host.mem_total > 0 ? (uint64_t)eng->host.mem_total : 0;
    return 0;
}

/* docker diff: the staging directory starts empty, so everything in it was added. */
static int
synth_changes(struct engine *eng, struct container *c, struct rootfs_change **out, size_t *n,
              struct err **err)
{
    char *dir = NULL;
    if (synth_root_path(eng, c, &dir, err) < 0)
        return -1;
    char **paths = tarfs_list(dir, err);
    free(dir);
    if (paths == NULL)
        return -1;
    size_t count = strv_len(paths);
    struct rootfs_change *ch = xcalloc(count + 1, sizeof(*ch));
    for (size_t i = 0; i < count; i++) {
        ch[i].path = paths[i];
        ch[i].kind = ROOTFS_ADDED;
    }
    free(paths); /* the strings moved into ch */
    *out = ch;
    *n = count;
    return 0;
}

static void
synth_cleanup(struct engine *eng, struct container *c)
{
    cleanup_free char *dir = xasprintf("%s/containers/%s", eng->data_root, c->id);
    struct err *err = NULL;
    if (fsutil_remove_tree(dir, &err) < 0) {
        LOG_WARN("cleanup of %.12s: %s", c->id, err->msg);
        err_clear(&err);
    }
}

const struct driver driver_synthetic = {
    .name = "synthetic",
    .owns = synth_owns,
    .start = synth_start,
    .stop = synth_stop,
    .kill = synth_kill,
    .pause = synth_pause,
    .unpause = synth_pause,
    .exec = synth_exec,
    .root_path = synth_root_path,
    .changes = synth_changes,
    .top = synth_top,
    .stats = synth_stats,
    .exec_when_stopped = true, /* the seed lets synthetic containers exec after their exit */
    .cleanup = synth_cleanup,
};
