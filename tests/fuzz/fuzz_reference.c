/*
 * fuzz_reference: an image reference from arbitrary bytes (up to a NUL) through
 * reference_parse; a parsed reference must print in its full, familiar and repository forms,
 * and the full form must parse again to the same repository and tag (or digest).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "image/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = xstrndup((const char *)data, size);
    struct reference r;
    struct err *err = NULL;
    if (reference_parse(text, &r, &err) == 0) {
        char *full = reference_full(&r);
        char *familiar = reference_familiar(&r);
        char *repo = reference_repo_familiar(&r);
        struct reference again;
        if (reference_parse(full, &again, &err) < 0)
            abort(); /* what reference_full prints must parse */
        /* With both a tag and a digest the full form names the tag only (reference_full). */
        if (!same(r.domain, again.domain) || !same(r.path, again.path) || !same(r.tag, again.tag) ||
            (r.tag == NULL && !same(r.digest, again.digest)))
            abort();
        reference_fini(&again);
        /* The familiar form need not parse back: as Docker's, "docker.io/a.b/c" is "a.b/c",
         * which names the registry a.b. It must not crash either. */
        struct reference fam;
        if (reference_parse(familiar, &fam, &err) == 0)
            reference_fini(&fam);
        err_clear(&err);
        free(full);
        free(familiar);
        free(repo);
        reference_fini(&r);
    }
    err_clear(&err);
    free(text);
    return 0;
}
