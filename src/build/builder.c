/* docker build's classic builder: the steps of a parsed Dockerfile, run through the engine. */
#include "build/builder.h"

#include <ctype.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "build/copy.h"
#include "build/dockerfile.h"
#include "build/gocompat.h"
#include "driver/ocispec.h"
#include "engine/distribution.h"
#include "engine/engine.h"
#include "engine/volume.h"
#include "image/image.h"
#include "image/reference.h"

/* The ARGs Docker knows without a declaration (proxies), not kept in history. */
static const char *const predefined_args[] = {
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY",   "no_proxy",   "ALL_PROXY",   "all_proxy",   NULL,
};

struct stage_result {
    char *name; /* lower case, or NULL */
    char image[72];
};

struct build {
    struct engine *eng;
    const struct build_opts *o;
    const struct build_out *out;
    const struct dockerfile *df;
    const char *context;
    char *tmp; /* <data-root>/tmp */
    int step, n_steps;
    bool gone;        /* the client left */
    char **used_args; /* build args some ARG consumed */
    char **global;    /* the global ARGs in scope for FROM: "K=V" */
    struct stage_result *stages;
    size_t n_stages;
    /* The stage being built */
    char image[72]; /* the current image, "" for scratch */
    struct image_config cfg;
    char *author;
    char **args; /* this stage's ARGs with a value: "K=V" */
    bool cmd_set;
    int *exit_code;
};

/* ---- output ---- */

static void say(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct build *b, const char *fmt, ...)
{
    if (b->gone || b->o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    if (text != NULL && b->out->stream(b->out->ctx, text) < 0)
        b->gone = true;
    free(text);
}

static const char *
short_id(const char *id)
{
    return strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
}

/* ---- variables ---- */

/* The words' environment: the stage's ARGs, then its ENV (which wins). */
static char **
expansion_env(const struct build *b)
{
    char **env = strv_dup(b->args);
    for (size_t i = 0; b->cfg.env != NULL && b->cfg.env[i] != NULL; i++)
        env = strv_append(env, b->cfg.env[i]);
    if (env == NULL)
        env = xcalloc(1, sizeof(char *));
    return env;
}

/* word expanded in env (a list from expansion_env). */
static char *
expand_in(const struct build *b, char *const *env, const char *word, struct err **err)
{
    struct dockerfile_expand_opts opts = {.escape = b->df->escape, .env = env};
    return dockerfile_expand(word, &opts, err);
}

static char *
expand(struct build *b, const char *word, struct err **err)
{
    char **env = expansion_env(b);
    char *out = expand_in(b, env, word, err);
    strv_free(env);
    return out;
}

static char **
expand_words(struct build *b, char *const *words, struct err **err)
{
    char **out = xcalloc(1, sizeof(char *));
    for (size_t i = 0; words != NULL && words[i] != NULL; i++) {
        char *w = expand(b, words[i], err);
        if (w == NULL) {
            strv_free(out);
            return NULL;
        }
        out = strv_append(out, w);
        free(w);
    }
    return out;
}

/* Sets KEY=VALUE in a list, replacing an entry of the same key. */
static char **
env_set(char **env, const char *key, const char *value)
{
    size_t klen = strlen(key);
    char *entry = xasprintf("%s=%s", key, value);
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        if (strncmp(env[i], key, klen) == 0 && (env[i][klen] == '=' || env[i][klen] == '\0')) {
            free(env[i]);
            env[i] = entry;
            return env;
        }
    }
    env = strv_append(env, entry);
    free(entry);
    return env;
}

/* An ARG's value: the build arg when given, else the default (NULL: no value). */
static const char *
arg_value(struct build *b, const char *name, const char *dflt)
{
    for (size_t i = 0; i < b->o->args.n; i++) {
        if (strcmp(b->o->args.keys[i], name) == 0) {
            if (!strv_contains(b->used_args, name))
                b->used_args = strv_append(b->used_args, name);
            if (b->o->args.values[i] != NULL)
                return b->o->args.values[i];
        }
    }
    return dflt;
}

/* ---- steps ---- */

static void
config_reset(struct build *b)
{
    image_config_fini(&b->cfg);
    free(b->author);
    b->author = NULL;
    strv_free(b->args);
    b->args = NULL;
    b->cmd_set = false;
}

/* The classic builder's cache: a child of the current image whose last history entry is
 * created_by and whose config is the one this step makes is what the step made before (the
 * same parent and instruction; for COPY and ADD, the same files, whose digest created_by
 * holds). On a hit the build goes on from it. */
static bool
cache_hit(struct build *b, const char *created_by)
{
    if (b->o->nocache || b->image[0] == '\0')
        return false;
    bool hit = false;
    engine_lock(b->eng);
    size_t it = 0;
    const char *key;
    void *v;
    while (!hit && map_next(&b->eng->store.images, &it, &key, &v)) {
        const struct image *img = v;
        const struct image_history *last =
            img->n_history > 0 ? &img->history[img->n_history - 1] : NULL;
        if (img->parent != NULL && strcmp(img->parent, b->image) == 0 && last != NULL &&
            last->created_by != NULL && strcmp(last->created_by, created_by) == 0 &&
            image_config_equal(&img->config, &b->cfg) &&
            strcmp(img->author ? img->author : "", b->author ? b->author : "") == 0) {
            memcpy(b->image, img->id, sizeof(b->image));
            hit = true;
        }
    }
    engine_unlock(b->eng);
    if (hit)
        say(b, " ---> Using cache\n");
    return hit;
}

/* A step's image: from the cache, or a new image with the config as it is now, and the changes
 * of container as a layer (NULL: an empty one). */
static int
commit_config(struct build *b, const char *created_by, const char *container, struct err **err)
{
    if (cache_hit(b, created_by))
        return 0;
    char id[72];
    if (engine_image_build_step(b->eng, b->image[0] ? b->image : NULL, &b->cfg, b->author,
                                container, created_by, id, err) < 0)
        return -1;
    memcpy(b->image, id, sizeof(id));
    return 0;
}

