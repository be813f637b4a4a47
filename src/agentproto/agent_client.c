#include "agentproto/agent_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agentproto/client_internal.h"
#include "base/xalloc.h"

static void client_free(struct agent_client *c);

enum { DEFAULT_INTERVAL_MS = 5000, DEFAULT_TIMEOUT_MS = 15000, DEFAULT_CONNECT_MS = 10000 };

void
client_wake(struct agent_client *c)
{
    uint64_t one = 1;
    ssize_t r = write(c->wake_fd, &one, sizeof(one));
    (void)r; /* a full eventfd is already a wake-up */
}

int
client_lost_err(struct agent_client *c, struct err **err)
{
    return err_make(err, ERR_UNAVAILABLE, c->dead_reason ? c->dead_reason->errnum : 0,
                    "agent connection lost: %s", c->dead_reason ? c->dead_reason->msg : "closed");
}

static void
broadcast_all(struct agent_client *c)
{
    pthread_cond_broadcast(&c->main.cond);
    for (struct csess *s = c->sessions; s != NULL; s = s->next)
        pthread_cond_broadcast(&s->cond);
}

/* The connection is over: every waiter wakes up and sees c->dead. */
static void
client_die(struct agent_client *c, struct err *reason)
{
    if (c->dead) {
        err_clear(&reason);
        return;
    }
    c->dead = true;
    c->dead_reason = reason;
    if (c->w.fd >= 0)
        shutdown(c->w.fd, SHUT_RDWR);
    broadcast_all(c);
    client_wake(c);
}

void
client_send(struct agent_client *c, uint8_t type, uint8_t flags, uint32_t session,
            const void *payload, size_t len)
{
    struct err *e = NULL;
    if (c->dead)
        return;
    if (wire_send(&c->w, type, flags, session, payload, len, &e) < 0) {
        client_die(c, e);
        return;
    }
    client_wake(c);
}

void
client_send_json(struct agent_client *c, uint8_t type, uint32_t session, json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    client_send(c, type, 0, session, s, strlen(s));
    free(s);
}

