/*
 * engine: the daemon's state and the operations on it, independent of HTTP.
 *
 * It owns the object store, the event bus, the credential store, the timers,
 * the host facts and the data root, and runs every container operation
 * through the driver chain (engine/containers.c).
 */
#ifndef SOCKERLESS_ENGINE_ENGINE_H
#define SOCKERLESS_ENGINE_ENGINE_H

#include <pthread.h>
#include <stdint.h>

#include "base/err.h"
#include "base/hostinfo.h"
#include "engine/container.h"
#include "engine/creds.h"
#include "engine/events.h"
#include "engine/store.h"
#include "engine/timer.h"

struct driver;
struct exec_io;
struct layerstore;
struct registry_config;

struct engine_counts {
    int containers, running, paused, stopped, images;
};

struct engine {
    /* The one engine lock: short updates only, never across I/O. Taken and released only
     * through engine_lock, engine_lock_read, engine_unlock and engine_cond_wait. */
    pthread_mutex_t mutex;
    /* Bumped by every engine_lock (and every wake-up of engine_cond_wait): whatever is under
     * the lock may have changed since a reader saw another value. Under the lock. Readers
     * use it to keep encoded answers (inspect, list) for as long as nothing changed. */
    uint64_t gen;
    pthread_cond_t start_done; /* with lock: broadcast when a container's start returns */
    pthread_cond_t jobs_done;  /* with lock: broadcast when the last background job ends */
    pthread_cond_t exec_state; /* with lock: broadcast when an exec's process starts or its run
                                * ends (engine_exec_started, engine_exec_run) */
    int jobs;                  /* background jobs running (engine_job_begin); under lock */
    struct events *events;
    struct creds *creds;
    struct hostinfo host;
    char *data_root;
    char id[64]; /* the engine's persistent ID (a UUID kept in <data-root>/engine-id) */
    int64_t started_ns;
    struct store store;        /* under lock */
    struct map execs;          /* id -> struct exec * (owned reference); under lock */
    struct map volumes;        /* name -> struct volume *; under lock */
    struct network **networks; /* under lock; bridge, host and none first */
    size_t n_networks;
    struct timers *timers;
    struct layerstore *layers; /* image layers and configs on disk (image/layerstore.h) */
    /* Registry client settings (image/registry.h), borrowed; NULL: the defaults. */
    const struct registry_config *registries;
    /* A registry that cannot be reached gives a synthetic pull (engine_image_pull): the
     * synthetic backend (--driver synthetic) or --offline-pulls=synthetic. */
    bool synthetic_pulls;
    const struct driver *const *drivers; /* the chain, NULL-ended */
    int *watch_fds;                      /* eventfds woken on every container change; lock */
    size_t n_watch;
};

/* Takes the engine lock to change what it guards, or to read it without caring for gen. */
static inline void
engine_lock(struct engine *eng)
{
    pthread_mutex_lock(&eng->mutex);
    eng->gen++;
}

/* Takes the engine lock for reading only: the caller changes nothing under it (except the
 * caches that gen validates), so gen stays as it is. */
static inline void
engine_lock_read(struct engine *eng)
{
    pthread_mutex_lock(&eng->mutex);
}

static inline void
engine_unlock(struct engine *eng)
{
    pthread_mutex_unlock(&eng->mutex);
}

/* pthread_cond_wait on cond with the engine lock; the lock comes back as engine_lock leaves
 * it. With deadline (CLOCK_REALTIME), a timed wait: ETIMEDOUT when it passed. */
static inline int
engine_cond_wait(struct engine *eng, pthread_cond_t *cond, const struct timespec *deadline)
{
    int rc = deadline ? pthread_cond_timedwait(cond, &eng->mutex, deadline)
                      : pthread_cond_wait(cond, &eng->mutex);
    eng->gen++;
    return rc;
}

/* Creates the data root (mode 0711) if needed, reads or creates its engine-id, reads the host
 * facts. Errors: ERR_INTERNAL with errno when the data root is unusable. */
struct engine *engine_new(const char *data_root, const struct driver *const *drivers,
                          struct err **err);
void engine_free(struct engine *eng);
/* Stops what runs in the engine before the daemon exits: waits for the background jobs, then
 * ends every event subscription. */
void engine_shutdown(struct engine *eng);
/* Work that uses the engine from a thread of its own, outside any request (a pull, push or
 * build stream's thread, a detached exec): begun before the thread starts, ended as its last
 * use of the engine. engine_shutdown waits for every one, so that engine_free cannot pull the
 * engine from under it. Once its client is gone (the server stopped) a job ends at its next
 * write, or when what it waits on (a container, a registry) ends. */
