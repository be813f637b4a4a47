/*
 * dockerfile_args: the argument forms of buildkit's line parsers (line_parsers.go,
 * split_command.go): builder flags, quote-aware words, JSON arrays, blank-separated lists and
 * ENV/LABEL/ARG pairs. The line they work on is already joined (dockerfile_lines.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "build/dockerfile_internal.h"
#include "build/gocompat.h"

static void
put(struct buf *b, const char *s, size_t n)
{
    /* Bounded by the input, itself at most DOCKERFILE_MAX_SIZE bytes. */
    (void)buf_append(b, s, n, NULL);
}

static bool
is_blank(char c) /* buildkit's reWhitespace: [\t\v\f\r ] */
{
    return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' ';
}

char **
dockerfile_args_split_blanks(const char *s, size_t len, size_t max, size_t *n)
{
    char **v = xcalloc(1, sizeof(char *));
    *n = 0;
    size_t i = 0;
    while (i <= len && len > 0) {
        size_t j = i;
        if (max == 0 || *n + 1 < max)
            while (j < len && !is_blank(s[j]))
                j++;
        else
            j = len;
        v = gocompat_grow(v, *n, sizeof(char *));
        v[(*n)++] = xstrndup(s + i, j - i);
        v[*n] = NULL;
        if (j == len)
            break;
        while (j < len && is_blank(s[j]))
            j++;
        i = j;
    }
    return v;
}

/* ---- the instruction line ---- */

static bool
is_byte_space(unsigned char c) /* unicode.IsSpace(rune(byte)): bytes read as Latin-1 */
{
    return c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == ' ' || c == 0x85 ||
           c == 0xA0;
}

/* extractBuilderFlags: the leading "--flag" words (quotes and backslashes removed); *rest
 * points past them. */
char **
dockerfile_args_flags(const char *s, size_t n, const char **rest, size_t *n_flags)
{
    char **words = xcalloc(1, sizeof(char *));
    *n_flags = 0;
    enum { SPACES, WORD, QUOTE } phase = SPACES;
    struct buf w;
    buf_init(&w, SIZE_MAX / 2);
    bool blank_ok = false;
    char quote = 0;
    *rest = s + n;
    for (size_t pos = 0; pos <= n; pos++) {
        char c = pos < n ? s[pos] : 0;
        if (phase == SPACES) {
            if (pos == n)
                break;
            if (is_byte_space((unsigned char)c))
                continue;
            if (c != '-' || pos + 1 == n || s[pos + 1] != '-') {
                *rest = s + pos;
                break;
            }
            phase = WORD;
        }
        if (pos == n) {
            if (!(w.len == 2 && memcmp(w.data, "--", 2) == 0) && (blank_ok || w.len > 0))
                goto push_and_end;
            break;
        }
        if (phase == WORD) {
            if (is_byte_space((unsigned char)c)) {
                phase = SPACES;
                if (w.len == 2 && memcmp(w.data, "--", 2) == 0) {
                    *rest = s + pos;
                    break;
                }
                if (blank_ok || w.len > 0) {
                    words = gocompat_grow(words, *n_flags, sizeof(char *));
                    words[(*n_flags)++] = buf_take(&w, NULL);
                    words[*n_flags] = NULL;
                }
                buf_fini(&w);
                blank_ok = false;
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
                blank_ok = true;
                phase = QUOTE;
                continue;
            }
        } else if (c == quote) {
            phase = WORD;
            continue;
        }
        if (c == '\\') {
            if (pos + 1 == n) {
                phase = WORD;
                continue; /* a trailing backslash is dropped */
            }
            c = s[++pos];
        }
        put(&w, &c, 1);
    }
    buf_fini(&w);
    return words;
push_and_end:
    words = gocompat_grow(words, *n_flags, sizeof(char *));
    words[(*n_flags)++] = buf_take(&w, NULL);
    words[*n_flags] = NULL;
    buf_fini(&w);
    return words;
}

