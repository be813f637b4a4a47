/* Image endpoints: create (pulls are in api/distribution.c), inspect, list, tag, remove,
 * load, import, save. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/filters_json.h"
#include "api/jsonx.h"
#include "backend/backend.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "engine/engine.h"
#include "image/archive_write.h"
#include "image/reference.h"

/* The familiar forms of an image's references: its tags ("busybox:latest"), or its digest
 * references ("busybox@sha256:...", RepoDigests). */
static json_t *
image_refs(const struct image *img, bool digests)
{
    json_t *a = json_array();
    for (size_t i = 0; img->tags[i] != NULL; i++) {
        struct reference r;
        if (reference_parse(img->tags[i], &r, NULL) < 0)
            continue;
        if ((r.tag == NULL) == digests) {
            char *f = reference_familiar(&r);
            json_array_append_new(a, json_string(f));
            free(f);
        }
        reference_fini(&r);
    }
    return a;
}

json_t *
api_image_repo_tags(const struct image *img)
{
    return image_refs(img, false);
}

static json_t *
image_config_json(const struct image *img)
{
    const struct image_config *c = &img->config;
    json_t *exposed = json_object();
    for (size_t i = 0; c->exposed_ports != NULL && c->exposed_ports[i] != NULL; i++)
        json_object_set_new(exposed, c->exposed_ports[i], json_object());
    json_t *volumes = c->volumes ? json_object() : json_null();
    for (size_t i = 0; c->volumes != NULL && c->volumes[i] != NULL; i++)
        json_object_set_new(volumes, c->volumes[i], json_object());
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:b, s:o, s:b, s:b, s:b, s:o, s:o, s:s, s:o, s:s,"
        " s:o, s:o, s:o}",
        "Hostname", "", "Domainname", "", "User", c->user ? c->user : "", "AttachStdin", 0,
        "AttachStdout", 0, "AttachStderr", 0, "ExposedPorts", exposed, "Tty", 0, "OpenStdin", 0,
        "StdinOnce", 0, "Env", strv_json_or_null(c->env), "Cmd", strv_json_or_null(c->cmd), "Image",
        "", "Volumes", volumes, "WorkingDir", c->working_dir ? c->working_dir : "", "Entrypoint",
        strv_json_or_null(c->entrypoint), "OnBuild", strv_json_or_null(c->onbuild), "Labels",
        jsonx_from_labels(&c->labels));
    if (c->stop_signal != NULL)
        json_object_set_new(o, "StopSignal", json_string(c->stop_signal));
    if (c->shell != NULL)
        json_object_set_new(o, "Shell", strv_json_or_null(c->shell));
    if (c->health_test != NULL)
        json_object_set_new(o, "Healthcheck", image_health_json(c));
    return o;
}

struct http_response *
api_image_inspect(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    struct image *img = engine_image_get(api->eng, http_param(req, "name"), &err);
    if (img == NULL)
        return api_error_response(&err);
    json_t *o = json_object();
    json_object_set_new(o, "Id", json_string(img->id));
    json_object_set_new(o, "RepoTags", api_image_repo_tags(img));
    json_object_set_new(o, "RepoDigests", image_refs(img, true));
    json_object_set_new(o, "Parent", json_string(img->parent ? img->parent : ""));
    json_object_set_new(o, "Comment", json_string(img->comment ? img->comment : ""));
    json_object_set_new(o, "Created", jsonx_time(img->created_ns));
    json_object_set_new(o, "Container", json_string(""));
    json_object_set_new(o, "DockerVersion", json_string(""));
    json_object_set_new(o, "Author", json_string(img->author ? img->author : ""));
    json_object_set_new(o, "Config", image_config_json(img));
    json_object_set_new(o, "Architecture", json_string(img->arch ? img->arch : ""));
    json_object_set_new(o, "Os", json_string(img->os));
    json_object_set_new(o, "Size", json_integer(img->size));
    json_object_set_new(o, "VirtualSize", json_integer(img->size));
    json_object_set_new(o, "GraphDriver",
                        json_pack("{s:{}, s:s}", "Data", "Name", api->backend->storage_driver));
    json_object_set_new(
        o, "RootFS", json_pack("{s:s, s:o}", "Type", "layers", "Layers", strv_json(img->diff_ids)));
    json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime", "0001-01-01T00:00:00Z"));
    image_unref(img);
    return http_response_json(200, o);
}

