/* The agent's connection to the daemon: accepting (forward mode) or dialling with backoff
 * (reverse mode), the handshake of docs/agent-protocol.md, and its end. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/version.h"

enum { HANDSHAKE_MS = 10000 };

void
agent_log(const char *fmt, ...)
{
    /* One write per line: the agent's stderr is the container's. */
    char line[1200];
    int n = snprintf(line, sizeof(line), "sockerless-agent: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len] = '\n';
    ssize_t r = write(2, line, len + 1);
    (void)r;
}

void
conn_down(struct agent *a, const char *why)
{
    if (!a->up)
        return;
    agent_log("connection closed: %s", why);
    wire_flush(&a->w, NULL);
    wire_fini(&a->w);
    a->up = false;
    for (struct asess *s = a->sessions; s != NULL; s = s->next) {
        /* An exec keeps running without anyone to read it (as Docker's detached exec);
         * archive workers have nobody to serve. */
        s->cancelled = true;
        sess_close_fd(&s->in_fd);
        if ((s->kind == AS_GET || s->kind == AS_PUT) && s->pid > 0 && !s->exited)
            kill(s->pid, SIGKILL);
    }
    if (a->main.end_sent && !a->o.keep_alive)
        a->quit = true;
    a->next_dial = wire_now_ms();
}

static json_t *
main_state(struct agent *a)
{
    const char *st = a->main.pid == 0 ? "created" : a->main.exited ? "exited" : "running";
    return json_pack("{s:s, s:i}", "state", st, "pid", (int)a->main.pid);
}

/* --- the handshake ----------------------------------------------------------------------- */

static void
conn_up(struct agent *a, struct wire *w)
{
    if (a->up)
        conn_down(a, "replaced by a new connection");
    a->w = *w;
    a->w.max_payload = AP_MAX_PAYLOAD;
    a->up = true;
    a->last_rx = wire_now_ms();
    a->next_ping = a->last_rx + a->o.hb_interval_ms;
    a->last_open = 1;
    a->main.send_credit = AP_WINDOW;
    a->main.recv_window = AP_WINDOW;
    a->main.end_sent = false;
    a->backoff_ms = 0;
    agent_log("connected");
}

/* Forward mode: the daemon's HELLO on a newly accepted fd. */
void
conn_accept(struct agent *a)
{
    int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    int64_t deadline = wire_now_ms() + HANDSHAKE_MS;
    struct err *e = NULL;
    SSL *ssl = NULL;
    if (a->tls != NULL &&
        (ssl = wire_tls_handshake(a->tls, fd, true, NULL, deadline, &e)) == NULL) {
        agent_log("refused a connection: %s", e->msg);
        err_clear(&e);
        close(fd);
        return;
    }
    struct wire w;
    wire_init(&w, fd, ssl);
    struct ap_frame f;
    json_t *o = NULL;
    int rc = wire_recv_until(&w, &f, deadline, &e);
    if (rc == 0 && f.type != AP_HELLO)
        rc = err_make(&e, ERR_INVALID, 0, "the first frame is not HELLO");
    if (rc == 0 && (o = frame_json(&f, &e)) == NULL)
        rc = -1;
    int64_t version = 0;
    const char *role = NULL, *id = NULL, *token = NULL;
    if (rc == 0 && frame_get_int(o, "version", false, 0, 255, &version, &e) == 0 &&
        version != AP_VERSION)
        rc = err_make(&e, ERR_UNSUPPORTED, 0, "protocol version %d is not served (1 is)",
                      (int)version);
    if (rc == 0 && (e != NULL || frame_get_str(o, "role", false, 16, &role, &e) < 0 ||
                    frame_get_str(o, "container_id", false, 128, &id, &e) < 0 ||
                    frame_get_str(o, "token", false, 4096, &token, &e) < 0))
        rc = -1;
    if (rc == 0 && (strcmp(role, "daemon") != 0 || !frame_token_equal(a->o.token, token) ||
                    (a->o.container_id != NULL && strcmp(a->o.container_id, id) != 0)))
        rc = err_make(&e, ERR_FORBIDDEN, 0, "authentication failed");
    json_decref(o);
    if (rc < 0) {
        agent_log("refused a connection: %s", e->msg);
        if (e->kind != ERR_UNAVAILABLE) {
            wire_send_err(&w, 0, e, NULL);
            wire_flush_until(&w, deadline, NULL);
        }
        err_clear(&e);
        wire_fini(&w);
        return;
    }
    wire_consume(&w, &f);
    json_t *wel = json_pack("{s:i, s:s, s:s, s:o}", "version", AP_VERSION, "role", "agent",
                            "agent_version", SOCKERLESS_VERSION, "main", main_state(a));
    wire_send_json(&w, AP_WELCOME, 0, wel, NULL);
    json_decref(wel);
    conn_up(a, &w);
}

/* Reverse mode: dial the daemon, say HELLO, read WELCOME. */
void
conn_dial(struct agent *a)
{
    int64_t deadline = wire_now_ms() + HANDSHAKE_MS;
    struct err *e = NULL;
    int fd = wire_dial(&a->callback, HANDSHAKE_MS, &e);
    SSL *ssl = NULL;
    if (fd >= 0 && a->tls != NULL) {
        const char *name = a->o.tls_server_name  ? a->o.tls_server_name
                           : a->callback.is_unix ? NULL
                                                 : a->callback.host;
        if ((ssl = wire_tls_handshake(a->tls, fd, false, name, deadline, &e)) == NULL) {
            close(fd);
            fd = -1;
        }
    }
    struct wire w;
    int rc = fd < 0 ? -1 : 0;
    if (rc == 0) {
        wire_init(&w, fd, ssl);
        json_t *h = json_pack("{s:i, s:s, s:s, s:s, s:s, s:o}", "version", AP_VERSION, "role",
                              "agent", "container_id", a->o.container_id, "token", a->o.token,
                              "agent_version", SOCKERLESS_VERSION, "main", main_state(a));
        rc = wire_send_json(&w, AP_HELLO, 0, h, &e);
        json_decref(h);
    }
    struct ap_frame f;
    if (rc == 0)
        rc = wire_flush_until(&w, deadline, &e);
    if (rc == 0)
        rc = wire_recv_until(&w, &f, deadline, &e);
    if (rc == 0 && f.type == AP_ERROR) {
        json_t *o = frame_json(&f, &e);
        rc = o ? frame_err_from_json(o, "the daemon refused the agent", &e) : -1;
        json_decref(o);
    } else if (rc == 0 && f.type != AP_WELCOME) {
        rc = err_make(&e, ERR_INVALID, 0, "unexpected answer to HELLO");
    }
    if (rc < 0) {
        if (fd >= 0)
            wire_fini(&w);
        a->backoff_ms = a->backoff_ms == 0 ? 100 : a->backoff_ms * 2;
        if (a->backoff_ms > a->o.reconnect_max_ms)
            a->backoff_ms = a->o.reconnect_max_ms;
        int64_t jitter = a->backoff_ms / 4 > 0 ? random() % (a->backoff_ms / 4 + 1) : 0;
        a->next_dial = wire_now_ms() + a->backoff_ms + jitter;
        agent_log("cannot reach the daemon: %s", e ? e->msg : "error");
        err_clear(&e);
        return;
    }
    wire_consume(&w, &f);
    conn_up(a, &w);
}
