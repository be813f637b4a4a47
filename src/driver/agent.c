/*
 * The agent driver: containers whose command runs under sockerless-agent, served through the
 * agent's connection (src/agentproto/agent_client.h) for the main process's output, stdin,
 * signals and exit, and for exec, archives and stat. docs/internals/agent-driver.md explains it.
 *
 * Two kinds of container:
 * - local (--agent-mode forward|reverse): the process driver runs the container with the agent
 *   wrapped around its command (process_start_wrapped); the daemon dials the agent's unix socket
 *   in the container's agent directory (forward) or the agent dials the daemon's callback
 *   listener (reverse). Pause, top, stats, diff and commit stay the process driver's.
 * - remote: created with the labels sockerless.agent.address (forward) or
 *   sockerless.agent.callback=true (reverse) and sockerless.agent.token-file; the agent runs
 *   elsewhere with the command it was given.
 *
 * Every container served is in the registry A.list (by id, for reverse registrations). One
 * mutex (A.mu) guards the registry and every struct actr's state; out_mu guards the output sink.
 * The process driver owns c->driver_data of a local container; ours is found in the registry.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agentproto/agent_client.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "driver/logsink.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "http/listener.h"
#include "image/tarfs.h"

enum {
    CONNECT_TIMEOUT_MS = 10000, /* from the start of the container to the agent's connection */
    DIAL_RETRY_MS = 20,
    DRAIN_MS = 2000, /* after the agent's process ended: its exit report still in flight */
    KILL_WAIT_MS = 10000,
    TOKEN_BYTES = 32,
    TOKEN_FILE_MAX = 4096,
};

#define LABEL_ADDRESS "sockerless.agent.address"
#define LABEL_CALLBACK "sockerless.agent.callback"
#define LABEL_TOKEN_FILE "sockerless.agent.token-file"
#define LABEL_TLS_CA "sockerless.agent.tls-ca"

struct actr;

/* One connection's callbacks' context: which container and which run it serves. */
struct aconn {
    struct actr *a; /* a reference */
    uint64_t run;
};

/* What the driver keeps for one container. */
struct actr {
    struct actr *next;
    int refs;
    char id[ID_LEN + 1];
    struct engine *eng;
    struct container *c; /* a reference while registered */
    bool local, reverse, removed;
    char *dir;                   /* local: the agent's directory on this host (token, socket) */
    char *token;                 /* this run's */
    struct agent_client *client; /* the live connection, or NULL */
    struct aconn *conn;          /* its context */
    uint64_t run;
    bool active;  /* started and its exit not reported yet */
    bool started; /* the agent was told to run CMD */
    bool failed;  /* the start failed: the engine reports that itself */
    bool exit_known;
    struct agent_exit exit;
    bool lost;      /* the current connection is lost */
    uint64_t exits; /* bumped once the engine knows of an exit */
    pthread_mutex_t out_mu;
    struct log_sink sink;
    struct out_stream out[2];
};

static struct {
    enum agent_driver_mode mode;
    char *binary;
    int timeout_ms;
    char *listen_spec; /* as configured ("unix:PATH", "tcp:HOST:PORT"), or NULL: none */
    struct listener lst;
    bool listening;
    char *callback_url; /* what a local agent dials */
    char *callback_dir; /* the unix listener's directory, bind-mounted into local containers */
    pthread_t accept_thread;
    int wake[2];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct actr *list;
} A = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = {-1, -1}};

/* ---- the registry ---- */

static bool
labels_name_agent(const struct container *c)
{
    const char *cb = labels_get(&c->spec.labels, LABEL_CALLBACK);
    return labels_get(&c->spec.labels, LABEL_ADDRESS) != NULL ||
           (cb != NULL && strcmp(cb, "true") == 0);
}

/* c's entry (a new reference), made on first use. */
static struct actr *
actr_get(struct engine *eng, struct container *c)
{
    pthread_mutex_lock(&A.mu);
    struct actr *a = A.list;
    while (a != NULL && a->c != c)
        a = a->next;
    if (a == NULL) {
        a = xcalloc(1, sizeof(*a));
        memcpy(a->id, c->id, sizeof(a->id));
        a->eng = eng;
        a->c = c;
        container_ref(c);
        a->local = !labels_name_agent(c);
        const char *cb = labels_get(&c->spec.labels, LABEL_CALLBACK);
        a->reverse = a->local ? A.mode == AGENT_DRIVER_REVERSE
                              : labels_get(&c->spec.labels, LABEL_ADDRESS) == NULL && cb != NULL;
        a->refs = 1; /* the registry's */
        pthread_mutex_init(&a->out_mu, NULL);
        log_sink_init(&a->sink, c);
        a->out[0].stream = 1;
        a->out[1].stream = 2;
        a->next = A.list;
        A.list = a;
    }
    a->refs++;
    pthread_mutex_unlock(&A.mu);
    return a;
}

static void
actr_unref(struct actr *a)
{
    pthread_mutex_lock(&A.mu);
    bool last = --a->refs == 0;
    pthread_mutex_unlock(&A.mu);
    if (!last)
        return;
    pthread_mutex_destroy(&a->out_mu);
    log_sink_fini(&a->sink);
    free(a->out[0].pending);
    free(a->out[1].pending);
    free(a->dir);
    free(a->token);
    container_unref(a->c);
    free(a);
}

/* Waits on A.cv until pred(a) or timeout_ms (-1: forever). A.mu held. */
static bool
wait_for(struct actr *a, bool (*pred)(const struct actr *, uint64_t), uint64_t arg, int timeout_ms)
{
    int64_t deadline = time_mono_ns() + (int64_t)timeout_ms * 1000000;
    while (!pred(a, arg)) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&A.cv, &A.mu);
            continue;
        }
        int64_t left = deadline - time_mono_ns();
        if (left <= 0)
            return false;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000000000;
        ts.tv_nsec += left % 1000000000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&A.cv, &A.mu, &ts);
    }
    return true;
}

/* Detaches a's connection (A.mu held); the caller drops it with drop_conn, lock released. */
static void
take_conn(struct actr *a, struct agent_client **client, struct aconn **conn)
{
    *client = a->client;
    *conn = a->conn;
    a->client = NULL;
    a->conn = NULL;
}