static const char *const image_filter_keys[] = {"dangling", "label", "reference",
                                                "before",   "since", NULL};

static bool
reference_matches(const struct image *img, const struct filters *f)
{
    const struct filter_key *k = filters_find(f, "reference");
    if (k == NULL)
        return true;
    for (size_t i = 0; img->tags[i] != NULL; i++) {
        struct reference r;
        if (reference_parse(img->tags[i], &r, NULL) < 0)
            continue;
        char *fam = reference_familiar(&r);
        char *repo = reference_repo_familiar(&r);
        bool ok = false;
        for (size_t j = 0; j < k->n_values && !ok; j++)
            ok = fnmatch(k->values[j], fam, 0) == 0 || fnmatch(k->values[j], repo, 0) == 0;
        free(fam);
        free(repo);
        reference_fini(&r);
        if (ok)
            return true;
    }
    return false;
}

struct http_response *
api_image_list(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    bool all = false;
    if (http_query_bool(req, "all", false, &all, &err) < 0)
        return api_error_response(&err);
    struct filters *f = api_query_filters(req, image_filter_keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    /* dockerd's filters.GetBoolOrDefault: true, 1, false or 0, anything else is refused. */
    const struct filter_key *dk = filters_find(f, "dangling");
    for (size_t i = 0; dk != NULL && i < dk->n_values; i++) {
        const char *v = dk->values[i];
        if (strcmp(v, "true") != 0 && strcmp(v, "1") != 0 && strcmp(v, "false") != 0 &&
            strcmp(v, "0") != 0) {
            err_make(&err, ERR_INVALID, 0, "Invalid filter 'dangling=[%.64s]'", v);
            filters_free(f);
            return api_error_response(&err);
        }
    }
    json_t *out = json_array();
    engine_lock(api->eng);
    /* before/since name an image: list those created before or after it. */
    int64_t before_ns = INT64_MAX, since_ns = INT64_MIN;
    const char *refs[2] = {"before", "since"};
    for (int i = 0; i < 2 && err == NULL; i++) {
        const struct filter_key *k = filters_find(f, refs[i]);
        struct image *r =
            k && k->n_values ? store_find_image(&api->eng->store, k->values[0], &err) : NULL;
        if (r != NULL)
            *(i == 0 ? &before_ns : &since_ns) = r->created_ns;
    }
    if (err != NULL) {
        engine_unlock(api->eng);
        filters_free(f);
        json_decref(out);
        return api_error_response(&err);
    }
    size_t n;
    struct image **list = store_list_images(&api->eng->store, &n);
    /* The images that are another's parent: untagged, those are intermediate images (a build's
     * steps), which only all=1 lists and which are not dangling, as with dockerd. */
    struct map parents;
    map_init(&parents);
    for (size_t i = 0; i < n; i++)
        if (list[i]->parent != NULL)
            map_put(&parents, list[i]->parent, list[i], NULL);
    for (size_t i = 0; i < n; i++) {
        const struct image *img = list[i];
        bool has_child = map_get(&parents, img->id) != NULL;
        if (!all && img->tags[0] == NULL && has_child)
            continue;
        bool dangling = img->tags[0] == NULL && !has_child;
        if (dk != NULL && dk->n_values > 0 &&
            (strcmp(dk->values[0], "true") == 0 || strcmp(dk->values[0], "1") == 0) != dangling)
            continue;
        if (img->created_ns >= before_ns || img->created_ns <= since_ns ||
            !reference_matches(img, f) ||
            !filters_match_labels(f, "label", (const char *const *)img->config.labels.keys,
                                  (const char *const *)img->config.labels.values,
                                  img->config.labels.n))
            continue;
        json_t *tags = api_image_repo_tags(img);
        json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:o, s:i}", "Id",
                                             img->id, "ParentId", img->parent ? img->parent : "",
                                             "RepoTags", tags, "RepoDigests", image_refs(img, true),
                                             "Created", (json_int_t)(img->created_ns / 1000000000),
                                             "Size", (json_int_t)img->size, "SharedSize",
                                             (json_int_t)-1, "Labels",
                                             jsonx_from_labels(&img->config.labels), "Containers",
                                             (int)store_image_users(&api->eng->store, img)));
    }
    engine_unlock(api->eng);
    map_fini(&parents);
    free(list);
    filters_free(f);
    return http_response_json(200, out);
}

