/* The engine's container state machine with the synthetic driver: no HTTP involved. */
#include "../cmocka_prelude.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"
#include "engine/logbuf.h"

#include "engine_fixture.h"

static void
create(const char *name, const char *restart, bool auto_remove, char id[ID_LEN + 1])
{
    struct container_create req = {0};
    req.spec.image = xstrdup("busybox");
    req.spec.cmd = strv_append(strv_append(NULL, "echo"), "hi");
    req.spec.stop_timeout = -1;
    req.spec.restart_policy = xstrdup(restart);
    req.spec.auto_remove = auto_remove;
    req.name = name ? xstrdup(name) : NULL;
    struct err *err = NULL;
    assert_int_equal(engine_container_create(eng, &req, id, &err), 0);
}

static enum container_status
status_of(const char *id, int *exit_code, int *restarts)
{
    struct container *c = engine_container_get(eng, id, NULL);
    if (c == NULL)
        return CONTAINER_DEAD; /* removed */
    engine_lock(eng);
    enum container_status s = c->state.status;
    if (exit_code)
        *exit_code = c->state.exit_code;
    if (restarts)
        *restarts = c->state.restart_count;
    engine_unlock(eng);
    container_unref(c);
    return s;
}

static bool
wait_status(const char *id, enum container_status want)
{
    for (int i = 0; i < 200; i++) {
        if (status_of(id, NULL, NULL) == want)
            return true;
        usleep(10000);
    }
    return false;
}

static void
expect_err(int rc, struct err **err, enum err_kind kind)
{
    assert_int_equal(rc, -1);
    assert_non_null(*err);
    assert_int_equal((*err)->kind, kind);
    err_clear(err);
}

static void
test_lifecycle_and_events(void **state)
{
    (void)state;
    struct events_sub *sub = events_subscribe(eng->events, -1);
    char id[ID_LEN + 1];
    create("web", "no", false, id);
    struct container *c = engine_container_get(eng, "web", NULL);
    assert_string_equal(c->path, "echo");
    assert_string_equal(c->args[0], "hi");
    assert_int_equal(strlen(c->spec.hostname), SHORT_ID_LEN);
    container_unref(c);
    struct err *err = NULL;
    assert_int_equal(engine_container_start(eng, id, &err), 0);
    assert_true(wait_status(id, CONTAINER_EXITED)); /* synthetic: exits by itself */
    int code = -1;
    status_of(id, &code, NULL);
    assert_int_equal(code, 0);
    expect_err(engine_container_stop(eng, id, -1, &err), &err, ERR_NOT_MODIFIED);
    expect_err(engine_container_kill(eng, id, SIGKILL, &err), &err, ERR_CONFLICT);
    expect_err(engine_container_pause(eng, id, &err), &err, ERR_CONFLICT);
    assert_int_equal(engine_container_remove(eng, "web", false, false, &err), 0);
    expect_err(engine_container_start(eng, id, &err), &err, ERR_NOT_FOUND);
    const char *want[] = {"create", "start", "die", "destroy"};
    for (size_t i = 0; i < 4; i++) {
        struct event *ev = events_sub_next(sub);
        assert_non_null(ev);
        assert_string_equal(ev->action, want[i]);
        assert_string_equal(event_attr(ev, "name"), "web");
        assert_string_equal(event_attr(ev, "image"), "busybox");
        if (i == 2)
            assert_string_equal(event_attr(ev, "exitCode"), "0");
        event_unref(ev);
    }
    events_unsubscribe(sub);
}

