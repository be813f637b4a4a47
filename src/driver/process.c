/*
 * The process driver: real containers from the image's layers through an OCI runtime (runc,
 * crun). The daemon is the monitor: it holds each container's stdio (pipes, or the pty master
 * the runtime hands over its console socket), starts each container with one `runtime run`
 * (in the foreground without a terminal: that runtime reaps the process and exits with its
 * status), is the child subreaper of the rest (so it reaps them through pidfds), keeps the
 * output in the container's log buffer and in a json-file log on disk, and reports exits to
 * the engine. docs/drivers.md explains it.
 *
 * Per container: <data-root>/containers/<id>/ holds the rootfs (upper/, work/, merged/), the
 * bundle's config.json, the hosts/hostname/resolv.conf files, the runtime's log and the
 * json-file log. The runtime's own state lives under <data-root>/runtime/<runtime name>.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "driver/logsink.h"
#include "driver/ocispec.h"
#include "driver/procinfo.h"
#include "driver/reaper.h"
#include "driver/rootfs.h"
#include "driver/runtime.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "image/layerstore.h"

enum {
    READ_CHUNK = 32 * 1024,
    DRAIN_AFTER_EXIT_MS = 2000, /* output still arriving after the process ended */
    KILL_WAIT_MS = 10000,
    START_TIMEOUT_MS = 60000,
};

/* The driver's state, set once by process_driver_init. */
static struct {
    bool ready;
    char *status; /* why it is not ready, for /info */
    struct runtime rt;
    enum rootfs_mode mode;
    char *busybox_dir;  /* the base root of images without layers */
    char *sock_dir;     /* console sockets (a short path: sun_path holds 108 bytes) */
    char *init_path;    /* docker-init (a static tini) for --init, or NULL */
    pthread_mutex_t mu; /* c->driver_data creation, exec ttys */
    /* The start-up probe runs in its own thread while the daemon already serves: whoever needs
     * the runtime (owns, ready, the runtime's name) waits for it under probe_mu. */
    pthread_mutex_t probe_mu;
    pthread_cond_t probe_cv;
    bool probing;
    pthread_t probe_thread;
    char *data_root;
    char **candidates; /* runtime paths to try, in order */
    bool given;        /* the runtime was named (--runtime), not found among crun and runc */
    process_driver_failed_fn *failed;
    void *failed_ctx;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .probe_mu = PTHREAD_MUTEX_INITIALIZER,
       .probe_cv = PTHREAD_COND_INITIALIZER};

/* Waits for the start-up probe (not in the probe's own thread, which uses the driver). */
static void
probe_wait(void)
{
    pthread_mutex_lock(&P.probe_mu);
    while (P.probing && !pthread_equal(pthread_self(), P.probe_thread))
        pthread_cond_wait(&P.probe_cv, &P.probe_mu);
    pthread_mutex_unlock(&P.probe_mu);
}

/* What the driver keeps for one container (c->driver_data). */
struct pctr {
    int refs; /* under P.mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *cdir;
    bool mounted;
    int stdin_fd; /* write end of the container's stdin, or the pty master (dup); -1 */
    int tty_fd;   /* pty master, -1 */
    pid_t pid;
    int pidfd;      /* the container's process, for signals; -1 once it is known to be gone */
    bool running;   /* a process exists (from its start to the report of its exit) */
    bool reporting; /* the monitor is reporting the exit to the engine */
    pthread_t monitor;
    uint64_t exits; /* bumped once the engine knows of an exit */
};

static struct pctr *
pctr_get(struct container *c)
{
    pthread_mutex_lock(&P.mu);
    struct pctr *pc = c->driver_data;
    if (pc == NULL) {
        pc = xcalloc(1, sizeof(*pc));
        pc->refs = 1; /* the container's */
        pthread_mutex_init(&pc->mu, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&pc->cv, &ca);
        pthread_condattr_destroy(&ca);
        pc->stdin_fd = pc->tty_fd = pc->pidfd = -1;
        c->driver_data = pc;
    }
    pc->refs++;
    pthread_mutex_unlock(&P.mu);
    return pc;
}

static void
pctr_unref(struct pctr *pc)
{
    pthread_mutex_lock(&P.mu);
    bool last = --pc->refs == 0;
    pthread_mutex_unlock(&P.mu);
    if (!last)
        return;
    pthread_mutex_destroy(&pc->mu);
    pthread_cond_destroy(&pc->cv);
    free(pc->cdir);
    free(pc);
}

static char *
container_dir(struct engine *eng, const struct container *c)
{
    return xasprintf("%s/containers/%s", eng->data_root, c->id);
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Waits on pc->cv until pred(pc) or timeout_ms (-1: forever). pc->mu held. */
static bool
wait_until(struct pctr *pc, bool (*pred)(const struct pctr *, uint64_t), uint64_t arg,
           int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms >= 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    while (!pred(pc, arg)) {
        if (timeout_ms < 0)
            pthread_cond_wait(&pc->cv, &pc->mu);
        else if (pthread_cond_timedwait(&pc->cv, &pc->mu, &deadline) == ETIMEDOUT)
            return pred(pc, arg);
    }
    return true;
}

static bool
exited_since(const struct pctr *pc, uint64_t exits)
{
    return pc->exits != exits;
}

/* ---- the image's layers ---- */

/* The lower dirs of c's root: its image's layers, base first; the host busybox root for an
 * image without layers. */
static int
image_lowers_locked(struct engine *eng, const struct container *c, char ***out, struct err **err)
{
    char **lowers = NULL;
    struct image *img = map_get(&eng->store.images, c->image_id);
    /* A synthetic pull has no files: the host busybox root stands for them, under the layers
     * of what was built or committed on it. An image built FROM scratch may have no layer. */
    bool base = img != NULL && (img->synthetic || img->busybox_base);
    if (base)
        lowers = strv_append(lowers, P.busybox_dir);
    int rc = 0;
    if (img != NULL && !img->synthetic) {
        for (size_t i = 0; img->diff_ids[i] != NULL && rc == 0; i++) {
            if (!layerstore_has(eng->layers, img->diff_ids[i]))
                rc = err_make(err, ERR_NOT_FOUND, 0, "layer %s of image %s is missing",
                              img->diff_ids[i], img->id);
            else {
                /* Layers with the same content share one directory, which overlayfs refuses
                 * twice in one stack (ELOOP); the upper occurrence alone gives the same tree. */
                char *dir = layerstore_diff_dir(eng->layers, img->diff_ids[i]);
                for (size_t j = 0; lowers != NULL && lowers[j] != NULL; j++) {
                    if (strcmp(lowers[j], dir) == 0) {
                        free(lowers[j]);
                        memmove(&lowers[j], &lowers[j + 1],
                                (strv_len(lowers) - j) * sizeof(*lowers));
                        break;
                    }
                }
                lowers = strv_append(lowers, dir);
                free(dir);
            }
        }
    }
    if (img == NULL)
        rc = err_make(err, ERR_NOT_FOUND, 0, "No such image: %s", c->image_id);
    if (rc < 0) {
        strv_free(lowers);
        return -1;
    }
    *out = lowers;
    return 0;
}

static int
image_lowers(struct engine *eng, const struct container *c, char ***out, struct err **err)
{
    engine_lock(eng);
    int rc = image_lowers_locked(eng, c, out, err);
    engine_unlock(eng);
    return rc;
}

/* oci_spec_validate, and dockerd's check of the working directory in the image's files
 * (SetupWorkingDirectory at create). Engine lock held. */
static int
proc_validate(struct engine *eng, const struct container *c, struct err **err)
{
    if (oci_spec_validate(c, err) < 0)
        return -1;
    const char *wd = c->spec.working_dir;
    if (wd == NULL || wd[0] != '/')
        return 0;
    char **lowers = NULL;
    int rc = image_lowers_locked(eng, c, &lowers, err);
    if (rc == 0)
        rc = rootfs_check_workdir(lowers, strv_len(lowers), wd, err);
    strv_free(lowers);
    return rc;
}

/* Inspect's paths: the files in the container's directory once it has started (as dockerd
 * shows them), and the overlay's dirs. Engine lock held. */
static void
proc_files(struct engine *eng, const struct container *c, struct driver_files *out)
{
    char *dir = container_dir(eng, c);
    if (c->state.started_ns != 0) {
        out->resolv_conf = xasprintf("%s/resolv.conf", dir);
        out->hostname = xasprintf("%s/hostname", dir);
        out->hosts = xasprintf("%s/hosts", dir);
        out->log = xasprintf("%s/%s-json.log", dir, c->id);
    }
    char **lowers = NULL;
    struct err *err = NULL;
    if (P.mode == ROOTFS_OVERLAY && image_lowers_locked(eng, c, &lowers, &err) == 0) {
        /* overlayfs order: the top first; the container's init layer tops them all */
        cleanup_free char *init = xasprintf("%s/init", dir);
        char **top_first = strv_append(NULL, init);
        for (size_t i = strv_len(lowers); i > 0; i--)
            top_first = strv_append(top_first, lowers[i - 1]);
        out->lower = strv_join(top_first, ":");
        strv_free(top_first);
        out->upper = xasprintf("%s/upper", dir);
        out->work = xasprintf("%s/work", dir);
    }
    err_clear(&err);
    strv_free(lowers);
    out->merged = xasprintf("%s/merged", dir);
    free(dir);
}

static int
ensure_rootfs(struct engine *eng, struct container *c, struct pctr *pc, struct err **err)
{
    pthread_mutex_lock(&pc->mu);
    bool mounted = pc->mounted;
    if (pc->cdir == NULL)
        pc->cdir = container_dir(eng, c);
    pthread_mutex_unlock(&pc->mu);
    if (mounted)
        return 0;
    char **lowers = NULL;
    if (image_lowers(eng, c, &lowers, err) < 0)
        return -1;
    int rc = fsutil_mkdir_p(pc->cdir, 0710, err);
    if (rc == 0)
        rc = rootfs_mount(P.mode, lowers, strv_len(lowers), pc->cdir, err);
    strv_free(lowers);
    if (rc < 0)
        return -1;
    pthread_mutex_lock(&pc->mu);
    pc->mounted = true;
    pthread_mutex_unlock(&pc->mu);
    return 0;
}

/* ---- console sockets (the runtime sends the pty master over it) ---- */

static int
console_listen(char **path_out, struct err **err)
{
    static unsigned long seq;
    pthread_mutex_lock(&P.mu);
    unsigned long n = ++seq;
    pthread_mutex_unlock(&P.mu);
    char *path = xasprintf("%s/c%lu.sock", P.sock_dir, n);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        free(path);
        return err_make(err, ERR_INTERNAL, 0, "console socket path too long");
    }
    strcpy(sa.sun_path, path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        free(path);
        return err_make(err, ERR_INTERNAL, e, "console socket");
    }
    *path_out = path;
    return fd;
}

