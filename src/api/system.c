/* System endpoints: /_ping, /version, /info, /auth. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "backend/backend.h"
#include "base/hostinfo.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/version.h"
#include "driver/driver.h"
#include "engine/distribution.h"
#include "engine/engine.h"

/* The classic builder: BuildKit's /session and /grpc are not served (compat-notes 3). */
#define PING_HEADERS                                                                               \
    .n_headers = 3, .headers = {                                                                   \
                        {"Cache-Control", "no-cache, no-store, must-revalidate"},                  \
                        {"Pragma", "no-cache"},                                                    \
                        {"Builder-Version", "1"},                                                  \
    }

static const struct http_fixed_response PING_OK = {
    .status = 200,
    .content_type = "text/plain; charset=utf-8",
    .body = "OK",
    .body_len = 2,
    PING_HEADERS,
};

static const struct http_fixed_response PING_HEAD = {
    .status = 200,
    .content_type = "text/plain; charset=utf-8",
    PING_HEADERS,
};

struct http_response *
api_ping(struct http_request *req, void *app)
{
    (void)app;
    return http_response_fixed(strcmp(req->method, "HEAD") == 0 ? &PING_HEAD : &PING_OK);
}

static char *
version_string(struct api_version v)
{
    char buf[16];
    snprintf(buf, sizeof(buf), "%d.%d", v.major, v.minor);
    return strdup(buf);
}

struct http_response *
api_version(struct http_request *req, void *app)
{
    (void)req;
    struct api *api = app;
    const struct hostinfo *hi = &api->eng->host;
    char *maxv = version_string(api_max_version);
    char *minv = version_string(api_min_version);
    json_t *details =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ApiVersion", maxv, "Arch",
                  hi->arch, "BuildTime", SOCKERLESS_BUILD_TIME, "Experimental", "false",
                  "GitCommit", SOCKERLESS_GIT_COMMIT, "GoVersion", SOCKERLESS_COMPILER,
                  "KernelVersion", hi->kernel, "MinAPIVersion", minv, "Os", "linux");
    json_t *engine = json_pack("{s:s, s:s, s:o}", "Name", "Engine", "Version", SOCKERLESS_VERSION,
                               "Details", details);
    json_t *v =
        json_pack("{s:{s:s}, s:[o], s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Platform",
                  "Name", "sockerless", "Components", engine, "Version", SOCKERLESS_VERSION,
                  "ApiVersion", maxv, "MinAPIVersion", minv, "GitCommit", SOCKERLESS_GIT_COMMIT,
                  "GoVersion", SOCKERLESS_COMPILER, "Os", "linux", "Arch", hi->arch,
                  "KernelVersion", hi->kernel, "BuildTime", SOCKERLESS_BUILD_TIME);
    free(maxv);
    free(minv);
    return http_response_json(200, v);
}

static json_t *
string_pairs(const char *const pairs[][2], size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("[s,s]", pairs[i][0], pairs[i][1]));
    return arr;
}

static json_t *
info_registry_config(void)
{
    return json_pack("{s:[], s:[], s:[s], s:{s:{s:s, s:[], s:b, s:b}}, s:[]}",
                     "AllowNondistributableArtifactsCIDRs",
                     "AllowNondistributableArtifactsHostnames", "InsecureRegistryCIDRs",
                     "127.0.0.0/8", "IndexConfigs", "docker.io", "Name", "docker.io", "Mirrors",
                     "Secure", 1, "Official", 1, "Mirrors");
}

static const char *
env_or_empty(const char *upper, const char *lower)
{
    const char *v = getenv(upper);
    if (v == NULL)
        v = getenv(lower);
    return v ? v : "";
}

