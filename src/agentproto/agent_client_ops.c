/* The operations of agent_client.h: main process, execs, stat and archives. */
#include "agentproto/agent_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentproto/client_internal.h"
#include "base/strv.h"
#include "base/xalloc.h"

enum { IO_CHUNK = 65536 };

/* Waits until s got its REPLY (want_reply) or ended, or the connection died. c->mu held.
 * Returns 0, or -1 with the session's error or the connection's. */
static int
await(struct agent_client *c, struct csess *s, bool want_reply, struct err **err)
{
    while (!s->ended && !(want_reply && s->got_reply) && !c->dead)
        client_wait(c, s);
    if (s->error != NULL) {
        int rc = err_make(err, s->error->kind, s->error->errnum, "%s", s->error->msg);
        return rc;
    }
    if (s->ended || (want_reply && s->got_reply))
        return 0;
    return client_lost_err(c, err);
}

/* One request: OPEN obj (consumed) on a new session, wait for END; *out gets its payload (a
 * new reference) when out is not NULL. */
static int
request(struct agent_client *c, json_t *obj, json_t **out, struct err **err)
{
    pthread_mutex_lock(&c->mu);
    int rc;
    if (c->dead) {
        rc = client_lost_err(c, err);
    } else {
        struct csess *s = client_session_open(c);
        client_send_json(c, AP_OPEN, s->id, obj);
        rc = await(c, s, false, err);
        if (rc == 0 && out != NULL)
            *out = json_incref(s->end);
        client_session_close(c, s);
    }
    pthread_mutex_unlock(&c->mu);
    json_decref(obj);
    return rc;
}

int
agent_client_start(struct agent_client *c, const struct agent_start *s, pid_t *pid_out,
                   struct err **err)
{
    json_t *res = NULL;
    json_t *o = json_pack("{s:s, s:b, s:i, s:i, s:b}", "op", "start", "tty", s->tty, "height",
                          s->height, "width", s->width, "stdin", s->open_stdin);
    if (request(c, o, &res, err) < 0)
        return err_wrap(err, "start");
    int64_t pid = 0;
    int rc = frame_get_int(res, "pid", false, 1, INT32_MAX, &pid, err);
    json_decref(res);
    if (rc == 0 && pid_out != NULL)
        *pid_out = (pid_t)pid;
    return rc;
}

/* Sends len bytes as DATA on s within its credit, waiting for credit. c->mu held. */
static int
send_data(struct agent_client *c, struct csess *s, int stream, const char *data, size_t len,
          struct err **err)
{
    while (len > 0) {
        while (s->send_credit <= 0 && !s->ended && !c->dead)
            client_wait(c, s);
        if (c->dead)
            return client_lost_err(c, err);
        if (s->ended)
            return err_make(err, ERR_CONFLICT, 0, "the session is over");
        size_t n = len < (size_t)s->send_credit ? len : (size_t)s->send_credit;
        if (n > AP_MAX_PAYLOAD)
            n = AP_MAX_PAYLOAD;
        client_send(c, AP_DATA, (uint8_t)stream, s->id, data, n);
        s->send_credit -= (int64_t)n;
        data += n;
        len -= n;
    }
    return 0;
}

