/*
 * fuzz_dockerignore: a .dockerignore from arbitrary bytes, then a few paths through
 * dockerignore_matches and dockerignore_has_exception_below, including the patterns' own texts.
 */
#include <stdint.h>
#include <stdlib.h>

#include "build/dockerignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {
        "a", "a/b", "a/b/c.go", ".", "dir/sub/keep", "x\ny/z", "\xc3\xa9/\xff", "a//b/../c",
    };
    struct dockerignore di;
    struct err *err = NULL;
    if (dockerignore_parse((const char *)data, size, &di, &err) < 0) {
        err_clear(&err);
        return 0;
    }
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        (void)dockerignore_matches(&di, paths[i]);
        (void)dockerignore_has_exception_below(&di, paths[i]);
    }
    for (size_t i = 0; i < di.n_patterns && i < 16; i++) {
        (void)dockerignore_matches(&di, di.patterns[i].text);
        (void)dockerignore_has_exception_below(&di, di.patterns[i].text);
    }
    dockerignore_fini(&di);
    return 0;
}
