#include "../cmocka_prelude.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "image/layerstore.h"

/* One tar entry to write: type AE_IFREG (data), AE_IFDIR, AE_IFLNK (link = target),
 * AE_IFCHR (rdev), or a hard link (hard = target). */
struct ent {
    const char *path;
    mode_t type;
    const char *data;
    const char *link;
    const char *hard;
    mode_t perm;
    int uid;
    dev_t rdev;
    const char *xattr_name;
};

static char *
make_tar_filtered(const struct ent *ents, size_t n, int filter, size_t *len)
{
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (filter == ARCHIVE_FILTER_GZIP)
        archive_write_add_filter_gzip(a);
    else if (filter == ARCHIVE_FILTER_ZSTD)
        archive_write_add_filter_zstd(a);
    assert_int_equal(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, ents[i].path);
        archive_entry_set_perm(e, ents[i].perm ? ents[i].perm : 0644);
        archive_entry_set_uid(e, ents[i].uid);
        archive_entry_set_gid(e, ents[i].uid);
        archive_entry_set_mtime(e, 1704067200, 0);
        if (ents[i].hard != NULL) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, ents[i].hard);
            archive_entry_set_size(e, 0);
        } else {
            archive_entry_set_filetype(e, ents[i].type);
            if (ents[i].type == AE_IFLNK)
                archive_entry_set_symlink(e, ents[i].link);
            if (ents[i].type == AE_IFCHR)
                archive_entry_set_rdev(e, ents[i].rdev);
            if (ents[i].type == AE_IFREG)
                archive_entry_set_size(e, (la_int64_t)strlen(ents[i].data ? ents[i].data : ""));
        }
        if (ents[i].xattr_name != NULL)
            archive_entry_xattr_add_entry(e, ents[i].xattr_name, "v", 1);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (ents[i].type == AE_IFREG && ents[i].hard == NULL && ents[i].data != NULL)
            archive_write_data(a, ents[i].data, strlen(ents[i].data));
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return buf;
}

static char *
make_tar(const struct ent *ents, size_t n, size_t *len)
{
    return make_tar_filtered(ents, n, ARCHIVE_FILTER_NONE, len);
}

struct fixture {
    char root[64];
    struct layerstore *ls;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/sockerless-layerstore-XXXXXX");
    if (mkdtemp(f->root) == NULL)
        return -1;
    struct err *err = NULL;
    f->ls = layerstore_open(f->root, &err);
    if (f->ls == NULL)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    layerstore_free(f->ls);
    fsutil_remove_tree(f->root, NULL);
    free(f);
    return 0;
}

/* The number of entries in <root>/image/<sub>. */
static int
count_entries(const struct fixture *f, const char *sub)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/image/%s", f->root, sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static char *
in_diff(struct layerstore *ls, const char *diff_id, const char *rel)
{
    char *dir = layerstore_diff_dir(ls, diff_id);
    char *p = xasprintf("%s/%s", dir, rel);
    free(dir);
    return p;
}

static const struct ent plain_layer[] = {
    {.path = "./", .type = AE_IFDIR, .perm = 0755},
    {.path = "bin/", .type = AE_IFDIR, .perm = 0755},
    {.path = "bin/hello",
     .type = AE_IFREG,
     .data = "hello world\n",
     .perm = 04755,
     .uid = 1000,
     .xattr_name = "user.test"},
    {.path = "bin/sh", .type = AE_IFLNK, .link = "hello", .perm = 0777},
    {.path = "bin/hl", .type = AE_IFREG, .hard = "bin/hello"},
    {.path = "dev/", .type = AE_IFDIR, .perm = 0755},
    {.path = "dev/null", .type = AE_IFCHR, .perm = 0666},
    {.path = "abs-link", .type = AE_IFLNK, .link = "/etc/passwd", .perm = 0777},
};

