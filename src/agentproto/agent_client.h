/*
 * agent_client: the daemon's end of one connection to a sockerless-agent (protocol version 1,
 * docs/agent-protocol.md). One client object is one authenticated connection to the agent of
 * one container; every operation on that container (the main process, execs, archives, stat)
 * is a session multiplexed on it.
 *
 * A client is made either by dialling the agent (forward mode, agent_client_connect) or from a
 * connection the daemon's own listener accepted (reverse mode, agent_client_accept). After
 * that both are the same object.
 *
 * Threads: the client runs two threads of its own: an I/O thread (the only one that touches
 * the socket: reads and writes frames, answers and sends heartbeats, detects a dead peer) and
 * a delivery thread that calls the main-process callbacks (on_main_output, on_main_exit,
 * on_lost) one at a time, in order. Every public function may be called from any thread other
 * than the delivery thread unless its comment says otherwise; a callback must not call the
 * blocking functions of its own client (they would wait for the thread that is running it).
 *
 * Flow control is end to end: a session's data is granted in windows (docs/agent-protocol.md,
 * "Flow control"), so a caller that consumes slowly (a slow on_main_output, a slow exec write
 * callback) makes the agent stop reading the process's pipe: memory stays bounded and nothing
 * is dropped. Blocking writes (stdin, archive put) wait for the agent's credit.
 *
 * Errors: every fallible function takes `struct err **err` last (base/err.h). A connection
 * that is lost (peer closed, heartbeat timeout, protocol error, agent_client_shutdown) makes
 * every blocked and every later call fail with ERR_UNAVAILABLE and a message that starts with
 * "agent connection lost: " followed by the reason (e.g. "no heartbeat from the agent for
 * 15000 ms"). Errors the agent reports for one session keep the agent's kind (ERR_NOT_FOUND
 * for a missing path, ERR_INVALID for a refused archive entry, ERR_FORBIDDEN, ...).
 */
#ifndef SOCKERLESS_AGENTPROTO_AGENT_CLIENT_H
#define SOCKERLESS_AGENTPROTO_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct agent_client;
struct agent_exec;

/* Stream numbers of session data, as Docker's multiplexed stream (api/mux.h). */
enum { AGENT_STREAM_STDIN = 0, AGENT_STREAM_STDOUT = 1, AGENT_STREAM_STDERR = 2 };

/* How the main process (or an exec) ended. */
struct agent_exit {
    int exit_code; /* the process's exit status, or 128 + signal when killed by a signal */
    int signal;    /* the signal that killed it, 0 when it exited */
};

/* The main process as the agent reported it in the handshake (a reconnecting daemon learns
 * from it whether CMD is already running or has ended). */
enum agent_main_state {
    AGENT_MAIN_CREATED, /* CMD not started yet: waiting for agent_client_start */
    AGENT_MAIN_RUNNING,
    AGENT_MAIN_EXITED, /* its exit report follows on the main session (on_main_exit) */
};
struct agent_info {
    int version;            /* the protocol version both ends speak (1) */
    char agent_version[64]; /* the agent's build, e.g. "0.1.0 (abc1234)" */
    enum agent_main_state main_state;
    pid_t main_pid; /* inside the agent's pid namespace; 0 when not started */
};

/* TLS for one connection. Every path is a PEM file; NULL fields are unused.
 * Forward mode (the daemon dials): ca_file verifies the agent's certificate (required to use
 * TLS; the name checked is server_name, or the host of the address when NULL).
 * Reverse mode (the daemon accepts): cert_file and key_file are the daemon's certificate. */
struct agent_tls {
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    const char *server_name;
};

/* Per-connection settings and the main-process callbacks. Strings are copied: the caller's
 * may go away once agent_client_connect/agent_client_accept returns. */
struct agent_client_opts {
    const char *container_id;  /* sent in HELLO (forward); checked against the agent's */
    const char *token;         /* the per-container secret; never logged */
    int heartbeat_interval_ms; /* PING period; 0: 5000 */
    int heartbeat_timeout_ms;  /* silence after which the agent is dead; 0: 15000 */
    int connect_timeout_ms;    /* connect + TLS + handshake; 0: 10000 */
    struct agent_tls tls;      /* forward: ca_file set => TLS; all NULL => plaintext */

