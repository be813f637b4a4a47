/* Network endpoints, and the NetworkSettings of container inspect. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/decode.h"
#include "api/filters_json.h"
#include "api/jsonx.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "engine/engine.h"
#include "engine/network.h"

static char *
cidr_text(const struct network *n)
{
    char ip[16];
    ipv4_format(n->subnet, ip);
    return xasprintf("%s/%d", ip, n->prefix);
}

/* One entry of NetworkSettings.Networks. Lock held. */
static json_t *
endpoint_json(const struct net_attachment *a)
{
    char ip[16] = "", gw[16] = "", mac[18] = "";
    if (a->active && a->net->has_subnet) {
        ipv4_format(a->ip, ip);
        ipv4_format(a->net->gateway, gw);
        ipv4_mac(a->ip, mac);
    }
    json_t *ipam = json_null();
    if (a->requested_ip != 0) {
        char req[16];
        ipv4_format(a->requested_ip, req);
        ipam = json_pack("{s:s}", "IPv4Address", req);
    }
    return json_pack("{s:o, s:n, s:o, s:s, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:n}",
                     "IPAMConfig", ipam, "Links", "Aliases", strv_json_or_null(a->aliases),
                     "MacAddress", mac, "DriverOpts", "NetworkID", a->net->id, "EndpointID",
                     a->active ? a->endpoint_id : "", "Gateway", gw, "IPAddress", ip, "IPPrefixLen",
                     a->active && a->net->has_subnet ? a->net->prefix : 0, "IPv6Gateway", "",
                     "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames");
}

json_t *
api_network_settings(const struct container *c)
{
    json_t *nets = json_object();
    const struct net_attachment *bridge = NULL;
    for (size_t i = 0; i < c->n_nets; i++) {
        json_object_set_new(nets, c->nets[i].net->name, endpoint_json(&c->nets[i]));
        if (strcmp(c->nets[i].net->name, "bridge") == 0)
            bridge = &c->nets[i];
    }
    /* The top-level fields describe the default bridge endpoint (legacy). */
    char ip[16] = "", gw[16] = "", mac[18] = "";
    bool active = bridge && bridge->active;
    if (active) {
        ipv4_format(bridge->ip, ip);
        ipv4_format(bridge->net->gateway, gw);
        ipv4_mac(bridge->ip, mac);
    }
    return json_pack("{s:s, s:s, s:b, s:s, s:i, s:{}, s:s, s:n, s:n, s:s, s:s, s:s, s:i, s:s,"
                     " s:i, s:s, s:s, s:o}",
                     "Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
                     "LinkLocalIPv6PrefixLen", 0, "Ports", "SandboxKey", "", "SecondaryIPAddresses",
                     "SecondaryIPv6Addresses", "EndpointID", active ? bridge->endpoint_id : "",
                     "Gateway", gw, "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress",
                     ip, "IPPrefixLen", active ? bridge->net->prefix : 0, "IPv6Gateway", "",
                     "MacAddress", mac, "Networks", nets);
}

json_t *
api_network_list_entry(const struct container *c)
{
    json_t *nets = json_object();
    for (size_t i = 0; i < c->n_nets; i++)
        json_object_set_new(nets, c->nets[i].net->name, endpoint_json(&c->nets[i]));
    return json_pack("{s:o}", "Networks", nets);
}