/* Accepts the runtime's connection and receives the pty master, while the runtime command
 * `pid` runs; gives up if it ends first. Returns the master fd or -1. */
static int
console_receive(int lfd, pid_t pid, struct err **err)
{
    for (int waited = 0; waited < START_TIMEOUT_MS; waited += 100) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int r = poll(&p, 1, 100);
        if (r > 0)
            break;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            /* Ended without connecting: put the status back for runtime_wait to report. */
            return err_make(err, ERR_INTERNAL, 0, "the runtime ended before sending the console");
        }
    }
    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0)
        return err_make(err, ERR_INTERNAL, errno, "console socket accept");
    char name[256];
    struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n = recvmsg(cfd, &msg, MSG_CMSG_CLOEXEC);
    close(cfd);
    struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
        return err_make(err, ERR_INTERNAL, 0, "the runtime sent no console");
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
    return fd;
}

static int
set_winsize(int fd, int height, int width, struct err **err)
{
    struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
    if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
        return err_make(err, ERR_INTERNAL, errno, "resize");
    return 0;
}

/* Reaps the process behind pidfd: its exit code as Docker reports it (128+n for signal n). */
static int
reap(int pidfd, pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int r;
    if (pidfd >= 0)
        r = waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED);
    else
        r = waitid(P_PID, (id_t)pid, &info, WEXITED);
    if (r < 0)
        return 255;
    if (info.si_code == CLD_EXITED)
        return info.si_status;
    return 128 + info.si_status;
}

/* ---- output until exit ---- */

/* Receives what fds[i] gives: data (len > 0), or the end of fds[i] (len == 0). */
typedef void (*pump_sink)(void *ctx, size_t i, const char *data, size_t len);

/* Reads fds[0..n) (at most 2) into sink until the process behind pidfd has exited and every fd
 * is at its end, or DRAIN_AFTER_EXIT_MS after the exit (a descendant may still hold one). */
static void
pump_until_exit(const int *fds, size_t n, int pidfd, pump_sink sink, void *ctx)
{
    bool open[2] = {n > 0 && fds[0] >= 0, n > 1 && fds[1] >= 0};
    bool exited = false;
    int64_t deadline = 0;
    for (;;) {
        struct pollfd p[3];
        nfds_t np = 0;
        int idx[2] = {-1, -1};
        for (size_t i = 0; i < 2; i++) {
            if (open[i]) {
                idx[i] = (int)np;
                p[np++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
            }
        }
        if (np == 0 && exited)
            break;
        int pid_idx = -1;
        if (!exited) {
            pid_idx = (int)np;
            p[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        }
        int timeout = -1;
        if (exited) {
            int64_t left = (deadline - time_mono_ns()) / 1000000;
            if (left <= 0)
                break;
            timeout = (int)left;
        }
        int r = poll(p, np, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 && exited)
            break;
        for (size_t i = 0; i < 2; i++) {
            if (idx[i] < 0 || p[idx[i]].revents == 0)
                continue;
            char buf[READ_CHUNK];
            ssize_t got = read(fds[i], buf, sizeof(buf));
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) { /* EOF, or EIO from a pty whose other side closed */
                open[i] = false;
                sink(ctx, i, NULL, 0);
                continue;
            }
            sink(ctx, i, buf, (size_t)got);
        }
        if (pid_idx >= 0 && p[pid_idx].revents != 0) {
            exited = true;
            deadline = time_mono_ns() + (int64_t)DRAIN_AFTER_EXIT_MS * 1000000;
        }
    }
    for (size_t i = 0; i < 2; i++)
        if (open[i])
            sink(ctx, i, NULL, 0);
}

/* ---- the monitor: one thread per running container ---- */

struct monitor {
    struct engine *eng;
    struct container *c; /* a reference */
    struct pctr *pc;     /* a reference */
    uint64_t run;
    struct out_stream out[2];
    size_t n_out;
    /* The process whose end is the container's: the runtime running in the foreground (which
     * deletes the container's state once it has reaped the container's process, and exits with
     * its status), or the container's process itself (its state is deleted here). */
    int pidfd;
    pid_t pid;
    int sig_pidfd;        /* foreground: the container's process (pc->pidfd), or -1 */
    struct log_sink sink; /* its json-file: none when wrapped (the agent driver's) */
    /* Wrapped (struct process_wrap): told of the end instead of the engine */
    void (*ended)(void *ctx, struct engine *eng, struct container *c, uint64_t run, int code);
    void *ended_ctx;
};

static void
runtime_delete(struct pctr *pc, const char *id)
{
    /* No state directory, nothing to delete: a runtime run per container is 10-20 ms (runc
     * and crun keep a container's state in <root>/<id>). */
    cleanup_free char *state = xasprintf("%s/%s", P.rt.root, id);
    if (access(state, F_OK) < 0 && errno == ENOENT)
        return;
    cleanup_free char *log = xasprintf("%s/runtime.log", pc->cdir);
    const char *args[] = {"delete", "--force", id, NULL};
    struct err *err = NULL;
    if (runtime_run(&P.rt, log, args, &err) < 0) {
        LOG_DEBUG("%s delete %.12s: %s", P.rt.name, id, err->msg);
        err_clear(&err);
    }
}

static void
monitor_feed(void *ctx, size_t i, const char *data, size_t len)
{
    struct monitor *m = ctx;
    if (len == 0)
        log_sink_flush(&m->sink, &m->out[i]);
    else
        log_sink_feed(&m->sink, &m->out[i], data, len);
}

static void *
monitor_main(void *arg)
{
    struct monitor *m = arg;
    int fds[2] = {m->out[0].fd, m->n_out > 1 ? m->out[1].fd : -1};
    pump_until_exit(fds, m->n_out, m->pidfd, monitor_feed, m);
    for (size_t i = 0; i < m->n_out; i++) {
        close(m->out[i].fd);
        free(m->out[i].pending);
    }
    int code = reap(m->pidfd, m->pid);
    reaper_disown(m->pid);
    log_sink_fini(&m->sink);
    /* A foreground runtime has deleted the state, unless it died (killed): then this removes
     * the container's processes and state (one access() when there is nothing). */
    runtime_delete(m->pc, m->c->id);

    pthread_mutex_lock(&m->pc->mu);
    m->pc->running = false;
    m->pc->reporting = true;
    m->pc->monitor = pthread_self();
    m->pc->pid = 0;
    m->pc->pidfd = -1;
    close_fd(&m->pc->stdin_fd);
    close_fd(&m->pc->tty_fd);
    pthread_mutex_unlock(&m->pc->mu);
    /* Closed only once nobody can signal through pc->pidfd: the number may be reused at once,
     * by another container's pidfd. */
    close(m->pidfd);
    if (m->sig_pidfd >= 0)
        close(m->sig_pidfd);

    /* Who waits for the exit (stop, kill, remove) returns once the engine knows of it, so
     * the die event comes before what they do next. An auto-remove runs in this thread. */
    if (m->ended != NULL)
        m->ended(m->ended_ctx, m->eng, m->c, m->run, code);
    else
        engine_container_exited(m->eng, m->c, m->run, code);
    pthread_mutex_lock(&m->pc->mu);
    m->pc->reporting = false;
    m->pc->exits++;
    pthread_cond_broadcast(&m->pc->cv);
    pthread_mutex_unlock(&m->pc->mu);
    pctr_unref(m->pc);
    container_unref(m->c);
    free(m);
    return NULL;
}

/* ---- lifecycle ---- */

static bool
proc_owns(const struct driver *d, struct engine *eng, const struct container *c)
{
    (void)d;
    (void)eng;
    (void)c;
    probe_wait();
    return P.ready;
}

static bool
proc_ready(void)
{
    probe_wait();
    return P.ready;
}

static json_t *
bind_json(const char *dest, const char *source, bool ro)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", "bind", "source", source,
                     "options",
                     ro ? json_pack("[s, s, s]", "rbind", "ro", "nosuid")
                        : json_pack("[s, s, s]", "rbind", "nosuid", "nodev"));
}