static char **
shell_of(const struct build *b)
{
    if (b->cfg.shell != NULL && b->cfg.shell[0] != NULL)
        return strv_dup(b->cfg.shell);
    char **sh = strv_append(NULL, "/bin/sh");
    return strv_append(sh, "-c");
}

/* A step's history text as dockerd writes it: the shell, then "#(nop) " and the comment, as one
 * word (WORKDIR, COPY, ADD: "/bin/sh -c #(nop) WORKDIR /w") or as two (the metadata steps, hence
 * their double blank: "/bin/sh -c #(nop)  ENV A=1"). New string. */
static char *
nop_text(const struct build *b, bool two_words, const char *comment)
{
    char **sh = shell_of(b);
    cleanup_free char *shell = strv_join(sh, " ");
    strv_free(sh);
    return xasprintf("%s #(nop) %s%s", shell, two_words ? " " : "", comment);
}

/* A metadata step, comment: what dockerd's commit message says of it ("ENV A=1"). */
static int
commit_nop(struct build *b, const char *comment, struct err **err)
{
    cleanup_free char *by = nop_text(b, true, comment);
    return commit_config(b, by, NULL, err);
}

/* Go's fmt %q (quoted) or %v of a []string: ["a" "b"], [a b]. New string. */
static char *
go_list(char *const *v, bool quoted)
{
    struct buf out;
    buf_init(&out, SIZE_MAX / 2);
    buf_append(&out, "[", 1, NULL);
    for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
        if (i > 0)
            buf_append(&out, " ", 1, NULL);
        cleanup_free char *q = quoted ? gocompat_quote(v[i], strlen(v[i])) : xstrdup(v[i]);
        buf_append(&out, q, strlen(q), NULL);
    }
    buf_append(&out, "]", 1, NULL);
    return buf_take(&out, NULL);
}

/* Go's time.Duration.String for ns >= 0: "0s", "500ms", "1.5s", "1m30s", "1h0m0s". */
static void
go_duration(int64_t ns, char out[48])
{
    static const struct {
        int64_t below, unit;
        int digits;
        const char *suffix;
    } small[] = {
        {1000, 1, 0, "ns"}, {1000000, 1000, 3, "\xc2\xb5s"}, {1000000000, 1000000, 6, "ms"}};
    if (ns <= 0) {
        snprintf(out, 48, "0s");
        return;
    }
    int64_t unit = 1000000000, whole;
    int digits = 9;
    const char *suffix = "s";
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
        if (ns < small[i].below) {
            unit = small[i].unit, digits = small[i].digits, suffix = small[i].suffix;
            break;
        }
    }
    whole = ns / unit;
    char frac[16] = "";
    if (ns % unit != 0) {
        snprintf(frac, sizeof(frac), ".%0*lld", digits, (long long)(ns % unit));
        size_t n = strlen(frac);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    if (unit != 1000000000 || whole < 60)
        snprintf(out, 48, "%lld%s%s", (long long)whole, frac, suffix);
    else if (whole < 3600)
        snprintf(out, 48, "%lldm%lld%ss", (long long)(whole / 60), (long long)(whole % 60), frac);
    else
        snprintf(out, 48, "%lldh%lldm%lld%ss", (long long)(whole / 3600),
                 (long long)(whole / 60 % 60), (long long)(whole % 60), frac);
}

/* Go's %q of an int (a quoted rune, as dockerd prints a healthcheck's Retries): '\x03', 'A'. */
static void
go_rune(int r, char out[16])
{
    static const char named[] = "abtnvfr";
    if (r >= 7 && r <= 13)
        snprintf(out, 16, "'\\%c'", named[r - 7]);
    else if (r == '\'' || r == '\\')
        snprintf(out, 16, "'\\%c'", r);
    else if (r >= 0x20 && r < 0x7f)
        snprintf(out, 16, "'%c'", r);
    else if (r >= 0 && r < 0x80)
        snprintf(out, 16, "'\\x%02x'", r);
    else
        snprintf(out, 16, "'\\u%04x'", (unsigned)r & 0xffffu);
}

/* HEALTHCHECK's history: Go's %q of the *container.HealthConfig, as dockerd 20.10 prints it. */
static char *
health_text(const struct image_config *c)
{
    cleanup_free char *test = go_list(c->health_test, true);
    char iv[48], to[48], sp[48], retries[16];
    go_duration(c->health_interval_ns, iv);
    go_duration(c->health_timeout_ns, to);
    go_duration(c->health_start_period_ns, sp);
    go_rune(c->health_retries, retries);
    return xasprintf("HEALTHCHECK &{%s \"%s\" \"%s\" \"%s\" %s}", test, iv, to, sp, retries);
}

/* The container a step works in, created from the current image. */
static int
step_container(struct build *b, char **cmd, char **env, char id_out[ID_LEN + 1], struct err **err)
{
    struct container_create req = {0};
    req.spec.image = xstrdup(b->image[0] ? b->image : "scratch");
    req.spec.cmd = cmd;
    req.spec.entrypoint = xcalloc(1, sizeof(char *)); /* the image's is not used */
    req.spec.env = env;
    req.spec.user = b->cfg.user ? xstrdup(b->cfg.user) : NULL;
    req.spec.working_dir = b->cfg.working_dir ? xstrdup(b->cfg.working_dir) : NULL;
    req.spec.stop_timeout = -1;
    req.spec.restart_policy = xstrdup("no");
    req.spec.network_mode = xstrdup(b->o->network_mode ? b->o->network_mode : "default");
    req.spec.extra_hosts = strv_dup(b->o->extra_hosts);
    req.spec.memory = b->o->memory;
    req.spec.memory_swap = b->o->memory_swap;
    req.spec.shm_size = b->o->shm_size;
    req.spec.cpu_shares = b->o->cpu_shares;
    req.spec.cpu_quota = b->o->cpu_quota;
    req.spec.cpu_period = b->o->cpu_period;
    req.spec.cpuset_cpus = b->o->cpuset_cpus ? xstrdup(b->o->cpuset_cpus) : NULL;
    req.spec.cpuset_mems = b->o->cpuset_mems ? xstrdup(b->o->cpuset_mems) : NULL;
    return engine_container_create(b->eng, &req, id_out, err);
}