static void
drop_conn(struct agent_client *client, struct aconn *conn)
{
    agent_client_unref(client); /* joins its threads: the callbacks are done with conn */
    if (conn != NULL) {
        actr_unref(conn->a);
        free(conn);
    }
}

/* ---- the main process's callbacks (the client's delivery thread) ---- */

static void
close_sink(struct actr *a)
{
    pthread_mutex_lock(&a->out_mu);
    log_sink_flush(&a->sink, &a->out[0]);
    log_sink_flush(&a->sink, &a->out[1]);
    log_sink_fini(&a->sink);
    pthread_mutex_unlock(&a->out_mu);
}

static void
on_main_output(void *ctx, int stream, const char *data, size_t len)
{
    struct actr *a = ((struct aconn *)ctx)->a;
    pthread_mutex_lock(&a->out_mu);
    log_sink_feed(&a->sink, &a->out[stream == AGENT_STREAM_STDERR ? 1 : 0], data, len);
    pthread_mutex_unlock(&a->out_mu);
}

/* Tells the engine that run ended with code, once; A.mu not held. */
static void
report_exit(struct actr *a, uint64_t run, int code)
{
    pthread_mutex_lock(&A.mu);
    bool report = a->run == run && a->active && !a->failed;
    a->active = false;
    pthread_mutex_unlock(&A.mu);
    if (report) {
        close_sink(a);
        engine_container_exited(a->eng, a->c, run, code);
    }
    pthread_mutex_lock(&A.mu);
    a->exits++;
    pthread_cond_broadcast(&A.cv);
    pthread_mutex_unlock(&A.mu);
}

static void
on_main_exit(void *ctx, const struct agent_exit *exit)
{
    struct aconn *conn = ctx;
    struct actr *a = conn->a;
    pthread_mutex_lock(&A.mu);
    bool current = a->run == conn->run;
    if (current) {
        a->exit_known = true;
        a->exit = *exit;
    }
    bool local = a->local;
    /* The agent ends once the daemon closes the connection after the exit report (without
     * --keep-alive; with it, nothing is left to serve either). */
    struct agent_client *client = a->conn == conn ? agent_client_ref(a->client) : NULL;
    pthread_cond_broadcast(&A.cv);
    pthread_mutex_unlock(&A.mu);
    if (client != NULL) {
        agent_client_shutdown(client);
        agent_client_unref(client);
    }
    /* A local agent's process ends next: the process driver's monitor reports then (ended). */
    if (current && !local)
        report_exit(a, conn->run, exit->exit_code);
}

static void
on_lost(void *ctx, const struct err *reason)
{
    struct aconn *conn = ctx;
    struct actr *a = conn->a;
    pthread_mutex_lock(&A.mu);
    bool current = a->conn == conn;
    if (current)
        a->lost = true;
    bool report = current && !a->local && !a->reverse && a->active && !a->exit_known;
    pthread_cond_broadcast(&A.cv);
    pthread_mutex_unlock(&A.mu);
    LOG_WARN("agent of %.12s: %s", a->id, reason->msg);
    /* A remote agent dialled by the daemon is gone: its container is too, as far as anyone
     * here can know (a reverse agent dials again; a local one is watched by the monitor). */
    if (report)
        report_exit(a, conn->run, 255);
}

static void
client_opts(struct actr *a, struct aconn *conn, const char *token, struct agent_client_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->container_id = a->id;
    o->token = token;
    o->heartbeat_interval_ms = A.timeout_ms / 3;
    o->heartbeat_timeout_ms = A.timeout_ms;
    o->connect_timeout_ms = CONNECT_TIMEOUT_MS;
    o->ctx = conn;
    o->on_main_output = on_main_output;
    o->on_main_exit = on_main_exit;
    o->on_lost = on_lost;
}

static struct aconn *
conn_new(struct actr *a, uint64_t run)
{
    struct aconn *conn = xcalloc(1, sizeof(*conn));
    pthread_mutex_lock(&A.mu);
    a->refs++;
    pthread_mutex_unlock(&A.mu);
    conn->a = a;
    conn->run = run;
    return conn;
}

/* Makes client a's connection for run (unless a has moved on). Consumes client and conn. */
static void
attach_conn(struct actr *a, struct agent_client *client, struct aconn *conn)
{
    struct agent_client *old = NULL;
    struct aconn *old_conn = NULL;
    pthread_mutex_lock(&A.mu);
    bool take = !a->removed && a->run == conn->run && agent_client_is_alive(client);
    if (take) {
        take_conn(a, &old, &old_conn);
        a->client = client;
        a->conn = conn;
        a->lost = false;
        pthread_cond_broadcast(&A.cv);
    }
    pthread_mutex_unlock(&A.mu);
    if (!take)
        drop_conn(client, conn);
    drop_conn(old, old_conn);
}

/* ---- connections ---- */

static bool
has_client(const struct actr *a, uint64_t run)
{
    return a->run != run || (a->client != NULL && !a->lost && agent_client_is_alive(a->client)) ||
           !a->active;
}

/* a's live connection (a new reference), waiting up to timeout_ms for one (a reverse agent
 * dialling again). ERR_CONFLICT when the container is not running, ERR_UNAVAILABLE when no
 * agent is connected. */
static struct agent_client *
client_of(struct actr *a, int timeout_ms, struct err **err)
{
    pthread_mutex_lock(&A.mu);
    wait_for(a, has_client, a->run, timeout_ms);
    struct agent_client *client = NULL;
    if (a->client != NULL && !a->lost && a->active && agent_client_is_alive(a->client))
        client = agent_client_ref(a->client);
    bool active = a->active;
    pthread_mutex_unlock(&A.mu);
    if (client == NULL && !active)
        err_make(err, ERR_CONFLICT, 0, "Container %s is not running", a->id);
    else if (client == NULL)
        err_make(err, ERR_UNAVAILABLE, 0, "the agent of container %.12s is not connected", a->id);
    return client;
}

static char *
random_token(void)
{
    unsigned char raw[TOKEN_BYTES];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return NULL;
    char *hex = xmalloc(2 * sizeof(raw) + 1);
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return hex;
}

