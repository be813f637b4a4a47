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
#include <sys/types.h>

#include "base/err.h"

struct engine;
struct container;
struct exec;

/* Where an exec's output goes and its input comes from (the hijacked connection, framed by
 * api/). write returns -1 when the client is gone; read_stdin returns 0 at EOF. */
struct exec_io {
    void *ctx;
    int (*write)(void *ctx, int stream, const char *data, size_t len);
    ssize_t (*read_stdin)(void *ctx, char *buf, size_t len);
};

struct driver {
    const char *name;
    /* True when this driver can run c. */
    bool (*owns)(const struct driver *d, struct engine *eng, const struct container *c);
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
    /* True when exec is possible in a container that is not running (synthetic only). */
    bool exec_when_stopped;
    /* Frees what the driver keeps for c (at remove). */
    void (*cleanup)(struct engine *eng, struct container *c);
};

/* An exec_io read_stdin for callers with no input to give: always EOF. */
ssize_t exec_io_no_stdin(void *ctx, char *buf, size_t len);

/* The synthetic driver: no process; the seed's documented behaviour (docs/drivers.md). */
extern const struct driver driver_synthetic;

/* The first driver of chain (a NULL-ended list) that owns c, or NULL. */
const struct driver *driver_chain_pick(const struct driver *const *chain, struct engine *eng,
                                       const struct container *c);

#endif
