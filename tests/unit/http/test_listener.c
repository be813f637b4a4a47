#include "../cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/listener.h"

static char dir[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sockerless-listener-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static void
test_parse(void **state)
{
    (void)state;
    struct listener l;
    struct err *err = NULL;
    assert_int_equal(listener_parse("unix:///run/x.sock", &l, &err), 0);
    assert_int_equal(l.kind, LISTENER_UNIX);
    assert_string_equal(l.path, "/run/x.sock");
    assert_int_equal(listener_parse("tcp://127.0.0.1:2376", &l, &err), 0);
    assert_int_equal(l.kind, LISTENER_TCP);
    assert_string_equal(l.host, "127.0.0.1");
    assert_string_equal(l.port, "2376");
    assert_int_equal(listener_parse("tcp://[::1]:80", &l, &err), 0);
    assert_string_equal(l.host, "::1");
    assert_int_equal(listener_parse("tcp://0.0.0.0", &l, &err), 0);
    assert_string_equal(l.port, "2375");
    const char *bad[] = {
        "unix://", "/plain/path", "tcp://h:", "tcp://h:12x", "tcp://[::1", "http://x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(listener_parse(bad[i], &l, &err), -1);
        assert_int_equal(err->kind, ERR_INVALID);
        err_clear(&err);
    }
    assert_int_equal(listener_parse("fd://", &l, &err), -1);
    assert_int_equal(err->kind, ERR_UNSUPPORTED);
    err_clear(&err);
    char longpath[200] = "unix:///";
    memset(longpath + 8, 'a', 150);
    assert_int_equal(listener_parse(longpath, &l, &err), -1);
    err_clear(&err);
}

static void
make_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "unix://%s/%s", dir, name);
}

static void
test_unix_mode_and_removal(void **state)
{
    (void)state;
    char spec[128];
    make_path(spec, sizeof(spec), "a.sock");
    struct listener l;
    assert_int_equal(listener_parse(spec, &l, NULL), 0);
    assert_int_equal(listener_open(&l, NULL), 0);
    struct stat st;
    assert_int_equal(stat(l.path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0660);
    char path[108];
    strcpy(path, l.path);
    listener_close(&l);
    assert_int_equal(stat(path, &st), -1);
}

static void
test_live_socket_is_refused_and_stale_replaced(void **state)
{
    (void)state;
    char spec[128];
    make_path(spec, sizeof(spec), "b.sock");
    struct listener a, b;
    struct err *err = NULL;
    assert_int_equal(listener_parse(spec, &a, NULL), 0);
    assert_int_equal(listener_open(&a, NULL), 0);
    assert_int_equal(listener_parse(spec, &b, NULL), 0);
    assert_int_equal(listener_open(&b, &err), -1);
    assert_int_equal(err->kind, ERR_CONFLICT);
    assert_non_null(strstr(err->msg, "in use"));
    err_clear(&err);
    /* Make a's socket stale: close the fd but leave the file. */
    close(a.fd);
    a.fd = -1;
    assert_int_equal(listener_open(&b, &err), 0);
    listener_close(&b);
}

static void
test_non_socket_is_never_touched(void **state)
{
    (void)state;
    char spec[128], file[128];
    make_path(spec, sizeof(spec), "file");
    snprintf(file, sizeof(file), "%s/file", dir);
    FILE *f = fopen(file, "w");
    fputs("precious", f);
    fclose(f);
    struct listener l;
    struct err *err = NULL;
    assert_int_equal(listener_parse(spec, &l, NULL), 0);
    assert_int_equal(listener_open(&l, &err), -1);
    assert_int_equal(err->kind, ERR_CONFLICT);
    err_clear(&err);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_size, 8);
}

static void
test_close_leaves_a_replaced_file(void **state)
{
    (void)state;
    char spec[128];
    make_path(spec, sizeof(spec), "c.sock");
    struct listener l;
    assert_int_equal(listener_parse(spec, &l, NULL), 0);
    assert_int_equal(listener_open(&l, NULL), 0);
    /* Someone else replaced the socket file: closing must not remove theirs. */
    unlink(l.path);
    FILE *f = fopen(l.path, "w");
    fclose(f);
    listener_close(&l);
    struct stat st;
    assert_int_equal(stat(l.path, &st), 0);
    unlink(l.path);
}

static void
test_tcp_listens_on_loopback(void **state)
{
    (void)state;
    struct listener l;
    assert_int_equal(listener_parse("tcp://127.0.0.1:0", &l, NULL), 0);
    assert_int_equal(listener_open(&l, NULL), 0);
    assert_true(l.fd >= 0);
    listener_close(&l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_unix_mode_and_removal),
        cmocka_unit_test(test_live_socket_is_refused_and_stale_replaced),
        cmocka_unit_test(test_non_socket_is_never_touched),
        cmocka_unit_test(test_close_leaves_a_replaced_file),
        cmocka_unit_test(test_tcp_listens_on_loopback),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
