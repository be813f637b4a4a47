#include "../cmocka_prelude.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "engine/logbuf.h"
#include "engine/logfile.h"

/* A temporary file holding text, unlinked at once; its fd. */
static int
temp_file(const char *text, size_t len)
{
    char path[] = "/tmp/test_logfile_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(fsutil_write_all(fd, text, len), 0);
    return fd;
}

static void
test_format_parse_round_trip(void **state)
{
    (void)state;
    struct logfile_text t = {0};
    const char text[] = "a \"quoted\"\tline\0with a NUL\n";
    assert_true(logfile_format_line(&t, 2, text, sizeof(text) - 1, "2024-01-02T03:04:05.5Z"));
    assert_int_equal(t.data[t.len - 1], '\n');
    assert_null(memchr(t.data, '\n', t.len - 1)); /* one line */
    assert_memory_equal(t.data, "{\"log\":\"a \\\"quoted\\\"\\tline\\u0000with a NUL\\n\",", 46);
    struct log_entry e;
    assert_true(logfile_parse_line(t.data, t.len - 1, &e));
    assert_int_equal(e.stream, 2);
    assert_int_equal(e.len, sizeof(text) - 1);
    assert_memory_equal(e.data, text, e.len);
    assert_true(e.time_ns == 1704164645500000000LL);
    free(e.data);
    /* not UTF-8: each stray byte is U+FFFD (dockerd's json-file); valid sequences stay */
    t.len = 0;
    const char mixed[] = "\xff\xc3\xa9\xe2\x82\xed\xa0\x80\xf4\x90\x80\x80 end\n";
    assert_true(logfile_format_line(&t, 1, mixed, sizeof(mixed) - 1, "2024-01-02T03:04:05Z"));
    assert_true(logfile_parse_line(t.data, t.len - 1, &e));
    const char want[] = "\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd"
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end\n";
    assert_int_equal(e.len, sizeof(want) - 1);
    assert_memory_equal(e.data, want, e.len);
    free(e.data);
    assert_false(logfile_parse_line("{\"log\":1}", 9, &e));
    assert_false(logfile_parse_line("{\"log\":\"x", 9, &e));
    logfile_text_fini(&t);
}

/* What the json-file writer made of text when it went through jansson: each byte that is not
 * UTF-8 replaced by U+FFFD, then json_dumpb. The reference the direct encoder must match. */
static size_t
jansson_encoding(const unsigned char *text, size_t len, char *out, size_t max)
{
    char *fixed = malloc(3 * len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        json_t *one = NULL;
        size_t k = 0;
        for (k = 4; k > 0; k--) {
            if (i + k <= len && (one = json_stringn((const char *)text + i, k)) != NULL)
                break;
        }
        json_decref(one);
        if (k > 0) {
            memcpy(fixed + n, text + i, k);
            n += k;
            i += k;
        } else {
            memcpy(fixed + n, "\xef\xbf\xbd", 3);
            n += 3;
            i++;
        }
    }
    json_t *s = json_stringn(fixed, n);
    assert_non_null(s);
    size_t got = json_dumpb(s, out, max, JSON_ENCODE_ANY);
    assert_true(got <= max);
    json_decref(s);
    free(fixed);
    return got;
}

/* Random text: ASCII, control characters, valid and broken UTF-8, NULs. */
static size_t
random_text(unsigned char *buf, size_t max, unsigned *seed)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         " ",
                                         "\"",
                                         "\\",
                                         "/",
                                         "\n",
                                         "\t",
                                         "\r",
                                         "\b",
                                         "\f",
                                         "\x01",
                                         "\x1f",
                                         "\x7f",
                                         "\0",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\xe2\x80\xa8",
                                         "\xff",
                                         "\xc3",
                                         "\xe2\x82",
                                         "\xed\xa0\x80",
                                         "\xf4\x90\x80\x80",
                                         "\xc0\xaf",
                                         "\x80",
                                         "<>&",
                                         "\xef\xbf\xbd"};
    size_t n = 0, want = (size_t)rand_r(seed) % (max / 4);
    while (n < want) {
        size_t which = (size_t)rand_r(seed) % (sizeof(pieces) / sizeof(pieces[0]));
        const char *p = pieces[which];
        size_t k = p[0] == '\0' ? 1 : strlen(p);
        memcpy(buf + n, p, k);
        n += k;
    }
    return n;
}

/* The direct encoder writes exactly what jansson wrote, and the direct parser reads back what
 * jansson reads from the same line. */
static void
test_encoding_matches_jansson(void **state)
{
    (void)state;
    unsigned seed = 8;
    struct logfile_text t = {0};
    for (int round = 0; round < 20000; round++) {
        unsigned char text[256];
        size_t len = random_text(text, sizeof(text), &seed);
        char want[6 * sizeof(text) + 2];
        size_t want_len = jansson_encoding(text, len, want, sizeof(want));
        t.len = 0;
        assert_true(logfile_format_line(&t, 1 + round % 2, (const char *)text, len,
                                        "2024-01-02T03:04:05.123456789Z"));
        assert_true(t.len > 7 + want_len);
        assert_memory_equal(t.data, "{\"log\":", 7);
        assert_memory_equal(t.data + 7, want, want_len);
        struct log_entry e;
        assert_true(logfile_parse_line(t.data, t.len - 1, &e));
        json_t *o = json_loadb(t.data, t.len - 1, JSON_ALLOW_NUL, NULL);
        json_t *log = json_object_get(o, "log");
        assert_int_equal(e.len, json_string_length(log));
        assert_memory_equal(e.data, json_string_value(log), e.len);
        assert_int_equal(e.stream, 1 + round % 2);
        assert_true(e.time_ns == 1704164645123456789LL);
        json_decref(o);
        free(e.data);
    }
    logfile_text_fini(&t);
}

