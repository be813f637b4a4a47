/*
 * driver: the capability interfaces every execution driver implements, and the chain that
 * picks one per container (architecture.md, "The driver chain"). The chain asks Agent, then
 * Process, then Synthetic; the first that owns the container serves every call for it.
 *
 * Drivers are called without the engine lock and report what happens to the process through
 * engine_container_* calls (started, exited), which take the lock themselves.
 * Exec, attach and filesystem capabilities join this table with their endpoints.
 */
#ifndef SOCKERLESS_DRIVER_DRIVER_H
#define SOCKERLESS_DRIVER_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct engine;
struct container;
struct exec;
struct proc_stats;    /* driver/procinfo.h */
struct proc_top;      /* driver/procinfo.h */
struct rootfs_change; /* driver/rootfs.h */
struct tarfs_stat;    /* image/tarfs.h */
struct tarfs_owner;   /* image/tarfs.h */

/* Where an exec's output goes and its input comes from (the hijacked connection, framed by
 * api/). write returns -1 when the client is gone; read_stdin returns 0 at EOF. */
struct exec_io {
    void *ctx;
    int (*write)(void *ctx, int stream, const char *data, size_t len);
    ssize_t (*read_stdin)(void *ctx, char *buf, size_t len);
    /* Makes a read_stdin blocked in another thread return 0 (the command ended). May be
     * NULL when read_stdin never blocks. */
    void (*cancel_stdin)(void *ctx);
};

/* Where a driver keeps a container's files, for inspect (malloc'd strings, NULL: none). */
struct driver_files {
    char *resolv_conf, *hostname, *hosts, *log; /* ResolvConfPath ... LogPath */
    char *lower, *merged, *upper, *work;        /* GraphDriver.Data */
};
void driver_files_fini(struct driver_files *f);

struct driver {
    const char *name;
    /* True when this driver can run c. */
    bool (*owns)(const struct driver *d, struct engine *eng, const struct container *c);
    /* False when the driver cannot run anything on this machine (NULL: always ready). */
    bool (*ready)(void);
    /* At create, once the driver is picked: refuses what it cannot honour in c's spec
     * (ERR_INVALID) and what dockerd's create refuses in the container's root (the process
     * driver's working directory check). NULL: everything is accepted. Called with the engine
     * lock held. */
    int (*validate)(struct engine *eng, const struct container *c, struct err **err);
    /* Lifecycle. stop sends signal, then SIGKILL after timeout_s (-1: wait forever). */
    int (*start)(struct engine *eng, struct container *c, struct err **err);
    int (*stop)(struct engine *eng, struct container *c, int signal, int timeout_s,
                struct err **err);
    int (*kill)(struct engine *eng, struct container *c, int signal, struct err **err);
    int (*pause)(struct engine *eng, struct container *c, struct err **err);
    int (*unpause)(struct engine *eng, struct container *c, struct err **err);
    /* Runs e in c, streaming through io; returns the exit code, or -1 with *err when the
     * command could not run at all. Blocks until the command ends. */
    int (*exec)(struct engine *eng, struct container *c, struct exec *e, const struct exec_io *io,
                struct err **err);
    /* Filesystem: the host directory that stands for c's root (docker cp works inside it).
     * *out is a new string. */
    int (*root_path)(struct engine *eng, struct container *c, char **out, struct err **err);
    /* docker cp where the files are not on this host (an agent's container). Each is NULL in
     * drivers whose root_path serves docker cp; when set, they are asked first and may answer
     * ERR_UNSUPPORTED to fall back to root_path (archive_put: before its first read). Same
     * semantics as tarfs_stat, tarfs_create (the tar written to out_fd, *st filled) and
     * tarfs_extract_from (the tar read with read, as it comes). ERR_NOT_FOUND: no such path. */
    int (*archive_stat)(struct engine *eng, struct container *c, const char *path,
                        struct tarfs_stat *out, struct err **err);
    int (*archive_get)(struct engine *eng, struct container *c, const char *path, int out_fd,
                       struct tarfs_stat *st, struct err **err);
    int (*archive_put)(struct engine *eng, struct container *c, const char *path,
                       ssize_t (*read)(void *ctx, void *buf, size_t len), void *read_ctx,
                       bool no_overwrite_dir_non_dir, const struct tarfs_owner *owner,
                       struct err **err);
    /* Input for the container's stdin from an attached client (OpenStdin containers); close:
     * the client half-closed its input and the container was created with StdinOnce. NULL:
     * input is read and dropped. */
    int (*attach_stdin)(struct engine *eng, struct container *c, const char *data, size_t len,
                        struct err **err);
    void (*attach_stdin_close)(struct engine *eng, struct container *c);
    /* Terminal size of the container's or an exec's tty. NULL: nothing to resize. */
    int (*resize)(struct engine *eng, struct container *c, int height, int width, struct err **err);
    int (*exec_resize)(struct engine *eng, struct exec *e, int height, int width, struct err **err);
    /* Observability: docker top (ps_args as given, may be NULL), one docker stats sample, and
     * docker diff (a malloc'd array of *n changes). */
    int (*top)(struct engine *eng, struct container *c, const char *ps_args, struct proc_top *out,
               struct err **err);
    int (*stats)(struct engine *eng, struct container *c, struct proc_stats *out, struct err **err);
    int (*changes)(struct engine *eng, struct container *c, struct rootfs_change **out, size_t *n,
                   struct err **err);
    /* Inspect's paths for c (engine lock held: no engine calls). NULL: none. */
    void (*files)(struct engine *eng, const struct container *c, struct driver_files *out);
    /* docker commit: the container's filesystem changes as a layer tar written to out_fd.
     * NULL: the driver has no filesystem layers (synthetic: a commit adds no layer). */
    int (*diff_tar)(struct engine *eng, struct container *c, int out_fd, struct err **err);
    /* True when exec is possible in a container that is not running (synthetic only). */
    bool exec_when_stopped;
    /* Frees what the driver keeps for c (at remove). */
    void (*cleanup)(struct engine *eng, struct container *c);
};