/* The token in a remote container's token file (a new string). */
static char *
read_token_file(const char *path, struct err **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_make(err, ERR_INVALID, errno, "agent token file %s", path);
        return NULL;
    }
    char buf[TOKEN_FILE_MAX + 1];
    ssize_t n = read(fd, buf, TOKEN_FILE_MAX + 1);
    close(fd);
    if (n < 0 || n > TOKEN_FILE_MAX) {
        err_make(err, ERR_INVALID, n < 0 ? errno : 0, "agent token file %s: %s", path,
                 n < 0 ? "unreadable" : "larger than 4 KiB");
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (n == 0) {
        err_make(err, ERR_INVALID, 0, "agent token file %s is empty", path);
        return NULL;
    }
    buf[n] = '\0';
    return xstrdup(buf);
}

static bool
connected_or_ended(const struct actr *a, uint64_t run)
{
    return a->run != run || a->client != NULL || !a->active;
}

/* Forward mode: dials addr until the agent answers, the container's process ended, or the
 * connect timeout. Local agents take a moment to listen. */
static int
dial(struct actr *a, uint64_t run, const char *addr, const char *token, const char *tls_ca,
     struct err **err)
{
    int64_t deadline = time_mono_ns() + (int64_t)CONNECT_TIMEOUT_MS * 1000000;
    for (;;) {
        struct aconn *conn = conn_new(a, run);
        struct agent_client_opts o;
        client_opts(a, conn, token, &o);
        o.tls.ca_file = tls_ca;
        struct err *e = NULL;
        struct agent_client *client = agent_client_connect(addr, &o, &e);
        if (client != NULL) {
            attach_conn(a, client, conn);
            return 0;
        }
        drop_conn(NULL, conn);
        pthread_mutex_lock(&A.mu);
        bool gone = !a->active || a->run != run;
        pthread_mutex_unlock(&A.mu);
        bool retry =
            a->local && err_kind_of(&e) == ERR_UNAVAILABLE && !gone && time_mono_ns() < deadline;
        if (!retry) {
            *err = e;
            return err_wrap(err, "agent of container %.12s at %s", a->id, addr);
        }
        err_clear(&e);
        usleep(DIAL_RETRY_MS * 1000);
    }
}

/* Reverse mode: waits for the agent to dial the callback listener. */
static int
await_agent(struct actr *a, uint64_t run, struct err **err)
{
    pthread_mutex_lock(&A.mu);
    wait_for(a, connected_or_ended, run, CONNECT_TIMEOUT_MS);
    bool ok = a->run == run && a->client != NULL;
    pthread_mutex_unlock(&A.mu);
    if (!ok)
        return err_make(
            err, ERR_UNAVAILABLE, 0, "the agent of container %.12s did not dial %s within %d ms",
            a->id, A.callback_url ? A.callback_url : "the callback listener", CONNECT_TIMEOUT_MS);
    return 0;
}

/* ---- lifecycle ---- */

static bool
agent_owns(const struct driver *d, struct engine *eng, const struct container *c)
{
    (void)d;
    (void)eng;
    if (labels_name_agent(c))
        return true;
    return A.mode != AGENT_DRIVER_OFF && driver_process.ready != NULL && driver_process.ready();
}

static bool
agent_ready(void)
{
    return A.mode != AGENT_DRIVER_OFF;
}

static int
agent_validate(struct engine *eng, const struct container *c, struct err **err)
{
    if (!labels_name_agent(c))
        return driver_process.validate(eng, c, err);
    if (labels_get(&c->spec.labels, LABEL_TOKEN_FILE) == NULL)
        return err_make(err, ERR_INVALID, 0,
                        "a container served by a remote agent needs the "
                        "label " LABEL_TOKEN_FILE);
    return 0;
}

static void agent_ended(void *ctx, struct engine *eng, struct container *c, uint64_t run, int code);

/* Local use: the token file and the process driver's start under the agent. */
static int
start_local(struct engine *eng, struct container *c, struct actr *a, uint64_t run, struct err **err)
{
    const char *run_dir = process_driver_run_dir();
    if (a->dir == NULL)
        a->dir = xasprintf("%s/a-%.16s", run_dir, a->id);
    cleanup_free char *sock = xasprintf("%s/agent.sock", a->dir);
    cleanup_free char *token_path = xasprintf("%s/token", a->dir);
    unlink(sock);
    if (fsutil_mkdir_p(a->dir, 0700, err) < 0 ||
        fsutil_write_atomic(token_path, a->token, strlen(a->token), 0600, err) < 0)
        return -1;
    char **args = NULL;
    if (a->reverse) {
        args = strv_append(args, "--callback");
        args = strv_append(args, A.callback_url);
    } else {
        args = strv_append(args, "--listen");
        args = strv_append(args, "unix:" PROCESS_WRAP_DIR "/agent.sock");
    }
    args = strv_append(args, "--token-file");
    args = strv_append(args, PROCESS_WRAP_DIR "/token");
    args = strv_append(args, "--container-id");
    args = strv_append(args, a->id);
    char ms[16];
    snprintf(ms, sizeof(ms), "%d", A.timeout_ms / 3);
    args = strv_append(args, "--heartbeat-interval");
    args = strv_append(args, ms);
    snprintf(ms, sizeof(ms), "%d", A.timeout_ms);
    args = strv_append(args, "--heartbeat-timeout");
    args = strv_append(args, ms);
    if (a->reverse) { /* the listener's restart is not an outage: dial again within a second */
        args = strv_append(args, "--reconnect-max");
        args = strv_append(args, "1000");
    }
    struct process_wrap w = {.agent_binary = A.binary,
                             .agent_dir = a->dir,
                             .callback_dir = a->reverse ? A.callback_dir : NULL,
                             .agent_args = args,
                             .ended = agent_ended,
                             .ctx = NULL};
    int rc = process_start_wrapped(eng, c, &w, err);
    strv_free(args);
    if (rc < 0)
        return -1;
    cleanup_free char *addr = xasprintf("unix:%s", sock);
    return a->reverse ? await_agent(a, run, err) : dial(a, run, addr, a->token, NULL, err);
}

/* Docker's form of a command that cannot run (the CLI's 127 and 126 read it). */
static int
start_failed(struct err **err, const struct container *c)
{
    enum err_kind kind = err_kind_of(err);
    int errnum = *err ? (*err)->errnum : 0;
    struct err *e = NULL;
    if (kind == ERR_NOT_FOUND || errnum == ENOENT)
        err_make(&e, ERR_INVALID, 0,
                 "OCI runtime create failed: agent: exec: \"%s\": executable file not found in "
                 "$PATH: unknown",
                 c->path);
    else if (kind == ERR_FORBIDDEN || errnum == EACCES)
        err_make(&e, ERR_INVALID, 0,
                 "OCI runtime create failed: agent: exec: \"%s\": permission denied: unknown",
                 c->path);
    else
        return err_wrap(err, "starting the container through its agent");
    err_clear(err);
    *err = e;
    return -1;
}

