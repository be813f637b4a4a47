/*
 * creds: registry credentials given to POST /auth, kept in memory only, for
 * later pulls and pushes of the same registry. Never logged, never written
 * to disk.
 */
#ifndef SOCKERLESS_ENGINE_CREDS_H
#define SOCKERLESS_ENGINE_CREDS_H

#include <stdbool.h>

struct cred {
    char *server; /* registry host as given, normalised: no scheme, no trailing slash */
    char *username;
    char *password;
    char *identity_token;
};

struct creds;

struct creds *creds_new(void);
void creds_free(struct creds *c);
/* Stores (or replaces) the credentials of server; every string is copied, NULL means "". */
void creds_put(struct creds *c, const char *server, const char *username, const char *password,
               const char *identity_token);
/* Copies the credentials of server into *out (free with cred_fini); false when none. */
bool creds_get(struct creds *c, const char *server, struct cred *out);
void cred_fini(struct cred *cred);
/* Canonical registry key: "https://index.docker.io/v1/" and "docker.io" both become
 * "docker.io"; a scheme and a trailing slash are dropped. Returns a new string. */
char *creds_normalize_server(const char *server);

#endif