/* Runs spec's process under the agent (struct process_wrap): the agent's binary and
 * directories mounted, its command line in front of the container's (docker-init stays
 * first), no terminal (the agent gives the command its own). */
static void
wrap_spec(json_t *spec, const struct process_wrap *w)
{
    json_t *proc = json_object_get(spec, "process");
    json_object_set_new(proc, "terminal", json_false());
    json_t *old = json_object_get(proc, "args");
    json_t *args = json_array();
    size_t i = 0;
    const char *first = json_string_value(json_array_get(old, 0));
    if (first != NULL && strcmp(first, "/sbin/docker-init") == 0)
        for (; i < 2 && i < json_array_size(old); i++)
            json_array_append(args, json_array_get(old, i));
    json_array_append_new(args, json_string(PROCESS_WRAP_AGENT));
    for (size_t j = 0; w->agent_args != NULL && w->agent_args[j] != NULL; j++)
        json_array_append_new(args, json_string(w->agent_args[j]));
    json_array_append_new(args, json_string("--"));
    for (; i < json_array_size(old); i++)
        json_array_append(args, json_array_get(old, i));
    json_object_set_new(proc, "args", args);
    json_t *mounts = json_object_get(spec, "mounts");
    json_array_append_new(mounts, bind_json(PROCESS_WRAP_AGENT, w->agent_binary, true));
    json_array_append_new(mounts, bind_json(PROCESS_WRAP_DIR, w->agent_dir, false));
    if (w->callback_dir != NULL)
        json_array_append_new(mounts, bind_json(PROCESS_WRAP_CALLBACK_DIR, w->callback_dir, false));
}

/* The agent's directory belongs to the user the agent runs as (it creates its socket there
 * and reads its token). */
static int
chown_tree_top(const char *dir, const struct oci_user *u, struct err **err)
{
    if (chown(dir, u->uid, u->gid) < 0)
        return err_make(err, ERR_INTERNAL, errno, "chown %s", dir);
    cleanup_free char *token = xasprintf("%s/token", dir);
    if (chown(token, u->uid, u->gid) < 0 && errno != ENOENT)
        return err_make(err, ERR_INTERNAL, errno, "chown %s", token);
    return 0;
}

/* Writes the files the container's /etc gets and the bundle's config.json. */
static int
write_bundle(struct container *c, struct pctr *pc, bool new_netns, const struct oci_joins *joins,
             const struct process_wrap *wrap, struct err **err)
{
    cleanup_free char *merged = xasprintf("%s/merged", pc->cdir);
    cleanup_free char *hosts = xasprintf("%s/hosts", pc->cdir);
    cleanup_free char *hostname = xasprintf("%s/hostname", pc->cdir);
    cleanup_free char *resolv = xasprintf("%s/resolv.conf", pc->cdir);
    cleanup_free char *config = xasprintf("%s/config.json", pc->cdir);
    cleanup_free char *cgroup = xasprintf("/sockerless/%s", c->id);
    struct oci_user user = {0};
    if (oci_user_resolve(merged, c->spec.user, c->spec.group_add, &user, err) < 0)
        return -1;
    /* The container shares the host's network namespace (or has loopback only): its hostname
     * is reachable at 127.0.0.1, as a bridge container's is at its address. */
    cleanup_free char *hosts_text = oci_hosts_file(c, new_netns ? NULL : "127.0.0.1");
    cleanup_free char *resolv_text = oci_resolv_conf(c);
    cleanup_free char *hostname_text = xasprintf("%s\n", c->spec.hostname);
    int rc = -1;
    if (fsutil_write_replace(hosts, hosts_text, strlen(hosts_text), 0644, err) == 0 &&
        fsutil_write_replace(hostname, hostname_text, strlen(hostname_text), 0644, err) == 0 &&
        fsutil_write_replace(resolv, resolv_text, strlen(resolv_text), 0644, err) == 0) {
        struct oci_paths paths = {.rootfs = merged,
                                  .hosts = hosts,
                                  .hostname = hostname,
                                  .resolv_conf = resolv,
                                  .cgroups_path = cgroup,
                                  .init_path = P.init_path,
                                  .new_netns = new_netns,
                                  .joins = *joins};
        json_t *spec = oci_spec_container(c, &user, &paths, err);
        if (spec != NULL && wrap != NULL) {
            wrap_spec(spec, wrap);
            if (chown_tree_top(wrap->agent_dir, &user, err) < 0) {
                json_decref(spec);
                spec = NULL;
            }
        }
        if (spec != NULL && wrap == NULL && c->spec.tty && c->spec.console_height > 0 &&
            c->spec.console_width > 0)
            json_object_set_new(json_object_get(spec, "process"), "consoleSize",
                                json_pack("{s:i, s:i}", "height", c->spec.console_height, "width",
                                          c->spec.console_width));
        if (spec != NULL) {
            char *text = json_dumps(spec, JSON_COMPACT);
            json_decref(spec);
            rc = fsutil_write_replace(config, text, strlen(text), 0600, err);
            free(text);
        }
    }
    oci_user_fini(&user);
    return rc;
}

