/* tarfs: archives in and out of a root, and every way an archive tries to get out of it. */
#include "../cmocka_prelude.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/strv.h"
#include "base/xalloc.h"
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
    uid_t uid;
    gid_t gid;
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
        archive_entry_set_uid(e, ents[i].uid);
        archive_entry_set_gid(e, ents[i].gid);
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

/* One line per entry of the archive in fd: "name uid:gid perm" then " size" (non-empty
 * files), " ->target" (symlinks), " =>target" (hard links), " u=name g=name" (names set). */
static char **
describe(int fd)
{
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK);
    char **out = xcalloc(1, sizeof(char *));
    struct archive_entry *e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        char line[1024];
        int n = snprintf(line, sizeof(line), "%s %ld:%ld %04o", archive_entry_pathname(e),
                         (long)archive_entry_uid(e), (long)archive_entry_gid(e),
                         (unsigned)archive_entry_perm(e));
        if (archive_entry_size(e) > 0)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " %lld",
                          (long long)archive_entry_size(e));
        if (archive_entry_symlink(e))
            n += snprintf(line + n, sizeof(line) - (size_t)n, " ->%s", archive_entry_symlink(e));
        if (archive_entry_hardlink(e))
            n += snprintf(line + n, sizeof(line) - (size_t)n, " =>%s", archive_entry_hardlink(e));
        const char *u = archive_entry_uname(e), *g = archive_entry_gname(e);
        if ((u && *u) || (g && *g))
            snprintf(line + n, sizeof(line) - (size_t)n, " u=%s g=%s", u ? u : "", g ? g : "");
        /* whole seconds, no atime or ctime, as dockerd */
        assert_int_equal(archive_entry_mtime_nsec(e), 0);
        assert_false(archive_entry_atime_is_set(e));
        assert_false(archive_entry_ctime_is_set(e));
        out = strv_append(out, line);
    }
    archive_read_free(a);
    return out;
}

static int
tmpfile_fd(void)
{
    int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    return fd;
}

/* The entries of tarfs_create(dir, path) (tarfs_export when path is NULL). */
static char **
created(const char *dir, const char *path)
{
    int fd = tmpfile_fd();
    struct err *err = NULL;
    int rc = path ? tarfs_create(dir, path, fd, &err) : tarfs_export(dir, fd, &err);
    if (rc < 0)
        fail_msg("archive %s: %s", path ? path : "(export)", err->msg);
    char **v = describe(fd);
    close(fd);
    return v;
}

static int
extract(const struct ent *ents, size_t n, const char *path, struct err **err)
{
    size_t len;
    void *t = tar_of(ents, n, &len);
    int rc = tarfs_extract(root, path, t, len, false, NULL, err);
    free(t);
    return rc;
}

