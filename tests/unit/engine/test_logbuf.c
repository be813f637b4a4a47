#include "../cmocka_prelude.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "engine/logbuf.h"
#include "engine/logfile.h"

/* What driver/logsink.c does: each entry's line written to the json-file, then the entry added
 * with the line's place (or, in_file false, added as a failed write leaves it). */
struct writer {
    struct logbuf *lb;
    char path[64];
    int fd;
    uint64_t off;
    int n; /* entries written */
};

static void
writer_open(struct writer *w, size_t cap)
{
    strcpy(w->path, "/tmp/test_logbuf_XXXXXX");
    w->fd = mkstemp(w->path);
    assert_true(w->fd >= 0);
    w->lb = logbuf_new(cap);
    w->off = 0;
    w->n = 0;
    assert_int_equal(logbuf_set_file(w->lb, w->path, NULL), 0);
}

static void
writer_close(struct writer *w)
{
    close(w->fd);
    unlink(w->path);
    logbuf_free(w->lb);
}

static void
write_entries(struct writer *w, int count, bool in_file)
{
    for (int i = 0; i < count; i++, w->n++) {
        char text[32];
        int len = snprintf(text, sizeof(text), "entry %d\n", w->n);
        struct logfile_text t = {0};
        assert_true(
            logfile_format_line(&t, 1 + w->n % 2, text, (size_t)len, "2024-01-02T03:04:05Z"));
        struct log_entry e = {
            .stream = 1 + w->n % 2, .time_ns = 1, .len = (size_t)len, .data = text};
        if (in_file) {
            assert_int_equal(fsutil_write_all(w->fd, t.data, t.len), 0);
            e.file_off = w->off;
            e.file_len = t.len;
            w->off += t.len;
        }
        logbuf_add(w->lb, &e);
        logfile_text_fini(&t);
    }
}

/* Reads n entries from r, expecting "entry <first>", "entry <first+1>"... */
static void
expect_entries(struct logbuf_reader *r, int first, int n)
{
    struct log_entry e;
    for (int i = first; i < first + n; i++) {
        char want[32];
        int len = snprintf(want, sizeof(want), "entry %d\n", i);
        assert_true(logbuf_reader_next(r, &e));
        assert_int_equal(e.len, len);
        assert_memory_equal(e.data, want, e.len);
        assert_int_equal(e.stream, 1 + i % 2);
        free(e.data);
    }
}

/* Reads the n entries from first and expects no more now. */
static void
expect_all(struct logbuf_reader *r, int first, int n)
{
    expect_entries(r, first, n);
    struct log_entry e;
    assert_false(logbuf_reader_next(r, &e));
}

static void
test_history_from_the_file(void **state)
{
    (void)state;
    struct writer w;
    writer_open(&w, 64); /* memory keeps the last 6 entries */
    write_entries(&w, 1000, true);
    struct logbuf_reader *all = logbuf_reader_new(w.lb, -1);
    expect_all(all, 0, 1000);
    struct logbuf_reader *in_memory = logbuf_reader_new(w.lb, 5);
    expect_all(in_memory, 995, 5);
    struct logbuf_reader *tail = logbuf_reader_new(w.lb, 700);
    expect_all(tail, 300, 700);
    struct logbuf_reader *more = logbuf_reader_new(w.lb, 5000);
    expect_all(more, 0, 1000);
    /* the readers go on with what comes */
    write_entries(&w, 3, true);
    expect_all(all, 1000, 3);
    expect_all(tail, 1000, 3);
    logbuf_reader_free(all);
    logbuf_reader_free(in_memory);
    logbuf_reader_free(tail);
    logbuf_reader_free(more);
    writer_close(&w);
}