static void
test_name_rules(void **state)
{
    (void)state;
    char a[ID_LEN + 1], b[ID_LEN + 1];
    create("dup", "no", false, a);
    struct container_create req = {0};
    req.spec.image = xstrdup("busybox");
    req.name = xstrdup("/dup");
    struct err *err = NULL;
    expect_err(engine_container_create(eng, &req, b, &err), &err, ERR_CONFLICT);
    struct container_create bad = {0};
    bad.spec.image = xstrdup("busybox");
    bad.name = xstrdup("-x");
    expect_err(engine_container_create(eng, &bad, b, &err), &err, ERR_INVALID);
    struct container_create noimg = {0};
    noimg.spec.image = xstrdup("nope:1");
    assert_int_equal(engine_container_create(eng, &noimg, b, &err), -1);
    assert_string_equal(err->msg, "No such image: nope:1");
    err_clear(&err);
    /* prefix lookup and rename */
    char prefix[8];
    memcpy(prefix, a, 7);
    prefix[7] = '\0';
    struct container *c = engine_container_get(eng, prefix, NULL);
    assert_non_null(c);
    container_unref(c);
    assert_int_equal(engine_container_rename(eng, "dup", "renamed", NULL), 0);
    assert_null(engine_container_get(eng, "dup", NULL));
    assert_int_equal(engine_container_remove(eng, "renamed", true, false, NULL), 0);
}

static void
test_kill_codes_and_stopped_by_user(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    create(NULL, "always", false, id);
    struct err *err = NULL;
    assert_int_equal(engine_container_start(eng, id, &err), 0);
    assert_int_equal(engine_container_kill(eng, id, SIGKILL, &err), 0);
    int code;
    assert_int_equal(status_of(id, &code, NULL), CONTAINER_EXITED);
    assert_int_equal(code, 137);
    usleep(300000); /* an explicit kill: the "always" policy must not restart it */
    assert_int_equal(status_of(id, NULL, NULL), CONTAINER_EXITED);
    assert_int_equal(engine_container_remove(eng, id, false, false, NULL), 0);
}

static void
test_restart_policy_always_restarts_natural_exits(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    create(NULL, "always", false, id);
    assert_int_equal(engine_container_start(eng, id, NULL), 0);
    int restarts = 0;
    for (int i = 0; i < 200 && restarts < 2; i++) {
        usleep(10000);
        status_of(id, NULL, &restarts);
    }
    assert_true(restarts >= 2);
    assert_int_equal(engine_container_stop(eng, id, 0, NULL), 0);
    usleep(300000);
    assert_int_equal(status_of(id, NULL, NULL), CONTAINER_EXITED);
    assert_int_equal(engine_container_remove(eng, id, true, false, NULL), 0);
}

static void
test_auto_remove(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    create(NULL, "no", true, id);
    assert_int_equal(engine_container_start(eng, id, NULL), 0);
    struct container *c;
    for (int i = 0; i < 200 && (c = engine_container_get(eng, id, NULL)) != NULL; i++) {
        container_unref(c);
        usleep(10000);
    }
    assert_null(engine_container_get(eng, id, NULL));
}

static int
capture(void *ctx, int stream, const char *data, size_t len)
{
    char *out = ctx;
    assert_int_equal(stream, 1);
    strncat(out, data, len);
    return 0;
}

static ssize_t
no_stdin(void *ctx, char *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}

static void
test_exec(void **state)
{
    (void)state;
    char id[ID_LEN + 1], eid[ID_LEN + 1];
    create("ex", "no", false, id);
    struct exec_spec spec = {0};
    struct err *err = NULL;
    expect_err(engine_exec_create(eng, id, &spec, eid, &err), &err, ERR_INVALID);
    spec.cmd = strv_append(strv_append(NULL, "echo"), "x");
    spec.env = strv_append(NULL, "E=1");
    spec.attach_stdout = true;
    assert_int_equal(engine_exec_create(eng, id, &spec, eid, &err), 0);
    struct exec *e = engine_exec_get(eng, eid, NULL);
    assert_string_equal(strv_env_get(e->env, "E"), "1");
    assert_int_equal(engine_exec_claim(eng, e, NULL), 0);
    expect_err(engine_exec_claim(eng, e, &err), &err, ERR_CONFLICT);
    char out[64] = "";
    struct exec_io io = {.ctx = out, .write = capture, .read_stdin = no_stdin};
    engine_exec_run(eng, e, &io);
    assert_string_equal(out, "echo x\n");
    assert_false(e->running);
    assert_int_equal(e->exit_code, 0);
    exec_unref(e);
    assert_int_equal(engine_container_remove(eng, id, true, false, NULL), 0);
    assert_null(engine_exec_get(eng, eid, NULL)); /* execs go with their container */
}

