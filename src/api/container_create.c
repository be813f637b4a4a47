/* POST /containers/create: the body's Config and HostConfig into the engine's spec. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/container_doc.h"
#include "api/jsonx.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/ocispec.h"
#include "engine/engine.h"
#include "engine/volume.h"

void
container_doc_free(void *p)
{
    struct container_doc *d = p;
    if (d == NULL)
        return;
    json_decref(d->host_config);
    json_decref(d->config);
    free(d->list_fixed);
    http_shared_unref(d->inspect);
    free(d->list_head);
    free(d->list_tail);
    free(d);
}

/* dockerd's defaults for a HostConfig member the request left out (observed with dockerd). */
static json_t *
host_config_defaults(void)
{
    return json_pack(
        "{s:n, s:s, s:{s:s, s:{}}, s:s, s:{}, s:{s:s, s:i}, s:b, s:s, s:n, s:n, s:n, s:s,"
        " s:[], s:[], s:[], s:n, s:n, s:s, s:s, s:n, s:i, s:s, s:b, s:b, s:b, s:n, s:s, s:s,"
        " s:I, s:s, s:[i,i], s:s, s:i, s:i, s:i, s:s, s:i, s:[], s:[], s:[], s:[], s:[], s:i,"
        " s:i, s:i, s:i, s:s, s:s, s:[], s:n, s:n, s:i, s:i, s:i, s:n, s:b, s:n, s:[], s:i,"
        " s:i, s:i, s:i}",
        "Binds", "ContainerIDFile", "", "LogConfig", "Type", "json-file", "Config", "NetworkMode",
        "default", "PortBindings", "RestartPolicy", "Name", "no", "MaximumRetryCount", 0,
        "AutoRemove", 0, "VolumeDriver", "", "VolumesFrom", "CapAdd", "CapDrop", "CgroupnsMode",
        "host", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "IpcMode", "private",
        "Cgroup", "", "Links", "OomScoreAdj", 0, "PidMode", "", "Privileged", 0, "PublishAllPorts",
        0, "ReadonlyRootfs", 0, "SecurityOpt", "UTSMode", "", "UsernsMode", "", "ShmSize",
        (json_int_t)67108864, "Runtime", "", "ConsoleSize", 0, 0, "Isolation", "", "CpuShares", 0,
        "Memory", 0, "NanoCpus", 0, "CgroupParent", "", "BlkioWeight", 0, "BlkioWeightDevice",
        "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
        "CpuPeriod", 0, "CpuQuota", 0, "CpuRealtimePeriod", 0, "CpuRealtimeRuntime", 0,
        "CpusetCpus", "", "CpusetMems", "", "Devices", "DeviceCgroupRules", "DeviceRequests",
        "MemoryReservation", 0, "MemorySwap", 0, "KernelMemoryTCP", 0, "MemorySwappiness",
        "OomKillDisable", 0, "PidsLimit", "Ulimits", "CpuCount", 0, "CpuPercent", 0,
        "IOMaximumIOps", 0, "IOMaximumBandwidth", 0);
}

/* One read-only instance of the defaults, shared by every container's inspect. */
static json_t *shared_defaults;
static pthread_once_t shared_defaults_once = PTHREAD_ONCE_INIT;

static void
make_shared_defaults(void)
{
    shared_defaults = host_config_defaults();
}

void
container_doc_compact(struct container_doc *doc)
{
    pthread_once(&shared_defaults_once, make_shared_defaults);
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(doc->host_config, tmp, k, v)
    {
        if (json_equal(v, json_object_get(shared_defaults, k)))
            json_object_del(doc->host_config, k);
    }
}

json_t *
container_doc_host_config(const struct container_doc *doc)
{
    pthread_once(&shared_defaults_once, make_shared_defaults);
    json_t *hc = json_copy(shared_defaults); /* shallow: the shared values are never changed */
    if (doc->host_config != NULL)
        json_object_update(hc, doc->host_config);
    return hc;
}

static const char *const restart_policies[] = {"no", "always", "unless-stopped", "on-failure",
                                               NULL};

int
api_check_restart_policy(const char *name, int64_t retries, struct err **err)
{
    bool known = false;
    for (size_t i = 0; restart_policies[i] != NULL && !known; i++)
        known = strcmp(restart_policies[i], name) == 0;
    if (!known)
        return err_make(err, ERR_INVALID, 0,
                        "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', "
                        "'on-failure', or 'unless-stopped'",
                        name);
    if (retries < 0)
        return err_make(err, ERR_INVALID, 0,
                        "invalid restart policy: maximum retry count cannot be negative");
    if (retries > 0 && strcmp(name, "on-failure") != 0)
        return err_make(err, ERR_INVALID, 0,
                        "invalid restart policy: maximum retry count can only be used with "
                        "'on-failure'");
    return 0;
}

/* ---- HostConfig for the process driver: each member honoured in the OCI spec or refused ---- */

/* CapAdd / CapDrop as canonical names (oci/caps normalizeLegacyCapabilities). */
static int
decode_caps(json_t *hc, const char *key, char ***out, struct err **err)
{
    char **given = NULL;
    if (jsonx_strv(hc, key, false, &given, err) < 0)
        return -1;
    for (size_t i = 0; given != NULL && given[i] != NULL; i++) {
        const char *c = oci_cap_canonical(given[i]);
        if (c == NULL) {
            char up[80];
            size_t n = 0;
            if (strncasecmp(given[i], "CAP_", 4) != 0)
                n = (size_t)snprintf(up, sizeof(up), "CAP_");
            for (const char *p = given[i]; *p && n + 1 < sizeof(up); p++)
                up[n++] = (char)toupper((unsigned char)*p);
            up[n] = '\0';
            strv_free(given);
            strv_free(*out);
            *out = NULL;
            return err_make(err, ERR_INVALID, 0, "invalid %s: unknown capability: \"%s\"", key, up);
        }
        if (!strv_contains(*out, c))
            *out = strv_append(*out, c);
    }
    strv_free(given);
    return 0;
}

/* Go's net.ParseIP on the trimmed text (opts.ValidateIPAddress). */
static bool
valid_ip(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *t = xstrdup(s);
    size_t n = strlen(t);
    while (n > 0 && isspace((unsigned char)t[n - 1]))
        t[--n] = '\0';
    unsigned char buf[16];
    bool ok = inet_pton(AF_INET, t, buf) == 1 || inet_pton(AF_INET6, t, buf) == 1;
    free(t);
    return ok;
}

/* A list member that becomes a line of a file in the container must stay one line. */
static int
check_one_line(char *const *v, const char *key, struct err **err)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        if (strpbrk(v[i], "\n\r") != NULL)
            return err_make(err, ERR_INVALID, 0, "invalid %s entry: %.64s", key, v[i]);
    return 0;
}

/* ExtraHosts, Dns, DnsSearch, DnsOptions (an empty list is the same as none, as in dockerd). */
static int
decode_dns(json_t *hc, struct container_spec *s, struct err **err)
{
    const char *keys[] = {"ExtraHosts", "Dns", "DnsSearch", "DnsOptions"};
    char ***fields[] = {&s->extra_hosts, &s->dns, &s->dns_search, &s->dns_options};
    for (int i = 0; i < 4; i++) {
        if (jsonx_strv(hc, keys[i], false, fields[i], err) < 0 ||
            check_one_line(*fields[i], keys[i], err) < 0)
            return -1;
        if (*fields[i] != NULL && (*fields[i])[0] == NULL) {
            strv_free(*fields[i]);
            *fields[i] = NULL;
        }
    }
    for (size_t i = 0; s->extra_hosts != NULL && s->extra_hosts[i] != NULL; i++) {
        const char *e = s->extra_hosts[i];
        const char *colon = strchr(e, ':'); /* the first only: the address may be IPv6 */
        if (colon == NULL || colon == e)
            return err_make(err, ERR_INVALID, 0, "bad format for add-host: \"%s\"", e);
        if (strcmp(colon + 1, "host-gateway") != 0 && !valid_ip(colon + 1))
            return err_make(err, ERR_INVALID, 0, "invalid IP address in add-host: \"%s\"",
                            colon + 1);
    }
    return 0;
}