    void *ctx; /* given to every callback */
    /* Output of the main process, stream AGENT_STREAM_STDOUT or AGENT_STREAM_STDERR (with a
     * tty: everything on stdout). data is borrowed for the call. Called on the delivery
     * thread; the agent gets credit for these bytes only when the call returns, so a slow
     * callback is back-pressure, never loss. NULL: output is consumed and dropped. */
    void (*on_main_output)(void *ctx, int stream, const char *data, size_t len);
    /* The main process ended (after all its output was given to on_main_output). Called once
     * per connection at most, on the delivery thread. NULL: use agent_client_wait_main. */
    void (*on_main_exit)(void *ctx, const struct agent_exit *exit);
    /* The connection is lost (reason as in "Errors" above; borrowed for the call). Called once,
     * on the delivery thread, after every queued on_main_output; not called after the caller's
     * own agent_client_shutdown. NULL: not told. */
    void (*on_lost)(void *ctx, const struct err *reason);
};

/* --- Connections ------------------------------------------------------------------------ */

/* Forward mode: dials the agent at addr ("tcp:HOST:PORT", "unix:PATH"; "tcp://HOST:PORT" too),
 * sets up TLS when opts->tls.ca_file is set, sends HELLO with opts->container_id and
 * opts->token and waits for the agent's answer. Blocks up to opts->connect_timeout_ms.
 * Returns a new client (one reference, see agent_client_unref) with its threads running.
 * Errors: ERR_INVALID for a malformed address; ERR_UNAVAILABLE when the agent cannot be
 * reached, times out, or the TLS handshake fails; ERR_FORBIDDEN when the agent refuses the
 * token; ERR_UNSUPPORTED when it speaks another protocol version. */
struct agent_client *agent_client_connect(const char *addr, const struct agent_client_opts *opts,
                                          struct err **err);

/* Reverse mode: how the daemon accepts agents that dial its callback endpoint. */
struct agent_accept_opts {
    struct agent_tls tls;     /* cert_file + key_file set => TLS server; else plaintext */
    int handshake_timeout_ms; /* TLS + HELLO; 0: 10000 */
    void *ctx;
    /* Called once with the container id the agent's HELLO claims (before its token is
     * checked). Fills *opts for that container (token, heartbeat settings, callbacks; the
     * container_id field is ignored) and returns 0, or returns -1 when no such container
     * expects an agent (the agent is refused as if its token were wrong). The strings in
     * *opts must stay valid until agent_client_accept returns. Called on the thread that
     * called agent_client_accept. */
    int (*lookup)(void *ctx, const char *container_id, struct agent_client_opts *opts);
};

/* Reverse mode: takes fd (a connected socket the daemon's listener accepted; closed by this
 * call on failure, owned by the client on success), does the TLS server handshake when
 * configured, reads the agent's HELLO, asks a->lookup for the container's token, compares it
 * in constant time and answers. Blocks up to a->handshake_timeout_ms: call it on a thread of
 * its own per accepted connection, not on the listener's. Returns a new client (one reference)
 * whose agent_client_container_id is the agent's container. Errors: ERR_FORBIDDEN (unknown
 * container or wrong token: the agent was told and the socket closed), ERR_UNSUPPORTED
 * (protocol version), ERR_UNAVAILABLE (timeout, TLS or I/O failure, malformed HELLO). */
struct agent_client *agent_client_accept(int fd, const struct agent_accept_opts *a,
                                         struct err **err);

/* The container id of the connection (borrowed, lives as long as c). */
const char *agent_client_container_id(const struct agent_client *c);
/* What the agent said in the handshake (main-process state may have changed since). */
void agent_client_info(const struct agent_client *c, struct agent_info *out);
/* False once the connection is lost or shut down. Never blocks. */
bool agent_client_is_alive(struct agent_client *c);

/* Closes the connection now: every open session and every blocked call fails with
 * ERR_UNAVAILABLE ("agent connection lost: closed by the daemon"); on_lost is not called.
 * Does not free c and does not block; safe from any thread, callbacks included, and twice. */
void agent_client_shutdown(struct agent_client *c);
/* References: a thread that uses c while another may drop it holds its own reference. */
struct agent_client *agent_client_ref(struct agent_client *c);
/* Drops a reference; the last one shuts the connection down, joins the client's threads
 * (unless called on its delivery thread: then they are detached) and frees c. NULL: no-op. */