/* Lock held. */
static json_t *
network_json(struct engine *eng, const struct network *n)
{
    json_t *config = json_array();
    if (n->has_subnet) {
        char *cidr = cidr_text(n);
        char gw[16];
        ipv4_format(n->gateway, gw);
        json_t *entry = json_pack("{s:s}", "Subnet", cidr);
        if (n->gateway_given)
            json_object_set_new(entry, "Gateway", json_string(gw));
        json_array_append_new(config, entry);
        free(cidr);
    }
    json_t *containers = json_object();
    size_t it = 0;
    void *v;
    while (map_next(&eng->store.containers, &it, NULL, &v)) {
        const struct container *c = v;
        for (size_t i = 0; i < c->n_nets; i++) {
            const struct net_attachment *a = &c->nets[i];
            if (a->net != n || !a->active)
                continue;
            char ip[16] = "", mac[18] = "";
            char *addr = NULL;
            if (n->has_subnet) {
                ipv4_format(a->ip, ip);
                ipv4_mac(a->ip, mac);
                addr = xasprintf("%s/%d", ip, n->prefix);
            }
            json_object_set_new(containers, c->id,
                                json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", c->name + 1,
                                          "EndpointID", a->endpoint_id, "MacAddress", mac,
                                          "IPv4Address", addr ? addr : "", "IPv6Address", ""));
            free(addr);
        }
    }
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:b, s:{s:s, s:o, s:o}, s:b, s:b, s:b, s:{s:s},"
                     " s:b, s:o, s:o, s:o}",
                     "Name", n->name, "Id", n->id, "Created", jsonx_time(n->created_ns), "Scope",
                     "local", "Driver", n->driver, "EnableIPv6", n->enable_ipv6, "IPAM", "Driver",
                     n->ipam_driver, "Options", jsonx_from_labels(&n->ipam_options), "Config",
                     config, "Internal", n->internal, "Attachable", n->attachable, "Ingress",
                     n->ingress, "ConfigFrom", "Network", "", "ConfigOnly", 0, "Containers",
                     containers, "Options", jsonx_from_labels(&n->options), "Labels",
                     jsonx_from_labels(&n->labels));
}

struct http_response *
api_network_inspect(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    engine_lock(api->eng);
    struct network *n = network_find(api->eng, http_param(req, "id"), &err);
    json_t *o = n ? network_json(api->eng, n) : NULL;
    engine_unlock(api->eng);
    return o ? http_response_json(200, o) : api_error_response(&err);
}

static const char *const network_filter_keys[] = {"dangling", "driver", "id",   "label",
                                                  "name",     "scope",  "type", NULL};

/* True when a container is attached to n. Lock held. */
static bool
network_in_use(struct engine *eng, const struct network *n)
{
    size_t it = 0;
    void *v;
    while (map_next(&eng->store.containers, &it, NULL, &v)) {
        const struct container *c = v;
        for (size_t i = 0; i < c->n_nets; i++)
            if (c->nets[i].net == n)
                return true;
    }
    return false;
}

static bool
network_matches(struct engine *eng, const struct network *n, const struct filters *f)
{
    const struct filter_key *t = filters_find(f, "type");
    if (t != NULL && !filters_exact_match(f, "type", n->builtin ? "builtin" : "custom"))
        return false;
    const struct filter_key *d = filters_find(f, "dangling");
    if (d != NULL && d->n_values > 0) {
        bool want = strcmp(d->values[0], "true") == 0 || strcmp(d->values[0], "1") == 0;
        if (n->builtin || network_in_use(eng, n) == want)
            return false;
    }
    const struct filter_key *nk = filters_find(f, "name");
    bool name_ok = nk == NULL;
    for (size_t i = 0; nk != NULL && i < nk->n_values && !name_ok; i++)
        name_ok = strstr(n->name, nk->values[i]) != NULL;
    return name_ok && filters_exact_match(f, "driver", n->driver) &&
           filters_fuzzy_match(f, "id", n->id) && filters_exact_match(f, "scope", "local") &&
           filters_match_labels(f, "label", (const char *const *)n->labels.keys,
                                (const char *const *)n->labels.values, n->labels.n);
}

