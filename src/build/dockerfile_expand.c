/*
 * The shell lexer of buildkit's frontend/dockerfile/shell as dockerd 20.10 vendors it: quotes,
 * escapes, $name and ${name...} expansion, and splitting into words. Go's version walks runes;
 * this one walks bytes and copies multi-byte runes whole, which is the same for valid UTF-8
 * (Go turns an invalid byte into U+FFFD; here it stays as it is).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "build/dockerfile_internal.h"
#include "build/gocompat.h"

/* Nesting of ${a:-${b:-...}} and quotes inside them; Go recurses without a bound, the C stack
 * cannot. */
enum { MAX_DEPTH = 64 };

struct words {
    struct buf word;
    bool in_word;
    char **list;
    size_t n;
};

struct lexer {
    const char *s;
    size_t n, pos;
    const struct dockerfile_lexopts *o;
    char escape;
    int depth;
    enum err_kind kind;
    char reason[ERR_MSG_MAX];
};

static void
put(struct buf *b, const char *s, size_t n)
{
    /* Unbounded here: every producer checks DOCKERFILE_EXPAND_MAX (see check_size). */
    (void)buf_append(b, s, n, NULL);
}

static int
fail(struct lexer *lx, enum err_kind kind, const char *reason)
{
    lx->kind = kind;
    snprintf(lx->reason, sizeof(lx->reason), "%s", reason);
    return -1;
}

static int
check_size(struct lexer *lx, const struct buf *b)
{
    if (b->len > DOCKERFILE_EXPAND_MAX)
        return fail(lx, ERR_TOO_LARGE, "expansion exceeds the limit of 4194304 bytes");
    return 0;
}

static void
words_push(struct words *w)
{
    w->list = gocompat_grow(w->list, w->n, sizeof(char *));
    w->list[w->n++] = buf_take(&w->word, NULL);
    w->list[w->n] = NULL;
}

static void
words_add_raw(struct words *w, const char *s, size_t n)
{
    if (w == NULL)
        return;
    put(&w->word, s, n);
    w->in_word = true;
}

/* Go's addChar: a blank ends a non-empty word; other runes are added. */
static void
words_add_char(struct words *w, const char *s, size_t n)
{
    if (w == NULL)
        return;
    uint32_t r;
    gocompat_decode_rune(s, n, &r);
    bool space = gocompat_is_space_rune(r);
    if (space && w->in_word) {
        if (w->word.len != 0) {
            words_push(w);
            w->in_word = false;
        }
    } else if (!space) {
        words_add_raw(w, s, n);
    }
}

static void
words_add_string(struct words *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t r;
        size_t k = gocompat_decode_rune(s + i, n - i, &r);
        words_add_char(w, s + i, k);
        i += k;
    }
}

static int
peek(const struct lexer *lx)
{
    return lx->pos < lx->n ? (unsigned char)lx->s[lx->pos] : -1;
}

/* Consumes the rune at pos; returns its width (0 at the end). */
static size_t
next_rune(struct lexer *lx)
{
    uint32_t r;
    size_t w = gocompat_decode_rune(lx->s + lx->pos, lx->n - lx->pos, &r);
    lx->pos += w;
    return w;
}

static int stop_on(struct lexer *lx, int stop, struct buf *out, struct words *w);

static int
single_quote(struct lexer *lx, struct buf *out)
{
    lx->pos++;
    if (lx->o->raw_quotes)
        put(out, "'", 1);
    for (;;) {
        if (lx->pos >= lx->n)
            return fail(lx, ERR_INVALID,
                        "unexpected end of statement while looking for matching single-quote");
        const char *at = lx->s + lx->pos;
        size_t k = next_rune(lx);
        if (*at == '\'') {
            if (lx->o->raw_quotes)
                put(out, "'", 1);
            return 0;
        }
        put(out, at, k);
    }
}

static int process_dollar(struct lexer *lx, struct buf *out);

