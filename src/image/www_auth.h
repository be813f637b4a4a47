/*
 * www_auth: the WWW-Authenticate challenges of a registry (RFC 7235 syntax, as the
 * distribution spec's token authentication uses them):
 *
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."
 *   Basic realm="Registry Realm"
 *
 * Pure parsing, no I/O. Not here: fetching tokens (registry.c).
 */
#ifndef SOCKERLESS_IMAGE_WWW_AUTH_H
#define SOCKERLESS_IMAGE_WWW_AUTH_H

#include <stdbool.h>

enum www_auth_scheme { WWW_AUTH_NONE, WWW_AUTH_BASIC, WWW_AUTH_BEARER };

struct www_auth {
    enum www_auth_scheme scheme;
    char *realm;   /* NULL when absent */
    char *service; /* Bearer: the token's audience, or NULL */
    char *scope;   /* Bearer: the scope the registry asked for, or NULL */
};

/*
 * Parses one WWW-Authenticate header value, which may carry several challenges; *out gets
 * the Bearer one if any, else the Basic one (the strongest scheme we speak). Parameter names
 * are case-insensitive, values plain tokens or quoted strings with backslash escapes. False
 * (and *out zeroed) when the value has no Bearer or Basic challenge or is malformed.
 */
bool www_auth_parse(const char *header, struct www_auth *out);
void www_auth_fini(struct www_auth *w);

#endif
