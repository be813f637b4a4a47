/* Execs: commands run in a container through its driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"

void
exec_spec_fini(struct exec_spec *s)
{
    strv_free(s->cmd);
    strv_free(s->env);
    free(s->working_dir);
    free(s->user);
    free(s->detach_keys);
    memset(s, 0, sizeof(*s));
}

void
exec_ref(struct exec *e)
{
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
}

void
exec_unref(struct exec *e)
{
    if (e == NULL || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    container_unref(e->c);
    strv_free(e->cmd);
    strv_free(e->env);
    free(e->working_dir);
    free(e->user);
    free(e->detach_keys);
    err_clear(&e->start_err);
    free(e);
}

/* "sh -c echo hi": the command as exec events show it. */
static char *
command_line(char *const *cmd)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    for (size_t i = 0; cmd[i] != NULL; i++) {
        if (i > 0)
            buf_append(&b, " ", 1, NULL);
        buf_append(&b, cmd[i], strlen(cmd[i]), NULL);
    }
    return buf_take(&b, NULL);
}

static void
emit_exec(struct engine *eng, const struct exec *e, const char *what, const char *exit_code)
{
    cleanup_free char *line = command_line(e->cmd);
    cleanup_free char *action = xasprintf("%s: %s", what, line);
    struct event *ev = event_new("container", action, e->c->id);
    for (size_t i = 0; i < e->c->spec.labels.n; i++)
        event_add_attr(ev, e->c->spec.labels.keys[i], e->c->spec.labels.values[i]);
    event_add_attr(ev, "execID", e->id);
    if (exit_code != NULL)
        event_add_attr(ev, "exitCode", exit_code);
    event_add_attr(ev, "image", e->c->spec.image);
    event_add_attr(ev, "name", e->c->name + 1);
    events_publish(eng->events, ev);
}

int
engine_exec_create(struct engine *eng, const char *ref, struct exec_spec *spec,
                   char id_out[ID_LEN + 1], struct err **err)
{
    int rc = -1;
    struct exec *e = NULL;
    if (spec->cmd == NULL || spec->cmd[0] == NULL) {
        exec_spec_fini(spec);
        return err_make(err, ERR_INVALID, 0, "No exec command specified");
    }
    engine_lock(eng);
    struct container *c = store_find_container(&eng->store, ref, err);
    if (c == NULL)
        goto out;
    if (c->state.status == CONTAINER_PAUSED) {
        err_make(err, ERR_CONFLICT, 0, "Container %s is paused, unpause the container before exec",
                 c->id);
        goto out;
    }
    if (!container_is_running(c) && !c->driver->exec_when_stopped) {
        err_make(err, ERR_CONFLICT, 0, "Container %s is not running", c->id);
        goto out;
    }
    e = xcalloc(1, sizeof(*e));
    e->refs = 1;
    id_generate(e->id);
    e->c = c;
    container_ref(c);
    e->cmd = spec->cmd;
    e->env = strv_env_merge(c->spec.env, spec->env);
    e->working_dir = spec->working_dir && *spec->working_dir
                         ? xstrdup(spec->working_dir)
                         : xstrdup(c->spec.working_dir ? c->spec.working_dir : "");
    e->user =
        spec->user && *spec->user ? xstrdup(spec->user) : xstrdup(c->spec.user ? c->spec.user : "");
    e->detach_keys = spec->detach_keys ? xstrdup(spec->detach_keys) : xstrdup("");
    e->tty = spec->tty;
    e->console_height = spec->console_height;
    e->console_width = spec->console_width;
    e->privileged = spec->privileged;
    e->attach_stdin = spec->attach_stdin;
    e->attach_stdout = spec->attach_stdout;
    e->attach_stderr = spec->attach_stderr;
    spec->cmd = NULL;
    map_put(&eng->execs, e->id, e, NULL);
    memcpy(id_out, e->id, ID_LEN + 1);
    emit_exec(eng, e, "exec_create", NULL);
    rc = 0;
out:
    engine_unlock(eng);
    exec_spec_fini(spec);
    return rc;
}

struct exec *
engine_exec_get(struct engine *eng, const char *id, struct err **err)
{
    engine_lock(eng);
    struct exec *e = map_get(&eng->execs, id);
    if (e != NULL)
        exec_ref(e);
    engine_unlock(eng);
    if (e == NULL)
        err_make(err, ERR_NOT_FOUND, 0, "No such exec instance: %s", id);
    return e;
}

int
engine_exec_claim(struct engine *eng, struct exec *e, struct err **err)
{
    engine_lock(eng);
    int rc = 0;
    if (e->started)
        rc = err_make(err, ERR_CONFLICT, 0,
                      e->running ? "Error: Exec command %s is already running"
                                 : "Error: Exec command %s has already run",
                      e->id);
    else if (!container_is_running(e->c) && !e->c->driver->exec_when_stopped)
        rc = err_make(err, ERR_CONFLICT, 0, "Container %s is not running", e->c->id);
    else {
        e->started = true;
        e->running = true;
        emit_exec(eng, e, "exec_start", NULL);
    }
    engine_unlock(eng);
    return rc;
}

void
engine_exec_run(struct engine *eng, struct exec *e, const struct exec_io *io)
{
    struct err *err = NULL;
    int code = e->c->driver->exec(eng, e->c, e, io, &err);
    if (code < 0) {
        /* dockerd reports a command that cannot be started with exit code 126 (a missing one
         * too) and its message on the stdout stream, ended by \r\n (dockerd 20.10). */
        if (err == NULL)
            err_make(&err, ERR_INTERNAL, 0, "exec failed");
        io->write(io->ctx, 1, err->msg, strlen(err->msg));
        io->write(io->ctx, 1, "\r\n", 2);
        code = 126;
    }
    engine_lock(eng);
    e->exit_code = code;
    e->running = false;
    e->start_err = err;
    pthread_cond_broadcast(&eng->exec_state);
    char code_s[16];
    snprintf(code_s, sizeof(code_s), "%d", code);
    emit_exec(eng, e, "exec_die", code_s);
    engine_unlock(eng);
}

void
engine_exec_started(struct engine *eng, struct exec *e, int pid)
{
    engine_lock(eng);
    e->pid = pid;
    pthread_cond_broadcast(&eng->exec_state);
    engine_unlock(eng);
}

int
engine_exec_await_start(struct engine *eng, struct exec *e, struct err **err)
{
    engine_lock(eng);
    while (e->pid == 0 && e->running)
        engine_cond_wait(eng, &eng->exec_state, NULL);
    int rc = 0;
    if (!e->running && e->start_err != NULL)
        rc = err_make(err, e->start_err->kind, 0, "%s", e->start_err->msg);
    engine_unlock(eng);
    return rc;
}
