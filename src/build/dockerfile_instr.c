/*
 * Nodes into checked instructions, and instructions into stages: buildkit's
 * frontend/dockerfile/instructions (parse.go, bflag.go) as dockerd 20.10 runs it, with the
 * additions named in dockerfile.h (COPY/ADD --link and --chmod, RUN --network and --security,
 * heredocs). The messages are buildkit's, word for word.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "build/dockerfile_internal.h"
#include "build/gocompat.h"

enum flag_type { FLAG_BOOL, FLAG_STRING, FLAG_STRINGS };

struct flag_spec {
    const char *name;
    enum flag_type type;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct flag_spec from_flags[] = {{"platform", FLAG_STRING}};
static const struct flag_spec run_flags[] = {
    {"mount", FLAG_STRINGS}, {"network", FLAG_STRING}, {"security", FLAG_STRING}};
static const struct flag_spec copy_flags[] = {
    {"chown", FLAG_STRING}, {"from", FLAG_STRING}, {"chmod", FLAG_STRING}, {"link", FLAG_BOOL}};
static const struct flag_spec add_flags[] = {
    {"chown", FLAG_STRING}, {"chmod", FLAG_STRING}, {"link", FLAG_BOOL}};
static const struct flag_spec health_flags[] = {{"interval", FLAG_STRING},
                                                {"timeout", FLAG_STRING},
                                                {"start-period", FLAG_STRING},
                                                {"retries", FLAG_STRING}};

static void
add_flag(struct dockerfile_instr *in, const char *name, size_t n, const char *value)
{
    in->flags = gocompat_grow(in->flags, in->n_flags, sizeof(*in->flags));
    in->flags[in->n_flags++] = (struct dockerfile_flag){xstrndup(name, n), xstrdup(value)};
}

/* BFlags.Parse: the node's flag words against the instruction's set. */
static int
parse_flags(const struct dockerfile_node *node, const struct flag_spec *specs, size_t n_specs,
            struct dockerfile_instr *in, struct err **err)
{
    for (size_t i = 0; i < node->n_flags; i++) {
        const char *arg = node->flags[i];
        if (strncmp(arg, "--", 2) != 0)
            return err_make(err, ERR_INVALID, 0, "Arg should start with -- : %s", arg);
        if (strcmp(arg, "--") == 0)
            return 0;
        arg += 2;
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *value = eq ? eq + 1 : "";
        const struct flag_spec *spec = NULL;
        for (size_t k = 0; k < n_specs && spec == NULL; k++)
            if (strlen(specs[k].name) == len && memcmp(specs[k].name, arg, len) == 0)
                spec = &specs[k];
        if (spec == NULL)
            return err_make(err, ERR_INVALID, 0, "Unknown flag: %.*s", (int)len, arg);
        if (spec->type != FLAG_STRINGS && dockerfile_instr_flag(in, spec->name) != NULL)
            return err_make(err, ERR_INVALID, 0, "Duplicate flag specified: %s", spec->name);
        if (spec->type == FLAG_BOOL) {
            if (eq != NULL && *value == '\0')
                return err_make(err, ERR_INVALID, 0, "Missing a value on flag: %s", spec->name);
            if (*value == '\0' || strcasecmp(value, "true") == 0)
                value = "true";
            else if (strcasecmp(value, "false") == 0)
                value = "false";
            else
                return err_make(err, ERR_INVALID, 0, "Expecting boolean value for flag %s, not: %s",
                                spec->name, value);
        } else if (eq == NULL) {
            return err_make(err, ERR_INVALID, 0, "Missing a value on flag: %s", spec->name);
        }
        add_flag(in, arg, len, value);
    }
    return 0;
}

static int
at_least_one(const struct dockerfile_instr *in, struct err **err)
{
    if (in->n_args > 0)
        return 0;
    return err_make(err, ERR_INVALID, 0, "%s requires at least one argument",
                    dockerfile_cmd_name(in->cmd));
}

static int
exactly_one(const struct dockerfile_instr *in, struct err **err)
{
    if (in->n_args == 1)
        return 0;
    return err_make(err, ERR_INVALID, 0, "%s requires exactly one argument",
                    dockerfile_cmd_name(in->cmd));
}