static pid_t
read_pid_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    long pid = -1;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = -1;
    fclose(f);
    return (pid_t)pid;
}

static int
open_pidfd(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits until the runtime behind rpidfd, running in the foreground, has written the
 * container's pid file (it does so once the process runs), or has ended. Returns the pid, 0
 * when the runtime ended without writing it, -1 after START_TIMEOUT_MS. The file is looked at
 * after 0.25 ms, then at intervals doubling up to 1 ms (a start takes 4 to 6 ms here): an
 * inotify watch of the directory would wake at once, but closing an inotify descriptor waits for
 * the kernel's SRCU grace period, 12 ms typically and up to 22 ms on this machine, which was half
 * of a container's start. runc writes the file by a rename, crun in one write: a reader sees it
 * empty or whole. */
static pid_t
await_pid_file(int rpidfd, const char *pidfile)
{
    int64_t deadline = time_mono_ns() + (int64_t)START_TIMEOUT_MS * 1000000;
    int64_t step_ns = 250000;
    for (;;) {
        pid_t pid = read_pid_file(pidfile);
        if (pid > 0)
            return pid;
        int64_t left = deadline - time_mono_ns();
        if (left <= 0)
            return -1;
        int64_t wait_ns = step_ns < left ? step_ns : left;
        struct timespec ts = {.tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000};
        struct pollfd p = {.fd = rpidfd, .events = POLLIN};
        if (ppoll(&p, 1, &ts, NULL) > 0) {
            pid = read_pid_file(pidfile);
            return pid > 0 ? pid : 0;
        }
        if (step_ns < 1000000)
            step_ns *= 2;
    }
}

/* crun's words for a command that cannot be executed, in runc's (new string), or NULL when msg
 * is something else. The docker CLI exits 127 or 126 by what the message says ("executable
 * file not found", "no such file or directory", "permission denied", as runc writes them), and
 * dockerd answers 400 for them: crun says "executable file `X` not found in $PATH: No such file
 * or directory" for both a bare name and a path, and "open executable: Permission denied" (or
 * "Operation not permitted", for a directory) without the name. exe is the container's command
 * as given. */
static char *
exec_failure_in_runc_words(const char *msg, const char *exe)
{
    static const char not_found[] = "executable file `";
    if (strncmp(msg, not_found, sizeof(not_found) - 1) == 0 && strstr(msg, "` not found") != NULL) {
        if (strchr(exe, '/') != NULL)
            return xasprintf("exec: \"%s\": stat %s: no such file or directory", exe, exe);
        return xasprintf("exec: \"%s\": executable file not found in $PATH", exe);
    }
    if (strcmp(msg, "open executable: Permission denied") == 0 ||
        strcmp(msg, "open executable: Operation not permitted") == 0)
        return xasprintf("exec: \"%s\": permission denied", exe);
    return NULL;
}

/* Docker's form of a runtime's failure to start a container: "OCI runtime create failed: ...",
 * with the kind (400) the CLI turns into 126/127. exe is the container's command. */
static int
create_failed(struct err **err, const char *exe)
{
    const char *msg = *err ? (*err)->msg : "unknown error";
    /* The container starts with the runtime's `run`; dockerd's containerd runs `create` first,
     * and its message names that step: "runc create failed: ...". */
    cleanup_free char *run_failed = xasprintf("%s run failed: ", P.rt.name);
    bool runc_form = strncmp(msg, run_failed, strlen(run_failed)) == 0;
    cleanup_free char *exec = exec_failure_in_runc_words(msg, exe != NULL ? exe : "");
    cleanup_free char *detail = exec != NULL
                                    ? xasprintf("unable to start container process: %s", exec)
                                    : xstrdup(runc_form ? msg + strlen(run_failed) : msg);
    enum err_kind kind = ERR_INTERNAL;
    if (strstr(detail, "executable file not found") ||
        strstr(detail, "no such file or directory") || strstr(detail, "permission denied"))
        kind = ERR_INVALID;
    struct err *e = NULL;
    if (runc_form || exec != NULL)
        err_make(&e, kind, 0, "OCI runtime create failed: %s create failed: %s: unknown", P.rt.name,
                 detail);
    else
        err_make(&e, kind, 0, "OCI runtime create failed: %s: unknown", detail);
    err_clear(err);
    *err = e;
    return -1;
}

static bool
network_none(const struct container *c)
{
    return c->spec.network_mode != NULL && strcmp(c->spec.network_mode, "none") == 0;
}

static int
proc_start_with(struct engine *eng, struct container *c, const struct process_wrap *wrap,
                struct err **err)
{
    struct pctr *pc = pctr_get(c);
    uint64_t run = engine_container_run(eng, c);
    int rc = -1;
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    int lfd = -1, tty = -1;
    cleanup_free char *sock = NULL;
    cleanup_free char *pidfile = NULL;
    cleanup_free char *log = NULL;
    cleanup_free char *json_path = NULL;
    pid_t rpid = -1, pid = -1;
    int pidfd = -1, rpidfd = -1;
    bool tty_mode = c->spec.tty && wrap == NULL;
    bool foreground = !tty_mode;
    int agent_log = -1; /* wrapped: the agent's own output */
    char **args = NULL;
    struct monitor *m = NULL;
    pthread_t t;
    pthread_attr_t attr;
    struct err *log_err = NULL;

    struct oci_joins joins = {0}; /* PidMode / IpcMode "container:": found at each start */
    if (ensure_rootfs(eng, c, pc, err) < 0 || oci_joins_resolve(eng, c, &joins, err) < 0 ||
        write_bundle(c, pc, network_none(c), &joins, wrap, err) < 0)
        goto out;
    pidfile = xasprintf("%s/init.pid", pc->cdir);
    log = xasprintf("%s/runtime.log", pc->cdir);
    unlink(pidfile);
    runtime_delete(pc, c->id); /* state a crashed earlier run may have left */
    unlink(log);               /* its errors are the messages a failure shows: only this start's */

    if (wrap != NULL) {
        cleanup_free char *alog = xasprintf("%s/agent.log", pc->cdir);
        agent_log = open(alog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (agent_log < 0) {
            err_make(err, ERR_INTERNAL, errno, "%s", alog);
            goto out;
        }
    } else if (tty_mode) {
        if ((lfd = console_listen(&sock, err)) < 0)
            goto out;
    } else {
        if ((c->spec.open_stdin && pipe2(pin, O_CLOEXEC) < 0) || pipe2(pout, O_CLOEXEC) < 0 ||
            pipe2(perr, O_CLOEXEC) < 0) {
            err_make(err, ERR_INTERNAL, errno, "pipe");
            goto out;
        }
    }
    /* One runtime command starts the container: `run`, in the foreground when the container has
     * no terminal. That runtime stays its parent until it ends, reaps it, deletes the container's
     * state and exits with its status; nothing else runs the runtime for this start (create, start
     * and delete were three runs, about 20 ms each of the runtime's own start-up). With a
     * terminal it runs detached (the console comes through the socket; a foreground runtime would
     * want a terminal of its own) and the state is deleted after the exit. */
    args = strv_append(args, "run");
    if (!foreground)
        args = strv_append(args, "--detach");
    args = strv_append(args, "--bundle");
    args = strv_append(args, pc->cdir);
    args = strv_append(args, "--pid-file");
    args = strv_append(args, pidfile);
    if (tty_mode) {
        args = strv_append(args, "--console-socket");
        args = strv_append(args, sock);
    }
    args = strv_append(args, c->id);
    if (wrap != NULL)
        rc = runtime_spawn(&P.rt, log, (const char *const *)args, -1, agent_log, agent_log, &rpid,
                           err);
    else
        rc = runtime_spawn(&P.rt, log, (const char *const *)args, pin[0], pout[1], perr[1], &rpid,
                           err);
    strv_free(args);
    close_fd(&pin[0]);
    close_fd(&pout[1]);
    close_fd(&perr[1]);
    if (rc < 0)
        goto out;
    rc = -1;
    if (foreground) {
        /* The runtime is the daemon's child, not reaped yet: its pid is its own. */
        rpidfd = open_pidfd(rpid);
        if (rpidfd < 0) {
            err_make(err, ERR_INTERNAL, errno, "%s run: pidfd", P.rt.name);
            kill(rpid, SIGKILL);
            runtime_wait(&P.rt, rpid, NULL, "run", NULL);
            goto out;
        }
        reaper_own(rpid);
        pid = await_pid_file(rpidfd, pidfile);
        if (pid <= 0) {
            if (pid < 0) /* stuck: not started after START_TIMEOUT_MS */
                kill(rpid, SIGKILL);
            if (runtime_wait(&P.rt, rpid, log, "run", err) == 0)
                err_make(err, ERR_INTERNAL, 0, "%s run ended without starting the container",
                         P.rt.name);
            reaper_disown(rpid);
            runtime_delete(pc, c->id);
            create_failed(err, c->path);
            goto out;
        }
        /* The process may have ended already (the runtime reaps it): signals then have nobody
         * to reach, and the runtime's exit reports the end. */
        pidfd = open_pidfd(pid);
    } else { /* with a terminal: run --detach hands the console over first */
        tty = console_receive(lfd, rpid, err);
        if (tty < 0) {
            struct err *werr = NULL;
            if (runtime_wait(&P.rt, rpid, log, "run", &werr) < 0) {
                err_clear(err);
                *err = werr;
            }
            create_failed(err, c->path);
            goto out;
        }
        if (runtime_wait(&P.rt, rpid, log, "run", err) < 0) {
            create_failed(err, c->path);
            goto out;
        }
        /* The process runs already, and may have ended: a zombie child of the daemon (the
         * subreaper) keeps its pid until the monitor reaps it. */
        pid = read_pid_file(pidfile);
        pidfd = pid > 0 ? open_pidfd(pid) : -1;
        if (pidfd < 0) {
            err_make(err, ERR_INTERNAL, errno, "container process %d: pidfd", (int)pid);
            runtime_delete(pc, c->id);
            goto out;
        }
        reaper_own(pid); /* the monitor reaps it */
    }

    m = xcalloc(1, sizeof(*m));
    m->eng = eng;
    m->c = c;
    container_ref(c);
    m->pc = pc;
    pthread_mutex_lock(&P.mu);
    pc->refs++;
    pthread_mutex_unlock(&P.mu);
    m->run = run;
    if (foreground) {
        m->pid = rpid;
        m->pidfd = rpidfd;
        m->sig_pidfd = pidfd;
        rpidfd = -1;
    } else {
        m->pid = pid;
        m->pidfd = pidfd;
        m->sig_pidfd = -1;
    }
    if (wrap != NULL) {
        m->ended = wrap->ended;
        m->ended_ctx = wrap->ctx;
        m->n_out = 0;
    } else if (tty_mode) {
        m->out[0] = (struct out_stream){.fd = dup(tty), .stream = 1};
        m->n_out = 1;
    } else {
        m->out[0] = (struct out_stream){.fd = pout[0], .stream = 1};
        m->out[1] = (struct out_stream){.fd = perr[0], .stream = 2};
        m->n_out = 2;
        pout[0] = perr[0] = -1;
    }
    log_sink_init(&m->sink, c);
    json_path = xasprintf("%s/%s-json.log", pc->cdir, c->id);
    if (wrap == NULL && log_sink_open(&m->sink, json_path, &log_err) < 0) {
        /* The output is still logged, in memory only (engine/logbuf.h). */
        LOG_WARN("container %.12s: json-file log: %s", c->id, log_err->msg);
        err_clear(&log_err);
    }

    pthread_mutex_lock(&pc->mu);
    pc->pid = pid;
    pc->pidfd = pidfd;
    pc->running = true;
    if (tty_mode) {
        pc->tty_fd = tty;
        pc->stdin_fd = c->spec.open_stdin ? dup(tty) : -1;
        tty = -1;
    } else if (wrap == NULL) {
        pc->stdin_fd = pin[1];
        pin[1] = -1;
    }
    pthread_cond_broadcast(&pc->cv);
    pthread_mutex_unlock(&pc->mu);

    engine_lock(eng);
    c->state.pid = pid;
    engine_unlock(eng);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, monitor_main, m) != 0) {
        pthread_attr_destroy(&attr);
        if (pidfd >= 0)
            syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        monitor_main(m); /* reaps and reports here */
        err_make(err, ERR_INTERNAL, 0, "cannot start the container's monitor");
        goto out;
    }
    pthread_attr_destroy(&attr);
    rc = 0;
out:
    close_fd(&rpidfd);
    if (lfd >= 0)
        close(lfd);
    if (sock != NULL)
        unlink(sock);
    close_fd(&agent_log);
    close_fd(&tty);
    close_fd(&pin[0]);
    close_fd(&pin[1]);
    close_fd(&pout[0]);
    close_fd(&pout[1]);
    close_fd(&perr[0]);
    close_fd(&perr[1]);
    pctr_unref(pc);
    return rc;
}