/* Opens the container's json-file log for this run's output (the process driver's path). */
static void
open_sink(struct engine *eng, struct actr *a)
{
    cleanup_free char *dir = xasprintf("%s/containers/%s", eng->data_root, a->id);
    cleanup_free char *path = xasprintf("%s/%s-json.log", dir, a->id);
    pthread_mutex_lock(&a->out_mu);
    struct err *err = NULL;
    if (fsutil_mkdir_p(dir, 0710, &err) < 0 || log_sink_open(&a->sink, path, &err) < 0) {
        /* The output is still logged, in memory only (engine/logbuf.h). */
        LOG_WARN("container %.12s: json-file log: %s", a->id, err->msg);
        err_clear(&err);
    }
    pthread_mutex_unlock(&a->out_mu);
}

/* Connects to (or waits for) the agent of this run and tells it to run CMD. */
static int
connect_and_start(struct engine *eng, struct container *c, struct actr *a, uint64_t run,
                  struct err **err)
{
    int rc;
    if (a->local)
        rc = start_local(eng, c, a, run, err);
    else if (a->reverse)
        rc = await_agent(a, run, err);
    else
        rc = dial(a, run, labels_get(&c->spec.labels, LABEL_ADDRESS), a->token,
                  labels_get(&c->spec.labels, LABEL_TLS_CA), err);
    struct agent_client *client = rc == 0 ? client_of(a, 0, err) : NULL;
    if (client == NULL)
        return -1;
    engine_lock(eng);
    struct agent_start st = {.tty = c->spec.tty,
                             .height = c->spec.console_height,
                             .width = c->spec.console_width,
                             .open_stdin = c->spec.open_stdin};
    engine_unlock(eng);
    struct agent_info info;
    agent_client_info(client, &info);
    pid_t pid = 0;
    /* A remote reverse agent that dialled before may already run CMD. */
    rc = info.main_state == AGENT_MAIN_CREATED ? agent_client_start(client, &st, &pid, err) : 0;
    if (rc < 0)
        start_failed(err, c);
    agent_client_unref(client);
    return rc;
}

static int
agent_start(struct engine *eng, struct container *c, struct err **err)
{
    struct actr *a = actr_get(eng, c);
    uint64_t run = engine_container_run(eng, c);
    struct agent_client *old;
    struct aconn *old_conn;
    char *token = NULL;
    const char *token_file = labels_get(&c->spec.labels, LABEL_TOKEN_FILE);
    if (a->local && (token = random_token()) == NULL)
        err_make(err, ERR_INTERNAL, 0, "no random bytes for the agent's token");
    else if (!a->local && token_file != NULL)
        token = read_token_file(token_file, err);
    else if (!a->local)
        err_make(err, ERR_INVALID, 0, "no label " LABEL_TOKEN_FILE);

    pthread_mutex_lock(&A.mu);
    take_conn(a, &old, &old_conn);
    a->run = run;
    a->active = token != NULL;
    a->started = a->failed = a->exit_known = a->lost = false;
    free(a->token);
    a->token = token;
    pthread_mutex_unlock(&A.mu);
    drop_conn(old, old_conn);
    int rc = -1;
    if (token != NULL) {
        open_sink(eng, a);
        rc = connect_and_start(eng, c, a, run, err);
    }
    pthread_mutex_lock(&A.mu);
    a->started = rc == 0;
    a->failed = rc < 0;
    if (rc < 0) {
        a->active = false;
        take_conn(a, &old, &old_conn);
    }
    pthread_cond_broadcast(&A.cv);
    pthread_mutex_unlock(&A.mu);
    if (rc < 0) {
        drop_conn(old, old_conn);
        close_sink(a);
        if (a->local && token != NULL) { /* the agent waits for a START that will not come */
            struct err *kerr = NULL;
            if (driver_process.kill(eng, c, SIGKILL, &kerr) < 0)
                LOG_WARN("killing the agent of %.12s: %s", a->id, kerr->msg);
            err_clear(&kerr);
        }
    }
    actr_unref(a);
    return rc;
}

static bool
exit_or_lost(const struct actr *a, uint64_t run)
{
    return a->run != run || a->exit_known || a->lost || a->client == NULL;
}

/* The process driver's monitor: the local agent's process ended (code as Docker reports it).
 * The agent's own exit report, when it made it, gives the command's code. */
static void
agent_ended(void *ctx, struct engine *eng, struct container *c, uint64_t run, int code)
{
    (void)eng;
    (void)ctx;
    /* The entry by lookup, with a reference: a container removed meanwhile has none (its
     * removal waits for this report, and reporting is moot). */
    pthread_mutex_lock(&A.mu);
    struct actr *a = A.list;
    while (a != NULL && a->c != c)
        a = a->next;
    if (a == NULL) {
        pthread_mutex_unlock(&A.mu);
        return;
    }
    a->refs++;
    wait_for(a, exit_or_lost, run, DRAIN_MS);
    if (a->run == run && a->exit_known)
        code = a->exit.exit_code;
    pthread_mutex_unlock(&A.mu);
    report_exit(a, run, code);
    actr_unref(a);
}

static bool
exited_since(const struct actr *a, uint64_t exits)
{
    return a->exits != exits;
}

/* Sends sig to the main process through the agent and, with wait, waits up to wait_ms (-1:
 * forever) for the engine to know of its exit. False when the agent could not be told or the
 * process is still there. */
static bool
signal_and_wait(struct actr *a, int sig, int wait_ms, bool wait)
{
    pthread_mutex_lock(&A.mu);
    uint64_t exits = a->exits;
    bool active = a->active;
    pthread_mutex_unlock(&A.mu);
    if (!active)
        return true;
    struct err *err = NULL;
    struct agent_client *client = client_of(a, 0, &err);
    int rc = client != NULL ? agent_client_signal(client, sig, &err) : -1;
    agent_client_unref(client);
    if (rc < 0 && err_kind_of(&err) != ERR_CONFLICT) { /* conflict: it has just ended */
        LOG_WARN("signal %d to %.12s through its agent: %s", sig, a->id, err->msg);
        err_clear(&err);
        return false;
    }
    err_clear(&err);
    if (!wait)
        return true;
    pthread_mutex_lock(&A.mu);
    bool gone = wait_for(a, exited_since, exits, wait_ms);
    pthread_mutex_unlock(&A.mu);
    return gone;
}

