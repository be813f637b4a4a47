/*
 * fuzz_registry: what a registry sends, from arbitrary bytes: a manifest or index (with each
 * of the Content-Types a registry may give it), selected for a few platforms and written back
 * as a schema 2 manifest; a WWW-Authenticate challenge; a --platform value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "image/manifest.h"
#include "image/www_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {NULL, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX,
                                        "application/json"};
    static const char *const platforms[] = {"linux/amd64", "linux/arm/v6", "linux/arm64"};
    char *text = xstrndup((const char *)data, size);
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        struct manifest m;
        struct err *err = NULL;
        if (manifest_parse((const char *)data, size, types[t], &m, &err) < 0) {
            err_clear(&err);
            continue;
        }
        for (size_t p = 0; p < sizeof(platforms) / sizeof(platforms[0]); p++) {
            struct platform want;
            if (platform_parse(platforms[p], "amd64", &want, NULL) == 0) {
                (void)manifest_select(&m, &want);
                platform_fini(&want);
            }
        }
        if (m.kind == MANIFEST_IMAGE)
            free(manifest_schema2(&m.config, m.layers, m.n_layers));
        manifest_fini(&m);
    }
    struct www_auth w;
    if (www_auth_parse(text, &w))
        www_auth_fini(&w);
    struct platform p;
    struct err *err = NULL;
    if (platform_parse(text, "arm", &p, &err) == 0) {
        free(platform_format(&p));
        platform_fini(&p);
    }
    err_clear(&err);
    free(text);
    return 0;
}