static void
test_follower_behind_goes_on_in_the_file(void **state)
{
    (void)state;
    struct writer w;
    writer_open(&w, 64);
    struct logbuf_reader *r = logbuf_reader_new(w.lb, 0);
    write_entries(&w, 10, true);
    struct log_entry e;
    for (int i = 0; i < 3; i++) {
        assert_true(logbuf_reader_next(r, &e));
        free(e.data);
    }
    /* far more than memory holds is written while the reader waits */
    write_entries(&w, 2000, true);
    expect_all(r, 3, 2007);
    /* behind again, and again in the file; and the container removed meanwhile */
    write_entries(&w, 500, true);
    unlink(w.path);
    logbuf_close(w.lb);
    assert_false(logbuf_reader_at_end(r));
    expect_all(r, 2010, 500);
    assert_true(logbuf_reader_at_end(r));
    logbuf_reader_free(r);
    writer_close(&w);
}

static void
test_entries_the_file_missed(void **state)
{
    (void)state;
    struct writer w;
    writer_open(&w, 1 << 20);
    write_entries(&w, 5, true);
    write_entries(&w, 3, false); /* the disk was full */
    write_entries(&w, 5, true);
    struct logbuf_reader *r = logbuf_reader_new(w.lb, -1);
    expect_all(r, 0, 13); /* all in memory */
    logbuf_reader_free(r);
    writer_close(&w);

    /* memory keeps the last 2: history is what the file has, then memory, each entry once */
    writer_open(&w, 20);
    write_entries(&w, 5, true);
    write_entries(&w, 3, false);
    write_entries(&w, 5, true);
    r = logbuf_reader_new(w.lb, -1);
    expect_entries(r, 0, 5);
    expect_all(r, 8, 5);
    logbuf_reader_free(r);
    writer_close(&w);
}

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

/* The text of entry i: its size varies from 1 byte to past a 64 KiB storage block. */
static size_t
sized_entry(int i, char *buf)
{
    size_t len = 1 + (size_t)(i * 7919) % (i % 50 == 0 ? 70000 : 3000);
    for (size_t k = 0; k < len; k++)
        buf[k] = (char)('a' + (i + (int)k) % 26);
    return len;
}

/* Entries of every size, far past the cap: what memory keeps is intact (the storage blocks of
 * dropped entries are freed, never those of kept ones) and a follower keeping up reads all. */
static void
test_entry_storage_across_blocks(void **state)
{
    (void)state;
    struct logbuf *lb = logbuf_new(256 * 1024);
    struct logbuf_reader *follower = logbuf_reader_new(lb, 0);
    char *want = malloc(70000);
    struct log_entry batch[4];
    int n = 0;
    for (int round = 0; round < 1000; round++) {
        /* one or four at a time, as the sink adds the lines of a read */
        size_t k = round % 2 ? 4 : 1;
        char *texts[4];
        for (size_t j = 0; j < k; j++) {
            texts[j] = malloc(70000);
            batch[j] = (struct log_entry){.stream = 1, .time_ns = 1, .data = texts[j]};
            batch[j].len = sized_entry(n++, texts[j]);
        }
        logbuf_add_many(lb, batch, k);
        for (size_t j = 0; j < k; j++)
            free(texts[j]);
        struct log_entry e;
        for (size_t j = 0; j < k; j++) {
            assert_true(logbuf_reader_next(follower, &e));
            size_t len = sized_entry(n - (int)k + (int)j, want);
            assert_int_equal(e.len, len);
            assert_memory_equal(e.data, want, len);
            free(e.data);
        }
        assert_false(logbuf_reader_next(follower, &e));
    }
    /* the newest entries, read again from memory */
    struct logbuf_reader *tail = logbuf_reader_new(lb, 40);
    for (int i = n - 40; i < n; i++) {
        struct log_entry e;
        assert_true(logbuf_reader_next(tail, &e));
        size_t len = sized_entry(i, want);
        assert_int_equal(e.len, len);
        assert_memory_equal(e.data, want, len);
        free(e.data);
    }
    logbuf_reader_free(tail);
    logbuf_reader_free(follower);
    logbuf_free(lb);
    free(want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_tail_follow_close),
        cmocka_unit_test(test_byte_cap_drops_oldest),
        cmocka_unit_test(test_history_from_the_file),
        cmocka_unit_test(test_follower_behind_goes_on_in_the_file),
        cmocka_unit_test(test_entries_the_file_missed),
        cmocka_unit_test(test_entry_storage_across_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
