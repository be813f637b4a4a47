/*
 * .dockerignore patterns, after moby/patternmatcher: a pattern is classified as patternmatcher's
 * compile() does (exact; prefix: literal + "**"; suffix: "**" + literal; or general) and a general
 * one is matched by a small NFA over runes equivalent to the regular expression patternmatcher
 * builds:
 * '*' is [^/]*, '?' is [^/], "**" inside is (.*)/ optional, "**" at the end is .* (Go's '.'
 * does not match a newline, so neither do these).
 */
#include "build/dockerignore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "build/gocompat.h"

enum match_type { MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, MATCH_GENERAL };

enum tok_kind {
    TOK_LIT,      /* one rune */
    TOK_ANY,      /* '?': one rune but '/' */
    TOK_CLASS,    /* [...] */
    TOK_STAR,     /* '*': runes but '/' */
    TOK_DSTAR,    /* "**" not at the end: empty, or anything ending with '/' */
    TOK_DSTAR_END /* "**" at the end: anything */
};

struct range {
    uint32_t lo, hi;
};

struct tok {
    enum tok_kind kind;
    uint32_t rune;
    bool negated;
    struct range *ranges;
    size_t n_ranges;
};

struct dockerignore_glob {
    enum match_type type;
    struct tok *toks;
    size_t n;
};

static const char bad_pattern[] = "syntax error in pattern";

/* ---- filepath.Match's syntax ---- */

/* getEsc: one class character (maybe escaped) at *p; false when malformed. */
static bool
class_char(const char **p, uint32_t *r)
{
    const char *s = *p;
    if (*s == '\0' || *s == '-' || *s == ']')
        return false;
    if (*s == '\\') {
        s++;
        if (*s == '\0')
            return false;
    }
    size_t w = gocompat_decode_rune(s, strlen(s), r);
    if (*r == 0xFFFD && w == 1)
        return false;
    s += w;
    if (*s == '\0')
        return false; /* the class must still be closed */
    *p = s;
    return true;
}

/* A class starting at *p (on the '['): its ranges into t, *p past the ']'. */
static bool
parse_class(const char **p, struct tok *t)
{
    const char *s = *p + 1;
    *t = (struct tok){.kind = TOK_CLASS};
    if (*s == '^') {
        t->negated = true;
        s++;
    }
    for (;;) {
        if (*s == ']' && t->n_ranges > 0) {
            *p = s + 1;
            return true;
        }
        struct range rg;
        if (!class_char(&s, &rg.lo))
            return false;
        rg.hi = rg.lo;
        if (*s == '-') {
            s++;
            if (!class_char(&s, &rg.hi))
                return false;
        }
        if (rg.lo > rg.hi)
            return false; /* Go's regexp refuses it when matching; refused here at once */
        t->ranges = gocompat_grow(t->ranges, t->n_ranges, sizeof(rg));
        t->ranges[t->n_ranges++] = rg;
    }
}

/* ---- compile (patternmatcher's Pattern.compile) ---- */

static void
glob_free(struct dockerignore_glob *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n; i++)
        free(g->toks[i].ranges);
    free(g->toks);
    free(g);
}

static void
add_tok(struct dockerignore_glob *g, struct tok t)
{
    g->toks = gocompat_grow(g->toks, g->n, sizeof(t));
    g->toks[g->n++] = t;
}