/* The last resort for a local container whose agent does not answer: the runtime kills the
 * agent's process (the whole container goes with it). */
static int
kill_unreachable(struct engine *eng, struct container *c, struct actr *a, struct err **err)
{
    if (a->local)
        return driver_process.kill(eng, c, SIGKILL, err);
    return err_make(err, ERR_UNAVAILABLE, 0, "the agent of container %.12s does not answer", a->id);
}

/* A frozen (paused) local agent cannot relay a signal: the process driver signals and thaws
 * the container itself. */
static bool
paused_locally(struct engine *eng, struct container *c, const struct actr *a)
{
    engine_lock(eng);
    bool paused = c->state.status == CONTAINER_PAUSED;
    engine_unlock(eng);
    return a->local && paused;
}

static int
agent_stop(struct engine *eng, struct container *c, int signal, int timeout_s, struct err **err)
{
    struct actr *a = actr_get(eng, c);
    int rc = 0;
    if (paused_locally(eng, c, a))
        rc = driver_process.stop(eng, c, signal, timeout_s, err);
    else if (!signal_and_wait(a, signal, timeout_s < 0 ? -1 : timeout_s * 1000, true) &&
             !signal_and_wait(a, SIGKILL, KILL_WAIT_MS, true))
        rc = kill_unreachable(eng, c, a, err);
    actr_unref(a);
    return rc;
}

static int
agent_kill(struct engine *eng, struct container *c, int signal, struct err **err)
{
    struct actr *a = actr_get(eng, c);
    int rc = 0;
    if (paused_locally(eng, c, a))
        rc = driver_process.kill(eng, c, signal, err);
    else if (!signal_and_wait(a, signal, KILL_WAIT_MS, signal == SIGKILL))
        rc = signal == SIGKILL ? kill_unreachable(eng, c, a, err)
                               : err_make(err, ERR_UNAVAILABLE, 0,
                                          "the agent of container %.12s does not answer", a->id);
    actr_unref(a);
    return rc;
}

/* ---- what stays the process driver's for a local container ---- */

static int
remote_unsupported(struct err **err, const char *what)
{
    return err_make(err, ERR_UNSUPPORTED, 0,
                    "%s is not supported for a container served by a "
                    "remote agent",
                    what);
}

static int
agent_pause(struct engine *eng, struct container *c, struct err **err)
{
    return labels_name_agent(c) ? remote_unsupported(err, "pause")
                                : driver_process.pause(eng, c, err);
}

static int
agent_unpause(struct engine *eng, struct container *c, struct err **err)
{
    return labels_name_agent(c) ? remote_unsupported(err, "unpause")
                                : driver_process.unpause(eng, c, err);
}

static int
agent_root_path(struct engine *eng, struct container *c, char **out, struct err **err)
{
    return labels_name_agent(c) ? remote_unsupported(err, "export")
                                : driver_process.root_path(eng, c, out, err);
}

static int
agent_top(struct engine *eng, struct container *c, const char *ps_args, struct proc_top *out,
          struct err **err)
{
    return labels_name_agent(c) ? remote_unsupported(err, "top")
                                : driver_process.top(eng, c, ps_args, out, err);
}

static int
agent_stats(struct engine *eng, struct container *c, struct proc_stats *out, struct err **err)
{
    return labels_name_agent(c) ? remote_unsupported(err, "stats")
                                : driver_process.stats(eng, c, out, err);
}

static int
agent_changes(struct engine *eng, struct container *c, struct rootfs_change **out, size_t *n,
              struct err **err)
{
    return labels_name_agent(c) ? remote_unsupported(err, "diff")
                                : driver_process.changes(eng, c, out, n, err);
}

static int
agent_diff_tar(struct engine *eng, struct container *c, int out_fd, struct err **err)
{
    return labels_name_agent(c) ? remote_unsupported(err, "commit")
                                : driver_process.diff_tar(eng, c, out_fd, err);
}

static void
agent_files(struct engine *eng, const struct container *c, struct driver_files *out)
{
    if (!labels_name_agent(c))
        driver_process.files(eng, c, out);
}

static void
agent_cleanup(struct engine *eng, struct container *c)
{
    struct actr *a = actr_get(eng, c);
    struct agent_client *old;
    struct aconn *old_conn;
    pthread_mutex_lock(&A.mu);
    a->removed = true;
    take_conn(a, &old, &old_conn);
    for (struct actr **p = &A.list; *p != NULL; p = &(*p)->next) {
        if (*p == a) {
            *p = a->next;
            a->refs--; /* the registry's */
            break;
        }
    }
    pthread_cond_broadcast(&A.cv);
    pthread_mutex_unlock(&A.mu);
    drop_conn(old, old_conn);
    if (a->local)
        driver_process.cleanup(eng, c); /* kills what is left and removes the directory */
    close_sink(a);
    if (a->dir != NULL) {
        struct err *err = NULL;
        if (fsutil_remove_tree(a->dir, &err) < 0) {
            LOG_WARN("agent directory of %.12s: %s", a->id, err->msg);
            err_clear(&err);
        }
    }
    actr_unref(a);
}

/* ---- stdin, terminal ---- */

static bool
started_or_over(const struct actr *a, uint64_t run)
{
    return a->run != run || a->started || a->failed || a->removed;
}

static int
agent_attach_stdin(struct engine *eng, struct container *c, const char *data, size_t len,
                   struct err **err)
{
    (void)err;
    struct actr *a = actr_get(eng, c);
    /* Input sent before the start (docker run -i attaches first) waits for the process. */
    for (;;) {
        pthread_mutex_lock(&A.mu);
        bool ready = wait_for(a, started_or_over, a->run, 200) && a->started && a->active;
        pthread_mutex_unlock(&A.mu);
        if (ready)
            break;
        engine_lock(eng);
        bool waiting =
            !c->removed && c->spec.open_stdin &&
            (c->state.status == CONTAINER_CREATED || c->state.status == CONTAINER_RUNNING ||
             c->state.status == CONTAINER_RESTARTING);
        engine_unlock(eng);
        if (!waiting) {
            actr_unref(a);
            return 0; /* nowhere to go: dropped, as the process driver does */
        }
    }
    struct err *e = NULL;
    struct agent_client *client = client_of(a, A.timeout_ms, &e);
    if (client != NULL && agent_client_main_stdin_write(client, data, len, &e) < 0)
        LOG_DEBUG("stdin of %.12s: %s", a->id, e->msg);
    err_clear(&e);
    agent_client_unref(client);
    actr_unref(a);
    return 0;
}

