/* driver/rootfs: copy and overlay roots from layer directories, docker diff, the commit tar and
 * the busybox base layer, on real directories under /tmp. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xalloc.h"
#include "driver/rootfs.h"

#include "../cmocka_prelude.h"

/* ---- fixture helpers ---- */

static char *
fmt_path(const char *base, const char *rel)
{
    return xasprintf("%s/%s", base, rel);
}

static void
put_file(const char *base, const char *rel, const char *content, mode_t mode)
{
    char *p = fmt_path(base, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
    free(p);
}

static void
put_dir(const char *base, const char *rel, mode_t mode)
{
    char *p = fmt_path(base, rel);
    assert_int_equal(mkdir(p, mode), 0);
    assert_int_equal(chmod(p, mode), 0);
    free(p);
}

static void
put_whiteout(const char *base, const char *rel)
{
    char *p = fmt_path(base, rel);
    assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
    free(p);
}

static bool
put_opaque(const char *base, const char *rel)
{
    char *p = fmt_path(base, rel);
    int rc = lsetxattr(p, "trusted.overlay.opaque", "y", 1, 0);
    free(p);
    return rc == 0;
}

static char *
read_text(const char *base, const char *rel)
{
    char *p = fmt_path(base, rel);
    static char buf[256];
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    free(p);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static bool
exists(const char *base, const char *rel)
{
    char *p = fmt_path(base, rel);
    struct stat st;
    bool ok = lstat(p, &st) == 0;
    free(p);
    return ok;
}

static struct stat
stat_of(const char *base, const char *rel)
{
    char *p = fmt_path(base, rel);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    free(p);
    return st;
}

static void
rm_tree(const char *base, const char *rel)
{
    char *p = fmt_path(base, rel);
    assert_int_equal(fsutil_remove_tree(p, NULL), 0);
    free(p);
}

struct fixture {
    char *dir;       /* the test's temporary directory */
    char *layers[2]; /* base, top */
    char *cdir;
    char *merged;
    bool layers_ok; /* the layers need root: owners, whiteouts, trusted.* xattrs */
};

/*
 * Two layers. base: bin/{sh,vi}, etc/{passwd,group,motd}, data/{a,sub/s}, keep/k (with a user
 * xattr), quiet/q, usr/local/x, hl1 + hard link hl2, lnk -> hl1, a fifo. top: bin/vi deleted,
 * data/ opaque with data/new, etc/motd changed.
 */
static void
make_layers(struct fixture *f)
{
    const char *l0 = f->layers[0], *l1 = f->layers[1];
    put_dir(f->dir, "l0", 0755);
    put_dir(l0, "bin", 0755);
    put_file(l0, "bin/sh", "sh", 0755);
    put_file(l0, "bin/vi", "vi", 0755);
    put_dir(l0, "etc", 0755);
    put_file(l0, "etc/passwd", "root\n", 0644);
    put_file(l0, "etc/group", "g\n", 0644);
    put_file(l0, "etc/motd", "m\n", 0644);
    put_dir(l0, "data", 0755);
    put_file(l0, "data/a", "a", 0644);
    put_dir(l0, "data/sub", 0750);
    put_file(l0, "data/sub/s", "s", 0600);
    put_dir(l0, "keep", 0755);
    put_file(l0, "keep/k", "k", 0644);
    char *k = fmt_path(l0, "keep/k");
    assert_int_equal(lsetxattr(k, "user.test", "v", 1, 0), 0);
    assert_int_equal(lchown(k, 1000, 1000), 0);
    free(k);
    put_dir(l0, "quiet", 0755);
    put_file(l0, "quiet/q", "q", 0644);
    put_dir(l0, "usr", 0755);
    put_dir(l0, "usr/local", 0755);
    put_file(l0, "usr/local/x", "x", 0644);
    put_file(l0, "hl1", "h", 0644);
    char *h1 = fmt_path(l0, "hl1"), *h2 = fmt_path(l0, "hl2"), *ln = fmt_path(l0, "lnk");
    char *fifo = fmt_path(l0, "fifo");
    assert_int_equal(link(h1, h2), 0);
    assert_int_equal(symlink("hl1", ln), 0);
    assert_int_equal(mkfifo(fifo, 0640), 0);
    free(h1), free(h2), free(ln), free(fifo);

    put_dir(f->dir, "l1", 0755);
    put_dir(l1, "bin", 0755);
    put_whiteout(l1, "bin/vi");
    put_dir(l1, "data", 0755);
    assert_true(put_opaque(l1, "data"));
    put_file(l1, "data/new", "n", 0644);
    put_dir(l1, "etc", 0755);
    put_file(l1, "etc/motd", "m2\n", 0644);
    f->layers_ok = true;
}

static int
fixture_setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->dir = xstrdup("/tmp/rootfs-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->layers[0] = fmt_path(f->dir, "l0");
    f->layers[1] = fmt_path(f->dir, "l1");
    f->cdir = fmt_path(f->dir, "c");
    f->merged = fmt_path(f->cdir, "merged");
    if (geteuid() == 0)
        make_layers(f);
    *state = f;
    return 0;
}

static int
fixture_teardown(void **state)
{
    struct fixture *f = *state;
    rootfs_unmount(ROOTFS_OVERLAY, f->cdir, NULL);
    assert_int_equal(fsutil_remove_tree(f->dir, NULL), 0);
    free(f->dir), free(f->layers[0]), free(f->layers[1]), free(f->cdir), free(f->merged);
    free(f);
    return 0;
}

/* What both modes must show in merged/ after mounting the fixture. */
static void
check_view(const char *m)
{
    assert_string_equal(read_text(m, "bin/sh"), "sh");
    assert_false(exists(m, "bin/vi"));
    assert_string_equal(read_text(m, "data/new"), "n");
    assert_false(exists(m, "data/a"));
    assert_false(exists(m, "data/sub"));
    assert_string_equal(read_text(m, "etc/motd"), "m2\n");
    assert_string_equal(read_text(m, "etc/passwd"), "root\n");
    struct stat k = stat_of(m, "keep/k");
    assert_int_equal(k.st_uid, 1000);
    assert_int_equal(k.st_mode & 07777, 0644);
    struct stat h1 = stat_of(m, "hl1"), h2 = stat_of(m, "hl2");
    assert_int_equal(h1.st_ino, h2.st_ino);
    char target[64] = "";
    char *ln = fmt_path(m, "lnk");
    assert_int_equal(readlink(ln, target, sizeof(target)), 3);
    free(ln);
    assert_memory_equal(target, "hl1", 3);
    assert_true(S_ISFIFO(stat_of(m, "fifo").st_mode));
    assert_int_equal(stat_of(m, "fifo").st_mode & 0777, 0640);
    /* The init layer. */
    assert_true(S_ISREG(stat_of(m, ".dockerenv").st_mode));
    assert_true(S_ISREG(stat_of(m, "etc/hosts").st_mode));
    assert_true(S_ISREG(stat_of(m, "etc/resolv.conf").st_mode));
    assert_true(S_ISLNK(stat_of(m, "etc/mtab").st_mode));
    assert_true(S_ISDIR(stat_of(m, "dev/pts").st_mode));
    assert_true(S_ISDIR(stat_of(m, "proc").st_mode));
}

/* What the container does; both modes see the same changes. */
static void
change_view(const char *m)
{
    char *p = fmt_path(m, "etc/group");
    assert_int_equal(unlink(p), 0); /* D /etc/group */
    free(p);
    put_file(m, "etc/passwd", "root2\n", 0644); /* C /etc/passwd */
    put_dir(m, "newdir", 0755);                 /* A /newdir */
    put_file(m, "newdir/f", "f", 0644);         /* A /newdir/f */
    rm_tree(m, "data");                         /* an opaque directory in upper/ */
    put_dir(m, "data", 0755);
    put_file(m, "data/c", "c", 0644); /* C /data, A /data/c, D /data/new */
    p = fmt_path(m, "bin/sh");
    assert_int_equal(unlink(p), 0); /* C /bin, D /bin/sh */
    free(p);
    p = fmt_path(m, "keep/k");
    assert_int_equal(chmod(p, 0600), 0); /* C /keep, C /keep/k */
    free(p);
    p = fmt_path(m, "usr");
    assert_int_equal(chmod(p, 0700), 0); /* C /usr */
    free(p);
    rm_tree(m, "usr/local"); /* D /usr/local (one entry for the tree) */
    /* Only the directory's mtime changes: dockerd does not report it. */
    put_file(m, "quiet/tmp", "t", 0644);
    rm_tree(m, "quiet/tmp");
}

static const char *const expected_changes[] = {
    "C /bin",        "D /bin/sh", "C /data",   "A /data/c", "D /data/new", "C /etc", "D /etc/group",
    "C /etc/passwd", "C /keep",   "C /keep/k", "A /newdir", "A /newdir/f", "C /usr", "D /usr/local",
};

static void
check_changes(enum rootfs_mode mode, struct fixture *f)
{
    struct rootfs_change *ch = NULL;
    size_t n = 0;
    struct err *e = NULL;
    assert_int_equal(rootfs_changes(mode, f->layers, 2, f->cdir, &ch, &n, &e), 0);
    static const char kinds[] = "CAD";
    char got[4096] = "", want[4096] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%c %s\n", kinds[ch[i].kind],
                 ch[i].path);
    for (size_t i = 0; i < sizeof(expected_changes) / sizeof(expected_changes[0]); i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s\n", expected_changes[i]);
    assert_string_equal(got, want);
    rootfs_changes_free(ch, n);
}

/* The commit tar's entries as "name type size mode" lines, and etc/passwd's content. */
static void
check_tar(enum rootfs_mode mode, struct fixture *f, const char *want)
{
    char *path = fmt_path(f->dir, "commit.tar");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    struct err *e = NULL;
    assert_int_equal(rootfs_diff_tar(mode, f->layers, 2, f->cdir, fd, &e), 0);
    close(fd);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
    struct archive_entry *en;
    char got[4096] = "", passwd[32] = "";
    while (archive_read_next_header(a, &en) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(en);
        const char *hl = archive_entry_hardlink(en);
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s %c %jd %o\n", name,
                 hl                                ? 'h'
                 : S_ISDIR(archive_entry_mode(en)) ? 'd'
                                                   : 'f',
                 (intmax_t)archive_entry_size(en), archive_entry_perm(en));
        if (strcmp(name, "etc/passwd") == 0)
            archive_read_data(a, passwd, sizeof(passwd) - 1);
    }
    archive_read_free(a);
    free(path);
    assert_string_equal(got, want);
    assert_string_equal(passwd, "root2\n");
}

/* ---- tests ---- */

static void
copy_mode_root(void **state)
{
    struct fixture *f = *state;
    if (!f->layers_ok)
        skip();
    struct err *e = NULL;
    assert_int_equal(rootfs_mount(ROOTFS_COPY, f->layers, 2, f->cdir, &e), 0);
    check_view(f->merged);
    /* Copies, not links into the layers; xattrs except overlay's. */
    assert_int_not_equal(stat_of(f->merged, "bin/sh").st_ino,
                         stat_of(f->layers[0], "bin/sh").st_ino);
    char v[8];
    char *k = fmt_path(f->merged, "keep/k"), *d = fmt_path(f->merged, "data");
    assert_int_equal(lgetxattr(k, "user.test", v, sizeof(v)), 1);
    assert_int_equal(lgetxattr(d, "trusted.overlay.opaque", v, sizeof(v)), -1);
    free(k), free(d);
    change_view(f->merged);
    check_changes(ROOTFS_COPY, f);
    check_tar(ROOTFS_COPY, f,
              "bin/ d 0 755\nbin/.wh.sh f 0 600\ndata/ d 0 755\ndata/c f 1 644\n"
              "data/.wh.new f 0 600\netc/ d 0 755\netc/.wh.group f 0 600\netc/passwd f 6 644\n"
              "keep/ d 0 755\nkeep/k f 1 600\nnewdir/ d 0 755\nnewdir/f f 1 644\n"
              "usr/ d 0 700\nusr/.wh.local f 0 600\n");
    /* Mounting again keeps what the container wrote. */
    assert_int_equal(rootfs_mount(ROOTFS_COPY, f->layers, 2, f->cdir, &e), 0);
    assert_string_equal(read_text(f->merged, "newdir/f"), "f");
    assert_int_equal(rootfs_unmount(ROOTFS_COPY, f->cdir, &e), 0);
}

static void
overlay_mode_root(void **state)
{
    struct fixture *f = *state;
    if (!f->layers_ok || rootfs_probe(f->dir) != ROOTFS_OVERLAY)
        skip();
    struct err *e = NULL;
    assert_int_equal(rootfs_mount(ROOTFS_OVERLAY, f->layers, 2, f->cdir, &e), 0);
    /* Already mounted: kept, not stacked. */
    assert_int_equal(rootfs_mount(ROOTFS_OVERLAY, f->layers, 2, f->cdir, &e), 0);
    check_view(f->merged);
    change_view(f->merged);
    check_changes(ROOTFS_OVERLAY, f);
    check_tar(ROOTFS_OVERLAY, f,
              "bin/ d 0 755\nbin/.wh.sh f 0 600\ndata/ d 0 755\ndata/.wh..wh..opq f 0 755\n"
              "data/c f 1 644\netc/ d 0 755\netc/.wh.group f 0 600\netc/passwd f 6 644\n"
              "keep/ d 0 755\nkeep/k f 1 600\nnewdir/ d 0 755\nnewdir/f f 1 644\n"
              "quiet/ d 0 755\nusr/ d 0 700\nusr/.wh.local f 0 600\n");
    assert_int_equal(rootfs_unmount(ROOTFS_OVERLAY, f->cdir, &e), 0);
    assert_false(exists(f->merged, "bin"));
    assert_int_equal(rootfs_unmount(ROOTFS_OVERLAY, f->cdir, &e), 0); /* idempotent */
    /* The changes are in upper/ and still readable unmounted. */
    check_changes(ROOTFS_OVERLAY, f);
}

/* More lower directories than one page of mount options holds: the fsconfig path. */
static void
overlay_many_layers(void **state)
{
    struct fixture *f = *state;
    if (!f->layers_ok || rootfs_probe(f->dir) != ROOTFS_OVERLAY)
        skip();
    enum { N = 60 };
    char *layers[N];
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        layers[i] = xasprintf("%s/layer-%02d-%s", f->dir, i,
                              "padding-padding-padding-padding-padding-padding-padding");
        total += strlen(layers[i]) + 1;
        assert_int_equal(mkdir(layers[i], 0755), 0);
        char name[16];
        snprintf(name, sizeof(name), "f%02d", i);
        put_file(layers[i], name, "x", 0644);
        char content[16];
        snprintf(content, sizeof(content), "%d", i);
        put_file(layers[i], "shared", content, 0644);
    }
    assert_true(total > 4096);
    struct err *e = NULL;
    assert_int_equal(rootfs_mount(ROOTFS_OVERLAY, layers, N, f->cdir, &e), 0);
    assert_string_equal(read_text(f->merged, "shared"), "59");
    assert_true(exists(f->merged, "f00"));
    assert_true(exists(f->merged, "f59"));
    /* Busy (a file open in it): detached lazily. */
    char *shared = fmt_path(f->merged, "shared");
    int fd = open(shared, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(rootfs_unmount(ROOTFS_OVERLAY, f->cdir, &e), 0);
    assert_false(exists(f->merged, "shared"));
    close(fd);
    free(shared);
    for (int i = 0; i < N; i++)
        free(layers[i]);
}

static void
empty_root(void **state)
{
    struct fixture *f = *state;
    struct err *e = NULL;
    assert_int_equal(rootfs_mount(ROOTFS_COPY, NULL, 0, f->cdir, &e), 0);
    assert_true(exists(f->merged, ".dockerenv"));
    assert_true(exists(f->merged, "etc/hosts"));
    struct rootfs_change *ch = NULL;
    size_t n = 1;
    assert_int_equal(rootfs_changes(ROOTFS_COPY, NULL, 0, f->cdir, &ch, &n, &e), 0);
    assert_int_equal(n, 0);
    rootfs_changes_free(ch, n);
    put_file(f->merged, "x", "x", 0644);
    assert_int_equal(rootfs_changes(ROOTFS_COPY, NULL, 0, f->cdir, &ch, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ch[0].path, "/x");
    assert_int_equal(ch[0].kind, ROOTFS_ADDED);
    rootfs_changes_free(ch, n);
}

static void
never_mounted_has_no_changes(void **state)
{
    struct fixture *f = *state;
    struct rootfs_change *ch = NULL;
    size_t n = 1;
    struct err *e = NULL;
    assert_int_equal(rootfs_changes(ROOTFS_OVERLAY, f->layers, 2, f->cdir, &ch, &n, &e), 0);
    assert_int_equal(n, 0);
    rootfs_changes_free(ch, n);
}

static void
expect_workdir(struct fixture *f, const char *wd, const char *msg)
{
    struct err *e = NULL;
    int rc = rootfs_check_workdir(f->layers, 2, wd, &e);
    if (msg == NULL) {
        assert_int_equal(rc, 0);
        assert_null(e);
        return;
    }
    assert_int_equal(rc, -1);
    assert_int_equal(e->kind, ERR_INTERNAL);
    assert_string_equal(e->msg, msg);
    err_clear(&e);
}

/* The working directory is resolved in the layers' view: whiteouts and opaque directories
 * hide, links are followed inside the root, a missing part is fine. */
static void
workdir_check(void **state)
{
    struct fixture *f = *state;
    if (!f->layers_ok)
        skip();
    const char *l1 = f->layers[1];
    const char *const links[][2] = {
        {"dl", "/data"}, {"rl", "etc"}, {"loop", "loop"}, {"up", "../../../data"}};
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        char *p = fmt_path(l1, links[i][0]);
        assert_int_equal(symlink(links[i][1], p), 0);
        free(p);
    }
    expect_workdir(f, "/", NULL);
    expect_workdir(f, "/etc", NULL);
    expect_workdir(f, "/new/dir", NULL);
    expect_workdir(f, "/bin/vi/x", NULL);   /* deleted by the top layer */
    expect_workdir(f, "/data/a/x", NULL);   /* hidden by the opaque data/ */
    expect_workdir(f, "/data/sub/s", NULL); /* the same */
    expect_workdir(f, "/etc/passwd", "Cannot mkdir: /etc/passwd is not a directory");
    expect_workdir(f, "/etc/passwd/x", "lstat /etc/passwd/x: not a directory");
    expect_workdir(f, "/data/new/x/y", "lstat /data/new/x: not a directory");
    expect_workdir(f, "/lnk", "Cannot mkdir: /lnk is not a directory");
    expect_workdir(f, "/lnk/x", "lstat /hl1/x: not a directory");
    expect_workdir(f, "/dl/new/y", "lstat /data/new/y: not a directory");
    expect_workdir(f, "/rl/passwd/z", "lstat /etc/passwd/z: not a directory");
    expect_workdir(f, "/usr/local/../../up/new/q", "lstat /data/new/q: not a directory");
    expect_workdir(f, "/loop/x", "too many links in /loop/x");
    struct err *e = NULL;
    assert_int_equal(rootfs_check_workdir(NULL, 0, "/etc/passwd", &e), 0); /* an empty root */
}

/* Compares two trees entry by entry: type, mode, owner, size, content, link target. */
static void
compare_trees(const char *a, const char *b, int *count)
{
    struct dirent **na = NULL, **nb = NULL;
    int ca = scandir(a, &na, NULL, alphasort), cb = scandir(b, &nb, NULL, alphasort);
    assert_true(ca >= 0 && cb >= 0);
    assert_int_equal(ca, cb);
    for (int i = 0; i < ca; i++) {
        assert_string_equal(na[i]->d_name, nb[i]->d_name);
        if (strcmp(na[i]->d_name, ".") != 0 && strcmp(na[i]->d_name, "..") != 0) {
            char *pa = fmt_path(a, na[i]->d_name), *pb = fmt_path(b, nb[i]->d_name);
            struct stat sa, sb;
            assert_int_equal(lstat(pa, &sa), 0);
            assert_int_equal(lstat(pb, &sb), 0);
            assert_int_equal(sa.st_mode, sb.st_mode);
            assert_int_equal(sa.st_uid, sb.st_uid);
            if (!S_ISDIR(sa.st_mode)) {
                assert_int_equal(sa.st_mtim.tv_sec, sb.st_mtim.tv_sec);
                assert_int_equal(sa.st_mtim.tv_nsec, sb.st_mtim.tv_nsec);
            }
            if (S_ISREG(sa.st_mode)) {
                assert_int_equal(sa.st_size, sb.st_size);
                char *ta = xstrdup(read_text(a, na[i]->d_name));
                assert_string_equal(ta, read_text(b, nb[i]->d_name));
                free(ta);
            }
            if (S_ISDIR(sa.st_mode))
                compare_trees(pa, pb, count);
            (*count)++;
            free(pa), free(pb);
        }
        free(na[i]), free(nb[i]);
    }
    free(na), free(nb);
}

/* Three layers with type changes, a deleted directory, an opaque directory filled again by a
 * later layer, a whiteout inside a merged directory: copy mode builds what overlayfs shows. */
static void
copy_matches_overlay(void **state)
{
    struct fixture *f = *state;
    if (!f->layers_ok || rootfs_probe(f->dir) != ROOTFS_OVERLAY)
        skip();
    char *l[3] = {fmt_path(f->dir, "t0"), fmt_path(f->dir, "t1"), fmt_path(f->dir, "t2")};
    for (int i = 0; i < 3; i++)
        assert_int_equal(mkdir(l[i], 0755), 0);
    put_dir(l[0], "a", 0755), put_file(l[0], "a/x", "x", 0644);
    put_file(l[0], "f", "f", 0644);
    put_dir(l[0], "d", 0711), put_file(l[0], "d/y", "y", 0644), put_dir(l[0], "d/z", 0755);
    put_dir(l[0], "o", 0755), put_file(l[0], "o/1", "1", 0644), put_file(l[0], "o/2", "2", 0644);
    put_dir(l[0], "w", 0755), put_file(l[0], "w/k", "k", 0644);
    put_file(l[1], "a", "now a file", 0600);
    put_dir(l[1], "f", 0750), put_file(l[1], "f/inner", "i", 0644);
    put_dir(l[1], "o", 0700), assert_true(put_opaque(l[1], "o")), put_file(l[1], "o/3", "3", 0644);
    put_whiteout(l[1], "w");
    put_dir(l[2], "o", 0700), put_file(l[2], "o/4", "4", 0644);
    put_dir(l[2], "d", 0711), put_whiteout(l[2], "d/y"), put_file(l[2], "d/new", "n", 0644);
    char *cp = fmt_path(f->dir, "ccopy");
    char *cpm = fmt_path(cp, "merged");
    struct err *e = NULL;
    assert_int_equal(rootfs_mount(ROOTFS_COPY, l, 3, cp, &e), 0);
    /* Nothing changed yet: nothing to report. */
    struct rootfs_change *ch = NULL;
    size_t n = 1;
    assert_int_equal(rootfs_changes(ROOTFS_COPY, l, 3, cp, &ch, &n, &e), 0);
    assert_int_equal(n, 0);
    rootfs_changes_free(ch, n);
    /* The same init layer for both (its files carry their creation time). */
    char *init_from = fmt_path(cp, "init"), *init_to = fmt_path(f->cdir, "init");
    assert_int_equal(mkdir(f->cdir, 0700), 0);
    assert_int_equal(rename(init_from, init_to), 0);
    free(init_from), free(init_to);
    assert_int_equal(rootfs_mount(ROOTFS_OVERLAY, l, 3, f->cdir, &e), 0);
    int count = 0;
    compare_trees(cpm, f->merged, &count);
    assert_true(count > 15);
    assert_false(exists(cpm, "o/1"));
    assert_string_equal(read_text(cpm, "o/4"), "4");
    assert_string_equal(read_text(cpm, "a"), "now a file");
    assert_false(exists(cpm, "w"));
    assert_int_equal(rootfs_unmount(ROOTFS_OVERLAY, f->cdir, &e), 0);
    for (int i = 0; i < 3; i++)
        free(l[i]);
    free(cp), free(cpm);
}

/* Runs argv chrooted into root; returns its stdout. */
static char *
run_chrooted(const char *root, char *const argv[])
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        if (chroot(root) < 0 || chdir("/") < 0)
            _exit(126);
        char *envp[] = {(char *)"PATH=/bin", NULL};
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(p[1]);
    static char out[256];
    size_t len = 0;
    ssize_t r;
    while ((r = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return out;
}

static void
busybox_layer(void **state)
{
    struct fixture *f = *state;
    if (access("/bin/busybox", X_OK) != 0)
        skip();
    char *dir = fmt_path(f->dir, "bb/layer");
    struct err *e = NULL;
    assert_int_equal(rootfs_busybox_layer(dir, &e), 0);
    assert_true(S_ISREG(stat_of(dir, "bin/busybox").st_mode));
    assert_true(S_ISLNK(stat_of(dir, "bin/sh").st_mode));
    assert_true(S_ISLNK(stat_of(dir, "bin/ls").st_mode));
    assert_int_equal(stat_of(dir, "tmp").st_mode & 07777, 01777);
    assert_int_equal(stat_of(dir, "root").st_mode & 07777, 0700);
    assert_true(S_ISDIR(stat_of(dir, "usr/sbin").st_mode));
    assert_true(S_ISDIR(stat_of(dir, "proc").st_mode));
    assert_string_equal(read_text(dir, "etc/passwd"),
                        "root:x:0:0:root:/root:/bin/sh\n"
                        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    assert_non_null(strstr(read_text(dir, "etc/group"), "nogroup:x:65534:"));
    /* No temporary sibling left behind; a second call keeps the layer. */
    char *bb = fmt_path(f->dir, "bb");
    struct dirent **ents = NULL;
    int nents = scandir(bb, &ents, NULL, alphasort);
    assert_int_equal(nents, 3); /* ".", "..", "layer" */
    assert_string_equal(ents[2]->d_name, "layer");
    for (int i = 0; i < nents; i++)
        free(ents[i]);
    free(ents);
    free(bb);
    put_file(dir, "bin/marker", "m", 0644);
    assert_int_equal(rootfs_busybox_layer(dir, &e), 0);
    assert_true(exists(dir, "bin/marker"));
    if (geteuid() == 0) {
        char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)"echo ok; id -un", NULL};
        assert_string_equal(run_chrooted(dir, argv), "ok\nroot\n");
        /* As the base of a container root. */
        char *lowers[] = {dir};
        assert_int_equal(rootfs_mount(ROOTFS_COPY, lowers, 1, f->cdir, &e), 0);
        char *argv2[] = {(char *)"/bin/sh", (char *)"-c", (char *)"ls /etc/hosts", NULL};
        assert_string_equal(run_chrooted(f->merged, argv2), "/etc/hosts\n");
    }
    free(dir);
}

static void
busybox_layer_needs_static(void **state)
{
    struct fixture *f = *state;
    char *dir = fmt_path(f->dir, "bb2");
    struct err *e = NULL;
    assert_int_equal(rootfs_busybox_layer_from("/nonexistent/busybox", dir, &e), -1);
    assert_int_equal(e->kind, ERR_NOT_FOUND);
    assert_non_null(strstr(e->msg, "busybox-static"));
    err_clear(&e);
    /* A dynamically linked executable (python3 always is on Debian). */
    assert_int_equal(rootfs_busybox_layer_from("/usr/bin/python3", dir, &e), -1);
    assert_int_equal(e->kind, ERR_NOT_FOUND);
    assert_non_null(strstr(e->msg, "busybox-static"));
    err_clear(&e);
    assert_false(exists(f->dir, "bb2"));
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(copy_mode_root, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(overlay_mode_root, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(overlay_many_layers, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(copy_matches_overlay, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(empty_root, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(workdir_check, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(never_mounted_has_no_changes, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(busybox_layer, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(busybox_layer_needs_static, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
