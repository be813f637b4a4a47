/* POST /build: the classic builder's endpoint (the CLI uses it when the daemon advertises
 * Builder-Version 1). The context is extracted here (the client has applied .dockerignore), the
 * Dockerfile parsed, then the build runs in a thread of its own whose JSON messages the
 * response streams. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api/api.h"
#include "api/jsonx.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "build/builder.h"
#include "build/dockerfile.h"
#include "build/dockerignore.h"
#include "engine/engine.h"
#include "image/reference.h"
#include "image/tarfs.h"

enum { DOCKERIGNORE_MAX = 1 << 20 };

struct build_job {
    struct engine *eng;
    struct build_opts opts;
    struct dockerfile df;
    char *context;
    int wfd; /* the stream's pipe, write end (the build thread's) */
};

static void
opts_fini(struct build_opts *o)
{
    strv_free(o->tags);
    labels_fini(&o->args);
    labels_fini(&o->labels);
    free(o->target);
    free(o->network_mode);
    strv_free(o->extra_hosts);
    free(o->cpuset_cpus);
    free(o->cpuset_mems);
}

static void
job_free(struct build_job *j)
{
    opts_fini(&j->opts);
    dockerfile_fini(&j->df);
    if (j->context != NULL) {
        struct err *err = NULL;
        if (fsutil_remove_tree(j->context, &err) < 0) {
            LOG_WARN("build context %s: %s", j->context, err->msg);
            err_clear(&err);
        }
        free(j->context);
    }
    free(j);
}

/* ---- the stream ---- */

static int
emit_json(struct build_job *j, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text == NULL)
        return -1;
    size_t len = strlen(text);
    text[len] = '\n'; /* the NUL becomes the line's end */
    int rc = fsutil_write_all(j->wfd, text, len + 1);
    free(text);
    return rc;
}

static int
out_stream(void *ctx, const char *text)
{
    return emit_json(ctx, json_pack("{s:s}", "stream", text));
}

static int
out_aux(void *ctx, const char *id)
{
    return emit_json(ctx, json_pack("{s:{s:s}}", "aux", "ID", id));
}

static void *
build_main(void *arg)
{
    struct build_job *j = arg;
    struct build_out out = {.ctx = j, .stream = out_stream, .aux_id = out_aux, .cancel_fd = j->wfd};
    struct err *err = NULL;
    char id[72];
    int code = 0;
    if (build_run(j->eng, &j->opts, &j->df, j->context, &out, id, &code, &err) < 0) {
        const char *msg = err ? err->msg : "build failed";
        json_t *detail = code != 0 ? json_pack("{s:i, s:s}", "code", code, "message", msg)
                                   : json_pack("{s:s}", "message", msg);
        emit_json(j, json_pack("{s:o, s:s}", "errorDetail", detail, "error", msg));
        err_clear(&err);
    }
    close(j->wfd);
    j->wfd = -1;
    struct engine *eng = j->eng;
    job_free(j);
    engine_job_end(eng);
    return NULL;
}

struct build_stream {
    int rfd;
};

static ssize_t
stream_produce(struct http_stream *hs, void *ctx, char *buf, size_t max)
{
    struct build_stream *s = ctx;
    return api_pipe_produce(hs, s->rfd, buf, max);
}

static void
stream_free(void *ctx)
{
    struct build_stream *s = ctx;
    close(s->rfd); /* a build still running sees EPIPE and stops */
    free(s);
}

/* ---- the context ---- */

