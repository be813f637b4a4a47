/* A real sockerless-agent driven through agent_client: forward and reverse mode, execs, the
 * main process, files, flow control with 100 MB, heartbeats, tokens and TLS. */
#include "../cmocka_prelude.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "agent_harness.h"
#include "agentproto/wire.h"
#include "base/buf.h"

static const char *const sleeper[] = {"sleep", "600", NULL};

static void
test_exec_exit_codes_and_streams(void **state)
{
    (void)state;
    struct harness h;
    harness_init(&h);
    const char *const fwd[] = {"--listen", h.sock, NULL};
    harness_spawn(&h, fwd, sleeper);
    struct err *e = NULL;
    struct agent_client *c = harness_connect(&h, NULL, 15000, &e);
    assert_non_null(c);
    char *out, *errout;
    const char *const a1[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    assert_int_equal(harness_exec(c, a1, false, NULL, &out, &errout, &e), 3);
    assert_string_equal(out, "out\n");
    assert_string_equal(errout, "err\n");
    free(out), free(errout);
    const char *const a2[] = {"sh", "-c", "kill -TERM $$", NULL};
    assert_int_equal(harness_exec(c, a2, false, NULL, &out, &errout, &e), 128 + SIGTERM);
    free(out), free(errout);
    const char *const a3[] = {"no-such-command-here", NULL};
    assert_int_equal(harness_exec(c, a3, false, NULL, &out, &errout, &e), -1);
    assert_int_equal(e->kind, ERR_NOT_FOUND);
    assert_int_equal(e->errnum, ENOENT);
    err_clear(&e);
    /* env and workdir */
    const char *const a4[] = {"sh", "-c", "echo $FOO; pwd", NULL};
    const char *const env[] = {"FOO=bar", NULL};
    struct agent_exec_spec spec = {
        .argv = (char *const *)a4, .env = (char *const *)env, .workdir = "/tmp"};
    struct agent_exec *x = agent_client_exec_open(c, &spec, NULL, &e);
    assert_non_null(x);
    agent_exec_free(x); /* cancelled before it ran: the client discards, the agent too */
    assert_true(agent_client_is_alive(c));
    agent_client_unref(c);
    harness_fini(&h);
}

static void
test_tty_exec_and_stdin_half_close(void **state)
{
    (void)state;
    struct harness h;
    harness_init(&h);
    const char *const fwd[] = {"--listen", h.sock, NULL};
    harness_spawn(&h, fwd, sleeper);
    struct err *e = NULL;
    struct agent_client *c = harness_connect(&h, NULL, 15000, &e);
    assert_non_null(c);
    char *out, *errout;
    const char *const t[] = {"sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty", NULL};
    assert_int_equal(harness_exec(c, t, true, NULL, &out, &errout, &e), 0);
    assert_string_equal(out, "is-a-tty\r\n");
    free(out), free(errout);
    /* cat ends only when its stdin is half-closed; its output still arrives after that */
    const char *const cat[] = {"sh", "-c", "cat; echo done", NULL};
    assert_int_equal(harness_exec(c, cat, false, "hello\nworld\n", &out, &errout, &e), 0);
    assert_string_equal(out, "hello\nworld\ndone\n");
    free(out), free(errout);
    agent_client_unref(c);
    harness_fini(&h);
}

static void
test_wrong_token_refused(void **state)
{
    (void)state;
    struct harness h;
    harness_init(&h);
    const char *const fwd[] = {"--listen", h.sock, NULL};
    harness_spawn(&h, fwd, sleeper);
    struct err *e = NULL;
    assert_null(harness_connect(&h, "secret-tokem", 15000, &e));
    assert_non_null(e);
    assert_int_equal(e->kind, ERR_FORBIDDEN);
    assert_non_null(strstr(e->msg, "authentication failed"));
    err_clear(&e);
    assert_null(harness_connect(&h, "", 15000, &e));
    assert_int_equal(e->kind, ERR_FORBIDDEN);
    err_clear(&e);
    struct agent_client *c = harness_connect(&h, NULL, 15000, &e);
    assert_non_null(c);
    agent_client_unref(c);
    harness_fini(&h);
}

struct main_log {
    pthread_mutex_t mu;
    struct buf out, err;
    int exits;
    int lost;
    char lost_msg[1100];
};

static void
main_output(void *ctx, int stream, const char *data, size_t len)
{
    struct main_log *m = ctx;
    pthread_mutex_lock(&m->mu);
    buf_append(stream == AGENT_STREAM_STDERR ? &m->err : &m->out, data, len, NULL);
    pthread_mutex_unlock(&m->mu);
}

static void
main_exit(void *ctx, const struct agent_exit *ex)
{
    struct main_log *m = ctx;
    (void)ex;
    pthread_mutex_lock(&m->mu);
    m->exits++;
    pthread_mutex_unlock(&m->mu);
}

static void
main_lost(void *ctx, const struct err *why)
{
    struct main_log *m = ctx;
    pthread_mutex_lock(&m->mu);
    m->lost++;
    snprintf(m->lost_msg, sizeof(m->lost_msg), "%s", why->msg);
    pthread_mutex_unlock(&m->mu);
}

static void
main_log_init(struct main_log *m)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    buf_init(&m->out, 1 << 20);
    buf_init(&m->err, 1 << 20);
}

