/* tarfs: archives in and out of a root, and every way an archive tries to get out of it. */
#include "../cmocka_prelude.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/tarfs.h"

static char base[64], root[96], outside[96];

static int
setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/sockerless-tarfs-XXXXXX");
    if (mkdtemp(base) == NULL)
        return -1;
    snprintf(root, sizeof(root), "%s/root", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    return mkdir(root, 0755) | mkdir(outside, 0755);
}

static int
teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
    return system(cmd);
}

struct ent {
    const char *name;
    mode_t type;
    const char *data;   /* file content */
    const char *target; /* symlink or hardlink target */
    mode_t perm;
};

static void *
tar_of(const struct ent *ents, size_t n, size_t *len)
{
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, buf, cap, len);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, ents[i].name);
        archive_entry_set_perm(e, ents[i].perm ? ents[i].perm : 0644);
        if (ents[i].type == AE_IFLNK && ents[i].target && ents[i].data == NULL &&
            strcmp(ents[i].name, "hl") == 0) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, ents[i].target);
        } else {
            archive_entry_set_filetype(e, ents[i].type);
            if (ents[i].type == AE_IFLNK)
                archive_entry_set_symlink(e, ents[i].target);
            if (ents[i].type == AE_IFCHR)
                archive_entry_set_rdev(e, makedev(1, 3));
        }
        size_t dl = ents[i].data ? strlen(ents[i].data) : 0;
        archive_entry_set_size(e, (la_int64_t)dl);
        archive_write_header(a, e);
        if (dl)
            archive_write_data(a, ents[i].data, dl);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return buf;
}

static int
extract(const struct ent *ents, size_t n, const char *path, struct err **err)
{
    size_t len;
    void *t = tar_of(ents, n, &len);
    int rc = tarfs_extract(root, path, t, len, false, err);
    free(t);
    return rc;
}

static void
test_round_trip_and_stat(void **state)
{
    (void)state;
    struct ent ents[] = {{"d", AE_IFDIR, NULL, NULL, 0755},
                         {"d/f.txt", AE_IFREG, "hello", NULL, 04755},
                         {"d/link", AE_IFLNK, NULL, "f.txt", 0777}};
    assert_int_equal(extract(ents, 3, "/", NULL), 0);
    struct tarfs_stat st;
    assert_int_equal(tarfs_stat(root, "/d/f.txt", &st, NULL), 0);
    assert_string_equal(st.name, "f.txt");
    assert_int_equal(st.size, 5);
    assert_int_equal(st.mode, 0755); /* setuid dropped */
    assert_int_equal(tarfs_stat(root, "/d", &st, NULL), 0);
    assert_int_equal(st.mode, (1u << 31) | 0755);
    assert_int_equal(tarfs_stat(root, "/d/link", &st, NULL), 0);
    assert_int_equal(st.mode & (1u << 27), 1u << 27);
    assert_string_equal(st.link_target, "f.txt");
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(tarfs_create(root, "/d", &out, NULL), 0);
    struct archive *a = archive_read_new();
    archive_read_support_format_all(a);
    archive_read_open_memory(a, out.data, out.len);
    struct archive_entry *e;
    int names = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *n = archive_entry_pathname(e);
        assert_true(strcmp(n, "d") == 0 || strncmp(n, "d/", 2) == 0);
        names++;
    }
    assert_int_equal(names, 3);
    archive_read_free(a);
    buf_fini(&out);
    struct err *err = NULL;
    assert_int_equal(tarfs_stat(root, "/nope", &st, &err), -1);
    assert_int_equal(err->kind, ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(extract(ents, 1, "/d/f.txt", &err), -1); /* not a directory */
    assert_int_equal(err->kind, ERR_INVALID);
    err_clear(&err);
}

static void
expect_refused(const struct ent *ents, size_t n, const char *path)
{
    struct err *err = NULL;
    assert_int_equal(extract(ents, n, path, &err), -1);
    assert_non_null(err);
    err_clear(&err);
}

static bool
outside_is_empty(void)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", outside);
    return system(cmd) == 0;
}

static void
test_escapes_are_refused(void **state)
{
    (void)state;
    struct ent dotdot[] = {{"../outside/x", AE_IFREG, "x", NULL, 0}};
    expect_refused(dotdot, 1, "/");
    struct ent absolute[] = {{"/tmp/abs-escape", AE_IFREG, "x", NULL, 0}};
    expect_refused(absolute, 1, "/");
    /* A symlink to the outside, then a file written through it. */
    char target[128];
    snprintf(target, sizeof(target), "%s", outside);
    struct ent via_link[] = {{"esc", AE_IFLNK, NULL, target, 0777},
                             {"esc/pwned", AE_IFREG, "x", NULL, 0}};
    /* Either refused or, as libarchive does with UNLINK, the link is replaced by a directory
     * inside the root: what matters is that nothing lands outside. */
    struct err *lerr = NULL;
    if (extract(via_link, 2, "/", &lerr) < 0)
        err_clear(&lerr);
    char landed[160];
    snprintf(landed, sizeof(landed), "%s/esc/pwned", root);
    struct stat lst;
    assert_true(lstat(landed, &lst) != 0 || S_ISREG(lst.st_mode));
    assert_true(outside_is_empty());
    struct ent hard[] = {{"hl", AE_IFLNK, NULL, "../outside/x", 0}};
    expect_refused(hard, 1, "/");
    struct ent dev[] = {{"null", AE_IFCHR, NULL, NULL, 0666}};
    expect_refused(dev, 1, "/");
    assert_true(outside_is_empty());
    /* A destination path that climbs out resolves inside the root instead. */
    struct ent plain[] = {{"in.txt", AE_IFREG, "x", NULL, 0}};
    assert_int_equal(extract(plain, 1, "/../../..", NULL), 0);
    char inside[160];
    snprintf(inside, sizeof(inside), "%s/in.txt", root);
    assert_int_equal(access(inside, F_OK), 0);
    /* A symlink in the root pointing at the host's / is resolved inside the root. */
    char link[160];
    snprintf(link, sizeof(link), "%s/hostroot", root);
    assert_int_equal(symlink("/", link), 0);
    struct tarfs_stat st;
    assert_int_equal(tarfs_stat(root, "/hostroot/in.txt", &st, NULL), 0); /* root's own file */
    struct err *err = NULL;
    assert_int_equal(tarfs_stat(root, "/hostroot/etc/passwd", &st, &err), -1);
    err_clear(&err);
    assert_true(outside_is_empty());
}

static void
test_no_overwrite_dir_non_dir(void **state)
{
    (void)state;
    struct ent dir[] = {{"kind", AE_IFDIR, NULL, NULL, 0755}};
    assert_int_equal(extract(dir, 1, "/", NULL), 0);
    struct ent file[] = {{"kind", AE_IFREG, "x", NULL, 0}};
    size_t len;
    void *t = tar_of(file, 1, &len);
    struct err *err = NULL;
    assert_int_equal(tarfs_extract(root, "/", t, len, true, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    assert_non_null(strstr(err->msg, "cannot overwrite directory"));
    err_clear(&err);
    assert_int_equal(tarfs_extract(root, "/", t, len, false, NULL), 0); /* replaced */
    free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_stat),
        cmocka_unit_test(test_escapes_are_refused),
        cmocka_unit_test(test_no_overwrite_dir_non_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
