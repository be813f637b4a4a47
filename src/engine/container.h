/*
 * container: the engine's container object and its state machine.
 *
 * The engine owns every container (struct store); handlers and drivers borrow one under the
 * engine lock, or take a reference (container_ref) to use it after the lock is dropped: a
 * container removed while a stream still uses it is unlinked at once and freed with its last
 * reference. Fields are C names; api/ maps them to Docker's JSON.
 */
#ifndef SOCKERLESS_ENGINE_CONTAINER_H
#define SOCKERLESS_ENGINE_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/labels.h"
#include "engine/health.h"
#include "engine/ids.h"
#include "engine/logbuf.h"

enum container_status {
    CONTAINER_CREATED,
    CONTAINER_RUNNING,
    CONTAINER_PAUSED,
    CONTAINER_RESTARTING,
    CONTAINER_REMOVING,
    CONTAINER_EXITED,
    CONTAINER_DEAD,
};

/* A resource limit (HostConfig.Ulimits): name as `ulimit` spells it ("nofile"); -1: unlimited. */
struct container_ulimit {
    char *name;
    int64_t soft, hard;
};

/* A host device made available in the container (HostConfig.Devices). */
struct container_device {
    char *path_on_host, *path_in_container;
    char *permissions; /* cgroup access, a non-empty subset of "rwm" */
};

/* A block I/O setting for one device (HostConfig.BlkioWeightDevice, BlkioDevice*): the host
 * path as given (looked at when the container starts) and a weight, bytes/s or operations/s. */
enum container_blkio_kind {
    BLKIO_WEIGHT,
    BLKIO_READ_BPS,
    BLKIO_WRITE_BPS,
    BLKIO_READ_IOPS,
    BLKIO_WRITE_IOPS,
};
struct container_blkio {
    enum container_blkio_kind kind;
    char *path;
    uint64_t value;
};

/* What the client asked for at create time, merged with the image's config. */
struct container_spec {
    char *image; /* as the client wrote it (Config.Image) */
    char *hostname, *domainname, *user, *working_dir, *stop_signal;
    char **env;        /* image env merged by key under the request's */
    char **cmd;        /* NULL: none */
    char **entrypoint; /* NULL: none */
    bool tty, open_stdin, stdin_once, attach_stdin, attach_stdout, attach_stderr;
    int stop_timeout; /* seconds, -1: the default (10) */
    struct labels labels;
    char **exposed_ports;        /* "8080/tcp"; the image's merged with the request's */
    struct health_config health; /* the request's, or the image's */
    /* Host side */
    char *restart_policy; /* "no", "always", "unless-stopped", "on-failure" */
    int restart_max_retries;
    bool auto_remove;
    char *network_mode;
    /* Process driver settings (HostConfig), validated at create; see driver/ocispec.h. */
    int console_height, console_width;         /* HostConfig.ConsoleSize: the tty's first size */
    bool read_only;                            /* ReadonlyRootfs */
    bool privileged, init;                     /* Init: docker-init as pid 1 */
    bool no_new_privileges;                    /* SecurityOpt no-new-privileges */
    char **cap_add, **cap_drop;                /* canonical "CAP_X" names, or "ALL" */
    char **group_add;                          /* GroupAdd: names or numbers, or NULL */
    int64_t memory, memory_swap;               /* bytes, 0: unset; swap -1: unlimited */
    int64_t nano_cpus;                         /* 1e9 per CPU, 0: unset */
    int64_t cpu_shares, cpu_quota, cpu_period; /* 0: unset */
    int64_t pids_limit;                        /* <= 0: unlimited */
    int64_t shm_size;                          /* bytes of /dev/shm, 0: 64 MiB */
    int oom_score_adj;
    char **extra_hosts;                      /* "name:ip" */
    char **dns, **dns_search, **dns_options; /* NULL: the host's */
    struct labels sysctls;
    struct labels tmpfs; /* HostConfig.Tmpfs: destination -> options */
    struct container_ulimit *ulimits;
    size_t n_ulimits;
    struct container_device *devices;
    size_t n_devices;
    /* HostConfig.MaskedPaths / ReadonlyPaths when given (has_*: false gives Docker's defaults) */
    char **masked_paths, **readonly_paths;
    bool has_masked_paths, has_readonly_paths;
    /* Namespaces: "" (private), "host", or "container:<full id>" (joined at start); IPC also
     * "private", "shareable" (both private here) and "none" (no /dev/shm). */
    char *pid_mode, *ipc_mode;
    bool uts_host;       /* UTSMode "host": the host's hostname */
    char *cgroupns_mode; /* "private", "host"; NULL or "": private on cgroup v2 only */
    char *cgroup_parent; /* HostConfig.CgroupParent; NULL or "": the daemon's ("/sockerless") */
    char *cpuset_cpus, *cpuset_mems;        /* NULL: unset */
    int64_t cpu_rt_period, cpu_rt_runtime;  /* microseconds, 0: unset */
    int64_t memory_reservation, kernel_tcp; /* bytes, 0: unset */
    int memory_swappiness;                  /* 0..100 when has_swappiness */
    bool has_swappiness;
    bool oom_kill_disable;
    int blkio_weight;              /* 10..1000, 0: unset */
    struct container_blkio *blkio; /* per-device weights and throttles */
    size_t n_blkio;
    char **device_cgroup_rules; /* "c 1:3 rwm", validated */
    struct labels annotations;  /* HostConfig.Annotations, given to the runtime */
    char *runtime;              /* HostConfig.Runtime; NULL or "": the daemon's */
    /* What a driver that runs processes cannot honour, refused when such a driver is picked:
     * Docker's "<Member> is not supported by sockerless: why" messages (NULL: none). */
    char **unsupported;
};

