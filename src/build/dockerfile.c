/*
 * The public face of the Dockerfile parser (dockerfile.h): the file into stages, ONBUILD
 * triggers, instruction names and the small helpers. The reading of lines is in
 * dockerfile_lines.c, the instruction checks in dockerfile_instr.c, expansion in
 * dockerfile_expand.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "build/dockerfile_internal.h"
#include "build/gocompat.h"

/* ---- instructions' names ---- */

static const char *const cmd_names[] = {
    [DOCKERFILE_ADD] = "ADD",
    [DOCKERFILE_ARG] = "ARG",
    [DOCKERFILE_CMD] = "CMD",
    [DOCKERFILE_COPY] = "COPY",
    [DOCKERFILE_ENTRYPOINT] = "ENTRYPOINT",
    [DOCKERFILE_ENV] = "ENV",
    [DOCKERFILE_EXPOSE] = "EXPOSE",
    [DOCKERFILE_FROM] = "FROM",
    [DOCKERFILE_HEALTHCHECK] = "HEALTHCHECK",
    [DOCKERFILE_LABEL] = "LABEL",
    [DOCKERFILE_MAINTAINER] = "MAINTAINER",
    [DOCKERFILE_ONBUILD] = "ONBUILD",
    [DOCKERFILE_RUN] = "RUN",
    [DOCKERFILE_SHELL] = "SHELL",
    [DOCKERFILE_STOPSIGNAL] = "STOPSIGNAL",
    [DOCKERFILE_USER] = "USER",
    [DOCKERFILE_VOLUME] = "VOLUME",
    [DOCKERFILE_WORKDIR] = "WORKDIR",
};

const char *
dockerfile_cmd_name(enum dockerfile_cmd cmd)
{
    if ((size_t)cmd >= sizeof(cmd_names) / sizeof(cmd_names[0]))
        return "?";
    return cmd_names[cmd];
}

bool
dockerfile_cmd_lookup(const char *name, enum dockerfile_cmd *cmd)
{
    for (size_t i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++) {
        if (strcasecmp(name, cmd_names[i]) == 0) {
            *cmd = (enum dockerfile_cmd)i;
            return true;
        }
    }
    return false;
}

int
dockerfile_split_kv(const char *text, char escape, enum dockerfile_cmd cmd,
                    struct dockerfile_kv **out, size_t *n_out, struct err **err)
{
    const char *what = dockerfile_cmd_name(cmd);
    size_t len = strlen(text), n;
    gocompat_trim_space(&text, &len);
    struct dockerfile_kv *kvs;
    if (dockerfile_args_pairs(text, len, escape ? escape : '\\', cmd, &kvs, &n, err) < 0)
        return -1;
    int rc = 0;
    if (n == 0)
        rc = err_make(err, ERR_INVALID, 0, "%s requires at least one argument", what);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (kvs[i].key[0] == '\0')
            rc = err_make(err, ERR_INVALID, 0, "%s names can not be blank", what);
    if (rc < 0) {
        dockerfile_kvs_free(kvs, n);
        return -1;
    }
    *out = kvs;
    *n_out = n;
    return 0;
}

void
dockerfile_kvs_free(struct dockerfile_kv *kvs, size_t n)
{
    for (size_t i = 0; kvs != NULL && i < n; i++) {
        free(kvs[i].key);
        free(kvs[i].value);
    }
    free(kvs);
}

char *
dockerfile_heredoc_body(const struct dockerfile_heredoc *h)
{
    char *out = xstrdup(h->content);
    if (!h->chomp)
        return out;
    /* (?m)^\t+ removed: the tabs at the start of the text and after each "\n". */
    size_t w = 0;
    bool line_start = true;
    for (size_t r = 0; out[r] != '\0'; r++) {
        if (line_start && out[r] == '\t')
            continue;
        line_start = out[r] == '\n';
        out[w++] = out[r];
    }
    out[w] = '\0';
    return out;
}

static void
stage_fini(struct dockerfile_stage *st)
{
    dockerfile_instr_fini(&st->from);
    free(st->base);
    free(st->name);
    free(st->platform);
    dockerfile_instrs_free(st->instrs, st->n_instrs);
}

void
dockerfile_fini(struct dockerfile *df)
{
    dockerfile_instrs_free(df->args, df->n_args);
    for (size_t i = 0; i < df->n_stages; i++)
        stage_fini(&df->stages[i]);
    free(df->stages);
    free(df->syntax);
    strv_free(df->warnings);
    *df = (struct dockerfile){0};
}

static void
push_instr(struct dockerfile_instr **v, size_t *n, struct dockerfile_instr *in)
{
    *v = gocompat_grow(*v, *n, sizeof(**v));
    (*v)[(*n)++] = *in;
}

/* A FROM instruction opens a stage. */
static void
open_stage(struct dockerfile *df, struct dockerfile_instr *from)
{
    struct dockerfile_stage st = {.from = *from, .base = xstrdup(from->args[0])};
    if (from->n_args == 3) {
        st.name = xstrdup(from->args[2]);
        for (char *c = st.name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    }
    const char *platform = dockerfile_instr_flag(from, "platform");
    st.platform = platform ? xstrdup(platform) : NULL;
    df->stages = gocompat_grow(df->stages, df->n_stages, sizeof(st));
    df->stages[df->n_stages++] = st;
}

struct named {
    const char *name;
    size_t index;
};

static int
by_name(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

/* dockerd refuses a stage name used twice when it reaches the second stage: the reported name is
 * the one whose second use comes first. Sorted, so that many stages stay cheap. */
static int
check_names(const struct dockerfile *df, struct err **err)
{
    struct named *v = xcalloc(df->n_stages + 1, sizeof(*v));
    size_t n = 0, first = SIZE_MAX;
    const char *dup = NULL;
    for (size_t i = 0; i < df->n_stages; i++)
        if (df->stages[i].name != NULL)
            v[n++] = (struct named){df->stages[i].name, i};
    qsort(v, n, sizeof(*v), by_name);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i].name, v[i - 1].name) == 0 && v[i].index < first &&
            (i < 2 || strcmp(v[i - 2].name, v[i].name) != 0)) {
            first = v[i].index;
            dup = v[i].name;
        }
    }
    int rc = dup != NULL ? err_make(err, ERR_INVALID, 0, "%s stage name already used", dup) : 0;
    free(v);
    return rc;
}

