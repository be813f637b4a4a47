/* The registry client's pure parts: references to registry and repository, insecure
 * registries, WWW-Authenticate challenges, the registry's errors, manifests and indexes,
 * platform selection, the manifest a push writes, and the distribution metadata. */
#include "../cmocka_prelude.h"

#include <archive.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "image/compress.h"
#include "image/distmeta.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/registry_internal.h"
#include "image/www_auth.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* ---- references ---- */

static void
endpoint(const char *ref, const char *host, const char *repo, const char *tag_or_digest)
{
    struct reference r;
    assert_int_equal(reference_parse(ref, &r, NULL), 0);
    assert_string_equal(registry_host_of(r.domain), host);
    assert_string_equal(r.path, repo);
    assert_string_equal(r.digest ? r.digest : r.tag, tag_or_digest);
    reference_fini(&r);
}

static void
test_reference_endpoints(void **state)
{
    (void)state;
    endpoint("alpine", "registry-1.docker.io", "library/alpine", "latest");
    endpoint("user/app:v2", "registry-1.docker.io", "user/app", "v2");
    endpoint("docker.io/library/busybox:1.36", "registry-1.docker.io", "library/busybox", "1.36");
    endpoint("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000", "team/app", "v1");
    endpoint("localhost:5000/app@" D1, "localhost:5000", "app", D1);
    endpoint("ghcr.io/org/sub/img", "ghcr.io", "org/sub/img", "latest");
}

static void
test_insecure(void **state)
{
    (void)state;
    char a[] = "10.0.0.0/8", b[] = "myreg.example:5000", c[] = "[fd00::1]:443";
    char *list[] = {a, b, c, NULL};
    struct registry_config cfg = {.insecure = list};
    assert_true(registry_is_insecure(NULL, "127.0.0.1:5000"));
    assert_true(registry_is_insecure(NULL, "127.3.4.5"));
    assert_true(registry_is_insecure(&cfg, "10.9.8.7:5000"));
    assert_true(registry_is_insecure(&cfg, "myreg.example:5000"));
    assert_false(registry_is_insecure(&cfg, "192.0.2.10:5000"));
    assert_false(registry_is_insecure(&cfg, "11.0.0.1"));
    assert_false(registry_is_insecure(NULL, "[2001:db8::1]:5000"));
    const char *bad = NULL;
    assert_true(registry_check_insecure(list, &bad));
    char w[] = "10.0.0.0/33", x[] = "https://x";
    char *wrong[] = {w, NULL};
    assert_false(registry_check_insecure(wrong, &bad));
    assert_string_equal(bad, "10.0.0.0/33");
    char *scheme[] = {x, NULL};
    assert_false(registry_check_insecure(scheme, &bad));
}

/* ---- challenges ---- */

static void
test_www_auth(void **state)
{
    (void)state;
    struct www_auth w;
    assert_true(www_auth_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
                               "docker.io\",scope=\"repository:library/alpine:pull\"",
                               &w));
    assert_int_equal(w.scheme, WWW_AUTH_BEARER);
    assert_string_equal(w.realm, "https://auth.docker.io/token");
    assert_string_equal(w.service, "registry.docker.io");
    assert_string_equal(w.scope, "repository:library/alpine:pull");
    www_auth_fini(&w);

    assert_true(www_auth_parse("Basic realm=\"Registry Realm\"", &w));
    assert_int_equal(w.scheme, WWW_AUTH_BASIC);
    assert_string_equal(w.realm, "Registry Realm");
    assert_null(w.service);
    www_auth_fini(&w);

    /* Several challenges: Bearer wins; names case-insensitive; escapes; token values. */
    assert_true(www_auth_parse("Basic realm=\"b\", BEARER Realm=\"https://t/x\\\"y\", "
                               "service=svc,scope=\"a b\"",
                               &w));
    assert_int_equal(w.scheme, WWW_AUTH_BEARER);
    assert_string_equal(w.realm, "https://t/x\"y");
    assert_string_equal(w.service, "svc");
    assert_string_equal(w.scope, "a b");
    www_auth_fini(&w);

    assert_false(www_auth_parse("Negotiate", &w));
    assert_false(www_auth_parse("Bearer realm=\"unterminated", &w));
    assert_false(www_auth_parse("", &w));
    assert_false(www_auth_parse(NULL, &w));
    assert_null(w.realm);
}

/* ---- the registry's errors ---- */

static void
status_error(long status, const char *body, enum err_kind kind, const char *msg)
{
    struct reg_request q;
    reg_request_init(&q, "GET", xstrdup("https://r/v2/x/manifests/y"));
    q.status = status;
    if (body != NULL)
        assert_int_equal(buf_append(&q.err_body, body, strlen(body), NULL), 0);
    struct err *err = NULL;
    assert_int_equal(reg_status_error(&q, &err), -1);
    assert_int_equal(err->kind, kind);
    assert_string_equal(err->msg, msg);
    err_clear(&err);
    free(q.url);
    reg_request_fini(&q);
}

