/*
 * dockerfile: a Dockerfile's text as stages of instructions, read the way dockerd reads it.
 *
 * The rules are those of moby/buildkit's frontend/dockerfile/parser and instructions packages,
 * which dockerd 20.10's classic builder shares (docs/internals/dockerfile.md): parser directives
 * (`# escape=`, `# syntax=`), comments, line continuations, JSON (exec) and shell forms, builder
 * flags, heredocs (buildkit 1.4+, beyond 20.10) and the checks buildkit makes at parse time, with
 * its error texts. This module reads text only: it expands no variable, runs nothing and knows
 * nothing of images, stages' contents or the build context.
 *
 * Words are kept as written. The builder expands them when it runs an instruction, with the
 * environment of that moment (the stage's ENV plus the ARGs in scope; one instruction's words all
 * see the environment from before it), through dockerfile_expand() and the file's escape token:
 *
 *   FROM                   args[0] (the base), with the global ARGs only
 *   ENV, LABEL             each kvs[].key and kvs[].value
 *   ARG                    each kvs[].key and kvs[].value (the default)
 *   ADD, COPY              each args[] word (sources and destination) and --chown (buildkit
 *                          also --chmod and --from); a heredoc source's body when its expand is set
 *   EXPOSE, VOLUME         each args[] word
 *   STOPSIGNAL, USER,
 *   WORKDIR                args[0]
 *   RUN, CMD, ENTRYPOINT,
 *   SHELL, HEALTHCHECK,
 *   MAINTAINER, ONBUILD    nothing (the shell sees RUN's text; ONBUILD runs in a later build)
 *
 * Errors are ERR_INVALID with dockerd's text, to be shown as is: "failed to parse Dockerfile: ..."
 * for a line the parser cannot read (dockerd gives no line number there), "dockerfile parse error
 * line N: ..." for an instruction buildkit's instructions package refuses, and a few bare ones
 * ("no build stage in current context"). A text over DOCKERFILE_MAX_SIZE is ERR_TOO_LARGE; an
 * empty one is the builder's to refuse first ("the Dockerfile (Dockerfile) cannot be empty").
 *
 * The Dockerfile and .dockerignore are read even when .dockerignore excludes them; dockerd then
 * leaves them out of the context that COPY and ADD see (see build/dockerignore.h).
 */
#ifndef SOCKERLESS_BUILD_DOCKERFILE_H
#define SOCKERLESS_BUILD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum {
    DOCKERFILE_MAX_SIZE = 1 << 20,   /* bytes of Dockerfile text */
    DOCKERFILE_MAX_LINE = 65535,     /* bytes of one physical line, as Go's bufio.Scanner allows */
    DOCKERFILE_EXPAND_MAX = 4 << 20, /* bytes one expansion may produce */
};

enum dockerfile_cmd {
    DOCKERFILE_ADD,
    DOCKERFILE_ARG,
    DOCKERFILE_CMD,
    DOCKERFILE_COPY,
    DOCKERFILE_ENTRYPOINT,
    DOCKERFILE_ENV,
    DOCKERFILE_EXPOSE,
    DOCKERFILE_FROM,
    DOCKERFILE_HEALTHCHECK,
    DOCKERFILE_LABEL,
    DOCKERFILE_MAINTAINER,
    DOCKERFILE_ONBUILD,
    DOCKERFILE_RUN,
    DOCKERFILE_SHELL,
    DOCKERFILE_STOPSIGNAL,
    DOCKERFILE_USER,
    DOCKERFILE_VOLUME,
    DOCKERFILE_WORKDIR,
};

/* "ADD", "ARG", ...: the instruction's name in capitals. */
const char *dockerfile_cmd_name(enum dockerfile_cmd cmd);

/*
 * A builder flag, checked against the instruction's set (an unknown one is "Unknown flag: x"):
 *   FROM --platform; RUN --mount (repeatable), --network, --security (buildkit's: kept for the
 *   builder to run or refuse; 20.10's classic builder refuses --mount and knows no other);
 *   COPY --from, --chown, --chmod, --link; ADD --chown, --chmod, --link;
 *   HEALTHCHECK --interval, --timeout, --start-period, --retries (also parsed into health).
 * ARG and STOPSIGNAL accept and ignore any flag, as buildkit does.
 */
struct dockerfile_flag {
    char *name;  /* without "--": "from", "mount" */
    char *value; /* quotes and backslashes removed, unexpanded; "true"/"false" for --link */
};

