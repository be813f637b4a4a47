#include "../cmocka_prelude.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/fsutil.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "image/archive_write.h"
#include "image/docker_archive.h"
#include "image/layerstore.h"

/* One tar member: data of len bytes (strlen when len is 0), or a symlink to link (a hard link
 * when hard). */
struct member {
    const char *path;
    const char *data;
    size_t len;
    const char *link;
    bool hard;
};

/* Writes a tar of the members into a malloc'd buffer (gzip-compressed when gz). */
static char *
make_tar_gz(const struct member *m, size_t n, bool gz, size_t *len)
{
    size_t cap = 4 << 20;
    char *buf = malloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gz)
        archive_write_add_filter_gzip(a);
    assert_int_equal(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].path);
        if (m[i].link != NULL && m[i].hard) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, m[i].link);
            archive_entry_set_perm(e, 0644);
        } else if (m[i].link != NULL) {
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, m[i].link);
            archive_entry_set_perm(e, 0777);
        } else {
            size_t dl = m[i].len ? m[i].len : strlen(m[i].data);
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_size(e, (la_int64_t)dl);
            assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
            archive_write_data(a, m[i].data, dl);
            archive_entry_free(e);
            continue;
        }
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return buf;
}

static char *
make_tar(const struct member *m, size_t n, size_t *len)
{
    return make_tar_gz(m, n, false, len);
}

struct fixture {
    char root[64];
    struct layerstore *ls;
    /* Two layers: "a" (3 bytes), then "b" (5 bytes); their tars and digests. */
    char *l1, *l2, *l1_gz;
    size_t l1_len, l2_len, l1_gz_len;
    char d1[DIGEST_LEN + 1], d2[DIGEST_LEN + 1], d1_gz[DIGEST_LEN + 1];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/sockerless-dockerarchive-XXXXXX");
    if (mkdtemp(f->root) == NULL)
        return -1;
    f->ls = layerstore_open(f->root, NULL);
    if (f->ls == NULL)
        return -1;
    struct member a[] = {{"a", "aaa", 0, NULL, false}}, b[] = {{"b", "bbbbb", 0, NULL, false}};
    f->l1 = make_tar(a, 1, &f->l1_len);
    f->l2 = make_tar(b, 1, &f->l2_len);
    f->l1_gz = make_tar_gz(a, 1, true, &f->l1_gz_len);
    digest_sha256(f->l1, f->l1_len, f->d1);
    digest_sha256(f->l2, f->l2_len, f->d2);
    digest_sha256(f->l1_gz, f->l1_gz_len, f->d1_gz);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    layerstore_free(f->ls);
    fsutil_remove_tree(f->root, NULL);
    free(f->l1);
    free(f->l2);
    free(f->l1_gz);
    free(f);
    return 0;
}

/* An image config whose rootfs has the given diff IDs (a JSON list's inside). */
static char *
config_with(const char *diff_ids)
{
    return xasprintf(
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
        "\"config\":{\"Env\":[\"PATH=/bin\",\"A=1\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/w\","
        "\"Labels\":{\"k\":\"v\"},\"ExposedPorts\":{\"80/tcp\":{}}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]},"
        "\"history\":[{\"created_by\":\"one\"},{\"created_by\":\"env\",\"empty_layer\":true},"
        "{\"created_by\":\"two\"}]}",
        diff_ids);
}

static void
free_images(struct image **imgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        image_unref(imgs[i]);
    free(imgs);
}

/* A two-layer docker-archive as dockerd 20.10 writes it; the second image shares layer one
 * through a symlink, as dockerd writes a layer met again under another ID. */
