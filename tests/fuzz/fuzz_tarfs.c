/*
 * fuzz_tarfs: a tar (or compressed tar) from arbitrary bytes extracted by tarfs_extract into a
 * fresh root inside a fresh directory, next to an empty directory "outside" (seeds link to it
 * as "../outside"); afterwards the directory must hold those two and nothing else, "outside"
 * must still be empty, and no path under the root may resolve outside it. Byte 0 picks the options
 * (keep owners or force one, docker cp's no_overwrite_dir_non_dir, extraction into "/" or into
 * "/sub"); the rest is the archive.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/strv.h"
#include "image/tarfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The directory holds only the names in keep (NULL-ended). */
static void
check_only(const char *dir, const char *const *keep)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        abort();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        bool kept = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        for (size_t i = 0; keep[i] != NULL && !kept; i++)
            kept = strcmp(e->d_name, keep[i]) == 0;
        if (!kept) {
            fprintf(stderr, "fuzz_tarfs: %s/%s was created outside the root\n", dir, e->d_name);
            abort();
        }
    }
    closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1024 * 1024)
        return 0;
    char dir[] = "/tmp/sockerless-fuzz-tarfs-XXXXXX";
    if (mkdtemp(dir) == NULL)
        abort();
    char root[sizeof(dir) + 8];
    snprintf(root, sizeof(root), "%s/root", dir);
    char sub[sizeof(root) + 8], outside[sizeof(dir) + 16];
    snprintf(sub, sizeof(sub), "%s/sub", root);
    snprintf(outside, sizeof(outside), "%s/outside", dir);
    if (mkdir(root, 0755) < 0 || mkdir(sub, 0755) < 0 || mkdir(outside, 0755) < 0)
        abort();

    struct tarfs_owner owner = {.uid = 1000, .gid = 1000};
    struct err *err = NULL;
    (void)tarfs_extract(root, data[0] & 4 ? "/sub" : "/", data + 1, size - 1, data[0] & 2,
                        data[0] & 1 ? &owner : NULL, &err);
    err_clear(&err);

    static const char *const dir_names[] = {"root", "outside", NULL};
    static const char *const none[] = {NULL};
    check_only(dir, dir_names);
    check_only(outside, none);
    /* Every path the root lists must really be under it (no link out, resolved in the root). */
    char **paths = tarfs_list(root, &err);
    err_clear(&err);
    char real_root[PATH_MAX];
    if (realpath(root, real_root) == NULL)
        abort();
    for (size_t i = 0; paths != NULL && paths[i] != NULL; i++) {
        char full[PATH_MAX * 2];
        snprintf(full, sizeof(full), "%s%s", root, paths[i]);
        struct stat st;
        if (lstat(full, &st) < 0 || S_ISLNK(st.st_mode))
            continue; /* links are kept as links; their targets are resolved in the root */
        char real[PATH_MAX];
        if (realpath(full, real) != NULL &&
            (strncmp(real, real_root, strlen(real_root)) != 0 ||
             (real[strlen(real_root)] != '/' && real[strlen(real_root)] != '\0'))) {
            fprintf(stderr, "fuzz_tarfs: %s resolves to %s\n", full, real);
            abort();
        }
    }
    strv_free(paths);
    if (fsutil_remove_tree(dir, &err) < 0) {
        fprintf(stderr, "fuzz_tarfs: cannot remove %s: %s\n", dir, err->msg);
        abort();
    }
    return 0;
}