/* Go's strconv.ParseBool. */
static int
parse_go_bool(const char *v, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
    for (size_t i = 0; t[i] != NULL; i++) {
        if (strcmp(v, t[i]) == 0)
            return *out = true, 0;
        if (strcmp(v, f[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

/* SecurityOpt, as daemon parseSecurityOpt reads it. We apply no seccomp profile, no AppArmor
 * profile and no SELinux label: "unconfined" for the first two is what we do anyway, and
 * labels mean nothing without SELinux (dockerd ignores them too on such a host); a profile to
 * apply is refused rather than ignored. */
static int
decode_security_opt(json_t *hc, struct container_spec *s, struct err **err)
{
    char **opts = NULL;
    if (jsonx_strv(hc, "SecurityOpt", false, &opts, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; opts != NULL && opts[i] != NULL && rc == 0; i++) {
        const char *o = opts[i];
        if (strcmp(o, "no-new-privileges") == 0) {
            s->no_new_privileges = true;
            continue;
        }
        if (strcmp(o, "disable") == 0)
            continue;
        const char *sep = strchr(o, '=');
        if (sep == NULL)
            sep = strchr(o, ':');
        if (sep == NULL) {
            rc = err_make(err, ERR_INVALID, 0, "invalid --security-opt 1: \"%s\"", o);
            break;
        }
        size_t klen = (size_t)(sep - o);
        const char *v = sep + 1;
        if (klen == 5 && strncmp(o, "label", 5) == 0)
            continue;
        if (klen == 17 && strncmp(o, "no-new-privileges", 17) == 0) {
            if (parse_go_bool(v, &s->no_new_privileges) < 0)
                rc = err_make(err, ERR_INVALID, 0, "invalid --security-opt 2: \"%s\"", o);
        } else if ((klen == 7 && strncmp(o, "seccomp", 7) == 0) ||
                   (klen == 8 && strncmp(o, "apparmor", 8) == 0)) {
            if (strcmp(v, "unconfined") != 0)
                rc = err_make(err, ERR_INVALID, 0,
                              "invalid --security-opt \"%.*s\": only \"unconfined\" is supported "
                              "(no %.*s profile is applied)",
                              (int)klen, o, (int)klen, o);
        } else {
            rc = err_make(err, ERR_INVALID, 0, "invalid --security-opt 2: \"%s\"", o);
        }
    }
    strv_free(opts);
    return rc;
}

/* Memory, CPU, pids, /dev/shm and the OOM score, validated as verifyPlatformContainerResources
 * does (the CPU count is checked against the host in check_host_resources). */
static int
decode_resources(json_t *hc, struct container_spec *s, struct err **err)
{
    int64_t oom = 0, pids = 0;
    bool has_pids = false;
    if (jsonx_int(hc, "Memory", &s->memory, NULL, err) < 0 ||
        jsonx_int(hc, "MemorySwap", &s->memory_swap, NULL, err) < 0 ||
        jsonx_int(hc, "NanoCpus", &s->nano_cpus, NULL, err) < 0 ||
        jsonx_int(hc, "CpuShares", &s->cpu_shares, NULL, err) < 0 ||
        jsonx_int(hc, "CpuQuota", &s->cpu_quota, NULL, err) < 0 ||
        jsonx_int(hc, "CpuPeriod", &s->cpu_period, NULL, err) < 0 ||
        jsonx_int(hc, "PidsLimit", &pids, &has_pids, err) < 0 ||
        jsonx_int(hc, "ShmSize", &s->shm_size, NULL, err) < 0 ||
        jsonx_int(hc, "OomScoreAdj", &oom, NULL, err) < 0)
        return -1;
    s->pids_limit = has_pids ? pids : 0;
    if (oom < -1000 || oom > 1000)
        return err_make(err, ERR_INVALID, 0,
                        "Invalid value %lld, range for oom score adj is [-1000, 1000]",
                        (long long)oom);
    s->oom_score_adj = (int)oom;
    if (s->memory != 0 && s->memory < 6 * 1024 * 1024)
        return err_make(err, ERR_INVALID, 0, "Minimum memory limit allowed is 6MB");
    if (s->memory > 0 && s->memory_swap > 0 && s->memory_swap < s->memory)
        return err_make(err, ERR_INVALID, 0,
                        "Minimum memoryswap limit should be larger than memory limit, see usage");
    if (s->memory == 0 && s->memory_swap > 0)
        return err_make(err, ERR_INVALID, 0,
                        "You should always set the Memory limit when using Memoryswap limit, see "
                        "usage");
    if (s->nano_cpus > 0 && s->cpu_period > 0)
        return err_make(err, ERR_INVALID, 0,
                        "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    if (s->nano_cpus > 0 && s->cpu_quota > 0)
        return err_make(err, ERR_INVALID, 0,
                        "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    if (s->cpu_period != 0 && (s->cpu_period < 1000 || s->cpu_period > 1000000))
        return err_make(err, ERR_INVALID, 0,
                        "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s "
                        "(i.e. 1000000)");
    if (s->cpu_quota > 0 && s->cpu_quota < 1000)
        return err_make(err, ERR_INVALID, 0, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    /* dockerd passes these to runc, which refuses them at start */
    if (s->cpu_shares < 0)
        return err_make(err, ERR_INVALID, 0, "invalid CpuShares %lld: shares: invalid argument",
                        (long long)s->cpu_shares);
    if (s->shm_size < 0)
        return err_make(err, ERR_INVALID, 0, "SHM size can not be less than 0");
    return 0;
}

/* Ulimits: [{"Name", "Soft", "Hard"}], with go-units' checks (the CLI's; dockerd leaves them
 * to runc at start). */
static int
decode_ulimits(json_t *hc, struct container_spec *s, struct err **err)
{
    json_t *a = json_object_get(hc, "Ulimits");
    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal Ulimits");
    size_t i;
    json_t *u;
    json_array_foreach(a, i, u)
    {
        char *name = NULL;
        int64_t soft = 0, hard = 0;
        if (!json_is_object(u) || jsonx_string(u, "Name", &name, err) < 0 ||
            jsonx_int(u, "Soft", &soft, NULL, err) < 0 ||
            jsonx_int(u, "Hard", &hard, NULL, err) < 0) {
            free(name);
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal Ulimits");
        }
        int rc = 0;
        if (name == NULL || !oci_rlimit_is_known(name))
            rc = err_make(err, ERR_INVALID, 0, "invalid ulimit type: %s", name ? name : "");
        else if (soft < -1 || hard < -1)
            rc = err_make(err, ERR_INVALID, 0, "invalid ulimit value for %s: below -1", name);
        else if (soft != -1 && hard != -1 && soft > hard)
            rc = err_make(err, ERR_INVALID, 0,
                          "ulimit soft limit must be less than or equal to hard limit: %lld > "
                          "%lld",
                          (long long)soft, (long long)hard);
        if (rc < 0) {
            free(name);
            return -1;
        }
        s->ulimits = xrealloc(s->ulimits, (s->n_ulimits + 1) * sizeof(*s->ulimits));
        s->ulimits[s->n_ulimits++] = (struct container_ulimit){name, soft, hard};
    }
    return 0;
}

/* Devices: [{"PathOnHost", "PathInContainer", "CgroupPermissions"}], the CLI's defaults for
 * what is left empty; the host path is looked at when the container starts, as in dockerd. */
static int
decode_devices(json_t *hc, struct container_spec *s, struct err **err)
{
    json_t *a = json_object_get(hc, "Devices");
    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal Devices");
    size_t i;
    json_t *d;
    json_array_foreach(a, i, d)
    {
        struct container_device dev = {0};
        if (!json_is_object(d) || jsonx_string(d, "PathOnHost", &dev.path_on_host, err) < 0 ||
            jsonx_string(d, "PathInContainer", &dev.path_in_container, err) < 0 ||
            jsonx_string(d, "CgroupPermissions", &dev.permissions, err) < 0) {
            free(dev.path_on_host);
            free(dev.path_in_container);
            free(dev.permissions);
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal Devices");
        }
        s->devices = xrealloc(s->devices, (s->n_devices + 1) * sizeof(*s->devices));
        s->devices[s->n_devices++] = dev;
        struct container_device *p = &s->devices[s->n_devices - 1];
        if (p->path_on_host == NULL || p->path_on_host[0] != '/')
            return err_make(err, ERR_INVALID, 0, "invalid device path on host: \"%s\"",
                            p->path_on_host ? p->path_on_host : "");
        if (p->path_in_container == NULL || *p->path_in_container == '\0') {
            free(p->path_in_container);
            p->path_in_container = xstrdup(p->path_on_host);
        } else if (p->path_in_container[0] != '/') {
            char *abs = xasprintf("/%s", p->path_in_container); /* as runc reads it */
            free(p->path_in_container);
            p->path_in_container = abs;
        }
        if (p->permissions == NULL || *p->permissions == '\0') {
            free(p->permissions);
            p->permissions = xstrdup("rwm");
        }
        if (strspn(p->permissions, "rwm") != strlen(p->permissions))
            return err_make(err, ERR_INVALID, 0, "invalid device cgroup permissions: \"%s\"",
                            p->permissions);
    }
    return 0;
}

/* Tmpfs: {destination: options}; the options are checked when the spec is built. */
static int
decode_tmpfs(json_t *hc, struct container_spec *s, struct err **err)
{
    if (jsonx_labels(hc, "Tmpfs", &s->tmpfs, err) < 0)
        return -1;
    for (size_t i = 0; i < s->tmpfs.n; i++)
        if (s->tmpfs.keys[i][0] != '/')
            return err_make(err, ERR_INVALID, 0,
                            "invalid mount path: '%s' mount path must be absolute",
                            s->tmpfs.keys[i]);
    return 0;
}

/* ---- namespaces, cgroup and the resources dockerd validates before any driver ---- */

/* A member a driver that runs processes cannot honour: the message it refuses c with. */
static void not_supported(struct container_spec *s, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
not_supported(struct container_spec *s, const char *member, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    cleanup_free char *msg = xasprintf("%s is not supported by sockerless: %s", member, why);
    s->unsupported = strv_append(s->unsupported, msg);
}

static bool
mode_in(const char *mode, const char *const *valid)
{
    for (size_t i = 0; valid[i] != NULL; i++)
        if (strcmp(mode, valid[i]) == 0)
            return true;
    return strncmp(mode, "container:", 10) == 0 && mode[10] != '\0';
}

/* PidMode, IpcMode, UTSMode, CgroupnsMode (api/types/container/hostconfig.go Valid(), and
 * the messages of verifyPlatformContainerSettings); the "container:" references are looked
 * up once the request is decoded (resolve_references). */
static int
decode_namespaces(json_t *hc, struct container_spec *s, struct err **err)
{
    static const char *const pid_modes[] = {"", "host", NULL};
    static const char *const ipc_modes[] = {"", "none", "private", "shareable", "host", NULL};
    static const char *const cgroupns_modes[] = {"", "private", "host", NULL};
    cleanup_free char *uts = NULL;
    if (jsonx_string(hc, "PidMode", &s->pid_mode, err) < 0 ||
        jsonx_string(hc, "IpcMode", &s->ipc_mode, err) < 0 ||
        jsonx_string(hc, "UTSMode", &uts, err) < 0 ||
        jsonx_string(hc, "CgroupnsMode", &s->cgroupns_mode, err) < 0 ||
        jsonx_string(hc, "CgroupParent", &s->cgroup_parent, err) < 0)
        return -1;
    if (s->pid_mode != NULL && !mode_in(s->pid_mode, pid_modes))
        return err_make(err, ERR_INVALID, 0, "invalid PID mode: %s", s->pid_mode);
    if (s->ipc_mode != NULL && !mode_in(s->ipc_mode, ipc_modes))
        return err_make(err, ERR_INVALID, 0, "invalid IPC mode: %s", s->ipc_mode);
    if (uts != NULL && *uts != '\0' && strcmp(uts, "host") != 0)
        return err_make(err, ERR_INVALID, 0, "invalid UTS mode: %s", uts);
    s->uts_host = uts != NULL && strcmp(uts, "host") == 0;
    if (s->uts_host && s->hostname != NULL && *s->hostname != '\0')
        return err_make(err, ERR_INVALID, 0, "conflicting options: hostname and the UTS mode");
    if (s->cgroupns_mode != NULL && (!mode_in(s->cgroupns_mode, cgroupns_modes) ||
                                     strncmp(s->cgroupns_mode, "container:", 10) == 0))
        return err_make(err, ERR_INVALID, 0, "invalid cgroup namespace mode: %s", s->cgroupns_mode);
    /* what inspect shows for the defaults: dockerd 20.10's daemon defaults */
    if (s->ipc_mode == NULL || *s->ipc_mode == '\0')
        json_object_set_new(hc, "IpcMode", json_string("private"));
    if (s->cgroupns_mode == NULL || *s->cgroupns_mode == '\0')
        json_object_set_new(hc, "CgroupnsMode",
                            json_string(access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
                                            ? "private"
                                            : "host"));
    return 0;
}

struct uint_range {
    long long lo, hi;
};

/* Go's strconv.Atoi on [p, end). */
static bool
go_atoi_n(const char *p, const char *end, long long *out)
{
    cleanup_free char *t = xstrndup(p, (size_t)(end - p));
    const char *d = t + (*t == '+' || *t == '-');
    if (*d == '\0' || strspn(d, "0123456789") != strlen(d))
        return false;
    errno = 0;
    *out = strtoll(t, NULL, 10);
    return errno == 0;
}

/* parsers.parseUintList: "0-2,5" as ranges (malloc'd, *n), every value at most maximum when
 * maximum > 0. NULL with *why (a new string) when val is not such a list. */
static struct uint_range *
uint_list_parse(const char *val, long long maximum, size_t *n, char **why)
{
    struct uint_range *v = xcalloc(1, sizeof(*v));
    *n = 0;
    for (const char *p = val; *val != '\0';) {
        const char *comma = strchr(p, ',');
        const char *end = comma != NULL ? comma : p + strlen(p);
        const char *dash = memchr(p, '-', (size_t)(end - p));
        struct uint_range r;
        bool ok = dash == NULL ? go_atoi_n(p, end, &r.lo)
                               : go_atoi_n(p, dash, &r.lo) && go_atoi_n(dash + 1, end, &r.hi);
        if (dash == NULL)
            r.hi = r.lo;
        if (!ok || r.hi < r.lo) {
            free(v);
            *why = xasprintf("invalid format: %s", val);
            return NULL;
        }
        if (maximum > 0 && r.hi > maximum) {
            free(v);
            *why = xasprintf("value of out range, maximum is %lld", maximum);
            return NULL;
        }
        v = xrealloc(v, (*n + 1) * sizeof(*v));
        v[(*n)++] = r;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return v;
}

/* CpusetCpus / CpusetMems: the format now; the host's CPUs and nodes in check_cpuset. */
static int
decode_cpuset(json_t *hc, struct container_spec *s, struct err **err)
{
    const char *keys[] = {"CpusetCpus", "CpusetMems"};
    char **fields[] = {&s->cpuset_cpus, &s->cpuset_mems};
    for (int i = 0; i < 2; i++) {
        if (jsonx_string(hc, keys[i], fields[i], err) < 0)
            return -1;
        const char *v = *fields[i];
        size_t n;
        char *why = NULL;
        struct uint_range *r = uint_list_parse(v != NULL ? v : "", 0, &n, &why);
        if (r == NULL) {
            int rc = err_make(err, ERR_INVALID, 0, "Invalid value %s for cpuset %s: %s", v,
                              i == 0 ? "cpus" : "mems", why);
            free(why);
            return rc;
        }
        free(r);
    }
    return 0;
}

/* BlkioWeightDevice ({Path, Weight}) and the four throttle lists ({Path, Rate}). */
static int
decode_blkio(json_t *hc, struct container_spec *s, struct err **err)
{
    static const struct {
        const char *key, *value;
        enum container_blkio_kind kind;
        uint64_t max;
    } lists[] = {
        {"BlkioWeightDevice", "Weight", BLKIO_WEIGHT, UINT16_MAX},
        {"BlkioDeviceReadBps", "Rate", BLKIO_READ_BPS, INT64_MAX},
        {"BlkioDeviceWriteBps", "Rate", BLKIO_WRITE_BPS, INT64_MAX},
        {"BlkioDeviceReadIOps", "Rate", BLKIO_READ_IOPS, INT64_MAX},
        {"BlkioDeviceWriteIOps", "Rate", BLKIO_WRITE_IOPS, INT64_MAX},
    };
    int64_t weight = 0;
    if (jsonx_int(hc, "BlkioWeight", &weight, NULL, err) < 0)
        return -1;
    if (weight < 0 || weight > UINT16_MAX)
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal BlkioWeight");
    s->blkio_weight = (int)weight;
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        json_t *a = json_object_get(hc, lists[l].key);
        if (a == NULL || json_is_null(a))
            continue;
        if (!json_is_array(a))
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal %s", lists[l].key);
        size_t i;
        json_t *d;
        json_array_foreach(a, i, d)
        {
            json_t *path = json_object_get(d, "Path"), *value = json_object_get(d, lists[l].value);
            json_int_t v = json_is_integer(value) ? json_integer_value(value) : -1;
            if (!json_is_object(d) || (path != NULL && !json_is_string(path)) ||
                (value != NULL && !json_is_integer(value)) || v < 0 || (uint64_t)v > lists[l].max)
                return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal %s.%s", lists[l].key,
                                lists[l].value);
            s->blkio = xrealloc(s->blkio, (s->n_blkio + 1) * sizeof(*s->blkio));
            s->blkio[s->n_blkio++] = (struct container_blkio){
                lists[l].kind, xstrdup(path != NULL ? json_string_value(path) : ""),
                value != NULL ? (uint64_t)v : 0};
        }
    }
    return 0;
}

/* The memory and CPU members beyond decode_resources (verifyPlatformContainerResources,
 * validateResources). */
static int
decode_more_resources(json_t *hc, struct container_spec *s, struct err **err)
{
    int64_t swappiness = -1, kmem = 0, io_bw = 0, io_ops = 0;
    bool has_swappiness = false;
    if (jsonx_int(hc, "MemoryReservation", &s->memory_reservation, NULL, err) < 0 ||
        jsonx_int(hc, "MemorySwappiness", &swappiness, &has_swappiness, err) < 0 ||
        jsonx_bool(hc, "OomKillDisable", &s->oom_kill_disable, err) < 0 ||
        jsonx_int(hc, "KernelMemory", &kmem, NULL, err) < 0 ||
        jsonx_int(hc, "KernelMemoryTCP", &s->kernel_tcp, NULL, err) < 0 ||
        jsonx_int(hc, "CpuRealtimePeriod", &s->cpu_rt_period, NULL, err) < 0 ||
        jsonx_int(hc, "CpuRealtimeRuntime", &s->cpu_rt_runtime, NULL, err) < 0 ||
        jsonx_int(hc, "IOMaximumBandwidth", &io_bw, NULL, err) < 0 ||
        jsonx_int(hc, "IOMaximumIOps", &io_ops, NULL, err) < 0)
        return -1;
    /* fixMemorySwappiness: -1 is "not set", shown as null */
    if (has_swappiness && swappiness == -1) {
        has_swappiness = false;
        json_object_set_new(hc, "MemorySwappiness", json_null());
    }
    if (has_swappiness && (swappiness < 0 || swappiness > 100))
        return err_make(err, ERR_INVALID, 0,
                        "Invalid value: %lld, valid memory swappiness range is 0-100",
                        (long long)swappiness);
    s->has_swappiness = has_swappiness;
    s->memory_swappiness = has_swappiness ? (int)swappiness : 0;
    if (s->memory_reservation > 0 && s->memory_reservation < 6 * 1024 * 1024)
        return err_make(err, ERR_INVALID, 0, "Minimum memory reservation allowed is 6MB");
    if (s->memory > 0 && s->memory_reservation > 0 && s->memory < s->memory_reservation)
        return err_make(err, ERR_INVALID, 0,
                        "Minimum memory limit can not be less than memory reservation limit, see "
                        "usage");
    if (io_bw != 0)
        return err_make(err, ERR_INVALID, 0,
                        "Invalid QoS settings: linux does not support configuration of maximum "
                        "bandwidth");
    if (io_ops != 0)
        return err_make(err, ERR_INVALID, 0,
                        "Invalid QoS settings: linux does not support configuration of maximum "
                        "IOPs");
    if (s->cpu_rt_period != 0 && s->cpu_rt_runtime != 0 && s->cpu_rt_runtime > s->cpu_rt_period)
        return err_make(err, ERR_INVALID, 0,
                        "cpu real-time runtime cannot be higher than cpu real-time period");
    if (kmem > 0)
        not_supported(s, "KernelMemory",
                      "kernel memory limits are deprecated and no longer applied by runtimes");
    return 0;
}

/* DeviceCgroupRules (checked when dockerd starts the container; here at create),
 * DeviceRequests, Annotations, Runtime, Isolation, UsernsMode, Cgroup, StorageOpt. */
static int
decode_host_misc(json_t *hc, struct container_spec *s, struct err **err)
{
    cleanup_free char *isolation = NULL;
    cleanup_free char *userns = NULL;
    cleanup_free char *cgroup = NULL;
    if (jsonx_strv(hc, "DeviceCgroupRules", false, &s->device_cgroup_rules, err) < 0 ||
        jsonx_labels(hc, "Annotations", &s->annotations, err) < 0 ||
        jsonx_string(hc, "Runtime", &s->runtime, err) < 0 ||
        jsonx_string(hc, "Isolation", &isolation, err) < 0 ||
        jsonx_string(hc, "UsernsMode", &userns, err) < 0 ||
        jsonx_string(hc, "Cgroup", &cgroup, err) < 0)
        return -1;
    for (size_t i = 0; s->device_cgroup_rules && s->device_cgroup_rules[i]; i++) {
        struct oci_device_rule r;
        if (!oci_device_rule_parse(s->device_cgroup_rules[i], &r))
            return err_make(err, ERR_INVALID, 0, "invalid device cgroup rule format: '%s'",
                            s->device_cgroup_rules[i]);
    }
    if (isolation != NULL && *isolation != '\0' && strcasecmp(isolation, "default") != 0)
        return err_make(err, ERR_INVALID, 0,
                        "Invalid isolation: \"%s\" - linux only supports 'default'", isolation);
    json_t *dr = json_object_get(hc, "DeviceRequests");
    if (dr != NULL && !json_is_null(dr) && !json_is_array(dr))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal DeviceRequests");
    if (json_array_size(dr) > 0)
        not_supported(s, "DeviceRequests",
                      "no device driver (such as nvidia's for --gpus) is available");
    if (userns != NULL && *userns != '\0' && strcmp(userns, "host") != 0)
        not_supported(s, "UsernsMode", "\"%s\": containers run without a user namespace", userns);
    if (cgroup != NULL && *cgroup != '\0')
        not_supported(s, "Cgroup", "\"%s\": a container cannot join another one's cgroup", cgroup);
    json_t *so = json_object_get(hc, "StorageOpt");
    if (so != NULL && !json_is_null(so) && !json_is_object(so))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal StorageOpt");
    if (json_object_size(so) > 0)
        not_supported(s, "StorageOpt", "the container's root has no size limit (overlayfs)");
    return 0;
}

/* LogConfig: the container's output is kept as a json-file log, without options. */
static int
decode_log_config(json_t *hc, struct container_spec *s, struct err **err)
{
    static const char *const builtin[] = {"none",    "local",   "syslog",     "journald",
                                          "gelf",    "fluentd", "awslogs",    "splunk",
                                          "etwlogs", "gcplogs", "logentries", NULL};
    static const char *const json_opts[] = {"max-size",  "max-file",     "compress",
                                            "labels",    "labels-regex", "env",
                                            "env-regex", "tag",          NULL};
    json_t *lc = json_object_get(hc, "LogConfig");
    if (lc == NULL || json_is_null(lc))
        return 0;
    json_t *cfg = json_is_object(lc) ? json_object_get(lc, "Config") : NULL;
    cleanup_free char *type = NULL;
    if (!json_is_object(lc) || jsonx_string(lc, "Type", &type, err) < 0 ||
        (cfg != NULL && !json_is_null(cfg) && !json_is_object(cfg)))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal LogConfig");
    const char *t = type != NULL && *type != '\0' ? type : "json-file";
    json_object_set_new(lc, "Type", json_string(t)); /* dockerd shows the daemon's default */
    if (strcmp(t, "json-file") != 0) {
        bool known = false;
        for (size_t i = 0; builtin[i] != NULL && !known; i++)
            known = strcmp(builtin[i], t) == 0;
        if (!known)
            return err_make(err, ERR_INVALID, 0,
                            "error looking up logging plugin %s: plugin \"%s\" not found", t, t);
        not_supported(s, "LogConfig", "log driver \"%s\": the output is kept as a json-file log",
                      t);
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v)
    {
        bool known = false;
        for (size_t i = 0; json_opts[i] != NULL && !known; i++)
            known = strcmp(json_opts[i], k) == 0;
        if (!known)
            return err_make(err, ERR_INVALID, 0, "unknown log opt '%s' for json-file log driver",
                            k);
        if (!json_is_string(v))
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal LogConfig.Config");
        if (*json_string_value(v) != '\0')
            not_supported(s, "LogConfig",
                          "json-file option %s: the log is kept whole, without rotation or "
                          "attributes",
                          k);
    }
    return 0;
}

/* nat.ParsePort / nat.NewPort: a port number, a "a-b" range (host side), or "" */
static bool
valid_port(const char *p, bool range_ok)
{
    if (*p == '\0')
        return true;
    const char *dash = range_ok ? strchr(p, '-') : NULL;
    long long lo = 0, hi = 0;
    const char *end = p + strlen(p);
    if (dash == NULL)
        return strspn(p, "0123456789") == strlen(p) && go_atoi_n(p, end, &lo) && lo <= 65535;
    return strspn(p, "0123456789-") == strlen(p) && go_atoi_n(p, dash, &lo) &&
           go_atoi_n(dash + 1, end, &hi) && lo <= hi && hi <= 65535;
}

/* PortBindings, checked as verifyContainerSettings does. Containers share the host's network
 * (or have none), so a port is reachable at its own number on every address the process
 * listens on: a binding to that number (or to any number, HostPort "") is what happens
 * anyway; another host port or a single host address would need a proxy. */
static int
decode_port_bindings(json_t *hc, struct container_spec *s, struct err **err)
{
    json_t *pb = json_object_get(hc, "PortBindings");
    if (pb == NULL || json_is_null(pb))
        return 0;
    if (!json_is_object(pb))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal PortBindings");
    const char *key;
    json_t *list;
    json_object_foreach(pb, key, list)
    {
        cleanup_free char *port = xstrdup(key);
        char *slash = strchr(port, '/');
        if (slash != NULL)
            *slash = '\0';
        if (!valid_port(port, false))
            return err_make(err, ERR_INVALID, 0, "invalid port specification: \"%s\"", port);
        if (list != NULL && !json_is_null(list) && !json_is_array(list))
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal PortBindings");
        size_t i;
        json_t *b;
        json_array_foreach(list, i, b)
        {
            json_t *hp = json_object_get(b, "HostPort"), *hip = json_object_get(b, "HostIp");
            if (!json_is_object(b) || (hp != NULL && !json_is_string(hp) && !json_is_null(hp)) ||
                (hip != NULL && !json_is_string(hip) && !json_is_null(hip)))
                return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal PortBindings");
            const char *host_port = json_is_string(hp) ? json_string_value(hp) : "";
            const char *host_ip = json_is_string(hip) ? json_string_value(hip) : "";
            cleanup_free char *hport = xstrdup(host_port);
            char *hslash = strchr(hport, '/');
            if (hslash != NULL)
                *hslash = '\0';
            if (!valid_port(hport, true))
                return err_make(err, ERR_INVALID, 0, "invalid port specification: \"%s\"",
                                host_port);
            if (*hport != '\0' && strcmp(hport, port) != 0)
                not_supported(s, "PortBindings",
                              "host port %s for container port %s: containers share the host's "
                              "network, so a port is reachable at its own number only",
                              host_port, key);
            else if (*host_ip != '\0' && strcmp(host_ip, "0.0.0.0") != 0 &&
                     strcmp(host_ip, "::") != 0)
                not_supported(s, "PortBindings",
                              "host address %s for port %s: containers share the host's "
                              "network, so a port is reachable on every address its process "
                              "listens on",
                              host_ip, key);
        }
    }
    return 0;
}

static int
decode_host_process(json_t *hc, struct container_spec *s, struct err **err)
{
    char **masked = NULL, **ro_paths = NULL;
    if (jsonx_console_size(hc, "ConsoleSize", &s->console_height, &s->console_width, err) < 0 ||
        jsonx_bool(hc, "ReadonlyRootfs", &s->read_only, err) < 0 ||
        jsonx_bool(hc, "Privileged", &s->privileged, err) < 0 ||
        jsonx_bool(hc, "Init", &s->init, err) < 0 ||
        decode_caps(hc, "CapAdd", &s->cap_add, err) < 0 ||
        decode_caps(hc, "CapDrop", &s->cap_drop, err) < 0 ||
        jsonx_strv(hc, "GroupAdd", false, &s->group_add, err) < 0 ||
        decode_resources(hc, s, err) < 0 || decode_more_resources(hc, s, err) < 0 ||
        decode_cpuset(hc, s, err) < 0 || decode_blkio(hc, s, err) < 0 ||
        decode_namespaces(hc, s, err) < 0 || decode_host_misc(hc, s, err) < 0 ||
        decode_log_config(hc, s, err) < 0 || decode_port_bindings(hc, s, err) < 0 ||
        decode_dns(hc, s, err) < 0 || decode_security_opt(hc, s, err) < 0 ||
        jsonx_labels(hc, "Sysctls", &s->sysctls, err) < 0 || decode_ulimits(hc, s, err) < 0 ||
        decode_devices(hc, s, err) < 0 || decode_tmpfs(hc, s, err) < 0 ||
        jsonx_strv(hc, "MaskedPaths", false, &masked, err) < 0 ||
        jsonx_strv(hc, "ReadonlyPaths", false, &ro_paths, err) < 0)
        return -1;
    s->masked_paths = masked;
    s->has_masked_paths = masked != NULL;
    s->readonly_paths = ro_paths;
    s->has_readonly_paths = ro_paths != NULL;
    for (size_t i = 0; i < s->sysctls.n; i++)
        if (s->sysctls.keys[i][0] == '\0' || strpbrk(s->sysctls.keys[i], "/\n") != NULL)
            return err_make(err, ERR_INVALID, 0, "invalid sysctl: \"%s\"", s->sysctls.keys[i]);
    /* adaptContainerSettings: what inspect then shows */
    if (s->shm_size == 0) {
        s->shm_size = 64 * 1024 * 1024;
        json_object_set_new(hc, "ShmSize", json_integer(s->shm_size));
    }
    if (s->memory > 0 && s->memory_swap == 0) {
        s->memory_swap = s->memory * 2;
        json_object_set_new(hc, "MemorySwap", json_integer(s->memory_swap));
    }
    if (s->pids_limit <= 0)
        json_object_set_new(hc, "PidsLimit", json_null());
    return 0;
}

/* A HostConfig.Tmpfs path may not be another mount's, except an anonymous volume (image or
 * Config.Volumes), which the tmpfs replaces as in dockerd. */
static int
check_tmpfs_targets(const struct container_create *req, struct err **err)
{
    for (size_t i = 0; i < req->spec.tmpfs.n; i++)
        for (size_t j = 0; j < req->n_mounts; j++) {
            const struct mount_req *m = &req->mounts[j];
            bool anonymous = m->type == MOUNT_VOLUME && m->source == NULL;
            if (!anonymous && m->destination != NULL &&
                strcmp(m->destination, req->spec.tmpfs.keys[i]) == 0)
                return err_make(err, ERR_INVALID, 0, "Duplicate mount point: %s", m->destination);
        }
    return 0;
}

/* What the host's cgroups can apply, as dockerd's sysinfo finds it: on cgroup v1 a file of
 * the controller's hierarchy (v1_file, under /sys/fs/cgroup), on v2 an enabled controller
 * (NULL: never on v2). */
static bool
cgroup_can(const char *v1_file, const char *v2_controller)
{
    cleanup_free char *path = xasprintf("/sys/fs/cgroup/%s", v1_file);
    if (access(path, F_OK) == 0)
        return true;
    if (v2_controller == NULL)
        return false;
    FILE *f = fopen("/sys/fs/cgroup/cgroup.controllers", "re");
    char line[512] = "";
    if (f != NULL) {
        if (fgets(line, sizeof(line), f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
    for (char *save = NULL, *w = strtok_r(line, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
        if (strcmp(w, v2_controller) == 0)
            return true;
    return false;
}

static void
warn(json_t *warnings, const char *text)
{
    json_array_append_new(warnings, json_string(text));
}

/* Memory members the host's cgroups cannot apply are dropped with dockerd's warnings. */
static void
check_host_memory(struct container_spec *s, json_t *hc, json_t *warnings)
{
    /* cgroup v1: memsw files; v2: swap is limited wherever memory is */
    if (s->memory > 0 && s->memory_swap != -1 &&
        !cgroup_can("memory/memory.memsw.limit_in_bytes", "memory")) {
        warn(warnings, "Your kernel does not support swap limit capabilities or the cgroup is "
                       "not mounted. Memory limited without swap.");
        s->memory_swap = -1;
        json_object_set_new(hc, "MemorySwap", json_integer(-1));
    }
    if (s->has_swappiness && !cgroup_can("memory/memory.swappiness", NULL)) {
        warn(warnings, "Your kernel does not support memory swappiness capabilities or the "
                       "cgroup is not mounted. Memory swappiness discarded.");
        s->has_swappiness = false;
        json_object_set_new(hc, "MemorySwappiness", json_null());
    }
    if (s->memory_reservation > 0 && !cgroup_can("memory/memory.soft_limit_in_bytes", "memory")) {
        warn(warnings, "Your kernel does not support memory soft limit capabilities or the "
                       "cgroup is not mounted. Limitation discarded.");
        s->memory_reservation = 0;
        json_object_set_new(hc, "MemoryReservation", json_integer(0));
    }
    if (s->oom_kill_disable && !cgroup_can("memory/memory.oom_control", NULL)) {
        warn(warnings, "Your kernel does not support OomKillDisable. OomKillDisable discarded.");
        s->oom_kill_disable = false;
        json_object_set_new(hc, "OomKillDisable", json_false());
    }
    if (s->oom_kill_disable && s->memory == 0)
        warn(warnings, "OOM killer is disabled for the container, but no memory limit is set, "
                       "this can result in the system running out of resources.");
    /* runc applies a TCP buffer limit on cgroup v1 only */
    if (s->kernel_tcp > 0 && !cgroup_can("memory/memory.kmem.tcp.limit_in_bytes", NULL))
        not_supported(s, "KernelMemoryTCP", "this host's cgroups cannot limit TCP buffer memory");
    int64_t kmem = 0;
    json_t *v = json_object_get(hc, "KernelMemory");
    if (json_is_integer(v))
        kmem = json_integer_value(v);
    if (kmem > 0)
        warn(warnings, "Specifying a kernel memory limit is deprecated and will be removed in a "
                       "future release.");
}

/* The CPUs or memory nodes asked for must be the host's (IsCpusetCpusAvailable). */
static int
check_cpuset_list(const char *what, const char *req, const char *avail_file, struct err **err)
{
    char avail[4096] = "";
    FILE *f = fopen(avail_file, "re");
    if (f != NULL) {
        if (fgets(avail, sizeof(avail), f) == NULL)
            avail[0] = '\0';
        fclose(f);
    }
    avail[strcspn(avail, "\n")] = '\0';
    size_t na = 0, nr = 0;
    char *why = NULL;
    struct uint_range *a = uint_list_parse(avail, 0, &na, &why);
    free(why);
    why = NULL;
    long long maximum = 8192; /* dockerd's defaultMaxCPUs, or the host's highest */
    for (size_t i = 0; a != NULL && i < na; i++)
        maximum = a[i].hi > maximum ? a[i].hi : maximum;
    struct uint_range *r = uint_list_parse(req, maximum, &nr, &why);
    int rc = 0;
    if (r == NULL)
        rc = err_make(err, ERR_INVALID, 0, "Invalid value %s for cpuset %s: %s", req, what, why);
    for (size_t i = 0; r != NULL && i < nr && rc == 0; i++) {
        /* each requested range covered by available ones: a step per available range */
        long long v = r[i].lo;
        while (v <= r[i].hi) {
            size_t j = 0;
            while (a != NULL && j < na && !(v >= a[j].lo && v <= a[j].hi))
                j++;
            if (a == NULL || j == na)
                break;
            v = a[j].hi + 1;
        }
        if (v <= r[i].hi)
            rc = err_make(err, ERR_INVALID, 0,
                          "Requested %s are not available - requested %s, available: %s",
                          strcmp(what, "cpus") == 0 ? "CPUs" : "memory nodes", req, avail);
    }
    free(why);
    free(a);
    free(r);
    return rc;
}

static int
check_host_cpu(struct container_spec *s, json_t *hc, json_t *warnings, struct err **err)
{
    const char *percent_count[][2] = {
        {"CpuPercent", "linux does not support CPU percent. Percent discarded."},
        {"CpuCount", "linux does not support CPU count. Count discarded."}};
    for (int i = 0; i < 2; i++) { /* Windows only: dropped with a warning */
        json_t *v = json_object_get(hc, percent_count[i][0]);
        if (json_is_integer(v) && json_integer_value(v) > 0) {
            warn(warnings, percent_count[i][1]);
            json_object_set_new(hc, percent_count[i][0], json_integer(0));
        }
    }
    if ((s->cpu_rt_period != 0 || s->cpu_rt_runtime != 0) &&
        !cgroup_can("cpu/cpu.rt_period_us", NULL))
        return err_make(err, ERR_INVALID, 0,
                        "Your kernel does not support CPU real-time scheduler");
    bool cpus = s->cpuset_cpus != NULL && *s->cpuset_cpus != '\0';
    bool mems = s->cpuset_mems != NULL && *s->cpuset_mems != '\0';
    bool v1 = access("/sys/fs/cgroup/cpuset/cpuset.cpus", F_OK) == 0;
    if ((cpus || mems) && !cgroup_can("cpuset/cpuset.cpus", "cpuset")) {
        warn(warnings, "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset "
                       "discarded.");
        free(s->cpuset_cpus);
        free(s->cpuset_mems);
        s->cpuset_cpus = s->cpuset_mems = NULL;
        json_object_set_new(hc, "CpusetCpus", json_string(""));
        json_object_set_new(hc, "CpusetMems", json_string(""));
        return 0;
    }
    if (cpus && check_cpuset_list("cpus", s->cpuset_cpus,
                                  v1 ? "/sys/fs/cgroup/cpuset/cpuset.cpus"
                                     : "/sys/fs/cgroup/cpuset.cpus.effective",
                                  err) < 0)
        return -1;
    if (mems && check_cpuset_list("mems", s->cpuset_mems,
                                  v1 ? "/sys/fs/cgroup/cpuset/cpuset.mems"
                                     : "/sys/fs/cgroup/cpuset.mems.effective",
                                  err) < 0)
        return -1;
    return 0;
}

/* Block I/O settings the host cannot apply are dropped with dockerd's warnings. */
static int
check_host_blkio(struct container_spec *s, json_t *hc, json_t *warnings, struct err **err)
{
    static const struct {
        const char *v1_file, *key, *warning;
    } kinds[] = {
        [BLKIO_WEIGHT] = {"blkio/blkio.weight_device", "BlkioWeightDevice",
                          "Your kernel does not support Block I/O weight_device or the cgroup is "
                          "not mounted. Weight-device discarded."},
        [BLKIO_READ_BPS] = {"blkio/blkio.throttle.read_bps_device", "BlkioDeviceReadBps",
                            "Your kernel does not support BPS Block I/O read limit or the cgroup "
                            "is not mounted. Block I/O BPS read limit discarded."},
        [BLKIO_WRITE_BPS] = {"blkio/blkio.throttle.write_bps_device", "BlkioDeviceWriteBps",
                             "Your kernel does not support BPS Block I/O write limit or the "
                             "cgroup is not mounted. Block I/O BPS write limit discarded."},
        [BLKIO_READ_IOPS] = {"blkio/blkio.throttle.read_iops_device", "BlkioDeviceReadIOps",
                             "Your kernel does not support IOPS Block read limit or the cgroup "
                             "is not mounted. Block I/O IOPS read limit discarded."},
        [BLKIO_WRITE_IOPS] = {"blkio/blkio.throttle.write_iops_device", "BlkioDeviceWriteIOps",
                              "Your kernel does not support IOPS Block write limit or the cgroup "
                              "is not mounted. Block I/O IOPS write limit discarded."},
    };
    if (s->blkio_weight > 0 && !cgroup_can("blkio/blkio.weight", "io") &&
        !cgroup_can("blkio/blkio.bfq.weight", NULL)) {
        warn(warnings, "Your kernel does not support Block I/O weight or the cgroup is not "
                       "mounted. Weight discarded.");
        s->blkio_weight = 0;
        json_object_set_new(hc, "BlkioWeight", json_integer(0));
    }
    if (s->blkio_weight > 0 && (s->blkio_weight < 10 || s->blkio_weight > 1000))
        return err_make(err, ERR_INVALID, 0, "Range of blkio weight is from 10 to 1000");
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t kept = 0, dropped = 0;
        bool can = cgroup_can(kinds[k].v1_file, "io") ||
                   (k == BLKIO_WEIGHT && cgroup_can("blkio/blkio.bfq.weight_device", NULL));
        for (size_t i = 0; i < s->n_blkio; i++) {
            if (s->blkio[i].kind == k && !can) {
                free(s->blkio[i].path);
                dropped++;
            } else {
                s->blkio[kept++] = s->blkio[i];
            }
        }
        s->n_blkio = kept;
        if (dropped > 0) {
            warn(warnings, kinds[k].warning);
            json_object_set_new(hc, kinds[k].key, json_array());
        }
    }
    return 0;
}

/* The checks that depend on the host: the CPU count, the CPUs and memory nodes of a cpuset,
 * and what the host's cgroups can apply (dockerd drops what they cannot with a warning). */
static int
check_host_resources(struct container_create *req, const struct hostinfo *host, json_t *warnings,
                     struct err **err)
{
    struct container_spec *s = &req->spec;
    struct container_doc *doc = req->api_doc;
    int ncpu = host->ncpu > 0 ? host->ncpu : 1;
    if (s->nano_cpus < 0 || s->nano_cpus > (int64_t)ncpu * 1000000000)
        return err_make(err, ERR_INVALID, 0,
                        "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available",
                        ncpu, ncpu);
    check_host_memory(s, doc->host_config, warnings);
    if (check_host_cpu(s, doc->host_config, warnings, err) < 0 ||
        check_host_blkio(s, doc->host_config, warnings, err) < 0)
        return -1;
    return 0;
}

static int
decode_host_config(json_t *hc_in, struct container_spec *spec, json_t **out, struct err **err)
{
    if (hc_in != NULL && !json_is_null(hc_in) && !json_is_object(hc_in))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal HostConfig: object expected");
    json_t *hc = host_config_defaults();
    if (json_is_object(hc_in)) {
        const char *k;
        json_t *v;
        json_object_foreach(hc_in, k, v)
        {
            /* null in a request means "not set": keep the default */
            if (!json_is_null(v))
                json_object_set(hc, k, v);
        }
    }
    json_t *rp = json_object_get(hc, "RestartPolicy");
    char *name = NULL;
    int64_t retries = 0;
    if (!json_is_object(rp) || jsonx_string(rp, "Name", &name, err) < 0 ||
        jsonx_int(rp, "MaximumRetryCount", &retries, NULL, err) < 0) {
        json_decref(hc);
        free(name);
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal RestartPolicy");
    }
    if (name == NULL || *name == '\0') {
        free(name);
        name = xstrdup("no");
        json_object_set_new(rp, "Name", json_string("no"));
    }
    bool auto_remove = false;
    if (api_check_restart_policy(name, retries, err) < 0 ||
        jsonx_bool(hc, "AutoRemove", &auto_remove, err) < 0) {
        free(name);
        json_decref(hc);
        return -1;
    }
    if (auto_remove && strcmp(name, "no") != 0) {
        free(name);
        json_decref(hc);
        return err_make(err, ERR_INVALID, 0,
                        "can't create 'AutoRemove' container with restart policy");
    }
    spec->restart_policy = name;
    spec->restart_max_retries = (int)retries;
    spec->auto_remove = auto_remove;
    if (jsonx_string(hc, "NetworkMode", &spec->network_mode, err) < 0 ||
        decode_host_process(hc, spec, err) < 0) {
        json_decref(hc);
        return -1;
    }
    *out = hc;
    return 0;
}

/* The Config members the engine models; the rest is kept as given for inspect. */
static int
decode_config(json_t *body, struct container_spec *s, struct err **err)
{
    int64_t stop_timeout = -1;
    bool has_timeout = false;
    if (jsonx_string(body, "Image", &s->image, err) < 0 ||
        jsonx_string(body, "Hostname", &s->hostname, err) < 0 ||
        jsonx_string(body, "Domainname", &s->domainname, err) < 0 ||
        jsonx_string(body, "User", &s->user, err) < 0 ||
        jsonx_string(body, "WorkingDir", &s->working_dir, err) < 0 ||
        jsonx_string(body, "StopSignal", &s->stop_signal, err) < 0 ||
        jsonx_strv(body, "Env", false, &s->env, err) < 0 ||
        jsonx_strv(body, "Cmd", true, &s->cmd, err) < 0 ||
        jsonx_strv(body, "Entrypoint", true, &s->entrypoint, err) < 0 ||
        jsonx_bool(body, "Tty", &s->tty, err) < 0 ||
        jsonx_bool(body, "OpenStdin", &s->open_stdin, err) < 0 ||
        jsonx_bool(body, "StdinOnce", &s->stdin_once, err) < 0 ||
        jsonx_bool(body, "AttachStdin", &s->attach_stdin, err) < 0 ||
        jsonx_bool(body, "AttachStdout", &s->attach_stdout, err) < 0 ||
        jsonx_bool(body, "AttachStderr", &s->attach_stderr, err) < 0 ||
        jsonx_int(body, "StopTimeout", &stop_timeout, &has_timeout, err) < 0 ||
        jsonx_labels(body, "Labels", &s->labels, err) < 0)
        return -1;
    /* dockerd checks the request's own WorkingDir, not the image's, before anything else */
    if (s->working_dir != NULL && *s->working_dir != '\0' && s->working_dir[0] != '/')
        return err_make(err, ERR_INVALID, 0,
                        "the working directory '%s' is invalid, it needs to be an absolute path",
                        s->working_dir);
    json_t *hc = json_object_get(body, "Healthcheck");
    if (hc != NULL && !json_is_null(hc)) {
        int64_t v;
        bool given;
        if (!json_is_object(hc) || jsonx_strv(hc, "Test", false, &s->health.test, err) < 0)
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal Healthcheck");
        const char *durations[] = {"Interval", "Timeout", "StartPeriod"};
        int64_t *fields[] = {&s->health.interval_ns, &s->health.timeout_ns,
                             &s->health.start_period_ns};
        for (int i = 0; i < 3; i++) {
            if (jsonx_int(hc, durations[i], &v, &given, err) < 0)
                return -1;
            /* dockerd: 0 means the default, otherwise at least 1 ms. */
            if (given && v != 0 && v < 1000000)
                return err_make(err, ERR_INVALID, 0, "%s in Healthcheck cannot be less than 1ms",
                                durations[i]);
            if (given)
                *fields[i] = v;
        }
        if (jsonx_int(hc, "Retries", &v, &given, err) < 0)
            return -1;
        if (given && v < 0)
            return err_make(err, ERR_INVALID, 0, "Retries in Healthcheck cannot be negative");
        s->health.retries = given ? (int)v : 0;
    }
    json_t *ports = json_object_get(body, "ExposedPorts");
    if (ports != NULL && !json_is_null(ports)) {
        if (!json_is_object(ports))
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal ExposedPorts");
        const char *port;
        json_t *unused;
        json_object_foreach(ports, port, unused)
        {
            s->exposed_ports = strv_append(s->exposed_ports, port);
        }
    }
    if (s->image == NULL || *s->image == '\0')
        return err_make(err, ERR_INVALID, 0,
                        "Config cannot be empty in order to create a container");
    if (has_timeout && (stop_timeout < -1 || stop_timeout > 1000000))
        return err_make(err, ERR_INVALID, 0, "invalid StopTimeout: %lld", (long long)stop_timeout);
    s->stop_timeout = has_timeout ? (int)stop_timeout : -1;
    for (size_t i = 0; s->env != NULL && s->env[i] != NULL; i++)
        if (s->env[i][0] == '=' || s->env[i][0] == '\0')
            return err_make(err, ERR_INVALID, 0, "invalid environment variable: %.64s", s->env[i]);
    return 0;
}

static int
decode_networking(json_t *body, struct container_create *req, struct err **err)
{
    json_t *nc = json_object_get(body, "NetworkingConfig");
    if (nc == NULL || json_is_null(nc))
        return 0;
    json_t *eps = json_is_object(nc) ? json_object_get(nc, "EndpointsConfig") : NULL;
    if (!json_is_object(nc) || (eps != NULL && !json_is_null(eps) && !json_is_object(eps)))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal NetworkingConfig");
    const char *name;
    json_t *ep;
    json_object_foreach(eps, name, ep)
    {
        req->nets = xrealloc(req->nets, (req->n_nets + 1) * sizeof(*req->nets));
        struct container_net_req *n = &req->nets[req->n_nets++];
        memset(n, 0, sizeof(*n));
        n->network = xstrdup(name);
        if (json_is_null(ep))
            continue;
        json_t *ipam = json_is_object(ep) ? json_object_get(ep, "IPAMConfig") : NULL;
        if (!json_is_object(ep) || jsonx_strv(ep, "Aliases", false, &n->aliases, err) < 0 ||
            (json_is_object(ipam) && jsonx_string(ipam, "IPv4Address", &n->ipv4, err) < 0))
            return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal EndpointsConfig.%s", name);
    }
    return 0;
}

/* VolumeDriver: only "local" volumes exist here; another driver fails as a missing plugin
 * where a volume would be created with it (dockerd ignores it when there is none). */
static int
check_volume_driver(const struct container_create *req, struct err **err)
{
    const struct container_doc *doc = req->api_doc;
    json_t *v = json_object_get(doc->host_config, "VolumeDriver");
    const char *d = json_is_string(v) ? json_string_value(v) : "";
    if (v != NULL && !json_is_string(v) && !json_is_null(v))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal VolumeDriver");
    if (*d == '\0' || strcmp(d, "local") == 0)
        return 0;
    for (size_t i = 0; i < req->n_mounts; i++)
        if (req->mounts[i].type == MOUNT_VOLUME)
            return err_make(err, ERR_NOT_FOUND, 0,
                            "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
                            req->mounts[i].source != NULL ? req->mounts[i].source
                                                          : req->mounts[i].destination,
                            d, d);
    return 0;
}

/* ---- references to other containers, looked up once the request is decoded ---- */

/* The container ref names, borrowed; dockerd answers 400 when a container named in the
 * HostConfig does not exist (a 404 would make the CLI pull the image). Lock held. */
static struct container *
find_other(struct engine *eng, const char *ref, struct err **err)
{
    struct err *nf = NULL;
    struct container *c = store_find_container(&eng->store, ref, &nf);
    if (c == NULL)
        err_make(err, ERR_INVALID, 0, "%s", nf != NULL ? nf->msg : "No such container");
    err_clear(&nf);
    return c;
}

/* PidMode / IpcMode "container:<name>": the container must exist; the mode then names its
 * full ID (as dockerd stores it), whose process is joined at start. Lock held. */
static int
resolve_mode(struct engine *eng, char **mode, json_t *hc, const char *key, struct err **err)
{
    if (*mode == NULL || strncmp(*mode, "container:", 10) != 0)
        return 0;
    struct container *other = find_other(eng, *mode + 10, err);
    if (other == NULL)
        return -1;
    free(*mode);
    *mode = xasprintf("container:%s", other->id);
    json_object_set_new(hc, key, json_string(*mode));
    return 0;
}

/* VolumesFrom "<container>[:ro|rw]": that container's mounts, read-only with "ro", else as
 * they are there; a mount the request makes at the same place wins, except an anonymous
 * volume (Config.Volumes), which the inherited mount replaces (registerMountPoints). Lock
 * held. */
static int
resolve_volumes_from(struct engine *eng, struct container_create *req, const char *spec,
                     struct err **err)
{
    if (*spec == '\0')
        return err_make(err, ERR_INVALID, 0,
                        "volumes-from specification cannot be an empty string");
    cleanup_free char *name = xstrdup(spec);
    char *mode = strchr(name, ':');
    if (mode != NULL)
        *mode++ = '\0';
    bool ro = false;
    for (char *save = NULL, *m = mode ? strtok_r(mode, ",", &save) : NULL; m;
         m = strtok_r(NULL, ",", &save)) {
        if (strcmp(m, "ro") != 0 && strcmp(m, "rw") != 0 && strcmp(m, "z") != 0 &&
            strcmp(m, "Z") != 0)
            return err_make(err, ERR_INVALID, 0, "invalid mode: %s", strchr(spec, ':') + 1);
        ro = ro || strcmp(m, "ro") == 0;
    }
    struct container *from = find_other(eng, name, err);
    if (from == NULL)
        return -1;
    for (size_t i = 0; i < from->n_mounts; i++) {
        const struct mount *m = &from->mounts[i];
        struct mount_req *slot = NULL;
        for (size_t j = 0; j < req->n_mounts && slot == NULL; j++)
            if (req->mounts[j].destination != NULL &&
                strcmp(req->mounts[j].destination, m->destination) == 0)
                slot = &req->mounts[j];
        if (slot != NULL && !(slot->type == MOUNT_VOLUME && slot->source == NULL))
            continue;
        if (slot != NULL) {
            mount_req_fini(slot);
        } else {
            req->mounts = xrealloc(req->mounts, (req->n_mounts + 1) * sizeof(*req->mounts));
            slot = &req->mounts[req->n_mounts++];
        }
        *slot = (struct mount_req){
            .type = m->type,
            .source = xstrdup(m->type == MOUNT_VOLUME ? m->name : m->source),
            .destination = xstrdup(m->destination),
            .mode = xstrdup(m->type == MOUNT_TMPFS ? m->mode : ""),
            .read_only = ro || !m->rw,
        };
    }
    return 0;
}

/* Links "<container>[:alias]": the container must exist (dockerd checks it at create);
 * honouring them is left to the driver: the process driver refuses them. */
static int
check_links(struct engine *eng, struct container_create *req, char **links, struct err **err)
{
    for (size_t i = 0; links != NULL && links[i] != NULL; i++) {
        cleanup_free char *name = xstrdup(links[i]);
        char *alias = strchr(name, ':');
        if (alias != NULL)
            *alias++ = '\0';
        if (alias != NULL && strchr(alias, ':') != NULL)
            return err_make(err, ERR_INVALID, 0, "bad format for links: %s", links[i]);
        if (find_other(eng, name, err) == NULL)
            return err_wrap(err, "could not get container for %s", name);
    }
    if (links != NULL && links[0] != NULL)
        not_supported(&req->spec, "Links",
                      "legacy links (their /etc/hosts entries and environment variables) are "
                      "not set up; the linked container is reachable at 127.0.0.1, as every "
                      "container shares the host's network");
    return 0;
}

static int
resolve_references(struct engine *eng, struct container_create *req, struct err **err)
{
    struct container_doc *doc = req->api_doc;
    char **volumes_from = NULL, **links = NULL;
    if (jsonx_strv(doc->host_config, "VolumesFrom", false, &volumes_from, err) < 0 ||
        jsonx_strv(doc->host_config, "Links", false, &links, err) < 0) {
        strv_free(volumes_from);
        return -1;
    }
    engine_lock(eng);
    int rc = resolve_mode(eng, &req->spec.pid_mode, doc->host_config, "PidMode", err);
    if (rc == 0)
        rc = resolve_mode(eng, &req->spec.ipc_mode, doc->host_config, "IpcMode", err);
    for (size_t i = 0; rc == 0 && volumes_from != NULL && volumes_from[i] != NULL; i++)
        rc = resolve_volumes_from(eng, req, volumes_from[i], err);
    if (rc == 0)
        rc = check_links(eng, req, links, err);
    engine_unlock(eng);
    strv_free(volumes_from);
    strv_free(links);
    return rc;
}

int
container_doc_decode(const char *name, json_t *body, struct container_create *req, struct err **err)
{
    memset(req, 0, sizeof(*req));
    req->spec.stop_timeout = -1;
    struct container_doc *doc = xcalloc(1, sizeof(*doc));
    req->api_doc = doc;
    req->api_doc_free = container_doc_free;
    if (name != NULL && *name != '\0')
        req->name = xstrdup(name);
    if (decode_config(body, &req->spec, err) < 0 ||
        decode_host_config(json_object_get(body, "HostConfig"), &req->spec, &doc->host_config,
                           err) < 0 ||
        decode_networking(body, req, err) < 0 ||
        api_decode_mounts(body, doc->host_config, req, err) < 0 ||
        check_tmpfs_targets(req, err) < 0 || check_volume_driver(req, err) < 0)
        return -1;
    doc->config = json_deep_copy(body);
    json_object_del(doc->config, "HostConfig");
    json_object_del(doc->config, "NetworkingConfig");
    return 0;
}

struct http_response *
api_container_create(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    json_t *body = api_body_object(req, &err);
    if (body == NULL)
        return api_error_response(&err);
    struct container_create creq;
    if (container_doc_decode(http_query(req, "name"), body, &creq, &err) < 0) {
        json_decref(body);
        container_create_fini(&creq);
        return api_error_response(&err);
    }
    json_decref(body);
    json_t *warnings = json_array();
    if (check_host_resources(&creq, &api->eng->host, warnings, &err) < 0 ||
        resolve_references(api->eng, &creq, &err) < 0) {
        json_decref(warnings);
        container_create_fini(&creq);
        return api_error_response(&err);
    }
    container_doc_compact(creq.api_doc);
    char id[ID_LEN + 1];
    if (engine_container_create(api->eng, &creq, id, &err) < 0) {
        json_decref(warnings);
        return api_error_response(&err);
    }
    return http_response_json(201, json_pack("{s:s, s:o}", "Id", id, "Warnings", warnings));
}