void agent_client_unref(struct agent_client *c);

/* --- The main process (session 1) -------------------------------------------------------- */

struct agent_start {
    bool tty;          /* run CMD on a new pseudo-terminal (stdout and stderr merged) */
    int height, width; /* the terminal's initial size when tty (0: leave the default) */
    bool open_stdin;   /* CMD's stdin is fed by agent_client_main_stdin_*; false: /dev/null */
};

/* Tells the agent to run CMD (the agent holds it back until then, so no output is produced
 * before the daemon listens). Blocks for the agent's answer. *pid_out (may be NULL) gets the
 * main process's pid. Errors: ERR_CONFLICT when CMD was already started; ERR_NOT_FOUND /
 * ERR_FORBIDDEN when it cannot be executed (errnum ENOENT / EACCES: the caller maps them to
 * Docker's 127 / 126); ERR_UNAVAILABLE when the connection is lost. */
int agent_client_start(struct agent_client *c, const struct agent_start *s, pid_t *pid_out,
                       struct err **err);

/* Writes len bytes to the main process's stdin; blocks until the agent has granted credit for
 * all of them (back-pressure from a process that does not read). Errors: ERR_CONFLICT when
 * stdin is closed or not open; ERR_UNAVAILABLE when the connection is lost. */
int agent_client_main_stdin_write(struct agent_client *c, const char *data, size_t len,
                                  struct err **err);
/* Half-closes the main process's stdin (it reads EOF once the written bytes are consumed). */
int agent_client_main_stdin_close(struct agent_client *c, struct err **err);

/* Sends signal signo to the main process. Blocks for the agent's answer. Errors: ERR_CONFLICT
 * when the main process is not running; ERR_INVALID for a bad signal number. */
int agent_client_signal(struct agent_client *c, int signo, struct err **err);

/* Resizes the main process's terminal. ERR_CONFLICT when it has no tty. */
int agent_client_resize(struct agent_client *c, int height, int width, struct err **err);

/* Blocks until the main process's exit report arrived on this connection and on_main_exit (if any)
 * has returned (at once if it
 * already did), or timeout_ms passed (-1: no limit). Returns 0 and fills *out; -1 with
 * ERR_UNAVAILABLE on a lost connection or on timeout (errnum ETIMEDOUT). */
int agent_client_wait_main(struct agent_client *c, int timeout_ms, struct agent_exit *out,
                           struct err **err);

/* --- Exec sessions ------------------------------------------------------------------------ */

struct agent_exec_spec {
    char *const *argv;   /* NULL-ended; argv[0] is looked up in PATH like execvp */
    char *const *env;    /* NULL-ended "K=V" added to (and overriding) the agent's
                            environment, as Docker's exec Env; NULL: none */
    const char *workdir; /* NULL or "": the agent's (container's) working directory */
    const char *user;    /* "name", "uid", "name:group", "uid:gid"; resolved by the agent in
                            the container's /etc/passwd and /etc/group; NULL or "": the
                            agent's own user */
    bool tty;
    int height, width; /* the tty's initial size (0: default) */
    bool attach_stdin; /* false: the command's stdin is /dev/null */
};

/* Where an exec's output goes and its input comes from, with the shape of struct exec_io of
 * driver/driver.h so that a driver passes its fields straight through. write gets stream
 * AGENT_STREAM_STDOUT/STDERR and returns -1 when the client is gone (the rest of the
 * output is then discarded, the command keeps running, and agent_exec_run still waits for
 * its exit code). read_stdin returns bytes read, 0 at EOF (stdin is half-closed), -1 on error
 * (also a half-close). cancel_stdin makes a read_stdin blocked in another thread return 0;
 * NULL when read_stdin never blocks. read_stdin is called only when spec->attach_stdin. */
struct agent_exec_io {
    void *ctx;
    int (*write)(void *ctx, int stream, const char *data, size_t len);
    ssize_t (*read_stdin)(void *ctx, char *buf, size_t len);
    void (*cancel_stdin)(void *ctx);
};

/* Starts spec in the agent's container and returns its handle (owned by the caller:
 * agent_exec_free) once the agent has started the process (its pid in *pid_out, may be
 * NULL). Output produced before agent_exec_run is called waits, within the session's window.
 * Blocks for the agent's answer. Errors: ERR_NOT_FOUND (errnum ENOENT: no such executable or
 * workdir), ERR_FORBIDDEN (EACCES), ERR_INVALID (unknown user, bad spec), ERR_UNAVAILABLE. */