static char *
legacy_archive(struct fixture *f, const char *cfg, char cfg_name[80], size_t *len)
{
    char digest[DIGEST_LEN + 1];
    digest_sha256(cfg, strlen(cfg), digest);
    snprintf(cfg_name, 80, "%s.json", digest + 7);
    cleanup_free char *manifest =
        xasprintf("[{\"Config\":\"%s\",\"RepoTags\":[\"busybox:1\",\"reg:5000/x/y:z\"],"
                  "\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]",
                  cfg_name);
    struct member m[] = {
        {"l1/VERSION", "1.0", 0, NULL, false},
        {"l1/layer.tar", f->l1, f->l1_len, NULL, false},
        {"l2/layer.tar", f->l2, f->l2_len, NULL, false},
        {cfg_name, cfg, 0, NULL, false},
        {"manifest.json", manifest, 0, NULL, false},
    };
    return make_tar(m, 5, len);
}

static void
test_reads_images_and_tags(void **state)
{
    struct fixture *f = *state;
    cleanup_free char *ids = xasprintf("\"%s\",\"%s\"", f->d1, f->d2);
    cleanup_free char *cfg = config_with(ids);
    char cfg_name[80];
    size_t len;
    char *tar = legacy_archive(f, cfg, cfg_name, &len);
    struct image **imgs;
    size_t n;
    char **stored;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read(tar, len, f->ls, &imgs, &n, &stored, &err), 0);
    assert_int_equal(n, 1);
    struct image *img = imgs[0];
    char digest[DIGEST_LEN + 1];
    digest_sha256(cfg, strlen(cfg), digest);
    assert_string_equal(img->id, digest);
    assert_string_equal(img->tags[0], "docker.io/library/busybox:1");
    assert_string_equal(img->tags[1], "reg:5000/x/y:z");
    assert_string_equal(img->config.cmd[0], "sh");
    assert_string_equal(img->config.env[1], "A=1");
    assert_string_equal(img->config.working_dir, "/w");
    assert_string_equal(labels_get(&img->config.labels, "k"), "v");
    assert_string_equal(img->config.exposed_ports[0], "80/tcp");
    assert_string_equal(img->arch, "amd64");
    assert_int_equal(img->created_ns, 1704067200000000000LL);
    /* Sizes come from the layers' contents, as dockerd reports them. */
    assert_int_equal(img->size, 3 + 5);
    assert_int_equal(img->history[0].size, 3);
    assert_int_equal(img->history[1].size, 0);
    assert_int_equal(img->history[2].size, 5);
    /* Both layers and the config (byte for byte) are in the store. */
    assert_int_equal(strv_len(stored), 2);
    assert_true(layerstore_has(f->ls, f->d1));
    assert_true(layerstore_has(f->ls, f->d2));
    size_t blen;
    char *blob = layerstore_get_config(f->ls, img->id, &blen, &err);
    assert_non_null(blob);
    assert_int_equal(blen, strlen(cfg));
    assert_memory_equal(blob, cfg, blen);
    free(blob);
    strv_free(stored);
    free_images(imgs, n);
    free(tar);
}

static void
test_shared_layer_symlink_and_compressed(void **state)
{
    struct fixture *f = *state;
    cleanup_free char *ids1 = xasprintf("\"%s\"", f->d1);
    cleanup_free char *ids2 = xasprintf("\"%s\",\"%s\"", f->d1, f->d2);
    cleanup_free char *c1 = config_with(ids1);
    cleanup_free char *c2 = config_with(ids2);
    char d[DIGEST_LEN + 1];
    digest_sha256(c1, strlen(c1), d);
    cleanup_free char *n1 = xasprintf("%s.json", d + 7);
    digest_sha256(c2, strlen(c2), d);
    cleanup_free char *n2 = xasprintf("%s.json", d + 7);
    cleanup_free char *manifest =
        xasprintf("[{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"x/layer.tar\"]},"
                  "{\"Config\":\"%s\",\"RepoTags\":[\"two:latest\"],\"Layers\":[\"y/layer.tar\","
                  "\"z/layer.tar\"]}]",
                  n1, n2);
    struct member m[] = {
        {"x/layer.tar", f->l1, f->l1_len, NULL, false},
        {"y/layer.tar", NULL, 0, "../x/layer.tar", false},
        {"z/layer.tar", f->l2, f->l2_len, NULL, false},
        {n1, c1, 0, NULL, false},
        {n2, c2, 0, NULL, false},
        {"manifest.json", manifest, 0, NULL, false},
    };
    size_t len;
    char *tgz = make_tar_gz(m, 6, true, &len);
    struct image **imgs;
    size_t n;
    char **stored;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read(tgz, len, f->ls, &imgs, &n, &stored, &err), 0);
    assert_int_equal(n, 2);
    assert_null(imgs[0]->tags[0]);
    assert_string_equal(imgs[1]->tags[0], "docker.io/library/two:latest");
    assert_int_equal(imgs[1]->size, 8);
    assert_int_equal(strv_len(stored), 2); /* the shared layer is stored once */
    strv_free(stored);
    free_images(imgs, n);
    free(tgz);
}