/* Reads rel (inside root) up to max bytes: a new string, or NULL (errno ENOENT when absent). */
static char *
read_in_root(const char *root, const char *rel, size_t max, size_t *len)
{
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return NULL;
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
    close(rootfd);
    struct stat st;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        errno = EFBIG;
        return NULL;
    }
    char *text = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    ssize_t n;
    while (got < (size_t)st.st_size && (n = read(fd, text + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    close(fd);
    text[got] = '\0';
    *len = got;
    return text;
}

/* Removes rel (a file, relative to root) without following a link out of root: its directory
 * is resolved inside root, the last component is not followed. */
static void
remove_in_root(const char *root, const char *rel)
{
    cleanup_free char *dir = xstrdup(rel);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : rel;
    if (slash != NULL)
        *slash = '\0';
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return;
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, slash ? dir : ".", &how, sizeof(how));
    close(rootfd);
    if (fd < 0)
        return;
    if (*base != '\0' && unlinkat(fd, base, 0) < 0 && errno != ENOENT)
        LOG_WARN("build context: removing %s: %s", rel, strerror(errno));
    close(fd);
}

/* True when data starts with a ustar header (an uncompressed tar). */
static bool
is_plain_tar(const void *data, size_t len)
{
    return len >= 512 && memcmp((const char *)data + 257, "ustar", 5) == 0;
}

/* True when the relative path climbs above its root ("../x", "a/../../x"), as dockerd refuses a
 * Dockerfile outside the context. */
static bool
escapes_root(const char *path)
{
    int depth = 0;
    for (const char *p = path; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            depth--;
        else if (n > 0 && !(n == 1 && p[0] == '.'))
            depth++;
        if (depth < 0)
            return true;
        p += n;
        p += strspn(p, "/");
    }
    return false;
}

/* ---- the request ---- */

static int
query_json_map(const struct http_request *req, const char *name, struct labels *out, bool nulls,
               struct err **err)
{
    const char *text = http_query(req, name);
    if (text == NULL || *text == '\0')
        return 0;
    json_t *o = json_loads(text, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return err_make(err, ERR_INVALID, 0, "invalid %s: a JSON object is expected", name);
    }
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(o, k, v)
    {
        if (json_is_string(v))
            labels_add(out, k, json_string_value(v));
        else if (json_is_null(v) && nulls)
            labels_add(out, k, NULL);
        else
            rc = err_make(err, ERR_INVALID, 0, "invalid %s: %s is not a string", name, k);
    }
    json_decref(o);
    return rc;
}

static int
parse_opts(const struct http_request *req, struct build_opts *o, struct err **err)
{
    bool pull = false, squash = false;
    int64_t n;
    o->rm = true;
    const char *unsupported[][2] = {
        {"remote", "a remote build context (the daemon builds offline: send the context)"},
        {"outputs", "BuildKit outputs"},
        {"cgroupparent", "cgroupparent"},
        {"ulimits", "ulimits for build containers"},
    };
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        const char *v = http_query(req, unsupported[i][0]);
        if (v != NULL && *v != '\0' && strcmp(v, "null") != 0 && strcmp(v, "[]") != 0)
            return err_make(err, ERR_UNSUPPORTED, 0, "%s is not supported by sockerless",
                            unsupported[i][1]);
    }
    const char *version = http_query(req, "version");
    if (version != NULL && strcmp(version, "2") == 0)
        return err_make(err, ERR_INVALID, 0,
                        "BuildKit (version 2) is not supported: this daemon has the classic "
                        "builder (Builder-Version 1)");
    const char *isolation = http_query(req, "isolation");
    if (isolation != NULL && *isolation != '\0' && strcmp(isolation, "default") != 0)
        return err_make(err, ERR_INVALID, 0, "invalid isolation: %s", isolation);
    const char *platform = http_query(req, "platform");
    if (platform != NULL && *platform != '\0' && strncmp(platform, "linux", 5) != 0)
        return err_make(err, ERR_INVALID, 0,
                        "unsupported platform %s: this daemon builds linux images", platform);
    if (http_query_bool(req, "nocache", false, &o->nocache, err) < 0 ||
        http_query_bool(req, "pull", false, &pull, err) < 0 ||
        http_query_bool(req, "squash", false, &squash, err) < 0 ||
        http_query_bool(req, "q", false, &o->quiet, err) < 0 ||
        http_query_bool(req, "rm", true, &o->rm, err) < 0 ||
        http_query_bool(req, "forcerm", false, &o->forcerm, err) < 0)
        return -1;
    if (squash)
        return err_make(err, ERR_INVALID, 0, "squash is only supported with experimental mode");
    /* pull: the base images
     * are local or pulled the way this daemon pulls (no registry is reached). */
    if (o->forcerm)
        o->rm = true;
    o->tags = http_query_all(req, "t");
    for (size_t i = 0; o->tags != NULL && o->tags[i] != NULL; i++) {
        struct reference r;
        if (reference_parse(o->tags[i], &r, err) < 0)
            return err_wrap(err, "invalid tag %s", o->tags[i]);
        reference_fini(&r);
    }
    const char *target = http_query(req, "target");
    o->target = target && *target ? xstrdup(target) : NULL;
    const char *net = http_query(req, "networkmode");
    o->network_mode = net && *net ? xstrdup(net) : NULL;
    const char *hosts = http_query(req, "extrahosts");
    if (hosts != NULL && *hosts != '\0') {
        json_t *a = json_loads(hosts, 0, NULL);
        size_t i;
        json_t *v;
        if (json_is_array(a))
            json_array_foreach(a, i, v) if (json_is_string(v)) o->extra_hosts =
                strv_append(o->extra_hosts, json_string_value(v));
        json_decref(a);
    }
    const char *cpus = http_query(req, "cpusetcpus");
    o->cpuset_cpus = cpus && *cpus ? xstrdup(cpus) : NULL;
    const char *mems = http_query(req, "cpusetmems");
    o->cpuset_mems = mems && *mems ? xstrdup(mems) : NULL;
    const struct {
        const char *name;
        int64_t *out;
    } ints[] = {{"shmsize", &o->shm_size},    {"memory", &o->memory},
                {"memswap", &o->memory_swap}, {"cpushares", &o->cpu_shares},
                {"cpuquota", &o->cpu_quota},  {"cpuperiod", &o->cpu_period}};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (http_query_int(req, ints[i].name, 0, -1, INT64_MAX, &n, err) < 0)
            return -1;
        *ints[i].out = n;
    }
    (void)pull;
    if (query_json_map(req, "buildargs", &o->args, true, err) < 0 ||
        query_json_map(req, "labels", &o->labels, false, err) < 0)
        return -1;
    return 0;
}

