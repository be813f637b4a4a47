#include "image/manifest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

bool
manifest_is_digest(const char *digest)
{
    return digest != NULL && strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71 &&
           strspn(digest + 7, "0123456789abcdef") == 64;
}

void
platform_fini(struct platform *p)
{
    free(p->os);
    free(p->arch);
    free(p->variant);
    memset(p, 0, sizeof(*p));
}

static void
descriptor_fini(struct descriptor *d)
{
    free(d->media_type);
    platform_fini(&d->platform);
    memset(d, 0, sizeof(*d));
}

void
manifest_fini(struct manifest *m)
{
    free(m->media_type);
    descriptor_fini(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        descriptor_fini(&m->layers[i]);
    free(m->layers);
    for (size_t i = 0; i < m->n_children; i++)
        descriptor_fini(&m->children[i]);
    free(m->children);
    memset(m, 0, sizeof(*m));
}

/* ---- platforms ---- */

static char *
lower_dup(const char *s)
{
    char *out = xstrdup(s);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

/* containerd's platforms.Normalize for the architecture and variant. */
static void
normalize(struct platform *p)
{
    char *a = p->arch;
    const char *arch = a, *variant = p->variant;
    if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0) {
        arch = "amd64";
        variant = NULL;
    } else if (strcmp(a, "aarch64") == 0 || strcmp(a, "arm64") == 0) {
        arch = "arm64";
        if (variant != NULL && (strcmp(variant, "8") == 0 || strcmp(variant, "v8") == 0))
            variant = NULL;
    } else if (strcmp(a, "armhf") == 0) {
        arch = "arm";
        variant = "v7";
    } else if (strcmp(a, "armel") == 0) {
        arch = "arm";
        variant = "v6";
    } else if (strcmp(a, "arm") == 0) {
        if (variant == NULL || strcmp(variant, "7") == 0)
            variant = "v7";
        else if (strcmp(variant, "5") == 0 || strcmp(variant, "6") == 0 ||
                 strcmp(variant, "8") == 0)
            variant = variant[0] == '5' ? "v5" : variant[0] == '6' ? "v6" : "v8";
    } else if (strcmp(a, "i386") == 0) {
        arch = "386";
    }
    char *na = xstrdup(arch);
    char *nv = variant && *variant ? xstrdup(variant) : NULL;
    free(p->arch);
    free(p->variant);
    p->arch = na;
    p->variant = nv;
}

int
platform_parse(const char *text, const char *host_arch, struct platform *out, struct err **err)
{
    memset(out, 0, sizeof(*out));
    cleanup_free char *s = lower_dup(text);
    char *parts[4] = {0};
    size_t n = 0;
    for (char *tok = s, *save = NULL; n < 4; tok = NULL) {
        char *part = strtok_r(tok, "/", &save);
        if (part == NULL)
            break;
        parts[n++] = part;
    }
    size_t slashes = 0;
    for (const char *p = text; *p; p++)
        slashes += *p == '/';
    if (n == 0 || n > 3 || slashes + 1 != n)
        return err_make(err, ERR_INVALID, 0, "\"%s\": unknown operating system or architecture",
                        text);
    out->os = xstrdup(parts[0]);
    out->arch = xstrdup(n > 1 ? parts[1] : host_arch && *host_arch ? host_arch : "amd64");
    out->variant = n > 2 ? xstrdup(parts[2]) : NULL;
    normalize(out);
    return 0;
}

void
platform_host(const char *arch, struct platform *out)
{
    out->os = xstrdup("linux");
    out->arch = xstrdup(arch && *arch ? arch : "amd64");
    out->variant = NULL;
    normalize(out);
}

char *
platform_format(const struct platform *p)
{
    if (p->variant != NULL)
        return xasprintf("%s/%s/%s", p->os ? p->os : "unknown", p->arch ? p->arch : "unknown",
                         p->variant);
    return xasprintf("%s/%s", p->os ? p->os : "unknown", p->arch ? p->arch : "unknown");
}

/* An arm variant's number ("v7" -> 7), 0 when none or unknown. */
static int
arm_level(const char *v)
{
    if (v == NULL || v[0] != 'v' || v[1] < '5' || v[1] > '8' || v[2] != '\0')
        return 0;
    return v[1] - '0';
}

/* have normalized into a copy, so "aarch64/v8" from an index compares as "arm64". */
static void
normalized_copy(const struct platform *have, struct platform *out)
{
    out->os = lower_dup(have->os);
    out->arch = lower_dup(have->arch);
    out->variant = have->variant ? lower_dup(have->variant) : NULL;
    normalize(out);
}

bool
platform_matches(const struct platform *want, const struct platform *have)
{
    if (have->os == NULL || have->arch == NULL)
        return false;
    struct platform h;
    normalized_copy(have, &h);
    bool ok = strcmp(want->os, h.os) == 0 && strcmp(want->arch, h.arch) == 0;
    if (ok && strcmp(h.arch, "arm") == 0) {
        int w = arm_level(want->variant), g = arm_level(h.variant);
        ok = g != 0 && g <= w;
    } else if (ok) {
        ok = (want->variant == NULL && h.variant == NULL) ||
             (want->variant != NULL && h.variant != NULL && strcmp(want->variant, h.variant) == 0);
    }
    platform_fini(&h);
    return ok;
}

const struct descriptor *
manifest_select(const struct manifest *m, const struct platform *want)
{
    const struct descriptor *best = NULL;
    int best_level = -1;
    for (size_t i = 0; i < m->n_children; i++) {
        const struct descriptor *d = &m->children[i];
        if (!platform_matches(want, &d->platform))
            continue;
        struct platform h;
        normalized_copy(&d->platform, &h);
        int level = arm_level(h.variant);
        platform_fini(&h);
        if (level > best_level) { /* arm: the highest variant; elsewhere the first */
            best = d;
            best_level = level;
        }
    }
    return best;
}

/* ---- parsing ---- */

static const char *
str_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
parse_descriptor(json_t *o, struct descriptor *d, bool with_platform, struct err **err)
{
    const char *digest = str_member(o, "digest");
    json_t *size = json_object_get(o, "size");
    if (!json_is_object(o) || digest == NULL)
        return err_make(err, ERR_INVALID, 0, "invalid manifest: a descriptor has no digest");
    if (strncmp(digest, "sha256:", 7) != 0)
        return err_make(err, ERR_INVALID, 0, "unsupported digest algorithm: %.80s", digest);
    if (!manifest_is_digest(digest))
        return err_make(err, ERR_INVALID, 0, "invalid manifest: invalid digest %.80s", digest);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return err_make(err, ERR_INVALID, 0, "invalid manifest: bad size for %s", digest);
    memcpy(d->digest, digest, 72);
    d->size = json_integer_value(size);
    const char *mt = str_member(o, "mediaType");
    d->media_type = mt ? xstrdup(mt) : NULL;
    json_t *p = json_object_get(o, "platform");
    if (with_platform && json_is_object(p)) {
        const char *os = str_member(p, "os"), *arch = str_member(p, "architecture");
        const char *variant = str_member(p, "variant");
        d->platform.os = os ? xstrdup(os) : NULL;
        d->platform.arch = arch ? xstrdup(arch) : NULL;
        d->platform.variant = variant && *variant ? xstrdup(variant) : NULL;
    }
    return 0;
}

static int
parse_list(json_t *arr, const char *what, struct descriptor **out, size_t *n, bool with_platform,
           struct err **err)
{
    if (!json_is_array(arr))
        return err_make(err, ERR_INVALID, 0, "invalid manifest: no %s", what);
    if (json_array_size(arr) > MANIFEST_MAX_ENTRIES)
        return err_make(err, ERR_TOO_LARGE, 0, "invalid manifest: more than %d %s",
                        MANIFEST_MAX_ENTRIES, what);
    *out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (parse_descriptor(v, &(*out)[i], with_platform, err) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

/* Layers an image can be made of: Docker's and OCI's tar layers, plain, gzip or zstd. */
static bool
is_layer_type(const char *t)
{
    return t == NULL || strncmp(t, "application/vnd.docker.image.rootfs.", 36) == 0 ||
           strncmp(t, "application/vnd.oci.image.layer.", 32) == 0;
}

static enum manifest_kind
kind_of(const char *content_type, json_t *root, bool *known)
{
    const char *mt = str_member(root, "mediaType");
    const char *types[] = {content_type, mt};
    *known = true;
    for (int i = 0; i < 2; i++) {
        const char *t = types[i];
        if (t == NULL)
            continue;
        if (strncmp(t, MEDIA_DOCKER_LIST, strlen(MEDIA_DOCKER_LIST)) == 0 ||
            strncmp(t, MEDIA_OCI_INDEX, strlen(MEDIA_OCI_INDEX)) == 0)
            return MANIFEST_INDEX;
        if (strncmp(t, MEDIA_DOCKER_MANIFEST, strlen(MEDIA_DOCKER_MANIFEST)) == 0 ||
            strncmp(t, MEDIA_OCI_MANIFEST, strlen(MEDIA_OCI_MANIFEST)) == 0)
            return MANIFEST_IMAGE;
    }
    /* A registry that answers application/json: the shape says it. */
    if (json_object_get(root, "manifests") != NULL)
        return MANIFEST_INDEX;
    *known = json_object_get(root, "config") != NULL && json_object_get(root, "layers") != NULL;
    return MANIFEST_IMAGE;
}

int
manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *out,
               struct err **err)
{
    memset(out, 0, sizeof(*out));
    if (len > MANIFEST_MAX_BYTES)
        return err_make(err, ERR_TOO_LARGE, 0, "manifest too large (over %d bytes)",
                        MANIFEST_MAX_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return err_make(err, ERR_INVALID, 0, "invalid manifest: %s", jerr.text);
    }
    json_t *version = json_object_get(root, "schemaVersion");
    bool known;
    struct manifest m = {.kind = kind_of(content_type, root, &known)};
    int rc = 0;
    if (json_is_integer(version) && json_integer_value(version) == 1)
        rc = err_make(err, ERR_INVALID, 0,
                      "unsupported manifest format: Docker schema 1 (deprecated); push the image "
                      "again with a current client");
    else if (!known)
        rc = err_make(err, ERR_INVALID, 0, "unsupported manifest media type %.100s",
                      content_type ? content_type : "(none)");
    else if (!json_is_integer(version) || json_integer_value(version) != 2)
        rc = err_make(err, ERR_INVALID, 0, "invalid manifest: schemaVersion must be 2");
    const char *mt = str_member(root, "mediaType");
    m.media_type = xstrdup(mt                              ? mt
                           : m.kind == MANIFEST_INDEX      ? MEDIA_OCI_INDEX
                           : content_type && *content_type ? content_type
                                                           : MEDIA_OCI_MANIFEST);
    if (rc == 0 && m.kind == MANIFEST_INDEX) {
        rc = parse_list(json_object_get(root, "manifests"), "manifests", &m.children, &m.n_children,
                        true, err);
    } else if (rc == 0) {
        rc = parse_descriptor(json_object_get(root, "config"), &m.config, false, err);
        if (rc == 0)
            rc = parse_list(json_object_get(root, "layers"), "layers", &m.layers, &m.n_layers,
                            false, err);
        for (size_t i = 0; rc == 0 && i < m.n_layers; i++)
            if (!is_layer_type(m.layers[i].media_type))
                rc = err_make(err, ERR_INVALID, 0, "unsupported layer media type %.100s",
                              m.layers[i].media_type);
    }
    json_decref(root);
    if (rc < 0) {
        manifest_fini(&m);
        return -1;
    }
    *out = m;
    return 0;
}

/* ---- the manifest of a push ---- */

static json_t *
descriptor_json(const char *media_type, const struct descriptor *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "mediaType", json_string(media_type));
    json_object_set_new(o, "size", json_integer(d->size));
    json_object_set_new(o, "digest", json_string(d->digest));
    return o;
}

char *
manifest_schema2(const struct descriptor *config, const struct descriptor *layers, size_t n_layers)
{
    /* Go's MarshalIndent(m, "", "   ") of distribution's schema2.Manifest: fields in struct
     * order, "key": value, three spaces a level, no final newline. */
    json_t *root = json_object();
    json_object_set_new(root, "schemaVersion", json_integer(2));
    json_object_set_new(root, "mediaType", json_string(MEDIA_DOCKER_MANIFEST));
    json_object_set_new(root, "config", descriptor_json(MEDIA_DOCKER_CONFIG, config));
    json_t *arr = json_array();
    for (size_t i = 0; i < n_layers; i++)
        json_array_append_new(arr, descriptor_json(MEDIA_DOCKER_LAYER, &layers[i]));
    json_object_set_new(root, "layers", arr);
    char *text = json_dumps(root, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}