struct http_response *
api_info(struct http_request *req, void *app)
{
    (void)req;
    struct api *api = app;
    struct engine *eng = api->eng;
    const struct hostinfo *hi = &eng->host;
    struct engine_counts c;
    engine_get_counts(eng, &c);
    char now[TIME_RFC3339_MAX];
    time_format_rfc3339nano(time_now_ns(), now, sizeof(now));
    char cgroup_version[4];
    snprintf(cgroup_version, sizeof(cgroup_version), "%d",
             hi->cgroup_version ? hi->cgroup_version : 1);
    /* The drivers that can run containers here, in the order the chain asks them. */
    char chain[128] = "";
    for (size_t i = 0; api->backend->drivers[i] != NULL; i++) {
        const struct driver *d = api->backend->drivers[i];
        if (d->ready != NULL && !d->ready())
            continue;
        if (chain[0] != '\0')
            strncat(chain, " -> ", sizeof(chain) - strlen(chain) - 1);
        strncat(chain, d->name, sizeof(chain) - strlen(chain) - 1);
    }
    const char *runtime = process_driver_runtime();
    const char *why = process_driver_status();
    /* The agent's rows only where the agent driver has something to say. */
    const char *agent_mode = agent_driver_mode_name();
    const char *callback = agent_driver_callback();
    const char *const driver_status[][2] = {{"Backend", api->backend->name},
                                            {"Driver Chain", chain},
                                            {"Data Root", eng->data_root},
                                            {runtime ? "OCI Runtime" : "Process Driver",
                                             runtime ? runtime : (why ? why : "not in use")},
                                            {"Agent Mode", agent_mode},
                                            {"Agent Callback", callback}};
    size_t n_status = 4;
    if (agent_mode != NULL)
        n_status = callback != NULL ? 6 : 5;

    json_t *info = json_object();
    json_object_set_new(info, "ID", json_string(eng->id));
    json_object_set_new(info, "Containers", json_integer(c.containers));
    json_object_set_new(info, "ContainersRunning", json_integer(c.running));
    json_object_set_new(info, "ContainersPaused", json_integer(c.paused));
    json_object_set_new(info, "ContainersStopped", json_integer(c.stopped));
    json_object_set_new(info, "Images", json_integer(c.images));
    json_object_set_new(info, "Driver", json_string(api->backend->storage_driver));
    json_object_set_new(info, "DriverStatus", string_pairs(driver_status, n_status));
    json_object_set_new(info, "Plugins",
                        json_pack("{s:[s], s:[s,s,s], s:n, s:[s]}", "Volume", "local", "Network",
                                  "bridge", "host", "null", "Authorization", "Log",
                                  api->backend->logging_driver));
    /* Resource-limit support is decided by the process driver with its cgroup work; until then
     * no limit is enforced, and /info says so. */
    const char *const limit_flags[] = {"MemoryLimit",  "SwapLimit",   "KernelMemoryTCP",
                                       "CpuCfsPeriod", "CpuCfsQuota", "CPUShares",
                                       "CPUSet",       "PidsLimit",   "OomKillDisable"};
    for (size_t i = 0; i < sizeof(limit_flags) / sizeof(limit_flags[0]); i++)
        json_object_set_new(info, limit_flags[i], json_false());
    json_object_set_new(info, "IPv4Forwarding", json_false());
    json_object_set_new(info, "BridgeNfIptables", json_false());
    json_object_set_new(info, "BridgeNfIp6tables", json_false());
    json_object_set_new(info, "Debug", json_boolean(log_threshold <= LOG_LEVEL_DEBUG));
    json_object_set_new(info, "NFd", json_integer(hostinfo_count_fds()));
    json_object_set_new(info, "NGoroutines", json_integer(hostinfo_count_threads()));
    json_object_set_new(info, "SystemTime", json_string(now));
    json_object_set_new(info, "LoggingDriver", json_string(api->backend->logging_driver));
    json_object_set_new(info, "CgroupDriver", json_string("cgroupfs"));
    json_object_set_new(info, "CgroupVersion", json_string(cgroup_version));
    json_object_set_new(info, "NEventsListener",
                        json_integer((json_int_t)events_subscriber_count(eng->events)));
    json_object_set_new(info, "KernelVersion", json_string(hi->kernel));
    json_object_set_new(info, "OperatingSystem", json_string(hi->os_name));
    json_object_set_new(info, "OSVersion", json_string(hi->os_version));
    json_object_set_new(info, "OSType", json_string("linux"));
    json_object_set_new(info, "Architecture", json_string(hi->machine));
    json_object_set_new(info, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
    json_object_set_new(info, "RegistryConfig", info_registry_config());
    json_object_set_new(info, "NCPU", json_integer(hi->ncpu));
    json_object_set_new(info, "MemTotal", json_integer(hi->mem_total));
    json_object_set_new(info, "GenericResources", json_array());
    json_object_set_new(info, "DockerRootDir", json_string(eng->data_root));
    json_object_set_new(info, "HttpProxy", json_string(env_or_empty("HTTP_PROXY", "http_proxy")));
    json_object_set_new(info, "HttpsProxy",
                        json_string(env_or_empty("HTTPS_PROXY", "https_proxy")));
    json_object_set_new(info, "NoProxy", json_string(env_or_empty("NO_PROXY", "no_proxy")));
    json_object_set_new(info, "Name", json_string(hi->hostname));
    json_object_set_new(info, "Labels", json_array());
    json_object_set_new(info, "ExperimentalBuild", json_false());
    json_object_set_new(info, "ServerVersion", json_string(SOCKERLESS_VERSION));
    /* No OCI runtime is wired in yet: the process driver will list what it finds. */
    json_object_set_new(info, "Runtimes", json_object());
    json_object_set_new(info, "DefaultRuntime", json_string(""));
    json_object_set_new(info, "Swarm",
                        json_pack("{s:s, s:s, s:s, s:b, s:s, s:n}", "NodeID", "", "NodeAddr", "",
                                  "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
                                  "RemoteManagers"));
    json_object_set_new(info, "LiveRestoreEnabled", json_false());
    json_object_set_new(info, "Isolation", json_string(""));
    json_object_set_new(info, "InitBinary", json_string(""));
    const char *commits[] = {"ContainerdCommit", "RuncCommit", "InitCommit"};
    for (size_t i = 0; i < 3; i++)
        json_object_set_new(info, commits[i], json_pack("{s:s, s:s}", "ID", "", "Expected", ""));
    json_object_set_new(info, "SecurityOptions", json_array());
    json_object_set_new(info, "Warnings", json_array());
    return http_response_json(200, info);
}

/* Copies a string member of obj, or "" when absent; ERR_INVALID when it is not a string. */
static int
body_string(json_t *obj, const char *key, const char **out, struct err **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        *out = "";
        return 0;
    }
    if (!json_is_string(v))
        return err_make(err, ERR_INVALID, 0, "%s must be a string", key);
    *out = json_string_value(v);
    return 0;
}

struct http_response *
api_auth(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    json_t *body = api_body_object(req, &err);
    if (body == NULL)
        return api_error_response(&err);
    const char *user = "", *pass = "", *server = "", *token = "";
    if (body_string(body, "username", &user, &err) < 0 ||
        body_string(body, "password", &pass, &err) < 0 ||
        body_string(body, "serveraddress", &server, &err) < 0 ||
        body_string(body, "identitytoken", &token, &err) < 0) {
        json_decref(body);
        return api_error_response(&err);
    }
    /* Checked against the registry, then kept in memory for its pulls and pushes. */
    char *identity = NULL;
    int rc = engine_registry_login(api->eng, server, user, pass, token, &identity, &err);
    json_decref(body);
    if (rc < 0)
        return api_error_response(&err);
    json_t *answer = json_pack("{s:s, s:s}", "IdentityToken", identity ? identity : "", "Status",
                               "Login Succeeded");
    free(identity);
    return http_response_json(200, answer);
}