static int
proc_start(struct engine *eng, struct container *c, struct err **err)
{
    return proc_start_with(eng, c, NULL, err);
}

int
process_start_wrapped(struct engine *eng, struct container *c, const struct process_wrap *w,
                      struct err **err)
{
    return proc_start_with(eng, c, w, err);
}

static int pause_resume(struct container *c, const char *verb, struct err **err);

/* Sends sig to c's process and, with wait, waits up to wait_ms (-1: forever) until the engine
 * knows it exited. A frozen (paused) process cannot die: SIGKILL thaws it. Returns true when
 * the process is gone. */
static bool
signal_and_wait(struct engine *eng, struct container *c, struct pctr *pc, int sig, int wait_ms,
                bool wait)
{
    pthread_mutex_lock(&pc->mu);
    uint64_t exits = pc->exits;
    bool running = pc->running;
    /* An exit being reported: wait for the engine to know, unless this is the thread that
     * reports it (an auto-remove). */
    bool reporting = pc->reporting && !pthread_equal(pc->monitor, pthread_self());
    /* No pidfd while running: the process ended before it could be opened (see proc_start). */
    if (running && pc->pidfd >= 0 && syscall(SYS_pidfd_send_signal, pc->pidfd, sig, NULL, 0) < 0 &&
        errno != ESRCH)
        LOG_WARN("signal %d to pid %d: %s", sig, (int)pc->pid, strerror(errno));
    pthread_mutex_unlock(&pc->mu);
    if (!running && !reporting)
        return true;
    if (running && sig == SIGKILL) {
        engine_lock(eng);
        bool paused = c->state.status == CONTAINER_PAUSED;
        engine_unlock(eng);
        struct err *err = NULL;
        if (paused && pause_resume(c, "resume", &err) < 0) {
            LOG_WARN("thawing %.12s for SIGKILL: %s", c->id, err->msg);
            err_clear(&err);
        }
    }
    if (!wait)
        return true;
    pthread_mutex_lock(&pc->mu);
    bool gone = wait_until(pc, exited_since, exits, wait_ms);
    pthread_mutex_unlock(&pc->mu);
    return gone;
}

static int
proc_stop(struct engine *eng, struct container *c, int signal, int timeout_s, struct err **err)
{
    struct pctr *pc = pctr_get(c);
    int rc = 0;
    /* A paused process cannot act on the signal: it gets SIGKILL after the timeout, as with
     * dockerd. */
    if (!signal_and_wait(eng, c, pc, signal, timeout_s < 0 ? -1 : timeout_s * 1000, true) &&
        !signal_and_wait(eng, c, pc, SIGKILL, KILL_WAIT_MS, true))
        rc = err_make(err, ERR_INTERNAL, 0, "container %s did not exit after SIGKILL", c->id);
    pctr_unref(pc);
    return rc;
}

