#include "engine/network.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/engine.h"

void
ipv4_format(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

bool
ipv4_parse(const char *s, uint32_t *ip)
{
    struct in_addr a;
    if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
        return false;
    *ip = ntohl(a.s_addr);
    return true;
}

void
ipv4_mac(uint32_t ip, char out[18])
{
    snprintf(out, 18, "02:42:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
             ip & 255);
}

static uint32_t
mask_of(int prefix)
{
    return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* "10.0.0.0/24" */
static bool
cidr_parse(const char *s, uint32_t *net, int *prefix)
{
    const char *slash = strchr(s, '/');
    if (slash == NULL || slash - s > 15)
        return false;
    char addr[16];
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (*end != '\0' || slash[1] == '\0' || p < 8 || p > 30 || !ipv4_parse(addr, net))
        return false;
    *prefix = (int)p;
    *net &= mask_of(*prefix);
    return true;
}

void
network_spec_fini(struct network_spec *s)
{
    free(s->name);
    free(s->driver);
    free(s->ipam_driver);
    labels_fini(&s->labels);
    labels_fini(&s->options);
    labels_fini(&s->ipam_options);
    free(s->subnet);
    free(s->gateway);
    memset(s, 0, sizeof(*s));
}

static void
network_free(struct network *n)
{
    free(n->name);
    free(n->driver);
    free(n->ipam_driver);
    labels_fini(&n->labels);
    labels_fini(&n->options);
    labels_fini(&n->ipam_options);
    free(n);
}

static struct network *
add_network(struct engine *eng, const char *name, const char *driver)
{
    struct network *n = xcalloc(1, sizeof(*n));
    id_generate(n->id);
    n->name = xstrdup(name);
    n->driver = xstrdup(driver);
    n->ipam_driver = xstrdup("default");
    n->created_ns = time_now_ns();
    eng->networks = xrealloc(eng->networks, (eng->n_networks + 1) * sizeof(*eng->networks));
    eng->networks[eng->n_networks++] = n;
    return n;
}

void
networks_init(struct engine *eng)
{
    struct network *bridge = add_network(eng, "bridge", "bridge");
    bridge->builtin = true;
    bridge->has_subnet = true;
    ipv4_parse("172.17.0.0", &bridge->subnet);
    bridge->prefix = 16;
    bridge->gateway = bridge->subnet + 1;
    labels_add(&bridge->options, "com.docker.network.bridge.default_bridge", "true");
    labels_add(&bridge->options, "com.docker.network.bridge.enable_icc", "true");
    labels_add(&bridge->options, "com.docker.network.bridge.enable_ip_masquerade", "true");
    labels_add(&bridge->options, "com.docker.network.bridge.host_binding_ipv4", "0.0.0.0");
    labels_add(&bridge->options, "com.docker.network.bridge.name", "docker0");
    labels_add(&bridge->options, "com.docker.network.driver.mtu", "1500");
    add_network(eng, "host", "host")->builtin = true;
    add_network(eng, "none", "null")->builtin = true;
}

void
networks_fini(struct engine *eng)
{
    for (size_t i = 0; i < eng->n_networks; i++)
        network_free(eng->networks[i]);
    free(eng->networks);
    eng->networks = NULL;
    eng->n_networks = 0;
}

struct network *
network_find(struct engine *eng, const char *ref, struct err **err)
{
    for (size_t i = 0; i < eng->n_networks; i++)
        if (strcmp(eng->networks[i]->id, ref) == 0)
            return eng->networks[i];
    for (size_t i = 0; i < eng->n_networks; i++)
        if (strcmp(eng->networks[i]->name, ref) == 0)
            return eng->networks[i];
    struct network *found = NULL;
    size_t matches = 0, len = strlen(ref);
    if (id_is_prefix(ref)) {
        for (size_t i = 0; i < eng->n_networks; i++) {
            if (strncmp(eng->networks[i]->id, ref, len) == 0) {
                found = eng->networks[i];
                matches++;
            }
        }
    }
    if (matches == 1)
        return found;
    if (matches > 1)
        err_make(err, ERR_INVALID, 0, "network %s is ambiguous (%zu matches found based on ID)",
                 ref, matches);
    else
        err_make(err, ERR_NOT_FOUND, 0, "network %s not found", ref);
    return NULL;
}

static bool
overlaps(const struct engine *eng, uint32_t subnet, int prefix)
{
    for (size_t i = 0; i < eng->n_networks; i++) {
        const struct network *n = eng->networks[i];
        if (!n->has_subnet)
            continue;
        int p = n->prefix < prefix ? n->prefix : prefix;
        if ((n->subnet & mask_of(p)) == (subnet & mask_of(p)))
            return true;
    }
    return false;
}

/* Docker's default pools: 172.17-31.0.0/16, then 192.168.0-240.0/20. */
static bool
auto_subnet(const struct engine *eng, uint32_t *subnet, int *prefix)
{
    for (uint32_t b = 18; b <= 31; b++) {
        uint32_t s = (172u << 24) | (b << 16);
        if (!overlaps(eng, s, 16)) {
            *subnet = s;
            *prefix = 16;
            return true;
        }
    }
    for (uint32_t c = 0; c <= 240; c += 16) {
        uint32_t s = (192u << 24) | (168u << 16) | (c << 8);
        if (!overlaps(eng, s, 20)) {
            *subnet = s;
            *prefix = 20;
            return true;
        }
    }
    return false;
}

struct network *
network_create(struct engine *eng, struct network_spec *spec, struct err **err)
{
    const char *driver = spec->driver && *spec->driver ? spec->driver : "bridge";
    for (size_t i = 0; i < eng->n_networks; i++) {
        if (strcmp(eng->networks[i]->name, spec->name) == 0) {
            err_make(err, ERR_CONFLICT, 0, "network with name %s already exists", spec->name);
            return NULL;
        }
    }
    if (strcmp(driver, "bridge") != 0) {
        err_make(err,
                 strcmp(driver, "host") == 0 || strcmp(driver, "null") == 0 ? ERR_FORBIDDEN
                                                                            : ERR_UNSUPPORTED,
                 0, "network driver \"%s\" is not supported (only bridge networks can be created)",
                 driver);
        return NULL;
    }
    uint32_t subnet, gateway = 0;
    int prefix;
    if (spec->subnet != NULL) {
        if (!cidr_parse(spec->subnet, &subnet, &prefix)) {
            err_make(err, ERR_INVALID, 0, "Invalid subnet %s : invalid CIDR address: %s",
                     spec->subnet, spec->subnet);
            return NULL;
        }
        if (overlaps(eng, subnet, prefix)) {
            err_make(err, ERR_FORBIDDEN, 0, "Pool overlaps with other one on this address space");
            return NULL;
        }
    } else if (!auto_subnet(eng, &subnet, &prefix)) {
        err_make(err, ERR_FORBIDDEN, 0,
                 "could not find an available, non-overlapping IPv4 address pool among the "
                 "defaults to assign to the network");
        return NULL;
    }
    if (spec->gateway != NULL) {
        if (!ipv4_parse(spec->gateway, &gateway) || (gateway & mask_of(prefix)) != subnet) {
            err_make(err, ERR_INVALID, 0, "Invalid gateway %s for subnet", spec->gateway);
            return NULL;
        }
    } else {
        gateway = subnet + 1;
    }
    struct network *n = add_network(eng, spec->name, driver);
    n->internal = spec->internal;
    n->attachable = spec->attachable;
    n->ingress = spec->ingress;
    n->enable_ipv6 = spec->enable_ipv6;
    n->labels = spec->labels;
    n->options = spec->options;
    n->ipam_options = spec->ipam_options;
    memset(&spec->labels, 0, sizeof(spec->labels));
    memset(&spec->options, 0, sizeof(spec->options));
    memset(&spec->ipam_options, 0, sizeof(spec->ipam_options));
    if (spec->ipam_driver && *spec->ipam_driver) {
        free(n->ipam_driver);
        n->ipam_driver = xstrdup(spec->ipam_driver);
    }
    n->has_subnet = true;
    n->subnet = subnet;
    n->prefix = prefix;
    n->gateway = gateway;
    n->gateway_given = true; /* created networks show their gateway, given or chosen */
    return n;
}

static struct net_attachment *
find_attachment(struct container *c, const struct network *net)
{
    for (size_t i = 0; i < c->n_nets; i++)
        if (c->nets[i].net == net)
            return &c->nets[i];
    return NULL;
}

static void
attachment_fini(struct net_attachment *a)
{
    strv_free(a->aliases);
    memset(a, 0, sizeof(*a));
}

static void
drop_attachment(struct container *c, struct net_attachment *a)
{
    attachment_fini(a);
    size_t i = (size_t)(a - c->nets);
    memmove(&c->nets[i], &c->nets[i + 1], (c->n_nets - i - 1) * sizeof(*c->nets));
    c->n_nets--;
}

int
network_remove(struct engine *eng, struct network *net, struct err **err)
{
    if (net->builtin)
        return err_make(err, ERR_FORBIDDEN, 0, "%s is a pre-defined network and cannot be removed",
                        net->name);
    size_t it = 0;
    void *v;
    while (map_next(&eng->store.containers, &it, NULL, &v)) {
        struct container *c = v;
        struct net_attachment *a = find_attachment(c, net);
        if (a != NULL && a->active)
            return err_make(err, ERR_FORBIDDEN, 0,
                            "error while removing network: network %s id %s has active endpoints",
                            net->name, net->id);
    }
    it = 0;
    while (map_next(&eng->store.containers, &it, NULL, &v)) {
        struct container *c = v;
        struct net_attachment *a = find_attachment(c, net);
        if (a != NULL)
            drop_attachment(c, a);
    }
    for (size_t i = 0; i < eng->n_networks; i++) {
        if (eng->networks[i] == net) {
            memmove(&eng->networks[i], &eng->networks[i + 1],
                    (eng->n_networks - i - 1) * sizeof(*eng->networks));
            eng->n_networks--;
            break;
        }
    }
    network_free(net);
    return 0;
}

/* The lowest free host address of net (or the requested one). Lock held. */
static int
allocate(struct engine *eng, struct network *net, uint32_t requested, uint32_t *out,
         struct err **err)
{
    uint32_t first = net->subnet + 1, last = net->subnet + ~mask_of(net->prefix) - 1;
    for (uint32_t ip = requested ? requested : first; ip <= last; ip++) {
        bool taken = ip == net->gateway;
        size_t it = 0;
        void *v;
        while (!taken && map_next(&eng->store.containers, &it, NULL, &v)) {
            struct container *c = v;
            struct net_attachment *a = find_attachment(c, net);
            taken = a != NULL && a->active && a->ip == ip;
        }
        if (!taken) {
            *out = ip;
            return 0;
        }
        if (requested) {
            char s[16];
            ipv4_format(requested, s);
            return err_make(err, ERR_FORBIDDEN, 0, "Address already in use: %s", s);
        }
    }
    return err_make(err, ERR_UNAVAILABLE, 0, "no available IPv4 addresses on network %s",
                    net->name);
}

static int
activate_one(struct engine *eng, struct net_attachment *a, struct err **err)
{
    if (a->active)
        return 0;
    a->ip = 0;
    if (a->net->has_subnet && allocate(eng, a->net, a->requested_ip, &a->ip, err) < 0)
        return -1;
    id_generate(a->endpoint_id);
    a->active = true;
    return 0;
}

int
network_attach(struct engine *eng, struct container *c, struct network *net, char *const *aliases,
               uint32_t requested_ip, struct err **err)
{
    struct net_attachment *a = find_attachment(c, net);
    if (a != NULL) {
        if (container_is_running(c))
            return err_make(err, ERR_FORBIDDEN, 0,
                            "endpoint with name %s already exists in network %s", c->name + 1,
                            net->name);
        return 0;
    }
    if (requested_ip != 0 &&
        (!net->has_subnet || (requested_ip & mask_of(net->prefix)) != net->subnet)) {
        char s[16];
        ipv4_format(requested_ip, s);
        return err_make(err, ERR_INVALID, 0, "no configured subnet contains IP address %s", s);
    }
    c->nets = xrealloc(c->nets, (c->n_nets + 1) * sizeof(*c->nets));
    a = &c->nets[c->n_nets++];
    memset(a, 0, sizeof(*a));
    a->net = net;
    a->requested_ip = requested_ip;
    a->aliases = strv_dup(aliases);
    if (!net->builtin) {
        /* User-defined networks resolve a container by its short ID too. */
        char short_id[SHORT_ID_LEN + 1];
        if (!strv_contains(a->aliases, container_short_id(c, short_id)))
            a->aliases = strv_append(a->aliases, short_id);
    }
    if (container_is_running(c) && activate_one(eng, a, err) < 0) {
        drop_attachment(c, a);
        return -1;
    }
    return 0;
}

int
network_detach(struct engine *eng, struct container *c, struct network *net, struct err **err)
{
    (void)eng;
    struct net_attachment *a = find_attachment(c, net);
    if (a == NULL)
        return err_make(err, ERR_FORBIDDEN, 0, "container %s is not connected to the network %s",
                        c->id, net->name);
    drop_attachment(c, a);
    return 0;
}

int
network_activate(struct engine *eng, struct container *c, struct err **err)
{
    for (size_t i = 0; i < c->n_nets; i++) {
        if (activate_one(eng, &c->nets[i], err) < 0) {
            network_deactivate(eng, c);
            return -1;
        }
    }
    return 0;
}

void
network_deactivate(struct engine *eng, struct container *c)
{
    (void)eng;
    for (size_t i = 0; i < c->n_nets; i++) {
        c->nets[i].active = false;
        c->nets[i].ip = 0;
        c->nets[i].endpoint_id[0] = '\0';
    }
}

void
network_detach_all(struct engine *eng, struct container *c)
{
    (void)eng;
    for (size_t i = 0; i < c->n_nets; i++)
        attachment_fini(&c->nets[i]);
    free(c->nets);
    c->nets = NULL;
    c->n_nets = 0;
}