/* parseKvps (ENV, LABEL): args are key, value pairs. */
static int
parse_kvps(struct dockerfile_instr *in, struct err **err)
{
    const char *what = dockerfile_cmd_name(in->cmd);
    if (at_least_one(in, err) < 0)
        return -1;
    if (in->n_args % 2 != 0)
        return err_make(err, ERR_INVALID, 0, "Bad input to %s, too many arguments", what);
    in->kvs = xcalloc(in->n_args / 2 + 1, sizeof(*in->kvs));
    for (size_t i = 0; i < in->n_args; i += 2) {
        if (in->args[i][0] == '\0')
            return err_make(err, ERR_INVALID, 0, "%s names can not be blank", what);
        in->kvs[in->n_kvs].key = xstrdup(in->args[i]);
        in->kvs[in->n_kvs++].value = xstrdup(in->args[i + 1]);
    }
    return 0;
}

static int
parse_arg(struct dockerfile_instr *in, struct err **err)
{
    if (at_least_one(in, err) < 0)
        return -1;
    in->kvs = xcalloc(in->n_args + 1, sizeof(*in->kvs));
    for (size_t i = 0; i < in->n_args; i++) {
        const char *a = in->args[i], *eq = strchr(a, '=');
        if (eq == a)
            return err_make(err, ERR_INVALID, 0, "ARG names can not be blank");
        in->kvs[in->n_kvs].key = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
        in->kvs[in->n_kvs++].value = eq ? xstrdup(eq + 1) : NULL;
    }
    return 0;
}

/* ADD and COPY: at least a source and the destination, which cannot be a heredoc. */
static int
parse_copy(const struct dockerfile_node *node, struct dockerfile_instr *in, struct err **err)
{
    const char *what = dockerfile_cmd_name(in->cmd);
    if (in->n_args < 2)
        return err_make(err, ERR_INVALID, 0,
                        "%s requires at least two arguments, but only one was provided. "
                        "Destination could not be determined",
                        what);
    bool copy = in->cmd == DOCKERFILE_COPY;
    if (parse_flags(node, copy ? copy_flags : add_flags, copy ? N(copy_flags) : N(add_flags), in,
                    err) < 0)
        return -1;
    struct dockerfile_heredoc h;
    bool is = false;
    struct err *e = NULL;
    if (dockerfile_lines_heredoc_match(in->args[in->n_args - 1], &h, &is, &e) == 0 && is) {
        free(h.name);
        return err_make(err, ERR_INVALID, 0, "%s cannot accept a heredoc as a destination", what);
    }
    err_clear(&e);
    return 0;
}

static bool
valid_stage_name(const char *s) /* ^[a-z][a-z0-9-_.]*$ */
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
              *s == '.'))
            return false;
    return true;
}