static void
test_round_trip_and_stat(void **state)
{
    (void)state;
    struct ent ents[] = {{"d", AE_IFDIR, NULL, NULL, 0755, 0, 0},
                         {"d/f.txt", AE_IFREG, "hello", NULL, 04755, 0, 0},
                         {"d/link", AE_IFLNK, NULL, "f.txt", 0777, 0, 0}};
    assert_int_equal(extract(ents, 3, "/", NULL), 0);
    struct tarfs_stat st;
    assert_int_equal(tarfs_stat(root, "/d/f.txt", &st, NULL), 0);
    assert_string_equal(st.name, "f.txt");
    assert_int_equal(st.size, 5);
    assert_int_equal(st.mode, (1u << 23) | 0755); /* setuid kept, as dockerd */
    assert_int_equal(tarfs_stat(root, "/d", &st, NULL), 0);
    assert_int_equal(st.mode, (1u << 31) | 0755);
    assert_int_equal(tarfs_stat(root, "/d/link", &st, NULL), 0);
    assert_int_equal(st.mode & (1u << 27), 1u << 27);
    assert_string_equal(st.link_target, "f.txt");
    char **names = created(root, "/d");
    assert_int_equal(strv_len(names), 3);
    assert_string_equal(names[0], "d/ 0:0 0755");
    assert_string_equal(names[1], "d/f.txt 0:0 4755 5");
    assert_string_equal(names[2], "d/link 0:0 0777 ->f.txt");
    strv_free(names);
    struct err *err = NULL;
    assert_int_equal(tarfs_stat(root, "/nope", &st, &err), -1);
    assert_int_equal(err->kind, ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(extract(ents, 1, "/d/f.txt", &err), -1); /* not a directory */
    assert_int_equal(err->kind, ERR_INTERNAL);
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
    struct ent dotdot[] = {{"../outside/x", AE_IFREG, "x", NULL, 0, 0, 0}};
    expect_refused(dotdot, 1, "/");
    struct ent absolute[] = {{"/tmp/abs-escape", AE_IFREG, "x", NULL, 0, 0, 0}};
    expect_refused(absolute, 1, "/");
    /* A symlink to the outside, then a file written through it. */
    char target[128];
    snprintf(target, sizeof(target), "%s", outside);
    struct ent via_link[] = {{"esc", AE_IFLNK, NULL, target, 0777, 0, 0},
                             {"esc/pwned", AE_IFREG, "x", NULL, 0, 0, 0}};
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
    struct ent hard[] = {{"hl", AE_IFLNK, NULL, "../outside/x", 0, 0, 0}};
    expect_refused(hard, 1, "/");
    struct ent dev[] = {{"null", AE_IFCHR, NULL, NULL, 0666, 0, 0}};
    expect_refused(dev, 1, "/");
    assert_true(outside_is_empty());
    /* A destination path that climbs out resolves inside the root instead. */
    struct ent plain[] = {{"in.txt", AE_IFREG, "x", NULL, 0, 0, 0}};
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
    struct ent dir[] = {{"kind", AE_IFDIR, NULL, NULL, 0755, 0, 0}};
    assert_int_equal(extract(dir, 1, "/", NULL), 0);
    struct ent file[] = {{"kind", AE_IFREG, "x", NULL, 0, 0, 0}};
    size_t len;
    void *t = tar_of(file, 1, &len);
    struct err *err = NULL;
    assert_int_equal(tarfs_extract(root, "/", t, len, true, NULL, &err), -1);
    assert_int_equal(err->kind, ERR_INTERNAL);
    assert_non_null(strstr(err->msg, "cannot overwrite directory"));
    err_clear(&err);
    assert_int_equal(tarfs_extract(root, "/", t, len, false, NULL, NULL), 0); /* replaced */
    free(t);
}

static void
expect_owner(const char *rel, uid_t uid, gid_t gid, mode_t perm)
{
    char full[256];
    snprintf(full, sizeof(full), "%s/%s", root, rel);
    struct stat st;
    assert_int_equal(lstat(full, &st), 0);
    assert_int_equal(st.st_uid, uid);
    assert_int_equal(st.st_gid, gid);
    if (perm != 0)
        assert_int_equal(st.st_mode & 07777, perm);
}

static void
test_extract_keeps_owners_and_setuid(void **state)
{
    (void)state;
    struct ent ents[] = {{"own", AE_IFDIR, NULL, NULL, 02750, 5, 6},
                         {"own/f", AE_IFREG, "x", NULL, 0640, 1234, 2345},
                         {"own/su", AE_IFREG, "x", NULL, 04755, 0, 0},
                         {"own/sg", AE_IFREG, "x", NULL, 06711, 77, 0},
                         {"own/l", AE_IFLNK, NULL, "f", 0777, 1234, 2345}};
    assert_int_equal(extract(ents, 5, "/", NULL), 0);
    expect_owner("own", 5, 6, 02750);
    expect_owner("own/f", 1234, 2345, 0640);
    expect_owner("own/su", 0, 0, 04755);
    expect_owner("own/sg", 77, 0, 06711);
    expect_owner("own/l", 1234, 2345, 0);
}

static void
test_extract_forced_owner(void **state)
{
    (void)state;
    struct ent ents[] = {{"forced", AE_IFDIR, NULL, NULL, 0755, 5, 6},
                         {"forced/f", AE_IFREG, "x", NULL, 0644, 1234, 2345},
                         {"forced/l", AE_IFLNK, NULL, "f", 0777, 0, 0}};
    size_t len;
    void *t = tar_of(ents, 3, &len);
    struct tarfs_owner owner = {.uid = 1000, .gid = 1001};
    assert_int_equal(tarfs_extract(root, "/", t, len, false, &owner, NULL), 0);
    free(t);
    expect_owner("forced", 1000, 1001, 0755);
    expect_owner("forced/f", 1000, 1001, 0644);
    expect_owner("forced/l", 1000, 1001, 0);
}

static void
write_file(const char *rel, const char *text, uid_t uid, gid_t gid, mode_t mode)
{
    char full[256];
    snprintf(full, sizeof(full), "%s/%s", root, rel);
    int fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chown(full, uid, gid), 0);
    assert_int_equal(chmod(full, mode), 0);
}

