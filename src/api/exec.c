/* Exec endpoints: create, start (hijacked, or detached), inspect, resize. */
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

#include "api/api.h"
#include "api/decode.h"
#include "api/jsonx.h"
#include "api/mux.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"

int
api_exec_create_decode(json_t *body, struct exec_spec *spec, struct err **err)
{
    memset(spec, 0, sizeof(*spec));
    if (jsonx_strv(body, "Cmd", true, &spec->cmd, err) < 0 ||
        jsonx_strv(body, "Env", false, &spec->env, err) < 0 ||
        jsonx_string(body, "WorkingDir", &spec->working_dir, err) < 0 ||
        jsonx_string(body, "User", &spec->user, err) < 0 ||
        jsonx_string(body, "DetachKeys", &spec->detach_keys, err) < 0 ||
        jsonx_bool(body, "Tty", &spec->tty, err) < 0 ||
        jsonx_bool(body, "Privileged", &spec->privileged, err) < 0 ||
        jsonx_bool(body, "AttachStdin", &spec->attach_stdin, err) < 0 ||
        jsonx_bool(body, "AttachStdout", &spec->attach_stdout, err) < 0 ||
        jsonx_bool(body, "AttachStderr", &spec->attach_stderr, err) < 0 ||
        jsonx_console_size(body, "ConsoleSize", &spec->console_height, &spec->console_width, err) <
            0)
        return -1;
    return 0;
}

struct http_response *
api_exec_create(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    json_t *body = api_body_object(req, &err);
    if (body == NULL)
        return api_error_response(&err);
    struct exec_spec spec;
    if (api_exec_create_decode(body, &spec, &err) < 0) {
        json_decref(body);
        exec_spec_fini(&spec);
        return api_error_response(&err);
    }
    json_decref(body);
    char id[ID_LEN + 1];
    if (engine_exec_create(api->eng, http_param(req, "id"), &spec, id, &err) < 0)
        return api_error_response(&err);
    return http_response_json(201, json_pack("{s:s}", "Id", id));
}

struct exec_session {
    struct engine *eng;
    struct exec *e;
    struct http_hijack *h;
    bool tty;
};

static int
session_write(void *ctx, int stream, const char *data, size_t len)
{
    struct exec_session *s = ctx;
    if (len == 0)
        return 0;
    if (!(stream == 2 ? s->e->attach_stderr : s->e->attach_stdout))
        return 0;
    if (!s->tty) {
        unsigned char hdr[MUX_HEADER_LEN];
        mux_header(stream == 2 ? MUX_STDERR : MUX_STDOUT, (uint32_t)len, hdr);
        if (http_hijack_write(s->h, hdr, sizeof(hdr)) < 0)
            return -1;
    }
    return http_hijack_write(s->h, data, len);
}

static ssize_t
session_read(void *ctx, char *buf, size_t len)
{
    struct exec_session *s = ctx;
    if (!s->e->attach_stdin)
        return 0;
    return http_hijack_read(s->h, buf, len);
}

/* Ends a read_stdin blocked in the driver's input thread: the command is over. */
static void
session_cancel_stdin(void *ctx)
{
    struct exec_session *s = ctx;
    shutdown(http_hijack_fd(s->h), SHUT_RD);
}

static void
exec_session_run(struct http_hijack *h, void *ctx)
{
    struct exec_session *s = ctx;
    s->h = h;
    struct exec_io io = {.ctx = s,
                         .write = session_write,
                         .read_stdin = session_read,
                         .cancel_stdin = session_cancel_stdin};
    engine_exec_run(s->eng, s->e, &io);
    /* The exit code is recorded; now the client may see EOF (compat-notes 9). */
    http_hijack_close_write(h);
}

static void
exec_session_free(void *ctx)
{
    struct exec_session *s = ctx;
    exec_unref(s->e);
    free(s);
}

static int
detached_write(void *ctx, int stream, const char *data, size_t len)
{
    (void)ctx;
    (void)stream;
    (void)data;
    (void)len;
    return 0; /* detached: nobody reads the output */
}

struct detached_job {
    struct engine *eng;
    struct exec *e;
};

static void *
detached_main(void *arg)
{
    struct detached_job *j = arg;
    struct exec_io io = {.ctx = NULL, .write = detached_write, .read_stdin = exec_io_no_stdin};
    engine_exec_run(j->eng, j->e, &io);
    exec_unref(j->e);
    struct engine *eng = j->eng;
    free(j);
    engine_job_end(eng);
    return NULL;
}

struct exec_error {
    char *text;
    bool tty;
};

static void
exec_error_run(struct http_hijack *h, void *ctx)
{
    struct exec_error *x = ctx;
    size_t len = strlen(x->text);
    if (!x->tty) {
        unsigned char hdr[MUX_HEADER_LEN];
        mux_header(MUX_STDOUT, (uint32_t)len, hdr);
        if (http_hijack_write(h, hdr, sizeof(hdr)) < 0)
            return;
    }
    if (http_hijack_write(h, x->text, len) == 0)
        http_hijack_close_write(h);
}