int
agent_client_main_stdin_write(struct agent_client *c, const char *data, size_t len,
                              struct err **err)
{
    pthread_mutex_lock(&c->mu);
    int rc = send_data(c, &c->main, AGENT_STREAM_STDIN, data, len, err);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int
agent_client_main_stdin_close(struct agent_client *c, struct err **err)
{
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (c->dead)
        rc = client_lost_err(c, err);
    else
        client_send(c, AP_EOF, AGENT_STREAM_STDIN, AP_MAIN_SESSION, NULL, 0);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int
agent_client_signal(struct agent_client *c, int signo, struct err **err)
{
    json_t *o = json_pack("{s:s, s:i}", "op", "signal", "signal", signo);
    return request(c, o, NULL, err) < 0 ? err_wrap(err, "signal %d", signo) : 0;
}

int
agent_client_resize(struct agent_client *c, int height, int width, struct err **err)
{
    json_t *o = json_pack("{s:s, s:i, s:i}", "op", "resize", "height", height, "width", width);
    return request(c, o, NULL, err) < 0 ? err_wrap(err, "resize") : 0;
}

int
agent_client_wait_main(struct agent_client *c, int timeout_ms, struct agent_exit *out,
                       struct err **err)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    while (!c->main_exit_told && !c->dead && rc == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&c->main.cond, &c->mu);
        else if (pthread_cond_timedwait(&c->main.cond, &c->mu, &until) == ETIMEDOUT)
            rc = -1;
    }
    /* An exit that arrived before the connection died still counts. */
    if (c->main_exited) {
        *out = c->main_exit;
        rc = 0;
    } else if (rc < 0) {
        err_make(err, ERR_UNAVAILABLE, ETIMEDOUT, "the main process is still running");
    } else {
        rc = client_lost_err(c, err);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* --- exec ----------------------------------------------------------------------------------- */

struct agent_exec {
    struct agent_client *c;
    struct csess *s;
    bool tty;
    bool attach_stdin;
    const struct agent_exec_io *io;
    bool stdin_stop;
};

/* Opens a streaming session with OPEN obj (consumed) and waits for its REPLY. c->mu held. */
static struct csess *
open_stream(struct agent_client *c, json_t *obj, struct err **err)
{
    if (c->dead) {
        json_decref(obj);
        client_lost_err(c, err);
        return NULL;
    }
    struct csess *s = client_session_open(c);
    client_send_json(c, AP_OPEN, s->id, obj);
    json_decref(obj);
    if (await(c, s, true, err) < 0 || !s->got_reply) {
        if (err != NULL && *err == NULL)
            err_make(err, ERR_INTERNAL, 0, "the agent ended the session without answering");
        client_session_close(c, s);
        return NULL;
    }
    return s;
}

struct agent_exec *
agent_client_exec_open(struct agent_client *c, const struct agent_exec_spec *spec, pid_t *pid_out,
                       struct err **err)
{
    if (spec->argv == NULL || spec->argv[0] == NULL) {
        err_make(err, ERR_INVALID, 0, "exec without a command");
        return NULL;
    }
    json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:s, s:b, s:i, s:i, s:b}", "op", "exec", "argv",
                          strv_json(spec->argv), "env", strv_json(spec->env), "workdir",
                          spec->workdir ? spec->workdir : "", "user", spec->user ? spec->user : "",
                          "tty", spec->tty, "height", spec->height, "width", spec->width, "stdin",
                          spec->attach_stdin);
    if (o == NULL) {
        err_make(err, ERR_INVALID, 0, "exec arguments are not valid UTF-8");
        return NULL;
    }
    pthread_mutex_lock(&c->mu);
    struct csess *s = open_stream(c, o, err);
    int64_t pid = 0;
    if (s != NULL && frame_get_int(s->reply, "pid", false, 1, INT32_MAX, &pid, err) < 0) {
        client_session_close(c, s);
        s = NULL;
    }
    if (s != NULL)
        c->refs++;
    pthread_mutex_unlock(&c->mu);
    if (s == NULL)
        return NULL;
    struct agent_exec *x = xcalloc(1, sizeof(*x));
    x->c = c;
    x->s = s;
    x->tty = spec->tty;
    x->attach_stdin = spec->attach_stdin;
    if (pid_out != NULL)
        *pid_out = (pid_t)pid;
    return x;
}

static void *
exec_stdin_thread(void *arg)
{
    struct agent_exec *x = arg;
    struct agent_client *c = x->c;
    char *buf = xmalloc(IO_CHUNK);
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (x->s->send_credit <= 0 && !x->s->ended && !c->dead && !x->stdin_stop)
            client_wait(c, x->s);
        if (x->s->ended || c->dead || x->stdin_stop)
            break;
        size_t n = (size_t)x->s->send_credit < IO_CHUNK ? (size_t)x->s->send_credit : IO_CHUNK;
        pthread_mutex_unlock(&c->mu);
        ssize_t r = x->io->read_stdin(x->io->ctx, buf, n);
        pthread_mutex_lock(&c->mu);
        if (x->s->ended || c->dead)
            break;
        if (r <= 0) {
            client_send(c, AP_EOF, AGENT_STREAM_STDIN, x->s->id, NULL, 0);
            break;
        }
        client_send(c, AP_DATA, AGENT_STREAM_STDIN, x->s->id, buf, (size_t)r);
        x->s->send_credit -= r;
    }
    pthread_mutex_unlock(&c->mu);
    free(buf);
    return NULL;
}

/* Delivers s's data to write until END: write -1 cancels the session (later data is
 * dropped). c->mu held; released around write. Returns 0 at END, -1 on error. */