static struct dockerignore_glob *
compile(const char *pat)
{
    struct dockerignore_glob *g = xcalloc(1, sizeof(*g));
    g->type = MATCH_EXACT;
    size_t n = strlen(pat);
    const char *p = pat;
    for (int i = 0; *p != '\0'; i++) {
        uint32_t c;
        p += gocompat_decode_rune(p, (size_t)(pat + n - p), &c);
        if (c == '*' && *p == '*') {
            p++;
            if (*p == '/')
                p++;
            if (*p == '\0') {
                if (g->type == MATCH_EXACT) {
                    g->type = MATCH_PREFIX;
                } else {
                    add_tok(g, (struct tok){.kind = TOK_DSTAR_END});
                    g->type = MATCH_GENERAL;
                }
            } else {
                add_tok(g, (struct tok){.kind = TOK_DSTAR});
                g->type = MATCH_GENERAL;
            }
            if (i == 0)
                g->type = MATCH_SUFFIX;
        } else if (c == '*' || c == '?') {
            add_tok(g, (struct tok){.kind = c == '*' ? TOK_STAR : TOK_ANY});
            g->type = MATCH_GENERAL;
        } else if (c == '\\') {
            /* The pattern is valid: something follows. */
            p += gocompat_decode_rune(p, (size_t)(pat + n - p), &c);
            add_tok(g, (struct tok){.kind = TOK_LIT, .rune = c});
            g->type = MATCH_GENERAL;
        } else if (c == '[') {
            struct tok t;
            p--;
            if (!parse_class(&p, &t)) {
                free(t.ranges);
                glob_free(g);
                return NULL;
            }
            add_tok(g, t);
            g->type = MATCH_GENERAL;
        } else {
            add_tok(g, (struct tok){.kind = TOK_LIT, .rune = c});
            if (c == ']')
                g->type = MATCH_GENERAL;
        }
    }
    return g;
}

/* filepath.Match's checks, which patternmatcher runs on every pattern first. */
static bool
valid(const char *p)
{
    while (*p != '\0') {
        if (*p == '\\') {
            if (p[1] == '\0')
                return false;
            p += 2;
        } else if (*p == '[') {
            struct tok t;
            bool ok = parse_class(&p, &t);
            free(t.ranges);
            if (!ok)
                return false;
        } else {
            p++;
        }
    }
    return true;
}

/* ---- matching: an NFA over the tokens ---- */

struct nfa {
    const struct dockerignore_glob *g;
    bool *cur, *inside; /* cur[i]: tokens before i matched; inside[i]: within a "**" */
    bool *next, *next_inside;
};

static void
nfa_closure(struct nfa *m)
{
    for (size_t i = 0; i < m->g->n; i++) {
        enum tok_kind k = m->g->toks[i].kind;
        if (m->cur[i] && (k == TOK_STAR || k == TOK_DSTAR || k == TOK_DSTAR_END))
            m->cur[i + 1] = true;
    }
}

static void
nfa_init(struct nfa *m, const struct dockerignore_glob *g)
{
    m->g = g;
    m->cur = xcalloc(g->n + 1, sizeof(bool));
    m->inside = xcalloc(g->n + 1, sizeof(bool));
    m->next = xcalloc(g->n + 1, sizeof(bool));
    m->next_inside = xcalloc(g->n + 1, sizeof(bool));
    m->cur[0] = true;
    nfa_closure(m);
}

static void
nfa_fini(struct nfa *m)
{
    free(m->cur);
    free(m->inside);
    free(m->next);
    free(m->next_inside);
}

static bool
class_has(const struct tok *t, uint32_t c)
{
    bool in = false;
    for (size_t i = 0; i < t->n_ranges && !in; i++)
        in = c >= t->ranges[i].lo && c <= t->ranges[i].hi;
    return in != t->negated;
}

/* Consumes one rune; returns whether any state is still alive. */
static bool
nfa_step(struct nfa *m, uint32_t c)
{
    size_t n = m->g->n;
    bool *cur = m->next, *inside = m->next_inside;
    bool alive = false;
    memset(cur, 0, (n + 1) * sizeof(bool));
    memset(inside, 0, (n + 1) * sizeof(bool));
    for (size_t i = 0; i < n; i++) {
        const struct tok *t = &m->g->toks[i];
        if (m->inside[i] && c != '\n') {
            inside[i] = true;
            cur[i + 1] |= c == '/';
        }
        if (!m->cur[i])
            continue;
        switch (t->kind) {
        case TOK_LIT:
            cur[i + 1] |= c == t->rune;
            break;
        case TOK_ANY:
            cur[i + 1] |= c != '/';
            break;
        case TOK_CLASS:
            cur[i + 1] |= class_has(t, c);
            break;
        case TOK_STAR:
            cur[i] |= c != '/';
            break;
        case TOK_DSTAR:
            inside[i] |= c != '\n';
            cur[i + 1] |= c == '/';
            break;
        case TOK_DSTAR_END:
            cur[i] |= c != '\n';
            break;
        }
    }
    m->next = m->cur;
    m->next_inside = m->inside;
    m->cur = cur;
    m->inside = inside;
    nfa_closure(m);
    for (size_t i = 0; i <= n && !alive; i++)
        alive = cur[i] || inside[i];
    return alive;
}

