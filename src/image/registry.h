/*
 * registry: a client of one repository of a registry speaking the OCI distribution API (v2),
 * over libcurl: endpoint choice as dockerd makes it, authentication (Bearer tokens from the
 * WWW-Authenticate challenge, anonymous or with credentials; Basic), manifests, and blobs
 * downloaded with their digest verified (registry_blob.c) or uploaded.
 *
 * Endpoints, as dockerd's registry service chooses them:
 *   - "docker.io" is served by registry-1.docker.io;
 *   - a registry is insecure when its host:port or host is listed in insecure_registries, or
 *     its address (a literal IP, or what the name resolves to) is inside one of the listed
 *     CIDRs; 127.0.0.0/8 is always listed (so localhost and 127.0.0.1 registries are);
 *   - a secure registry is reached over HTTPS with the system CAs plus the CA files (*.crt)
 *     of <certs_dir>/<host:port>/, and a client certificate from its *.cert and *.key;
 *   - an insecure one over HTTPS without verification, then over plain HTTP when HTTPS
 *     cannot connect.
 *
 * Not here: what a pull or push does with manifests and blobs (engine/pull.c, push.c), and
 * Docker's JSON spellings of credentials (api/). Credentials and tokens are never logged.
 * A struct registry may be used by several threads at once (parallel blob transfers).
 */
#ifndef SOCKERLESS_IMAGE_REGISTRY_H
#define SOCKERLESS_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct registry_config {
    char **insecure;       /* --insecure-registry values: "host[:port]" or CIDRs; may be NULL */
    const char *certs_dir; /* "/etc/docker/certs.d" */
};

/* Credentials for one registry (all may be NULL or ""): a username and password, or an
 * identity token (an OAuth2 refresh token from a login), or a ready registry token. */
struct registry_auth {
    char *username, *password, *identity_token, *registry_token;
};
void registry_auth_fini(struct registry_auth *a);
bool registry_auth_is_empty(const struct registry_auth *a);

/* The host serving a reference's domain: "docker.io" -> "registry-1.docker.io", others as
 * they are ("127.0.0.1:5000"). Borrowed from domain or static. */
const char *registry_host_of(const char *domain);
/* True when host ("name[:port]", "[v6]:port") is insecure under cfg (see above). */
bool registry_is_insecure(const struct registry_config *cfg, const char *host);
/* True when every element of list is a valid --insecure-registry value; *bad the first that
 * is not. */
bool registry_check_insecure(char *const *list, const char **bad);

struct registry;

/*
 * Opens a session with repository repo ("library/busybox") of the registry serving domain,
 * for pulling or (push) pulling and pushing: picks the endpoint (pinging /v2/) and, when the
 * registry asks for a Bearer token, gets one for the repository's scope now, so that bad
 * credentials are reported before anything is transferred. auth is copied.
 *
 * Errors: ERR_UNAVAILABLE when the registry cannot be reached (the transport's message,
 * `Get "https://host/v2/": ...` as dockerd words it), ERR_FORBIDDEN when the registry or its
 * token server refuses the credentials ("unauthorized: ..."), ERR_INVALID on answers that
 * are not the distribution API.
 */
struct registry *registry_open(const struct registry_config *cfg, const char *domain,
                               const char *repo, const struct registry_auth *auth, bool push,
                               struct err **err);
void registry_close(struct registry *r);
/* "https://127.0.0.1:5000": the endpoint in use. Borrowed. */
const char *registry_base_url(const struct registry *r);
/* Makes every transfer of r in progress (and later) fail at once: a pull that failed
 * elsewhere, or whose client left. Thread-safe. */
void registry_cancel(struct registry *r);

/*
 * Checks credentials against the registry at server (a host, or a URL such as dockerd's
 * "https://index.docker.io/v1/") as `docker login` does: a GET of /v2/ with Basic
 * credentials, or a token request to the Bearer realm. *identity_token (may be NULL) gets
 * the refresh token the token server gave, or NULL. Errors as registry_open; a refusal is
 * ERR_FORBIDDEN with dockerd's words ("login attempt to https://host/v2/ failed with status:
 * 401 Unauthorized").
 */
int registry_login(const struct registry_config *cfg, const char *server,
                   const struct registry_auth *auth, char **identity_token, struct err **err);

/* ---- manifests ---- */

struct registry_manifest {
    char *body; /* NUL-terminated */
    size_t len;
    char *content_type; /* may be NULL */
    char digest[72];    /* sha256 of body */
};
void registry_manifest_fini(struct registry_manifest *m);

/* GETs the manifest of ref (a tag, or a digest: then the body's digest must equal it,
 * ERR_INVALID otherwise), accepting every kind manifest.h parses. ERR_NOT_FOUND with the
 * registry's words ("manifest unknown: manifest unknown") when absent; ERR_TOO_LARGE past
 * MANIFEST_MAX_BYTES. */
int registry_get_manifest(struct registry *r, const char *ref, struct registry_manifest *out,
                          struct err **err);
/* PUTs a manifest under tag (or its digest when tag is NULL). */
int registry_put_manifest(struct registry *r, const char *tag, const char *media_type,
                          const char *body, size_t len, struct err **err);
/* The repository's tags (GET /v2/<repo>/tags/list, following Link pages): a new list. */
char **registry_list_tags(struct registry *r, struct err **err);

/* ---- blobs (registry_blob.c) ---- */

/* Progress of a transfer: bytes so far and expected (-1: unknown). Returning -1 cancels it. */
typedef int (*registry_progress_fn)(void *ctx, int64_t current, int64_t total);

/*
 * Downloads blob digest of the repository into fd (truncated first; written from offset 0),
 * verifying it as it arrives: more than size bytes (size >= 0) or a different digest fail
 * with ERR_INVALID "<what> verification failed for digest <digest>" (what: "filesystem
 * layer", "image config"). Interrupted transfers are resumed with a Range request or
 * retried, up to 5 attempts with a growing pause; progress (may be NULL) is called as bytes
 * arrive, at most every 100 ms, and once at the end.
 */
int registry_get_blob(struct registry *r, const char *digest, int64_t size, const char *what,
                      int fd, registry_progress_fn progress, void *ctx, struct err **err);
/* The same into memory, for small blobs (configs): at most max bytes. New buffer, *len. */
char *registry_get_blob_mem(struct registry *r, const char *digest, size_t max, const char *what,
                            size_t *len, struct err **err);
/* 1 when the repository has blob digest (HEAD; *size, may be NULL, gets its size), 0 when
 * not, -1 on failure. */
int registry_blob_exists(struct registry *r, const char *digest, int64_t *size, struct err **err);
/*
 * Asks the registry to mount blob digest from repository from_repo of the same registry
 * (cross-repository mount). 1 when mounted; 0 when not, and then *upload_url (new string)
 * is the upload session the registry opened instead, for registry_put_blob; -1 on failure.
 */
int registry_mount_blob(struct registry *r, const char *digest, const char *from_repo,
                        char **upload_url, struct err **err);
/* Uploads size bytes of fd (from offset 0) as blob digest in one PUT (a monolithic upload),
 * in the session upload_url or a new one when NULL. */
int registry_put_blob(struct registry *r, const char *digest, int fd, int64_t size,
                      const char *upload_url, registry_progress_fn progress, void *ctx,
                      struct err **err);

#endif
