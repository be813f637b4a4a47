/*
 * dockerfile_lines: the Dockerfile's lines into nodes, as buildkit's frontend/dockerfile/parser
 * package reads them (parser.go, line_parsers.go, split_command.go): directives, comments,
 * continuations, the per-instruction argument forms, builder flags and heredoc bodies. The checks
 * of the instructions package and the stages are in dockerfile_instr.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "build/dockerfile_internal.h"
#include "build/gocompat.h"

/* ONBUILD ONBUILD ... is refused by the instruction checks; the line parser looks this deep. */
enum { MAX_SUBCOMMAND_DEPTH = 8 };

static void
put(struct buf *b, const char *s, size_t n)
{
    /* Bounded by the input, itself at most DOCKERFILE_MAX_SIZE bytes. */
    (void)buf_append(b, s, n, NULL);
}

/* ---- physical lines ---- */

struct reader {
    const char *text;
    size_t len, pos;
    int line;      /* lines consumed so far */
    bool too_long; /* a line past DOCKERFILE_MAX_LINE ended the reading, as in Go's Scanner */
};

/* The next line into [*s, *s + *n) with its "\n" (raw), or false at the end. */
static bool
next_line(struct reader *r, const char **s, size_t *n)
{
    if (r->too_long || r->pos >= r->len)
        return false;
    const char *start = r->text + r->pos;
    const char *nl = memchr(start, '\n', r->len - r->pos);
    size_t content = nl ? (size_t)(nl - start) : r->len - r->pos;
    if (content > DOCKERFILE_MAX_LINE) {
        r->too_long = true;
        return false;
    }
    *s = start;
    *n = nl ? content + 1 : content;
    r->pos += *n;
    if (r->line == 0 && *n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
        *s += 3; /* a UTF-8 byte order mark on the first line */
        *n -= 3;
    }
    r->line++;
    return true;
}

/* trimNewline: every trailing '\r' and '\n'. */
static size_t
trim_newline(const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return n;
}

static bool
is_comment(const char *s, size_t n)
{
    gocompat_trim_left(&s, &n);
    return n > 0 && s[0] == '#';
}

/* ---- parser directives ---- */

struct directives {
    char escape;
    bool done;
    bool seen_escape, seen_syntax;
    char *syntax;
};

