#include "build/gocompat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"

size_t
gocompat_decode_rune(const char *s, size_t n, uint32_t *r)
{
    const unsigned char *p = (const unsigned char *)s;
    *r = 0xFFFD;
    if (n == 0)
        return 0;
    if (p[0] < 0x80) {
        *r = p[0];
        return 1;
    }
    size_t w;
    uint32_t c, min;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        w = 2, c = p[0] & 0x1F, min = 0x80;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        w = 3, c = p[0] & 0x0F, min = 0x800;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        w = 4, c = p[0] & 0x07, min = 0x10000;
    } else {
        return 1;
    }
    if (n < w)
        return 1;
    for (size_t i = 1; i < w; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 1;
        c = (c << 6) | (p[i] & 0x3F);
    }
    /* Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid in Go too. */
    if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        return 1;
    *r = c;
    return w;
}

bool
gocompat_is_space_rune(uint32_t r)
{
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

size_t
gocompat_space_len(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    uint32_t r;
    size_t w = gocompat_decode_rune(s, n, &r);
    /* An invalid byte decodes to U+FFFD, which is not a space. */
    return gocompat_is_space_rune(r) ? w : 0;
}

void
gocompat_trim_left(const char **s, size_t *n)
{
    size_t w;
    while ((w = gocompat_space_len(*s, *n)) > 0) {
        *s += w;
        *n -= w;
    }
}

/* The start of the rune that ends at s[n-1]: walk back over continuation bytes (at most 3). */
static size_t
last_rune_start(const char *s, size_t n)
{
    size_t i = n - 1;
    for (int k = 0; k < 3 && i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80; k++)
        i--;
    return i;
}

void
gocompat_trim_right(const char *s, size_t *n)
{
    while (*n > 0) {
        size_t start = last_rune_start(s, *n);
        uint32_t r;
        size_t w = gocompat_decode_rune(s + start, *n - start, &r);
        if (start + w != *n) /* not one rune: the last byte alone (invalid, not a space) */
            return;
        if (!gocompat_is_space_rune(r))
            return;
        *n = start;
    }
}

void
gocompat_trim_space(const char **s, size_t *n)
{
    gocompat_trim_left(s, n);
    gocompat_trim_right(*s, n);
}

static void
put(struct buf *b, const char *s, size_t n)
{
    /* The cap is the whole address space: this buffer only holds text bounded by its input. */
    (void)buf_append(b, s, n, NULL);
}

/* Runes Go's unicode.IsPrint rejects beyond the C0/C1 controls: spaces other than ' ', the line
 * and paragraph separators and the common format characters. */
static bool
go_unprintable(uint32_t r)
{
    if (r < 0x20 || (r >= 0x7F && r < 0xA0))
        return true;
    if (r != ' ' && gocompat_is_space_rune(r))
        return true;
    return r == 0xAD || (r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) ||
           (r >= 0x2060 && r <= 0x2064) || r == 0xFEFF;
}

char *
gocompat_quote(const char *s, size_t n)
{
    struct buf b;
    buf_init(&b, SIZE_MAX / 2);
    put(&b, "\"", 1);
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t w = gocompat_decode_rune(s + i, n - i, &r);
        char esc[16];
        if (r == 0xFFFD && w == 1) {
            snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)s[i]);
            put(&b, esc, strlen(esc));
        } else if (r == '"' || r == '\\') {
            esc[0] = '\\', esc[1] = (char)r;
            put(&b, esc, 2);
        } else if (!go_unprintable(r)) {
            put(&b, s + i, w);
        } else {
            const char *named = NULL;
            switch (r) {
            case '\a':
                named = "\\a";
                break;
            case '\b':
                named = "\\b";
                break;
            case '\f':
                named = "\\f";
                break;
            case '\n':
                named = "\\n";
                break;
            case '\r':
                named = "\\r";
                break;
            case '\t':
                named = "\\t";
                break;
            case '\v':
                named = "\\v";
                break;
            default:
                break;
            }
            if (named != NULL)
                snprintf(esc, sizeof(esc), "%s", named);
            else if (r < 0x80)
                snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)r);
            else
                snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)r);
            put(&b, esc, strlen(esc));
        }
        i += w;
    }
    put(&b, "\"", 1);
    return buf_take(&b, NULL);
}

