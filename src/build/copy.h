/*
 * copy: the file work of COPY and ADD. Sources are resolved inside their root (the build
 * context, or another image's root for COPY --from): `..` and symlinks never lead out of it.
 * What they name is written as one tar (owner, mode, times; parents of the destination that do
 * not exist yet as 0755 directories) and extracted into the container's root with tarfs, so
 * the destination is resolved inside that root too.
 */
#ifndef SOCKERLESS_BUILD_COPY_H
#define SOCKERLESS_BUILD_COPY_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

struct copy_req {
    const char *what;      /* "COPY" or "ADD", for messages */
    const char *src_root;  /* the directory sources are relative to */
    char *const *srcs;     /* source words, expanded (Go filepath.Match wildcards allowed) */
    const char *dest_root; /* the container's root */
    const char *dest;      /* absolute destination in the container; a trailing '/': a dir */
    bool add;              /* ADD: local tar archives (any compression) are extracted */
    uid_t uid;             /* owner of everything copied (--chown), 0 by default */
    gid_t gid;
    int mode;        /* --chmod permission bits, or -1: the sources' own */
    const char *tmp; /* a directory for the temporary tar */
};

/*
 * Copies. created_by gets what dockerd's history calls the sources ("file:<hex>", "dir:<hex>",
 * "multi:<hex>": the digest of what was copied), a new string. ERR_NOT_FOUND with dockerd's message
 * ("file not found in build context or excluded by .dockerignore: stat x: file does not exist")
 * for a missing source, ERR_INVALID for the other refusals.
 */
int build_copy(const struct copy_req *r, char **created_by, struct err **err);

#endif
