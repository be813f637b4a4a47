/*
 * network: networks, their IPAM, and containers' attachments to them.
 *
 * As in dockerd, a container is attached to networks from create time (NetworkMode,
 * NetworkingConfig, connect), but an endpoint (address, MAC, endpoint ID) exists only while it
 * runs: addresses are allocated at start and released at exit, and the lowest free address is
 * reused. A network with running endpoints cannot be removed. The default networks bridge,
 * host and none always exist and cannot be removed.
 *
 * Networking is modelled state only: no namespace, bridge or veth exists yet (real networking
 * comes with the process driver). All functions expect the engine lock held unless noted.
 */
#ifndef SOCKERLESS_ENGINE_NETWORK_H
#define SOCKERLESS_ENGINE_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/labels.h"
#include "engine/ids.h"

struct engine;
struct container;

struct network {
    char id[ID_LEN + 1];
    char *name;
    char *driver; /* bridge, host, null */
    int64_t created_ns;
    bool internal, attachable, ingress, enable_ipv6, builtin;
    struct labels labels, options;
    char *ipam_driver;
    struct labels ipam_options;
    bool has_subnet;
    uint32_t subnet, gateway; /* host byte order */
    int prefix;
    bool gateway_given; /* the user gave the gateway (inspect shows it as given) */
};

struct net_attachment {
    struct network *net; /* borrowed: attachments go before their network */
    char **aliases;
    uint32_t requested_ip; /* 0: any */
    /* the endpoint, while the container runs */
    bool active;
    uint32_t ip;
    char endpoint_id[ID_LEN + 1];
};

struct network_spec {
    char *name, *driver, *ipam_driver;
    bool internal, attachable, ingress, enable_ipv6;
    struct labels labels, options, ipam_options;
    char *subnet, *gateway; /* CIDR and address as given, or NULL */
};

void network_spec_fini(struct network_spec *s);

/* Creates bridge (172.17.0.0/16), host and none. Lock not needed (start-up). */
void networks_init(struct engine *eng);
void networks_fini(struct engine *eng);

/* By full ID, name, or unique ID prefix; ERR_NOT_FOUND "network x not found". */
struct network *network_find(struct engine *eng, const char *ref, struct err **err);
/* ERR_CONFLICT on a taken name, ERR_FORBIDDEN on an overlapping subnet, ERR_INVALID on a bad
 * CIDR, ERR_UNSUPPORTED for a driver other than bridge. */
struct network *network_create(struct engine *eng, struct network_spec *spec, struct err **err);
/* ERR_FORBIDDEN for a default network or one with running endpoints; stopped containers are
 * detached. */
int network_remove(struct engine *eng, struct network *net, struct err **err);

/* Attaches c to net (aliases copied, requested_ip may be 0). Already attached: ERR_FORBIDDEN
 * "endpoint with name x already exists in network y" when running, else nothing changes. A
 * running container gets its endpoint at once. */
int network_attach(struct engine *eng, struct container *c, struct network *net,
                   char *const *aliases, uint32_t requested_ip, struct err **err);
/* ERR_FORBIDDEN "container x is not connected to the network y" when not attached. */
int network_detach(struct engine *eng, struct container *c, struct network *net, struct err **err);
/* Allocates endpoints for every attachment of c (at start). */
int network_activate(struct engine *eng, struct container *c, struct err **err);
/* Releases c's endpoints (at exit). */
void network_deactivate(struct engine *eng, struct container *c);
/* Drops every attachment of c (at remove). */
void network_detach_all(struct engine *eng, struct container *c);

/* Publishes a network event (create, destroy, connect, disconnect); c may be NULL. */
void network_event(struct engine *eng, const struct network *n, const char *action,
                   const struct container *c);

/* Dotted quad of ip (host order) into out[16]. */
void ipv4_format(uint32_t ip, char out[16]);
bool ipv4_parse(const char *s, uint32_t *ip);
/* Docker's MAC for an address: 02:42 followed by the address bytes. */
void ipv4_mac(uint32_t ip, char out[18]);

#endif