struct agent_exec *agent_client_exec_open(struct agent_client *c,
                                          const struct agent_exec_spec *spec, pid_t *pid_out,
                                          struct err **err);
/* Streams the exec: output to io->write, io->read_stdin to the process (on a thread the
 * client starts for it, joined before returning) until the process ends and all its output
 * was written. Blocks. Returns the exit code (>= 0; 128 + signal when killed), or -1 with
 * ERR_UNAVAILABLE when the connection is lost first. Called at most once per handle. */
int agent_exec_run(struct agent_exec *x, const struct agent_exec_io *io, struct err **err);
/* Resizes the exec's tty; callable from any thread while x lives (before, during or after
 * agent_exec_run). ERR_CONFLICT when the exec has no tty or has ended. Does not block on the
 * agent's answer. */
int agent_exec_resize(struct agent_exec *x, int height, int width, struct err **err);
/* Frees x. When the exec has not ended, the agent is told to discard its output and close
 * its stdin (the process itself is not killed, as Docker leaves a detached exec running).
 * No other thread may use x. NULL: no-op. */
void agent_exec_free(struct agent_exec *x);

/* --- Files ---------------------------------------------------------------------------------- */

/* A path's stat as Docker's X-Docker-Container-Path-Stat carries it. */
struct agent_stat {
    char name[256];
    int64_t size;
    uint32_t mode; /* Go's os.FileMode bits (compat-notes 20) */
    int64_t mtime_ns;
    char link_target[4096];
};

/* Stats path inside the container (symlinks not followed at the last component, as Docker's
 * HEAD /archive). Errors: ERR_NOT_FOUND, ERR_INVALID, ERR_UNAVAILABLE. Blocks. */
int agent_client_stat(struct agent_client *c, const char *path, struct agent_stat *out,
                      struct err **err);

/* Where an archive get delivers: on_stat once before any data (then the caller may send its
 * headers), write for every piece of the tar stream (-1: stop, the session is cancelled and
 * the call fails with ERR_UNAVAILABLE "archive reader gone"). */
struct agent_archive_sink {
    void *ctx;
    int (*on_stat)(void *ctx, const struct agent_stat *st);
    int (*write)(void *ctx, const char *data, size_t len);
};
/* Streams a tar of path inside the container (as tarfs_create: docker cp's layout) into sink.
 * Blocks until the whole tar was delivered. Errors: ERR_NOT_FOUND before on_stat when path
 * does not exist; after on_stat the tar may be cut by an error (ERR_INTERNAL with the agent's
 * message) or a lost connection (ERR_UNAVAILABLE): the caller must then abort its response. */
int agent_client_archive_get(struct agent_client *c, const char *path,
                             const struct agent_archive_sink *sink, struct err **err);
/* The same to an fd (a pipe, a file, a socket; borrowed, written from its current offset,
 * short writes and EINTR handled): *st_out (may be NULL) gets the path's stat. */
int agent_client_archive_get_fd(struct agent_client *c, const char *path, int fd,
                                struct agent_stat *st_out, struct err **err);

struct agent_put_opts {
    bool no_overwrite_dir_non_dir; /* docker cp's noOverwriteDirNonDir */
    bool chown;                    /* true: every entry gets uid:gid (docker cp -a copyUIDGID
                                      semantics are the caller's); false: entries keep theirs */
    uid_t uid;
    gid_t gid;
};
/* Extracts the tar that read yields (bytes read, 0 at the end, -1 on error: the put is
 * aborted, the agent discards it, and the call fails with ERR_INVALID "archive read failed")
 * into directory path inside the container, traversal-safe: entries with `..`, absolute names
 * or links leading out of the root are refused. opts may be NULL (defaults: all false).
 * Blocks until the agent has extracted everything and answered. Errors: ERR_NOT_FOUND
 * (path missing), ERR_INVALID (not a directory, refused entry, malformed tar),
 * ERR_UNAVAILABLE. */
int agent_client_archive_put(struct agent_client *c, const char *path,
                             const struct agent_put_opts *opts,
                             ssize_t (*read)(void *ctx, char *buf, size_t len), void *read_ctx,
                             struct err **err);

#endif
