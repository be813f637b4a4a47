#include "engine/logfile.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "base/xalloc.h"
#include "engine/logbuf.h"

enum {
    READ_BLOCK = 64 * 1024,
    /* The longest line the writer makes is a 16 KiB piece of text with every byte escaped
     * (\u00XX): about 96 KiB. A longer line is not one of ours: skipped, never buffered whole. */
    LINE_MAX_BYTES = 1024 * 1024,
};

static void
text_reserve(struct logfile_text *t, size_t n)
{
    if (t->cap - t->len >= n)
        return;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap - t->len < n)
        cap *= 2;
    t->data = xrealloc(t->data, cap);
    t->cap = cap;
}

static void
text_add(struct logfile_text *t, const char *s, size_t n)
{
    text_reserve(t, n);
    memcpy(t->data + t->len, s, n);
    t->len += n;
}

/* The length of the UTF-8 sequence at s (n bytes left), 0 when it is not one: Go's
 * utf8.DecodeRune rules (no overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] < 0xC2 || s[0] > 0xF4)
        return 0;
    size_t len = s[0] <= 0xDF ? 2 : s[0] <= 0xEF ? 3 : 4;
    /* the second byte's range is narrower after E0, ED, F0 and F4 */
    unsigned char lo = s[0] == 0xE0 ? 0xA0 : s[0] == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = s[0] == 0xED ? 0x9F : s[0] == 0xF4 ? 0x8F : 0xBF;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* The length of the run at s (n bytes) of printable ASCII other than '"' and '\\': the bytes a
 * JSON string holds as they are. Eight bytes at a time. */
static size_t
plain_run(const unsigned char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        /* a byte >= 0x80, < 0x20, or equal to '"' or '\\' (zero after the xor) */
        uint64_t odd =
            (w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high;
        if (odd != 0)
            break;
    }
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

/* Appends data as a JSON string, byte for byte what jansson's json_dumpb made of it before
 * (the file's format does not change): '"', '\\' and the control characters escaped (\b \f \n
 * \r \t, the others \u00XX), everything else as it is, and each byte that is not part of a
 * UTF-8 sequence replaced by U+FFFD, as dockerd's json-file writer does (Go's encoding rule).
 * Done here rather than by jansson: building a json_t and dumping it for every line was most of
 * the sink's time. */
static void
text_add_json_string(struct logfile_text *t, const char *data, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    text_reserve(t, 6 * len + 2); /* the longest: every byte \u00XX */
    unsigned char *o = (unsigned char *)t->data + t->len;
    const unsigned char *s = (const unsigned char *)data;
    *o++ = '"';
    for (size_t i = 0; i < len;) {
        size_t run = plain_run(s + i, len - i);
        memcpy(o, s + i, run);
        o += run;
        i += run;
        if (i == len)
            break;
        unsigned char ch = s[i];
        if (ch >= 0x80) {
            size_t n = utf8_seq(s + i, len - i);
            if (n > 0)
                memcpy(o, s + i, n);
            else
                memcpy(o, "\xEF\xBF\xBD", 3);
            o += n > 0 ? n : 3;
            i += n > 0 ? n : 1;
        } else {
            *o++ = '\\';
            switch (ch) {
            case '"':
            case '\\':
                *o++ = ch;
                break;
            case '\b':
                *o++ = 'b';
                break;
            case '\f':
                *o++ = 'f';
                break;
            case '\n':
                *o++ = 'n';
                break;
            case '\r':
                *o++ = 'r';
                break;
            case '\t':
                *o++ = 't';
                break;
            default:
                memcpy(o, "u00", 3);
                o[3] = (unsigned char)hex[ch >> 4];
                o[4] = (unsigned char)hex[ch & 15];
                o += 5;
            }
            i++;
        }
    }
    *o++ = '"';
    t->len = (size_t)((char *)o - t->data);
}

bool
logfile_format_line(struct logfile_text *t, int stream, const char *data, size_t len,
                    const char *ts)
{
    text_add(t, "{\"log\":", 7);
    text_add_json_string(t, data, len);
    const char *rest =
        stream == 2 ? ",\"stream\":\"stderr\",\"time\":\"" : ",\"stream\":\"stdout\",\"time\":\"";
    text_add(t, rest, strlen(rest));
    text_add(t, ts, strlen(ts));
    text_add(t, "\"}\n", 3);
    return true;
}

void
logfile_text_fini(struct logfile_text *t)
{
    free(t->data);
    *t = (struct logfile_text){0};
}

/* The time of a line: ts (n bytes), parsed once for all the lines that share it (every line of
 * one read of the container's output does). */
static int64_t
line_time(struct logfile_time_cache *tc, const char *ts, size_t n)
{
    if (tc != NULL && tc->len == n && memcmp(tc->text, ts, n) == 0)
        return tc->ns;
    char text[sizeof(tc->text)];
    int64_t ns = 0;
    if (n >= sizeof(text))
        return 0;
    memcpy(text, ts, n);
    text[n] = '\0';
    if (time_parse_timestamp(text, &ns, NULL) < 0)
        ns = 0;
    if (tc != NULL) {
        memcpy(tc->text, ts, n);
        tc->len = n;
        tc->ns = ns;
    }
    return ns;
}

static bool
parse_line(const char *line, size_t len, struct logfile_time_cache *tc, struct log_entry *out)
{
    /* jansson parses every line: the project writes no JSON parser of its own. */
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
    json_t *log = json_object_get(o, "log");
    const char *stream = json_string_value(json_object_get(o, "stream"));
    const char *ts = json_string_value(json_object_get(o, "time"));
    bool ok = json_is_string(log);
    if (ok) {
        *out = (struct log_entry){.stream = stream != NULL && strcmp(stream, "stderr") == 0 ? 2 : 1,
                                  .len = json_string_length(log)};
        out->time_ns = ts != NULL ? line_time(tc, ts, strlen(ts)) : 0;
        out->data = xmalloc(out->len ? out->len : 1);
        memcpy(out->data, json_string_value(log), out->len);
    }
    json_decref(o);
    return ok;
}

bool
logfile_parse_line(const char *line, size_t len, struct log_entry *out)
{
    return parse_line(line, len, NULL, out);
}

void
logfile_cursor_init(struct logfile_cursor *c)
{
    *c = (struct logfile_cursor){.fd = -1};
}

void
logfile_cursor_fini(struct logfile_cursor *c)
{
    free(c->buf);
    logfile_cursor_init(c);
}

void
logfile_cursor_seek(struct logfile_cursor *c, int fd, uint64_t off)
{
    c->fd = fd;
    c->off = off;
    c->start = c->len = 0;
}

/* Reads more of the file (up to end) after what c holds; 0 at end, -1 on an error. */
static ssize_t
cursor_fill(struct logfile_cursor *c, uint64_t end)
{
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->len - c->start);
        c->len -= c->start;
        c->start = 0;
    }
    if (c->len == c->cap) {
        if (c->cap >= LINE_MAX_BYTES) {
            /* Not a line of ours: drop it; the piece up to its newline fails to parse. */
            c->off += c->len;
            c->len = 0;
        } else {
            c->cap = c->cap ? c->cap * 2 : READ_BLOCK;
            c->buf = xrealloc(c->buf, c->cap);
        }
    }
    uint64_t at = c->off + c->len;
    size_t want = c->cap - c->len;
    if (end - at < want)
        want = (size_t)(end - at);
    ssize_t n;
    do
        n = pread(c->fd, c->buf + c->len, want, (off_t)at);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        c->len += (size_t)n;
    return n;
}