static void
test_create_owners_names_order_links(void **state)
{
    (void)state;
    char p[256];
    snprintf(p, sizeof(p), "%s/etc", root);
    assert_int_equal(mkdir(p, 0755), 0);
    /* The root's own user names, the first line winning; not the host's. */
    write_file("etc/passwd",
               "root:x:0:0::/root:/bin/sh\nbad line\napp:x:1000:1000::/:/bin/sh\n"
               "dup:x:1000:1::/:/bin/sh\n",
               0, 0, 0644);
    write_file("etc/group", "root:x:0:\nstaff:x:2345:\n", 0, 0, 0644);
    snprintf(p, sizeof(p), "%s/t", root);
    assert_int_equal(mkdir(p, 0755), 0);
    write_file("t/b", "bb", 1000, 2345, 04750);
    write_file("t/a", "a", 1234, 0, 0600);
    snprintf(p, sizeof(p), "%s/t/a", root);
    char q[256];
    snprintf(q, sizeof(q), "%s/t/c-hard", root);
    assert_int_equal(link(p, q), 0);
    snprintf(q, sizeof(q), "%s/t/fifo", root);
    assert_int_equal(mkfifo(q, 0600), 0); /* archived, never opened (that would block) */
    snprintf(q, sizeof(q), "%s/t/sym", root);
    assert_int_equal(symlink("/etc/passwd", q), 0);
    assert_int_equal(lchown(q, 1000, 1000), 0);

    char **v = created(root, "/t");
    assert_int_equal(strv_len(v), 6);
    assert_string_equal(v[0], "t/ 0:0 0755 u=root g=root");
    assert_string_equal(v[1], "t/a 1234:0 0600 1 u= g=root");
    assert_string_equal(v[2], "t/b 1000:2345 4750 2 u=app g=staff");
    assert_string_equal(v[3], "t/c-hard 1234:0 0600 =>t/a u= g=root");
    assert_string_equal(v[4], "t/fifo 0:0 0600 u=root g=root");
    assert_string_equal(v[5], "t/sym 1000:1000 0777 ->/etc/passwd u=app g=");
    strv_free(v);

    /* Docker's names for the top entry. */
    v = created(root, "/t/.");
    assert_string_equal(v[0], "./ 0:0 0755 u=root g=root");
    assert_string_equal(v[1], "./a 1234:0 0600 1 u= g=root");
    strv_free(v);
    v = created(root, "/etc/../t/");
    assert_string_equal(v[0], "t/ 0:0 0755 u=root g=root");
    strv_free(v);
    v = created(root, "/t/sym"); /* the link itself */
    assert_int_equal(strv_len(v), 1);
    assert_string_equal(v[0], "sym 1000:1000 0777 ->/etc/passwd u=app g=");
    strv_free(v);
    v = created(root, "/");
    assert_string_equal(v[0], "/ 0:0 0755 u=root g=root");
    assert_string_equal(v[1], "/d/ 0:0 0755 u=root g=root"); /* from the first test */
    strv_free(v);
    struct err *err = NULL;
    int fd = tmpfile_fd();
    assert_int_equal(tarfs_create(root, "/nope", fd, &err), -1);
    assert_int_equal(err->kind, ERR_NOT_FOUND);
    err_clear(&err);
    close(fd);
}

static void
test_export_names(void **state)
{
    (void)state;
    char p[256];
    snprintf(p, sizeof(p), "%s/x", root);
    assert_int_equal(mkdir(p, 0700), 0);
    write_file("x/y", "yy", 0, 0, 0644);
    write_file(".dockerenv", "", 0, 0, 0755);
    char **v = created(root, NULL); /* names from the etc/ of the test before */
    /* no entry for the root, names relative to it, bytewise order */
    assert_string_equal(v[0], ".dockerenv 0:0 0755 u=root g=root");
    bool saw_x = false;
    for (size_t i = 0; v[i] != NULL; i++) {
        assert_true(v[i][0] != '/' && strncmp(v[i], "./", 2) != 0);
        if (strcmp(v[i], "x/ 0:0 0700 u=root g=root") == 0) {
            saw_x = true;
            assert_string_equal(v[i + 1], "x/y 0:0 0644 2 u=root g=root");
        }
    }
    assert_true(saw_x);
    strv_free(v);
}