static int
parse_from(const struct dockerfile_node *node, struct dockerfile_instr *in, struct err **err)
{
    if (in->n_args == 3 && strcasecmp(in->args[1], "as") == 0) {
        cleanup_free char *name = xstrdup(in->args[2]);
        for (char *c = name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        if (!valid_stage_name(name)) {
            cleanup_free char *q = gocompat_quote(in->args[2], strlen(in->args[2]));
            return err_make(err, ERR_INVALID, 0,
                            "invalid name for build stage: %s, name can't start with a number or "
                            "contain symbols",
                            q);
        }
    } else if (in->n_args != 1) {
        return err_make(err, ERR_INVALID, 0, "FROM requires either one or three arguments");
    }
    return parse_flags(node, from_flags, N(from_flags), in, err);
}

/* The ONBUILD text an image keeps: the line without the leading "ONBUILD" ((?i)^\s*ONBUILD\s*)
 * and the heredoc bodies after it. */
static bool
is_re_space(char c) /* Go regexp's \s */
{
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static char *
onbuild_expression(const struct dockerfile_node *node)
{
    const char *s = node->original;
    size_t i = 0;
    while (is_re_space(s[i]))
        i++;
    if (strncasecmp(s + i, "onbuild", 7) == 0) {
        for (i += 7; is_re_space(s[i]); i++)
            ;
    } else {
        i = 0;
    }
    struct buf b;
    buf_init(&b, SIZE_MAX / 2);
    (void)buf_append(&b, s + i, strlen(s + i), NULL);
    for (size_t k = 0; k < node->n_heredocs; k++) {
        const struct dockerfile_heredoc *h = &node->heredocs[k];
        (void)buf_append(&b, "\n", 1, NULL);
        (void)buf_append(&b, h->content, strlen(h->content), NULL);
        (void)buf_append(&b, h->name, strlen(h->name), NULL);
    }
    return buf_take(&b, NULL);
}

static int
parse_onbuild(const struct dockerfile_node *node, struct dockerfile_instr *in, struct err **err)
{
    if (at_least_one(in, err) < 0 || parse_flags(node, NULL, 0, in, err) < 0)
        return -1;
    const char *t = in->args[0];
    size_t n = strlen(t);
    gocompat_trim_space(&t, &n);
    cleanup_free char *trigger = xstrndup(t, n);
    for (char *c = trigger; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    if (strcmp(trigger, "ONBUILD") == 0)
        return err_make(err, ERR_INVALID, 0,
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (strcmp(trigger, "MAINTAINER") == 0 || strcmp(trigger, "FROM") == 0)
        return err_make(err, ERR_INVALID, 0, "%s isn't allowed as an ONBUILD trigger", trigger);
    in->trigger = onbuild_expression(node);
    return 0;
}

/* parseOptInterval as in dockerd 20.10: unset is 0; anything else at least 1ms. */
static int
interval(const struct dockerfile_instr *in, const char *name, int64_t *out, struct err **err)
{
    const char *v = dockerfile_instr_flag(in, name);
    *out = 0;
    if (v == NULL || *v == '\0')
        return 0;
    if (gocompat_parse_duration(v, out, err) < 0)
        return -1;
    if (*out < 1000000)
        return err_make(err, ERR_INVALID, 0, "Interval \"%s\" cannot be less than 1ms", name);
    return 0;
}

static int
parse_healthcheck(const struct dockerfile_node *node, struct dockerfile_instr *in, struct err **err)
{
    if (at_least_one(in, err) < 0)
        return -1;
    cleanup_free char *typ = xstrdup(in->args[0]);
    for (char *c = typ; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    struct dockerfile_health *h = &in->health;
    if (strcmp(typ, "NONE") == 0) {
        if (in->n_args != 1)
            return err_make(err, ERR_INVALID, 0, "HEALTHCHECK NONE takes no arguments");
        h->none = true;
        h->test = strv_append(NULL, "NONE");
        return 0;
    }
    if (parse_flags(node, health_flags, N(health_flags), in, err) < 0)
        return -1;
    if (strcmp(typ, "CMD") != 0) {
        cleanup_free char *q = gocompat_quote(typ, strlen(typ));
        return err_make(err, ERR_INVALID, 0, "Unknown type %s in HEALTHCHECK (try CMD)", q);
    }
    if (in->n_args < 2)
        return err_make(err, ERR_INVALID, 0, "Missing command after HEALTHCHECK CMD");
    h->test = xcalloc(in->n_args + 1, sizeof(char *));
    h->test[0] = xstrdup(in->json ? "CMD" : "CMD-SHELL");
    for (size_t i = 1; i < in->n_args; i++)
        h->test[i] = xstrdup(in->args[i]);
    if (interval(in, "interval", &h->interval_ns, err) < 0 ||
        interval(in, "timeout", &h->timeout_ns, err) < 0 ||
        interval(in, "start-period", &h->start_period_ns, err) < 0)
        return -1;
    const char *r = dockerfile_instr_flag(in, "retries");
    if (r != NULL && *r != '\0') {
        int64_t v;
        if (gocompat_parse_int(r, 32, &v, err) < 0)
            return -1;
        if (v < 1)
            return err_make(err, ERR_INVALID, 0, "--retries must be at least 1 (not %lld)",
                            (long long)v);
        h->retries = (int)v;
    }
    return 0;
}

static int
parse_volume(const struct dockerfile_node *node, struct dockerfile_instr *in, struct err **err)
{
    if (at_least_one(in, err) < 0 || parse_flags(node, NULL, 0, in, err) < 0)
        return -1;
    for (size_t i = 0; i < in->n_args; i++) {
        const char *s = in->args[i];
        size_t n = strlen(s);
        gocompat_trim_space(&s, &n);
        if (n == 0)
            return err_make(err, ERR_INVALID, 0, "VOLUME specified can not be an empty string");
        char *t = xstrndup(s, n);
        free(in->args[i]);
        in->args[i] = t;
    }
    return 0;
}

static int
parse_shell(const struct dockerfile_node *node, struct dockerfile_instr *in, struct err **err)
{
    if (parse_flags(node, NULL, 0, in, err) < 0 || at_least_one(in, err) < 0)
        return -1;
    if (!in->json)
        return err_make(err, ERR_INVALID, 0, "SHELL requires the arguments to be in JSON form");
    return 0;
}

/* The checks per instruction, in buildkit's order (which decides the message). */
static int
check(const struct dockerfile_node *node, struct dockerfile_instr *in, struct err **err)
{
    switch (in->cmd) {
    case DOCKERFILE_ENV:
    case DOCKERFILE_LABEL:
        return parse_flags(node, NULL, 0, in, err) < 0 ? -1 : parse_kvps(in, err);
    case DOCKERFILE_MAINTAINER:
    case DOCKERFILE_WORKDIR:
    case DOCKERFILE_USER:
        return exactly_one(in, err) < 0 ? -1 : parse_flags(node, NULL, 0, in, err);
    case DOCKERFILE_ADD:
    case DOCKERFILE_COPY:
        return parse_copy(node, in, err);
    case DOCKERFILE_FROM:
        return parse_from(node, in, err);
    case DOCKERFILE_ONBUILD:
        return parse_onbuild(node, in, err);
    case DOCKERFILE_RUN:
        return parse_flags(node, run_flags, N(run_flags), in, err);
    case DOCKERFILE_CMD:
    case DOCKERFILE_ENTRYPOINT:
        return parse_flags(node, NULL, 0, in, err);
    case DOCKERFILE_HEALTHCHECK:
        return parse_healthcheck(node, in, err);
    case DOCKERFILE_EXPOSE:
        return at_least_one(in, err) < 0 ? -1 : parse_flags(node, NULL, 0, in, err);
    case DOCKERFILE_VOLUME:
        return parse_volume(node, in, err);
    case DOCKERFILE_STOPSIGNAL:
        return exactly_one(in, err); /* flags are not looked at */
    case DOCKERFILE_ARG:
        return parse_arg(in, err); /* nor here */
    case DOCKERFILE_SHELL:
        return parse_shell(node, in, err);
    }
    return 0;
}

int
dockerfile_instr_from_node(const struct dockerfile_node *node, struct dockerfile_instr *out,
                           struct err **err)
{
    enum dockerfile_cmd cmd;
    if (!dockerfile_cmd_lookup(node->cmd, &cmd)) {
        cleanup_free char *up = xstrdup(node->cmd);
        for (char *c = up; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
        return err_make(err, ERR_INVALID, 0, "unknown instruction: %s", up);
    }
    struct dockerfile_instr in = {
        .cmd = cmd,
        .line = node->start_line,
        .end_line = node->end_line,
        .original = xstrdup(node->original),
        .args = strv_dup(node->args),
        .n_args = node->n_args,
        .json = node->json,
    };
    if (check(node, &in, err) < 0) {
        dockerfile_instr_fini(&in);
        return -1;
    }
    if (node->n_heredocs > 0) {
        in.heredocs = xcalloc(node->n_heredocs, sizeof(*in.heredocs));
        for (size_t i = 0; i < node->n_heredocs; i++) {
            in.heredocs[i] = node->heredocs[i];
            in.heredocs[i].name = xstrdup(node->heredocs[i].name);
            in.heredocs[i].content = xstrdup(node->heredocs[i].content);
        }
        in.n_heredocs = node->n_heredocs;
    }
    *out = in;
    return 0;
}

void
dockerfile_instr_fini(struct dockerfile_instr *in)
{
    free(in->original);
    for (size_t i = 0; i < in->n_flags; i++) {
        free(in->flags[i].name);
        free(in->flags[i].value);
    }
    free(in->flags);
    strv_free(in->args);
    dockerfile_kvs_free(in->kvs, in->n_kvs);
    for (size_t i = 0; i < in->n_heredocs; i++) {
        free(in->heredocs[i].name);
        free(in->heredocs[i].content);
    }
    free(in->heredocs);
    strv_free(in->health.test);
    free(in->trigger);
    *in = (struct dockerfile_instr){0};
}

void
dockerfile_instrs_free(struct dockerfile_instr *instrs, size_t n)
{
    for (size_t i = 0; instrs != NULL && i < n; i++)
        dockerfile_instr_fini(&instrs[i]);
    free(instrs);
}

const char *
dockerfile_instr_flag(const struct dockerfile_instr *in, const char *name)
{
    const char *value = NULL;
    for (size_t i = 0; i < in->n_flags; i++)
        if (strcmp(in->flags[i].name, name) == 0)
            value = in->flags[i].value;
    return value;
}

const struct dockerfile_heredoc *
dockerfile_instr_heredoc(const struct dockerfile_instr *in, const char *word)
{
    struct dockerfile_heredoc h;
    bool is = false;
    struct err *e = NULL;
    if (dockerfile_lines_heredoc_match(word, &h, &is, &e) < 0 || !is) {
        err_clear(&e);
        return NULL;
    }
    const struct dockerfile_heredoc *found = NULL;
    for (size_t i = 0; i < in->n_heredocs; i++)
        if (strcmp(in->heredocs[i].name, h.name) == 0)
            found = &in->heredocs[i];
    free(h.name);
    return found;
}