int
logfile_cursor_next(struct logfile_cursor *c, uint64_t end, struct log_entry *out)
{
    for (;;) {
        char *line = c->buf + c->start;
        char *nl = c->len > c->start ? memchr(line, '\n', c->len - c->start) : NULL;
        if (nl != NULL) {
            size_t n = (size_t)(nl - line);
            c->start += n + 1;
            c->off += n + 1;
            if (parse_line(line, n, &c->time, out))
                return 1;
            continue;
        }
        ssize_t got = c->off + (c->len - c->start) < end ? cursor_fill(c, end) : 0;
        if (got < 0)
            return -1;
        if (got == 0) {
            /* Nothing but a piece of a line before end (or a file shorter than end). */
            c->off = end;
            c->start = c->len = 0;
            return 0;
        }
    }
}

uint64_t
logfile_lines_back(int fd, uint64_t end, size_t n)
{
    if (n == 0)
        return end;
    char *block = xmalloc(READ_BLOCK);
    uint64_t pos = end, found = 0;
    size_t newlines = 0;
    /* The newline at end - 1 ends the last line; the one n + 1 back ends the line before the
     * last n. */
    while (pos > 0) {
        size_t want = pos < READ_BLOCK ? (size_t)pos : READ_BLOCK;
        ssize_t got;
        do
            got = pread(fd, block, want, (off_t)(pos - want));
        while (got < 0 && errno == EINTR);
        if (got != (ssize_t)want)
            break;
        for (size_t i = want; i-- > 0;) {
            if (block[i] == '\n' && ++newlines == n + 1) {
                found = pos - want + i + 1;
                goto out;
            }
        }
        pos -= want;
    }
out:
    free(block);
    return found;
}