/* parseWords: words split at blanks outside quotes; quotes and escapes are kept. */
static char **
parse_words(const char *s, size_t n, char escape, size_t *count)
{
    char **v = xcalloc(1, sizeof(char *));
    *count = 0;
    enum { SPACES, WORD, QUOTE } phase = SPACES;
    struct buf w;
    buf_init(&w, SIZE_MAX / 2);
    bool blank_ok = false;
    uint32_t quote = 0;
    for (size_t pos = 0; pos <= n;) {
        size_t k = 0;
        uint32_t r = 0;
        if (pos < n)
            k = gocompat_decode_rune(s + pos, n - pos, &r);
        if (phase == SPACES) {
            if (pos == n)
                break;
            if (gocompat_is_space_rune(r)) {
                pos += k;
                continue;
            }
            phase = WORD;
        }
        bool end = pos == n;
        if (end || (phase == WORD && gocompat_is_space_rune(r))) {
            if (blank_ok || w.len > 0) {
                v = gocompat_grow(v, *count, sizeof(char *));
                v[(*count)++] = buf_take(&w, NULL);
                v[*count] = NULL;
            }
            buf_fini(&w);
            if (end)
                break;
            phase = SPACES;
            blank_ok = false;
            pos += k;
            continue;
        }
        bool escapes = true;
        if (phase == WORD) {
            if (r == '\'' || r == '"') {
                quote = r;
                blank_ok = true;
                phase = QUOTE;
            }
        } else {
            if (r == quote)
                phase = WORD;
            escapes = quote != '\''; /* nothing escapes inside '...' */
        }
        if (r == (uint32_t)(unsigned char)escape && escapes) {
            if (pos + k == n) {
                phase = phase == QUOTE ? WORD : phase;
                pos += k;
                continue; /* an escape token at the end is dropped */
            }
            put(&w, s + pos, k);
            pos += k;
            k = gocompat_decode_rune(s + pos, n - pos, &r);
        }
        put(&w, s + pos, k);
        pos += k;
    }
    buf_fini(&w);
    return v;
}

/* ---- argument forms (line_parsers.go) ---- */

void
dockerfile_args_fini(struct dockerfile_args *p)
{
    strv_free(p->args);
    free(p->sub_cmd);
    *p = (struct dockerfile_args){0};
}

void
dockerfile_args_append(struct dockerfile_args *p, const char *s, size_t n)
{
    p->args = gocompat_grow(p->args, p->n_args, sizeof(char *));
    p->args[p->n_args++] = xstrndup(s, n);
    p->args[p->n_args] = NULL;
}

static const char not_strings[] =
    "when using JSON array syntax, arrays must be comprised of strings only";

/* parseJSON: 1 when rest is a JSON array of strings (into p), 0 when it is not JSON (the shell
 * form applies), -1 for an array holding something else. As dockerd 20.10's json.Decoder, text
 * after the array is ignored. */
static int
parse_json(const char *rest, size_t n, struct dockerfile_args *p, struct err **err)
{
    gocompat_trim_left(&rest, &n);
    if (n == 0 || rest[0] != '[')
        return 0;
    json_error_t jerr;
    json_t *arr = json_loadb(rest, n, JSON_DISABLE_EOF_CHECK, &jerr);
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr)) {
        json_decref(arr);
        return 0;
    }
    size_t i;
    json_t *el;
    json_array_foreach(arr, i, el)
    {
        if (!json_is_string(el)) {
            json_decref(arr);
            dockerfile_args_fini(p);
            return err_make(err, ERR_INVALID, 0, "%s", not_strings);
        }
        dockerfile_args_append(p, json_string_value(el), json_string_length(el));
    }
    json_decref(arr);
    if (p->args == NULL)
        p->args = xcalloc(1, sizeof(char *));
    p->json = true;
    return 1;
}

/* parseStringsWhitespaceDelimited */
static void
parse_blank_list(const char *rest, size_t n, struct dockerfile_args *p)
{
    if (n == 0)
        return;
    p->args = dockerfile_args_split_blanks(rest, n, 0, &p->n_args);
}

