/* Volumes: real directories under the data root, anonymous ones, in-use checks, removal. */
#include "../cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"
#include "engine/volume.h"

#include "engine_fixture.h"

static bool
is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
test_create_names_and_removal(void **state)
{
    (void)state;
    bool created;
    struct err *err = NULL;
    engine_lock(eng);
    struct volume *v = volume_create(eng, "data", NULL, &created, &err);
    assert_true(created);
    assert_true(is_dir(v->mountpoint));
    assert_ptr_equal(volume_create(eng, "data", NULL, &created, NULL), v);
    assert_false(created);
    const char *bad[] = {"x", "-x", "a/b", "../up"};
    for (size_t i = 0; i < 4; i++) {
        assert_null(volume_create(eng, bad[i], NULL, &created, &err));
        assert_int_equal(err->kind, ERR_INVALID);
        err_clear(&err);
    }
    struct volume *anon = volume_create(eng, NULL, NULL, &created, NULL);
    assert_true(anon->anonymous);
    assert_non_null(labels_get(&anon->labels, "com.docker.volume.anonymous"));
    /* A symlink inside the volume must be removed, never followed out of it. */
    char *outside = xasprintf("%s/outside", root);
    FILE *f = fopen(outside, "w");
    fclose(f);
    char *link = xasprintf("%s/escape", v->mountpoint);
    assert_int_equal(symlink(root, link), 0);
    char *dir = xstrdup(v->mountpoint);
    assert_int_equal(volume_remove(eng, v, NULL), 0);
    assert_false(is_dir(dir));
    assert_int_equal(access(outside, F_OK), 0);
    assert_int_equal(volume_remove(eng, anon, NULL), 0);
    assert_null(volume_find(eng, "data", &err));
    assert_int_equal(err->kind, ERR_NOT_FOUND);
    err_clear(&err);
    engine_unlock(eng);
    free(outside);
    free(link);
    free(dir);
}

static void
test_mounts_in_use_and_rm_v(void **state)
{
    (void)state;
    struct container_create req = {0};
    req.spec.image = xstrdup("busybox");
    req.name = xstrdup("user");
    req.mounts = xcalloc(3, sizeof(*req.mounts));
    req.mounts[0] =
        (struct mount_req){MOUNT_VOLUME, xstrdup("named"), xstrdup("/n"), xstrdup(""), false};
    req.mounts[1] = (struct mount_req){MOUNT_VOLUME, NULL, xstrdup("/anon"), xstrdup(""), false};
    req.mounts[2] =
        (struct mount_req){MOUNT_BIND, xstrdup("/tmp"), xstrdup("/h"), xstrdup("ro"), true};
    req.n_mounts = 3;
    char id[ID_LEN + 1];
    assert_int_equal(engine_container_create(eng, &req, id, NULL), 0);
    engine_lock(eng);
    struct volume *named = volume_find(eng, "named", NULL);
    assert_non_null(named);
    struct err *err = NULL;
    assert_int_equal(volume_remove(eng, named, &err), -1);
    assert_int_equal(err->kind, ERR_CONFLICT);
    assert_non_null(strstr(err->msg, id));
    err_clear(&err);
    assert_int_equal(eng->volumes.len, 2);
    engine_unlock(eng);
    assert_int_equal(engine_container_remove(eng, id, false, true, NULL), 0);
    engine_lock(eng);
    assert_int_equal(eng->volumes.len, 1); /* rm -v: the anonymous one goes, the named stays */
    assert_int_equal(volume_remove(eng, volume_find(eng, "named", NULL), NULL), 0);
    engine_unlock(eng);
    /* Bad mounts are refused. */
    struct container_create bad = {0};
    bad.spec.image = xstrdup("busybox");
    bad.mounts = xcalloc(1, sizeof(*bad.mounts));
    bad.mounts[0] =
        (struct mount_req){MOUNT_BIND, xstrdup("rel"), xstrdup("/x"), xstrdup(""), false};
    bad.n_mounts = 1;
    assert_int_equal(engine_container_create(eng, &bad, id, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    err_clear(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_names_and_removal),
        cmocka_unit_test(test_mounts_in_use_and_rm_v),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