static int
pump_out(struct agent_client *c, struct csess *s, int (*write)(void *, int, const char *, size_t),
         void *ctx, bool *write_failed, struct err **err)
{
    for (;;) {
        struct chunk *ch = client_pop(s);
        if (ch != NULL) {
            int rc = 0;
            if (!s->cancelled) {
                pthread_mutex_unlock(&c->mu);
                rc = write(ctx, ch->stream, ch->data, ch->len);
                pthread_mutex_lock(&c->mu);
            }
            if (rc < 0 && !s->cancelled) {
                *write_failed = true;
                if (!s->ended)
                    client_send(c, AP_CANCEL, 0, s->id, NULL, 0);
                s->cancelled = true;
                struct chunk *rest;
                while ((rest = client_pop(s)) != NULL)
                    free(rest);
            }
            client_grant(c, s, ch->len);
            free(ch);
            continue;
        }
        if (s->ended)
            return s->error != NULL
                       ? err_make(err, s->error->kind, s->error->errnum, "%s", s->error->msg)
                       : 0;
        if (c->dead)
            return client_lost_err(c, err);
        client_wait(c, s);
    }
}

int
agent_exec_run(struct agent_exec *x, const struct agent_exec_io *io, struct err **err)
{
    struct agent_client *c = x->c;
    x->io = io;
    pthread_t th;
    bool stdin_thread = x->attach_stdin && io->read_stdin != NULL;
    if (stdin_thread)
        pthread_create(&th, NULL, exec_stdin_thread, x);
    pthread_mutex_lock(&c->mu);
    bool failed = false;
    int rc = pump_out(c, x->s, io->write, io->ctx, &failed, err);
    int64_t code = -1, sig = 0;
    if (rc == 0 && (frame_get_int(x->s->end, "exit_code", false, 0, 255, &code, err) < 0 ||
                    frame_get_int(x->s->end, "signal", true, 0, 64, &sig, err) < 0))
        rc = -1;
    x->stdin_stop = true;
    pthread_cond_broadcast(&x->s->cond);
    pthread_mutex_unlock(&c->mu);
    if (stdin_thread) {
        if (io->cancel_stdin != NULL)
            io->cancel_stdin(io->ctx);
        pthread_join(th, NULL);
    }
    return rc < 0 ? -1 : (int)code;
}