static void
remove_container(struct build *b, const char *id, bool announce)
{
    struct err *err = NULL;
    if (engine_container_remove(b->eng, id, true, true, &err) < 0) {
        LOG_WARN("build: removing %.12s: %s", id, err->msg);
        err_clear(&err);
    }
    if (announce)
        say(b, "Removing intermediate container %.12s\n", id);
}

/* Runs container id to its end, streaming its output; its exit code, or -1. */
static int
run_attached(struct build *b, const char *id, struct err **err)
{
    struct container *c = engine_container_get(b->eng, id, err);
    if (c == NULL)
        return -1;
    struct logbuf_reader *r = logbuf_reader_new(c->logs, 0);
    int code = -1;
    if (engine_container_start(b->eng, id, err) == 0) {
        for (;;) {
            struct log_entry e;
            while (logbuf_reader_next(r, &e)) {
                cleanup_free char *text = xstrndup(e.data, e.len);
                free(e.data);
                if (e.stream == 2)
                    say(b, "\033[91m%s\033[0m", text);
                else
                    say(b, "%s", text);
            }
            if (logbuf_reader_at_end(r) || b->gone)
                break;
            struct pollfd p[2] = {{.fd = logbuf_reader_fd(r), .events = POLLIN},
                                  {.fd = b->out->cancel_fd, .events = 0}};
            if (poll(p, b->out->cancel_fd >= 0 ? 2 : 1, 1000) > 0 &&
                (p[1].revents & (POLLERR | POLLHUP)))
                b->gone = true;
        }
        if (b->gone) {
            err_make(err, ERR_UNAVAILABLE, 0, "the build was cancelled: the client went away");
        } else {
            engine_lock(b->eng);
            code = c->state.exit_code;
            engine_unlock(b->eng);
        }
    }
    logbuf_reader_free(r);
    container_unref(c);
    return code;
}

/* The command of a shell-form instruction: the shell and the text (heredocs joined as buildkit
 * runs them). */
static char **
shell_command(const struct build *b, const struct dockerfile_instr *in)
{
    char **argv = shell_of(b);
    const char *text = in->args[0] ? in->args[0] : "";
    if (in->n_heredocs == 1 && dockerfile_instr_heredoc(in, text) != NULL) {
        cleanup_free char *body = dockerfile_heredoc_body(&in->heredocs[0]);
        return strv_append(argv, body);
    }
    cleanup_free char *joined = xstrdup(text);
    for (size_t i = 0; i < in->n_heredocs; i++) {
        cleanup_free char *body = dockerfile_heredoc_body(&in->heredocs[i]);
        char *next = xasprintf("%s\n%s%s", joined, body, in->heredocs[i].name);
        free(joined);
        joined = next;
    }
    return strv_append(argv, joined);
}

static int
step_run(struct build *b, const struct dockerfile_instr *in, struct err **err)
{
    if (in->n_flags > 0)
        return err_make(err, ERR_INVALID, 0,
                        "the --%s option requires BuildKit. Refer to "
                        "https://docs.docker.com/go/buildkit/ to learn how to build images with "
                        "BuildKit enabled",
                        in->flags[0].name);
    char **cmd = in->json ? strv_dup(in->args) : shell_command(b, in);
    /* RUN sees the build args as environment variables (ENV wins over them). */
    char **env = strv_env_merge(b->args, b->cfg.env);
    cleanup_free char *cmdline = strv_join(cmd, " ");
    char *by;
    size_t n_args = strv_len(b->args);
    if (n_args > 0) {
        cleanup_free char *args = strv_join(b->args, " ");
        by = xasprintf("|%zu %s %s", n_args, args, cmdline);
    } else {
        by = xstrdup(cmdline);
    }
    if (cache_hit(b, by)) {
        strv_free(cmd);
        strv_free(env);
        free(by);
        return 0;
    }
    char id[ID_LEN + 1];
    if (step_container(b, cmd, env, id, err) < 0) {
        free(by);
        return -1;
    }
    say(b, " ---> Running in %.12s\n", id);
    int code = run_attached(b, id, err);
    int rc = 0;
    if (code != 0) {
        if (code > 0) {
            err_clear(err);
            err_make(err, ERR_INVALID, 0, "The command '%s' returned a non-zero code: %d", cmdline,
                     code);
            *b->exit_code = code;
        }
        rc = -1;
    } else {
        rc = commit_config(b, by, id, err);
    }
    /* A cancelled build leaves no container behind, whatever rm says (dockerd kills it). */
    if (b->gone)
        remove_container(b, id, false);
    else if (rc == 0 ? b->o->rm : b->o->forcerm)
        remove_container(b, id, true);
    free(by);
    return rc;
}

/* COPY and ADD here-documents (buildkit's rule; 20.10 has none): each source naming one becomes
 * a file of that name holding its body (expanded unless the terminator was quoted), in a
 * directory of its own that is the sources' root; words[i] becomes the file's name. *dir gets
 * the directory (new string; the caller removes it). */