/* instructions.Parse: ARGs before the first FROM are global; anything else needs a stage. */
static int
build_stages(const struct dockerfile_lines *lines, struct dockerfile *df, struct err **err)
{
    for (size_t i = 0; i < lines->n_nodes; i++) {
        const struct dockerfile_node *node = &lines->nodes[i];
        struct dockerfile_instr in;
        struct err *e = NULL;
        if (dockerfile_instr_from_node(node, &in, &e) < 0) {
            err_make(err, ERR_INVALID, 0, "dockerfile parse error line %d: %s", node->start_line,
                     e->msg);
            err_clear(&e);
            return -1;
        }
        if (in.cmd == DOCKERFILE_FROM) {
            open_stage(df, &in);
        } else if (df->n_stages == 0 && in.cmd == DOCKERFILE_ARG) {
            push_instr(&df->args, &df->n_args, &in);
        } else if (df->n_stages == 0) {
            dockerfile_instr_fini(&in);
            return err_make(err, ERR_INVALID, 0, "no build stage in current context");
        } else {
            struct dockerfile_stage *st = &df->stages[df->n_stages - 1];
            push_instr(&st->instrs, &st->n_instrs, &in);
        }
    }
    if (df->n_stages == 0)
        return err_make(err, ERR_INVALID, 0, "dockerfile contains no stages to build");
    return check_names(df, err);
    return 0;
}

int
dockerfile_parse(const char *text, size_t len, struct dockerfile *out, struct err **err)
{
    if (len > DOCKERFILE_MAX_SIZE)
        return err_make(err, ERR_TOO_LARGE, 0, "the Dockerfile exceeds the limit of %d bytes",
                        DOCKERFILE_MAX_SIZE);
    const char *nul = memchr(text, '\0', len);
    if (nul != NULL) {
        int line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        return err_make(err, ERR_INVALID, 0, "failed to parse Dockerfile: line %d holds a NUL byte",
                        line);
    }
    struct dockerfile_lines lines;
    struct err *e = NULL;
    int line;
    if (dockerfile_lines_parse(text, len, &lines, &line, &e) < 0) {
        if (line > 0)
            err_make(err, e->kind, 0, "dockerfile parse error line %d: %s", line, e->msg);
        else
            err_make(err, e->kind, 0, "failed to parse Dockerfile: %s", e->msg);
        err_clear(&e);
        return -1;
    }
    struct dockerfile df = {.escape = lines.escape, .syntax = lines.syntax};
    lines.syntax = NULL;
    df.warnings = lines.warnings;
    lines.warnings = NULL;
    int rc = build_stages(&lines, &df, err);
    dockerfile_lines_fini(&lines);
    if (rc < 0) {
        dockerfile_fini(&df);
        return -1;
    }
    *out = df;
    return 0;
}

/* What dockerd 20.10's checkDispatch and processOnBuild refuse before parsing a trigger. */
static int
check_trigger(const struct dockerfile_node *node, struct err **err)
{
    enum dockerfile_cmd cmd;
    if (!dockerfile_cmd_lookup(node->cmd, &cmd)) {
        cleanup_free char *up = xstrdup(node->cmd);
        for (char *c = up; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
        return err_make(err, ERR_INVALID, 0, "unknown instruction: %s", up);
    }
    if (cmd == DOCKERFILE_ONBUILD && node->n_args == 0)
        return err_make(err, ERR_INVALID, 0, "ONBUILD requires at least one argument");
    if (cmd == DOCKERFILE_ONBUILD)
        return err_make(err, ERR_INVALID, 0,
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (cmd == DOCKERFILE_MAINTAINER || cmd == DOCKERFILE_FROM)
        return err_make(err, ERR_INVALID, 0, "%s isn't allowed as an ONBUILD trigger",
                        dockerfile_cmd_name(cmd));
    return 0;
}

int
dockerfile_parse_trigger(const char *text, struct dockerfile_instr **out, size_t *n,
                         struct err **err)
{
    size_t len = strlen(text);
    if (len > DOCKERFILE_MAX_SIZE)
        return err_make(err, ERR_TOO_LARGE, 0, "the trigger exceeds the limit of %d bytes",
                        DOCKERFILE_MAX_SIZE);
    struct dockerfile_lines lines;
    int line;
    if (dockerfile_lines_parse(text, len, &lines, &line, err) < 0)
        return -1;
    struct dockerfile_instr *v = NULL;
    size_t count = 0;
    int rc = 0;
    for (size_t i = 0; i < lines.n_nodes && rc == 0; i++)
        rc = check_trigger(&lines.nodes[i], err);
    for (size_t i = 0; i < lines.n_nodes && rc == 0; i++) {
        struct dockerfile_instr in;
        rc = dockerfile_instr_from_node(&lines.nodes[i], &in, err);
        if (rc == 0)
            push_instr(&v, &count, &in);
    }
    dockerfile_lines_fini(&lines);
    if (rc < 0) {
        dockerfile_instrs_free(v, count);
        return -1;
    }
    *out = v;
    *n = count;
    return 0;
}