static void
test_plain_layer(void **state)
{
    struct fixture *f = *state;
    struct ent ents[sizeof(plain_layer) / sizeof(plain_layer[0])];
    memcpy(ents, plain_layer, sizeof(ents));
    ents[6].rdev = makedev(1, 3);
    size_t len;
    char *tar = make_tar(ents, sizeof(ents) / sizeof(ents[0]), &len);
    char want[DIGEST_LEN + 1];
    digest_sha256(tar, len, want);
    char diff_id[72];
    int64_t size = -1;
    struct err *err = NULL;
    assert_int_equal(layerstore_add_mem(f->ls, tar, len, diff_id, &size, &err), 0);
    assert_string_equal(diff_id, want);
    /* dockerd's overlay2 size: file sizes and symlink target lengths, each inode once. */
    assert_int_equal(size, 12 + 5 + 11);
    assert_int_equal(layerstore_size(f->ls, diff_id), size);
    assert_true(layerstore_has(f->ls, diff_id));

    struct stat st;
    char *p = in_diff(f->ls, diff_id, "bin/hello");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_size, 12);
    assert_int_equal(st.st_nlink, 2);
    char v[8];
    assert_int_equal(lgetxattr(p, "user.test", v, sizeof(v)), 1);
    ino_t ino = st.st_ino;
    free(p);
    p = in_diff(f->ls, diff_id, "bin/hl");
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_ino, ino);
    free(p);
    p = in_diff(f->ls, diff_id, "bin/sh");
    char target[64] = {0};
    assert_int_equal(readlink(p, target, sizeof(target) - 1), 5);
    assert_string_equal(target, "hello");
    free(p);
    p = in_diff(f->ls, diff_id, "abs-link");
    memset(target, 0, sizeof(target));
    assert_int_equal(readlink(p, target, sizeof(target) - 1), 11);
    assert_string_equal(target, "/etc/passwd");
    free(p);
    p = in_diff(f->ls, diff_id, "dev/null");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(major(st.st_rdev), 1);
    assert_int_equal(minor(st.st_rdev), 3);
    free(p);

    /* The stored tar is the uncompressed input, byte for byte. */
    char *tp = layerstore_tar_path(f->ls, diff_id);
    assert_int_equal(stat(tp, &st), 0);
    assert_int_equal((size_t)st.st_size, len);
    free(tp);
    assert_int_equal(count_entries(f, "tmp"), 0);
    free(tar);
}

static void
test_compressed_and_repeated(void **state)
{
    struct fixture *f = *state;
    const struct ent ents[] = {{.path = "a", .type = AE_IFREG, .data = "abc"},
                               {.path = "d/", .type = AE_IFDIR, .perm = 0700}};
    size_t plen, glen, zlen;
    char *plain = make_tar(ents, 2, &plen);
    char *gz = make_tar_filtered(ents, 2, ARCHIVE_FILTER_GZIP, &glen);
    char *zst = make_tar_filtered(ents, 2, ARCHIVE_FILTER_ZSTD, &zlen);
    assert_true(glen != plen);
    char d1[72], d2[72], d3[72], d4[72];
    int64_t s1, s2;
    struct err *err = NULL;
    assert_int_equal(layerstore_add_mem(f->ls, gz, glen, d1, &s1, &err), 0);
    assert_int_equal(layerstore_add_mem(f->ls, plain, plen, d2, &s2, &err), 0);
    assert_int_equal(layerstore_add_mem(f->ls, zst, zlen, d3, NULL, &err), 0);
    /* The diff ID is the uncompressed tar's digest, whatever the transport compression. */
    assert_string_equal(d1, d2);
    assert_string_equal(d1, d3);
    assert_int_equal(s1, 3);
    assert_int_equal(s2, 3);
    /* The same from a file descriptor: still one layer. */
    char path[128];
    snprintf(path, sizeof(path), "%s/layer.tgz", f->root);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(write(fd, gz, glen), (ssize_t)glen);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(layerstore_add_fd(f->ls, fd, d4, NULL, &err), 0);
    close(fd);
    assert_string_equal(d4, d1);
    assert_int_equal(count_entries(f, "layers"), 1);
    assert_int_equal(count_entries(f, "tmp"), 0);
    free(plain);
    free(gz);
    free(zst);
}

struct mem_reader {
    const char *data;
    size_t len, off;
};

static ssize_t
mem_read(void *ctx, void *buf, size_t len)
{
    struct mem_reader *r = ctx;
    size_t n = r->len - r->off < 7 ? r->len - r->off : 7; /* small pieces on purpose */
    n = n < len ? n : len;
    memcpy(buf, r->data + r->off, n);
    r->off += n;
    return (ssize_t)n;
}

static void
test_stream(void **state)
{
    struct fixture *f = *state;
    const struct ent ents[] = {{.path = "x/y", .type = AE_IFREG, .data = "0123456789"}};
    size_t len;
    char *tar = make_tar_filtered(ents, 1, ARCHIVE_FILTER_GZIP, &len);
    struct mem_reader r = {.data = tar, .len = len};
    char d[72];
    int64_t size;
    struct err *err = NULL;
    assert_int_equal(layerstore_add_stream(f->ls, mem_read, &r, d, &size, &err), 0);
    assert_int_equal(size, 10);
    char *p = in_diff(f->ls, d, "x/y");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    free(p);
    free(tar);
}