/* Lines of another form (key order, surrogate pairs, other escapes) are still read. */
static void
test_parse_other_forms(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        int stream;
        const char *text;
    } cases[] = {
        {"{\"stream\":\"stderr\",\"log\":\"x\\n\",\"time\":\"2024-01-02T03:04:05Z\"}", 2, "x\n"},
        {"{\"log\":\"\\ud83d\\ude00 \\u00e9\\u20AC\\/\",\"stream\":\"stdout\",\"time\":"
         "\"2024-01-02T03:04:05Z\"}",
         1, "\xf0\x9f\x98\x80 \xc3\xa9\xe2\x82\xac/"},
        {"{\"log\":\"a\", \"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}", 1, "a"},
        {"{\"log\":\"b\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"} ", 1, "b"},
        {"{\"log\":\"c\"}", 1, "c"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct log_entry e;
        assert_true(logfile_parse_line(cases[i].line, strlen(cases[i].line), &e));
        assert_int_equal(e.stream, cases[i].stream);
        assert_int_equal(e.len, strlen(cases[i].text));
        assert_memory_equal(e.data, cases[i].text, e.len);
        free(e.data);
    }
    static const char *const bad[] = {
        "{\"log\":\"\\ud83d\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}",
        "{\"log\":\"raw\ttab\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}",
        "{\"log\":\"\xff\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}",
        "{\"log\":\"\\x\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}",
        "{\"log\":\"d\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct log_entry e;
        assert_false(logfile_parse_line(bad[i], strlen(bad[i]), &e));
    }
}

static void
format_numbered(struct logfile_text *t, int from, int to)
{
    for (int i = from; i < to; i++) {
        char line[64];
        int len = snprintf(line, sizeof(line), "line %d\n", i);
        assert_true(logfile_format_line(t, 1, line, (size_t)len, "2024-01-02T03:04:05Z"));
    }
}

/* A file of n lines "line <i>\n" on stdout, and a torn line after the tenth; *len its size. */
static int
numbered_file(int n, uint64_t *len)
{
    struct logfile_text t = {0};
    format_numbered(&t, 0, 10);
    int fd = temp_file(t.data, t.len);
    const char torn[] = "{\"log\":\"torn\n";
    assert_int_equal(fsutil_write_all(fd, torn, sizeof(torn) - 1), 0);
    *len = t.len + sizeof(torn) - 1;
    t.len = 0;
    format_numbered(&t, 10, n);
    assert_int_equal(fsutil_write_all(fd, t.data, t.len), 0);
    *len += t.len;
    logfile_text_fini(&t);
    return fd;
}

static void
test_cursor_reads_lines_across_blocks(void **state)
{
    (void)state;
    uint64_t size;
    int n = 20000; /* about 1 MB: many read blocks, lines split between them */
    int fd = numbered_file(n, &size);
    struct logfile_cursor c;
    logfile_cursor_init(&c);
    logfile_cursor_seek(&c, fd, 0);
    struct log_entry e;
    for (int i = 0; i < n; i++) {
        char want[64];
        int len = snprintf(want, sizeof(want), "line %d\n", i);
        assert_int_equal(logfile_cursor_next(&c, size, &e), 1);
        assert_int_equal(e.len, len);
        assert_memory_equal(e.data, want, e.len);
        free(e.data);
    }
    assert_int_equal(logfile_cursor_next(&c, size, &e), 0);
    assert_true(c.off == size);
    /* an end before the file's: nothing past it, not even a line that ends after it */
    logfile_cursor_seek(&c, fd, 0);
    assert_int_equal(logfile_cursor_next(&c, 10, &e), 0);
    assert_true(c.off == 10);
    logfile_cursor_fini(&c);
    close(fd);
}

static void
test_lines_back(void **state)
{
    (void)state;
    uint64_t size;
    int n = 30000;
    int fd = numbered_file(n, &size);
    uint64_t off = logfile_lines_back(fd, size, 2);
    struct logfile_cursor c;
    logfile_cursor_init(&c);
    logfile_cursor_seek(&c, fd, off);
    struct log_entry e;
    assert_int_equal(logfile_cursor_next(&c, size, &e), 1);
    assert_memory_equal(e.data, "line 29998\n", e.len);
    free(e.data);
    /* far back: the backward scan crosses many blocks */
    off = logfile_lines_back(fd, size, 25000);
    logfile_cursor_seek(&c, fd, off);
    assert_int_equal(logfile_cursor_next(&c, size, &e), 1);
    assert_memory_equal(e.data, "line 5000\n", e.len);
    free(e.data);
    assert_true(logfile_lines_back(fd, size, (size_t)n + 5) == 0);
    assert_true(logfile_lines_back(fd, size, 0) == size);
    logfile_cursor_fini(&c);
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_encoding_matches_jansson),
        cmocka_unit_test(test_parse_other_forms),
        cmocka_unit_test(test_cursor_reads_lines_across_blocks),
        cmocka_unit_test(test_lines_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
