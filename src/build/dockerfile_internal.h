/*
 * dockerfile_internal: what the files of the Dockerfile parser share and nobody else uses.
 *
 * dockerfile_lines.c reads the lines into raw nodes (buildkit's parser package) with the
 * argument forms of dockerfile_args.c; dockerfile_instr.c turns nodes into checked instructions
 * (buildkit's instructions package); dockerfile.c makes stages of them; dockerfile_expand.c is
 * buildkit's shell lexer, which the heredoc detection needs too.
 */
#ifndef SOCKERLESS_BUILD_DOCKERFILE_INTERNAL_H
#define SOCKERLESS_BUILD_DOCKERFILE_INTERNAL_H

#include "build/dockerfile.h"

/* ---- dockerfile.c ---- */

/* The instruction named name (any case), or false. */
bool dockerfile_cmd_lookup(const char *name, enum dockerfile_cmd *cmd);

/* ---- dockerfile_expand.c ---- */

/* The lexer's switches: the public ones plus buildkit's RawQuotes and RawEscapes (quotes and
 * escape tokens kept in the output) and the heredoc-aware splitting of `<<  EOF` into one word. */
struct dockerfile_lexopts {
    struct dockerfile_expand_opts pub;
    bool raw_quotes;
    bool raw_escapes;
    bool heredoc_words;
};

/* Runs the lexer on word[0..len): the expanded text into *result and/or the split words into
 * *words (either may be NULL). Errors as dockerfile_expand. */
int dockerfile_expand_lex(const char *word, size_t len, const struct dockerfile_lexopts *o,
                          char **result, char ***words, struct err **err);

/* ---- dockerfile_args.c ---- */

/* The arguments of one instruction as a line parser leaves them. */
struct dockerfile_args {
    char **args;
    size_t n_args;
    bool json;
    char *sub_cmd; /* ONBUILD's trigger */
    bool sub_json;
};

void dockerfile_args_fini(struct dockerfile_args *p);
void dockerfile_args_append(struct dockerfile_args *p, const char *s, size_t n);

/* extractBuilderFlags: the leading "--flag" words of s[0..n) (quotes and backslashes removed),
 * NULL-terminated, count in *n_flags; *rest points past them. */
char **dockerfile_args_flags(const char *s, size_t n, const char **rest, size_t *n_flags);

/* The argument form of instruction c (any but ONBUILD) on rest[0..n) into *p. Errors carry
 * buildkit's bare message. */
int dockerfile_args_parse(enum dockerfile_cmd c, const char *rest, size_t n, char escape,
                          struct dockerfile_args *p, struct err **err);

/* ENV or LABEL text (parseNameVal) or ARG words into pairs as written, without the instruction
 * checks (blank keys, no pairs). */
int dockerfile_args_pairs(const char *text, size_t len, char escape, enum dockerfile_cmd cmd,
                          struct dockerfile_kv **out, size_t *n, struct err **err);

/* "[\t\v\f\r ]+" splitting (buildkit's reWhitespace / tokenWhitespace), at most max pieces
 * (0: no limit); empty input gives none. NULL-terminated, count in *n. */
char **dockerfile_args_split_blanks(const char *s, size_t len, size_t max, size_t *n);

/* ---- dockerfile_lines.c ---- */

/* One logical line as buildkit's parser leaves it (a parser.Node): not yet checked. */
struct dockerfile_node {
    char *cmd;      /* the keyword in lower case, maybe unknown */
    char *original; /* the logical line */
    char **flags;   /* "--name=value" words, quotes removed */
    size_t n_flags;
    char **args;
    size_t n_args;
    bool json;
    char *sub_cmd; /* ONBUILD: the trigger's keyword (lower case), or NULL */
    bool sub_json; /* ONBUILD: the trigger's arguments were JSON */
    struct dockerfile_heredoc *heredocs;
    size_t n_heredocs;
    int start_line, end_line;
};

/* The parser's output: the directives and the nodes, before the instruction checks. */
struct dockerfile_lines {
    char escape;
    char *syntax;
    struct dockerfile_node *nodes;
    size_t n_nodes;
    char **warnings;
    size_t n_warnings;
};

/* Reads text into *lines. Errors carry buildkit's bare message (no "failed to parse" prefix);
 * *err_line is set to the line of the error when buildkit reports one (heredocs), else 0. */
int dockerfile_lines_parse(const char *text, size_t len, struct dockerfile_lines *lines,
                           int *err_line, struct err **err);
void dockerfile_lines_fini(struct dockerfile_lines *lines);
void dockerfile_lines_node_fini(struct dockerfile_node *n);

/* heredocFromMatch: whether word is a heredoc marker "[n]<<[-][ ]word"; fills *h (name, fd,
 * expand, chomp; no content) when it is. -1 with *err on a lexing error. */
int dockerfile_lines_heredoc_match(const char *word, struct dockerfile_heredoc *h, bool *is,
                                   struct err **err);

/* ---- dockerfile_instr.c ---- */

/* The checks of buildkit's instructions package: node into *out. Errors carry the bare message. */
int dockerfile_instr_from_node(const struct dockerfile_node *node, struct dockerfile_instr *out,
                               struct err **err);
void dockerfile_instr_fini(struct dockerfile_instr *in);

#endif
