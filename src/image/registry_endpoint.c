/* Endpoints: which host serves a domain, which registries are insecure, the certs.d files of
 * a registry, and the ping that picks HTTPS or plain HTTP (registry.h, "Endpoints"). */
#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "image/registry_internal.h"

enum { PING_TIMEOUT_S = 120 };

/* ---- endpoints ---- */

const char *
registry_host_of(const char *domain)
{
    if (strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0)
        return "registry-1.docker.io";
    return domain;
}

/* host without its port ("[::1]:5000" -> "::1"): a new string. */
static char *
host_name(const char *host)
{
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        return end ? xstrndup(host + 1, (size_t)(end - host - 1)) : xstrdup(host);
    }
    const char *colon = strchr(host, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL)
        return xstrndup(host, (size_t)(colon - host));
    return xstrdup(host);
}

struct cidr {
    int family;
    unsigned char addr[16];
    int bits;
};

static bool
cidr_parse(const char *text, struct cidr *c)
{
    const char *slash = strchr(text, '/');
    if (slash == NULL)
        return false;
    cleanup_free char *ip = xstrndup(text, (size_t)(slash - text));
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    if (*end != '\0' || slash[1] == '\0')
        return false;
    if (inet_pton(AF_INET, ip, c->addr) == 1)
        c->family = AF_INET;
    else if (inet_pton(AF_INET6, ip, c->addr) == 1)
        c->family = AF_INET6;
    else
        return false;
    c->bits = (int)bits;
    return bits >= 0 && bits <= (c->family == AF_INET ? 32 : 128);
}

static bool
cidr_contains(const struct cidr *c, int family, const unsigned char *addr)
{
    if (family != c->family)
        return false;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(addr, c->addr, (size_t)full) != 0)
        return false;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return rest == 0 || (addr[full] & mask) == (c->addr[full] & mask);
}

bool
registry_check_insecure(char *const *list, const char **bad)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        struct cidr c;
        const char *s = list[i];
        bool ok = strchr(s, '/') ? cidr_parse(s, &c) : *s != '\0' && !strstr(s, "://");
        if (!ok) {
            *bad = s;
            return false;
        }
    }
    return true;
}

/* The addresses host stands for: itself when it is a literal IP, else what it resolves to. */
static bool
host_in_cidrs(const char *name, const struct cidr *cidrs, size_t n)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, name, addr) == 1) {
        for (size_t i = 0; i < n; i++)
            if (cidr_contains(&cidrs[i], AF_INET, addr))
                return true;
        return false;
    }
    if (inet_pton(AF_INET6, name, addr) == 1) {
        for (size_t i = 0; i < n; i++)
            if (cidr_contains(&cidrs[i], AF_INET6, addr))
                return true;
        return false;
    }
    /* dockerd resolves the name and looks at every address (registry/config.go isSecureIndex). */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return false;
    bool found = false;
    for (struct addrinfo *a = res; a != NULL && !found; a = a->ai_next) {
        const unsigned char *p =
            a->ai_family == AF_INET
                ? (const unsigned char *)&((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr
                : (const unsigned char *)&((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr;
        for (size_t i = 0; i < n && !found; i++)
            found = cidr_contains(&cidrs[i], a->ai_family, p);
    }
    freeaddrinfo(res);
    return found;
}

bool
registry_is_insecure(const struct registry_config *cfg, const char *host)
{
    cleanup_free char *name = host_name(host);
    struct cidr cidrs[64];
    size_t n = 0;
    cidr_parse("127.0.0.0/8", &cidrs[n++]);
    for (size_t i = 0; cfg && cfg->insecure && cfg->insecure[i] != NULL; i++) {
        const char *s = cfg->insecure[i];
        if (strchr(s, '/') == NULL) {
            if (strcmp(s, host) == 0 || strcmp(s, name) == 0)
                return true;
        } else if (n < sizeof(cidrs) / sizeof(cidrs[0]) && cidr_parse(s, &cidrs[n])) {
            n++;
        }
    }
    return host_in_cidrs(name, cidrs, n);
}

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* certs.d/<host>/: *.crt are CAs, a *.cert with its *.key a client certificate (dockerd's
 * registry.ReadCertsDirectory). */
void
reg_load_certs_dir(struct registry *r)
{
    if (r->cfg == NULL || r->cfg->certs_dir == NULL)
        return;
    cleanup_free char *dir = xasprintf("%s/%s", r->cfg->certs_dir, r->host);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *path = xasprintf("%s/%s", dir, de->d_name);
        if (has_suffix(de->d_name, ".crt")) {
            r->ca_files = strv_append(r->ca_files, path);
        } else if (has_suffix(de->d_name, ".cert") && r->client_cert == NULL) {
            char *key = xasprintf("%.*s.key", (int)(strlen(path) - 5), path);
            if (access(key, R_OK) == 0) {
                r->client_cert = xstrdup(path);
                r->client_key = key;
            } else {
                LOG_WARN("registry %s: %s has no matching .key: ignored", r->host, path);
                free(key);
            }
        }
        free(path);
    }
    closedir(d);
}

/* ---- the ping ---- */

/* GET <scheme>://host/v2/ without credentials: the endpoint works when anything answers. */
static int
ping(struct registry *r, const char *scheme, struct reg_request *q, struct err **err)
{
    free(r->base);
    r->base = xasprintf("%s://%s", scheme, r->host);
    free(q->url);
    q->url = xasprintf("%s/v2/", r->base);
    q->no_auth = true;
    q->timeout_s = PING_TIMEOUT_S;
    return reg_exchange(r, q, err);
}

int
reg_pick_endpoint(struct registry *r, struct reg_request *q, struct err **err)
{
    bool insecure = registry_is_insecure(r->cfg, r->host);
    r->tls_verify = !insecure;
    reg_request_init(q, "GET", NULL);
    struct err *first = NULL;
    if (ping(r, "https", q, &first) == 0) {
        err_clear(&first);
    } else if (!insecure) {
        *err = first;
        return -1;
    } else {
        err_clear(&first);
        LOG_DEBUG("registry %s: no HTTPS, trying plain HTTP", r->host);
        if (ping(r, "http", q, err) < 0)
            return -1;
    }
    if (q->status == 404)
        return err_make(err, ERR_INVALID, 0,
                        "%s does not serve the registry API v2 (GET /v2/ answered 404)", r->base);
    return 0;
}