/* One JSON progress line of the pull stream. */
struct pull_stream {
    char *text;
    size_t len, off;
};

static ssize_t
pull_produce(struct http_stream *s, void *ctx, char *buf, size_t max)
{
    (void)s;
    struct pull_stream *p = ctx;
    if (p->off == p->len)
        return HTTP_STREAM_END;
    size_t n = p->len - p->off < max ? p->len - p->off : max;
    memcpy(buf, p->text + p->off, n);
    p->off += n;
    return (ssize_t)n;
}

static void
pull_free(void *ctx)
{
    struct pull_stream *p = ctx;
    free(p->text);
    free(p);
}

static void
append_line(struct pull_stream *p, json_t *obj)
{
    char *line = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    size_t n = strlen(line);
    p->text = xrealloc(p->text, p->len + n + 2);
    memcpy(p->text + p->len, line, n);
    p->text[p->len + n] = '\n';
    p->len += n + 1;
    free(line);
}

static struct http_response *image_import(struct api *api, struct http_request *req);

struct http_response *
api_image_create(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    const char *from = http_query(req, "fromImage");
    const char *tag = http_query(req, "tag");
    if ((from == NULL || *from == '\0') && http_query(req, "fromSrc") != NULL)
        return image_import(api, req);
    if (from == NULL || *from == '\0') {
        err_make(&err, ERR_INVALID, 0, "fromImage or fromSrc is required");
        return api_error_response(&err);
    }
    return api_image_pull(api, req, from, tag); /* api/distribution.c */
}

struct http_response *
api_image_tag(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    const char *repo = http_query(req, "repo");
    const char *tag = http_query(req, "tag");
    if (repo == NULL || *repo == '\0') {
        err_make(&err, ERR_INVALID, 0, "repository name must have at least one component");
        return api_error_response(&err);
    }
    cleanup_free char *target = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
    if (engine_image_tag(api->eng, http_param(req, "name"), target, &err) < 0)
        return api_error_response(&err);
    return http_response_data(201, NULL, NULL, 0);
}

struct http_response *
api_image_remove(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    bool force = false, noprune = false;
    if (http_query_bool(req, "force", false, &force, &err) < 0 ||
        http_query_bool(req, "noprune", false, &noprune, &err) < 0)
        return api_error_response(&err);
    struct image_removal *rm;
    size_t n;
    if (engine_image_remove(api->eng, http_param(req, "name"), force, &rm, &n, &err) < 0)
        return api_error_response(&err);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        if (rm[i].untagged)
            json_array_append_new(out, json_pack("{s:s}", "Untagged", rm[i].untagged));
        if (rm[i].deleted)
            json_array_append_new(out, json_pack("{s:s}", "Deleted", rm[i].deleted));
    }
    image_removals_free(rm, n);
    return http_response_json(200, out);
}

struct http_response *
api_image_load(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    bool quiet = false;
    if (http_query_bool(req, "quiet", false, &quiet, &err) < 0)
        return api_error_response(&err);
    char **loaded;
    const void *data;
    size_t len;
    http_request_body(req, &data, &len);
    struct pull_stream *p = xcalloc(1, sizeof(*p));
    if (engine_image_load(api->eng, data, len, &loaded, &err) < 0) {
        /* dockerd has answered 200 before it reads the archive: its errors come in-band. */
        append_line(
            p, json_pack("{s:{s:s}, s:s}", "errorDetail", "message", err->msg, "error", err->msg));
        err_clear(&err);
        return http_response_stream(200, "application/json", pull_produce, p, pull_free);
    }
    for (size_t i = 0; loaded[i] != NULL; i++) {
        char *line = xasprintf("%s\n", loaded[i]);
        append_line(p, json_pack("{s:s}", "stream", line));
        free(line);
    }
    strv_free(loaded);
    return http_response_stream(200, "application/json", pull_produce, p, pull_free);
}