static void
agent_attach_stdin_close(struct engine *eng, struct container *c)
{
    struct actr *a = actr_get(eng, c);
    struct err *e = NULL;
    struct agent_client *client = c->spec.tty ? NULL : client_of(a, 0, &e);
    if (client != NULL && agent_client_main_stdin_close(client, &e) < 0)
        LOG_DEBUG("closing the stdin of %.12s: %s", a->id, e->msg);
    err_clear(&e);
    agent_client_unref(client);
    actr_unref(a);
}

static int
agent_resize(struct engine *eng, struct container *c, int height, int width, struct err **err)
{
    struct actr *a = actr_get(eng, c);
    struct agent_client *client = client_of(a, 0, err);
    int rc = client != NULL ? agent_client_resize(client, height, width, err) : -1;
    agent_client_unref(client);
    actr_unref(a);
    if (rc < 0 && err_kind_of(err) == ERR_CONFLICT) { /* no tty, or not running: nothing to do */
        err_clear(err);
        rc = 0;
    }
    return rc;
}

/* ---- exec ---- */

static int
agent_exec_resize_cb(struct engine *eng, struct exec *e, int height, int width, struct err **err)
{
    (void)eng;
    pthread_mutex_lock(&A.mu);
    struct agent_exec *x = e->driver_data;
    int rc = x != NULL ? agent_exec_resize(x, height, width, err) : 0;
    pthread_mutex_unlock(&A.mu);
    if (rc < 0 && err_kind_of(err) == ERR_CONFLICT) {
        err_clear(err);
        rc = 0;
    }
    return rc;
}

/* Docker's form of an exec that cannot run: ERR_NOT_FOUND (exit code 127) for a missing
 * command, as the process driver says it. */
static void
exec_failed(struct err **err, const struct exec *e)
{
    enum err_kind kind = err_kind_of(err);
    if (kind == ERR_UNAVAILABLE)
        return;
    struct err *ne = NULL;
    if (kind == ERR_NOT_FOUND) /* dockerd's 400 for a detached start */
        err_make(&ne, ERR_INVALID, 0,
                 "OCI runtime exec failed: agent: exec: \"%s\": executable file not found in "
                 "$PATH: unknown",
                 e->cmd[0]);
    else
        err_make(&ne, kind == ERR_FORBIDDEN ? ERR_INVALID : ERR_INTERNAL, 0,
                 "OCI runtime exec failed: agent: %s: unknown", (*err)->msg);
    err_clear(err);
    *err = ne;
}

static int
agent_exec(struct engine *eng, struct container *c, struct exec *e, const struct exec_io *io,
           struct err **err)
{
    struct actr *a = actr_get(eng, c);
    struct agent_client *client = client_of(a, A.timeout_ms, err);
    int code = -1;
    if (client != NULL) {
        struct agent_exec_spec spec = {.argv = e->cmd,
                                       .env = e->env,
                                       .workdir = e->working_dir,
                                       .user = e->user,
                                       .tty = e->tty,
                                       .height = e->console_height,
                                       .width = e->console_width,
                                       .attach_stdin = e->attach_stdin};
        pid_t pid = 0;
        struct agent_exec *x = agent_client_exec_open(client, &spec, &pid, err);
        if (x == NULL) {
            exec_failed(err, e);
        } else {
            engine_exec_started(eng, e, (int)pid);
            pthread_mutex_lock(&A.mu);
            e->driver_data = x;
            pthread_mutex_unlock(&A.mu);
            struct agent_exec_io xio = {.ctx = io->ctx,
                                        .write = io->write,
                                        .read_stdin = io->read_stdin,
                                        .cancel_stdin = io->cancel_stdin};
            code = agent_exec_run(x, &xio, err);
            pthread_mutex_lock(&A.mu);
            e->driver_data = NULL;
            pthread_mutex_unlock(&A.mu);
            agent_exec_free(x);
        }
        agent_client_unref(client);
    }
    actr_unref(a);
    return code;
}

/* ---- files ---- */

/* The agent to ask for c's files (a new reference): NULL with ERR_UNSUPPORTED when a local
 * container's root on this host serves instead (it is not running). */
static struct agent_client *
files_client(struct engine *eng, struct container *c, struct err **err)
{
    struct actr *a = actr_get(eng, c);
    pthread_mutex_lock(&A.mu);
    bool local = a->local, active = a->active;
    pthread_mutex_unlock(&A.mu);
    struct agent_client *client = NULL;
    if (local && !active)
        err_make(err, ERR_UNSUPPORTED, 0, "not running: the root on this host serves");
    else if (!active)
        err_make(err, ERR_CONFLICT, 0,
                 "container %.12s is not running: its files are reached through its agent", a->id);
    else
        client = client_of(a, A.timeout_ms, err);
    actr_unref(a);
    return client;
}

static void
stat_from_agent(const struct agent_stat *in, struct tarfs_stat *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", in->name);
    out->size = in->size;
    out->mode = in->mode;
    out->mtime_ns = in->mtime_ns;
    snprintf(out->link_target, sizeof(out->link_target), "%s", in->link_target);
}

static int
agent_archive_stat(struct engine *eng, struct container *c, const char *path,
                   struct tarfs_stat *out, struct err **err)
{
    struct agent_client *client = files_client(eng, c, err);
    if (client == NULL)
        return -1;
    struct agent_stat st;
    int rc = agent_client_stat(client, path, &st, err);
    agent_client_unref(client);
    if (rc == 0)
        stat_from_agent(&st, out);
    return rc;
}

static int
agent_archive_get(struct engine *eng, struct container *c, const char *path, int out_fd,
                  struct tarfs_stat *out, struct err **err)
{
    struct agent_client *client = files_client(eng, c, err);
    if (client == NULL)
        return -1;
    struct agent_stat st;
    int rc = agent_client_archive_get_fd(client, path, out_fd, &st, err);
    agent_client_unref(client);
    if (rc == 0)
        stat_from_agent(&st, out);
    return rc;
}