void engine_job_begin(struct engine *eng);
void engine_job_end(struct engine *eng);
void engine_get_counts(struct engine *eng, struct engine_counts *out);

/* A watch: an eventfd made readable by every container state change (wait, attach). */
int engine_watch_open(struct engine *eng);
void engine_watch_close(struct engine *eng, int fd);
/* Wakes every watch. Lock held. */
void engine_notify_locked(struct engine *eng);

/* ---- containers (engine/containers.c) ---- */

/* A network a new container joins: NetworkMode, and NetworkingConfig's EndpointsConfig. */
struct container_net_req {
    char *network; /* name or ID */
    char **aliases;
    char *ipv4; /* requested address, or NULL */
};

struct mount_req;

struct container_create {
    struct container_spec spec; /* taken */
    struct mount_req *mounts;   /* taken */
    size_t n_mounts;
    struct container_net_req *nets; /* taken */
    size_t n_nets;
    char *name;    /* "x" or "/x"; NULL: a generated one */
    void *api_doc; /* taken: see struct container */
    void (*api_doc_free)(void *);
};

/* Frees what req holds (for a request abandoned before engine_container_create). */
void container_create_fini(struct container_create *req);
/* Creates a container from req (consumed, also on failure). ERR_NOT_FOUND "No such image: x"
 * when the image is absent (the CLI pulls on that), ERR_CONFLICT on a name clash. */
int engine_container_create(struct engine *eng, struct container_create *req,
                            char id_out[ID_LEN + 1], struct err **err);
/* A new reference to the container ref names (the caller unrefs), or NULL. */
struct container *engine_container_get(struct engine *eng, const char *ref, struct err **err);
int engine_container_start(struct engine *eng, const char *ref, struct err **err);
/* timeout_s < 0: the container's StopTimeout, or 10. ERR_NOT_MODIFIED when not running. */
int engine_container_stop(struct engine *eng, const char *ref, int timeout_s, struct err **err);
int engine_container_kill(struct engine *eng, const char *ref, int signal, struct err **err);
int engine_container_restart(struct engine *eng, const char *ref, int timeout_s, struct err **err);
/* remove_volumes (`v`): also remove the anonymous volumes only this container used. */
int engine_container_remove(struct engine *eng, const char *ref, bool force, bool remove_volumes,
                            struct err **err);
int engine_container_pause(struct engine *eng, const char *ref, struct err **err);
int engine_container_unpause(struct engine *eng, const char *ref, struct err **err);
int engine_container_rename(struct engine *eng, const char *ref, const char *new_name,
                            struct err **err);
/* docker update --restart: ERR_CONFLICT when AutoRemove is set and the policy is not "no". */
int engine_container_set_restart(struct engine *eng, const char *ref, const char *policy,
                                 int max_retries, struct err **err);
/* The host directory standing for the container's root (docker cp), a new string. */
char *engine_container_root(struct engine *eng, const char *ref, char id_out[ID_LEN + 1],
                            struct err **err);
/* docker network connect / disconnect. */
int engine_network_connect(struct engine *eng, const char *net_ref, const char *container_ref,
                           char *const *aliases, const char *ipv4, struct err **err);
int engine_network_disconnect(struct engine *eng, const char *net_ref, const char *container_ref,
                              bool force, struct err **err);

/* At daemon shutdown: stops the running containers (their stop signal, then SIGKILL after
 * their stop timeout, at most 10 s in all) and lets every driver release what it holds for its
 * containers (mounts, runtime state). The containers' state is not kept across restarts yet. */
void engine_containers_shutdown(struct engine *eng);

/* For drivers: the current run number of c (bumped at every start), and the report that run
 * `run` of c exited with code (ignored when c has been started again since). */
uint64_t engine_container_run(struct engine *eng, struct container *c);
void engine_container_exited(struct engine *eng, struct container *c, uint64_t run, int code);

/* ---- execs (engine/execs.c) ---- */

struct exec {
    int refs;
    char id[ID_LEN + 1];
    struct container *c; /* a reference */
    char **cmd;          /* at least one element */
    char **env;          /* the container's env with the exec's merged over it */
    char *working_dir, *user, *detach_keys;
    bool tty, privileged, attach_stdin, attach_stdout, attach_stderr;
    bool started, running;
    int console_height, console_width; /* the tty's initial size (0: not given) */
    int exit_code;                     /* valid once started && !running */
    int pid;
    struct err *start_err; /* why the command could not be started (exit code 126), or NULL */
    void *driver_data;     /* the driver's, while the exec runs (a tty to resize) */
};

