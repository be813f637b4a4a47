#include "engine/timer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "base/timeutil.h"
#include "base/xalloc.h"

struct timer_item {
    int64_t due_ns; /* CLOCK_MONOTONIC */
    timer_fn fn, free_arg;
    void *arg;
    struct timer_item *next;
};

struct timers {
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* on CLOCK_MONOTONIC */
    struct timer_item *items; /* sorted by due_ns */
    bool stopping;
    pthread_t thread;
};

static void
item_done(struct timer_item *it)
{
    if (it->free_arg != NULL)
        it->free_arg(it->arg);
    free(it);
}

static void *
timers_main(void *p)
{
    struct timers *t = p;
    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        struct timer_item *it = t->items;
        if (it == NULL) {
            pthread_cond_wait(&t->cond, &t->lock);
            continue;
        }
        int64_t now = time_mono_ns();
        if (it->due_ns > now) {
            struct timespec ts = {.tv_sec = it->due_ns / 1000000000,
                                  .tv_nsec = it->due_ns % 1000000000};
            pthread_cond_timedwait(&t->cond, &t->lock, &ts);
            continue;
        }
        t->items = it->next;
        pthread_mutex_unlock(&t->lock);
        it->fn(it->arg);
        item_done(it);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

struct timers *
timers_new(void)
{
    struct timers *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, timers_main, t) != 0)
        abort(); /* start-up only */
    return t;
}

void
timers_free(struct timers *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    while (t->items != NULL) {
        struct timer_item *it = t->items;
        t->items = it->next;
        item_done(it);
    }
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void
timers_after(struct timers *t, int64_t ms, timer_fn fn, void *arg, timer_fn free_arg)
{
    struct timer_item *it = xcalloc(1, sizeof(*it));
    it->due_ns = time_mono_ns() + ms * 1000000;
    it->fn = fn;
    it->arg = arg;
    it->free_arg = free_arg;
    pthread_mutex_lock(&t->lock);
    if (t->stopping) {
        pthread_mutex_unlock(&t->lock);
        item_done(it);
        return;
    }
    struct timer_item **p = &t->items;
    while (*p != NULL && (*p)->due_ns <= it->due_ns)
        p = &(*p)->next;
    it->next = *p;
    *p = it;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}
