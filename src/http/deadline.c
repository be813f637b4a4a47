#include "http/deadline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

struct http_deadline {
    struct http_deadline *prev, *next; /* the list: under the lock */
    int fd;
    /* 0: disarmed. Set by the connection's thread at every request without the lock (one lock
     * shared by every connection cost each request two cache-line transfers between cores);
     * the watchdog takes an overdue deadline with a compare-and-swap, so a disarm that comes
     * first wins and one that comes after finds the socket already shut down, as under a lock. */
    _Atomic int64_t due_ns;
};

struct http_deadlines {
    unsigned first_s, next_s;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool stopping;
    struct http_deadline *head;
};

static void
shut_overdue(struct http_deadlines *d)
{
    int64_t now = time_mono_ns();
    for (struct http_deadline *w = d->head; w != NULL; w = w->next) {
        int64_t due = atomic_load_explicit(&w->due_ns, memory_order_relaxed);
        if (due == 0 || due > now ||
            !atomic_compare_exchange_strong_explicit(&w->due_ns, &due, 0, memory_order_relaxed,
                                                     memory_order_relaxed))
            continue;
        LOG_INFO("http: closing a connection that sent no complete request in time");
        shutdown(w->fd, SHUT_RDWR);
    }
}

static void *
watchdog(void *arg)
{
    struct http_deadlines *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        shut_overdue(d);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&d->wake, &d->lock, &ts);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

struct http_deadlines *
http_deadlines_new(unsigned first_s, unsigned next_s)
{
    struct http_deadlines *d = xcalloc(1, sizeof(*d));
    d->first_s = first_s;
    d->next_s = next_s;
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&d->thread, NULL, watchdog, d) != 0)
        abort(); /* only fails when the process is out of threads at start-up */
    return d;
}

void
http_deadlines_free(struct http_deadlines *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static void
arm(struct http_deadline *w, unsigned s)
{
    atomic_store_explicit(&w->due_ns, time_mono_ns() + (int64_t)s * 1000000000,
                          memory_order_relaxed);
}

struct http_deadline *
http_deadlines_watch(struct http_deadlines *d, int fd)
{
    struct http_deadline *w = xcalloc(1, sizeof(*w));
    w->fd = fd;
    pthread_mutex_lock(&d->lock);
    arm(w, d->first_s);
    w->next = d->head;
    if (d->head != NULL)
        d->head->prev = w;
    d->head = w;
    pthread_mutex_unlock(&d->lock);
    return w;
}

void
http_deadlines_unwatch(struct http_deadlines *d, struct http_deadline *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        d->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&d->lock);
    free(w);
}

void
http_deadline_disarm(struct http_deadlines *d, struct http_deadline *w)
{
    (void)d;
    atomic_store_explicit(&w->due_ns, 0, memory_order_relaxed);
}

void
http_deadline_rearm(struct http_deadlines *d, struct http_deadline *w)
{
    arm(w, d->next_s); /* next_s never changes */
}