int
agent_exec_resize(struct agent_exec *x, int height, int width, struct err **err)
{
    struct agent_client *c = x->c;
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (!x->tty)
        rc = err_make(err, ERR_CONFLICT, 0, "the exec has no tty");
    else if (x->s->ended)
        rc = err_make(err, ERR_CONFLICT, 0, "the exec has ended");
    else if (c->dead)
        rc = client_lost_err(c, err);
    else {
        json_t *o = json_pack("{s:s, s:i, s:i}", "op", "resize", "height", height, "width", width);
        client_send_json(c, AP_CONTROL, x->s->id, o);
        json_decref(o);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void
agent_exec_free(struct agent_exec *x)
{
    if (x == NULL)
        return;
    struct agent_client *c = x->c;
    pthread_mutex_lock(&c->mu);
    if (!x->s->ended && !x->s->cancelled)
        client_send(c, AP_CANCEL, 0, x->s->id, NULL, 0);
    client_session_close(c, x->s);
    pthread_mutex_unlock(&c->mu);
    free(x);
    agent_client_unref(c);
}

/* --- files ---------------------------------------------------------------------------------- */

static int
parse_stat(json_t *o, struct agent_stat *out, struct err **err)
{
    const char *name = NULL, *link = NULL;
    int64_t size = 0, mode = 0, mtime = 0;
    if (frame_get_str(o, "name", false, sizeof(out->name) - 1, &name, err) < 0 ||
        frame_get_int(o, "size", false, INT64_MIN, INT64_MAX, &size, err) < 0 ||
        frame_get_int(o, "mode", false, 0, UINT32_MAX, &mode, err) < 0 ||
        frame_get_int(o, "mtime_ns", false, INT64_MIN, INT64_MAX, &mtime, err) < 0 ||
        frame_get_str(o, "link_target", true, sizeof(out->link_target) - 1, &link, err) < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->link_target, sizeof(out->link_target), "%s", link ? link : "");
    out->size = size;
    out->mode = (uint32_t)mode;
    out->mtime_ns = mtime;
    return 0;
}

int
agent_client_stat(struct agent_client *c, const char *path, struct agent_stat *out,
                  struct err **err)
{
    json_t *res = NULL;
    json_t *o = json_pack("{s:s, s:s}", "op", "stat", "path", path);
    if (o == NULL)
        return err_make(err, ERR_INVALID, 0, "path is not valid UTF-8");
    if (request(c, o, &res, err) < 0)
        return -1;
    int rc = parse_stat(res, out, err);
    json_decref(res);
    return rc;
}

struct sink_adapter {
    const struct agent_archive_sink *sink;
};

static int
sink_write(void *ctx, int stream, const char *data, size_t len)
{
    (void)stream;
    struct sink_adapter *a = ctx;
    return a->sink->write(a->sink->ctx, data, len);
}

int
agent_client_archive_get(struct agent_client *c, const char *path,
                         const struct agent_archive_sink *sink, struct err **err)
{
    json_t *o = json_pack("{s:s, s:s}", "op", "archive_get", "path", path);
    if (o == NULL)
        return err_make(err, ERR_INVALID, 0, "path is not valid UTF-8");
    pthread_mutex_lock(&c->mu);
    struct csess *s = open_stream(c, o, err);
    if (s == NULL) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    struct agent_stat st;
    int rc = parse_stat(s->reply, &st, err);
    if (rc == 0 && sink->on_stat != NULL) {
        pthread_mutex_unlock(&c->mu);
        rc = sink->on_stat(sink->ctx, &st);
        pthread_mutex_lock(&c->mu);
        if (rc < 0)
            err_make(err, ERR_UNAVAILABLE, 0, "archive reader gone");
    }
    bool failed = false;
    struct sink_adapter ad = {sink};
    if (rc == 0)
        rc = pump_out(c, s, sink_write, &ad, &failed, err);
    if (rc == 0 && failed)
        rc = err_make(err, ERR_UNAVAILABLE, 0, "archive reader gone");
    if (!s->ended && !s->cancelled && !c->dead)
        client_send(c, AP_CANCEL, 0, s->id, NULL, 0);
    client_session_close(c, s);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

struct fd_sink {
    int fd;
    struct agent_stat *st;
};

static int
fd_on_stat(void *ctx, const struct agent_stat *st)
{
    struct fd_sink *f = ctx;
    if (f->st != NULL)
        *f->st = *st;
    return 0;
}

static int
fd_write(void *ctx, const char *data, size_t len)
{
    struct fd_sink *f = ctx;
    while (len > 0) {
        ssize_t n = write(f->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int
agent_client_archive_get_fd(struct agent_client *c, const char *path, int fd,
                            struct agent_stat *st_out, struct err **err)
{
    struct fd_sink f = {fd, st_out};
    struct agent_archive_sink sink = {&f, fd_on_stat, fd_write};
    return agent_client_archive_get(c, path, &sink, err);
}

/* Sends what read yields on s within its credit, then EOF. c->mu held. */
static int
put_stream(struct agent_client *c, struct csess *s,
           ssize_t (*read)(void *ctx, char *buf, size_t len), void *read_ctx, struct err **err)
{
    char *buf = xmalloc(IO_CHUNK);
    int rc = 0;
    for (;;) {
        while (s->send_credit <= 0 && !s->ended && !c->dead)
            client_wait(c, s);
        if (s->ended || c->dead)
            break;
        size_t n = (size_t)s->send_credit < IO_CHUNK ? (size_t)s->send_credit : IO_CHUNK;
        pthread_mutex_unlock(&c->mu);
        ssize_t r = read(read_ctx, buf, n);
        pthread_mutex_lock(&c->mu);
        if (s->ended || c->dead)
            break;
        if (r < 0) {
            client_send(c, AP_CANCEL, 0, s->id, NULL, 0);
            s->cancelled = true;
            rc = err_make(err, ERR_INVALID, 0, "archive read failed");
            break;
        }
        if (r == 0) {
            client_send(c, AP_EOF, AGENT_STREAM_STDIN, s->id, NULL, 0);
            break;
        }
        client_send(c, AP_DATA, AGENT_STREAM_STDIN, s->id, buf, (size_t)r);
        s->send_credit -= r;
    }
    free(buf);
    return rc;
}

int
agent_client_archive_put(struct agent_client *c, const char *path,
                         const struct agent_put_opts *opts,
                         ssize_t (*read)(void *ctx, char *buf, size_t len), void *read_ctx,
                         struct err **err)
{
    struct agent_put_opts def = {0};
    if (opts == NULL)
        opts = &def;
    json_t *o = json_pack("{s:s, s:s, s:b}", "op", "archive_put", "path", path,
                          "no_overwrite_dir_non_dir", opts->no_overwrite_dir_non_dir);
    if (o == NULL)
        return err_make(err, ERR_INVALID, 0, "path is not valid UTF-8");
    if (opts->chown) {
        json_object_set_new(o, "uid", json_integer(opts->uid));
        json_object_set_new(o, "gid", json_integer(opts->gid));
    }
    pthread_mutex_lock(&c->mu);
    struct csess *s = open_stream(c, o, err);
    if (s == NULL) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    int rc = put_stream(c, s, read, read_ctx, err);
    if (rc == 0)
        rc = await(c, s, false, err);
    client_session_close(c, s);
    pthread_mutex_unlock(&c->mu);
    return rc;
}
