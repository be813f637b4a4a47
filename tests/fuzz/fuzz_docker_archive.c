/*
 * fuzz_docker_archive: a `docker load` archive from arbitrary bytes through
 * docker_archive_read into a layer store of its own (made once, in a temporary directory); the
 * layers it stores are taken back after each input. Also the bytes as an image config
 * (docker_archive_image_of_config), as configs from a registry are read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/fsutil.h"
#include "base/strv.h"
#include "image/docker_archive.h"
#include "image/image.h"
#include "image/layerstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/sockerless-fuzz-archive-XXXXXX";
static struct layerstore *ls;

static void
cleanup(void)
{
    layerstore_free(ls);
    fsutil_remove_tree(root, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4 * 1024 * 1024)
        return 0;
    struct err *err = NULL;
    if (ls == NULL) {
        if (mkdtemp(root) == NULL || (ls = layerstore_open(root, &err)) == NULL)
            abort();
        atexit(cleanup);
    }
    struct image **imgs = NULL;
    size_t n = 0;
    char **stored = NULL;
    if (docker_archive_read(data, size, ls, &imgs, &n, &stored, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            layerstore_remove_config(ls, imgs[i]->id);
            image_unref(imgs[i]);
        }
        free(imgs);
    }
    err_clear(&err);
    for (size_t i = 0; stored != NULL && stored[i] != NULL; i++) {
        if (layerstore_remove(ls, stored[i], &err) < 0) {
            fprintf(stderr, "fuzz_docker_archive: cannot remove layer %s: %s\n", stored[i],
                    err->msg);
            abort();
        }
    }
    strv_free(stored);

    struct image *img = docker_archive_image_of_config((const char *)data, size, &err);
    if (img != NULL)
        image_unref(img);
    err_clear(&err);
    return 0;
}