static int
heredoc_sources(struct build *b, const struct dockerfile_instr *in, char **words, size_t n,
                char **dir, struct err **err)
{
    const char *what = dockerfile_cmd_name(in->cmd);
    char *tmp = xasprintf("%s/heredoc-XXXXXX", b->tmp);
    if (mkdtemp(tmp) == NULL) {
        free(tmp);
        return err_errno(err, "%s: temporary directory", what);
    }
    int rc = 0;
    for (size_t i = 0; i + 1 < n && rc == 0; i++) {
        const struct dockerfile_heredoc *h = dockerfile_instr_heredoc(in, in->args[i]);
        if (h == NULL) {
            rc = err_make(err, ERR_UNSUPPORTED, 0,
                          "%s: here-documents and files of the build context in one "
                          "instruction are not supported by sockerless",
                          what);
            break;
        }
        if (*h->name == '\0' || strchr(h->name, '/') != NULL || strcmp(h->name, "..") == 0 ||
            strcmp(h->name, ".") == 0) {
            rc = err_make(err, ERR_INVALID, 0, "%s: invalid here-document name %s", what, h->name);
            break;
        }
        cleanup_free char *body = dockerfile_heredoc_body(h);
        cleanup_free char *text = NULL;
        if (h->expand) {
            char **env = expansion_env(b);
            struct dockerfile_expand_opts opts = {
                .escape = b->df->escape, .env = env, .keep_quotes = true};
            text = dockerfile_expand(body, &opts, err);
            strv_free(env);
            if (text == NULL) {
                rc = -1;
                break;
            }
        }
        const char *data = text ? text : body;
        cleanup_free char *path = xasprintf("%s/%s", tmp, h->name);
        rc = fsutil_write_atomic(path, data, strlen(data), 0644, err);
        free(words[i]);
        words[i] = xstrdup(h->name);
    }
    if (rc < 0) {
        struct err *e = NULL;
        if (fsutil_remove_tree(tmp, &e) < 0)
            err_clear(&e);
        free(tmp);
        return -1;
    }
    *dir = tmp;
    return 0;
}

/* COPY and ADD. */
static int
step_copy(struct build *b, const struct dockerfile_instr *in, struct err **err)
{
    const char *what = in->cmd == DOCKERFILE_ADD ? "ADD" : "COPY";
    const char *from = dockerfile_instr_flag(in, "from");
    const char *chown = dockerfile_instr_flag(in, "chown");
    const char *chmod_s = dockerfile_instr_flag(in, "chmod");
    char **words = expand_words(b, in->args, err);
    if (words == NULL)
        return -1;
    size_t n = strv_len(words);
    int rc = 0;
    cleanup_free char *heredocs = NULL;
    if (n < 2)
        rc = err_make(err, ERR_INVALID, 0, "%s requires at least two arguments", what);
    else if (in->n_heredocs > 0)
        rc = heredoc_sources(b, in, words, n, &heredocs, err);
    for (size_t i = 0; rc == 0 && i + 1 < n; i++)
        if (in->cmd == DOCKERFILE_ADD &&
            (strncmp(words[i], "http://", 7) == 0 || strncmp(words[i], "https://", 8) == 0))
            rc = err_make(err, ERR_UNSUPPORTED, 0,
                          "ADD failed: %s: remote URLs are not fetched: this daemon builds "
                          "offline (download the file into the build context and ADD it)",
                          words[i]);
    int mode = -1;
    if (rc == 0 && chmod_s != NULL) {
        char *end;
        long m = strtol(chmod_s, &end, 8);
        if (*chmod_s == '\0' || *end != '\0' || m < 0 || m > 07777)
            rc = err_make(err, ERR_INVALID, 0, "invalid chmod parameter: %s", chmod_s);
        mode = (int)m;
    }
    /* The destination: relative ones are below the working directory. */
    cleanup_free char *dest = NULL;
    if (rc == 0) {
        const char *d = words[n - 1];
        const char *wd = b->cfg.working_dir && *b->cfg.working_dir ? b->cfg.working_dir : "/";
        dest = d[0] == '/' ? xstrdup(d)
                           : xasprintf("%s%s%s", wd, wd[strlen(wd) - 1] == '/' ? "" : "/", d);
    }
    /* The source root: the context, or the root of a container of another stage or image. */
    char src_id[ID_LEN + 1] = "";
    cleanup_free char *src_root = NULL;
    if (rc == 0 && from != NULL) {
        cleanup_free char *fromx = expand(b, from, err);
        const char *image = NULL;
        for (size_t i = 0; fromx != NULL && i < b->n_stages && image == NULL; i++) {
            char idx[24];
            snprintf(idx, sizeof(idx), "%zu", i);
            if ((b->stages[i].name && strcasecmp(b->stages[i].name, fromx) == 0) ||
                strcmp(idx, fromx) == 0)
                image = b->stages[i].image[0] ? b->stages[i].image : "scratch";
        }
        if (fromx == NULL) {
            rc = -1;
        } else {
            struct container_create req = {0};
            req.spec.image = xstrdup(image ? image : fromx);
            req.spec.cmd = strv_append(NULL, "true");
            req.spec.stop_timeout = -1;
            /* An image named by --from that is not here is pulled, as dockerd does. */
            struct err *perr = NULL;
            struct image *pulled = image == NULL ? engine_image_ensure(b->eng, fromx, &perr) : NULL;
            if (pulled != NULL)
                image_unref(pulled);
            err_clear(&perr);
            rc = engine_container_create(b->eng, &req, src_id, err);
            if (rc == 0) {
                char id2[ID_LEN + 1];
                src_root = engine_container_root(b->eng, src_id, id2, err);
                rc = src_root ? 0 : -1;
            }
        }
    }
    /* The container the files go into. */
    char id[ID_LEN + 1] = "";
    cleanup_free char *dest_root = NULL;
    if (rc == 0)
        rc = step_container(b, strv_append(NULL, "true"), strv_dup(b->cfg.env), id, err);
    if (rc == 0) {
        char id2[ID_LEN + 1];
        dest_root = engine_container_root(b->eng, id, id2, err);
        rc = dest_root ? 0 : -1;
    }
    struct copy_req req = {.what = what,
                           .src_root = heredocs   ? heredocs
                                       : src_root ? src_root
                                                  : b->context,
                           .dest_root = dest_root,
                           .dest = dest,
                           .add = in->cmd == DOCKERFILE_ADD,
                           .mode = mode,
                           .tmp = b->tmp};
    cleanup_free char *chownx = NULL;
    if (rc == 0 && chown != NULL) {
        chownx = expand(b, chown, err);
        struct oci_user u = {0};
        rc = chownx ? oci_user_resolve(dest_root, chownx, NULL, &u, err) : -1;
        req.uid = u.uid;
        req.gid = u.gid;
        oci_user_fini(&u);
    }
    cleanup_free char *copied = NULL, *dest_word = NULL;
    if (rc == 0) {
        dest_word = words[n - 1];
        words[n - 1] = NULL;
        req.srcs = words;
        rc = build_copy(&req, &copied, err);
    }
    if (rc == 0) {
        /* dockerd's text, its missing blank after --chown included */
        cleanup_free char *owner = chownx ? xasprintf("--chown=%s", chownx) : xstrdup("");
        cleanup_free char *comment = xasprintf("%s %s%s in %s ", what, owner, copied, dest_word);
        cleanup_free char *by = nop_text(b, false, comment);
        rc = commit_config(b, by, id, err);
    }
    if (id[0])
        remove_container(b, id, false);
    if (src_id[0])
        remove_container(b, src_id, false);
    struct err *e = NULL;
    if (heredocs != NULL && fsutil_remove_tree(heredocs, &e) < 0) {
        LOG_WARN("build: removing %s: %s", heredocs, e->msg);
        err_clear(&e);
    }
    strv_free(words);
    return rc;
}