struct container_state {
    enum container_status status;
    int pid;
    int exit_code;
    char *error;
    int64_t started_ns, finished_ns; /* 0: never */
    int restart_count;
    uint64_t exits; /* how many times it exited: wait's next-exit */
    struct health_state health;
    bool stopped_by_user; /* an explicit stop or kill: no restart policy afterwards */
};

struct driver;
struct net_attachment;
struct mount;

struct container {
    int refs;
    char id[ID_LEN + 1];
    char *name; /* with the leading '/' */
    int64_t created_ns;
    char *image_id; /* sha256:... */
    char *path;     /* the command's executable: entrypoint[0] or cmd[0] */
    char **args;    /* the rest of entrypoint + cmd */
    struct container_spec spec;
    struct container_state state;
    struct logbuf *logs;
    const struct driver *driver; /* set at create by the chain */
    void *driver_data;
    struct mount *mounts; /* engine/volume.h */
    size_t n_mounts;
    struct net_attachment *nets; /* networks it is attached to (engine/network.h) */
    size_t n_nets;
    uint64_t generation; /* bumped on every state change, under the engine lock */
    bool removed;        /* unlinked from the store */
    /* Under the engine lock: the driver's start runs (stop, kill, pause and remove wait for it
     * on eng->start_done), a removal runs (a start is refused). */
    bool starting, removing;
    /* The api layer's decoded request, echoed by inspect; opaque to the engine. */
    void *api_doc;
    void (*api_doc_free)(void *);
};

struct container *container_new(void);
void container_ref(struct container *c);
void container_unref(struct container *c);
void container_spec_fini(struct container_spec *s);

/* Docker's status word: "created", "running", "paused", "restarting", "removing", "exited",
 * "dead". */
const char *container_status_name(enum container_status s);
/* True while a process exists: running, paused or restarting. */
bool container_is_running(const struct container *c);
/* The short ID (first 12 characters), borrowed. */
const char *container_short_id(const struct container *c, char out[SHORT_ID_LEN + 1]);

#endif