static void
test_whiteouts(void **state)
{
    struct fixture *f = *state;
    const struct ent ents[] = {
        {.path = "etc/", .type = AE_IFDIR, .perm = 0755},
        {.path = "etc/.wh.gone", .type = AE_IFREG, .data = "", .uid = 7},
        {.path = ".wh.top", .type = AE_IFREG, .data = ""},
        {.path = "opq/", .type = AE_IFDIR, .perm = 0755},
        {.path = "opq/.wh..wh..opq", .type = AE_IFREG, .data = ""},
        {.path = "opq/kept", .type = AE_IFREG, .data = "k"},
        {.path = ".wh..wh.plnk/", .type = AE_IFDIR, .perm = 0700},
        {.path = ".wh..wh.plnk/123", .type = AE_IFREG, .data = "aufs"},
        {.path = "forged", .type = AE_IFDIR, .perm = 0755, .xattr_name = "trusted.overlay.opaque"},
    };
    size_t len;
    char *tar = make_tar(ents, sizeof(ents) / sizeof(ents[0]), &len);
    char d[72];
    int64_t size;
    struct err *err = NULL;
    assert_int_equal(layerstore_add_mem(f->ls, tar, len, d, &size, &err), 0);
    assert_int_equal(size, 1);
    struct stat st;
    const char *wh[] = {"etc/gone", "top"};
    for (size_t i = 0; i < 2; i++) {
        char *p = in_diff(f->ls, d, wh[i]);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        free(p);
    }
    char *p = in_diff(f->ls, d, "etc/gone");
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_uid, 7);
    free(p);
    p = in_diff(f->ls, d, "etc/.wh.gone");
    assert_int_equal(lstat(p, &st), -1);
    free(p);
    char v[4] = {0};
    p = in_diff(f->ls, d, "opq");
    assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
    assert_int_equal(v[0], 'y');
    free(p);
    p = in_diff(f->ls, d, "opq/.wh..wh..opq");
    assert_int_equal(lstat(p, &st), -1);
    free(p);
    p = in_diff(f->ls, d, ".wh..wh.plnk");
    assert_int_equal(lstat(p, &st), -1);
    free(p);
    /* A layer cannot forge overlayfs' own attributes. */
    p = in_diff(f->ls, d, "forged");
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), -1);
    free(p);
    free(tar);
}