/* WORKDIR: the config, and the directory made in the image as dockerd does. */
static int
step_workdir(struct build *b, const struct dockerfile_instr *in, struct err **err)
{
    cleanup_free char *dir = expand(b, in->args[0] ? in->args[0] : "", err);
    if (dir == NULL)
        return -1;
    if (*dir == '\0')
        return err_make(err, ERR_INVALID, 0, "WORKDIR requires exactly one argument");
    const char *wd = b->cfg.working_dir && *b->cfg.working_dir ? b->cfg.working_dir : "/";
    char *abs = dir[0] == '/' ? xstrdup(dir)
                              : xasprintf("%s%s%s", wd, wd[strlen(wd) - 1] == '/' ? "" : "/", dir);
    free(b->cfg.working_dir);
    b->cfg.working_dir = abs;
    char id[ID_LEN + 1];
    if (step_container(b, strv_append(NULL, "true"), strv_dup(b->cfg.env), id, err) < 0)
        return -1;
    char id2[ID_LEN + 1];
    cleanup_free char *root = engine_container_root(b->eng, id, id2, err);
    int rc = root ? 0 : -1;
    if (rc == 0) {
        /* An empty directory copied over the path makes the missing parts of it. */
        cleanup_free char *dest = xasprintf("%s/", abs);
        char *none[] = {(char[]){"."}, NULL};
        cleanup_free char *empty = xasprintf("%s/empty-XXXXXX", b->tmp);
        if (mkdtemp(empty) == NULL) {
            rc = err_errno(err, "WORKDIR: temporary directory");
        } else {
            struct copy_req req = {.what = "WORKDIR",
                                   .src_root = empty,
                                   .srcs = none,
                                   .dest_root = root,
                                   .dest = dest,
                                   .mode = -1,
                                   .tmp = b->tmp};
            cleanup_free char *unused = NULL;
            rc = build_copy(&req, &unused, err);
            rmdir(empty);
        }
    }
    if (rc == 0) {
        cleanup_free char *comment = xasprintf("WORKDIR %s", abs);
        cleanup_free char *by = nop_text(b, false, comment);
        rc = commit_config(b, by, id, err);
    }
    remove_container(b, id, false);
    return rc;
}

/* ENV and LABEL: every word sees the environment from before the instruction. */
static int
step_env_label(struct build *b, const struct dockerfile_instr *in, struct err **err)
{
    char **env = expansion_env(b);
    cleanup_free char *comment = xstrdup(in->cmd == DOCKERFILE_ENV ? "ENV" : "LABEL");
    int rc = 0;
    for (size_t i = 0; i < in->n_kvs && rc == 0; i++) {
        cleanup_free char *k = expand_in(b, env, in->kvs[i].key, err);
        cleanup_free char *v =
            k ? expand_in(b, env, in->kvs[i].value ? in->kvs[i].value : "", err) : NULL;
        if (v == NULL) {
            rc = -1;
            break;
        }
        char *next = xasprintf("%s %s=%s", comment, k, v);
        free(comment);
        comment = next;
        if (in->cmd == DOCKERFILE_ENV) {
            b->cfg.env = env_set(b->cfg.env, k, v);
        } else {
            struct labels l = {0};
            for (size_t j = 0; j < b->cfg.labels.n; j++)
                if (strcmp(b->cfg.labels.keys[j], k) != 0)
                    labels_add(&l, b->cfg.labels.keys[j], b->cfg.labels.values[j]);
            labels_add(&l, k, v);
            labels_fini(&b->cfg.labels);
            b->cfg.labels = l;
        }
    }
    strv_free(env);
    return rc < 0 ? -1 : commit_nop(b, comment, err);
}