void
client_grant(struct agent_client *c, struct csess *s, size_t n)
{
    if (s->ended || s->cancelled || n == 0)
        return;
    uint8_t p[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    s->recv_window += (int64_t)n;
    client_send(c, AP_CREDIT, 0, s->id, p, 4);
}

static void
csess_init(struct csess *s, uint32_t id)
{
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->recv_window = AP_WINDOW;
    s->send_credit = AP_WINDOW;
    pthread_cond_init(&s->cond, NULL);
}

static void
csess_fini(struct csess *s)
{
    struct chunk *ch;
    while ((ch = client_pop(s)) != NULL)
        free(ch);
    json_decref(s->reply);
    json_decref(s->end);
    err_clear(&s->error);
    pthread_cond_destroy(&s->cond);
}

struct csess *
client_session_open(struct agent_client *c)
{
    struct csess *s = xmalloc(sizeof(*s));
    csess_init(s, c->next_id++);
    s->next = c->sessions;
    c->sessions = s;
    return s;
}

void
client_session_close(struct agent_client *c, struct csess *s)
{
    for (struct csess **p = &c->sessions; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    csess_fini(s);
    free(s);
}

struct chunk *
client_pop(struct csess *s)
{
    struct chunk *ch = s->head;
    if (ch != NULL) {
        s->head = ch->next;
        if (s->head == NULL)
            s->tail = NULL;
    }
    return ch;
}

void
client_wait(struct agent_client *c, struct csess *s)
{
    pthread_cond_wait(&s->cond, &c->mu);
}

static struct csess *
find_session(struct agent_client *c, uint32_t id)
{
    if (id == AP_MAIN_SESSION)
        return &c->main;
    for (struct csess *s = c->sessions; s != NULL; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

static int
on_main_end(struct agent_client *c, json_t *o, struct err **err)
{
    int64_t code = 0, sig = 0;
    if (frame_get_int(o, "exit_code", false, 0, 255, &code, err) < 0 ||
        frame_get_int(o, "signal", true, 0, 64, &sig, err) < 0)
        return -1;
    c->main_exit.exit_code = (int)code;
    c->main_exit.signal = (int)sig;
    c->main_exited = true;
    return 0;
}

/* One frame from the agent, c->mu held. -1: protocol error. */
static int
handle_frame(struct agent_client *c, const struct ap_frame *f, struct err **err)
{
    if (f->type == AP_PING) {
        client_send(c, AP_PONG, 0, 0, f->payload, f->len);
        return 0;
    }
    if (f->type == AP_PONG)
        return 0;
    if (f->type == AP_ERROR && f->session == 0) {
        json_t *o = frame_json(f, err);
        if (o == NULL)
            return -1;
        frame_err_from_json(o, "the agent closed the connection", err);
        json_decref(o);
        return -1;
    }
    if (f->type != AP_DATA && f->type != AP_EOF && f->type != AP_CREDIT && f->type != AP_REPLY &&
        f->type != AP_END && f->type != AP_ERROR)
        return err_make(err, ERR_INVALID, 0, "unexpected frame type 0x%02x from the agent",
                        f->type);
    if (f->session >= c->next_id)
        return err_make(err, ERR_INVALID, 0, "frame for session %u that was never opened",
                        f->session);
    struct csess *s = find_session(c, f->session);
    if (s == NULL || s->ended)
        return 0; /* crossed a CANCEL or the end of the session */
    switch (f->type) {
    case AP_DATA: {
        if (f->flags == AGENT_STREAM_STDIN)
            return err_make(err, ERR_INVALID, 0, "stdin data from the agent");
        s->recv_window -= f->len;
        if (s->recv_window < 0)
            return err_make(err, ERR_INVALID, 0, "the agent sent beyond its credit");
        if (s->cancelled)
            return 0;
        struct chunk *ch = xmalloc(sizeof(*ch) + f->len);
        ch->next = NULL;
        ch->stream = f->flags;
        ch->len = f->len;
        memcpy(ch->data, f->payload, f->len);
        if (s->tail != NULL)
            s->tail->next = ch;
        else
            s->head = ch;
        s->tail = ch;
        break;
    }
    case AP_EOF:
        break;
    case AP_CREDIT:
        s->send_credit += frame_credit(f);
        if (s->send_credit > INT32_MAX)
            return err_make(err, ERR_INVALID, 0, "credit overflow from the agent");
        break;
    case AP_REPLY:
    case AP_END:
    case AP_ERROR: {
        json_t *o = frame_json(f, err);
        if (o == NULL)
            return -1;
        if (f->type == AP_REPLY) {
            if (s->got_reply) {
                json_decref(o);
                return err_make(err, ERR_INVALID, 0, "second REPLY from the agent");
            }
            s->got_reply = true;
            s->reply = o;
        } else if (f->type == AP_END) {
            s->ended = true;
            s->end = o;
            if (s == &c->main && on_main_end(c, o, err) < 0)
                return -1;
        } else {
            s->ended = true;
            frame_err_from_json(o, "agent", &s->error);
            json_decref(o);
        }
        break;
    }
    default:
        break;
    }
    pthread_cond_broadcast(&s->cond);
    return 0;
}

/* Reads and handles every frame available. c->mu held. */
static void
read_frames(struct agent_client *c)
{
    struct err *e = NULL;
    do {
        if (wire_fill(&c->w, &e) < 0) {
            client_die(c, e);
            return;
        }
        struct ap_frame f;
        int r = 0;
        while (!c->dead && (r = wire_next(&c->w, &f, &e)) == 1) {
            c->last_rx = wire_now_ms();
            if (handle_frame(c, &f, &e) < 0) {
                if (!c->dead)
                    wire_send_err(&c->w, 0, e, NULL);
                wire_flush(&c->w, NULL);
                client_die(c, e);
                return;
            }
            wire_consume(&c->w, &f);
        }
        if (r < 0) {
            wire_send_err(&c->w, 0, e, NULL);
            wire_flush(&c->w, NULL);
            err_wrap(&e, "protocol error");
            client_die(c, e);
            return;
        }
    } while (!c->dead && wire_has_pending(&c->w));
    if (c->w.eof && !c->dead) {
        err_make(&e, ERR_UNAVAILABLE, 0, "closed by the agent");
        client_die(c, e);
    }
}

static void *
io_thread(void *arg)
{
    struct agent_client *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->dead) {
        struct err *e = NULL;
        if (wire_flush(&c->w, &e) < 0) {
            client_die(c, e);
            break;
        }
        int64_t now = wire_now_ms();
        int64_t deadline = c->last_rx + c->opts.heartbeat_timeout_ms;
        int64_t next = c->next_ping < deadline ? c->next_ping : deadline;
        struct pollfd p[2] = {{.fd = c->w.fd, .events = wire_poll_events(&c->w)},
                              {.fd = c->wake_fd, .events = POLLIN}};
        pthread_mutex_unlock(&c->mu);
        int n = poll(p, 2, next > now ? (int)(next - now) : 0);
        pthread_mutex_lock(&c->mu);
        if (c->dead)
            break;
        if (n < 0 && errno != EINTR) {
            err_errno(&e, "poll");
            client_die(c, e);
            break;
        }
        if (p[1].revents & POLLIN) {
            uint64_t v;
            ssize_t r = read(c->wake_fd, &v, sizeof(v));
            (void)r;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR) ||
            (p[0].revents & POLLOUT && c->w.ssl_read_wants_write))
            read_frames(c);
        now = wire_now_ms();
        if (!c->dead && now - c->last_rx > c->opts.heartbeat_timeout_ms) {
            err_make(&e, ERR_UNAVAILABLE, ETIMEDOUT, "no heartbeat from the agent for %d ms",
                     c->opts.heartbeat_timeout_ms);
            client_die(c, e);
        }
        if (!c->dead && now >= c->next_ping) {
            uint8_t ping[8];
            memcpy(ping, &now, sizeof(ping));
            client_send(c, AP_PING, 0, 0, ping, sizeof(ping));
            c->next_ping = now + c->opts.heartbeat_interval_ms;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void *
delivery_thread(void *arg)
{
    struct agent_client *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        struct chunk *ch = client_pop(&c->main);
        if (ch != NULL) {
            pthread_mutex_unlock(&c->mu);
            if (c->opts.on_main_output != NULL)
                c->opts.on_main_output(c->opts.ctx, ch->stream, ch->data, ch->len);
            pthread_mutex_lock(&c->mu);
            if (!c->main.ended)
                client_grant(c, &c->main, ch->len);
            free(ch);
            continue;
        }
        if (c->main_exited && !c->main_exit_told) {
            struct agent_exit ex = c->main_exit;
            if (c->opts.on_main_exit != NULL) {
                pthread_mutex_unlock(&c->mu);
                c->opts.on_main_exit(c->opts.ctx, &ex);
                pthread_mutex_lock(&c->mu);
            }
            /* agent_client_wait_main returns once the callback has run. */
            c->main_exit_told = true;
            pthread_cond_broadcast(&c->main.cond);
            continue;
        }
        if (c->dead) {
            if (!c->closed_by_us && !c->lost_told && c->opts.on_lost != NULL) {
                c->lost_told = true;
                struct err *why = NULL;
                client_lost_err(c, &why);
                pthread_mutex_unlock(&c->mu);
                c->opts.on_lost(c->opts.ctx, why);
                err_clear(&why);
                pthread_mutex_lock(&c->mu);
            }
            break;
        }
        pthread_cond_wait(&c->main.cond, &c->mu);
    }
    bool free_here = c->free_on_delivery_exit;
    pthread_mutex_unlock(&c->mu);
    if (free_here)
        client_free(c);
    return NULL;
}

static void
copy_opts(struct agent_client *c, const struct agent_client_opts *o)
{
    c->opts = *o;
    c->opts.container_id = NULL;
    c->opts.token = NULL;
    memset(&c->opts.tls, 0, sizeof(c->opts.tls));
    if (c->opts.heartbeat_interval_ms <= 0)
        c->opts.heartbeat_interval_ms = DEFAULT_INTERVAL_MS;
    if (c->opts.heartbeat_timeout_ms <= 0)
        c->opts.heartbeat_timeout_ms = DEFAULT_TIMEOUT_MS;
    if (c->opts.connect_timeout_ms <= 0)
        c->opts.connect_timeout_ms = DEFAULT_CONNECT_MS;
}

static struct agent_client *
client_new(void)
{
    struct agent_client *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->refs = 1;
    c->w.fd = -1;
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    csess_init(&c->main, AP_MAIN_SESSION);
    c->next_id = 2;
    return c;
}

static void
client_free(struct agent_client *c)
{
    struct csess *s;
    while ((s = c->sessions) != NULL)
        client_session_close(c, s);
    csess_fini(&c->main);
    wire_fini(&c->w);
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    err_clear(&c->dead_reason);
    free(c->container_id);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void
start_threads(struct agent_client *c)
{
    c->w.max_payload = AP_MAX_PAYLOAD;
    c->last_rx = wire_now_ms();
    c->next_ping = c->last_rx + c->opts.heartbeat_interval_ms;
    pthread_create(&c->io_thread, NULL, io_thread, c);
    pthread_create(&c->delivery_thread, NULL, delivery_thread, c);
    c->threads_started = true;
}

/* The "main" object of a WELCOME (forward) or an agent's HELLO (reverse). */
static int
parse_agent_side(struct agent_client *c, json_t *o, struct err **err)
{
    const char *ver = NULL, *state = NULL;
    int64_t pid = 0;
    if (frame_get_str(o, "agent_version", true, 63, &ver, err) < 0)
        return -1;
    snprintf(c->info.agent_version, sizeof(c->info.agent_version), "%s", ver ? ver : "unknown");
    json_t *m = json_object_get(o, "main");
    if (!json_is_object(m))
        return err_make(err, ERR_INVALID, 0, "handshake without the main process's state");
    if (frame_get_str(m, "state", false, 16, &state, err) < 0 ||
        frame_get_int(m, "pid", true, 0, INT32_MAX, &pid, err) < 0)
        return -1;
    if (strcmp(state, "created") == 0)
        c->info.main_state = AGENT_MAIN_CREATED;
    else if (strcmp(state, "running") == 0)
        c->info.main_state = AGENT_MAIN_RUNNING;
    else if (strcmp(state, "exited") == 0)
        c->info.main_state = AGENT_MAIN_EXITED;
    else
        return err_make(err, ERR_INVALID, 0, "unknown main state %s", state);
    c->info.main_pid = (pid_t)pid;
    c->info.version = AP_VERSION;
    return 0;
}

/* Reads the answer to our HELLO: WELCOME or ERROR. */
static int
read_welcome(struct agent_client *c, int64_t deadline, struct err **err)
{
    struct ap_frame f;
    if (wire_recv_until(&c->w, &f, deadline, err) < 0)
        return -1;
    json_t *o = (f.type == AP_WELCOME || f.type == AP_ERROR) ? frame_json(&f, err) : NULL;
    if (o == NULL)
        return err_make(err, ERR_UNAVAILABLE, 0, "bad handshake answer from the agent");
    int rc;
    if (f.type == AP_ERROR) {
        rc = frame_err_from_json(o, "the agent refused the connection", err);
    } else {
        int64_t version = 0;
        rc = frame_get_int(o, "version", false, 0, 255, &version, err);
        if (rc == 0 && version != AP_VERSION)
            rc = err_make(err, ERR_UNSUPPORTED, 0, "the agent speaks protocol version %d",
                          (int)version);
        if (rc == 0)
            rc = parse_agent_side(c, o, err);
    }
    json_decref(o);
    wire_consume(&c->w, &f);
    return rc;
}

static int
connect_transport(struct agent_client *c, const char *addr, const struct agent_client_opts *o,
                  int64_t deadline, struct err **err)
{
    struct wire_addr a;
    if (wire_addr_parse(addr, &a, err) < 0)
        return -1;
    int fd =
        wire_dial(&a, o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_MS, err);
    SSL *ssl = NULL;
    if (fd >= 0 && o->tls.ca_file != NULL) {
        SSL_CTX *ctx = wire_tls_client_ctx(o->tls.ca_file, err);
        const char *name = o->tls.server_name ? o->tls.server_name : a.is_unix ? NULL : a.host;
        ssl = ctx ? wire_tls_handshake(ctx, fd, false, name, deadline, err) : NULL;
        SSL_CTX_free(ctx);
        if (ssl == NULL) {
            close(fd);
            fd = -1;
        }
    }
    wire_addr_fini(&a);
    if (fd < 0)
        return -1;
    wire_init(&c->w, fd, ssl);
    return 0;
}

struct agent_client *
agent_client_connect(const char *addr, const struct agent_client_opts *opts, struct err **err)
{
    if (opts->container_id == NULL || opts->token == NULL) {
        err_make(err, ERR_INVALID, 0, "agent connection without container id or token");
        return NULL;
    }
    struct agent_client *c = client_new();
    copy_opts(c, opts);
    c->container_id = xstrdup(opts->container_id);
    int64_t deadline = wire_now_ms() + c->opts.connect_timeout_ms;
    json_t *hello = json_pack("{s:i, s:s, s:s, s:s}", "version", AP_VERSION, "role", "daemon",
                              "container_id", opts->container_id, "token", opts->token);
    int rc = connect_transport(c, addr, opts, deadline, err);
    if (rc == 0)
        rc = wire_send_json(&c->w, AP_HELLO, 0, hello, err);
    json_decref(hello);
    if (rc == 0)
        rc = wire_flush_until(&c->w, deadline, err);
    if (rc == 0)
        rc = read_welcome(c, deadline, err);
    if (rc < 0) {
        client_free(c);
        err_wrap(err, "agent at %s", addr);
        return NULL;
    }
    start_threads(c);
    return c;
}

/* Checks the agent's HELLO, with a->lookup giving the expected token. Fills c. */
static int
check_hello(struct agent_client *c, const struct agent_accept_opts *a, json_t *o, struct err **err)
{
    int64_t version = 0;
    const char *id = NULL, *token = NULL, *role = NULL;
    if (frame_get_int(o, "version", false, 0, 255, &version, err) < 0)
        return -1;
    if (version != AP_VERSION)
        return err_make(err, ERR_UNSUPPORTED, 0, "protocol version %d is not served (1 is)",
                        (int)version);
    if (frame_get_str(o, "role", false, 16, &role, err) < 0 ||
        frame_get_str(o, "container_id", false, 128, &id, err) < 0 ||
        frame_get_str(o, "token", false, 4096, &token, err) < 0)
        return -1;
    if (strcmp(role, "agent") != 0)
        return err_make(err, ERR_INVALID, 0, "HELLO from a %s, not an agent", role);
    struct agent_client_opts co = {0};
    if (a->lookup(a->ctx, id, &co) < 0 || co.token == NULL || !frame_token_equal(co.token, token))
        return err_make(err, ERR_FORBIDDEN, 0, "authentication failed");
    copy_opts(c, &co);
    c->container_id = xstrdup(id);
    return parse_agent_side(c, o, err);
}

struct agent_client *
agent_client_accept(int fd, const struct agent_accept_opts *a, struct err **err)
{
    int64_t deadline =
        wire_now_ms() + (a->handshake_timeout_ms > 0 ? a->handshake_timeout_ms : 10000);
    SSL *ssl = NULL;
    if (a->tls.cert_file != NULL && a->tls.key_file != NULL) {
        SSL_CTX *ctx = wire_tls_server_ctx(a->tls.cert_file, a->tls.key_file, err);
        ssl = ctx ? wire_tls_handshake(ctx, fd, true, NULL, deadline, err) : NULL;
        SSL_CTX_free(ctx);
        if (ssl == NULL) {
            close(fd);
            return NULL;
        }
    }
    struct agent_client *c = client_new();
    wire_init(&c->w, fd, ssl);
    struct ap_frame f;
    json_t *o = NULL;
    int rc = wire_recv_until(&c->w, &f, deadline, err);
    if (rc == 0 && f.type != AP_HELLO)
        rc = err_make(err, ERR_UNAVAILABLE, 0, "the agent did not start with HELLO");
    if (rc == 0 && (o = frame_json(&f, err)) == NULL)
        rc = -1;
    if (rc == 0)
        rc = check_hello(c, a, o, err);
    json_decref(o);
    if (rc < 0) {
        if (err != NULL && *err != NULL && err_kind_of(err) != ERR_UNAVAILABLE) {
            wire_send_err(&c->w, 0, *err, NULL);
            wire_flush_until(&c->w, deadline, NULL);
        }
        if (err != NULL && *err != NULL && err_kind_of(err) == ERR_INVALID)
            (*err)->kind = ERR_UNAVAILABLE;
        client_free(c);
        return NULL;
    }
    wire_consume(&c->w, &f);
    json_t *w = json_pack("{s:i, s:s}", "version", AP_VERSION, "role", "daemon");
    rc = wire_send_json(&c->w, AP_WELCOME, 0, w, err);
    json_decref(w);
    if (rc == 0)
        rc = wire_flush_until(&c->w, deadline, err);
    if (rc < 0) {
        client_free(c);
        return NULL;
    }
    start_threads(c);
    return c;
}

const char *
agent_client_container_id(const struct agent_client *c)
{
    return c->container_id;
}

void
agent_client_info(const struct agent_client *c, struct agent_info *out)
{
    *out = c->info;
}

bool
agent_client_is_alive(struct agent_client *c)
{
    pthread_mutex_lock(&c->mu);
    bool alive = !c->dead;
    pthread_mutex_unlock(&c->mu);
    return alive;
}

void
agent_client_shutdown(struct agent_client *c)
{
    pthread_mutex_lock(&c->mu);
    if (!c->dead) {
        c->closed_by_us = true;
        struct err *e = NULL;
        err_make(&e, ERR_UNAVAILABLE, 0, "closed by the daemon");
        client_die(c, e);
    }
    pthread_mutex_unlock(&c->mu);
}

struct agent_client *
agent_client_ref(struct agent_client *c)
{
    pthread_mutex_lock(&c->mu);
    c->refs++;
    pthread_mutex_unlock(&c->mu);
    return c;
}

void
agent_client_unref(struct agent_client *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (!last)
        return;
    agent_client_shutdown(c);
    if (c->threads_started) {
        pthread_join(c->io_thread, NULL);
        if (pthread_equal(pthread_self(), c->delivery_thread)) {
            /* Dropped from a callback: the delivery thread still runs on c; it frees c
             * when it returns. */
            pthread_mutex_lock(&c->mu);
            c->free_on_delivery_exit = true;
            pthread_mutex_unlock(&c->mu);
            pthread_detach(c->delivery_thread);
            return;
        }
        pthread_join(c->delivery_thread, NULL);
    }
    client_free(c);
}