static int
proc_kill(struct engine *eng, struct container *c, int signal, struct err **err)
{
    struct pctr *pc = pctr_get(c);
    int rc = 0;
    if (!signal_and_wait(eng, c, pc, signal, KILL_WAIT_MS, signal == SIGKILL))
        rc = err_make(err, ERR_INTERNAL, 0, "container %s did not exit after SIGKILL", c->id);
    pctr_unref(pc);
    return rc;
}

static int
pause_resume(struct container *c, const char *verb, struct err **err)
{
    struct pctr *pc = pctr_get(c);
    cleanup_free char *log = xasprintf("%s/runtime.log", pc->cdir);
    const char *args[] = {verb, c->id, NULL};
    int rc = runtime_run(&P.rt, log, args, err);
    pctr_unref(pc);
    return rc;
}

static int
proc_pause(struct engine *eng, struct container *c, struct err **err)
{
    (void)eng;
    return pause_resume(c, "pause", err);
}

static int
proc_unpause(struct engine *eng, struct container *c, struct err **err)
{
    (void)eng;
    return pause_resume(c, "resume", err);
}

/* ---- stdin and terminal ---- */

static bool
stdin_ready(const struct pctr *pc, uint64_t unused)
{
    (void)unused;
    return pc->stdin_fd >= 0;
}

static int
proc_attach_stdin(struct engine *eng, struct container *c, const char *data, size_t len,
                  struct err **err)
{
    (void)err;
    struct pctr *pc = pctr_get(c);
    /* Input sent before the start (docker run -i attaches first) waits for the process. */
    for (;;) {
        pthread_mutex_lock(&pc->mu);
        bool ready = wait_until(pc, stdin_ready, 0, 200);
        int fd = ready ? dup(pc->stdin_fd) : -1;
        pthread_mutex_unlock(&pc->mu);
        if (fd >= 0) {
            /* A failure means the process closed its stdin: the input has nowhere to go. */
            (void)fsutil_write_all(fd, data, len);
            close(fd);
            break;
        }
        engine_lock(eng);
        bool waiting = !c->removed && (c->state.status == CONTAINER_CREATED ||
                                       c->state.status == CONTAINER_RUNNING ||
                                       c->state.status == CONTAINER_RESTARTING);
        bool open_stdin = c->spec.open_stdin;
        engine_unlock(eng);
        if (!waiting || !open_stdin)
            break;
    }
    pctr_unref(pc);
    return 0;
}

static void
proc_attach_stdin_close(struct engine *eng, struct container *c)
{
    (void)eng;
    struct pctr *pc = pctr_get(c);
    pthread_mutex_lock(&pc->mu);
    if (pc->tty_fd < 0)
        close_fd(&pc->stdin_fd); /* the process sees EOF */
    pthread_mutex_unlock(&pc->mu);
    pctr_unref(pc);
}

static int
proc_resize(struct engine *eng, struct container *c, int height, int width, struct err **err)
{
    (void)eng;
    struct pctr *pc = pctr_get(c);
    pthread_mutex_lock(&pc->mu);
    int rc = pc->tty_fd >= 0 ? set_winsize(pc->tty_fd, height, width, err) : 0;
    pthread_mutex_unlock(&pc->mu);
    pctr_unref(pc);
    return rc;
}

/* ---- exec ---- */

struct pexec {
    int tty_fd; /* under P.mu */
};

static int
proc_exec_resize(struct engine *eng, struct exec *e, int height, int width, struct err **err)
{
    (void)eng;
    pthread_mutex_lock(&P.mu);
    struct pexec *x = e->driver_data;
    int rc = x != NULL && x->tty_fd >= 0 ? set_winsize(x->tty_fd, height, width, err) : 0;
    pthread_mutex_unlock(&P.mu);
    return rc;
}

struct stdin_pump {
    const struct exec_io *io;
    int fd;
    bool close_at_eof; /* a pipe: EOF closes it; a pty: send ^D */
};

static void *
stdin_pump_main(void *arg)
{
    struct stdin_pump *sp = arg;
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t n = sp->io->read_stdin(sp->io->ctx, buf, sizeof(buf));
        if (n <= 0 || fsutil_write_all(sp->fd, buf, (size_t)n) < 0)
            break;
    }
    if (sp->close_at_eof)
        close_fd(&sp->fd);
    return NULL;
}

/* Resolves the exec's user in c's root and writes its process spec to path. */
static int
write_exec_spec(const struct container *c, const struct exec *e, const char *cdir, const char *path,
                struct err **err)
{
    cleanup_free char *merged = xasprintf("%s/merged", cdir);
    struct oci_user user = {0};
    if (oci_user_resolve(merged, e->user && *e->user ? e->user : c->spec.user, c->spec.group_add,
                         &user, err) < 0)
        return -1;
    json_t *spec = oci_spec_exec(c, e, &user, err);
    oci_user_fini(&user);
    if (spec == NULL)
        return -1;
    if (e->tty && e->console_height > 0 && e->console_width > 0)
        json_object_set_new(
            spec, "consoleSize",
            json_pack("{s:i, s:i}", "height", e->console_height, "width", e->console_width));
    char *text = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    int rc = fsutil_write_replace(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}

/* Docker's form of a runtime's failure to exec, crun's words for a command that cannot run in
 * runc's; ERR_INVALID (dockerd's 400 for a detached start) for those. exe is the exec's command. */
static int
exec_failed(struct err **err, const char *exe)
{
    const char *msg = *err ? (*err)->msg : "unknown error";
    cleanup_free char *exec = exec_failure_in_runc_words(msg, exe);
    reaper_kick(); /* crun's child that joined the container died there: reaper_set_stray_name */
    cleanup_free char *detail =
        exec != NULL ? xasprintf("exec failed: unable to start container process: %s", exec)
                     : xstrdup(msg);
    bool invalid = strstr(detail, "executable file not found") ||
                   strstr(detail, "no such file or directory") ||
                   strstr(detail, "permission denied");
    struct err *ne = NULL;
    err_make(&ne, invalid ? ERR_INVALID : ERR_INTERNAL, 0, "OCI runtime exec failed: %s: unknown",
             detail);
    err_clear(err);
    *err = ne;
    return -1;
}

struct exec_sink {
    const struct exec_io *io;
    bool client_gone;
};

static void
exec_feed(void *ctx, size_t i, const char *data, size_t len)
{
    struct exec_sink *es = ctx;
    if (len > 0 && !es->client_gone && es->io->write(es->io->ctx, (int)i + 1, data, len) < 0)
        es->client_gone = true; /* keep draining: the process must not block on a full pipe */
}

/* The runtime's exec: the process runs detached, with our pipes (or a pty) as its stdio. */
struct exec_proc {
    int pin[2], pout[2], perr[2];
    int tty;
    pid_t pid;
    int pidfd;
};

static int
exec_spawn(struct pctr *pc, struct container *c, struct exec *e, const char *procfile,
           const char *pidfile, struct exec_proc *xp, struct err **err)
{
    cleanup_free char *log = xasprintf("%s/exec-%s.log", pc->cdir, e->id);
    cleanup_free char *sock = NULL;
    int lfd = -1, rc = -1;
    char **args = NULL;
    pid_t rpid = -1;
    if (e->tty) {
        if ((lfd = console_listen(&sock, err)) < 0)
            return -1;
    } else if ((e->attach_stdin && pipe2(xp->pin, O_CLOEXEC) < 0) ||
               pipe2(xp->pout, O_CLOEXEC) < 0 || pipe2(xp->perr, O_CLOEXEC) < 0) {
        return err_make(err, ERR_INTERNAL, errno, "pipe");
    }
    args = strv_append(args, "exec");
    args = strv_append(args, "--process");
    args = strv_append(args, procfile);
    args = strv_append(args, "--pid-file");
    args = strv_append(args, pidfile);
    args = strv_append(args, "--detach");
    if (e->tty) {
        args = strv_append(args, "--console-socket");
        args = strv_append(args, sock);
    }
    args = strv_append(args, c->id);
    rc = runtime_spawn(&P.rt, log, (const char *const *)args, xp->pin[0], xp->pout[1], xp->perr[1],
                       &rpid, err);
    strv_free(args);
    close_fd(&xp->pin[0]);
    close_fd(&xp->pout[1]);
    close_fd(&xp->perr[1]);
    if (rc == 0 && e->tty && (xp->tty = console_receive(lfd, rpid, err)) < 0) {
        struct err *werr = NULL;
        if (runtime_wait(&P.rt, rpid, log, "exec", &werr) < 0) {
            err_clear(err);
            *err = werr;
        }
        rc = exec_failed(err, e->cmd[0]);
    } else if (rc == 0 && runtime_wait(&P.rt, rpid, log, "exec", err) < 0) {
        rc = exec_failed(err, e->cmd[0]);
    }
    if (lfd >= 0)
        close(lfd);
    if (sock != NULL)
        unlink(sock);
    if (rc < 0)
        return -1;
    xp->pid = read_pid_file(pidfile);
    xp->pidfd = xp->pid > 0 ? open_pidfd(xp->pid) : -1;
    if (xp->pidfd < 0)
        return err_make(err, ERR_INTERNAL, errno, "exec process %d: pidfd", (int)xp->pid);
    reaper_own(xp->pid); /* proc_exec reaps it */
    return 0;
}

static int
proc_exec(struct engine *eng, struct container *c, struct exec *e, const struct exec_io *io,
          struct err **err)
{
    struct pctr *pc = pctr_get(c);
    int code = -1;
    struct exec_proc xp = {
        .pin = {-1, -1}, .pout = {-1, -1}, .perr = {-1, -1}, .tty = -1, .pidfd = -1};
    cleanup_free char *procfile = xasprintf("%s/exec-%s.json", pc->cdir, e->id);
    cleanup_free char *pidfile = xasprintf("%s/exec-%s.pid", pc->cdir, e->id);
    struct pexec x = {.tty_fd = -1};
    pthread_t pump;
    bool pumping = false;
    struct stdin_pump sp = {.io = io, .fd = -1};
    struct exec_sink es = {.io = io};