struct http_response *
api_network_list(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    struct filters *f = api_query_filters(req, network_filter_keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    json_t *out = json_array();
    engine_lock(api->eng);
    for (size_t i = 0; i < api->eng->n_networks; i++)
        if (network_matches(api->eng, api->eng->networks[i], f))
            json_array_append_new(out, network_json(api->eng, api->eng->networks[i]));
    engine_unlock(api->eng);
    filters_free(f);
    return http_response_json(200, out);
}

static int
decode_ipam(json_t *body, struct network_spec *spec, struct err **err)
{
    json_t *ipam = json_object_get(body, "IPAM");
    if (ipam == NULL || json_is_null(ipam))
        return 0;
    if (!json_is_object(ipam))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal IPAM: object expected");
    if (jsonx_string(ipam, "Driver", &spec->ipam_driver, err) < 0 ||
        jsonx_labels(ipam, "Options", &spec->ipam_options, err) < 0)
        return -1;
    json_t *config = json_object_get(ipam, "Config");
    if (config == NULL || json_is_null(config))
        return 0;
    if (!json_is_array(config) || json_array_size(config) > 1)
        return err_make(err, json_is_array(config) ? ERR_UNSUPPORTED : ERR_INVALID, 0,
                        json_is_array(config) ? "only one IPAM config (one IPv4 subnet) per "
                                                "network is supported"
                                              : "json: cannot unmarshal IPAM.Config");
    json_t *c0 = json_array_get(config, 0);
    if (c0 == NULL)
        return 0;
    if (!json_is_object(c0))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal IPAM.Config");
    char *range = NULL;
    if (jsonx_string(c0, "Subnet", &spec->subnet, err) < 0 ||
        jsonx_string(c0, "Gateway", &spec->gateway, err) < 0 ||
        jsonx_string(c0, "IPRange", &range, err) < 0)
        return -1;
    bool has_range = range != NULL && *range != '\0';
    free(range);
    if (has_range)
        return err_make(err, ERR_UNSUPPORTED, 0, "IPAM IPRange is not supported yet");
    if (spec->gateway != NULL && spec->subnet == NULL)
        return err_make(err, ERR_INVALID, 0, "a gateway needs a subnet");
    return 0;
}

int
api_network_create_decode(json_t *body, struct network_spec *spec, struct err **err)
{
    memset(spec, 0, sizeof(*spec));
    if (jsonx_string(body, "Name", &spec->name, err) < 0 ||
        jsonx_string(body, "Driver", &spec->driver, err) < 0 ||
        jsonx_bool(body, "Internal", &spec->internal, err) < 0 ||
        jsonx_bool(body, "Attachable", &spec->attachable, err) < 0 ||
        jsonx_bool(body, "Ingress", &spec->ingress, err) < 0 ||
        jsonx_bool(body, "EnableIPv6", &spec->enable_ipv6, err) < 0 ||
        jsonx_labels(body, "Options", &spec->options, err) < 0 ||
        jsonx_labels(body, "Labels", &spec->labels, err) < 0 || decode_ipam(body, spec, err) < 0)
        return -1;
    if (spec->name == NULL || *spec->name == '\0' || name_validate(spec->name, NULL) < 0)
        return err_make(err, ERR_INVALID, 0, "invalid network name %s",
                        spec->name ? spec->name : "\"\"");
    return 0;
}

struct http_response *
api_network_create(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    json_t *body = api_body_object(req, &err);
    if (body == NULL)
        return api_error_response(&err);
    struct network_spec spec;
    int rc = api_network_create_decode(body, &spec, &err);
    json_decref(body);
    if (rc < 0) {
        network_spec_fini(&spec);
        return api_error_response(&err);
    }
    if (spec.enable_ipv6) {
        network_spec_fini(&spec);
        err_make(&err, ERR_UNSUPPORTED, 0, "IPv6 networks are not supported yet");
        return api_error_response(&err);
    }
    engine_lock(api->eng);
    struct network *n = network_create(api->eng, &spec, &err);
    char id[ID_LEN + 1] = "";
    if (n != NULL) {
        memcpy(id, n->id, sizeof(id));
        network_event(api->eng, n, "create", NULL);
    }
    engine_unlock(api->eng);
    network_spec_fini(&spec);
    if (n == NULL)
        return api_error_response(&err);
    return http_response_json(201, json_pack("{s:s, s:s}", "Id", id, "Warning", ""));
}

struct http_response *
api_network_remove(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    engine_lock(api->eng);
    struct network *n = network_find(api->eng, http_param(req, "id"), &err);
    int rc = -1;
    if (n != NULL) {
        network_event(api->eng, n, "destroy", NULL);
        rc = network_remove(api->eng, n, &err);
    }
    engine_unlock(api->eng);
    return rc == 0 ? http_response_data(204, NULL, NULL, 0) : api_error_response(&err);
}

struct http_response *
api_network_prune(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    static const char *const keys[] = {"label", NULL};
    struct filters *f = api_query_filters(req, keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    json_t *deleted = json_array();
    engine_lock(api->eng);
    for (size_t i = 0; i < api->eng->n_networks;) {
        struct network *n = api->eng->networks[i];
        if (n->builtin || network_in_use(api->eng, n) ||
            !filters_match_labels(f, "label", (const char *const *)n->labels.keys,
                                  (const char *const *)n->labels.values, n->labels.n)) {
            i++;
            continue;
        }
        json_array_append_new(deleted, json_string(n->name));
        network_event(api->eng, n, "destroy", NULL);
        network_remove(api->eng, n, NULL); /* unused: cannot fail */
    }
    engine_unlock(api->eng);
    filters_free(f);
    return http_response_json(200, json_pack("{s:o}", "NetworksDeleted", deleted));
}

int
api_network_connect_decode(json_t *body, struct network_connect_req *out, struct err **err)
{
    memset(out, 0, sizeof(*out));
    json_t *ec = json_object_get(body, "EndpointConfig");
    json_t *ipam = json_is_object(ec) ? json_object_get(ec, "IPAMConfig") : NULL;
    if (jsonx_string(body, "Container", &out->container, err) < 0 ||
        (json_is_object(ec) && jsonx_strv(ec, "Aliases", false, &out->aliases, err) < 0) ||
        (json_is_object(ipam) && jsonx_string(ipam, "IPv4Address", &out->ipv4, err) < 0))
        return -1;
    if (out->container == NULL || *out->container == '\0')
        return err_make(err, ERR_INVALID, 0, "no container specified");
    return 0;
}

void
network_connect_req_fini(struct network_connect_req *r)
{
    free(r->container);
    free(r->ipv4);
    strv_free(r->aliases);
    memset(r, 0, sizeof(*r));
}

struct http_response *
api_network_connect(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    json_t *body = api_body_object(req, &err);
    if (body == NULL)
        return api_error_response(&err);
    struct network_connect_req c;
    int rc = api_network_connect_decode(body, &c, &err);
    json_decref(body);
    if (rc == 0)
        rc = engine_network_connect(api->eng, http_param(req, "id"), c.container, c.aliases, c.ipv4,
                                    &err);
    network_connect_req_fini(&c);
    return rc == 0 ? http_response_data(200, NULL, NULL, 0) : api_error_response(&err);
}

struct http_response *
api_network_disconnect(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    json_t *body = api_body_object(req, &err);
    if (body == NULL)
        return api_error_response(&err);
    char *container = NULL;
    bool force = false;
    int rc = jsonx_string(body, "Container", &container, &err);
    if (rc == 0)
        rc = jsonx_bool(body, "Force", &force, &err);
    if (rc == 0 && (container == NULL || *container == '\0'))
        rc = err_make(&err, ERR_INVALID, 0, "no container specified");
    if (rc == 0)
        rc = engine_network_disconnect(api->eng, http_param(req, "id"), container, force, &err);
    json_decref(body);
    free(container);
    return rc == 0 ? http_response_data(200, NULL, NULL, 0) : api_error_response(&err);
}