static int
double_quote(struct lexer *lx, struct buf *out)
{
    lx->pos++;
    if (lx->o->raw_quotes)
        put(out, "\"", 1);
    for (;;) {
        int c = peek(lx);
        if (c < 0)
            return fail(lx, ERR_INVALID,
                        "unexpected end of statement while looking for matching double-quote");
        if (c == '"') {
            lx->pos++;
            if (lx->o->raw_quotes)
                put(out, "\"", 1);
            return 0;
        }
        if (c == '$') {
            if (process_dollar(lx, out) < 0 || check_size(lx, out) < 0)
                return -1;
            continue;
        }
        const char *at = lx->s + lx->pos;
        size_t k = next_rune(lx);
        if (c == lx->escape) {
            if (lx->o->raw_escapes)
                put(out, at, k);
            int d = peek(lx);
            if (d < 0)
                continue; /* a trailing escape token is dropped; the loop then fails */
            if (d == '"' || d == '$' || d == lx->escape) {
                at = lx->s + lx->pos;
                k = next_rune(lx);
            }
            /* Otherwise the escape token stays literal (written again in raw mode, as Go does). */
        }
        put(out, at, k);
    }
}

/* processName: ASCII letters, digits and '_'; a run of digits; or one special parameter. */
static void
process_name(struct lexer *lx, struct buf *name)
{
    int c;
    while ((c = peek(lx)) >= 0) {
        if (name->len == 0 && c >= '0' && c <= '9') {
            while ((c = peek(lx)) >= '0' && c <= '9') {
                put(name, lx->s + lx->pos, 1);
                lx->pos++;
            }
            return;
        }
        if (name->len == 0 && strchr("@*#?-$!0", c) != NULL) {
            put(name, lx->s + lx->pos, 1);
            lx->pos++;
            return;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return;
        put(name, lx->s + lx->pos, 1);
        lx->pos++;
    }
}

static bool
get_env(const struct lexer *lx, const char *name, const char **value)
{
    const struct dockerfile_expand_opts *p = &lx->o->pub;
    if (p->lookup != NULL)
        return p->lookup(p->ctx, name, value);
    size_t n = strlen(name);
    bool found = false;
    for (size_t i = 0; p->env != NULL && p->env[i] != NULL; i++) {
        const char *e = p->env[i];
        const char *eq = strchr(e, '=');
        size_t k = eq ? (size_t)(eq - e) : strlen(e);
        if (k == n && memcmp(e, name, n) == 0) {
            *value = eq ? eq + 1 : "";
            found = true; /* keep going: the last entry wins, as in buildkit's BuildEnvs */
        }
    }
    return found;
}

/* The word of ${name<op>word} up to the closing brace, with buildkit's error for a missing one. */
static int
brace_word(struct lexer *lx, struct buf *word)
{
    if (stop_on(lx, '}', word, NULL) == 0)
        return 0;
    if (lx->kind == ERR_INVALID && peek(lx) < 0)
        fail(lx, ERR_INVALID, "syntax error: missing '}'");
    return -1;
}

static int
required(struct lexer *lx, const char *name, const struct buf *word, const char *dflt)
{
    char msg[ERR_MSG_MAX];
    snprintf(msg, sizeof(msg), "%s: %s", name, word->len ? word->data : dflt);
    return fail(lx, ERR_INVALID, msg);
}

/* The form written back when the variable is unset and keep_unset is on: "${name<op>word}". */
static void
keep_form(struct buf *out, const char *name, const char *op, const struct buf *word)
{
    put(out, "${", 2);
    put(out, name, strlen(name));
    put(out, op, strlen(op));
    put(out, word->data ? word->data : "", word->len);
    put(out, "}", 1);
}

/* ${name:<mod>word} once the word is read. */
static int
colon_apply(struct lexer *lx, const char *name, const char *mod, size_t modlen,
            const struct buf *word, struct buf *out)
{
    const char *value = "";
    bool found = get_env(lx, name, &value);
    bool keep = !found && lx->o->pub.keep_unset;
    const char *w = word->data ? word->data : "";
    switch (modlen == 1 ? *mod : 0) {
    case '+':
    case '-':
        if (keep)
            keep_form(out, name, *mod == '+' ? ":+" : ":-", word);
        else if ((*mod == '+') == (*value != '\0'))
            put(out, w, word->len);
        else
            put(out, value, strlen(value));
        return 0;
    case '?':
        if (keep)
            keep_form(out, name, ":?", word);
        else if (!found)
            return required(lx, name, word, "is not allowed to be unset");
        else if (*value == '\0')
            return required(lx, name, word, "is not allowed to be empty");
        else
            put(out, value, strlen(value));
        return 0;
    default: {
        char msg[64];
        snprintf(msg, sizeof(msg), "unsupported modifier (%.*s) in substitution", (int)modlen, mod);
        return fail(lx, ERR_INVALID, msg);
    }
    }
}

/* ${name:<mod>word}: the colon is consumed; the word is read before the modifier is checked. */
static int
colon_form(struct lexer *lx, const char *name, struct buf *out)
{
    const char *mod = lx->s + lx->pos;
    size_t modlen = next_rune(lx);
    struct buf word;
    buf_init(&word, SIZE_MAX / 2);
    int rc = brace_word(lx, &word);
    if (rc == 0)
        rc = colon_apply(lx, name, mod, modlen, &word, out);
    buf_fini(&word);
    return rc;
}

/* ${name?word}: the question mark is consumed. */
static int
question_form(struct lexer *lx, const char *name, struct buf *out)
{
    struct buf word;
    buf_init(&word, SIZE_MAX / 2);
    int rc = brace_word(lx, &word);
    const char *value = "";
    if (rc == 0 && get_env(lx, name, &value)) {
        put(out, value, strlen(value));
    } else if (rc == 0 && lx->o->pub.keep_unset) {
        keep_form(out, name, "?", &word);
    } else if (rc == 0) {
        rc = required(lx, name, &word, "is not allowed to be unset");
    }
    buf_fini(&word);
    return rc;
}

/* "$name" or "${name}" written back for an unset variable under keep_unset. */
static void
keep_plain(struct buf *out, const char *name, size_t n, bool braces)
{
    put(out, braces ? "${" : "$", braces ? 2 : 1);
    put(out, name, n);
    if (braces)
        put(out, "}", 1);
}

/* $name, without braces: the '$' is consumed. */
static void
plain_dollar(struct lexer *lx, struct buf *out)
{
    struct buf name;
    const char *value = "";
    buf_init(&name, SIZE_MAX / 2);
    process_name(lx, &name);
    if (name.len == 0)
        put(out, "$", 1);
    else if (get_env(lx, name.data, &value))
        put(out, value, strlen(value));
    else if (lx->o->pub.keep_unset)
        keep_plain(out, name.data, name.len, false);
    buf_fini(&name);
}

/* ${name...}: the "${" is consumed. */
static int
brace_dollar(struct lexer *lx, struct buf *out)
{
    int c = peek(lx);
    if (c < 0)
        return fail(lx, ERR_INVALID, "syntax error: missing '}'");
    if (c == '{' || c == '}' || c == ':')
        return fail(lx, ERR_INVALID, "syntax error: bad substitution");
    struct buf name;
    const char *value = "";
    int rc = 0;
    buf_init(&name, SIZE_MAX / 2);
    process_name(lx, &name);
    put(&name, "", 0); /* a NUL-terminated name even when empty */
    c = peek(lx);
    if (c >= 0)
        next_rune(lx);
    if (c == '}') {
        if (get_env(lx, name.data, &value))
            put(out, value, strlen(value));
        else if (lx->o->pub.keep_unset)
            keep_plain(out, name.data, name.len, true);
    } else if (c == '?') {
        rc = question_form(lx, name.data, out);
    } else if (c == ':') {
        rc = colon_form(lx, name.data, out);
    } else {
        rc = fail(lx, ERR_INVALID, "missing ':' in substitution");
    }
    buf_fini(&name);
    return rc;
}

static int
process_dollar(struct lexer *lx, struct buf *out)
{
    lx->pos++; /* '$' */
    if (peek(lx) != '{') {
        plain_dollar(lx, out);
        return 0;
    }
    lx->pos++; /* '{' */
    return brace_dollar(lx, out);
}

/* processPossibleHeredoc (newer buildkit): "<<" and the blanks after it stay in one word. */
static void
possible_heredoc(struct lexer *lx, struct buf *out)
{
    size_t start = lx->pos++;
    if (peek(lx) == '<') {
        lx->pos++;
        int c;
        while ((c = peek(lx)) == ' ' || c == '\t' || c == '\r' || c == '\n')
            lx->pos++;
    }
    put(out, lx->s + start, lx->pos - start);
}

/* processStopOn: up to the end, or past the stop character. */
static int
stop_on(struct lexer *lx, int stop, struct buf *out, struct words *w)
{
    if (++lx->depth > MAX_DEPTH)
        return fail(lx, ERR_INVALID, "too many nested substitutions");
    int c;
    while ((c = peek(lx)) >= 0) {
        if (stop >= 0 && c == stop) {
            lx->pos++;
            goto done;
        }
        struct buf tmp;
        bool special = true;
        buf_init(&tmp, SIZE_MAX / 2);
        int rc = 0;
        if (c == '$')
            rc = process_dollar(lx, &tmp);
        else if (c == '<' && lx->o->heredoc_words)
            possible_heredoc(lx, &tmp);
        else if (c == '\'' && !lx->o->pub.keep_quotes)
            rc = single_quote(lx, &tmp);
        else if (c == '"' && !lx->o->pub.keep_quotes)
            rc = double_quote(lx, &tmp);
        else
            special = false;
        if (special) {
            if (rc == 0) {
                put(out, tmp.data ? tmp.data : "", tmp.len);
                if (c == '$')
                    words_add_string(w, tmp.data ? tmp.data : "", tmp.len);
                else
                    words_add_raw(w, tmp.data ? tmp.data : "", tmp.len);
                rc = check_size(lx, out);
            }
            buf_fini(&tmp);
            if (rc < 0)
                return -1;
            continue;
        }
        const char *at = lx->s + lx->pos;
        size_t k = next_rune(lx);
        if (c == lx->escape) {
            if (lx->o->raw_escapes) {
                words_add_raw(w, at, k);
                put(out, at, k);
            }
            if (peek(lx) < 0)
                break; /* a trailing escape token is dropped */
            at = lx->s + lx->pos;
            k = next_rune(lx);
            words_add_raw(w, at, k);
        } else {
            words_add_char(w, at, k);
        }
        put(out, at, k);
    }
    if (stop >= 0) {
        char msg[80];
        snprintf(msg, sizeof(msg), "unexpected end of statement while looking for matching %c",
                 stop);
        return fail(lx, ERR_INVALID, msg);
    }
done:
    lx->depth--;
    return 0;
}

int
dockerfile_expand_lex(const char *word, size_t len, const struct dockerfile_lexopts *o,
                      char **result, char ***words, struct err **err)
{
    struct lexer lx = {.s = word, .n = len, .o = o, .escape = o->pub.escape ? o->pub.escape : '\\'};
    struct buf out;
    struct words w = {.in_word = false};
    buf_init(&out, SIZE_MAX / 2);
    buf_init(&w.word, SIZE_MAX / 2);
    if (stop_on(&lx, -1, &out, words != NULL ? &w : NULL) < 0) {
        buf_fini(&out);
        buf_fini(&w.word);
        strv_free(w.list);
        cleanup_free char *q = gocompat_quote(word, len);
        return err_make(err, lx.kind, 0, "failed to process %s: %s", q, lx.reason);
    }
    if (w.word.len > 0)
        words_push(&w);
    buf_fini(&w.word);
    if (words != NULL)
        *words = w.list != NULL ? w.list : xcalloc(1, sizeof(char *));
    if (result != NULL)
        *result = buf_take(&out, NULL);
    buf_fini(&out);
    return 0;
}

char *
dockerfile_expand(const char *word, const struct dockerfile_expand_opts *opts, struct err **err)
{
    struct dockerfile_lexopts o = {.pub = *opts};
    char *result;
    if (dockerfile_expand_lex(word, strlen(word), &o, &result, NULL, err) < 0)
        return NULL;
    return result;
}

char **
dockerfile_expand_words(const char *word, const struct dockerfile_expand_opts *opts,
                        struct err **err)
{
    struct dockerfile_lexopts o = {.pub = *opts};
    char **words;
    if (dockerfile_expand_lex(word, strlen(word), &o, NULL, &words, err) < 0)
        return NULL;
    return words;
}
