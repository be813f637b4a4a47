/*
 * dockerignore: the .dockerignore rules of Docker (moby/patternmatcher and its ignorefile reader),
 * for a builder that filters a build context.
 *
 * The file: one pattern a line; a line starting with '#' is a comment (only at the very start:
 * "  # x" is the pattern "# x"); blanks around a pattern are dropped, as is a UTF-8 byte order
 * mark; "!" makes an exception (a path matched earlier is included again); patterns are cleaned
 * like Go's filepath.Clean and lose a leading '/'. A pattern has Go's filepath.Match syntax ('*'
 * and '?' do not cross '/', "[a-z]" and "[^a-z]" classes, '\' escapes the next character) plus
 * "**", which matches any number of directories (zero included). A path is excluded when the
 * last pattern that matches it, or one of its parent directories, is not an exception.
 *
 * Known differences with the Go code, all on patterns nobody writes: patternmatcher turns a
 * pattern into a regular expression, so '*' or '?' inside a class and "\d"-style escapes keep
 * their regexp meaning there; here they are literal, as filepath.Match reads them. A class with
 * a reversed range ("[z-a]"), which Go accepts at parse time and fails at match time, is refused
 * at parse time.
 *
 * The builder does not filter the Dockerfile or .dockerignore out of what it reads: dockerd
 * reads both whatever the patterns say, then removes them from the context COPY and ADD see
 * when they match (dockerd 20.10's remotecontext; the docker CLI sends both regardless).
 */
#ifndef SOCKERLESS_BUILD_DOCKERIGNORE_H
#define SOCKERLESS_BUILD_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

struct dockerignore_glob; /* a compiled pattern, private */

struct dockerignore_pattern {
    char *text;     /* cleaned, without the '!': "docs", "src/main.go" */
    bool exception; /* the pattern started with '!' */
    struct dockerignore_glob *glob;
};

struct dockerignore {
    struct dockerignore_pattern *patterns;
    size_t n_patterns;
    bool has_exceptions;
};

/*
 * Reads a .dockerignore's text[0..len) into *out (release with dockerignore_fini). ERR_INVALID
 * with Go's texts: "syntax error in pattern" for a malformed class or a trailing '\',
 * "illegal exclusion pattern: \"!\"" for a lone '!', "error reading .dockerignore:
 * bufio.Scanner: token too long" for a line over 65535 bytes.
 */
int dockerignore_parse(const char *text, size_t len, struct dockerignore *out, struct err **err);

/* The same from patterns already split (the ignorefile cleaning is applied to each). */
int dockerignore_init(struct dockerignore *out, char *const *patterns, struct err **err);

void dockerignore_fini(struct dockerignore *di);

/*
 * Whether relpath, a slash-separated path relative to the context root ("src/main.go"; "./x"
 * and "a//b" are cleaned), is excluded: patternmatcher's MatchesOrParentMatches. The root
 * itself (".", "") never is.
 */
bool dockerignore_matches(const struct dockerignore *di, const char *relpath);

/*
 * Whether an exception could include something below the directory reldir: a walker that
 * finds reldir excluded must still descend into it when this is true, and may skip it when
 * false. It is true when some '!' pattern can match a path under reldir/ (or matches reldir or a
 * parent, which re-includes everything below). Docker's own walker asks only whether an
 * exception's text starts with "reldir/"; this answers true in every such case and also for
 * patterns that can reach inside otherwise, such as an exception starting with "**".
 */
bool dockerignore_has_exception_below(const struct dockerignore *di, const char *reldir);

#endif