static int
step_arg(struct build *b, const struct dockerfile_instr *in, struct err **err)
{
    char **env = expansion_env(b);
    cleanup_free char *comment = xstrdup("ARG");
    int rc = 0;
    for (size_t i = 0; i < in->n_kvs && rc == 0; i++) {
        cleanup_free char *k = expand_in(b, env, in->kvs[i].key, err);
        cleanup_free char *dflt = NULL;
        if (k == NULL || (in->kvs[i].value != NULL &&
                          (dflt = expand_in(b, env, in->kvs[i].value, err)) == NULL)) {
            rc = -1;
            break;
        }
        char *next =
            dflt ? xasprintf("%s %s=%s", comment, k, dflt) : xasprintf("%s %s", comment, k);
        free(comment);
        comment = next;
        /* A global ARG redeclared in a stage takes its global value as the default. */
        const char *global = strv_env_get(b->global, k);
        const char *v = arg_value(b, k, dflt ? dflt : global);
        if (v != NULL)
            b->args = env_set(b->args, k, v);
    }
    strv_free(env);
    return rc < 0 ? -1 : commit_nop(b, comment, err);
}

/* CMD, ENTRYPOINT, SHELL, HEALTHCHECK's command: the JSON form as is, else the shell's. */
static char **
command_of(const struct build *b, const struct dockerfile_instr *in, size_t skip)
{
    if (in->json)
        return strv_dup(in->args + skip);
    char **argv = shell_of(b);
    return strv_append(argv, in->args[skip] ? in->args[skip] : "");
}

/* EXPOSE's words as nat.ParsePortSpecs reads them: [ip:[hostport]:]port[-end][/proto]; each
 * port of a range is exposed. */
static int
expose_ports(struct image_config *c, char *const *words, struct err **err)
{
    for (size_t i = 0; words[i] != NULL; i++) {
        cleanup_free char *w = xstrdup(words[i]);
        char *slash = strchr(w, '/');
        const char *proto = "tcp";
        if (slash != NULL) {
            *slash = '\0';
            for (char *q = slash + 1; *q; q++)
                *q = (char)tolower((unsigned char)*q);
            if (slash[1] != '\0')
                proto = slash + 1;
        }
        char *colon = strrchr(w, ':');
        const char *port = colon ? colon + 1 : w;
        unsigned long lo, hi;
        char *end;
        lo = hi = strtoul(port, &end, 10);
        if (end != port && *end == '-' && isdigit((unsigned char)end[1]))
            hi = strtoul(end + 1, &end, 10);
        if (*w == '\0' || !isdigit((unsigned char)*port) || *end != '\0' || hi > 65535 || hi < lo)
            return err_make(err, ERR_INVALID, 0, "Invalid containerPort: %s", port);
        if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0)
            return err_make(err, ERR_INVALID, 0, "Invalid proto: %s", proto);
        for (unsigned long p = lo; p <= hi; p++) {
            char key[32];
            snprintf(key, sizeof(key), "%lu/%s", p, proto);
            if (!strv_contains(c->exposed_ports, key))
                c->exposed_ports = strv_append(c->exposed_ports, key);
        }
    }
    return 0;
}

