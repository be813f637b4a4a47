/* POST /containers/create: the body's Config and HostConfig into the engine's spec. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/container_doc.h"
#include "api/jsonx.h"
#include "base/strv.h"
#include "base/xalloc.h"

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
    if (jsonx_string(hc, "NetworkMode", &spec->network_mode, err) < 0) {
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
        api_decode_mounts(body, doc->host_config, req, err) < 0)
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
    char id[ID_LEN + 1];
    if (engine_container_create(api->eng, &creq, id, &err) < 0)
        return api_error_response(&err);
    return http_response_json(201, json_pack("{s:s, s:[]}", "Id", id, "Warnings"));
}
