/*
 * manifest: the JSON documents of the distribution API: image manifests (Docker v2 schema 2,
 * OCI image manifest), manifest lists and OCI indexes, with the platform selection dockerd
 * applies to a list, and the schema 2 manifest a push writes. Pure: no I/O.
 *
 * Not supported: Docker v2 schema 1 (signed manifests, deprecated since 2017).
 */
#ifndef SOCKERLESS_IMAGE_MANIFEST_H
#define SOCKERLESS_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MEDIA_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"

/* The Accept header of a manifest GET: every kind parsed here. */
#define MANIFEST_ACCEPT                                                                            \
    MEDIA_DOCKER_MANIFEST ", " MEDIA_DOCKER_LIST ", " MEDIA_OCI_MANIFEST ", " MEDIA_OCI_INDEX

/* Caps on what a registry sends (dockerd reads at most 4 MiB of a manifest). */
enum { MANIFEST_MAX_BYTES = 4 << 20, MANIFEST_MAX_ENTRIES = 1000 };

struct platform {
    char *os, *arch, *variant; /* variant may be NULL */
};

struct descriptor {
    char *media_type;
    char digest[72]; /* "sha256:<64 hex>" */
    int64_t size;
    struct platform platform; /* entries of an index; all NULL elsewhere or when absent */
};

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct manifest {
    enum manifest_kind kind;
    char *media_type;
    struct descriptor config;    /* MANIFEST_IMAGE */
    struct descriptor *layers;   /* MANIFEST_IMAGE, in order (base first) */
    size_t n_layers;             /* */
    struct descriptor *children; /* MANIFEST_INDEX: its manifests */
    size_t n_children;
};

/*
 * Parses a manifest or index. content_type (the response's, may be NULL) decides the kind when
 * it is one of the four types; otherwise the body's mediaType and shape do. ERR_INVALID for
 * bad JSON, a bad digest or size, schema 1 ("unsupported manifest format") or a layer of a
 * kind no image can use; ERR_TOO_LARGE past MANIFEST_MAX_ENTRIES.
 */
int manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *out,
                   struct err **err);
void manifest_fini(struct manifest *m);

/* True when digest is "sha256:" and 64 lowercase hex digits. */
bool manifest_is_digest(const char *digest);

/*
 * Parses "os[/arch[/variant]]" (Docker's --platform; "linux/arm64/v8", "linux/amd64"; a missing
 * architecture is host_arch's) into a normalized platform: architecture aliases as containerd's
 * (x86_64 -> amd64, aarch64 -> arm64, armhf -> arm/v7, armel -> arm/v6), arm without variant
 * meaning v7, arm64's v8 dropped. ERR_INVALID "unknown operating system or architecture" on an
 * empty part.
 */
int platform_parse(const char *text, const char *host_arch, struct platform *out, struct err **err);
/* The host's platform: linux and the machine's architecture (GOARCH names), normalized. */
void platform_host(const char *arch, struct platform *out);
void platform_fini(struct platform *p);
/* "linux/amd64", "linux/arm/v7": containerd's format. New string. */
char *platform_format(const struct platform *p);
/* True when an image made for have runs on want: same OS and architecture; for arm a variant
 * at most want's (v7 runs v6 and v5); elsewhere the same variant (none or v8 alike on arm64). */
bool platform_matches(const struct platform *want, const struct platform *have);

/*
 * The entry of index m that want selects, as dockerd's filterManifests does: matching entries,
 * the exact variant first, then the highest; among equals, the first listed. NULL when none.
 */
const struct descriptor *manifest_select(const struct manifest *m, const struct platform *want);

/*
 * The Docker v2 schema 2 manifest of an image (config and layers descriptors, layers with
 * MEDIA_DOCKER_LAYER), laid out byte for byte as dockerd pushes it (Go's json.MarshalIndent
 * with three spaces), so the same blobs give the same manifest digest. New string.
 */
char *manifest_schema2(const struct descriptor *config, const struct descriptor *layers,
                       size_t n_layers);

#endif
