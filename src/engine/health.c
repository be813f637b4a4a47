#include "engine/health.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"

enum { PROBE_OUTPUT_MAX = 4096 };

void
health_config_fini(struct health_config *h)
{
    strv_free(h->test);
    memset(h, 0, sizeof(*h));
}

void
health_state_fini(struct health_state *s)
{
    for (int i = 0; i < s->n_log; i++)
        free(s->log[i].output);
    memset(s, 0, sizeof(*s));
}

const char *
health_status_name(enum health_status s)
{
    static const char *const names[] = {"none", "starting", "healthy", "unhealthy"};
    return names[s];
}

static bool
has_probe(const struct container *c)
{
    char **t = c->spec.health.test;
    return t != NULL && t[0] != NULL && strcmp(t[0], "NONE") != 0 &&
           (strcmp(t[0], "CMD") != 0 || t[1] != NULL);
}

struct probe {
    struct engine *eng;
    struct container *c;
    uint64_t run; /* the run it belongs to: a restart starts a new series */
};

struct capture {
    char buf[PROBE_OUTPUT_MAX];
    size_t len;
};

static int
capture_write(void *ctx, int stream, const char *data, size_t len)
{
    (void)stream;
    struct capture *cap = ctx;
    size_t room = sizeof(cap->buf) - 1 - cap->len;
    size_t n = len < room ? len : room;
    memcpy(cap->buf + cap->len, data, n);
    cap->len += n;
    return 0;
}

static void schedule(struct engine *eng, struct container *c, uint64_t run, int64_t delay_ns);

static void
record(struct engine *eng, struct container *c, struct health_result r)
{
    struct health_state *h = &c->state.health;
    if (h->n_log == HEALTH_LOG_MAX) {
        free(h->log[0].output);
        memmove(&h->log[0], &h->log[1], (HEALTH_LOG_MAX - 1) * sizeof(h->log[0]));
        h->n_log--;
    }
    h->log[h->n_log++] = r;
    enum health_status before = h->status;
    const struct health_config *cfg = &c->spec.health;
    int retries = cfg->retries > 0 ? cfg->retries : HEALTH_DEFAULT_RETRIES;
    bool in_start_period = r.start_ns - c->state.started_ns < cfg->start_period_ns;
    if (r.exit_code == 0) {
        h->status = HEALTH_HEALTHY;
        h->failing_streak = 0;
    } else if (!in_start_period || h->status != HEALTH_STARTING) {
        /* Failures inside the start period do not count while still starting. */
        if (++h->failing_streak >= retries)
            h->status = HEALTH_UNHEALTHY;
    }
    if (h->status != before) {
        char action[64];
        snprintf(action, sizeof(action), "health_status: %s", health_status_name(h->status));
        struct event *ev = event_new("container", action, c->id);
        for (size_t i = 0; i < c->spec.labels.n; i++)
            event_add_attr(ev, c->spec.labels.keys[i], c->spec.labels.values[i]);
        event_add_attr(ev, "image", c->spec.image);
        event_add_attr(ev, "name", c->name + 1);
        events_publish(eng->events, ev);
        engine_notify_locked(eng);
    }
}

/* Runs one probe on its own thread: a driver's exec may block for the probe's duration. */
static void *
probe_main(void *arg)
{
    struct probe *p = arg;
    struct engine *eng = p->eng;
    struct container *c = p->c;
    struct exec e = {0};
    e.c = c;
    char **t = c->spec.health.test;
    if (strcmp(t[0], "CMD-SHELL") == 0) {
        e.cmd = strv_append(strv_append(NULL, "/bin/sh"), "-c");
        e.cmd = strv_append(e.cmd, t[1] ? t[1] : "");
    } else {
        e.cmd = strv_dup(strcmp(t[0], "CMD") == 0 ? t + 1 : t);
    }
    e.env = strv_dup(c->spec.env);
    e.attach_stdout = e.attach_stderr = true;
    struct capture cap = {.len = 0};
    struct exec_io io = {.ctx = &cap, .write = capture_write, .read_stdin = exec_io_no_stdin};
    struct health_result r = {.start_ns = time_now_ns()};
    struct err *err = NULL;
    int code = c->driver->exec(eng, c, &e, &io, &err);
    r.end_ns = time_now_ns();
    int64_t timeout =
        c->spec.health.timeout_ns > 0 ? c->spec.health.timeout_ns : HEALTH_DEFAULT_TIMEOUT_NS;
    if (code < 0 || r.end_ns - r.start_ns > timeout) {
        snprintf(cap.buf, sizeof(cap.buf), "%s",
                 code < 0 ? (err ? err->msg : "probe failed") : "Health check exceeded timeout");
        cap.len = strlen(cap.buf);
        code = code < 0 ? 1 : -1;
    }
    err_clear(&err);
    cap.buf[cap.len] = '\0';
    r.exit_code = code;
    r.output = xstrdup(cap.buf);
    strv_free(e.cmd);
    strv_free(e.env);
    engine_lock(eng);
    bool current = !c->removed && c->generation == p->run && container_is_running(c);
    if (current) {
        record(eng, c, r);
        int64_t interval = c->spec.health.interval_ns > 0 ? c->spec.health.interval_ns
                                                          : HEALTH_DEFAULT_INTERVAL_NS;
        schedule(eng, c, p->run, interval);
    } else {
        free(r.output);
    }
    engine_unlock(eng);
    container_unref(c);
    free(p);
    return NULL;
}

static void
probe_fire(void *arg)
{
    struct probe *p = arg;
    engine_lock(p->eng);
    bool current = !p->c->removed && p->c->generation == p->run && container_is_running(p->c);
    engine_unlock(p->eng);
    if (current) {
        struct probe *q = xcalloc(1, sizeof(*q));
        *q = *p;
        container_ref(q->c);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, probe_main, q) != 0) {
            container_unref(q->c);
            free(q);
        }
        pthread_attr_destroy(&attr);
    }
}

static void
probe_free(void *arg)
{
    struct probe *p = arg;
    container_unref(p->c);
    free(p);
}

static void
schedule(struct engine *eng, struct container *c, uint64_t run, int64_t delay_ns)
{
    struct probe *p = xcalloc(1, sizeof(*p));
    p->eng = eng;
    p->c = c;
    p->run = run;
    container_ref(c);
    int64_t ms = delay_ns / 1000000;
    timers_after(eng->timers, ms > 0 ? ms : 1, probe_fire, p, probe_free);
}

void
health_start(struct engine *eng, struct container *c)
{
    health_state_fini(&c->state.health);
    if (!has_probe(c))
        return;
    c->state.health.status = HEALTH_STARTING;
    int64_t interval =
        c->spec.health.interval_ns > 0 ? c->spec.health.interval_ns : HEALTH_DEFAULT_INTERVAL_NS;
    schedule(eng, c, c->generation, interval);
}