struct http_response *
api_image_search(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    const char *term = http_query(req, "term");
    int64_t limit;
    if (http_query_int(req, "limit", 25, 1, 100, &limit, &err) < 0)
        return api_error_response(&err);
    static const char *const keys[] = {"is-automated", "is-official", "stars", NULL};
    struct filters *f = api_query_filters(req, keys, &err);
    if (f == NULL)
        return api_error_response(&err);
    if (term == NULL || *term == '\0') {
        filters_free(f);
        err_make(&err, ERR_INVALID, 0, "term is required");
        return api_error_response(&err);
    }
    /* No registry is searched: the seed's search looks at the local tags (repositories whose
     * familiar name contains the term). Local images have no stars and are not official. */
    const struct filter_key *official = filters_find(f, "is-official");
    const struct filter_key *automated = filters_find(f, "is-automated");
    const struct filter_key *stars = filters_find(f, "stars");
    bool none = (official && official->n_values && strcmp(official->values[0], "true") == 0) ||
                (automated && automated->n_values && strcmp(automated->values[0], "true") == 0) ||
                (stars && stars->n_values && atoi(stars->values[0]) > 0);
    json_t *out = json_array();
    char **seen = xcalloc(1, sizeof(char *));
    engine_lock(api->eng);
    size_t n;
    struct image **list = store_list_images(&api->eng->store, &n);
    for (size_t i = 0; i < n && !none; i++) {
        for (size_t t = 0; list[i]->tags[t] != NULL; t++) {
            struct reference r;
            if (reference_parse(list[i]->tags[t], &r, NULL) < 0)
                continue;
            char *repo = reference_repo_familiar(&r);
            reference_fini(&r);
            if (strstr(repo, term) != NULL && !strv_contains(seen, repo) &&
                json_array_size(out) < (size_t)limit) {
                seen = strv_append(seen, repo);
                json_array_append_new(out, json_pack("{s:s, s:s, s:b, s:b, s:i}", "name", repo,
                                                     "description", "", "is_official", 0,
                                                     "is_automated", 0, "star_count", 0));
            }
            free(repo);
        }
    }
    engine_unlock(api->eng);
    free(list);
    strv_free(seen);
    filters_free(f);
    return http_response_json(200, out);
}

/* POST /images/create?fromSrc=-: docker import of the request body. */
static struct http_response *
image_import(struct api *api, struct http_request *req)
{
    struct err *err = NULL;
    const char *src = http_query(req, "fromSrc");
    if (strcmp(src, "-") != 0) {
        err_make(&err, ERR_UNSUPPORTED, 0,
                 "import from a URL is not supported (no network access): use fromSrc=-");
        return api_error_response(&err);
    }
    cleanup_free char *ref = api_query_repo_tag(req);
    char **changes = http_query_all(req, "changes");
    char id[72];
    const void *data;
    size_t len;
    http_request_body(req, &data, &len);
    int rc = engine_image_import(api->eng, data, len, ref, http_query(req, "message"), changes, id,
                                 &err);
    strv_free(changes);
    if (rc < 0)
        return api_error_response(&err);
    struct pull_stream *p = xcalloc(1, sizeof(*p));
    append_line(p, json_pack("{s:s}", "status", id));
    return http_response_stream(200, "application/json", pull_produce, p, pull_free);
}

/* The keys of a JSON object (ExposedPorts, Volumes) as a list. */
static int
object_keys(json_t *body, const char *key, char ***out, struct err **err)
{
    json_t *o = json_object_get(body, key);
    if (o == NULL || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return err_make(err, ERR_INVALID, 0, "json: cannot unmarshal %s: object expected", key);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) *out = strv_append(*out, k);
    return 0;
}

