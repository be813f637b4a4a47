#include "../cmocka_prelude.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/logbuf.h"

static void
test_read_tail_follow_close(void **state)
{
    (void)state;
    struct logbuf *lb = logbuf_new(1 << 20);
    logbuf_append(lb, 1, "a\n", 2);
    logbuf_append(lb, 2, "b\n", 2);
    logbuf_append(lb, 1, "c\n", 2);
    struct logbuf_reader *all = logbuf_reader_new(lb, -1);
    struct logbuf_reader *tail = logbuf_reader_new(lb, 1);
    struct log_entry e;
    assert_true(logbuf_reader_next(all, &e));
    assert_int_equal(e.stream, 1);
    assert_memory_equal(e.data, "a\n", 2);
    free(e.data);
    assert_true(logbuf_reader_next(all, &e));
    assert_int_equal(e.stream, 2);
    free(e.data);
    assert_true(logbuf_reader_next(tail, &e));
    assert_memory_equal(e.data, "c\n", 2);
    free(e.data);
    assert_false(logbuf_reader_next(tail, &e));
    assert_false(logbuf_reader_at_end(tail));
    /* follow: a new entry wakes the reader */
    uint64_t drain;
    ssize_t rd = read(logbuf_reader_fd(tail), &drain, sizeof(drain));
    (void)rd;
    logbuf_append(lb, 1, "d\n", 2);
    struct pollfd p = {.fd = logbuf_reader_fd(tail), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 1000), 1);
    assert_true(logbuf_reader_next(tail, &e));
    assert_memory_equal(e.data, "d\n", 2);
    free(e.data);
    logbuf_close(lb);
    assert_true(logbuf_reader_at_end(tail));
    logbuf_reader_free(all);
    /* the buffer outlives its owner while a reader holds it */
    logbuf_free(lb);
    assert_true(logbuf_reader_at_end(tail));
    logbuf_reader_free(tail);
}

static void
test_byte_cap_drops_oldest(void **state)
{
    (void)state;
    struct logbuf *lb = logbuf_new(10);
    logbuf_append(lb, 1, "12345", 5);
    logbuf_append(lb, 1, "67890", 5);
    logbuf_append(lb, 1, "abcde", 5);
    struct logbuf_reader *r = logbuf_reader_new(lb, -1);
    struct log_entry e;
    assert_true(logbuf_reader_next(r, &e));
    assert_memory_equal(e.data, "67890", 5);
    free(e.data);
    logbuf_reader_free(r);
    logbuf_free(lb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_tail_follow_close),
        cmocka_unit_test(test_byte_cap_drops_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