static void
test_health_probe_makes_it_healthy(void **state)
{
    (void)state;
    struct events_sub *sub = events_subscribe(eng->events, -1);
    struct container_create req = {0};
    req.spec.image = xstrdup("busybox");
    req.spec.open_stdin = true; /* runs 200 ms in the synthetic driver */
    req.spec.stop_timeout = -1;
    req.spec.health.test = strv_append(strv_append(NULL, "CMD"), "true");
    req.spec.health.interval_ns = 20 * 1000000;
    char id[ID_LEN + 1];
    assert_int_equal(engine_container_create(eng, &req, id, NULL), 0);
    assert_int_equal(engine_container_start(eng, id, NULL), 0);
    bool healthy = false;
    for (int i = 0; i < 100 && !healthy; i++) {
        struct event *ev = events_sub_next(sub);
        if (ev != NULL) {
            healthy = strcmp(ev->action, "health_status: healthy") == 0;
            event_unref(ev);
        } else {
            usleep(5000);
        }
    }
    assert_true(healthy);
    struct container *c = engine_container_get(eng, id, NULL);
    engine_lock(eng);
    assert_true(c->state.health.n_log >= 1);
    assert_int_equal(c->state.health.log[0].exit_code, 0);
    assert_string_equal(c->state.health.log[0].output, "true\n"); /* the synthetic exec's echo */
    engine_unlock(eng);
    container_unref(c);
    events_unsubscribe(sub);
    assert_int_equal(engine_container_remove(eng, id, true, false, NULL), 0);
}

/* A driver whose start takes 200 ms (and fails when slow_fail is set): what stops, kills or
 * removes the container meanwhile must wait for it, and a failed start must leave no follower
 * of the logs waiting. */
static bool slow_fail, in_start, acted_during_start;

static int
slow_start(struct engine *e, struct container *c, struct err **err)
{
    __atomic_store_n(&in_start, true, __ATOMIC_SEQ_CST);
    usleep(200000);
    __atomic_store_n(&in_start, false, __ATOMIC_SEQ_CST);
    if (slow_fail)
        return err_make(err, ERR_INTERNAL, 0, "injected start failure");
    return driver_synthetic.start(e, c, err);
}

static int
slow_stop(struct engine *e, struct container *c, int sig, int timeout_s, struct err **err)
{
    if (__atomic_load_n(&in_start, __ATOMIC_SEQ_CST))
        acted_during_start = true;
    return driver_synthetic.stop(e, c, sig, timeout_s, err);
}

static int
slow_kill(struct engine *e, struct container *c, int sig, struct err **err)
{
    if (__atomic_load_n(&in_start, __ATOMIC_SEQ_CST))
        acted_during_start = true;
    return driver_synthetic.kill(e, c, sig, err);
}

static struct driver slow_driver;

struct op_job {
    char id[ID_LEN + 1];
    int op; /* 0 start, 1 stop, 2 kill, 3 remove -f */
    int rc;
};

static void *
op_main(void *arg)
{
    struct op_job *j = arg;
    struct err *err = NULL;
    switch (j->op) {
    case 0:
        j->rc = engine_container_start(eng, j->id, &err);
        break;
    case 1:
        j->rc = engine_container_stop(eng, j->id, 1, &err);
        break;
    case 2:
        j->rc = engine_container_kill(eng, j->id, SIGKILL, &err);
        break;
    default:
        j->rc = engine_container_remove(eng, j->id, true, false, &err);
        break;
    }
    err_clear(&err);
    return NULL;
}