static int
commit_body_config(json_t *body, struct image_config *c, struct err **err)
{
    if (jsonx_strv(body, "Env", false, &c->env, err) < 0 ||
        jsonx_strv(body, "Cmd", true, &c->cmd, err) < 0 ||
        jsonx_strv(body, "Entrypoint", true, &c->entrypoint, err) < 0 ||
        jsonx_string(body, "User", &c->user, err) < 0 ||
        jsonx_string(body, "WorkingDir", &c->working_dir, err) < 0 ||
        jsonx_string(body, "StopSignal", &c->stop_signal, err) < 0 ||
        jsonx_labels(body, "Labels", &c->labels, err) < 0 ||
        object_keys(body, "ExposedPorts", &c->exposed_ports, err) < 0 ||
        object_keys(body, "Volumes", &c->volumes, err) < 0)
        return -1;
    return 0;
}

struct http_response *
api_commit(struct http_request *req, void *app)
{
    struct api *api = app;
    struct err *err = NULL;
    const char *container = http_query(req, "container");
    if (container == NULL || *container == '\0') {
        err_make(&err, ERR_INVALID, 0, "No container name or ID supplied");
        return api_error_response(&err);
    }
    /* The body: a container config whose fields override the container's. */
    struct image_config over = {0};
    bool has_over = false;
    if (req->body.len > 0) {
        json_t *body = json_loadb(req->body.data, req->body.len, 0, NULL);
        if (json_is_object(body)) {
            has_over = true;
            if (commit_body_config(body, &over, &err) < 0) {
                json_decref(body);
                image_config_fini(&over);
                return api_error_response(&err);
            }
        } else if (!json_is_null(body)) {
            json_decref(body);
            err_make(&err, ERR_INVALID, 0, "invalid JSON body: expected an object");
            return api_error_response(&err);
        }
        json_decref(body);
    }
    bool pause = true;
    if (http_query_bool(req, "pause", true, &pause, &err) < 0) {
        image_config_fini(&over);
        return api_error_response(&err);
    }
    cleanup_free char *ref = api_query_repo_tag(req);
    char **changes = http_query_all(req, "changes");
    char id[72];
    /* pause (the default): a running container is frozen while its changes are read, as
     * dockerd does; one that is not running (or already paused) is left as it is. */
    struct err *perr = NULL;
    bool paused = pause && engine_container_pause(api->eng, container, &perr) == 0;
    err_clear(&perr);
    int rc = engine_container_commit(api->eng, container, ref, http_query(req, "comment"),
                                     http_query(req, "author"), changes, has_over ? &over : NULL,
                                     id, &err);
    if (paused && engine_container_unpause(api->eng, container, &perr) < 0)
        err_clear(&perr);
    image_config_fini(&over);
    strv_free(changes);
    if (rc < 0)
        return api_error_response(&err);
    return http_response_json(201, json_pack("{s:s}", "Id", id));
}

/* ---- docker save ---- */

struct save_items {
    struct archive_item *items;
    size_t n;
};

static void
save_items_fini(struct save_items *s)
{
    for (size_t i = 0; i < s->n; i++) {
        image_unref((struct image *)s->items[i].img);
        strv_free((char **)s->items[i].repo_tags);
    }
    free(s->items);
}

static void
save_items_add(struct save_items *s, struct image *img, const char *familiar_tag)
{
    image_ref(img);
    char **tags = xcalloc(1, sizeof(char *));
    if (familiar_tag != NULL)
        tags = strv_append(tags, familiar_tag);
    s->items = xrealloc(s->items, (s->n + 1) * sizeof(*s->items));
    s->items[s->n++] = (struct archive_item){.img = img, .repo_tags = tags};
}

/* Every tag of repository repo_full ("docker.io/library/busybox"). Lock held. */
static size_t
add_repository_tags(struct store *st, const char *repo_full, struct save_items *s)
{
    size_t found = 0, rlen = strlen(repo_full), it = 0;
    const char *tag;
    void *v;
    while (map_next(&st->tags, &it, &tag, &v)) {
        if (strncmp(tag, repo_full, rlen) != 0 || tag[rlen] != ':')
            continue;
        struct reference r;
        if (reference_parse(tag, &r, NULL) < 0)
            continue;
        char *fam = reference_familiar(&r);
        save_items_add(s, v, fam);
        free(fam);
        reference_fini(&r);
        found++;
    }
    return found;
}

