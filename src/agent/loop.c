/* The agent's event loop: the connection (forward: accepted, reverse: dialled with backoff),
 * heartbeats, frames, signals and the processes' pipes. Single-threaded. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/strv.h"
#include "base/version.h"
#include "base/xalloc.h"

enum { MAX_POLL = 256 };

void
agent_send(struct agent *a, uint8_t type, uint8_t flags, uint32_t session, const void *p,
           size_t len)
{
    struct err *e = NULL;
    if (!a->up)
        return;
    if (wire_send(&a->w, type, flags, session, p, len, &e) < 0) {
        conn_down(a, e->msg);
        err_clear(&e);
    }
}

void
agent_send_json(struct agent *a, uint8_t type, uint32_t session, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    agent_send(a, type, 0, session, s, strlen(s));
    free(s);
}

void
agent_send_err(struct agent *a, uint32_t session, struct err *e)
{
    json_t *o = frame_err_json(e);
    agent_send_json(a, AP_ERROR, session, o);
    json_decref(o);
}

static void
exit_json(int status, int *code, int *sig)
{
    *sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    *code = *sig ? 128 + *sig : WEXITSTATUS(status);
}

/* --- sessions ----------------------------------------------------------------------------- */

static struct asess *
find_sess(struct agent *a, uint32_t id)
{
    if (id == AP_MAIN_SESSION)
        return &a->main;
    for (struct asess *s = a->sessions; s != NULL; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

static struct asess *
new_sess(struct agent *a, uint32_t id, enum asess_kind kind)
{
    struct asess *s = xmalloc(sizeof(*s));
    sess_init(s, id, kind);
    s->next = a->sessions;
    a->sessions = s;
    return s;
}

static void
free_sess(struct agent *a, struct asess *s)
{
    for (struct asess **p = &a->sessions; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    sess_fini(s);
    free(s);
}

static int
op_start(struct agent *a, json_t *o, json_t **res, struct err **err)
{
    if (a->main.pid != 0)
        return err_make(err, ERR_CONFLICT, 0, "the main process was started already");
    bool tty = false, in = false;
    int64_t h = 0, w = 0;
    if (frame_get_bool(o, "tty", &tty, err) < 0 || frame_get_bool(o, "stdin", &in, err) < 0 ||
        frame_get_int(o, "height", true, 0, 65535, &h, err) < 0 ||
        frame_get_int(o, "width", true, 0, 65535, &w, err) < 0)
        return -1;
    struct spawn_spec sp = {.argv = a->o.cmd,
                            .env = a->env,
                            .workdir = NULL,
                            .tty = tty,
                            .open_stdin = in,
                            .height = (int)h,
                            .width = (int)w};
    if (sess_spawn(a, &a->main, &sp, err) < 0)
        return -1;
    *res = json_pack("{s:i}", "pid", (int)a->main.pid);
    return 0;
}

static int
op_signal(struct agent *a, json_t *o, struct err **err)
{
    int64_t sig = 0;
    if (frame_get_int(o, "signal", false, 1, 64, &sig, err) < 0)
        return -1;
    if (a->main.pid == 0 || a->main.exited)
        return err_make(err, ERR_CONFLICT, 0, "the main process is not running");
    if (kill(a->main.pid, (int)sig) < 0)
        return err_errno(err, "kill");
    return 0;
}

static int
get_size(json_t *o, int64_t *h, int64_t *w, struct err **err)
{
    if (frame_get_int(o, "height", false, 0, 65535, h, err) < 0 ||
        frame_get_int(o, "width", false, 0, 65535, w, err) < 0)
        return -1;
    return 0;
}

/* The exec's environment: the container's, the exec's Env over it, and HOME of its user. */
static char **
exec_env(struct agent *a, char **env, const char *user)
{
    char **merged = sess_env_merge(a->env, env);
    struct ids ids;
    if (user != NULL && user[0] != '\0' && strv_env_get(env, "HOME") == NULL &&
        passwd_resolve(a->o.root, user, &ids, NULL) == 0) {
        char *home = xasprintf("HOME=%s", ids.home[0] ? ids.home : "/");
        char *one[] = {home, NULL};
        char **m2 = sess_env_merge(merged, one);
        strv_free(merged);
        merged = m2;
        free(home);
    }
    return merged;
}

static int
spawn_exec(struct agent *a, uint32_t id, json_t *o, char **argv, char **env, json_t **res,
           struct err **err)
{
    const char *workdir = NULL, *user = NULL;
    bool tty = false, in = false;
    int64_t h = 0, w = 0;
    if (frame_get_str(o, "workdir", true, 4096, &workdir, err) < 0 ||
        frame_get_str(o, "user", true, 256, &user, err) < 0 ||
        frame_get_bool(o, "tty", &tty, err) < 0 || frame_get_bool(o, "stdin", &in, err) < 0 ||
        frame_get_int(o, "height", true, 0, 65535, &h, err) < 0 ||
        frame_get_int(o, "width", true, 0, 65535, &w, err) < 0)
        return -1;
    if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
        return err_make(err, ERR_INVALID, 0, "exec without a command");
    char **merged = exec_env(a, env, user);
    struct asess *s = new_sess(a, id, AS_EXEC);
    struct spawn_spec sp = {.argv = argv,
                            .env = merged,
                            .workdir = a->workdir,
                            .user = user,
                            .tty = tty,
                            .open_stdin = in,
                            .height = (int)h,
                            .width = (int)w};
    char *in_root = NULL;
    if (workdir != NULL && workdir[0] != '\0') {
        /* --root (tests, not a container): the workdir is the root's */
        in_root = xasprintf("%s%s", strcmp(a->o.root, "/") == 0 ? "" : a->o.root, workdir);
        sp.workdir = in_root;
    }
    int rc = sess_spawn(a, s, &sp, err);
    strv_free(merged);
    free(in_root);
    if (rc < 0) {
        free_sess(a, s);
        return -1;
    }
    *res = json_pack("{s:i}", "pid", (int)s->pid);
    return 0;
}

static int
op_exec(struct agent *a, uint32_t id, json_t *o, json_t **res, struct err **err)
{
    char **argv = NULL, **env = NULL;
    int rc = -1;
    if (frame_get_strv(o, "argv", 4096, &argv, err) == 0 &&
        frame_get_strv(o, "env", 4096, &env, err) == 0)
        rc = spawn_exec(a, id, o, argv, env, res, err);
    strv_free(argv);
    strv_free(env);
    return rc;
}

static int
op_files(struct agent *a, uint32_t id, const char *op, json_t *o, json_t **res, struct err **err)
{
    const char *path = NULL;
    if (frame_get_str(o, "path", false, 4096, &path, err) < 0)
        return -1;
    if (strcmp(op, "stat") == 0) {
        *res = files_stat(a, path, err);
        return *res ? 0 : -1;
    }
    if (strcmp(op, "archive_get") == 0) {
        json_t *st = files_stat(a, path, err);
        if (st == NULL)
            return -1;
        struct asess *s = new_sess(a, id, AS_GET);
        if (files_get(a, s, path, err) < 0) {
            json_decref(st);
            free_sess(a, s);
            return -1;
        }
        *res = st;
        return 0;
    }
    bool no_overwrite = false;
    int64_t uid = -1, gid = -1;
    if (frame_get_bool(o, "no_overwrite_dir_non_dir", &no_overwrite, err) < 0 ||
        frame_get_int(o, "uid", true, 0, UINT32_MAX - 1, &uid, err) < 0 ||
        frame_get_int(o, "gid", true, 0, UINT32_MAX - 1, &gid, err) < 0)
        return -1;
    struct asess *s = new_sess(a, id, AS_PUT);
    if (files_put(a, s, path, no_overwrite, uid >= 0 ? &uid : NULL, gid >= 0 ? &gid : NULL, err) <
        0) {
        free_sess(a, s);
        return -1;
    }
    *res = json_object();
    return 0;
}

/* OPEN: answers END (requests), REPLY (streams) or ERROR. */
static void
handle_open(struct agent *a, uint32_t id, json_t *o)
{
    struct err *e = NULL;
    const char *op = NULL;
    json_t *res = NULL;
    bool stream = false;
    int rc = frame_get_str(o, "op", false, 32, &op, &e);
    if (rc == 0 && strcmp(op, "start") == 0) {
        rc = op_start(a, o, &res, &e);
    } else if (rc == 0 && strcmp(op, "signal") == 0) {
        rc = op_signal(a, o, &e);
    } else if (rc == 0 && strcmp(op, "resize") == 0) {
        int64_t h, w;
        rc = get_size(o, &h, &w, &e);
        if (rc == 0 && a->main.tty_fd < 0)
            rc = err_make(&e, ERR_CONFLICT, 0, "the main process has no tty");
        if (rc == 0)
            rc = sess_resize(&a->main, (int)h, (int)w, &e);
    } else if (rc == 0 && strcmp(op, "exec") == 0) {
        stream = true;
        rc = op_exec(a, id, o, &res, &e);
    } else if (rc == 0 && (strcmp(op, "stat") == 0 || strcmp(op, "archive_get") == 0 ||
                           strcmp(op, "archive_put") == 0)) {
        stream = strcmp(op, "stat") != 0;
        rc = op_files(a, id, op, o, &res, &e);
    } else if (rc == 0) {
        rc = err_make(&e, ERR_UNSUPPORTED, 0, "unknown operation %s", op);
    }
    if (rc < 0) {
        agent_send_err(a, id, e);
        err_clear(&e);
        return;
    }
    if (res == NULL)
        res = json_object();
    agent_send_json(a, stream ? AP_REPLY : AP_END, id, res);
    json_decref(res);
}

static int
handle_frame(struct agent *a, const struct ap_frame *f, struct err **err)
{
    switch (f->type) {
    case AP_PING:
        agent_send(a, AP_PONG, 0, 0, f->payload, f->len);
        return 0;
    case AP_PONG:
        return 0;
    case AP_OPEN: {
        if (f->session <= a->last_open)
            return err_make(err, ERR_INVALID, 0, "session id %u reused", f->session);
        a->last_open = f->session;
        json_t *o = frame_json(f, err);
        if (o == NULL)
            return -1;
        handle_open(a, f->session, o);
        json_decref(o);
        return 0;
    }
    case AP_ERROR:
        if (f->session == 0)
            return err_make(err, ERR_UNAVAILABLE, 0, "the daemon closed the connection");
        break;
    case AP_DATA:
    case AP_EOF:
    case AP_CREDIT:
    case AP_CONTROL:
    case AP_CANCEL:
        break;
    default:
        return err_make(err, ERR_INVALID, 0, "unexpected frame type 0x%02x", f->type);
    }
    if (f->session > a->last_open)
        return err_make(err, ERR_INVALID, 0, "frame for session %u that was never opened",
                        f->session);
    struct asess *s = find_sess(a, f->session);
    if (s == NULL)
        return 0; /* crossed its end */
    switch (f->type) {
    case AP_DATA:
        if (f->flags != 0)
            return err_make(err, ERR_INVALID, 0, "output data from the daemon");
        return sess_stdin_data(a, s, f->payload, f->len, err);
    case AP_EOF:
        if (f->flags != 0)
            return err_make(err, ERR_INVALID, 0, "output EOF from the daemon");
        s->in_eof = true;
        sess_stdin_flush(a, s);
        return 0;
    case AP_CREDIT:
        s->send_credit += frame_credit(f);
        if (s->send_credit > INT32_MAX)
            return err_make(err, ERR_INVALID, 0, "credit overflow");
        return 0;
    case AP_CONTROL: {
        json_t *o = frame_json(f, err);
        const char *op = NULL;
        int64_t h = 0, w = 0;
        int rc = o ? 0 : -1;
        if (rc == 0 && (frame_get_str(o, "op", false, 32, &op, err) < 0 ||
                        strcmp(op, "resize") != 0 || get_size(o, &h, &w, err) < 0))
            rc = err != NULL && *err != NULL ? -1 : err_make(err, ERR_INVALID, 0, "bad CONTROL");
        json_decref(o);
        if (rc == 0 && s->tty_fd >= 0)
            sess_resize(s, (int)h, (int)w, NULL);
        return rc;
    }
    default: /* CANCEL, or a session ERROR from the daemon */
        if (s == &a->main)
            return 0;
        s->cancelled = true;
        sess_close_fd(&s->in_fd);
        if ((s->kind == AS_GET || s->kind == AS_PUT) && s->pid > 0 && !s->exited)
            kill(s->pid, SIGKILL);
        return 0;
    }
}

static void
read_frames(struct agent *a)
{
    struct err *e = NULL;
    do {
        if (wire_fill(&a->w, &e) < 0) {
            conn_down(a, e->msg);
            err_clear(&e);
            return;
        }
        struct ap_frame f;
        int r;
        while (a->up && (r = wire_next(&a->w, &f, &e)) == 1) {
            a->last_rx = wire_now_ms();
            if (handle_frame(a, &f, &e) < 0) {
                break;
            }
            if (a->up)
                wire_consume(&a->w, &f);
        }
        if (!a->up)
            return;
        if (e != NULL) {
            agent_log("protocol error: %s", e->msg);
            agent_send_err(a, 0, e);
            conn_down(a, e->msg);
            err_clear(&e);
            return;
        }
    } while (wire_has_pending(&a->w));
    if (a->w.eof)
        conn_down(a, "closed by the daemon");
}

/* --- processes ------------------------------------------------------------------------------ */

static void
reap(struct agent *a)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct asess *s = a->main.pid == pid ? &a->main : NULL;
        for (struct asess *x = a->sessions; s == NULL && x != NULL; x = x->next)
            if (x->pid == pid)
                s = x;
        if (s != NULL && !s->exited) {
            s->exited = true;
            s->status = status;
        }
    }
}

static void
on_signal(struct agent *a)
{
    struct signalfd_siginfo si;
    while (read(a->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            reap(a);
        } else if (a->main.pid > 0 && !a->main.exited) {
            kill(a->main.pid, sig);
        } else if (sig != SIGWINCH && sig != SIGUSR1 && sig != SIGUSR2) {
            a->quit = true;
        }
    }
}

/* Finishes the sessions whose process is over and whose output was all sent. */
static void
finish_sessions(struct agent *a)
{
    for (struct asess *s = a->sessions, *next; s != NULL; s = next) {
        next = s->next;
        if (!s->exited)
            continue;
        for (int i = 1; i <= 2; i++)
            sess_pump_out(a, s, i, true);
        if (!sess_done(s))
            continue;
        if (s->kind == AS_EXEC) {
            int code, sig;
            exit_json(s->status, &code, &sig);
            json_t *o = json_pack("{s:i, s:i}", "exit_code", code, "signal", sig);
            agent_send_json(a, AP_END, s->id, o);
            json_decref(o);
        } else {
            struct err *e = NULL;
            if (files_result(s, &e) < 0) {
                agent_send_err(a, s->id, e);
                err_clear(&e);
            } else {
                json_t *o = json_object();
                agent_send_json(a, AP_END, s->id, o);
                json_decref(o);
            }
        }
        free_sess(a, s);
    }
    struct asess *m = &a->main;
    if (m->exited && a->up && !m->end_sent) {
        for (int i = 1; i <= 2; i++)
            sess_pump_out(a, m, i, true);
        if (sess_done(m) && a->up) {
            int code, sig;
            exit_json(m->status, &code, &sig);
            json_t *o = json_pack("{s:i, s:i}", "exit_code", code, "signal", sig);
            agent_send_json(a, AP_END, AP_MAIN_SESSION, o);
            json_decref(o);
            m->end_sent = true;
        }
    }
}

/* --- the loop ------------------------------------------------------------------------------- */

struct pollset {
    struct pollfd p[MAX_POLL];
    struct asess *sess[MAX_POLL];
    int what[MAX_POLL]; /* 0 stdin, 1 stdout, 2 stderr */
    int n;
};

static void
add(struct pollset *ps, int fd, short ev, struct asess *s, int what)
{
    if (fd < 0 || ps->n >= MAX_POLL)
        return;
    ps->p[ps->n] = (struct pollfd){.fd = fd, .events = ev};
    ps->sess[ps->n] = s;
    ps->what[ps->n] = what;
    ps->n++;
}

static void
add_sess(struct agent *a, struct pollset *ps, struct asess *s)
{
    bool discard = s->cancelled || (!a->up && s->kind != AS_MAIN);
    for (int i = 1; i <= 2; i++)
        if (discard || (a->up && s->send_credit > 0))
            add(ps, s->out_fd[i], POLLIN, s, i);
    if (s->in_fd >= 0 && s->in_off < s->in_len)
        add(ps, s->in_fd, POLLOUT, s, 0);
}

static int
timeout_ms(struct agent *a)
{
    int64_t now = wire_now_ms(), next = now + 60000;
    if (a->up) {
        if (a->next_ping < next)
            next = a->next_ping;
        if (a->last_rx + a->o.hb_timeout_ms < next)
            next = a->last_rx + a->o.hb_timeout_ms;
    } else if (a->o.callback != NULL && a->next_dial < next) {
        next = a->next_dial;
    }
    return next > now ? (int)(next - now) : 0;
}

static void
heartbeat(struct agent *a)
{
    int64_t now = wire_now_ms();
    if (!a->up)
        return;
    if (now - a->last_rx > a->o.hb_timeout_ms) {
        char msg[64];
        snprintf(msg, sizeof(msg), "no heartbeat from the daemon for %d ms", a->o.hb_timeout_ms);
        conn_down(a, msg);
        return;
    }
    if (now >= a->next_ping) {
        uint8_t ping[8] = {0};
        memcpy(ping, &now, sizeof(ping));
        agent_send(a, AP_PING, 0, 0, ping, sizeof(ping));
        a->next_ping = now + a->o.hb_interval_ms;
    }
}

static void
one_round(struct agent *a)
{
    struct pollset ps = {.n = 0};
    add(&ps, a->sig_fd, POLLIN, NULL, -1);
    if (a->listen_fd >= 0)
        add(&ps, a->listen_fd, POLLIN, NULL, -2);
    if (a->up)
        add(&ps, a->w.fd, wire_poll_events(&a->w), NULL, -3);
    add_sess(a, &ps, &a->main);
    for (struct asess *s = a->sessions; s != NULL; s = s->next)
        add_sess(a, &ps, s);
    int n = poll(ps.p, (nfds_t)ps.n, timeout_ms(a));
    if (n < 0 && errno != EINTR)
        a->quit = true;
    for (int i = 0; n > 0 && i < ps.n; i++) {
        if (ps.p[i].revents == 0)
            continue;
        if (ps.what[i] == -1)
            on_signal(a);
        else if (ps.what[i] == -2)
            conn_accept(a);
        else if (ps.what[i] == -3 && a->up && ps.p[i].fd == a->w.fd)
            read_frames(a);
    }
    /* The sessions' fds after the frames (which may have freed sessions): look them up by
     * pointer among the live ones. */
    for (int i = 0; n > 0 && i < ps.n; i++) {
        if (ps.p[i].revents == 0 || ps.what[i] < 0)
            continue;
        struct asess *s = ps.sess[i];
        bool live = s == &a->main;
        for (struct asess *x = a->sessions; !live && x != NULL; x = x->next)
            live = x == s;
        if (!live)
            continue;
        if (ps.what[i] == 0)
            sess_stdin_flush(a, s);
        else
            sess_pump_out(a, s, ps.what[i], false);
    }
    finish_sessions(a);
    heartbeat(a);
    if (a->up) {
        struct err *e = NULL;
        if (wire_flush(&a->w, &e) < 0) {
            conn_down(a, e->msg);
            err_clear(&e);
        }
    }
    if (!a->up && a->o.callback != NULL && !a->quit && wire_now_ms() >= a->next_dial)
        conn_dial(a);
}

int
agent_run(struct agent *a)
{
    sess_init(&a->main, AP_MAIN_SESSION, AS_MAIN);
    a->next_dial = wire_now_ms();
    while (!a->quit)
        one_round(a);
    if (a->up) {
        struct err *e = NULL;
        wire_flush_until(&a->w, wire_now_ms() + 1000, &e);
        err_clear(&e);
        wire_fini(&a->w);
        a->up = false;
    }
    for (struct asess *s = a->sessions; s != NULL; s = s->next)
        if (s->pid > 0 && !s->exited)
            kill(s->pid, SIGKILL);
    while (a->sessions != NULL)
        free_sess(a, a->sessions);
    int code = 0, sig = 0;
    if (a->main.exited)
        exit_json(a->main.status, &code, &sig);
    sess_fini(&a->main);
    return code;
}
