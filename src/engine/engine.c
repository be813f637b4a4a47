#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/network.h"
#include "engine/volume.h"
#include "image/layerstore.h"

enum { EVENTS_KEPT = 1024, JOBS_WAIT_LOG_S = 5 };

/* A random (version 4) UUID, which is what dockerd uses as its engine ID. */
static void
make_uuid(char *out, size_t size)
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        /* getrandom cannot fail for 16 bytes once the pool is initialised; be safe anyway. */
        uint64_t t = (uint64_t)time_now_ns() ^ (uint64_t)getpid();
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)i;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static int
load_engine_id(struct engine *eng, struct err **err)
{
    cleanup_free char *path = xasprintf("%s/engine-id", eng->data_root);
    char buf[64] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n > 0) {
            buf[strcspn(buf, "\r\n")] = '\0';
            if (buf[0] != '\0') {
                snprintf(eng->id, sizeof(eng->id), "%s", buf);
                return 0;
            }
        }
    }
    /* Without fsync: it was most of the engine's set-up in a fresh data root (the daemon's cold
     * start, bench/README.md). A crash before the kernel writes the file back leaves it empty or
     * absent, read above as no ID: a new one is made, as for the fresh data root it was. */
    make_uuid(eng->id, sizeof(eng->id));
    if (fsutil_write_replace(path, eng->id, strlen(eng->id), 0600, err) < 0)
        return err_wrap(err, "write engine id");
    return 0;
}

struct engine *
engine_new(const char *data_root, const struct driver *const *drivers, struct err **err)
{
    if (fsutil_mkdir_p(data_root, 0711, err) < 0) {
        err_wrap(err, "data root %s", data_root);
        return NULL;
    }
    struct engine *eng = xcalloc(1, sizeof(*eng));
    pthread_mutex_init(&eng->mutex, NULL);
    pthread_cond_init(&eng->start_done, NULL);
    pthread_cond_init(&eng->jobs_done, NULL);
    pthread_cond_init(&eng->exec_state, NULL);
    eng->data_root = xstrdup(data_root);
    if (load_engine_id(eng, err) < 0) {
        engine_free(eng);
        return NULL;
    }
    eng->layers = layerstore_open(data_root, err);
    if (eng->layers == NULL) {
        engine_free(eng);
        return NULL;
    }
    eng->events = events_new(EVENTS_KEPT);
    eng->creds = creds_new();
    store_init(&eng->store);
    map_init(&eng->execs);
    networks_init(eng);
    map_init(&eng->volumes);
    eng->timers = timers_new();
    eng->drivers = drivers;
    hostinfo_read(&eng->host);
    eng->started_ns = time_now_ns();
    return eng;
}

void
engine_free(struct engine *eng)
{
    if (eng == NULL)
        return;
    timers_free(eng->timers); /* first: its callbacks use the rest */
    size_t it = 0;
    void *v;
    while (map_next(&eng->execs, &it, NULL, &v))
        exec_unref(v);
    map_fini(&eng->execs);
    store_fini(&eng->store);
    networks_fini(eng);
    volumes_fini(eng);
    for (size_t i = 0; i < eng->n_watch; i++)
        close(eng->watch_fds[i]);
    free(eng->watch_fds);
    events_free(eng->events);
    creds_free(eng->creds);
    layerstore_free(eng->layers);
    free(eng->data_root);
    pthread_mutex_destroy(&eng->mutex);
    pthread_cond_destroy(&eng->start_done);
    pthread_cond_destroy(&eng->jobs_done);
    pthread_cond_destroy(&eng->exec_state);
    free(eng);
}

void
engine_shutdown(struct engine *eng)
{
    engine_lock(eng);
    while (eng->jobs > 0) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += JOBS_WAIT_LOG_S;
        if (engine_cond_wait(eng, &eng->jobs_done, &deadline) == ETIMEDOUT)
            LOG_INFO("shutdown: waiting for %d background job(s): pulls, pushes, builds, "
                     "detached execs",
                     eng->jobs);
    }
    engine_unlock(eng);
    events_close(eng->events);
}

void
engine_job_begin(struct engine *eng)
{
    engine_lock(eng);
    eng->jobs++;
    engine_unlock(eng);
}

void
engine_job_end(struct engine *eng)
{
    engine_lock(eng);
    if (--eng->jobs == 0)
        pthread_cond_broadcast(&eng->jobs_done);
    engine_unlock(eng);
}

void
engine_get_counts(struct engine *eng, struct engine_counts *out)
{
    memset(out, 0, sizeof(*out));
    engine_lock(eng);
    size_t it = 0;
    void *v;
    while (map_next(&eng->store.containers, &it, NULL, &v)) {
        const struct container *c = v;
        out->containers++;
        if (c->state.status == CONTAINER_PAUSED)
            out->paused++;
        else if (container_is_running(c))
            out->running++;
        else
            out->stopped++;
    }
    out->images = (int)eng->store.images.len;
    engine_unlock(eng);
}

int
engine_watch_open(struct engine *eng)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return -1;
    engine_lock(eng);
    eng->watch_fds = xrealloc(eng->watch_fds, (eng->n_watch + 1) * sizeof(int));
    eng->watch_fds[eng->n_watch++] = fd;
    engine_unlock(eng);
    return fd;
}

void
engine_watch_close(struct engine *eng, int fd)
{
    engine_lock(eng);
    for (size_t i = 0; i < eng->n_watch; i++) {
        if (eng->watch_fds[i] == fd) {
            eng->watch_fds[i] = eng->watch_fds[--eng->n_watch];
            break;
        }
    }
    engine_unlock(eng);
    close(fd);
}

void
engine_notify_locked(struct engine *eng)
{
    uint64_t one = 1;
    for (size_t i = 0; i < eng->n_watch; i++) {
        ssize_t n = write(eng->watch_fds[i], &one, sizeof(one));
        (void)n;
    }
}