static bool
is_re_space(char c) /* Go regexp's \s: [\t\n\f\r ] */
{
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* reDirectives, `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`: the key in lower case (empty
 * when too long to be one we know) and the value. */
static bool
match_directive(const char *s, size_t n, char key[16], const char **value, size_t *vlen)
{
    size_t i = 1;
    if (n == 0 || s[0] != '#')
        return false;
    while (i < n && is_re_space(s[i]))
        i++;
    size_t kstart = i;
    if (i >= n || !is_alpha(s[i]))
        return false;
    while (i < n && (is_alpha(s[i]) || (s[i] >= '0' && s[i] <= '9')))
        i++;
    size_t klen = i - kstart;
    while (i < n && is_re_space(s[i]))
        i++;
    if (i >= n || s[i] != '=')
        return false;
    for (i++; i < n && is_re_space(s[i]); i++)
        ;
    size_t vend = n;
    while (vend > i && is_re_space(s[vend - 1]))
        vend--;
    if (vend == i)
        return false;
    memset(key, 0, 16);
    for (size_t k = 0; klen < 16 && k < klen; k++)
        key[k] = (char)(s[kstart + k] | 0x20);
    *value = s + i;
    *vlen = vend - i;
    return true;
}

/* possibleParserDirective: directives come before anything else; the first other line (an
 * unknown directive included, which is then a comment) ends them. */
static int
directive(struct directives *d, const char *s, size_t n, struct err **err)
{
    char key[16];
    const char *v;
    size_t vlen;
    if (d->done)
        return 0;
    bool is_escape = false, is_syntax = false;
    if (match_directive(s, n, key, &v, &vlen)) {
        is_escape = strcmp(key, "escape") == 0;
        is_syntax = strcmp(key, "syntax") == 0;
    }
    if (!is_escape && !is_syntax) {
        d->done = true;
        return 0;
    }
    bool *seen = is_escape ? &d->seen_escape : &d->seen_syntax;
    if (*seen)
        return err_make(err, ERR_INVALID, 0, "only one %s parser directive can be used", key);
    *seen = true;
    if (is_syntax) {
        d->syntax = xstrndup(v, vlen);
        return 0;
    }
    if (vlen != 1 || (v[0] != '`' && v[0] != '\\'))
        return err_make(err, ERR_INVALID, 0, "invalid escape token '%.*s' does not match ` or \\",
                        (int)vlen, v);
    d->escape = v[0];
    return 0;
}

/* trimContinuationCharacter: `([^E])E[ \t]*$|^E[ \t]*$` removed (keeping the [^E]). Returns true
 * at the end of the logical line (no continuation). */
static bool
trim_continuation(const char *s, size_t *n, char escape)
{
    size_t e = *n;
    while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    if (e == 0 || s[e - 1] != escape)
        return true;
    if (e >= 2 && s[e - 2] == escape)
        return true; /* an escaped escape token: "foo \\" is not continued */
    *n = e - 1;
    return false;
}

/* ---- one logical line into a node (newNodeFromLine) ---- */

struct split {
    char *cmd;
    char **flags;
    size_t n_flags;
    const char *rest;
    size_t n_rest;
};

/* splitCommand: the keyword (lower case), the builder flags and the rest, trimmed. */
static void
split_command(const char *line, size_t n, struct split *sp)
{
    gocompat_trim_space(&line, &n);
    size_t parts;
    char **cmdline = dockerfile_args_split_blanks(line, n, 2, &parts);
    sp->cmd = xstrdup(parts > 0 ? cmdline[0] : "");
    for (char *c = sp->cmd; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    /* The rest is the second piece, found in line (so that rest points into it). */
    const char *rest = line + n;
    size_t n_rest = 0;
    if (parts == 2) {
        n_rest = strlen(cmdline[1]);
        rest = line + n - n_rest;
    }
    strv_free(cmdline);
    sp->flags = dockerfile_args_flags(rest, n_rest, &sp->rest, &sp->n_flags);
    sp->n_rest = (size_t)(rest + n_rest - sp->rest);
    gocompat_trim_space(&sp->rest, &sp->n_rest);
}

static int dispatch(const char *cmd, const char *rest, size_t n, char escape, int depth,
                    struct dockerfile_args *p, struct err **err);

/* parseSubCommand: ONBUILD's trigger, parsed as a line of its own. */
static int
parse_sub(const char *rest, size_t n, char escape, int depth, struct dockerfile_args *p,
          struct err **err)
{
    if (n == 0)
        return 0;
    struct split sp;
    split_command(rest, n, &sp);
    struct dockerfile_args child = {0};
    int rc = dispatch(sp.cmd, sp.rest, sp.n_rest, escape, depth + 1, &child, err);
    if (rc == 0) {
        dockerfile_args_append(p, sp.cmd, strlen(sp.cmd));
        for (size_t i = 0; i < child.n_args; i++)
            dockerfile_args_append(p, child.args[i], strlen(child.args[i]));
        p->sub_cmd = xstrdup(sp.cmd);
        p->sub_json = child.json;
    }
    dockerfile_args_fini(&child);
    free(sp.cmd);
    strv_free(sp.flags);
    return rc;
}

/* The dispatch table of parser.go; ONBUILD's trigger is a line of its own. */
static int
dispatch(const char *cmd, const char *rest, size_t n, char escape, int depth,
         struct dockerfile_args *p, struct err **err)
{
    enum dockerfile_cmd c;
    if (!dockerfile_cmd_lookup(cmd, &c))
        return 0; /* parseIgnore: the instruction check reports it */
    if (c != DOCKERFILE_ONBUILD)
        return dockerfile_args_parse(c, rest, n, escape, p, err);
    /* Deeper chains are refused anyway ("Chaining ONBUILD ..."); stop looking at some depth so
     * that the recursion stays bounded. */
    if (depth >= MAX_SUBCOMMAND_DEPTH)
        return 0;
    return parse_sub(rest, n, escape, depth, p, err);
}

static int
node_from_line(const char *line, size_t n, char escape, struct dockerfile_node *node,
               struct err **err)
{
    struct split sp;
    split_command(line, n, &sp);
    struct dockerfile_args p = {0};
    if (dispatch(sp.cmd, sp.rest, sp.n_rest, escape, 0, &p, err) < 0) {
        free(sp.cmd);
        strv_free(sp.flags);
        return -1;
    }
    *node = (struct dockerfile_node){
        .cmd = sp.cmd,
        .original = xstrndup(line, n),
        .flags = sp.flags,
        .n_flags = sp.n_flags,
        .args = p.args ? p.args : xcalloc(1, sizeof(char *)),
        .n_args = p.n_args,
        .json = p.json,
        .sub_cmd = p.sub_cmd,
        .sub_json = p.sub_json,
    };
    return 0;
}

void
dockerfile_lines_node_fini(struct dockerfile_node *n)
{
    free(n->cmd);
    free(n->original);
    strv_free(n->flags);
    strv_free(n->args);
    free(n->sub_cmd);
    for (size_t i = 0; i < n->n_heredocs; i++) {
        free(n->heredocs[i].name);
        free(n->heredocs[i].content);
    }
    free(n->heredocs);
    *n = (struct dockerfile_node){0};
}

/* ---- heredocs ---- */

static size_t
count_quotes(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\'' || *s == '"';
    return n;
}

int
dockerfile_lines_heredoc_match(const char *word, struct dockerfile_heredoc *h, bool *is,
                               struct err **err)
{
    /* `^(\d*)<<(-?)\s*([^<]*)$` */
    *is = false;
    const char *p = word;
    unsigned fd = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        fd = fd > (UINT32_MAX - 9) / 10 ? UINT32_MAX : fd * 10 + (unsigned)(*p - '0');
    if (p[0] != '<' || p[1] != '<')
        return 0;
    p += 2;
    bool chomp = *p == '-';
    if (chomp)
        p++;
    while (is_re_space(*p))
        p++;
    if (*p == '\0' || strchr(p, '<') != NULL)
        return 0;
    /* The terminator is one word once lexed; it is quoted (no expansion of the body) when
     * lexing it with the quotes kept shows more quotes than without. */
    struct dockerfile_lexopts o = {.pub = {.escape = '\\', .keep_unset = true}};
    char **words, **raw;
    if (dockerfile_expand_lex(p, strlen(p), &o, NULL, &words, err) < 0)
        return -1;
    if (strv_len(words) != 1) {
        strv_free(words);
        return 0;
    }
    o.raw_quotes = true;
    if (dockerfile_expand_lex(p, strlen(p), &o, NULL, &raw, err) < 0) {
        strv_free(words);
        return -1;
    }
    if (strv_len(raw) != 1) {
        strv_free(words);
        strv_free(raw);
        return err_make(err, ERR_INVALID, 0,
                        "internal lexing of heredoc produced inconsistent results: %s", p);
    }
    *h = (struct dockerfile_heredoc){
        .name = xstrdup(words[0]),
        .fd = fd,
        .expand = count_quotes(words[0]) == count_quotes(raw[0]),
        .chomp = chomp,
    };
    *is = true;
    strv_free(words);
    strv_free(raw);
    return 0;
}

/* canContainHeredoc: RUN, COPY and ADD in shell form, also as ONBUILD's trigger. */
static bool
can_contain_heredoc(const struct dockerfile_node *node)
{
    const char *cmd = node->cmd;
    bool json = node->json;
    if (strcmp(cmd, "onbuild") == 0 && node->sub_cmd != NULL) {
        cmd = node->sub_cmd;
        json = node->sub_json;
    }
    return !json &&
           (strcmp(cmd, "run") == 0 || strcmp(cmd, "copy") == 0 || strcmp(cmd, "add") == 0);
}

/* heredocsFromLine: the markers among the line's words, lexed with everything kept. */
static int
find_heredocs(struct dockerfile_node *node, const char *line, size_t n, struct err **err)
{
    struct dockerfile_lexopts o = {
        .pub = {.escape = '\\', .keep_unset = true},
        .raw_quotes = true,
        .raw_escapes = true,
        .heredoc_words = true,
    };
    char **words = NULL;
    struct err *lexerr = NULL;
    if (dockerfile_expand_lex(line, n, &o, NULL, &words, &lexerr) < 0) {
        err_clear(&lexerr); /* buildkit ignores the error: no heredocs */
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; words[i] != NULL && rc == 0; i++) {
        struct dockerfile_heredoc h;
        bool is;
        rc = dockerfile_lines_heredoc_match(words[i], &h, &is, err);
        if (rc == 0 && is) {
            node->heredocs = gocompat_grow(node->heredocs, node->n_heredocs, sizeof(h));
            node->heredocs[node->n_heredocs++] = h;
        }
    }
    strv_free(words);
    return rc;
}

/* The bodies, one after the other, each up to its terminator line. */
static int
read_heredocs(struct reader *r, struct dockerfile_node *node, struct err **err)
{
    for (size_t i = 0; i < node->n_heredocs; i++) {
        struct dockerfile_heredoc *h = &node->heredocs[i];
        struct buf content;
        buf_init(&content, SIZE_MAX / 2);
        bool terminated = false;
        const char *s;
        size_t n;
        while (next_line(r, &s, &n)) {
            const char *t = s;
            size_t m = trim_newline(s, n);
            while (h->chomp && m > 0 && *t == '\t') {
                t++;
                m--;
            }
            if (m == strlen(h->name) && memcmp(t, h->name, m) == 0) {
                terminated = true;
                break;
            }
            put(&content, s, n);
        }
        h->content = buf_take(&content, NULL);
        if (!terminated)
            return err_make(err, ERR_INVALID, 0, "unterminated heredoc");
    }
    return 0;
}

/* ---- the file ---- */

static void
add_warning(struct dockerfile_lines *a, char *w)
{
    a->warnings = gocompat_grow(a->warnings, a->n_warnings, sizeof(char *));
    a->warnings[a->n_warnings++] = w;
    a->warnings[a->n_warnings] = NULL;
}

/* One logical line from its first physical line on: the joined text into *line. */
static int
logical_line(struct reader *r, struct directives *d, const char *s, size_t n, struct buf *line,
             struct dockerfile_lines *a, bool *skip, struct err **err)
{
    size_t m = trim_newline(s, n);
    const char *tok = s;
    gocompat_trim_left(&tok, &m);
    if (directive(d, tok, m, err) < 0)
        return -1;
    if (m > 0 && tok[0] == '#')
        m = 0; /* a comment */
    bool eol = trim_continuation(tok, &m, d->escape);
    *skip = eol && m == 0;
    if (*skip)
        return 0;
    put(line, tok, m);
    bool empty_continuation = false;
    while (!eol && next_line(r, &s, &n)) {
        m = trim_newline(s, n);
        if (is_comment(s, m))
            continue; /* comment lines inside a continuation are dropped */
        const char *t = s;
        size_t tm = m;
        gocompat_trim_left(&t, &tm);
        if (tm == 0) {
            empty_continuation = true;
            continue;
        }
        eol = trim_continuation(s, &m, d->escape);
        put(line, s, m);
    }
    if (empty_continuation)
        add_warning(a, xasprintf("[WARNING]: Empty continuation line found in:\n    %.*s",
                                 (int)line->len, line->data ? line->data : ""));
    return 0;
}

int
dockerfile_lines_parse(const char *text, size_t len, struct dockerfile_lines *out, int *err_line,
                       struct err **err)
{
    struct reader r = {.text = text, .len = len};
    struct directives d = {.escape = '\\'};
    struct dockerfile_lines a = {0};
    const char *s;
    size_t n;
    *err_line = 0;
    while (next_line(&r, &s, &n)) {
        struct buf line;
        buf_init(&line, SIZE_MAX / 2);
        int start = r.line;
        bool skip;
        if (logical_line(&r, &d, s, n, &line, &a, &skip, err) < 0) {
            buf_fini(&line);
            goto fail;
        }
        if (skip) {
            buf_fini(&line);
            continue;
        }
        struct dockerfile_node node;
        const char *text_line = line.data ? line.data : "";
        int rc = node_from_line(text_line, line.len, d.escape, &node, err);
        if (rc == 0 && can_contain_heredoc(&node) && memmem(text_line, line.len, "<<", 2)) {
            if (find_heredocs(&node, text_line, line.len, err) < 0 ||
                read_heredocs(&r, &node, err) < 0) {
                dockerfile_lines_node_fini(&node);
                *err_line = start;
                rc = -1;
            }
        }
        buf_fini(&line);
        if (rc < 0)
            goto fail;
        node.start_line = start;
        node.end_line = r.line;
        a.nodes = gocompat_grow(a.nodes, a.n_nodes, sizeof(node));
        a.nodes[a.n_nodes++] = node;
    }
    if (a.warnings != NULL)
        add_warning(&a, xstrdup("[WARNING]: Empty continuation lines will become errors in a "
                                "future release."));
    if (a.n_nodes == 0) {
        err_make(err, ERR_INVALID, 0, "file with no instructions");
        goto fail;
    }
    if (r.too_long) {
        err_make(err, ERR_INVALID, 0, "dockerfile line greater than max allowed size of %d",
                 DOCKERFILE_MAX_LINE);
        goto fail;
    }
    a.escape = d.escape;
    a.syntax = d.syntax;
    *out = a;
    return 0;
fail:
    a.syntax = d.syntax;
    dockerfile_lines_fini(&a);
    return -1;
}

void
dockerfile_lines_fini(struct dockerfile_lines *lines)
{
    for (size_t i = 0; i < lines->n_nodes; i++)
        dockerfile_lines_node_fini(&lines->nodes[i]);
    free(lines->nodes);
    free(lines->syntax);
    strv_free(lines->warnings);
    *lines = (struct dockerfile_lines){0};
}