struct exec_spec {
    char **cmd, **env;
    char *working_dir, *user, *detach_keys;
    bool tty, privileged, attach_stdin, attach_stdout, attach_stderr;
    int console_height, console_width;
};

void exec_spec_fini(struct exec_spec *s);
void exec_ref(struct exec *e);
void exec_unref(struct exec *e);
/* Creates an exec in the container ref names (spec consumed). ERR_CONFLICT when the container
 * is not running (unless its driver allows it) or is paused; ERR_INVALID without a command. */
int engine_exec_create(struct engine *eng, const char *ref, struct exec_spec *spec,
                       char id_out[ID_LEN + 1], struct err **err);
/* A new reference to exec id, or NULL (ERR_NOT_FOUND "No such exec instance: id"). */
struct exec *engine_exec_get(struct engine *eng, const char *id, struct err **err);
/* Marks e started (ERR_CONFLICT if it was already). Call before the stream begins. */
int engine_exec_claim(struct engine *eng, struct exec *e, struct err **err);
/* Runs a claimed exec to the end through its container's driver; the exit code is recorded
 * (and exec_die published) before this returns, so a client that inspects the exec right
 * after the stream closes sees it (compat-notes 9). */
void engine_exec_run(struct engine *eng, struct exec *e, const struct exec_io *io);
/* The driver's word that e's process runs as pid: recorded, and waiters on exec_state woken. */
void engine_exec_started(struct engine *eng, struct exec *e, int pid);
/* Waits until the claimed exec e (run by another thread) has started its process or ended its
 * run, as dockerd's detached start does: -1 with *err (its kind and message) when the command
 * could not be started, 0 otherwise. */
int engine_exec_await_start(struct engine *eng, struct exec *e, struct err **err);

/* ---- images (engine/images.c) ---- */

/* The synthetic pull of the seed: an image whose ID is the hash of the normalized reference,
 * with no layers and an empty config; a reference that exists already is kept as it is.
 * *created tells which happened. */
int engine_image_pull_synthetic(struct engine *eng, const char *ref, bool *created,
                                struct err **err);
/* A new reference to the image, or NULL (ERR_NOT_FOUND "No such image: ref"). */
struct image *engine_image_get(struct engine *eng, const char *ref, struct err **err);
int engine_image_tag(struct engine *eng, const char *source, const char *target, struct err **err);

/* docker load of a docker-archive tar held in memory: each image is added with its tags (a tag
 * held by another image moves). *loaded: a malloc'd NULL-ended list of "Loaded image: ..."
 * names (familiar tags, or "ID sha256:..." for untagged images). */
int engine_image_load(struct engine *eng, const void *data, size_t len, char ***loaded,
                      struct err **err);

/* docker import of a rootfs tar (plain or compressed): one layer, config from changes (the
 * --change instructions, NULL-ended), history comment message; tagged as `tag` when given. */
int engine_image_import(struct engine *eng, const void *data, size_t len, const char *tag,
                        const char *message, char *const *changes, char id_out[72],
                        struct err **err);
/* docker commit: a new image from the container's config (merged under over, the request's
 * config, as dockerd merges them: over's Env by key, its Cmd, Entrypoint, User, WorkingDir,
 * StopSignal when set, Labels, ExposedPorts and Volumes added; over may be NULL), with changes
 * applied, on its image's layers plus the container's changes; tagged as `tag` when given. */
int engine_container_commit(struct engine *eng, const char *ref, const char *tag,
                            const char *comment, const char *author, char *const *changes,
                            const struct image_config *over, char id_out[72], struct err **err);

/* docker build's step: a new image (not tagged, no event) with config cfg on parent_id's
 * layers (NULL: FROM scratch), plus the changes of container cref as a layer when
 * given (and its driver keeps layers), with one history entry created_by. */
int engine_image_build_step(struct engine *eng, const char *parent_id,
                            const struct image_config *cfg, const char *author, const char *cref,
                            const char *created_by, char id_out[72], struct err **err);

/* One line of DELETE /images' answer: an untagged reference or a deleted ID. */
struct image_removal {
    char *untagged; /* familiar form, or NULL */
    char *deleted;  /* sha256:..., or NULL */
};
/* Docker's rmi: a reference untags (and deletes the image with its last tag); an ID deletes
 * (with every tag). ERR_CONFLICT when containers use it (a running one even with force) or,
 * by ID without force, when several references name it. *out: a malloc'd array of *n. */
int engine_image_remove(struct engine *eng, const char *ref, bool force, struct image_removal **out,
                        size_t *n, struct err **err);
void image_removals_free(struct image_removal *r, size_t n);

#endif