struct http_response *
api_build(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    struct build_job *j = xcalloc(1, sizeof(*j));
    j->eng = api->eng;
    j->wfd = -1;
    if (parse_opts(req, &j->opts, &err) < 0) {
        job_free(j);
        return api_error_response(&err);
    }
    /* The context: extracted into a directory of its own. */
    j->context = xasprintf("%s/tmp/build-XXXXXX", api->eng->data_root);
    if (mkdtemp(j->context) == NULL) {
        err_errno(&err, "build context directory");
        free(j->context);
        j->context = NULL;
        job_free(j);
        return api_error_response(&err);
    }
    const void *data;
    size_t len;
    http_request_body(req, &data, &len);
    cleanup_free void *padded = NULL;
    if (len % 512 != 0 && is_plain_tar(data, len)) {
        /* `docker build -f -` sends a tar without the padding of its last entry nor the end
         * blocks (the CLI's ReplaceFileTarWrapper closes its pipe before the tar writer); Go's
         * reader takes that as the end, libarchive as a truncated file: complete it. */
        size_t full = (len + 511) / 512 * 512 + 1024;
        padded = xcalloc(1, full);
        memcpy(padded, data, len);
        data = padded;
        len = full;
    }
    if (len > 0 && tarfs_extract(j->context, "/", data, len, false, NULL, &err) < 0) {
        job_free(j);
        err_wrap(&err, "the build context");
        return api_error_response(&err);
    }
    const char *dfname = http_query(req, "dockerfile");
    if (dfname == NULL || *dfname == '\0')
        dfname = "Dockerfile";
    if (escapes_root(dfname)) {
        err_make(&err, ERR_INTERNAL, 0, "forbidden path outside the build context: %s ()", dfname);
        job_free(j);
        return api_error_response(&err);
    }
    size_t dflen = 0;
    cleanup_free char *text = read_in_root(j->context, dfname, DOCKERFILE_MAX_SIZE, &dflen);
    if (text == NULL) {
        err_make(&err, errno == EFBIG ? ERR_TOO_LARGE : ERR_INTERNAL, 0,
                 errno == EFBIG ? "the Dockerfile %s is larger than 1 MiB or not a file"
                                : "Cannot locate specified Dockerfile: %s",
                 dfname);
        job_free(j);
        return api_error_response(&err);
    }
    if (dflen == 0) {
        err_make(&err, ERR_INVALID, 0, "the Dockerfile (%s) cannot be empty", dfname);
        job_free(j);
        return api_error_response(&err);
    }
    if (dockerfile_parse(text, dflen, &j->df, &err) < 0) {
        job_free(j);
        return api_error_response(&err);
    }
    /* .dockerignore: dockerd's classic builder leaves the filtering to the client and only
     * takes .dockerignore and the Dockerfile out of the context when the patterns exclude them
     * (remotecontext's removeDockerfile); both were read first, whatever it says. */
    size_t ilen = 0;
    cleanup_free char *ignore = read_in_root(j->context, ".dockerignore", DOCKERIGNORE_MAX, &ilen);
    if (ignore != NULL) {
        struct dockerignore di;
        if (dockerignore_parse(ignore, ilen, &di, &err) < 0) {
            job_free(j);
            return api_error_response(&err);
        }
        const char *names[] = {".dockerignore", dfname};
        for (size_t i = 0; i < 2; i++)
            if (dockerignore_matches(&di, names[i]))
                remove_in_root(j->context, names[i]);
        dockerignore_fini(&di);
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        err_errno(&err, "pipe");
        job_free(j);
        return api_error_response(&err);
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    j->wfd = p[1];
    struct build_stream *s = xcalloc(1, sizeof(*s));
    s->rfd = p[0];
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    engine_job_begin(j->eng);
    int rc = pthread_create(&t, &attr, build_main, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        engine_job_end(j->eng);
        close(p[0]);
        free(s);
        job_free(j);
        close(p[1]);
        err_make(&err, ERR_INTERNAL, rc, "cannot start the build");
        return api_error_response(&err);
    }
    return http_response_stream(200, "application/json", stream_produce, s, stream_free);
}
