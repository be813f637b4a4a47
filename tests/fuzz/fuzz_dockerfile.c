/*
 * fuzz_dockerfile: dockerfile_parse on arbitrary bytes, then every word of every instruction
 * through dockerfile_expand and dockerfile_expand_words (both escape tokens, with and without
 * keep_unset), every heredoc through the body helpers, and the same text as an ONBUILD trigger
 * and as ENV/LABEL/ARG text. Nothing may crash, leak or run away.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "build/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *env[] = {(char *)"a=1", (char *)"e=", (char *)"sp=x  y", (char *)"q=\"'$", NULL};

static void
expand_word(const char *word, char escape)
{
    for (int mode = 0; mode < 3; mode++) {
        struct dockerfile_expand_opts o = {
            .escape = escape, .env = env, .keep_unset = mode == 1, .keep_quotes = mode == 2};
        struct err *err = NULL;
        char *s = dockerfile_expand(word, &o, &err);
        free(s);
        err_clear(&err);
        char **w = dockerfile_expand_words(word, &o, &err);
        strv_free(w);
        err_clear(&err);
    }
}

static void
walk(const struct dockerfile_instr *in, char escape)
{
    for (size_t i = 0; i < in->n_args; i++) {
        expand_word(in->args[i], escape);
        const struct dockerfile_heredoc *h = dockerfile_instr_heredoc(in, in->args[i]);
        if (h != NULL)
            free(dockerfile_heredoc_body(h));
    }
    for (size_t i = 0; i < in->n_kvs; i++) {
        expand_word(in->kvs[i].key, escape);
        if (in->kvs[i].value != NULL)
            expand_word(in->kvs[i].value, escape);
    }
    for (size_t i = 0; i < in->n_flags; i++)
        expand_word(in->flags[i].value, escape);
    for (size_t i = 0; i < in->n_heredocs; i++) {
        char *body = dockerfile_heredoc_body(&in->heredocs[i]);
        expand_word(body, escape);
        free(body);
    }
    (void)dockerfile_instr_flag(in, "mount");
    if (in->trigger != NULL) {
        struct dockerfile_instr *t;
        size_t n;
        struct err *err = NULL;
        if (dockerfile_parse_trigger(in->trigger, &t, &n, &err) == 0)
            dockerfile_instrs_free(t, n);
        err_clear(&err);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0; /* the size check itself is trivial; keep executions fast */
    struct dockerfile df;
    struct err *err = NULL;
    if (dockerfile_parse((const char *)data, size, &df, &err) == 0) {
        for (size_t i = 0; i < df.n_args; i++)
            walk(&df.args[i], df.escape);
        for (size_t s = 0; s < df.n_stages; s++) {
            walk(&df.stages[s].from, df.escape);
            for (size_t i = 0; i < df.stages[s].n_instrs; i++)
                walk(&df.stages[s].instrs[i], df.escape);
        }
        dockerfile_fini(&df);
    }
    err_clear(&err);

    /* The same bytes, up to a NUL, as a trigger, as key=value text and as one word. */
    char *text = xstrndup((const char *)data, size); /* not strndup: ASan strict_string_checks */
    struct dockerfile_instr *t;
    size_t n;
    if (dockerfile_parse_trigger(text, &t, &n, &err) == 0)
        dockerfile_instrs_free(t, n);
    err_clear(&err);
    const enum dockerfile_cmd kv_cmds[] = {DOCKERFILE_ENV, DOCKERFILE_LABEL, DOCKERFILE_ARG};
    for (size_t i = 0; i < 3; i++) {
        struct dockerfile_kv *kv;
        if (dockerfile_split_kv(text, i == 1 ? '`' : '\\', kv_cmds[i], &kv, &n, &err) == 0)
            dockerfile_kvs_free(kv, n);
        err_clear(&err);
    }
    expand_word(text, '\\');
    expand_word(text, '`');
    free(text);
    return 0;
}