static int
compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The metadata instructions: the config changes, and the history says how (dockerd's words). */
static int
step_meta(struct build *b, const struct dockerfile_instr *in, struct err **err)
{
    struct image_config *c = &b->cfg;
    cleanup_free char *comment = NULL;
    char **words = NULL;
    int rc = 0;
    switch (in->cmd) {
    case DOCKERFILE_CMD:
        strv_free(c->cmd);
        c->cmd = command_of(b, in, 0);
        b->cmd_set = true;
        comment = go_list(c->cmd, true);
        break;
    case DOCKERFILE_ENTRYPOINT:
        strv_free(c->entrypoint);
        c->entrypoint = command_of(b, in, 0);
        if (!b->cmd_set) { /* an ENTRYPOINT drops the base image's CMD, as dockerd does */
            strv_free(c->cmd);
            c->cmd = NULL;
        }
        comment = go_list(c->entrypoint, true);
        break;
    case DOCKERFILE_SHELL:
        if (!in->json || in->n_args == 0)
            return err_make(err, ERR_INVALID, 0, "SHELL requires the arguments to be in JSON form");
        strv_free(c->shell);
        c->shell = strv_dup(in->args);
        comment = go_list(c->shell, false);
        break;
    case DOCKERFILE_EXPOSE:
        if ((words = expand_words(b, in->args, err)) == NULL)
            return -1;
        if ((rc = expose_ports(c, words, err)) == 0) {
            qsort(words, strv_len(words), sizeof(char *), compare_str);
            comment = strv_join(words, " ");
        }
        strv_free(words);
        break;
    case DOCKERFILE_VOLUME:
        if ((words = expand_words(b, in->args, err)) == NULL)
            return -1;
        for (size_t i = 0; words[i] != NULL && rc == 0; i++) {
            if (*words[i] == '\0')
                rc = err_make(err, ERR_INVALID, 0, "VOLUME specified can not be an empty string");
            else if (!strv_contains(c->volumes, words[i]))
                c->volumes = strv_append(c->volumes, words[i]);
        }
        comment = go_list(words, false);
        strv_free(words);
        break;
    case DOCKERFILE_USER:
    case DOCKERFILE_STOPSIGNAL: {
        char *v = expand(b, in->args[0] ? in->args[0] : "", err);
        int sig;
        if (v == NULL)
            return -1;
        comment = xstrdup(v);
        if (in->cmd == DOCKERFILE_USER) {
            free(c->user);
            c->user = v;
        } else if (signal_parse(v, &sig) < 0) {
            rc = err_make(err, ERR_INVALID, 0, "Invalid signal: %s", v);
            free(v);
        } else {
            free(c->stop_signal);
            c->stop_signal = v;
        }
        break;
    }
    case DOCKERFILE_HEALTHCHECK:
        if (c->health_test != NULL && c->health_test[0] != NULL &&
            strcmp(c->health_test[0], "NONE") != 0) {
            cleanup_free char *old = go_list(c->health_test, false);
            say(b, "Note: overriding previous HEALTHCHECK: %s\n", old);
        }
        strv_free(c->health_test);
        c->health_test = strv_dup(in->health.test);
        c->health_interval_ns = in->health.interval_ns;
        c->health_timeout_ns = in->health.timeout_ns;
        c->health_start_period_ns = in->health.start_period_ns;
        c->health_retries = in->health.retries;
        comment = health_text(c);
        break;
    case DOCKERFILE_MAINTAINER:
        free(b->author);
        b->author = xstrdup(in->args[0] ? in->args[0] : "");
        comment = xstrdup(b->author);
        break;
    case DOCKERFILE_ONBUILD:
        c->onbuild = strv_append(c->onbuild, in->trigger);
        comment = xstrdup(in->trigger);
        break;
    default:
        break;
    }
    if (rc < 0)
        return -1;
    /* HEALTHCHECK's text starts with its name already */
    cleanup_free char *text =
        in->cmd == DOCKERFILE_HEALTHCHECK
            ? xstrdup(comment)
            : xasprintf("%s %s", dockerfile_cmd_name(in->cmd), comment ? comment : "");
    return commit_nop(b, text, err);
}

static int
run_instr(struct build *b, const struct dockerfile_instr *in, struct err **err)
{
    switch (in->cmd) {
    case DOCKERFILE_RUN:
        return step_run(b, in, err);
    case DOCKERFILE_COPY:
    case DOCKERFILE_ADD:
        return step_copy(b, in, err);
    case DOCKERFILE_WORKDIR:
        return step_workdir(b, in, err);
    case DOCKERFILE_ENV:
    case DOCKERFILE_LABEL:
        return step_env_label(b, in, err);
    case DOCKERFILE_ARG:
        return step_arg(b, in, err);
    case DOCKERFILE_FROM:
        return err_make(err, ERR_INTERNAL, 0, "FROM inside a stage");
    default:
        return step_meta(b, in, err);
    }
}

/* FROM: the stage's base (a previous stage, an image, or scratch) and its ONBUILD triggers. */
static int
step_from(struct build *b, const struct dockerfile_stage *st, struct err **err)
{
    char **env = strv_dup(b->global);
    if (env == NULL)
        env = xcalloc(1, sizeof(char *));
    struct dockerfile_expand_opts opts = {.escape = b->df->escape, .env = env};
    cleanup_free char *base = dockerfile_expand(st->base, &opts, err);
    strv_free(env);
    if (base == NULL)
        return -1;
    if (st->platform != NULL && *st->platform != '\0' && strncmp(st->platform, "linux", 5) != 0)
        return err_make(err, ERR_INVALID, 0, "unsupported platform %s: this daemon builds linux",
                        st->platform);
    config_reset(b);
    b->image[0] = '\0';
    if (strcasecmp(base, "scratch") == 0) {
        /* An image with no layer and no history stands for scratch, so that the steps have a
         * parent to start containers from. */
        struct image_config empty = {0};
        if (engine_image_build_step(b->eng, NULL, &empty, NULL, NULL, NULL, b->image, err) < 0)
            return -1;
        say(b, " ---> %.12s\n", short_id(b->image));
        return 0;
    }
    for (size_t i = 0; i < b->n_stages; i++) {
        if (b->stages[i].name != NULL && strcasecmp(b->stages[i].name, base) == 0) {
            memcpy(b->image, b->stages[i].image, sizeof(b->image));
            break;
        }
    }
    if (b->image[0] == '\0') {
        /* A missing base is pulled as the classic builder pulls it (the daemon's pull
         * policy: docs/internals/registry.md). */
        struct image *img = engine_image_ensure(b->eng, base, err);
        if (img == NULL)
            return -1;
        memcpy(b->image, img->id, sizeof(b->image));
        image_unref(img);
    }
    struct image *img = engine_image_get(b->eng, b->image, err);
    if (img == NULL)
        return -1;
    image_config_fini(&b->cfg);
    image_config_copy(&b->cfg, &img->config);
    char **triggers = strv_dup(img->config.onbuild);
    image_unref(img);
    /* The base's triggers run now and are not inherited. */
    strv_free(b->cfg.onbuild);
    b->cfg.onbuild = NULL;
    int rc = 0;
    if (strv_len(triggers) > 0)
        say(b, "# Executing %zu build trigger%s\n", strv_len(triggers),
            strv_len(triggers) == 1 ? "" : "s");
    for (size_t i = 0; triggers != NULL && triggers[i] != NULL && rc == 0; i++) {
        struct dockerfile_instr *ins = NULL;
        size_t n = 0;
        rc = dockerfile_parse_trigger(triggers[i], &ins, &n, err);
        for (size_t j = 0; rc == 0 && j < n; j++)
            rc = run_instr(b, &ins[j], err);
        dockerfile_instrs_free(ins, n);
    }
    strv_free(triggers);
    if (rc == 0) /* the stage's image, after its base's triggers */
        say(b, " ---> %.12s\n", short_id(b->image));
    return rc;
}

static bool
is_predefined(const char *name)
{
    for (size_t i = 0; predefined_args[i] != NULL; i++)
        if (strcmp(predefined_args[i], name) == 0)
            return true;
    return false;
}

static void
step_line(struct build *b, const char *original)
{
    b->step++;
    say(b, "Step %d/%d : %s", b->step, b->n_steps, original);
    say(b, "\n");
}

/* The ARGs before the first FROM: the environment of FROM lines. */
static int
global_args(struct build *b, struct err **err)
{
    const struct dockerfile *df = b->df;
    for (size_t i = 0; i < df->n_args; i++) {
        const struct dockerfile_instr *in = &df->args[i];
        for (size_t j = 0; j < in->n_kvs; j++) {
            struct dockerfile_expand_opts opts = {.escape = df->escape,
                                                  .env = b->global ? b->global : (char *[]){NULL}};
            cleanup_free char *k = dockerfile_expand(in->kvs[j].key, &opts, err);
            cleanup_free char *d =
                k && in->kvs[j].value ? dockerfile_expand(in->kvs[j].value, &opts, err) : NULL;
            if (k == NULL || (in->kvs[j].value != NULL && d == NULL))
                return -1;
            const char *v = arg_value(b, k, d);
            if (v != NULL)
                b->global = env_set(b->global, k, v);
        }
    }
    return 0;
}

/* --label: one LABEL step each at the end of the last stage, in key order, values taken as
 * they are (dockerd's buildLabelOptions). */
static int
step_build_labels(struct build *b, struct err **err)
{
    const struct labels *given = &b->o->labels;
    char **keys = NULL;
    for (size_t i = 0; i < given->n; i++)
        keys = strv_append(keys, given->keys[i]);
    if (keys != NULL)
        qsort(keys, given->n, sizeof(char *), compare_str);
    int rc = 0;
    for (size_t i = 0; i < given->n && rc == 0 && !b->gone; i++) {
        const char *v = labels_get(given, keys[i]);
        cleanup_free char *text = xasprintf("LABEL %s=%s", keys[i], v ? v : "");
        step_line(b, text);
        struct labels l = {0};
        for (size_t j = 0; j < b->cfg.labels.n; j++)
            if (strcmp(b->cfg.labels.keys[j], keys[i]) != 0)
                labels_add(&l, b->cfg.labels.keys[j], b->cfg.labels.values[j]);
        labels_add(&l, keys[i], v ? v : "");
        labels_fini(&b->cfg.labels);
        b->cfg.labels = l;
        rc = commit_nop(b, text, err);
        if (rc == 0)
            say(b, " ---> %.12s\n", short_id(b->image));
    }
    strv_free(keys);
    return rc;
}

/* The end of a build that worked: the unused build args, the ID, the tags. */
static int
finish(struct build *b, struct err **err)
{
    const struct build_opts *o = b->o;
    char **unused = NULL;
    for (size_t i = 0; i < o->args.n; i++)
        if (!strv_contains(b->used_args, o->args.keys[i]) && !is_predefined(o->args.keys[i]))
            unused = strv_append(unused, o->args.keys[i]);
    if (unused != NULL) {
        cleanup_free char *list = strv_join(unused, " ");
        say(b, "[Warning] One or more build-args [%s] were not consumed\n", list);
        strv_free(unused);
    }
    if (b->out->aux_id(b->out->ctx, b->image) < 0)
        b->gone = true;
    if (o->quiet) { /* dockerd's -q answer: the ID alone */
        cleanup_free char *line = xasprintf("%s\n", b->image);
        b->out->stream(b->out->ctx, line);
    }
    say(b, "Successfully built %.12s\n", short_id(b->image));
    for (size_t i = 0; o->tags != NULL && o->tags[i] != NULL; i++) {
        if (engine_image_tag(b->eng, b->image, o->tags[i], err) < 0)
            return -1;
        struct reference r;
        struct err *perr = NULL;
        if (reference_parse(o->tags[i], &r, &perr) == 0) {
            cleanup_free char *fam = reference_familiar(&r);
            say(b, "Successfully tagged %s\n", fam);
            reference_fini(&r);
        }
        err_clear(&perr);
    }
    return 0;
}

int
build_run(struct engine *eng, const struct build_opts *o, const struct dockerfile *df,
          const char *context_dir, const struct build_out *out, char id_out[72], int *exit_code,
          struct err **err)
{
    *exit_code = 0;
    struct build b = {
        .eng = eng, .o = o, .out = out, .df = df, .context = context_dir, .exit_code = exit_code};
    b.tmp = xasprintf("%s/tmp", eng->data_root);
    /* The stages to build: up to the target. */
    size_t last = df->n_stages - 1;
    if (o->target != NULL && *o->target != '\0') {
        bool found = false;
        for (size_t i = 0; i < df->n_stages && !found; i++)
            if (df->stages[i].name != NULL && strcasecmp(df->stages[i].name, o->target) == 0) {
                last = i;
                found = true;
            }
        if (!found) {
            free(b.tmp);
            return err_make(err, ERR_INVALID, 0, "failed to reach build target %s in Dockerfile",
                            o->target);
        }
    }
    b.n_steps = 0;
    for (size_t i = 0; i <= last; i++)
        b.n_steps += 1 + (int)df->stages[i].n_instrs;
    b.n_steps += (int)o->labels.n;
    int rc = global_args(&b, err);
    b.stages = xcalloc(df->n_stages, sizeof(*b.stages));
    for (size_t s = 0; s <= last && rc == 0 && !b.gone; s++) {
        const struct dockerfile_stage *st = &df->stages[s];
        step_line(&b, st->from.original);
        rc = step_from(&b, st, err);
        for (size_t i = 0; i < st->n_instrs && rc == 0 && !b.gone; i++) {
            step_line(&b, st->instrs[i].original);
            rc = run_instr(&b, &st->instrs[i], err);
            if (rc == 0)
                say(&b, " ---> %.12s\n", short_id(b.image));
        }
        if (s == last && rc == 0 && !b.gone)
            rc = step_build_labels(&b, err);
        b.stages[s].name = st->name ? xstrdup(st->name) : NULL;
        memcpy(b.stages[s].image, b.image, sizeof(b.image));
        b.n_stages = s + 1;
    }
    if (rc == 0 && b.gone)
        rc = err_make(err, ERR_UNAVAILABLE, 0, "the build was cancelled: the client went away");
    if (rc == 0 && b.image[0] == '\0')
        rc = err_make(err, ERR_INVALID, 0, "No image was generated. Is your Dockerfile empty?");
    if (rc == 0)
        rc = finish(&b, err);
    if (rc == 0)
        memcpy(id_out, b.image, 72);
    for (size_t i = 0; i < b.n_stages; i++)
        free(b.stages[i].name);
    free(b.stages);
    config_reset(&b);
    image_config_fini(&b.cfg);
    strv_free(b.global);
    strv_free(b.used_args);
    free(b.tmp);
    return rc;
}
