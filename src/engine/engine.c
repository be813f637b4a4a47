#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

enum { EVENTS_KEPT = 1024 };

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
    make_uuid(eng->id, sizeof(eng->id));
    if (fsutil_write_atomic(path, eng->id, strlen(eng->id), 0600, err) < 0)
        return err_wrap(err, "write engine id");
    return 0;
}

struct engine *
engine_new(const char *data_root, struct err **err)
{
    if (fsutil_mkdir_p(data_root, 0711, err) < 0) {
        err_wrap(err, "data root %s", data_root);
        return NULL;
    }
    struct engine *eng = xcalloc(1, sizeof(*eng));
    pthread_mutex_init(&eng->lock, NULL);
    eng->data_root = xstrdup(data_root);
    if (load_engine_id(eng, err) < 0) {
        engine_free(eng);
        return NULL;
    }
    eng->events = events_new(EVENTS_KEPT);
    eng->creds = creds_new();
    hostinfo_read(&eng->host);
    eng->started_ns = time_now_ns();
    return eng;
}

void
engine_free(struct engine *eng)
{
    if (eng == NULL)
        return;
    events_free(eng->events);
    creds_free(eng->creds);
    free(eng->data_root);
    pthread_mutex_destroy(&eng->lock);
    free(eng);
}

void
engine_shutdown(struct engine *eng)
{
    events_close(eng->events);
}

void
engine_get_counts(struct engine *eng, struct engine_counts *out)
{
    pthread_mutex_lock(&eng->lock);
    *out = eng->counts;
    pthread_mutex_unlock(&eng->lock);
}