static bool
general_match(const struct dockerignore_glob *g, const char *path)
{
    struct nfa m;
    nfa_init(&m, g);
    size_t n = strlen(path);
    bool alive = true;
    for (size_t i = 0; i < n && alive;) {
        uint32_t c;
        i += gocompat_decode_rune(path + i, n - i, &c);
        alive = nfa_step(&m, c);
    }
    bool ok = alive && m.cur[g->n];
    nfa_fini(&m);
    return ok;
}

static bool
pattern_match(const struct dockerignore_pattern *p, const char *path)
{
    const char *text = p->text;
    size_t tl = strlen(text), pl = strlen(path);
    switch (p->glob->type) {
    case MATCH_EXACT:
        return strcmp(path, text) == 0;
    case MATCH_PREFIX: /* "x**": the text without the "**" starts the path */
        return strncmp(path, text, tl - 2) == 0;
    case MATCH_SUFFIX: { /* "**x": the path ends with x; "**" "/x" also matches "x" */
        const char *suffix = text + 2;
        size_t sl = tl - 2;
        if (pl >= sl && memcmp(path + pl - sl, suffix, sl) == 0)
            return true;
        return sl > 0 && suffix[0] == '/' && strcmp(path, suffix + 1) == 0;
    }
    case MATCH_GENERAL:
        return general_match(p->glob, path);
    }
    return false;
}