static void
test_status_errors(void **state)
{
    (void)state;
    status_error(404,
                 "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
                 "\"detail\":{\"Tag\":\"nope\"}}]}",
                 ERR_NOT_FOUND, "manifest unknown: manifest unknown");
    status_error(401,
                 "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
                 "required\",\"detail\":null}]}",
                 ERR_FORBIDDEN, "unauthorized: authentication required");
    status_error(401, "{\"details\":\"incorrect username or password\"}", ERR_FORBIDDEN,
                 "unauthorized: incorrect username or password");
    status_error(400,
                 "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"a\"},"
                 "{\"code\":\"DIGEST_INVALID\",\"message\":\"b\"}]}",
                 ERR_INVALID, "errors:\nblob unknown: a\ndigest invalid: b\n");
    status_error(401, NULL, ERR_FORBIDDEN, "unauthorized: authentication required");
    status_error(503, "busy", ERR_UNAVAILABLE,
                 "Get \"https://r/v2/x/manifests/y\": unexpected HTTP status 503: busy");
}

/* ---- manifests ---- */

static const char schema2[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_DOCKER_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" MEDIA_DOCKER_CONFIG "\",\"size\":395,\"digest\":\"" D1 "\"},"
    "\"layers\":[{\"mediaType\":\"" MEDIA_DOCKER_LAYER "\",\"size\":10,\"digest\":\"" D2 "\"},"
    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"size\":20,\"digest\":\"" D3
    "\"}]}";

static void
test_manifest_image(void **state)
{
    (void)state;
    struct manifest m;
    struct err *err = NULL;
    assert_int_equal(manifest_parse(schema2, strlen(schema2), NULL, &m, &err), 0);
    assert_int_equal(m.kind, MANIFEST_IMAGE);
    assert_string_equal(m.media_type, MEDIA_DOCKER_MANIFEST);
    assert_string_equal(m.config.digest, D1);
    assert_int_equal(m.config.size, 395);
    assert_int_equal(m.n_layers, 2);
    assert_string_equal(m.layers[0].digest, D2);
    assert_int_equal(m.layers[1].size, 20);
    manifest_fini(&m);

    /* An OCI manifest without mediaType, known by the response's Content-Type. */
    const char oci[] = "{\"schemaVersion\":2,\"config\":{\"size\":2,\"digest\":\"" D1 "\"},"
                       "\"layers\":[]}";
    assert_int_equal(manifest_parse(oci, strlen(oci), MEDIA_OCI_MANIFEST, &m, &err), 0);
    assert_int_equal(m.kind, MANIFEST_IMAGE);
    assert_string_equal(m.media_type, MEDIA_OCI_MANIFEST);
    assert_int_equal(m.n_layers, 0);
    manifest_fini(&m);
}

static void
bad_manifest(const char *body, const char *content_type, const char *want)
{
    struct manifest m;
    struct err *err = NULL;
    assert_int_equal(manifest_parse(body, strlen(body), content_type, &m, &err), -1);
    assert_non_null(err);
    if (strstr(err->msg, want) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", err->msg, want);
    err_clear(&err);
}

static void
test_manifest_refused(void **state)
{
    (void)state;
    bad_manifest("{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}",
                 "application/vnd.docker.distribution.manifest.v1+prettyjws", "schema 1");
    bad_manifest("not json", NULL, "invalid manifest");
    bad_manifest("{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_DOCKER_MANIFEST "\","
                 "\"config\":{\"size\":1,\"digest\":\"sha256:abc\"},\"layers\":[]}",
                 NULL, "invalid digest");
    bad_manifest("{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_DOCKER_MANIFEST "\","
                 "\"config\":{\"size\":1,\"digest\":\"sha512:abc\"},\"layers\":[]}",
                 NULL, "unsupported digest algorithm");
    bad_manifest("{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\","
                 "\"config\":{\"size\":1,\"digest\":\"" D1 "\"},\"layers\":[{\"mediaType\":"
                 "\"application/vnd.cncf.helm.chart.content.v1.tar+gzip\",\"size\":1,"
                 "\"digest\":\"" D2 "\"}]}",
                 NULL, "unsupported layer media type");
    bad_manifest("{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\","
                 "\"config\":{\"size\":-1,\"digest\":\"" D1 "\"},\"layers\":[]}",
                 NULL, "bad size");
    bad_manifest("{\"hello\":1}", "application/json", "unsupported manifest media type");
}

static const char index_json[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_INDEX "\",\"manifests\":["
    "{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"size\":1,\"digest\":\"" D1 "\","
    "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"
    "{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"size\":2,\"digest\":\"" D2 "\","
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"size\":3,\"digest\":\"" D3 "\","
    "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"size\":4,\"digest\":\"" D1 "\","
    "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";

static const char *
select_for(const struct manifest *m, const char *platform)
{
    struct platform want;
    assert_int_equal(platform_parse(platform, "amd64", &want, NULL), 0);
    const struct descriptor *d = manifest_select(m, &want);
    platform_fini(&want);
    return d ? d->digest : NULL;
}

static void
test_index_selection(void **state)
{
    (void)state;
    struct manifest m;
    assert_int_equal(manifest_parse(index_json, strlen(index_json), NULL, &m, NULL), 0);
    assert_int_equal(m.kind, MANIFEST_INDEX);
    assert_int_equal(m.n_children, 4);
    assert_string_equal(m.children[2].platform.variant, "v8");
    assert_string_equal(select_for(&m, "linux/amd64"), D2);
    assert_string_equal(select_for(&m, "linux"), D2);        /* the host's architecture */
    assert_string_equal(select_for(&m, "linux/x86_64"), D2); /* an alias */
    assert_string_equal(select_for(&m, "linux/arm64"), D3);  /* v8 is arm64's default */
    assert_string_equal(select_for(&m, "linux/aarch64/v8"), D3);
    assert_string_equal(select_for(&m, "linux/arm/v7"), D1); /* v7 runs v6 */
    assert_null(select_for(&m, "linux/arm/v5"));
    assert_null(select_for(&m, "linux/s390x"));
    assert_null(select_for(&m, "windows/amd64"));
    manifest_fini(&m);

    /* The highest arm variant a host runs wins over the first listed. */
    const char arm[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_DOCKER_LIST "\",\"manifests\":["
        "{\"size\":1,\"digest\":\"" D1 "\",\"platform\":{\"architecture\":\"arm\","
        "\"os\":\"linux\",\"variant\":\"v5\"}},"
        "{\"size\":1,\"digest\":\"" D2 "\",\"platform\":{\"architecture\":\"arm\","
        "\"os\":\"linux\",\"variant\":\"v7\"}},"
        "{\"size\":1,\"digest\":\"" D3 "\",\"platform\":{\"architecture\":\"arm\","
        "\"os\":\"linux\",\"variant\":\"v6\"}}]}";
    assert_int_equal(manifest_parse(arm, strlen(arm), MEDIA_DOCKER_LIST, &m, NULL), 0);
    assert_string_equal(select_for(&m, "linux/arm"), D2);
    assert_string_equal(select_for(&m, "linux/armel"), D3); /* armel is arm/v6 */
    manifest_fini(&m);
}

static void
test_platforms(void **state)
{
    (void)state;
    struct platform p;
    struct err *err = NULL;
    assert_int_equal(platform_parse("Linux/ARM64/v8", "amd64", &p, &err), 0);
    char *s = platform_format(&p);
    assert_string_equal(s, "linux/arm64");
    free(s);
    platform_fini(&p);
    assert_int_equal(platform_parse("linux/armhf", "amd64", &p, &err), 0);
    s = platform_format(&p);
    assert_string_equal(s, "linux/arm/v7");
    free(s);
    platform_fini(&p);
    platform_host("arm64", &p);
    s = platform_format(&p);
    assert_string_equal(s, "linux/arm64");
    free(s);
    platform_fini(&p);
    assert_int_equal(platform_parse("linux//v7", "amd64", &p, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    err_clear(&err);
    assert_int_equal(platform_parse("a/b/c/d", "amd64", &p, &err), -1);
    err_clear(&err);
}

/* What dockerd 20.10 pushed for sockerless-test/busybox (tests/images): the same descriptors
 * must give the same bytes, hence the same digest. */
static void
test_schema2_as_dockerd(void **state)
{
    (void)state;
    struct descriptor config = {
        .size = 395,
        .digest = "sha256:b2172fa34815c2977799d290baa320cc455dbefa85dc23d3291fa18003de603e"};
    struct descriptor layer = {
        .size = 1068700,
        .digest = "sha256:6453fbb4ad44ab8c5c04d76140f4bc74b8175cc2f0a23d2120e8048eb7cec971"};
    char *text = manifest_schema2(&config, &layer, 1);
    char digest[72];
    digest_sha256(text, strlen(text), digest);
    assert_string_equal(digest,
                        "sha256:ca3f52bd02b837bd43417c967ee9a2bede6b02d10705c8a806303cb1e46393b9");
    assert_int_equal(strlen(text), 527);
    /* And it parses back. */
    struct manifest m;
    assert_int_equal(manifest_parse(text, strlen(text), NULL, &m, NULL), 0);
    assert_string_equal(m.layers[0].digest, layer.digest);
    manifest_fini(&m);
    free(text);
}

/* ---- distribution metadata ---- */

static void
test_distmeta(void **state)
{
    (void)state;
    char root[] = "/tmp/sockerless-test-distmeta-XXXXXX";
    assert_non_null(mkdtemp(root));
    size_t n;
    assert_null(distmeta_list(root, D1, &n));
    assert_int_equal(n, 0);
    assert_int_equal(distmeta_add(root, D1, D2, "127.0.0.1:5000/a", NULL), 0);
    assert_int_equal(distmeta_add(root, D1, D2, "127.0.0.1:5000/a", NULL), 0); /* no repeat */
    assert_int_equal(distmeta_add(root, D1, D3, "docker.io/library/b", NULL), 0);
    struct distmeta_entry *e = distmeta_list(root, D1, &n);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].digest, D3); /* the latest first */
    assert_string_equal(e[0].repo, "docker.io/library/b");
    assert_string_equal(e[1].digest, D2);
    distmeta_entries_free(e, n);
    struct err *err = NULL;
    assert_int_equal(distmeta_add(root, "sha256:../x", D2, "r", &err), -1);
    err_clear(&err);
    assert_int_equal(distmeta_add(root, D1, D2, "has space", &err), -1);
    err_clear(&err);
    assert_int_equal(fsutil_remove_tree(root, NULL), 0);
}

/* ---- compression for a push ---- */

static char *
gunzip(const unsigned char *data, size_t len, size_t *out_len)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    assert_int_equal(archive_read_open_memory(a, data, len), ARCHIVE_OK);
    struct archive_entry *e;
    assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
    assert_int_equal(archive_filter_code(a, 0), ARCHIVE_FILTER_GZIP);
    size_t cap = 1 << 20, n = 0;
    char *out = xmalloc(cap);
    la_ssize_t r;
    while ((r = archive_read_data(a, out + n, cap - n)) > 0)
        n += (size_t)r;
    assert_true(r == 0);
    archive_read_free(a);
    *out_len = n;
    return out;
}

static void
test_compress_is_deterministic(void **state)
{
    (void)state;
    char path[] = "/tmp/sockerless-test-compress-XXXXXX";
    int in = mkstemp(path);
    assert_true(in >= 0);
    size_t len = 300 * 1000;
    char *data = xmalloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)(i % 251 < 200 ? 'a' + i % 7 : (i * 7919) % 256);
    assert_int_equal(fsutil_write_all(in, data, len), 0);
    close(in);
    char digest[2][72];
    int64_t size[2];
    unsigned char *blob = NULL;
    for (int k = 0; k < 2; k++) {
        FILE *f = tmpfile();
        assert_int_equal(compress_gzip_file(path, fileno(f), digest[k], &size[k], NULL), 0);
        assert_true(size[k] > 20 && size[k] < (int64_t)len);
        blob = xmalloc((size_t)size[k]);
        assert_int_equal(pread(fileno(f), blob, (size_t)size[k], 0), size[k]);
        char check[72];
        digest_sha256(blob, (size_t)size[k], check);
        assert_string_equal(check, digest[k]);
        /* gzip's header: no modification time, no file name */
        assert_int_equal(blob[0], 0x1f);
        assert_int_equal(blob[1], 0x8b);
        assert_int_equal(blob[3] & 0x08, 0);
        assert_int_equal(blob[4] | blob[5] | blob[6] | blob[7], 0);
        size_t got_len;
        char *got = gunzip(blob, (size_t)size[k], &got_len);
        assert_int_equal(got_len, len);
        assert_memory_equal(got, data, len);
        free(got);
        free(blob);
        fclose(f);
    }
    assert_string_equal(digest[0], digest[1]);
    struct err *err = NULL;
    FILE *f = tmpfile();
    assert_int_equal(compress_gzip_file("/nonexistent/x", fileno(f), digest[0], &size[0], &err),
                     -1);
    assert_non_null(err);
    err_clear(&err);
    fclose(f);
    free(data);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_endpoints),
        cmocka_unit_test(test_insecure),
        cmocka_unit_test(test_www_auth),
        cmocka_unit_test(test_status_errors),
        cmocka_unit_test(test_manifest_image),
        cmocka_unit_test(test_manifest_refused),
        cmocka_unit_test(test_index_selection),
        cmocka_unit_test(test_platforms),
        cmocka_unit_test(test_schema2_as_dockerd),
        cmocka_unit_test(test_distmeta),
        cmocka_unit_test(test_compress_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