/* The agent client's reader type over the driver's (which differ by a char *). */
struct put_src {
    ssize_t (*read)(void *ctx, void *buf, size_t len);
    void *ctx;
};

static ssize_t
put_read(void *ctx, char *buf, size_t len)
{
    struct put_src *s = ctx;
    return s->read(s->ctx, buf, len);
}

static int
agent_archive_put(struct engine *eng, struct container *c, const char *path,
                  ssize_t (*read)(void *ctx, void *buf, size_t len), void *read_ctx,
                  bool no_overwrite_dir_non_dir, const struct tarfs_owner *owner, struct err **err)
{
    struct agent_client *client = files_client(eng, c, err);
    if (client == NULL)
        return -1;
    struct agent_put_opts o = {.no_overwrite_dir_non_dir = no_overwrite_dir_non_dir,
                               .chown = owner != NULL,
                               .uid = owner ? owner->uid : 0,
                               .gid = owner ? owner->gid : 0};
    struct put_src src = {.read = read, .ctx = read_ctx};
    int rc = agent_client_archive_put(client, path, &o, put_read, &src, err);
    agent_client_unref(client);
    return rc;
}

const struct driver driver_agent = {
    .name = "agent",
    .owns = agent_owns,
    .ready = agent_ready,
    .validate = agent_validate,
    .start = agent_start,
    .stop = agent_stop,
    .kill = agent_kill,
    .pause = agent_pause,
    .unpause = agent_unpause,
    .exec = agent_exec,
    .root_path = agent_root_path,
    .archive_stat = agent_archive_stat,
    .archive_get = agent_archive_get,
    .archive_put = agent_archive_put,
    .attach_stdin = agent_attach_stdin,
    .attach_stdin_close = agent_attach_stdin_close,
    .resize = agent_resize,
    .exec_resize = agent_exec_resize_cb,
    .top = agent_top,
    .stats = agent_stats,
    .changes = agent_changes,
    .files = agent_files,
    .diff_tar = agent_diff_tar,
    .exec_when_stopped = false,
    .cleanup = agent_cleanup,
};

/* ---- the reverse-mode callback listener ---- */

struct accepting {
    int fd;
    char token[TOKEN_FILE_MAX + 1]; /* the container's, copied for the handshake */
    struct aconn *conn;             /* made by lookup */
};

static int
lookup(void *ctx, const char *container_id, struct agent_client_opts *opts)
{
    struct accepting *ac = ctx;
    pthread_mutex_lock(&A.mu);
    struct actr *a = A.list;
    while (a != NULL && strcmp(a->id, container_id) != 0)
        a = a->next;
    bool ok = a != NULL && a->reverse && a->active && !a->removed && a->token != NULL &&
              strlen(a->token) < sizeof(ac->token);
    uint64_t run = ok ? a->run : 0;
    if (ok) {
        strcpy(ac->token, a->token);
        a->refs++; /* for conn_new below, dropped with this one */
    }
    pthread_mutex_unlock(&A.mu);
    if (!ok)
        return -1;
    ac->conn = conn_new(a, run);
    actr_unref(a);
    client_opts(a, ac->conn, ac->token, opts);
    return 0;
}

static void *
accept_main(void *arg)
{
    struct accepting *ac = arg;
    struct agent_accept_opts ao = {.ctx = ac, .lookup = lookup};
    struct err *err = NULL;
    struct agent_client *client = agent_client_accept(ac->fd, &ao, &err);
    if (client == NULL) {
        LOG_WARN("agent callback refused: %s", err->msg);
        err_clear(&err);
        drop_conn(NULL, ac->conn);
    } else {
        LOG_INFO("agent of %.12s connected", agent_client_container_id(client));
        attach_conn(ac->conn->a, client, ac->conn);
    }
    OPENSSL_cleanse(ac->token, sizeof(ac->token));
    free(ac);
    return NULL;
}

static void *
listen_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = A.lst.fd, .events = POLLIN},
                              {.fd = A.wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents != 0)
            break;
        int fd = accept4(A.lst.fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct accepting *ac = xcalloc(1, sizeof(*ac));
        ac->fd = fd;
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, accept_main, ac) != 0) {
            close(fd);
            free(ac);
        }
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

/* "unix:PATH" / "tcp:HOST:PORT" as the -H listener parser spells them. */
static char *
listener_form(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0 && strncmp(spec, "unix://", 7) != 0)
        return xasprintf("unix://%s", spec + 5);
    if (strncmp(spec, "tcp:", 4) == 0 && strncmp(spec, "tcp://", 6) != 0)
        return xasprintf("tcp://%s", spec + 4);
    return xstrdup(spec);
}

static int
listener_start(struct err **err)
{
    cleanup_free char *form = listener_form(A.listen_spec);
    if (listener_parse(form, &A.lst, err) < 0 || listener_open(&A.lst, err) < 0)
        return err_wrap(err, "agent callback listener %s", A.listen_spec);
    free(A.callback_url);
    free(A.callback_dir);
    A.callback_url = A.callback_dir = NULL;
    if (A.lst.kind == LISTENER_UNIX) {
        chmod(A.lst.path, 0666); /* agents run as any user: the token is what admits them */
        const char *slash = strrchr(A.lst.path, '/');
        A.callback_dir = slash != NULL && slash != A.lst.path
                             ? xasprintf("%.*s", (int)(slash - A.lst.path), A.lst.path)
                             : xstrdup("/");
        A.callback_url = xasprintf("unix:" PROCESS_WRAP_CALLBACK_DIR "/%s",
                                   slash != NULL ? slash + 1 : A.lst.path);
    } else {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char host[NI_MAXHOST] = "127.0.0.1", port[NI_MAXSERV] = "0";
        if (getsockname(A.lst.fd, (struct sockaddr *)&ss, &sl) == 0)
            getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
                        NI_NUMERICHOST | NI_NUMERICSERV);
        /* A local container shares the host's network: a wildcard address is reached on
         * loopback. */
        if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
            snprintf(host, sizeof(host), "127.0.0.1");
        A.callback_url = strchr(host, ':') != NULL ? xasprintf("tcp:[%s]:%s", host, port)
                                                   : xasprintf("tcp:%s:%s", host, port);
    }
    if (pipe2(A.wake, O_CLOEXEC) < 0 ||
        pthread_create(&A.accept_thread, NULL, listen_main, NULL) != 0) {
        listener_close(&A.lst);
        return err_make(err, ERR_INTERNAL, errno, "agent callback listener thread");
    }
    A.listening = true;
    LOG_INFO("agent callback listener on %s (agents dial %s)", A.listen_spec, A.callback_url);
    return 0;
}

