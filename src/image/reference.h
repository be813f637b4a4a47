/*
 * reference: image references as Docker reads them (compat-notes 18). "busybox" is
 * "docker.io/library/busybox:latest"; "host:port/path:tag" and "name@sha256:<hex>" are kept;
 * the familiar form drops "docker.io/library/" again for display.
 */
#ifndef SOCKERLESS_IMAGE_REFERENCE_H
#define SOCKERLESS_IMAGE_REFERENCE_H

#include <stdbool.h>

#include "base/err.h"

struct reference {
    char *domain; /* "docker.io" */
    char *path;   /* "library/busybox" */
    char *tag;    /* "latest", or NULL with a digest */
    char *digest; /* "sha256:..." or NULL */
};

/* Parses and normalizes ref; ERR_INVALID "invalid reference format" as Docker says it. A missing
 * tag (and digest) becomes "latest". */
int reference_parse(const char *ref, struct reference *out, struct err **err);
void reference_fini(struct reference *r);
/* "docker.io/library/busybox:latest" (or "...@sha256:..."). New string. */
char *reference_full(const struct reference *r);
/* "busybox:latest", "localhost:5000/app:v1": Docker's familiar form. New string. */
char *reference_familiar(const struct reference *r);
/* "docker.io/library/busybox" / familiar "busybox": the repository without tag. New string. */
char *reference_repo_familiar(const struct reference *r);

#endif