/* A reader that hands the archive over a few bytes at a time, as a slow upload would, and can
 * fail after fail_at bytes. */
struct trickle {
    const char *data;
    size_t len, off, step, fail_at;
};

static ssize_t
trickle_read(void *ctx, void *buf, size_t len)
{
    struct trickle *t = ctx;
    if (t->off >= t->fail_at) {
        errno = ECONNABORTED;
        return -1;
    }
    size_t n = t->len - t->off;
    if (n > t->step)
        n = t->step;
    if (n > len)
        n = len;
    memcpy(buf, t->data + t->off, n);
    t->off += n;
    return (ssize_t)n;
}

static void
test_extract_streamed(void **state)
{
    (void)state;
    static char big[300000];
    for (size_t i = 0; i < sizeof(big) - 1; i++)
        big[i] = (char)('a' + i % 26);
    struct ent ents[] = {{"s", AE_IFDIR, NULL, NULL, 0755, 0, 0},
                         {"s/big", AE_IFREG, big, NULL, 0644, 0, 0}};
    size_t len;
    char *t = tar_of(ents, 2, &len);
    struct trickle tr = {.data = t, .len = len, .step = 7, .fail_at = SIZE_MAX};
    assert_int_equal(tarfs_extract_from(root, "/", trickle_read, &tr, false, NULL, NULL), 0);
    struct stat st;
    char p[256];
    snprintf(p, sizeof(p), "%s/s/big", root);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, sizeof(big) - 1);

    /* dockerd's texts for an archive cut short and for one that is not a tar (500 there) */
    struct err *err = NULL;
    const struct {
        size_t len;
        const char *msg;
    } cut[] = {{len / 2, "unexpected EOF"}, {300, "unexpected EOF"}};
    for (size_t i = 0; i < 2; i++) {
        tr = (struct trickle){.data = t, .len = cut[i].len, .step = 4096, .fail_at = SIZE_MAX};
        assert_int_equal(tarfs_extract_from(root, "/", trickle_read, &tr, false, NULL, &err), -1);
        assert_int_equal(err->kind, ERR_INTERNAL);
        assert_string_equal(err->msg, "Error processing tar file(exit status 1): unexpected EOF");
        err_clear(&err);
    }
    memset(big, 'x', 20000);
    tr = (struct trickle){.data = big, .len = 20000, .step = 4096, .fail_at = SIZE_MAX};
    assert_int_equal(tarfs_extract_from(root, "/", trickle_read, &tr, false, NULL, &err), -1);
    assert_int_equal(err->kind, ERR_INTERNAL);
    assert_string_equal(
        err->msg, "Error processing tar file(exit status 1): archive/tar: invalid tar header");
    err_clear(&err);
    /* the reader failing (the client left): not the archive's fault */
    tr = (struct trickle){.data = t, .len = len, .step = 4096, .fail_at = 8192};
    assert_int_equal(tarfs_extract_from(root, "/", trickle_read, &tr, false, NULL, &err), -1);
    assert_int_equal(err->kind, ERR_UNAVAILABLE);
    err_clear(&err);
    /* an empty body extracts nothing, as dockerd */
    tr = (struct trickle){.data = t, .len = 0, .step = 1, .fail_at = SIZE_MAX};
    assert_int_equal(tarfs_extract_from(root, "/", trickle_read, &tr, false, NULL, NULL), 0);
    free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_stat),
        cmocka_unit_test(test_extract_streamed),
        cmocka_unit_test(test_escapes_are_refused),
        cmocka_unit_test(test_no_overwrite_dir_non_dir),
        cmocka_unit_test(test_extract_keeps_owners_and_setuid),
        cmocka_unit_test(test_extract_forced_owner),
        cmocka_unit_test(test_create_owners_names_order_links),
        cmocka_unit_test(test_export_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