static void
listener_stop(void)
{
    if (!A.listening)
        return;
    (void)!write(A.wake[1], "x", 1);
    pthread_join(A.accept_thread, NULL);
    close(A.wake[0]);
    close(A.wake[1]);
    A.wake[0] = A.wake[1] = -1;
    listener_close(&A.lst);
    A.listening = false;
}

int
agent_driver_reopen_listener(struct err **err)
{
    if (A.listen_spec == NULL)
        return 0;
    listener_stop();
    /* Every reverse connection goes with the listener: the agents dial again. */
    pthread_mutex_lock(&A.mu);
    struct agent_client *drop[64];
    size_t n = 0;
    for (struct actr *a = A.list; a != NULL && n < 64; a = a->next)
        if (a->reverse && a->client != NULL)
            drop[n++] = agent_client_ref(a->client);
    pthread_mutex_unlock(&A.mu);
    for (size_t i = 0; i < n; i++) {
        agent_client_shutdown(drop[i]); /* on_lost is not called: mark them here */
        agent_client_unref(drop[i]);
    }
    pthread_mutex_lock(&A.mu);
    for (struct actr *a = A.list; a != NULL; a = a->next)
        if (a->reverse && a->client != NULL && !agent_client_is_alive(a->client))
            a->lost = true;
    pthread_cond_broadcast(&A.cv);
    pthread_mutex_unlock(&A.mu);
    return listener_start(err);
}

/* ---- start-up ---- */

static char *
find_agent_binary(void)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            char *p = xasprintf("%s/sockerless-agent", self);
            if (access(p, X_OK) == 0)
                return p;
            free(p);
        }
    }
    const char *path = getenv("PATH");
    if (path == NULL)
        return NULL;
    cleanup_free char *dirs = xstrdup(path);
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
        char *p = xasprintf("%s/sockerless-agent", d);
        if (*d == '/' && access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

static int
copy_binary(const char *from, const char *to, struct err **err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return err_make(err, ERR_INTERNAL, errno, "%s", from);
    cleanup_free char *tmp = xasprintf("%s.tmp", to);
    unlink(tmp);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    int rc = out < 0 ? err_make(err, ERR_INTERNAL, errno, "%s", tmp) : 0;
    char buf[64 * 1024];
    ssize_t n;
    while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || fsutil_write_all(out, buf, (size_t)n) < 0)
            rc = err_make(err, ERR_INTERNAL, errno, "copy to %s", tmp);
    }
    close(in);
    if (out >= 0 && close(out) < 0 && rc == 0)
        rc = err_make(err, ERR_INTERNAL, errno, "%s", tmp);
    if (rc == 0 && (chmod(tmp, 0755) < 0 || rename(tmp, to) < 0))
        rc = err_make(err, ERR_INTERNAL, errno, "%s", to);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int
agent_driver_init(const struct agent_driver_config *cfg, struct err **err)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&A.cv, &ca);
    pthread_condattr_destroy(&ca);
    A.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 15000;
    if (cfg->mode != AGENT_DRIVER_OFF) {
        if (driver_process.ready == NULL || !driver_process.ready())
            return err_make(err, ERR_UNSUPPORTED, 0,
                            "--agent-mode needs the process driver, which cannot run here");
        cleanup_free char *found = cfg->binary != NULL ? xstrdup(cfg->binary) : find_agent_binary();
        if (found == NULL || access(found, X_OK) < 0)
            return err_make(err, ERR_NOT_FOUND, 0,
                            "sockerless-agent not found (%s): give --agent-binary",
                            found ? found : "next to sockerlessd or in $PATH");
        /* Containers bind-mount a copy of the daemon's own: replacing the installed binary
         * (an upgrade, a rebuild) never leaves a container with a half-written agent. */
        A.binary = xasprintf("%s/sockerless-agent", process_driver_run_dir());
        if (copy_binary(found, A.binary, err) < 0)
            return err_wrap(err, "copying %s", found);
    }
    if (cfg->listen != NULL)
        A.listen_spec = xstrdup(cfg->listen);
    else if (cfg->mode == AGENT_DRIVER_REVERSE)
        A.listen_spec = xasprintf("unix:%s/cb/agent.sock", process_driver_run_dir());
    if (A.listen_spec != NULL && strncmp(A.listen_spec, "unix:", 5) == 0) {
        cleanup_free char *dir = xstrdup(A.listen_spec + 5);
        char *slash = strrchr(dir, '/');
        if (slash != NULL && slash != dir) {
            *slash = '\0';
            if (fsutil_mkdir_p(dir, 0755, err) < 0)
                return -1;
        }
    }
    if (A.listen_spec != NULL && listener_start(err) < 0)
        return -1;
    A.mode = cfg->mode;
    if (A.mode != AGENT_DRIVER_OFF)
        LOG_INFO("agent driver: %s mode, agent %s, dead after %d ms of silence",
                 A.mode == AGENT_DRIVER_FORWARD ? "forward" : "reverse", A.binary, A.timeout_ms);
    return 0;
}

const char *
agent_driver_mode_name(void)
{
    switch (A.mode) {
    case AGENT_DRIVER_FORWARD:
        return "forward";
    case AGENT_DRIVER_REVERSE:
        return "reverse";
    case AGENT_DRIVER_OFF:
        break;
    }
    return A.listening ? "off" : NULL;
}

const char *
agent_driver_callback(void)
{
    return A.listening ? A.listen_spec : NULL;
}

void
agent_driver_fini(void)
{
    listener_stop();
    if (A.binary != NULL && A.mode != AGENT_DRIVER_OFF)
        unlink(A.binary); /* the daemon's copy */
    free(A.binary);
    free(A.listen_spec);
    free(A.callback_url);
    free(A.callback_dir);
    A.binary = A.listen_spec = A.callback_url = A.callback_dir = NULL;
    A.mode = AGENT_DRIVER_OFF;
}
