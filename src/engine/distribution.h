/*
 * distribution: images to and from registries (engine/pull.c, engine/push.c) and registry
 * logins, on the registry client (image/registry.h), reporting progress as Docker's pull and
 * push streams do (the api layer spells it in JSON).
 *
 * The pull policy: a pull is a real pull from the registry. Only when the engine allows
 * synthetic pulls (eng->synthetic_pulls) and the registry cannot be reached at all does a pull
 * become the synthetic pull of the seed (an image without layers); a registry that answers
 * with an error (unknown manifest, refused credentials) is an error in every mode.
 *
 * Credentials: those given (X-Registry-Auth), else those stored by a login for the registry.
 */
#ifndef SOCKERLESS_ENGINE_DISTRIBUTION_H
#define SOCKERLESS_ENGINE_DISTRIBUTION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "image/registry.h"

struct engine;
struct image;

enum progress_kind {
    PROGRESS_STATUS, /* status, and id when not NULL: "Pulling from library/busybox" */
    PROGRESS_LAYER,  /* status of layer id, no byte counts: "Pull complete" */
    PROGRESS_BYTES,  /* status of layer id with current of total bytes: "Downloading" */
    PROGRESS_PUSHED, /* a push's result: tag, digest and manifest size (Docker's aux) */
};

struct progress {
    enum progress_kind kind;
    const char *status, *id;
    int64_t current, total; /* PROGRESS_BYTES */
    const char *tag, *digest;
    int64_t size; /* PROGRESS_PUSHED */
};

/* Where progress goes. emit is called from several threads, one call at a time; it returns
 * -1 when nobody listens any more (the client left), which stops the operation. */
struct progress_sink {
    void *ctx;
    int (*emit)(void *ctx, const struct progress *p);
};

struct pull_opts {
    const char *platform;             /* "os/arch[/variant]", NULL: the host's */
    const struct registry_auth *auth; /* NULL or empty: a login's, or anonymous */
    bool all_tags;                    /* ref names a repository: pull every tag */
};

/*
 * Pulls ref ("busybox", "host:5000/x:v1", "x@sha256:...") under the pull policy above: the
 * manifest (a list or index resolved to opts->platform), the config, and the layers not
 * present (three downloads at a time, each verified, extracted in order); the image is added
 * with the reference and its digest reference (RepoDigests), and a "pull" event. A digest
 * reference already present is a no-op. opts and out may be NULL.
 *
 * Errors before the first progress message (no registry, unknown manifest, refused
 * credentials: dockerd answers those with an HTTP error) and after it (a layer failing its
 * verification: in-band) both come back in *err; *streamed tells which (may be NULL).
 * ERR_NOT_FOUND "manifest for x:y not found: manifest unknown: manifest unknown",
 * ERR_UNAVAILABLE when the registry cannot be reached, ERR_FORBIDDEN when it refuses.
 */
int engine_image_pull(struct engine *eng, const char *ref, const struct pull_opts *opts,
                      const struct progress_sink *out, bool *streamed, struct err **err);

/*
 * The image ref names, pulled first (engine_image_pull, no progress) when the store has no
 * such reference: what `docker build` does for FROM and COPY --from. A new reference (the
 * caller unrefs), or NULL with *err (the pull's error).
 */
struct image *engine_image_ensure(struct engine *eng, const char *ref, struct err **err);

/*
 * Pushes name ("host:5000/x") with tag, or every tag of the repository when tag is NULL or
 * empty: per layer, a blob the registry has is not sent again ("Layer already exists"), one
 * another repository of the registry has is mounted ("Mounted from x"), others are compressed
 * (gzip, deterministic) and uploaded; then the config and a Docker v2 schema 2 manifest. The
 * digest reference is recorded. ERR_NOT_FOUND "An image does not exist locally with the tag:
 * x" when there is nothing to push. Errors as engine_image_pull.
 */
int engine_image_push(struct engine *eng, const char *name, const char *tag,
                      const struct registry_auth *auth, const struct progress_sink *out,
                      bool *streamed, struct err **err);

/*
 * docker login: checks the credentials against the registry at server and stores them for
 * later pulls and pushes (engine/creds.h). When the registry cannot be reached and synthetic
 * pulls are allowed, they are stored unchecked (the seed's behaviour). *identity_token gets
 * what the registry's token server gave (may be NULL: new string or NULL).
 */
int engine_registry_login(struct engine *eng, const char *server, const char *username,
                          const char *password, const char *identity_token, char **token_out,
                          struct err **err);

#endif