/* ENV and LABEL pairs (legacy "ENV k v w" is one pair: k, "v w"); ARG's name[=default]. */
struct dockerfile_kv {
    char *key;   /* as written: unexpanded, quotes kept */
    char *value; /* as written; NULL for an ARG without a default */
};

/*
 * A here-document (`RUN <<EOF`, `COPY <<EOF /dest`): buildkit 1.4+; dockerd 20.10 reads
 * `RUN <<EOF` as a shell command and the body as instructions. Only RUN, COPY and ADD in shell
 * form (also under ONBUILD) have them; the bodies follow the instruction in the order the words
 * appear. Like buildkit, the builder:
 *   - COPY/ADD: a source word naming a heredoc (dockerfile_instr_heredoc) is a file of that name
 *     holding dockerfile_heredoc_body(), expanded first when expand is set (with escape '\\'
 *     whatever the file's, and keep_quotes: buildkit's ExpandRaw);
 *   - RUN: when the command is exactly one heredoc word, runs the body: as a file executed
 *     directly when it starts with "#!", else as the shell's command string; otherwise runs the
 *     command text followed, for each heredoc, by "\n" + content + name, under the shell.
 */
struct dockerfile_heredoc {
    char *name;    /* the terminator word, quotes removed */
    char *content; /* the body's lines, each with its line ending, tabs kept */
    unsigned fd;   /* "3<<EOF": 3; 0 when not given */
    bool expand;   /* false when the terminator was quoted: <<"EOF", <<'EOF' */
    bool chomp;    /* "<<-": leading tabs go (dockerfile_heredoc_body) */
};

struct dockerfile_health {
    bool none;               /* HEALTHCHECK NONE */
    char **test;             /* ["NONE"], ["CMD", argv...] or ["CMD-SHELL", "cmd"] */
    int64_t interval_ns;     /* 0 when not given; otherwise at least 1ms */
    int64_t timeout_ns;      /* likewise */
    int64_t start_period_ns; /* likewise */
    int retries;             /* 0 when not given; otherwise at least 1 */
};

/*
 * One instruction. args holds the words as buildkit's parser gives them:
 *   FROM, EXPOSE                  the line split at blanks (no quote handling)
 *   ADD, COPY, VOLUME             the JSON array's strings, else the line split at blanks; COPY
 *                                 and ADD: the last word is the destination; VOLUME: trimmed
 *   RUN, CMD, ENTRYPOINT, SHELL   the JSON array's strings, else one word: the whole text
 *   HEALTHCHECK                   the type as written ("CMD", "none"), then as RUN
 *   USER, WORKDIR, STOPSIGNAL,
 *   MAINTAINER                    one word: the whole text
 *   ENV, LABEL                    key, value, key, value... (also in kvs)
 *   ARG                           "name" or "name=default" words, quote-aware (also in kvs)
 *   ONBUILD                       the trigger's name in lower case, then its words
 */
struct dockerfile_instr {
    enum dockerfile_cmd cmd;
    int line;       /* 1-based line where it starts */
    int end_line;   /* where it ends: continuations and heredoc bodies included */
    char *original; /* the logical line: continuations joined, comment lines dropped */
    struct dockerfile_flag *flags;
    size_t n_flags;
    char **args; /* NULL-terminated, n_args entries */
    size_t n_args;
    bool json;                 /* the arguments were a JSON array of strings (exec form) */
    struct dockerfile_kv *kvs; /* ENV, LABEL, ARG */
    size_t n_kvs;
    struct dockerfile_heredoc *heredocs;
    size_t n_heredocs;
    struct dockerfile_health health; /* HEALTHCHECK */
    char *trigger; /* ONBUILD: the text an image's OnBuild keeps ("RUN echo hi") */
};

struct dockerfile_stage {
    struct dockerfile_instr from; /* the FROM instruction */
    char *base;                   /* its image word, unexpanded: "busybox", "$IMG", a stage */
    char *name;                   /* "AS name" in lower case, or NULL */
    char *platform;               /* --platform, or NULL */
    struct dockerfile_instr *instrs;
    size_t n_instrs;
};

struct dockerfile {
    char escape;  /* '\\' or '`' (# escape=) */
    char *syntax; /* "# syntax=" value, or NULL: recorded, not followed (no frontends) */
    struct dockerfile_instr *args; /* the ARGs before the first FROM */
    size_t n_args;
    struct dockerfile_stage *stages; /* at least one */
    size_t n_stages;
    char **warnings; /* buildkit's "[WARNING]: Empty continuation line ..." texts, or NULL */
};

