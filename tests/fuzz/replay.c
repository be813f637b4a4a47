/*
 * replay: a main() for a fuzz target without libFuzzer. Feeds every regular file of each
 * directory argument (and each file argument) to LLVMFuzzerTestOneInput, once, in name order,
 * each in a buffer of exactly its size so that a sanitizer build catches reads past the end.
 * Exits 0 when all ran, 1 when a path cannot be read; a crash is the target's own.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || st.st_size > 64 * 1024 * 1024) {
        fprintf(stderr, "replay: %s: cannot size it, or larger than 64 MiB\n", path);
        fclose(f);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    /* exactly len bytes (one when empty, so that malloc gives a real pointer) */
    uint8_t *data = xmalloc(len > 0 ? len : 1);
    bool ok = fread(data, 1, len, f) == len;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "replay: %s: short read\n", path);
        free(data);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int
main(int argc, char **argv)
{
    int status = 0;
    size_t runs = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            status = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            status |= run_file(argv[i]) < 0;
            runs++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, NULL, name_cmp);
        if (n < 0) {
            perror(argv[i]);
            status = 1;
            continue;
        }
        for (int k = 0; k < n; k++) {
            char *path = xasprintf("%s/%s", argv[i], names[k]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                status |= run_file(path) < 0;
                runs++;
            }
            free(path);
            free(names[k]);
        }
        free(names);
    }
    printf("replay: %zu inputs\n", runs);
    if (runs == 0)
        status = 1; /* an empty or missing corpus replays nothing: fail rather than pass */
    return status;
}