static void
main_log_fini(struct main_log *m)
{
    buf_fini(&m->out);
    buf_fini(&m->err);
    pthread_mutex_destroy(&m->mu);
}

static void
test_main_process(void **state)
{
    (void)state;
    struct harness h;
    harness_init(&h);
    const char *const fwd[] = {"--listen", h.sock, NULL};
    const char *const cmd[] = {"sh", "-c",
                               "echo started; echo warn >&2; read x; echo got $x; exit 7", NULL};
    harness_spawn(&h, fwd, cmd);
    harness_wait_path(h.sock + 5, 5000);
    struct main_log m;
    main_log_init(&m);
    struct agent_client_opts o = {.container_id = "c0ffee",
                                  .token = "secret-token",
                                  .ctx = &m,
                                  .on_main_output = main_output,
                                  .on_main_exit = main_exit,
                                  .on_lost = main_lost};
    struct err *e = NULL;
    struct agent_client *c = agent_client_connect(h.sock, &o, &e);
    assert_non_null(c);
    struct agent_info info;
    agent_client_info(c, &info);
    assert_int_equal(info.main_state, AGENT_MAIN_CREATED);
    struct agent_start st = {.open_stdin = true};
    pid_t pid = 0;
    assert_int_equal(agent_client_start(c, &st, &pid, &e), 0);
    assert_true(pid > 0);
    assert_int_equal(agent_client_start(c, &st, &pid, &e), -1);
    assert_int_equal(e->kind, ERR_CONFLICT);
    err_clear(&e);
    assert_int_equal(agent_client_main_stdin_write(c, "line\n", 5, &e), 0);
    assert_int_equal(agent_client_main_stdin_close(c, &e), 0);
    struct agent_exit ex;
    assert_int_equal(agent_client_wait_main(c, 10000, &ex, &e), 0);
    assert_int_equal(ex.exit_code, 7);
    pthread_mutex_lock(&m.mu);
    assert_int_equal(m.exits, 1);
    assert_int_equal(m.out.len, strlen("started\ngot line\n"));
    assert_memory_equal(m.out.data, "started\ngot line\n", m.out.len);
    assert_memory_equal(m.err.data, "warn\n", 5);
    pthread_mutex_unlock(&m.mu);
    assert_int_equal(agent_client_signal(c, SIGTERM, &e), -1);
    assert_int_equal(e->kind, ERR_CONFLICT);
    err_clear(&e);
    /* Without --keep-alive the agent ends once the daemon closes after the exit report. */
    agent_client_unref(c);
    int status = 0;
    for (int i = 0; i < 500 && waitpid(h.agent, &status, WNOHANG) == 0; i++)
        usleep(10000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 7);
    h.agent = 0;
    assert_int_equal(m.lost, 0);
    main_log_fini(&m);
    harness_fini(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_exit_codes_and_streams),
        cmocka_unit_test(test_tty_exec_and_stdin_half_close),
        cmocka_unit_test(test_wrong_token_refused),
        cmocka_unit_test(test_main_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