/* An exec_io read_stdin for callers with no input to give: always EOF. */
ssize_t exec_io_no_stdin(void *ctx, char *buf, size_t len);

/* The synthetic driver: no process; the seed's documented behaviour (docs/drivers.md). */
extern const struct driver driver_synthetic;

/* The process driver: real containers through an OCI runtime (docs/drivers.md). It owns every
 * container once process_driver_init has found a working runtime, none before. */
extern const struct driver driver_process;
/* Called from the probe's thread when the process driver cannot run (msg says why), before
 * anyone waiting for the probe learns it. */
typedef void process_driver_failed_fn(const char *msg, void *ctx);
/* Becomes the child subreaper and finds the OCI runtime (runtime: a name or path, NULL: crun,
 * then runc); fails (*err) when none exists. The rest runs in a thread of its own, so the
 * daemon can listen at once: it prepares the base root of images without layers, probes
 * overlayfs and tries each runtime with a trial container. Until it ends, whatever needs the
 * driver (owns, ready, process_driver_runtime, process_driver_status) waits; if it fails,
 * failed(msg, ctx) is called and the driver stays unready. */
int process_driver_init(const char *data_root, const char *runtime,
                        process_driver_failed_fn *failed, void *ctx, struct err **err);
/* Why the process driver is not in use (for /info), or NULL. */
void process_driver_set_status(const char *status);
const char *process_driver_status(void);
/* The runtime in use, or NULL. */
const char *process_driver_runtime(void);
/* Waits for the probe's thread, then frees the driver's state. */
void process_driver_fini(void);
/* A short directory of the process driver for sockets (sun_path holds 108 bytes: 32 are left
 * for names under it), or NULL before process_driver_init. */
const char *process_driver_run_dir(void);

/* Local use of the agent (docs/internals/agent-driver.md): the process driver runs the
 * container's command under sockerless-agent. The agent binary is bind-mounted read-only at
 * PROCESS_WRAP_AGENT and agent_dir at PROCESS_WRAP_DIR; the process becomes
 * `PROCESS_WRAP_AGENT <agent_args...> -- <the command>` (after docker-init with --init), runs
 * as root without a terminal (the agent runs the command as the container's user, with its
 * terminal), and the agent's own stdout and stderr go to agent.log in the container's
 * directory, not to the container's logs. */
#define PROCESS_WRAP_AGENT "/.sockerless/agent"
#define PROCESS_WRAP_DIR "/.sockerless/run"
#define PROCESS_WRAP_CALLBACK_DIR "/.sockerless/callback"
struct process_wrap {
    const char *agent_binary;
    const char *agent_dir;
    const char *callback_dir; /* bind-mounted at PROCESS_WRAP_CALLBACK_DIR, or NULL */
    char *const *agent_args;  /* NULL-ended */
    /* Called by the monitor once the container's process (the agent) has ended, in place of
     * engine_container_exited; code as Docker reports it (128+n for signal n). */
    void (*ended)(void *ctx, struct engine *eng, struct container *c, uint64_t run, int code);
    void *ctx;
};
/* proc_start with w: the driver's own stop, kill and cleanup keep working on the wrapped
 * container (they signal the agent). */
int process_start_wrapped(struct engine *eng, struct container *c, const struct process_wrap *w,
                          struct err **err);

/* The agent driver: containers whose command runs under sockerless-agent, local (the process
 * driver wraps the command, --agent-mode) or remote (labels name the agent); docs/drivers.md. */
extern const struct driver driver_agent;
enum agent_driver_mode { AGENT_DRIVER_OFF, AGENT_DRIVER_FORWARD, AGENT_DRIVER_REVERSE };
struct agent_driver_config {
    enum agent_driver_mode mode; /* local use; remote agents are served in every mode */
    const char *listen;          /* reverse-mode callback address, or NULL (see sockerlessd -h) */
    const char *binary;          /* the agent for local use, or NULL: found next to sockerlessd */
    int timeout_ms;              /* a silent agent is dead after this (0: 15000) */
};
/* After process_driver_init: finds the agent binary (mode not off: the process driver must be
 * ready) and opens the callback listener when there is one. */
int agent_driver_init(const struct agent_driver_config *cfg, struct err **err);
/* Closes and reopens the callback listener, dropping every reverse connection (the agents dial
 * again); sockerlessd does it on SIGHUP. */
int agent_driver_reopen_listener(struct err **err);
void agent_driver_fini(void);
/* For /info: "forward" or "reverse" (NULL when off and no callback listener is open, "off"
 * with one), and the callback listener's address as configured (NULL: none). */
const char *agent_driver_mode_name(void);
const char *agent_driver_callback(void);

/* The first driver of chain (a NULL-ended list) that owns c, or NULL. */
const struct driver *driver_chain_pick(const struct driver *const *chain, struct engine *eng,
                                       const struct container *c);

#endif