/* parseMaybeJSON: the JSON array, else the whole text as one word. */
static int
parse_maybe_json(const char *rest, size_t n, struct dockerfile_args *p, struct err **err)
{
    if (n == 0)
        return 0;
    int rc = parse_json(rest, n, p, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    dockerfile_args_append(p, rest, n);
    return 0;
}

/* parseMaybeJSONToList: the JSON array, else the words. */
static int
parse_maybe_json_list(const char *rest, size_t n, struct dockerfile_args *p, struct err **err)
{
    int rc = parse_json(rest, n, p, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    parse_blank_list(rest, n, p);
    return 0;
}

/* parseHealthConfig: the type word, then the command as parseMaybeJSON. The blanks here are
 * unicode.IsSpace of single bytes, as buildkit tests them. */
static int
parse_health(const char *rest, size_t n, struct dockerfile_args *p, struct err **err)
{
    size_t sep = 0;
    while (sep < n && !is_byte_space((unsigned char)rest[sep]))
        sep++;
    size_t next = sep;
    while (next < n && is_byte_space((unsigned char)rest[next]))
        next++;
    if (sep == 0)
        return 0;
    struct dockerfile_args cmd = {0};
    if (parse_maybe_json(rest + next, n - next, &cmd, err) < 0)
        return -1;
    dockerfile_args_append(p, rest, sep);
    for (size_t i = 0; i < cmd.n_args; i++)
        dockerfile_args_append(p, cmd.args[i], strlen(cmd.args[i]));
    p->json = cmd.json;
    dockerfile_args_fini(&cmd);
    return 0;
}

/* parseNameVal (ENV, LABEL) or the ARG words, without the instruction checks: pairs as written. */
int
dockerfile_args_pairs(const char *text, size_t len, char escape, enum dockerfile_cmd cmd,
                      struct dockerfile_kv **out, size_t *n_out, struct err **err)
{
    size_t n_words, n = 0;
    char **words = parse_words(text, len, escape, &n_words);
    struct dockerfile_kv *kvs = xcalloc(n_words + 1, sizeof(*kvs));
    int rc = 0;
    if (cmd == DOCKERFILE_ARG) {
        for (size_t i = 0; i < n_words; i++) {
            char *eq = strchr(words[i], '=');
            kvs[n].key = eq ? xstrndup(words[i], (size_t)(eq - words[i])) : xstrdup(words[i]);
            kvs[n++].value = eq ? xstrdup(eq + 1) : NULL;
        }
    } else if (n_words > 0 && strchr(words[0], '=') == NULL) {
        /* The legacy form: the first blank splits the key from the value. */
        size_t n_parts;
        char **parts = dockerfile_args_split_blanks(text, len, 2, &n_parts);
        if (n_parts < 2) {
            rc = err_make(err, ERR_INVALID, 0, "%s must have two arguments",
                          dockerfile_cmd_name(cmd));
        } else {
            kvs[0].key = xstrdup(parts[0]);
            kvs[0].value = xstrdup(parts[1]);
            n = 1;
        }
        strv_free(parts);
    } else {
        for (size_t i = 0; i < n_words; i++) {
            char *eq = strchr(words[i], '=');
            if (eq == NULL) {
                cleanup_free char *q = gocompat_quote(words[i], strlen(words[i]));
                rc = err_make(err, ERR_INVALID, 0,
                              "Syntax error - can't find = in %s. Must be of the form: "
                              "name=value",
                              q);
                break;
            }
            kvs[n].key = xstrndup(words[i], (size_t)(eq - words[i]));
            kvs[n++].value = xstrdup(eq + 1);
        }
    }
    strv_free(words);
    if (rc < 0) {
        dockerfile_kvs_free(kvs, n);
        return -1;
    }
    *out = kvs;
    *n_out = n;
    return 0;
}

/* ENV and LABEL: args are key, value, key, value...; ARG: the words. */
static int
parse_pairs(const char *rest, size_t n, char escape, enum dockerfile_cmd cmd,
            struct dockerfile_args *p, struct err **err)
{
    struct dockerfile_kv *kvs;
    size_t n_kvs;
    if (dockerfile_args_pairs(rest, n, escape, cmd, &kvs, &n_kvs, err) < 0)
        return -1;
    for (size_t i = 0; i < n_kvs; i++) {
        if (cmd == DOCKERFILE_ARG) {
            cleanup_free char *word =
                kvs[i].value ? xasprintf("%s=%s", kvs[i].key, kvs[i].value) : NULL;
            const char *w = word ? word : kvs[i].key;
            dockerfile_args_append(p, w, strlen(w));
        } else {
            dockerfile_args_append(p, kvs[i].key, strlen(kvs[i].key));
            dockerfile_args_append(p, kvs[i].value, strlen(kvs[i].value));
        }
    }
    dockerfile_kvs_free(kvs, n_kvs);
    return 0;
}

int
dockerfile_args_parse(enum dockerfile_cmd c, const char *rest, size_t n, char escape,
                      struct dockerfile_args *p, struct err **err)
{
    switch (c) {
    case DOCKERFILE_ADD:
    case DOCKERFILE_COPY:
    case DOCKERFILE_VOLUME:
        return parse_maybe_json_list(rest, n, p, err);
    case DOCKERFILE_CMD:
    case DOCKERFILE_ENTRYPOINT:
    case DOCKERFILE_RUN:
    case DOCKERFILE_SHELL:
        return parse_maybe_json(rest, n, p, err);
    case DOCKERFILE_ARG:
    case DOCKERFILE_ENV:
    case DOCKERFILE_LABEL:
        return parse_pairs(rest, n, escape, c, p, err);
    case DOCKERFILE_EXPOSE:
    case DOCKERFILE_FROM:
        parse_blank_list(rest, n, p);
        return 0;
    case DOCKERFILE_HEALTHCHECK:
        return parse_health(rest, n, p, err);
    case DOCKERFILE_MAINTAINER:
    case DOCKERFILE_STOPSIGNAL:
    case DOCKERFILE_USER:
    case DOCKERFILE_WORKDIR:
        if (n > 0)
            dockerfile_args_append(p, rest, n);
        return 0;
    case DOCKERFILE_ONBUILD:
        break; /* dockerfile_lines.c parses the trigger as a line */
    }
    return 0;
}