/*
 * Parses text[0..len) (NUL bytes are refused). On success fills *out, which the caller releases
 * with dockerfile_fini. Checks, besides buildkit's: stage names used twice ("x stage name already
 * used", as dockerd says it) and a file without FROM ("dockerfile contains no stages to build",
 * buildkit's words; dockerd 20.10 crashes on it).
 */
int dockerfile_parse(const char *text, size_t len, struct dockerfile *out, struct err **err);
void dockerfile_fini(struct dockerfile *df);

/*
 * Parses one ONBUILD trigger of a base image (the text of dockerfile_instr.trigger) as dockerd
 * does when a build starts FROM that image: a Dockerfile of its own (default escape), any number
 * of instructions, none of ONBUILD, FROM or MAINTAINER. Errors carry dockerd's bare message. On
 * success *out is an array of *n instructions for dockerfile_instrs_free.
 */
int dockerfile_parse_trigger(const char *text, struct dockerfile_instr **out, size_t *n,
                             struct err **err);
void dockerfile_instrs_free(struct dockerfile_instr *instrs, size_t n);

/* The value of the last --name flag (borrowed), or NULL. */
const char *dockerfile_instr_flag(const struct dockerfile_instr *in, const char *name);

/* The heredoc a word such as "<<EOF" or "<<-'EOF'" names (buildkit's rule: the word is a heredoc
 * marker and the instruction has a body by that name, the last one winning), or NULL. */
const struct dockerfile_heredoc *dockerfile_instr_heredoc(const struct dockerfile_instr *in,
                                                          const char *word);

/* The heredoc's body as used: content, leading tabs of each line removed when chomp. New. */
char *dockerfile_heredoc_body(const struct dockerfile_heredoc *h);

/*
 * Splits ENV or LABEL text ("k=v k2=\"v 2\"" or legacy "k v w") into pairs, as buildkit's
 * parseNameVal, or ARG text into name[=default] pairs; cmd is DOCKERFILE_ENV, _LABEL or _ARG.
 * Keys and values stay as written. *out (n pairs) is the caller's, for dockerfile_kvs_free.
 * Errors: "ENV must have two arguments", "Syntax error - can't find = in ...", and for an empty
 * key or text the parse-time texts ("ENV names can not be blank", "... requires at least one
 * argument").
 */
int dockerfile_split_kv(const char *text, char escape, enum dockerfile_cmd cmd,
                        struct dockerfile_kv **out, size_t *n, struct err **err);
void dockerfile_kvs_free(struct dockerfile_kv *kvs, size_t n);

/* ---- Variable expansion: buildkit's shell lexer, as in dockerd 20.10 ----
 *
 * Forms: $name, ${name}, ${name:-word}, ${name:+word}, ${name:?word}, ${name?word} (the word is
 * expanded too, recursively). ${name-word}, ${name+word} and the newer ${name#..}, ${name%..},
 * ${name/../..} are errors in 20.10 ("missing ':' in substitution") and here. Names are ASCII
 * letters, digits and '_', a run of digits, or one of @ * # ? - $ ! (always unset: empty).
 * Quotes: '...' is literal; "..." expands $ and lets the escape token escape " $ and itself; an
 * escape token outside quotes makes the next character literal; a trailing one is dropped.
 * Errors (ERR_INVALID) read "failed to process \"<word>\": <reason>", as dockerd prints them.
 */

/* Looks a variable up: true and *value (borrowed until the expansion returns) when set. */
typedef bool dockerfile_lookup_fn(void *ctx, const char *name, const char **value);

struct dockerfile_expand_opts {
    char escape;                  /* the Dockerfile's escape token; 0 means '\\' */
    dockerfile_lookup_fn *lookup; /* when NULL, env is used */
    void *ctx;
    char *const *env; /* "KEY=VALUE" (or "KEY": empty) list; the last entry of a key wins */
    bool keep_unset;  /* leave $X, ${X...} as written when X is unset (buildkit's SkipUnsetEnv) */
    bool keep_quotes; /* quotes are plain characters: heredoc bodies (SkipProcessQuotes) */
};

/* ProcessWord: word with variables expanded and quotes removed; blanks kept. New string. Output
 * beyond DOCKERFILE_EXPAND_MAX bytes is ERR_TOO_LARGE. */
char *dockerfile_expand(const char *word, const struct dockerfile_expand_opts *opts,
                        struct err **err);

/* ProcessWords: the same, then split into words at blanks outside quotes (blanks produced by a
 * variable split too; empty words dropped). NULL-terminated, possibly empty; strv_free it. */
char **dockerfile_expand_words(const char *word, const struct dockerfile_expand_opts *opts,
                               struct err **err);

#endif