static void
expect_refused(struct fixture *f, const struct ent *ents, size_t n)
{
    size_t len;
    char *tar = make_tar(ents, n, &len);
    char d[72];
    struct err *err = NULL;
    assert_int_equal(layerstore_add_mem(f->ls, tar, len, d, NULL, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->kind, ERR_INVALID);
    err_clear(&err);
    /* Nothing half-built stays behind, nothing appears in the store. */
    assert_int_equal(count_entries(f, "tmp"), 0);
    assert_int_equal(count_entries(f, "layers"), 0);
    free(tar);
}

static void
test_escapes(void **state)
{
    struct fixture *f = *state;
    char outside[128], victim[160];
    snprintf(outside, sizeof(outside), "%s/outside", f->root);
    assert_int_equal(mkdir(outside, 0755), 0);
    snprintf(victim, sizeof(victim), "%s/victim", outside);
    struct stat st;

    const struct ent dotdot[] = {
        {.path = "../../../../outside/victim", .type = AE_IFREG, .data = "x"}};
    expect_refused(f, dotdot, 1);
    const struct ent inner_dotdot[] = {{.path = "a/../../x", .type = AE_IFREG, .data = "x"}};
    expect_refused(f, inner_dotdot, 1);
    char abs_path[200];
    snprintf(abs_path, sizeof(abs_path), "%s", victim);
    const struct ent absolute[] = {{.path = abs_path, .type = AE_IFREG, .data = "x"}};
    expect_refused(f, absolute, 1);
    /* A symlink to a directory outside, then a file through it. */
    const struct ent through[] = {{.path = "l", .type = AE_IFLNK, .link = outside, .perm = 0777},
                                  {.path = "l/victim", .type = AE_IFREG, .data = "x"}};
    expect_refused(f, through, 2);
    const struct ent rel_through[] = {
        {.path = "l", .type = AE_IFLNK, .link = "../../../../outside", .perm = 0777},
        {.path = "l/victim", .type = AE_IFREG, .data = "x"}};
    expect_refused(f, rel_through, 2);
    const struct ent hard_out[] = {{.path = "h", .type = AE_IFREG, .hard = "../../outside/x"}};
    expect_refused(f, hard_out, 1);
    const struct ent hard_through[] = {
        {.path = "l", .type = AE_IFLNK, .link = outside, .perm = 0777},
        {.path = "h", .type = AE_IFREG, .hard = "l/victim"}};
    expect_refused(f, hard_through, 2);
    char long_name[5000];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    const struct ent too_long[] = {{.path = long_name, .type = AE_IFREG, .data = "x"}};
    expect_refused(f, too_long, 1);
    const struct ent bad_whiteout[] = {{.path = "d/.wh.", .type = AE_IFREG, .data = ""}};
    expect_refused(f, bad_whiteout, 1);
    assert_int_equal(lstat(victim, &st), -1);

    /* Not a tar at all. */
    char d[72];
    struct err *err = NULL;
    assert_int_equal(layerstore_add_mem(f->ls, "this is not a tar archive", 25, d, NULL, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    err_clear(&err);
    assert_int_equal(layerstore_add_mem(f->ls, "", 0, d, NULL, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    err_clear(&err);
    assert_int_equal(count_entries(f, "tmp"), 0);
}

static void
test_remove(void **state)
{
    struct fixture *f = *state;
    const struct ent ents[] = {{.path = "ro/", .type = AE_IFDIR, .perm = 0555},
                               {.path = "ro/f", .type = AE_IFREG, .data = "f", .perm = 0444}};
    size_t len;
    char *tar = make_tar(ents, 2, &len);
    char d[72];
    struct err *err = NULL;
    assert_int_equal(layerstore_add_mem(f->ls, tar, len, d, NULL, &err), 0);
    assert_true(layerstore_has(f->ls, d));
    assert_int_equal(layerstore_unlink(f->ls, d, &err), 0);
    assert_false(layerstore_has(f->ls, d));
    assert_int_equal(layerstore_size(f->ls, d), -1);
    assert_int_equal(count_entries(f, "trash"), 1);
    layerstore_purge(f->ls);
    assert_int_equal(count_entries(f, "trash"), 0);
    /* Again through layerstore_remove; an absent layer is fine. */
    assert_int_equal(layerstore_add_mem(f->ls, tar, len, d, NULL, &err), 0);
    assert_int_equal(layerstore_remove(f->ls, d, &err), 0);
    assert_int_equal(layerstore_remove(f->ls, d, &err), 0);
    assert_int_equal(count_entries(f, "layers"), 0);
    assert_int_equal(count_entries(f, "trash"), 0);
    /* Malformed IDs name no path. */
    assert_false(layerstore_has(f->ls, "sha256:../../etc"));
    assert_null(layerstore_diff_dir(f->ls, "sha256:../../../../../../../../../../../../etc/x"));
    assert_null(layerstore_tar_path(f->ls, "md5:abc"));
    free(tar);
}

static void
test_configs(void **state)
{
    struct fixture *f = *state;
    const char blob[] = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
    char want[DIGEST_LEN + 1];
    digest_sha256(blob, strlen(blob), want);
    char id[72];
    struct err *err = NULL;
    assert_int_equal(layerstore_put_config(f->ls, blob, strlen(blob), id, &err), 0);
    assert_string_equal(id, want);
    assert_int_equal(layerstore_put_config(f->ls, blob, strlen(blob), id, &err), 0);
    size_t len = 0;
    char *got = layerstore_get_config(f->ls, id, &len, &err);
    assert_non_null(got);
    assert_int_equal(len, strlen(blob));
    assert_memory_equal(got, blob, len);
    free(got);
    layerstore_remove_config(f->ls, id);
    assert_null(layerstore_get_config(f->ls, id, &len, &err));
    assert_int_equal(err->kind, ERR_NOT_FOUND);
    err_clear(&err);
    assert_null(layerstore_get_config(f->ls, "sha256:../../../etc/passwd", &len, &err));
    assert_int_equal(err->kind, ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(count_entries(f, "tmp"), 0);
}

int
main(void)
{
    if (geteuid() != 0) {
        /* Owners, devices and trusted.* xattrs need root, as the daemon has. */
        fprintf(stderr, "test_layerstore: skipped (not root)\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed_and_repeated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
