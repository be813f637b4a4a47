#include "engine/ids.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/timeutil.h"

static void
random_bytes(void *buf, size_t n)
{
    if (getrandom(buf, n, 0) == (ssize_t)n)
        return;
    /* getrandom only fails this way before the kernel's pool is seeded: mix the clock. */
    unsigned char *p = buf;
    uint64_t x = (uint64_t)time_mono_ns() * 6364136223846793005ULL + 1442695040888963407ULL;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] ^= (unsigned char)x;
    }
}

void
id_generate(char out[ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (;;) {
        unsigned char b[ID_LEN / 2];
        random_bytes(b, sizeof(b));
        bool all_digits = true;
        for (size_t i = 0; i < sizeof(b); i++) {
            out[2 * i] = hex[b[i] >> 4];
            out[2 * i + 1] = hex[b[i] & 15];
        }
        out[ID_LEN] = '\0';
        for (size_t i = 0; i < SHORT_ID_LEN && all_digits; i++)
            all_digits = out[i] >= '0' && out[i] <= '9';
        if (!all_digits)
            return;
    }
}

static bool
is_lower_hex(const char *s, size_t min, size_t max)
{
    size_t n = strspn(s, "0123456789abcdef");
    return s[n] == '\0' && n >= min && n <= max;
}

bool
id_is_full(const char *s)
{
    return is_lower_hex(s, ID_LEN, ID_LEN);
}

bool
id_is_prefix(const char *s)
{
    return is_lower_hex(s, 1, ID_LEN);
}

static bool
is_name_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return !first && (c == '_' || c == '.' || c == '-');
}

int
name_validate(const char *name, struct err **err)
{
    const char *s = name[0] == '/' ? name + 1 : name;
    size_t n = strlen(s);
    bool ok = n >= 2 && n <= NAME_MAX_LEN;
    for (size_t i = 0; ok && i < n; i++)
        ok = is_name_char(s[i], i == 0);
    if (!ok)
        return err_make(err, ERR_INVALID, 0,
                        "Invalid container name (%.64s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                        "allowed",
                        name);
    return 0;
}

/* Our own lists: moods and qualities, and people who shaped computing and science. */
static const char *const adjectives[] = {
    "agile",   "amber",   "bold",    "brave",   "bright",  "calm",   "candid",  "clever",
    "cosmic",  "crisp",   "curious", "daring",  "deft",    "eager",  "earnest", "fearless",
    "festive", "fluent",  "focused", "frank",   "gentle",  "gifted", "glad",    "graceful",
    "hardy",   "humble",  "jolly",   "keen",    "kind",    "lively", "loyal",   "lucid",
    "mellow",  "merry",   "mighty",  "modest",  "nimble",  "noble",  "patient", "placid",
    "plucky",  "polite",  "proud",   "quiet",   "radiant", "rapid",  "serene",  "sharp",
    "shiny",   "sincere", "snappy",  "solid",   "spry",    "steady", "stoic",   "sunny",
    "swift",   "tender",  "thrifty", "tidy",    "trusty",  "upbeat", "valiant", "vivid",
    "warm",    "wise",    "witty",   "zealous",
};

static const char *const surnames[] = {
    "allen",     "babbage",  "backus",   "bardeen",    "berners",  "boole",    "brattain",
    "cerf",      "church",   "codd",     "conway",     "curie",    "dijkstra", "einstein",
    "engelbart", "euler",    "faraday",  "fermi",      "feynman",  "franklin", "gauss",
    "goldberg",  "hamilton", "hopper",   "johnson",    "kahn",     "kay",      "kepler",
    "kernighan", "knuth",    "lamarr",   "lamport",    "lovelace", "mccarthy", "meitner",
    "minsky",    "moore",    "newton",   "noether",    "pascal",   "perlman",  "ritchie",
    "shannon",   "sammet",   "stallman", "sutherland", "tesla",    "thompson", "torvalds",
    "turing",    "wilkes",   "wirth",    "wozniak",    "yonath",
};

void
name_generate(char *out, size_t size, unsigned attempt)
{
    uint32_t r[2];
    random_bytes(r, sizeof(r));
    const char *a = adjectives[r[0] % (sizeof(adjectives) / sizeof(adjectives[0]))];
    const char *s = surnames[r[1] % (sizeof(surnames) / sizeof(surnames[0]))];
    if (attempt == 0)
        snprintf(out, size, "%s_%s", a, s);
    else
        snprintf(out, size, "%s_%s%u", a, s, attempt);
}
