/* upload: a body passed between two threads through a small ring, in order and whole, with
 * either side ending early. */
#include "../cmocka_prelude.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http/upload.h"

enum { TOTAL = 1 << 20, RING = 1000 }; /* a ring size that divides nothing */

struct writer {
    struct http_upload *u;
    const char *data;
    size_t len, step;
    bool abort_at_end;
};

static void *
write_all(void *arg)
{
    struct writer *w = arg;
    for (size_t off = 0; off < w->len; off += w->step)
        http_upload_write(w->u, w->data + off, off + w->step > w->len ? w->len - off : w->step);
    if (w->abort_at_end)
        http_upload_abort(w->u);
    else
        http_upload_end(w->u);
    return NULL;
}

static char *
pattern(void)
{
    char *data = malloc(TOTAL);
    for (size_t i = 0; i < TOTAL; i++)
        data[i] = (char)(i * 7 + i / 251);
    return data;
}

static void
test_bytes_arrive_in_order(void **state)
{
    (void)state;
    char *data = pattern(), *got = malloc(TOTAL + 1);
    struct http_upload *u = http_upload_new(RING);
    struct writer w = {.u = u, .data = data, .len = TOTAL, .step = 4093};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_all, &w), 0);
    size_t len = 0;
    ssize_t n;
    while ((n = http_upload_read(u, got + len, len % 3 == 0 ? 777 : 5000)) > 0)
        len += (size_t)n;
    assert_int_equal(n, 0);
    assert_int_equal(len, TOTAL);
    assert_memory_equal(got, data, TOTAL);
    pthread_join(t, NULL);
    http_upload_free(u);
    free(data);
    free(got);
}

static void
test_abort_fails_the_reader(void **state)
{
    (void)state;
    char *data = pattern(), buf[512];
    struct http_upload *u = http_upload_new(RING);
    struct writer w = {.u = u, .data = data, .len = 10000, .step = 100, .abort_at_end = true};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_all, &w), 0);
    ssize_t n;
    while ((n = http_upload_read(u, buf, sizeof(buf))) > 0)
        ;
    assert_int_equal(n, -1); /* never a clean end */
    assert_int_equal(errno, ECONNABORTED);
    pthread_join(t, NULL);
    http_upload_free(u);
    free(data);
}

static void
test_a_reader_done_early_does_not_block_the_writer(void **state)
{
    (void)state;
    char *data = pattern(), buf[64];
    struct http_upload *u = http_upload_new(RING);
    struct writer w = {.u = u, .data = data, .len = TOTAL, .step = 4096};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_all, &w), 0);
    assert_true(http_upload_read(u, buf, sizeof(buf)) > 0);
    http_upload_reader_done(u); /* the writer drops the rest (far more than the ring holds) */
    pthread_join(t, NULL);
    http_upload_free(u);
    free(data);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_arrive_in_order),
        cmocka_unit_test(test_abort_fails_the_reader),
        cmocka_unit_test(test_a_reader_done_early_does_not_block_the_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
