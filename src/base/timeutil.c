#include "base/timeutil.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { NS_PER_SEC = 1000000000 };

static int64_t
clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t
time_now_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

int64_t
time_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

void
time_format_rfc3339nano(int64_t ns, char *out, size_t size)
{
    int64_t sec = ns / NS_PER_SEC;
    int64_t frac = ns % NS_PER_SEC;
    if (frac < 0) {
        frac += NS_PER_SEC;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
}

/* Reads exactly n digits at *p into *out. */
static bool
read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Reads an optional ".digits" fraction as nanoseconds (extra digits past nine are dropped). */
static bool
read_fraction(const char **p, int64_t *ns)
{
    *ns = 0;
    if (**p != '.')
        return true;
    (*p)++;
    if (!isdigit((unsigned char)**p))
        return false;
    int64_t scale = NS_PER_SEC / 10;
    while (isdigit((unsigned char)**p)) {
        *ns += (**p - '0') * scale;
        scale /= 10;
        (*p)++;
    }
    return true;
}

static bool
parse_unix(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t sec = 0;
    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p)) {
        if (sec > (INT64_MAX / NS_PER_SEC) / 10)
            return false;
        sec = sec * 10 + (*p - '0');
        p++;
    }
    int64_t frac;
    /* the last digit may still take sec past what nanoseconds hold (fuzz_filters) */
    if (!read_fraction(&p, &frac) || *p != '\0' || sec > INT64_MAX / NS_PER_SEC - 1)
        return false;
    *out = sec * NS_PER_SEC + frac;
    return true;
}

static bool
parse_rfc3339(const char *s, int64_t *out)
{
    const char *p = s;
    struct tm tm = {0};
    int year, mon, day, hour, min, sec;
    if (!read_digits(&p, 4, &year) || *p++ != '-' || !read_digits(&p, 2, &mon) || *p++ != '-' ||
        !read_digits(&p, 2, &day) || (*p != 'T' && *p != 't'))
        return false;
    p++;
    if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &min) || *p++ != ':' ||
        !read_digits(&p, 2, &sec))
        return false;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
        return false;
    int64_t frac;
    if (!read_fraction(&p, &frac))
        return false;
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        p++;
        if (!read_digits(&p, 2, &oh) || *p++ != ':' || !read_digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return false;
        offset = sign * (int64_t)(oh * 3600 + om * 60);
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    /* Nanoseconds since the epoch hold years 1678 to 2262; a year the four digits allow past
     * that would overflow (fuzz_filters). */
    int64_t t = (int64_t)timegm(&tm) - offset;
    if (t > INT64_MAX / NS_PER_SEC - 1 || t < INT64_MIN / NS_PER_SEC + 1)
        return false;
    *out = t * NS_PER_SEC + frac;
    return true;
}

int
time_parse_timestamp(const char *text, int64_t *out_ns, struct err **err)
{
    int64_t ns;
    if (parse_unix(text, &ns) || parse_rfc3339(text, &ns)) {
        *out_ns = ns;
        return 0;
    }
    return err_make(err, ERR_INVALID, 0, "invalid timestamp: %.64s", text);
}