static void
exec_error_free(void *ctx)
{
    struct exec_error *x = ctx;
    free(x->text);
    free(x);
}

struct http_response *
api_exec_start(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    bool detach = false, tty = false;
    int height = 0, width = 0;
    if (req->body.len > 0) {
        json_t *body = api_body_object(req, &err);
        if (body == NULL || jsonx_bool(body, "Detach", &detach, &err) < 0 ||
            jsonx_bool(body, "Tty", &tty, &err) < 0 ||
            jsonx_console_size(body, "ConsoleSize", &height, &width, &err) < 0) {
            json_decref(body);
            return api_error_response(&err);
        }
        json_decref(body);
    }
    struct exec *e = engine_exec_get(api->eng, http_param(req, "id"), &err);
    if (e == NULL)
        return api_error_response(&err);
    if (height > 0 && width > 0) { /* before the claim: the process starts with its size */
        engine_lock(api->eng);
        e->console_height = height;
        e->console_width = width;
        engine_unlock(api->eng);
    }
    if (engine_exec_claim(api->eng, e, &err) < 0) {
        if (detach) {
            exec_unref(e);
            return api_error_response(&err);
        }
        /* dockerd hijacks an attached start before it finds out, so the error travels in-band
         * on stdout, followed by \r\n (checked against dockerd 20.10). */
        struct exec_error *x = xcalloc(1, sizeof(*x));
        x->text = xasprintf("%s\r\n", err->msg);
        x->tty = e->tty || tty;
        err_clear(&err);
        exec_unref(e);
        return http_response_hijack(x->tty ? "application/vnd.docker.raw-stream"
                                           : "application/vnd.docker.multiplexed-stream",
                                    exec_error_run, x, exec_error_free);
    }
    if (detach) {
        /* dockerd answers a detached start once the process runs, or with the reason it could
         * not be started (a 400 for a missing command, as the attached start's exit code 126). */
        struct detached_job *j = xcalloc(1, sizeof(*j));
        j->eng = api->eng;
        j->e = e;
        exec_ref(e);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        engine_job_begin(api->eng);
        if (pthread_create(&t, &attr, detached_main, j) != 0)
            detached_main(j);
        pthread_attr_destroy(&attr);
        int rc = engine_exec_await_start(api->eng, e, &err);
        exec_unref(e);
        if (rc < 0)
            return api_error_response(&err);
        return http_response_data(200, NULL, NULL, 0);
    }
    struct exec_session *s = xcalloc(1, sizeof(*s));
    s->eng = api->eng;
    s->e = e;
    s->tty = e->tty || tty;
    return http_response_hijack(s->tty ? "application/vnd.docker.raw-stream"
                                       : "application/vnd.docker.multiplexed-stream",
                                exec_session_run, s, exec_session_free);
}

struct http_response *
api_exec_inspect(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    struct exec *e = engine_exec_get(api->eng, http_param(req, "id"), &err);
    if (e == NULL)
        return api_error_response(&err);
    engine_lock(api->eng);
    json_t *args = strv_json(e->cmd + 1);
    json_t *o =
        json_pack("{s:b, s:s, s:s, s:o, s:s, s:b, s:b, s:b, s:{s:o, s:s, s:b, s:b}, s:b, s:i}",
                  "CanRemove", 0, "ContainerID", e->c->id, "DetachKeys", e->detach_keys, "ExitCode",
                  e->started && !e->running ? json_integer(e->exit_code) : json_null(), "ID", e->id,
                  "OpenStderr", e->attach_stderr, "OpenStdin", e->attach_stdin, "OpenStdout",
                  e->attach_stdout, "ProcessConfig", "arguments", args, "entrypoint", e->cmd[0],
                  "privileged", e->privileged, "tty", e->tty, "Running", e->running, "Pid", e->pid);
    /* Go omits an empty user (omitempty). */
    if (e->user != NULL && *e->user != '\0')
        json_object_set_new(json_object_get(o, "ProcessConfig"), "user", json_string(e->user));
    engine_unlock(api->eng);
    exec_unref(e);
    return http_response_json(200, o);
}

struct http_response *
api_exec_resize(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    int height, width;
    if (api_check_resize(req, &height, &width, &err) < 0)
        return api_error_response(&err);
    struct exec *e = engine_exec_get(api->eng, http_param(req, "id"), &err);
    if (e == NULL)
        return api_error_response(&err);
    /* A driver without terminals (synthetic) has nothing to resize. */
    int rc = 0;
    if (e->c->driver->exec_resize != NULL)
        rc = e->c->driver->exec_resize(api->eng, e, height, width, &err);
    exec_unref(e);
    if (rc < 0)
        return api_error_response(&err);
    return http_response_data(200, NULL, NULL, 0);
}
