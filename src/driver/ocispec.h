/*
 * ocispec: the OCI runtime spec (config.json) of a container and the process spec of an exec,
 * built from the engine's container as dockerd builds them for runc: args, env, cwd, user and
 * groups, hostname, namespaces, Docker's default capabilities, masked and read-only paths,
 * the default mounts (proc, dev, pts, shm, mqueue, sys, cgroup), volumes, binds and tmpfs,
 * /etc/hosts, /etc/hostname, /etc/resolv.conf, and the resource limits.
 *
 * The namespaces follow PidMode, IpcMode, UTSMode and CgroupnsMode ("container:<id>" joins
 * the namespace of that container's process, found at start by oci_joins_resolve); the
 * resources include cpuset, real-time CPU, memory reservation, swappiness, OOM killer, block
 * I/O weights and throttles and DeviceCgroupRules; CgroupParent sets the cgroups path.
 *
 * Not reproduced: dockerd's default seccomp profile and AppArmor profile (none is applied, so
 * create accepts only "unconfined" for either), the libnetwork hook. What cannot be honoured
 * at all is refused at create (oci_spec_validate).
 */
#ifndef SOCKERLESS_DRIVER_OCISPEC_H
#define SOCKERLESS_DRIVER_OCISPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

struct container;
struct engine;
struct exec;

/* A user resolved in the container's root, as the runtime wants it. */
struct oci_user {
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids; /* malloc'd */
    size_t n_additional;
    char *home; /* from passwd, or "/" (malloc'd) */
};
void oci_user_fini(struct oci_user *u);

/* Resolves Docker's user forms ("", "name", "uid", "name:group", "uid:gid", ...) against
 * rootfs's /etc/passwd and /etc/group, read inside the root (symlinks cannot lead out of it);
 * extra_groups (GroupAdd: names or numbers, may be NULL) are added. A numeric uid absent from
 * passwd is allowed, as in Docker; an unknown name is ERR_INVALID with Docker's message
 * ("unable to find user x: no matching entries in passwd file"). */
int oci_user_resolve(const char *rootfs, const char *user, char *const *extra_groups,
                     struct oci_user *out, struct err **err);

/* The processes whose namespaces a container joins (PidMode, IpcMode "container:<id>"). */
struct oci_joins {
    pid_t pid, ipc; /* 0: a namespace of its own (or the host's, for mode "host") */
    bool ipc_host;  /* the IPC donor uses the host's IPC namespace: so does the joiner */
};

/* Finds, under the engine lock, the processes of the containers c's PidMode and IpcMode
 * name. Errors, as dockerd words them: ERR_NOT_FOUND when one was removed since create,
 * ERR_CONFLICT when it is not running ("container <id> is not running", "can't join IPC of
 * container <id>: ..."), or when an IPC donor is not shareable ("non-shareable IPC ..."). */
int oci_joins_resolve(struct engine *eng, const struct container *c, struct oci_joins *out,
                      struct err **err);

/* The host files and places a container's spec refers to. */
struct oci_paths {
    const char *rootfs;                         /* the assembled root (merged/) */
    const char *hosts, *hostname, *resolv_conf; /* bind-mounted over /etc/...; NULL: none */
    const char *cgroups_path; /* "/sockerless/<id>"; NULL: the runtime's default; a
                                 CgroupParent replaces it (see oci_cgroups_path) */
    bool new_netns;           /* --network none: a network namespace of its own */
    const char *init_path;    /* the host's docker-init (tini) for Init, or NULL */
    struct oci_joins joins;   /* from oci_joins_resolve; zero: nothing to join */
};

/* The cgroups path c runs in (a new string): "<CgroupParent>/<id>" as dockerd joins them (a
 * relative parent is relative to the runtime's own cgroup, as runc reads it), else
 * "/sockerless/<id>". */
char *oci_cgroups_path(const struct container *c);
/* For a driver that runs processes, at create: refuses what c asks for that cannot be
 * honoured (ERR_INVALID, "<Member> is not supported by sockerless: ..."), and a Runtime
 * other than the one in use ("Unknown runtime specified x", as dockerd). */
int oci_spec_validate(const struct container *c, struct err **err);

/* config.json for c, as dockerd 20.10 writes it for runc. Env gets Docker's additions (PATH
 * when unset, HOSTNAME, TERM=xterm with a tty) and HOME from user when unset. Reads host facts
 * it needs: the devices named in HostConfig.Devices (all of /dev when privileged), the
 * daemon's own capability bounding set (privileged), the cgroup version.
 * Errors (ERR_INVALID, Docker's or runc's wording): no command, a device that is not one, an
 * invalid tmpfs option, an unknown rlimit, a net.* sysctl without a network namespace of its
 * own, a block I/O device path that does not exist; ERR_UNSUPPORTED: Init without
 * paths->init_path; ERR_CONFLICT: a "container:" mode without its process in paths->joins. */
json_t *oci_spec_container(const struct container *c, const struct oci_user *user,
                           const struct oci_paths *paths, struct err **err);
/* The process spec of exec e in c (runc exec --process): the container's process settings
 * (rlimits, no-new-privileges, OOM score, capabilities) with e's args, env (plus Docker's
 * additions), cwd (e's, else the container's, else "/"), user and terminal; all capabilities
 * when e or c is privileged. */
json_t *oci_spec_exec(const struct container *c, const struct exec *e, const struct oci_user *user,
                      struct err **err);

/* The container's /etc/hosts (a new string), as libnetwork writes it: the localhost and IPv6
 * lines, ExtraHosts ("host-gateway" is 127.0.0.1: a container that shares the host's network
 * namespace reaches the host there), then "<ipv4> <fqdn> <short>" when ipv4_or_null is given.
 * NetworkMode "host" without ExtraHosts copies the host's /etc/hosts. */
char *oci_hosts_file(const struct container *c, const char *ipv4_or_null);
/* The container's /etc/resolv.conf (a new string) from the host's /etc/resolv.conf; see
 * oci_resolv_conf_from. An unreadable host file reads as empty. */
char *oci_resolv_conf(const struct container *c);
/* As dockerd adapts host_text (the host's resolv.conf): with Dns, DnsSearch or DnsOptions set,
 * "search", "nameserver" and "options" lines built from them, each list taken from the host
 * when not given; without them, NetworkMode "none" drops localhost nameservers (falling back
 * to Google's public servers), and every other mode, which shares the host's network
 * namespace here, keeps the host's file as it is. */
char *oci_resolv_conf_from(const struct container *c, const char *host_text);

/* A HostConfig.DeviceCgroupRules entry, as dockerd's deviceCgroupRuleRegex reads it:
 * "<type> <major>:<minor> <access>" with type a, b or c, numbers or "*" (-1), and one to three
 * of r, w, m. oci_device_rule_parse is false when rule does not match. */
struct oci_device_rule {
    char type[2];
    long long major, minor;
    char access[4];
};
bool oci_device_rule_parse(const char *rule, struct oci_device_rule *out);

/* The canonical "CAP_X" name of a capability given as "x", "X" or "CAP_X" (any case), "ALL"
 * for "all", or NULL when unknown (static strings). */
const char *oci_cap_canonical(const char *name);
/* True when name ("nofile", any case) is a resource limit the runtime knows. */
bool oci_rlimit_is_known(const char *name);

#endif
