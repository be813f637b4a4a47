/*
 * sockerless-agent's internals: one single-threaded poll loop (loop.c) over the connection to
 * the daemon, the signalfd, and the pipes of every process the agent runs (sess.c): the
 * container's command (the main session, which outlives connections), exec sessions, and the
 * children that stream archives (files.c). Protocol: docs/agent-protocol.md.
 */
#ifndef SOCKERLESS_AGENT_AGENT_H
#define SOCKERLESS_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "agentproto/wire.h"
#include "base/err.h"

enum asess_kind { AS_MAIN, AS_EXEC, AS_GET, AS_PUT };

struct asess {
    struct asess *next;
    uint32_t id;
    enum asess_kind kind;
    pid_t pid; /* 0: not started */
    bool exited;
    int status;
    int out_fd[3]; /* [1] stdout or the pty master, [2] stderr; -1: closed */
    int in_fd;     /* the process's stdin; -1: closed or none */
    int tty_fd;    /* the pty master for resizes, -1 without a tty */
    int err_fd;    /* archive children: their error message, -1: none */
    int64_t send_credit;
    int64_t recv_window;
    uint8_t *inbuf; /* stdin from the daemon not yet written to in_fd */
    size_t in_len, in_off, in_alloc;
    bool in_eof;    /* the daemon half-closed stdin */
    bool cancelled; /* the daemon wants no more output */
    bool end_sent;  /* (main: on the current connection) */
};

struct agent_opts {
    const char *listen, *callback;
    bool keep_alive;
    char *token;
    const char *container_id;
    const char *root; /* "/" unless --root */
    int hb_interval_ms, hb_timeout_ms, reconnect_max_ms;
    const char *tls_cert, *tls_key, *tls_ca, *tls_server_name;
    char **cmd;
};

struct agent {
    struct agent_opts o;
    char **env; /* the environment CMD and execs start from (the token removed) */
    char *workdir;
    SSL_CTX *tls;
    int listen_fd, sig_fd;
    struct wire_addr callback;
    /* The connection (up when w.fd >= 0). */
    struct wire w;
    bool up;
    int64_t last_rx, next_ping;
    uint32_t last_open;
    int64_t next_dial, backoff_ms;
    struct asess main;
    bool main_tty, main_stdin;
    struct asess *sessions;
    bool quit;
    int exit_code;
};

/* conn.c: the connection's start and end, and the agent's log lines. */
void conn_accept(struct agent *a);
void conn_dial(struct agent *a);
void conn_down(struct agent *a, const char *why);
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* loop.c */
int agent_run(struct agent *a);
void agent_send(struct agent *a, uint8_t type, uint8_t flags, uint32_t session, const void *p,
                size_t len);
void agent_send_json(struct agent *a, uint8_t type, uint32_t session, json_t *o);
void agent_send_err(struct agent *a, uint32_t session, struct err *e);

/* sess.c: processes and their pipes. */
struct spawn_spec {
    char **argv;
    char **env;
    const char *workdir;
    const char *user; /* NULL: the agent's own */
    bool tty, open_stdin;
    int height, width;
};
int sess_spawn(struct agent *a, struct asess *s, const struct spawn_spec *spec, struct err **err);
void sess_init(struct asess *s, uint32_t id, enum asess_kind kind);
void sess_fini(struct asess *s);
void sess_close_fd(int *fd);
int sess_resize(struct asess *s, int height, int width, struct err **err);
/* Stdin from the daemon: queued, written as the process reads. */
int sess_stdin_data(struct agent *a, struct asess *s, const uint8_t *p, size_t len,
                    struct err **err);
void sess_stdin_flush(struct agent *a, struct asess *s);
/* Reads what the process wrote and sends it within credit. */
void sess_pump_out(struct agent *a, struct asess *s, int stream, bool after_exit);
/* True when s's process has exited and every output fd is closed. */
bool sess_done(const struct asess *s);
/* A new environment: base with over applied ("K=V" replaces K). */
char **sess_env_merge(char *const *base, char *const *over);

/* passwd.c: users and groups from the container's own files, no NSS. */
struct ids {
    uid_t uid;
    gid_t gid;
    gid_t groups[64];
    int ngroups;
    char home[256];
};
int passwd_resolve(const char *root, const char *user, struct ids *out, struct err **err);

/* files.c */
json_t *files_stat(struct agent *a, const char *path, struct err **err);
int files_get(struct agent *a, struct asess *s, const char *path, struct err **err);
int files_put(struct agent *a, struct asess *s, const char *path, bool no_overwrite,
              const int64_t *uid, const int64_t *gid, struct err **err);
/* The result of a finished archive child: 0, or -1 with its error. */
int files_result(struct asess *s, struct err **err);

#endif