    pthread_mutex_lock(&pc->mu);
    bool running = pc->running;
    pthread_mutex_unlock(&pc->mu);
    if (!running) {
        err_make(err, ERR_CONFLICT, 0, "Container %s is not running", c->id);
    } else if (write_exec_spec(c, e, pc->cdir, procfile, err) == 0 &&
               exec_spawn(pc, c, e, procfile, pidfile, &xp, err) == 0) {
        engine_exec_started(eng, e, xp.pid);
        if (e->tty) {
            x.tty_fd = xp.tty;
            pthread_mutex_lock(&P.mu);
            e->driver_data = &x;
            pthread_mutex_unlock(&P.mu);
        }
        if (e->attach_stdin) {
            sp.fd = e->tty ? dup(xp.tty) : xp.pin[1];
            sp.close_at_eof = !e->tty;
            xp.pin[1] = -1;
            pumping = pthread_create(&pump, NULL, stdin_pump_main, &sp) == 0;
            if (!pumping)
                close_fd(&sp.fd);
        }
        int fds[2] = {e->tty ? xp.tty : xp.pout[0], e->tty ? -1 : xp.perr[0]};
        pump_until_exit(fds, 2, xp.pidfd, exec_feed, &es);
        code = reap(xp.pidfd, xp.pid);
        reaper_disown(xp.pid);
    }
    if (pumping) {
        if (io->cancel_stdin != NULL)
            io->cancel_stdin(io->ctx);
        pthread_join(pump, NULL);
        close_fd(&sp.fd);
    }
    if (e->tty) {
        pthread_mutex_lock(&P.mu);
        e->driver_data = NULL;
        pthread_mutex_unlock(&P.mu);
    }
    close_fd(&xp.pidfd);
    close_fd(&xp.tty);
    for (int i = 0; i < 2; i++) {
        close_fd(&xp.pin[i]);
        close_fd(&xp.pout[i]);
        close_fd(&xp.perr[i]);
    }
    unlink(procfile);
    unlink(pidfile);
    cleanup_free char *log = xasprintf("%s/exec-%s.log", pc->cdir, e->id);
    unlink(log);
    pctr_unref(pc);
    return code;
}

/* ---- filesystem ---- */

static int
proc_root_path(struct engine *eng, struct container *c, char **out, struct err **err)
{
    struct pctr *pc = pctr_get(c);
    int rc = ensure_rootfs(eng, c, pc, err);
    if (rc == 0)
        *out = xasprintf("%s/merged", pc->cdir);
    pctr_unref(pc);
    return rc;
}

/* The mounted root of c and its lower dirs, for the comparisons of diff and commit. *pc is a
 * new reference and *lowers a new list, also on failure. */
static int
mounted_layers(struct engine *eng, struct container *c, struct pctr **pc, char ***lowers,
               struct err **err)
{
    *pc = pctr_get(c);
    *lowers = NULL;
    if (ensure_rootfs(eng, c, *pc, err) < 0)
        return -1;
    return image_lowers(eng, c, lowers, err);
}

static int
proc_changes(struct engine *eng, struct container *c, struct rootfs_change **out, size_t *n,
             struct err **err)
{
    struct pctr *pc;
    char **lowers;
    int rc = mounted_layers(eng, c, &pc, &lowers, err);
    if (rc == 0)
        rc = rootfs_changes(P.mode, lowers, strv_len(lowers), pc->cdir, out, n, err);
    strv_free(lowers);
    pctr_unref(pc);
    return rc;
}

static int
proc_diff_tar(struct engine *eng, struct container *c, int out_fd, struct err **err)
{
    struct pctr *pc;
    char **lowers;
    int rc = mounted_layers(eng, c, &pc, &lowers, err);
    if (rc == 0)
        rc = rootfs_diff_tar(P.mode, lowers, strv_len(lowers), pc->cdir, out_fd, err);
    strv_free(lowers);
    pctr_unref(pc);
    return rc;
}

static void
proc_cleanup(struct engine *eng, struct container *c)
{
    struct pctr *pc = pctr_get(c);
    signal_and_wait(eng, c, pc, SIGKILL, KILL_WAIT_MS, true);
    if (pc->cdir == NULL)
        pc->cdir = container_dir(eng, c);
    runtime_delete(pc, c->id);
    struct err *err = NULL;
    if (rootfs_unmount(P.mode, pc->cdir, &err) < 0) {
        LOG_WARN("unmount of %.12s: %s", c->id, err->msg);
        err_clear(&err);
    }
    pc->mounted = false;
    if (fsutil_remove_tree(pc->cdir, &err) < 0) {
        LOG_WARN("cleanup of %.12s: %s", c->id, err->msg);
        err_clear(&err);
    }
    pthread_mutex_lock(&P.mu);
    c->driver_data = NULL;
    pthread_mutex_unlock(&P.mu);
    pctr_unref(pc); /* ours */
    pctr_unref(pc); /* the container's */
}

const struct driver driver_process = {
    .name = "process",
    .owns = proc_owns,
    .ready = proc_ready,
    .validate = proc_validate,
    .start = proc_start,
    .stop = proc_stop,
    .kill = proc_kill,
    .pause = proc_pause,
    .unpause = proc_unpause,
    .exec = proc_exec,
    .root_path = proc_root_path,
    .attach_stdin = proc_attach_stdin,
    .attach_stdin_close = proc_attach_stdin_close,
    .resize = proc_resize,
    .exec_resize = proc_exec_resize,
    .top = process_top,
    .stats = process_stats,
    .changes = proc_changes,
    .files = proc_files,
    .diff_tar = proc_diff_tar,
    .exec_when_stopped = false,
    .cleanup = proc_cleanup,
};

/* ---- start-up ---- */

/* Runs a trial container with rt from the busybox root: `true` must exit 0. */
static int
probe_runtime(const char *data_root, struct err **err)
{
    cleanup_free char *bundle = xasprintf("%s/runtime/probe", data_root);
    cleanup_free char *config = xasprintf("%s/config.json", bundle);
    cleanup_free char *log = xasprintf("%s/runtime.log", bundle);
    if (fsutil_remove_tree(bundle, err) < 0 || fsutil_mkdir_p(bundle, 0700, err) < 0)
        return -1;
    struct container *c = container_new();
    snprintf(c->id, sizeof(c->id), "sockerless-probe-%d", (int)getpid());
    c->spec.hostname = xstrdup("probe");
    c->spec.read_only = true;
    c->path = xstrdup("/bin/true");
    c->args = xcalloc(1, sizeof(char *));
    c->spec.cmd = strv_append(NULL, "/bin/true");
    struct oci_user user = {.home = xstrdup("/root")};
    cleanup_free char *cgroup = xasprintf("/sockerless/%s", c->id);
    struct oci_paths paths = {.rootfs = P.busybox_dir, .cgroups_path = cgroup};
    json_t *spec = oci_spec_container(c, &user, &paths, err);
    int rc = -1;
    if (spec != NULL) {
        char *text = json_dumps(spec, JSON_COMPACT);
        json_decref(spec);
        rc = fsutil_write_atomic(config, text, strlen(text), 0600, err);
        free(text);
    }
    if (rc == 0) {
        const char *args[] = {"run", "--bundle", bundle, c->id, NULL};
        rc = runtime_run(&P.rt, log, args, err);
        const char *del[] = {"delete", "--force", c->id, NULL};
        struct err *derr = NULL;
        runtime_run(&P.rt, NULL, del, &derr);
        err_clear(&derr);
    }
    oci_user_fini(&user);
    container_unref(c);
    struct err *rerr = NULL;
    fsutil_remove_tree(bundle, &rerr);
    err_clear(&rerr);
    return rc;
}

static int
try_runtime(const char *data_root, const char *path, struct err **err)
{
    runtime_fini(&P.rt);
    P.rt.path = xstrdup(path);
    const char *base = strrchr(P.rt.path, '/');
    P.rt.name = xstrdup(base ? base + 1 : P.rt.path);
    P.rt.root = xasprintf("%s/runtime/%s", data_root, P.rt.name);
    if (fsutil_mkdir_p(P.rt.root, 0700, err) < 0)
        return -1;
    int64_t t0 = time_mono_ns();
    if (probe_runtime(data_root, err) < 0)
        return err_wrap(err, "trial container with %s", P.rt.path);
    LOG_INFO("OCI runtime %s works (trial container in %lld ms)", P.rt.path,
             (long long)((time_mono_ns() - t0) / 1000000));
    return 0;
}

/* The slow part of the start-up: the base root, the overlayfs probe, the trial containers. */
static int
probe_all(struct err **err)
{
    int64_t t0 = time_mono_ns();
    if (rootfs_busybox_layer(P.busybox_dir, err) < 0)
        return err_wrap(err, "the base root for images without layers");
    cleanup_free char *scratch = xasprintf("%s/tmp", P.data_root);
    if (fsutil_mkdir_p(scratch, 0700, err) < 0)
        return -1;
    P.mode = rootfs_probe(scratch);
    if (P.sock_dir == NULL) {
        char tmpl[] = "/tmp/sockerless-console-XXXXXX";
        P.sock_dir = mkdtemp(tmpl) ? xstrdup(tmpl) : NULL;
        if (P.sock_dir == NULL)
            return err_make(err, ERR_INTERNAL, errno, "console socket directory");
    } else if (fsutil_mkdir_p(P.sock_dir, 0700, err) < 0) {
        return -1;
    }
    struct err *last = NULL;
    bool ok = false;
    for (size_t i = 0; P.candidates[i] != NULL && !ok; i++) {
        err_clear(&last);
        ok = try_runtime(P.data_root, P.candidates[i], &last) == 0;
        if (!ok && !P.given)
            LOG_INFO("%s", last->msg);
    }
    if (!ok) {
        *err = last;
        runtime_fini(&P.rt);
        return P.given ? -1 : err_wrap(err, "no working OCI runtime (tried crun and runc)");
    }
    /* --init runs Docker's docker-init (a static tini) bind-mounted into the container. */
    P.init_path = runtime_find("docker-init");
    if (P.init_path == NULL)
        P.init_path = runtime_find("tini-static");
    /* Container processes' orphans come to the daemon now: somebody must reap them. */
    if (reaper_start(err) < 0)
        return -1;
    reaper_set_stray_name(P.rt.name);
    LOG_INFO("process driver: runtime %s, root filesystems by %s (probed in %lld ms)", P.rt.path,
             rootfs_mode_name(P.mode), (long long)((time_mono_ns() - t0) / 1000000));
    return 0;
}

static void *
probe_main(void *arg)
{
    (void)arg;
    struct err *err = NULL;
    bool ok = probe_all(&err) == 0;
    if (!ok && P.failed != NULL)
        P.failed(err->msg, P.failed_ctx); /* before the waiters see the result */
    err_clear(&err);
    pthread_mutex_lock(&P.probe_mu);
    P.ready = ok;
    P.probing = false;
    pthread_cond_broadcast(&P.probe_cv);
    pthread_mutex_unlock(&P.probe_mu);
    return NULL;
}

int
process_driver_init(const char *data_root, const char *runtime, process_driver_failed_fn *failed,
                    void *ctx, struct err **err)
{
    free(P.status);
    P.status = NULL;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return err_make(err, ERR_UNSUPPORTED, errno, "cannot become the child subreaper");
    /* Only the runtime's presence is checked here; the rest runs in the background. */
    static const char *const names[] = {"crun", "runc", NULL};
    P.given = runtime != NULL && *runtime != '\0';
    for (size_t i = 0; P.given ? i == 0 : names[i] != NULL; i++) {
        char *path = runtime_find(P.given ? runtime : names[i]);
        if (path != NULL)
            P.candidates = strv_append(P.candidates, path);
        else if (!P.given)
            LOG_INFO("OCI runtime %s not found", names[i]);
        free(path);
    }
    if (P.candidates == NULL)
        return P.given ? err_make(err, ERR_NOT_FOUND, 0, "OCI runtime %s not found", runtime)
                       : err_make(err, ERR_NOT_FOUND, 0,
                                  "no working OCI runtime (tried crun and runc): none found");
    P.data_root = xstrdup(data_root);
    P.busybox_dir = xasprintf("%s/image/busybox-base", data_root);
    P.sock_dir = xasprintf("%s/run", data_root);
    if (strlen(P.sock_dir) + 32 >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        free(P.sock_dir);
        P.sock_dir = NULL; /* a short directory under /tmp, made by the probe */
    }
    P.failed = failed;
    P.failed_ctx = ctx;
    pthread_mutex_lock(&P.probe_mu);
    P.probing = true;
    int rc = pthread_create(&P.probe_thread, NULL, probe_main, NULL);
    if (rc != 0)
        P.probing = false;
    pthread_mutex_unlock(&P.probe_mu);
    if (rc != 0)
        return err_make(err, ERR_INTERNAL, rc, "cannot start the runtime probe");
    return 0;
}

void
process_driver_set_status(const char *status)
{
    free(P.status);
    P.status = status ? xstrdup(status) : NULL;
}

const char *
process_driver_status(void)
{
    probe_wait();
    return P.status;
}

const char *
process_driver_run_dir(void)
{
    return P.sock_dir;
}

const char *
process_driver_runtime(void)
{
    probe_wait();
    return P.ready ? P.rt.path : NULL;
}

void
process_driver_fini(void)
{
    reaper_stop();
    pthread_mutex_lock(&P.probe_mu);
    bool started = P.data_root != NULL;
    pthread_mutex_unlock(&P.probe_mu);
    if (started)
        pthread_join(P.probe_thread, NULL);
    strv_free(P.candidates);
    free(P.data_root);
    P.candidates = NULL;
    P.data_root = NULL;
    runtime_fini(&P.rt);
    free(P.busybox_dir);
    free(P.sock_dir);
    free(P.init_path);
    free(P.status);
    P.busybox_dir = P.sock_dir = P.status = P.init_path = NULL;
    P.ready = false;
}