/* A layer member that is a hard link to another member (tar writes a file met twice so). */
static void
test_hard_linked_layer(void **state)
{
    struct fixture *f = *state;
    cleanup_free char *ids = xasprintf("\"%s\"", f->d1);
    cleanup_free char *cfg = config_with(ids);
    char d[DIGEST_LEN + 1];
    digest_sha256(cfg, strlen(cfg), d);
    cleanup_free char *name = xasprintf("%s.json", d + 7);
    cleanup_free char *manifest =
        xasprintf("[{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"h/layer.tar\"]}]", name);
    struct member m[] = {
        {"x/layer.tar", f->l1, f->l1_len, NULL, false},
        {"h/layer.tar", NULL, 0, "x/layer.tar", true},
        {name, cfg, 0, NULL, false},
        {"manifest.json", manifest, 0, NULL, false},
    };
    size_t len;
    char *tar = make_tar(m, 4, &len);
    struct image **imgs;
    size_t n;
    char **stored;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read(tar, len, f->ls, &imgs, &n, &stored, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(imgs[0]->size, 3);
    strv_free(stored);
    free_images(imgs, n);
    free(tar);
}

static void
expect_invalid(struct fixture *f, const struct member *m, size_t n, const char *msg)
{
    size_t len;
    char *tar = make_tar(m, n, &len);
    struct image **imgs;
    size_t count;
    char **stored;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read(tar, len, f->ls, &imgs, &count, &stored, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    if (msg != NULL && strstr(err->msg, msg) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", err->msg, msg);
    err_clear(&err);
    strv_free(stored);
    free(tar);
}

static void
test_rejects_broken_archives(void **state)
{
    struct fixture *f = *state;
    struct member no_manifest[] = {{"x.json", "{}", 0, NULL, false}};
    expect_invalid(f, no_manifest, 1, "no manifest.json");
    struct member bad_manifest[] = {{"manifest.json", "{\"not\":\"a list\"}", 0, NULL, false}};
    expect_invalid(f, bad_manifest, 1, "bad manifest.json");
    struct member missing_config[] = {
        {"manifest.json", "[{\"Config\":\"nope.json\"}]", 0, NULL, false}};
    expect_invalid(f, missing_config, 1, "nope.json not found");
    struct member missing_layer[] = {
        {"manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[\"gone.tar\"]}]", 0, NULL, false},
        {"c.json", "{}", 0, NULL, false}};
    expect_invalid(f, missing_layer, 2, "gone.tar not found");
    struct member not_a_layer[] = {
        {"manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[\"l.tar\"]}]", 0, NULL, false},
        {"c.json", "{}", 0, NULL, false},
        {"l.tar", "0123456789", 0, NULL, false}};
    expect_invalid(f, not_a_layer, 3, "l.tar");
    struct member escaping_link[] = {
        {"manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[\"l.tar\"]}]", 0, NULL, false},
        {"c.json", "{}", 0, NULL, false},
        {"l.tar", NULL, 0, "../../../etc/passwd", false}};
    expect_invalid(f, escaping_link, 3, "l.tar not found");
    struct image **imgs;
    size_t count;
    char **stored;
    struct err *err = NULL;
    assert_int_equal(
        docker_archive_read("not a tar at all", 16, f->ls, &imgs, &count, &stored, &err), -1);
    err_clear(&err);
    strv_free(stored);
}

static void
test_diff_id_checks(void **state)
{
    struct fixture *f = *state;
    /* The config claims another content for layer 0: nothing is added but the layer read. */
    cleanup_free char *ids = xasprintf("\"%s\",\"%s\"", f->d2, f->d2);
    cleanup_free char *cfg = config_with(ids);
    char cfg_name[80];
    size_t len;
    char *tar = legacy_archive(f, cfg, cfg_name, &len);
    struct image **imgs;
    size_t n;
    char **stored;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read(tar, len, f->ls, &imgs, &n, &stored, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    assert_non_null(strstr(err->msg, "invalid diffID for layer 0"));
    err_clear(&err);
    assert_int_equal(strv_len(stored), 2); /* for the caller to take back */
    char digest[DIGEST_LEN + 1];
    digest_sha256(cfg, strlen(cfg), digest);
    assert_false(layerstore_has_config(f->ls, digest));
    strv_free(stored);
    free(tar);

    cleanup_free char *one = xasprintf("\"%s\"", f->d1);
    cleanup_free char *short_cfg = config_with(one);
    tar = legacy_archive(f, short_cfg, cfg_name, &len);
    assert_int_equal(docker_archive_read(tar, len, f->ls, &imgs, &n, &stored, &err), -1);
    assert_non_null(strstr(err->msg, "layers length mismatch"));
    err_clear(&err);
    strv_free(stored);
    free(tar);
}

/* The OCI image layout alone (no manifest.json), a gzip layer, a nested index. */
static void
test_oci_layout(void **state)
{
    struct fixture *f = *state;
    cleanup_free char *ids = xasprintf("\"%s\"", f->d1); /* of the uncompressed tar */
    cleanup_free char *cfg = config_with(ids);
    char cd[DIGEST_LEN + 1], md[DIGEST_LEN + 1], id[DIGEST_LEN + 1];
    digest_sha256(cfg, strlen(cfg), cd);
    cleanup_free char *manifest = xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
        "\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
        "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":%zu}]}",
        cd, strlen(cfg), f->d1_gz, f->l1_gz_len);
    digest_sha256(manifest, strlen(manifest), md);
    cleanup_free char *inner =
        xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
                  "vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%064d\",\"size\":1},"
                  "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
                  "\"size\":%zu}]}",
                  0, md, strlen(manifest));
    digest_sha256(inner, strlen(inner), id);
    cleanup_free char *index =
        xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
                  "vnd.oci.image.index.v1+json\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{"
                  "\"io.containerd.image.name\":\"docker.io/library/oci:v1\","
                  "\"org.opencontainers.image.ref.name\":\"v1\"}}]}",
                  id, strlen(inner));
    cleanup_free char *p_cfg = xasprintf("blobs/sha256/%s", cd + 7);
    cleanup_free char *p_man = xasprintf("blobs/sha256/%s", md + 7);
    cleanup_free char *p_inner = xasprintf("blobs/sha256/%s", id + 7);
    cleanup_free char *p_layer = xasprintf("blobs/sha256/%s", f->d1_gz + 7);
    struct member m[] = {
        {"oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 0, NULL, false},
        {p_layer, f->l1_gz, f->l1_gz_len, NULL, false},
        {p_cfg, cfg, 0, NULL, false},
        {p_man, manifest, 0, NULL, false},
        {p_inner, inner, 0, NULL, false},
        {"index.json", index, 0, NULL, false},
    };
    size_t len;
    char *tar = make_tar(m, 6, &len);
    struct image **imgs;
    size_t n;
    char **stored;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read(tar, len, f->ls, &imgs, &n, &stored, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(imgs[0]->id, cd);
    assert_string_equal(imgs[0]->tags[0], "docker.io/library/oci:v1");
    assert_int_equal(imgs[0]->size, 3);
    assert_true(layerstore_has(f->ls, f->d1));
    strv_free(stored);
    free_images(imgs, n);
    free(tar);
}

/* docker save writes what docker load reads back: the same IDs, tags and layers. */
static void
test_write_round_trip(void **state)
{
    struct fixture *f = *state;
    cleanup_free char *ids = xasprintf("\"%s\",\"%s\"", f->d1, f->d2);
    cleanup_free char *cfg = config_with(ids);
    char cfg_name[80];
    size_t len;
    char *tar = legacy_archive(f, cfg, cfg_name, &len);
    struct image **imgs;
    size_t n;
    char **stored;
    struct err *err = NULL;
    assert_int_equal(docker_archive_read(tar, len, f->ls, &imgs, &n, &stored, &err), 0);
    strv_free(stored);
    free(tar);

    char tag[] = "busybox:1";
    char *tags[] = {tag, NULL, false};
    struct archive_item items[] = {{imgs[0], tags}, {imgs[0], NULL}};
    char path[128];
    snprintf(path, sizeof(path), "%s/saved.tar", f->root);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_int_equal(docker_archive_write(f->ls, items, 2, fd, &err), 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *saved = malloc((size_t)st.st_size);
    assert_int_equal(pread(fd, saved, (size_t)st.st_size, 0), st.st_size);
    close(fd);

    /* Into another store. */
    char root2[80];
    snprintf(root2, sizeof(root2), "%s/second", f->root);
    struct layerstore *ls2 = layerstore_open(root2, &err);
    assert_non_null(ls2);
    struct image **back;
    size_t nb;
    assert_int_equal(docker_archive_read(saved, (size_t)st.st_size, ls2, &back, &nb, &stored, &err),
                     0);
    assert_int_equal(nb, 1);
    assert_string_equal(back[0]->id, imgs[0]->id);
    assert_string_equal(back[0]->tags[0], "docker.io/library/busybox:1");
    assert_null(back[0]->tags[1]);
    assert_int_equal(back[0]->size, imgs[0]->size);
    strv_free(stored);
    free_images(back, nb);
    layerstore_free(ls2);

    /* dockerd's members: manifest.json, repositories, <id>.json, <dir>/{VERSION,json,layer.tar}. */
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, saved, (size_t)st.st_size), ARCHIVE_OK);
    struct archive_entry *e;
    int versions = 0, layer_tars = 0, configs = 0, manifests = 0, repositories = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        const char *slash = strchr(p, '/');
        versions += slash && strcmp(slash, "/VERSION") == 0;
        layer_tars += slash && strcmp(slash, "/layer.tar") == 0;
        configs += strcmp(p, cfg_name) == 0;
        manifests += strcmp(p, "manifest.json") == 0;
        repositories += strcmp(p, "repositories") == 0;
    }
    archive_read_free(a);
    assert_int_equal(versions, 2);
    assert_int_equal(layer_tars, 2);
    assert_int_equal(configs, 1);
    assert_int_equal(manifests, 1);
    assert_int_equal(repositories, 1);
    free(saved);

    /* An image whose layers are gone cannot be saved. */
    assert_int_equal(layerstore_remove(f->ls, f->d2, &err), 0);
    fd = open(path, O_RDWR | O_TRUNC | O_CLOEXEC);
    assert_int_equal(docker_archive_write(f->ls, items, 1, fd, &err), -1);
    assert_int_equal(err->kind, ERR_NOT_FOUND);
    err_clear(&err);
    close(fd);
    free_images(imgs, n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_images_and_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_layer_symlink_and_compressed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hard_linked_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_broken_archives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_id_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oci_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