/*
 * One name of a save, read as dockerd's image/tarexport does: an ID (or ID prefix) saves the
 * image without references; name:tag that tag ("reference does not exist" when absent); a
 * repository without a tag every tag it has, or else the image it names as an ID prefix.
 * Lock held.
 */
static int
resolve_save_name(struct store *st, const char *name, struct save_items *s, struct err **err)
{
    struct image *img;
    if (strncmp(name, "sha256:", 7) == 0) {
        if ((img = store_find_image(st, name, err)) == NULL)
            return -1;
        save_items_add(s, img, NULL);
        return 0;
    }
    struct reference r;
    if (reference_parse(name, &r, err) < 0)
        return -1;
    const char *last = strrchr(name, '/');
    bool name_only = strpbrk(last ? last : name, ":@") == NULL;
    char *full = reference_full(&r);
    char *fam = reference_familiar(&r);
    int rc = 0;
    if (name_only) {
        cleanup_free char *repo = xasprintf("%s/%s", r.domain, r.path);
        if (add_repository_tags(st, repo, s) == 0) {
            struct err *sub = NULL;
            img = store_find_image(st, name, &sub);
            if (img != NULL)
                save_items_add(s, img, NULL);
            else if (sub->kind == ERR_NOT_FOUND) /* dockerd names it as given, no ":latest" */
                rc = err_make(err, ERR_NOT_FOUND, 0, "No such image: %s", name);
            else
                rc = err_make(err, sub->kind, sub->errnum, "%s", sub->msg);
            err_clear(&sub);
        }
    } else if ((img = map_get(&st->tags, full)) != NULL) {
        save_items_add(s, img, r.digest ? NULL : fam);
    } else {
        rc = err_make(err, ERR_NOT_FOUND, 0, "reference does not exist");
    }
    free(full);
    free(fam);
    reference_fini(&r);
    return rc;
}

/* Writes the archive to an unlinked file under <data-root>/tmp, so that every error is known
 * before the status is sent; the response then streams the file. */
static struct http_response *
save_to_response(struct api *api, const struct save_items *s)
{
    struct err *err = NULL;
    for (size_t i = 0; i < s->n; i++) {
        if (s->items[i].img->synthetic) {
            err_make(&err, ERR_UNSUPPORTED, 0,
                     "cannot save %.12s: a synthetic pull made it and it has no layers (docker "
                     "load an archive of it instead)",
                     s->items[i].img->id + 7);
            return api_error_response(&err);
        }
    }
    int fd = api_tmpfile(api, &err);
    if (fd < 0)
        return api_error_response(&err);
    if (docker_archive_write(api->eng->layers, s->items, s->n, fd, &err) < 0) {
        close(fd);
        return api_error_response(&err);
    }
    return api_file_response(fd, "application/x-tar");
}

static struct http_response *
image_save(struct api *api, char *const *names)
{
    struct err *err = NULL;
    struct save_items s = {0};
    engine_lock(api->eng);
    int rc = 0;
    for (size_t i = 0; rc == 0 && names[i] != NULL; i++)
        rc = resolve_save_name(&api->eng->store, names[i], &s, &err);
    engine_unlock(api->eng);
    struct http_response *resp = rc < 0 ? api_error_response(&err) : save_to_response(api, &s);
    save_items_fini(&s);
    return resp;
}

/* GET /images/{name}/get and GET /images/get?names=a&names=b: docker save. */
struct http_response *
api_image_save(struct http_request *req, void *app)
{
    const char *name = http_param(req, "name");
    char **names = xcalloc(1, sizeof(char *));
    if (name != NULL) {
        names = strv_append(names, name);
    } else {
        strv_free(names);
        names = http_query_all(req, "names");
    }
    struct http_response *resp = image_save(app, names);
    strv_free(names);
    return resp;
}