/* The pattern matches path or one of its parent directories. */
static bool
match_or_parent(const struct dockerignore_pattern *p, const char *path)
{
    if (pattern_match(p, path))
        return true;
    cleanup_free char *prefix = xstrdup(path);
    for (char *slash = strchr(prefix, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        bool m = pattern_match(p, prefix);
        *slash = '/';
        if (m)
            return true;
    }
    return false;
}

bool
dockerignore_matches(const struct dockerignore *di, const char *relpath)
{
    cleanup_free char *path = gocompat_clean_path(relpath);
    if (strcmp(path, ".") == 0)
        return false;
    bool matched = false;
    for (size_t i = 0; i < di->n_patterns; i++) {
        const struct dockerignore_pattern *p = &di->patterns[i];
        /* Only an inclusion can change a path not matched yet, only an exception a matched one. */
        if (p->exception != matched)
            continue;
        if (match_or_parent(p, path))
            matched = !p->exception;
    }
    return matched;
}

/* Whether the general pattern can match reldir, a parent of it, or something below it. */
static bool
general_reaches(const struct dockerignore_glob *g, const char *dir)
{
    struct nfa m;
    nfa_init(&m, g);
    size_t n = strlen(dir);
    bool alive = true, hit = false;
    for (size_t i = 0; i <= n && alive && !hit;) {
        uint32_t c = '/';
        if (i < n)
            i += gocompat_decode_rune(dir + i, n - i, &c);
        else
            i++;
        if (c == '/' && m.cur[g->n])
            hit = true; /* matched a parent (or dir itself, before its final '/') */
        else
            alive = nfa_step(&m, c);
    }
    nfa_fini(&m);
    return hit || alive;
}

static bool
reaches_below(const struct dockerignore_pattern *p, const char *dir)
{
    size_t tl = strlen(p->text), dl = strlen(dir);
    switch (p->glob->type) {
    case MATCH_EXACT: /* the text is below dir, dir itself, or a parent of it */
        return (tl > dl && strncmp(p->text, dir, dl) == 0 && p->text[dl] == '/') ||
               match_or_parent(p, dir);
    case MATCH_PREFIX: {
        /* Some "dir/x" starts with the prefix when the two agree on their common length. */
        size_t pl = tl - 2;
        cleanup_free char *d = xasprintf("%s/", dir);
        return memcmp(p->text, d, pl < dl + 1 ? pl : dl + 1) == 0;
    }
    case MATCH_SUFFIX:
        return true; /* some path below ends with any suffix */
    case MATCH_GENERAL:
        return general_reaches(p->glob, dir);
    }
    return true;
}

bool
dockerignore_has_exception_below(const struct dockerignore *di, const char *reldir)
{
    if (!di->has_exceptions)
        return false;
    cleanup_free char *dir = gocompat_clean_path(reldir);
    for (size_t i = 0; i < di->n_patterns; i++) {
        const struct dockerignore_pattern *p = &di->patterns[i];
        if (!p->exception)
            continue;
        if (strcmp(dir, ".") == 0 || reaches_below(p, dir))
            return true;
    }
    return false;
}

/* ---- reading ---- */

void
dockerignore_fini(struct dockerignore *di)
{
    for (size_t i = 0; i < di->n_patterns; i++) {
        free(di->patterns[i].text);
        glob_free(di->patterns[i].glob);
    }
    free(di->patterns);
    *di = (struct dockerignore){0};
}

/* ignorefile.ReadAll's cleaning of one line (already known not to be a comment): trimmed,
 * "!" kept apart, filepath.Clean, no leading '/'. NULL for a blank line. */
static char *
clean_line(const char *s, size_t n)
{
    gocompat_trim_space(&s, &n);
    if (n == 0)
        return NULL;
    bool invert = s[0] == '!';
    if (invert) {
        s++;
        n--;
        gocompat_trim_space(&s, &n);
    }
    cleanup_free char *raw = xstrndup(s, n);
    cleanup_free char *clean = n > 0 ? gocompat_clean_path(raw) : xstrdup("");
    const char *c = clean;
    if (strlen(c) > 1 && c[0] == '/')
        c++;
    return xasprintf("%s%s", invert ? "!" : "", c);
}

/* PatternMatcher.New for one pattern. */
static int
add_pattern(struct dockerignore *di, const char *pattern, struct err **err)
{
    const char *s = pattern;
    size_t n = strlen(s);
    gocompat_trim_space(&s, &n);
    if (n == 0)
        return 0;
    cleanup_free char *raw = xstrndup(s, n);
    char *p = gocompat_clean_path(raw);
    bool exception = p[0] == '!';
    if (exception && p[1] == '\0') {
        free(p);
        return err_make(err, ERR_INVALID, 0, "illegal exclusion pattern: \"!\"");
    }
    if (exception)
        memmove(p, p + 1, strlen(p));
    struct dockerignore_glob *g = valid(p) ? compile(p) : NULL;
    if (g == NULL) {
        free(p);
        return err_make(err, ERR_INVALID, 0, "%s", bad_pattern);
    }
    di->patterns = gocompat_grow(di->patterns, di->n_patterns, sizeof(*di->patterns));
    di->patterns[di->n_patterns++] = (struct dockerignore_pattern){p, exception, g};
    di->has_exceptions |= exception;
    return 0;
}

int
dockerignore_init(struct dockerignore *out, char *const *patterns, struct err **err)
{
    struct dockerignore di = {0};
    for (size_t i = 0; patterns != NULL && patterns[i] != NULL; i++) {
        char *c = clean_line(patterns[i], strlen(patterns[i]));
        int rc = c != NULL ? add_pattern(&di, c, err) : 0;
        free(c);
        if (rc < 0) {
            dockerignore_fini(&di);
            return -1;
        }
    }
    *out = di;
    return 0;
}

int
dockerignore_parse(const char *text, size_t len, struct dockerignore *out, struct err **err)
{
    char **lines = xcalloc(1, sizeof(char *));
    size_t pos = 0, n_lines = 0;
    for (int line = 0; pos < len; line++) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += nl ? n + 1 : n;
        if (n > 65535) {
            strv_free(lines);
            return err_make(err, ERR_INVALID, 0,
                            "error reading .dockerignore: bufio.Scanner: token too long");
        }
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (line == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            n -= 3;
        }
        if (n > 0 && s[0] == '#')
            continue;
        if (memchr(s, '\0', n) != NULL) {
            strv_free(lines);
            return err_make(err, ERR_INVALID, 0, "%s", bad_pattern);
        }
        cleanup_free char *raw = xstrndup(s, n);
        char *c = clean_line(raw, n);
        if (c != NULL) {
            lines = gocompat_grow(lines, n_lines, sizeof(char *));
            lines[n_lines++] = c;
            lines[n_lines] = NULL;
        }
    }
    int rc = dockerignore_init(out, lines, err);
    strv_free(lines);
    return rc;
}
