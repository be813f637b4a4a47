/* Reaping the orphans adopted as the child subreaper (reaper.h). */
#include "driver/reaper.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

/* A zombie child first seen at `since` (monotonic ns). */
struct zombie {
    pid_t pid;
    int64_t since;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running, stopping;
    pthread_t thread;
    pid_t *owned; /* registered pids, unordered */
    size_t n_owned, cap_owned;
    struct zombie *seen; /* zombies of the last pass */
    size_t n_seen;
    char stray[16]; /* reaper_set_stray_name; "" for none */
    bool kicked;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

void
reaper_own(pid_t pid)
{
    pthread_mutex_lock(&R.mu);
    if (R.n_owned == R.cap_owned) {
        R.cap_owned = R.cap_owned ? R.cap_owned * 2 : 16;
        R.owned = xrealloc(R.owned, R.cap_owned * sizeof(*R.owned));
    }
    R.owned[R.n_owned++] = pid;
    pthread_mutex_unlock(&R.mu);
}

void
reaper_disown(pid_t pid)
{
    pthread_mutex_lock(&R.mu);
    for (size_t i = 0; i < R.n_owned; i++) {
        if (R.owned[i] == pid) {
            R.owned[i] = R.owned[--R.n_owned];
            break;
        }
    }
    pthread_mutex_unlock(&R.mu);
}

/* R.mu held. */
static bool
is_owned(pid_t pid)
{
    for (size_t i = 0; i < R.n_owned; i++)
        if (R.owned[i] == pid)
            return true;
    return false;
}

/* Whether pid is a zombie (its /proc/<pid>/stat state is Z). */
static bool
is_zombie(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')'); /* the command name may hold anything */
    return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

/* Whether the zombie pid is the runtime's stray (reaper_set_stray_name): /proc/<pid>/status
 * names it R.stray, and its NSpid line has more than one pid (a nested pid namespace). R.mu
 * held. */
static bool
is_stray(pid_t pid)
{
    if (R.stray[0] == '\0')
        return false;
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    bool named = false, nested = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Name:\t", 6) == 0) {
            line[strcspn(line, "\n")] = '\0';
            named = strcmp(line + 6, R.stray) == 0;
        } else if (strncmp(line, "NSpid:", 6) == 0) {
            nested = strchr(line + 6 + strspn(line + 6, "\t "), '\t') != NULL;
        }
    }
    fclose(f);
    return named && nested;
}

void
reaper_set_stray_name(const char *comm)
{
    pthread_mutex_lock(&R.mu);
    snprintf(R.stray, sizeof(R.stray), "%s", comm != NULL ? comm : "");
    pthread_mutex_unlock(&R.mu);
}

void
reaper_kick(void)
{
    pthread_mutex_lock(&R.mu);
    R.kicked = true;
    pthread_cond_signal(&R.cv);
    pthread_mutex_unlock(&R.mu);
}

/* Appends the children of this process (every thread's /proc/self/task/<tid>/children). */
static pid_t *
list_children(size_t *n)
{
    pid_t *kids = NULL;
    size_t cap = 0;
    *n = 0;
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        cleanup_free char *path = xasprintf("/proc/self/task/%s/children", de->d_name);
        FILE *f = fopen(path, "re");
        if (f == NULL)
            continue;
        int pid;
        while (fscanf(f, "%d", &pid) == 1) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 32;
                kids = xrealloc(kids, cap * sizeof(*kids));
            }
            kids[(*n)++] = (pid_t)pid;
        }
        fclose(f);
    }
    closedir(d);
    return kids;
}

size_t
reaper_scan(int64_t grace_ms)
{
    size_t n_kids;
    pid_t *kids = list_children(&n_kids);
    int64_t now = time_mono_ns();
    struct zombie *seen = NULL;
    size_t n_seen = 0, reaped = 0;
    pthread_mutex_lock(&R.mu);
    for (size_t i = 0; i < n_kids; i++) {
        if (is_owned(kids[i]) || !is_zombie(kids[i]))
            continue;
        int64_t since = now;
        for (size_t j = 0; j < R.n_seen; j++)
            if (R.seen[j].pid == kids[i])
                since = R.seen[j].since;
        /* Still its owner's to wait for: keep it for the next pass. The lock is held, so an
         * owner registering now waits, and a registered pid is never taken. */
        if (now - since < grace_ms * 1000000 && !is_stray(kids[i])) {
            seen = xrealloc(seen, (n_seen + 1) * sizeof(*seen));
            seen[n_seen++] = (struct zombie){.pid = kids[i], .since = since};
            continue;
        }
        int status;
        if (waitpid(kids[i], &status, WNOHANG) == kids[i]) {
            LOG_DEBUG("reaped orphan %d", (int)kids[i]);
            reaped++;
        }
    }
    free(R.seen);
    R.seen = seen;
    R.n_seen = n_seen;
    pthread_mutex_unlock(&R.mu);
    free(kids);
    return reaped;
}

static void *
reaper_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&R.mu);
    while (!R.stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += REAPER_INTERVAL_MS / 1000;
        if (!R.kicked)
            pthread_cond_timedwait(&R.cv, &R.mu, &deadline);
        R.kicked = false;
        if (R.stopping)
            break;
        pthread_mutex_unlock(&R.mu);
        reaper_scan(REAPER_GRACE_MS);
        pthread_mutex_lock(&R.mu);
    }
    pthread_mutex_unlock(&R.mu);
    return NULL;
}

int
reaper_start(struct err **err)
{
    pthread_mutex_lock(&R.mu);
    int rc = 0;
    if (!R.running) {
        R.stopping = false;
        int e = pthread_create(&R.thread, NULL, reaper_main, NULL);
        if (e != 0)
            rc = err_make(err, ERR_INTERNAL, e, "cannot start the reaper thread");
        else
            R.running = true;
    }
    pthread_mutex_unlock(&R.mu);
    return rc;
}

void
reaper_stop(void)
{
    pthread_mutex_lock(&R.mu);
    bool running = R.running;
    R.stopping = true;
    pthread_cond_broadcast(&R.cv);
    pthread_mutex_unlock(&R.mu);
    if (running)
        pthread_join(R.thread, NULL);
    pthread_mutex_lock(&R.mu);
    R.running = false;
    free(R.owned);
    free(R.seen);
    R.owned = NULL;
    R.seen = NULL;
    R.n_owned = R.cap_owned = R.n_seen = 0;
    pthread_mutex_unlock(&R.mu);
}
