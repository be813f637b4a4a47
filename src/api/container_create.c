/* POST /containers/create: the body's Config and HostConfig into the engine's spec. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/container_doc.h"
#include "api/jsonx.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/ocispec.h"
#include "engine/volume.h"

void
container_doc_free(void *p)
{
    struct container_doc *d = p;
    if (d == NULL)
        return;
    json_decref(d->host_config);
    json_decref(d->config);
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
        decode_resources(hc, s, err) < 0 || decode_dns(hc, s, err) < 0 ||
        decode_security_opt(hc, s, err) < 0 || jsonx_labels(hc, "Sysctls", &s->sysctls, err) < 0 ||
        decode_ulimits(hc, s, err) < 0 || decode_devices(hc, s, err) < 0 ||
        decode_tmpfs(hc, s, err) < 0 || jsonx_strv(hc, "MaskedPaths", false, &masked, err) < 0 ||
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

static bool
host_has_swap_limit(void)
{
    /* cgroup v1: memsw files; v2: swap is limited wherever memory is */
    if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
        return true;
    FILE *f = fopen("/sys/fs/cgroup/cgroup.controllers", "re");
    char line[512] = "";
    if (f != NULL) {
        if (fgets(line, sizeof(line), f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
    return strstr(line, "memory") != NULL;
}

/* The checks that depend on the host: the CPU count, swap accounting (dockerd drops the swap
 * limit with a warning where the kernel cannot apply it). */
static int
check_host_resources(struct container_create *req, const struct hostinfo *host, json_t *warnings,
                     struct err **err)
{
    struct container_spec *s = &req->spec;
    int ncpu = host->ncpu > 0 ? host->ncpu : 1;
    if (s->nano_cpus < 0 || s->nano_cpus > (int64_t)ncpu * 1000000000)
        return err_make(err, ERR_INVALID, 0,
                        "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available",
                        ncpu, ncpu);
    if (s->memory > 0 && s->memory_swap != -1 && !host_has_swap_limit()) {
        json_array_append_new(warnings,
                              json_string("Your kernel does not support swap limit capabilities "
                                          "or the cgroup is not mounted. Memory limited without "
                                          "swap."));
        s->memory_swap = -1;
        struct container_doc *doc = req->api_doc;
        json_object_set_new(doc->host_config, "MemorySwap", json_integer(-1));
    }
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

int
container_doc_decode(const struct http_request *hreq, json_t *body, struct container_create *req,
                     struct err **err)
{
    memset(req, 0, sizeof(*req));
    req->spec.stop_timeout = -1;
    struct container_doc *doc = xcalloc(1, sizeof(*doc));
    req->api_doc = doc;
    req->api_doc_free = container_doc_free;
    const char *name = http_query(hreq, "name");
    if (name != NULL && *name != '\0')
        req->name = xstrdup(name);
    if (decode_config(body, &req->spec, err) < 0 ||
        decode_host_config(json_object_get(body, "HostConfig"), &req->spec, &doc->host_config,
                           err) < 0 ||
        decode_networking(body, req, err) < 0 ||
        api_decode_mounts(body, doc->host_config, req, err) < 0 ||
        check_tmpfs_targets(req, err) < 0)
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
    if (container_doc_decode(req, body, &creq, &err) < 0) {
        json_decref(body);
        container_create_fini(&creq);
        return api_error_response(&err);
    }
    json_decref(body);
    json_t *warnings = json_array();
    if (check_host_resources(&creq, &api->eng->host, warnings, &err) < 0) {
        json_decref(warnings);
        container_create_fini(&creq);
        return api_error_response(&err);
    }
    char id[ID_LEN + 1];
    if (engine_container_create(api->eng, &creq, id, &err) < 0) {
        json_decref(warnings);
        return api_error_response(&err);
    }
    return http_response_json(201, json_pack("{s:s, s:o}", "Id", id, "Warnings", warnings));
}