static void
test_stop_kill_remove_wait_for_a_start(void **state)
{
    (void)state;
    slow_driver = driver_synthetic;
    slow_driver.start = slow_start;
    slow_driver.stop = slow_stop;
    slow_driver.kill = slow_kill;
    for (int op = 1; op <= 3; op++) {
        struct container_create req = {0};
        req.spec.image = xstrdup("busybox");
        req.spec.open_stdin = true; /* runs until stopped */
        req.spec.stop_timeout = -1;
        struct op_job start = {.op = 0}, other = {.op = op};
        assert_int_equal(engine_container_create(eng, &req, start.id, NULL), 0);
        memcpy(other.id, start.id, sizeof(start.id));
        struct container *c = engine_container_get(eng, start.id, NULL);
        c->driver = &slow_driver;
        acted_during_start = false;
        pthread_t t1, t2;
        assert_int_equal(pthread_create(&t1, NULL, op_main, &start), 0);
        while (!__atomic_load_n(&in_start, __ATOMIC_SEQ_CST))
            usleep(1000);
        assert_int_equal(pthread_create(&t2, NULL, op_main, &other), 0);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        assert_int_equal(start.rc, 0);
        assert_int_equal(other.rc, 0);
        assert_false(acted_during_start);
        if (op != 3) {
            assert_true(wait_status(start.id, CONTAINER_EXITED));
            assert_int_equal(engine_container_remove(eng, start.id, true, false, NULL), 0);
        }
        assert_null(engine_container_get(eng, start.id, NULL));
        container_unref(c);
    }
}

static void
test_failed_start_ends_log_followers(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    create(NULL, "no", false, id);
    struct container *c = engine_container_get(eng, id, NULL);
    c->driver = &slow_driver;
    slow_fail = true;
    struct err *err = NULL;
    expect_err(engine_container_start(eng, id, &err), &err, ERR_INTERNAL);
    slow_fail = false;
    engine_lock(eng);
    assert_int_equal(c->state.status, CONTAINER_EXITED);
    assert_int_equal(c->state.pid, 0);
    assert_false(c->starting);
    engine_unlock(eng);
    struct logbuf_reader *r = logbuf_reader_new(c->logs, 0); /* a follower of logs -f */
    assert_true(logbuf_reader_at_end(r));
    logbuf_reader_free(r);
    container_unref(c);
    assert_int_equal(engine_container_remove(eng, id, true, false, NULL), 0);
}

/* engine_shutdown waits for the background jobs (a pull's or build's thread) to end. */
static bool job_ended;

static void *
job_main(void *arg)
{
    struct engine *e = arg;
    usleep(200000);
    __atomic_store_n(&job_ended, true, __ATOMIC_SEQ_CST);
    engine_job_end(e);
    return NULL;
}

static void
test_shutdown_waits_for_background_jobs(void **state)
{
    (void)state;
    char dir[] = "/tmp/sockerless-engine-jobs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct engine *e = engine_new(dir, chain, NULL);
    assert_non_null(e);
    engine_job_begin(e);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, job_main, e), 0);
    engine_shutdown(e);
    assert_true(__atomic_load_n(&job_ended, __ATOMIC_SEQ_CST));
    pthread_join(t, NULL);
    engine_free(e);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_and_events),
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_kill_codes_and_stopped_by_user),
        cmocka_unit_test(test_restart_policy_always_restarts_natural_exits),
        cmocka_unit_test(test_auto_remove),
        cmocka_unit_test(test_exec),
        cmocka_unit_test(test_health_probe_makes_it_healthy),
        cmocka_unit_test(test_stop_kill_remove_wait_for_a_start),
        cmocka_unit_test(test_failed_start_ends_log_followers),
        cmocka_unit_test(test_shutdown_waits_for_background_jobs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