char *
gocompat_clean_path(const char *path)
{
    size_t n = strlen(path);
    if (n == 0)
        return xstrdup(".");
    bool rooted = path[0] == '/';
    char *out = xmalloc(n + 3);
    size_t w = 0, r = 0, dotdot = 0;
    if (rooted) {
        out[w++] = '/';
        r = dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            for (; r < n && path[r] != '/'; r++)
                out[w++] = path[r];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = '\0';
    return out;
}

static int
duration_error(struct err **err, const char *what, const char *s)
{
    cleanup_free char *q = gocompat_quote(s, strlen(s));
    return err_make(err, ERR_INVALID, 0, "time: %s %s", what, q);
}

/* Go's leadingInt: digits into x; -1 on overflow past 1<<63. */
static int
leading_int(const char **s, uint64_t *x)
{
    *x = 0;
    for (; **s >= '0' && **s <= '9'; (*s)++) {
        if (*x > (UINT64_C(1) << 63) / 10)
            return -1;
        *x = *x * 10 + (uint64_t)(**s - '0');
        if (*x > (UINT64_C(1) << 63))
            return -1;
    }
    return 0;
}

/* Go's leadingFraction: the digits after '.', and 10^(digits kept). */
static void
leading_fraction(const char **s, uint64_t *x, double *scale)
{
    bool overflow = false;
    *x = 0;
    *scale = 1;
    for (; **s >= '0' && **s <= '9'; (*s)++) {
        if (overflow)
            continue;
        if (*x > (UINT64_C(1) << 63) / 10) {
            overflow = true;
            continue;
        }
        uint64_t y = *x * 10 + (uint64_t)(**s - '0');
        if (y > (UINT64_C(1) << 63)) {
            overflow = true;
            continue;
        }
        *x = y;
        *scale *= 10;
    }
}

static uint64_t
duration_unit(const char *u, size_t n)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
        {"ms", 1000000},
        {"s", 1000000000},
        {"m", UINT64_C(60) * 1000000000},
        {"h", UINT64_C(3600) * 1000000000},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
            return units[i].ns;
    return 0;
}

int
gocompat_parse_duration(const char *orig, int64_t *out, struct err **err)
{
    const char *s = orig;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (*s == '\0')
        return duration_error(err, "invalid duration", orig);
    uint64_t d = 0;
    while (*s != '\0') {
        if (!(*s == '.' || (*s >= '0' && *s <= '9')))
            return duration_error(err, "invalid duration", orig);
        const char *start = s;
        uint64_t v, f = 0;
        double scale = 1;
        if (leading_int(&s, &v) < 0)
            return duration_error(err, "invalid duration", orig);
        bool pre = s != start, post = false;
        if (*s == '.') {
            s++;
            const char *fstart = s;
            leading_fraction(&s, &f, &scale);
            post = s != fstart;
        }
        if (!pre && !post)
            return duration_error(err, "invalid duration", orig);
        size_t i = 0;
        while (s[i] != '\0' && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9'))
            i++;
        if (i == 0)
            return duration_error(err, "missing unit in duration", orig);
        uint64_t unit = duration_unit(s, i);
        if (unit == 0) {
            cleanup_free char *qu = gocompat_quote(s, i);
            cleanup_free char *qo = gocompat_quote(orig, strlen(orig));
            return err_make(err, ERR_INVALID, 0, "time: unknown unit %s in duration %s", qu, qo);
        }
        s += i;
        if (v > (UINT64_C(1) << 63) / unit)
            return duration_error(err, "invalid duration", orig);
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > (UINT64_C(1) << 63))
                return duration_error(err, "invalid duration", orig);
        }
        d += v;
        if (d > (UINT64_C(1) << 63))
            return duration_error(err, "invalid duration", orig);
    }
    if (neg) {
        *out = d == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)d;
        return 0;
    }
    if (d > (uint64_t)INT64_MAX)
        return duration_error(err, "invalid duration", orig);
    *out = (int64_t)d;
    return 0;
}

int
gocompat_parse_int(const char *s, int bits, int64_t *out, struct err **err)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    cleanup_free char *q = gocompat_quote(s, strlen(s));
    if (*p == '\0')
        return err_make(err, ERR_INVALID, 0, "strconv.ParseInt: parsing %s: invalid syntax", q);
    uint64_t limit = UINT64_C(1) << (bits - 1); /* |min|; max is limit - 1 */
    uint64_t v = 0;
    bool range = false;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return err_make(err, ERR_INVALID, 0, "strconv.ParseInt: parsing %s: invalid syntax", q);
        if (v > (UINT64_MAX - 9) / 10)
            range = true;
        else
            v = v * 10 + (uint64_t)(*p - '0');
    }
    if (range || (!neg && v >= limit) || (neg && v > limit))
        return err_make(err, ERR_INVALID, 0, "strconv.ParseInt: parsing %s: value out of range", q);
    *out = neg ? -(int64_t)(v - 1) - 1 : (int64_t)v;
    if (neg && v == 0)
        *out = 0;
    return 0;
}

void *
gocompat_grow(void *v, size_t n, size_t size)
{
    if (v != NULL && n != 0 && (n & (n - 1)) != 0)
        return v; /* the last growth, at the power of two below n, left room up to 2n + 2 */
    return xrealloc(v, (2 * n + 2) * size);
}
