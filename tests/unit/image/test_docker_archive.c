#include "../cmocka_prelude.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "base/digest.h"
#include "image/docker_archive.h"

struct member {
    const char *path;
    const char *data;
};

/* Writes a tar with the given members into a malloc'd buffer. */
static void *
make_tar(const struct member *m, size_t n, size_t *len)
{
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, buf, cap, len);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)strlen(m[i].data));
        archive_write_header(a, e);
        archive_write_data(a, m[i].data, strlen(m[i].data));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return buf;
}

static const char config[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
    "\"config\":{\"Env\":[\"PATH=/bin\",\"A=1\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/w\","
    "\"Labels\":{\"k\":\"v\"},\"ExposedPorts\":{\"80/tcp\":{}}},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";

static void
test_reads_images_and_tags(void **state)
{
    (void)state;
    char digest[DIGEST_LEN + 1];
    digest_sha256(config, strlen(config), digest);
    char cfg_name[128];
    snprintf(cfg_name, sizeof(cfg_name), "%s.json", digest + 7);
    char manifest[512];
    snprintf(manifest, sizeof(manifest),
             "[{\"Config\":\"%s\",\"RepoTags\":[\"busybox:1\",\"reg:5000/x/y:z\"],"
             "\"Layers\":[\"l1/layer.tar\"]}]",
             cfg_name);
    struct member m[] = {
        {"manifest.json", manifest}, {cfg_name, config}, {"l1/layer.tar", "0123456789"}};
    size_t len;
    void *tar = make_tar(m, 3, &len);
    struct image **imgs;
    size_t n;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read(tar, len, &imgs, &n, &err), 0);
    assert_int_equal(n, 1);
    struct image *img = imgs[0];
    assert_string_equal(img->id, digest);
    assert_string_equal(img->tags[0], "docker.io/library/busybox:1");
    assert_string_equal(img->tags[1], "reg:5000/x/y:z");
    assert_string_equal(img->config.cmd[0], "sh");
    assert_string_equal(img->config.env[1], "A=1");
    assert_string_equal(img->config.working_dir, "/w");
    assert_string_equal(labels_get(&img->config.labels, "k"), "v");
    assert_string_equal(img->config.exposed_ports[0], "80/tcp");
    assert_string_equal(img->arch, "amd64");
    assert_int_equal(img->size, 10);
    assert_int_equal(img->created_ns, 1704067200000000000LL);
    image_unref(img);
    free(imgs);
    free(tar);
}

static void
expect_invalid(const struct member *m, size_t n)
{
    size_t len;
    void *tar = make_tar(m, n, &len);
    struct image **imgs;
    size_t count;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read(tar, len, &imgs, &count, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    err_clear(&err);
    free(tar);
}

static void
test_rejects_broken_archives(void **state)
{
    (void)state;
    struct member no_manifest[] = {{"x.json", "{}"}};
    expect_invalid(no_manifest, 1);
    struct member bad_manifest[] = {{"manifest.json", "{\"not\":\"a list\"}"}};
    expect_invalid(bad_manifest, 1);
    struct member missing_config[] = {{"manifest.json", "[{\"Config\":\"nope.json\"}]"}};
    expect_invalid(missing_config, 1);
    struct member missing_layer[] = {
        {"manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[\"gone.tar\"]}]"}, {"c.json", "{}"}};
    expect_invalid(missing_layer, 2);
    struct image **imgs;
    size_t count;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read("not a tar at all", 16, &imgs, &count, &err), -1);
    err_clear(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_images_and_tags),
        cmocka_unit_test(test_rejects_broken_archives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
