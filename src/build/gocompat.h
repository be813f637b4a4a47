/*
 * gocompat: the few Go standard-library behaviours that the Dockerfile and .dockerignore rules
 * rest on, for byte strings: unicode.IsSpace, strings.TrimSpace, utf8.DecodeRune, strconv.Quote
 * (the %q of Go error texts), filepath.Clean, time.ParseDuration and strconv.ParseInt.
 *
 * dockerd and buildkit are Go programs; matching them byte for byte on edge cases (a U+00A0 between
 * words, "1h2m3.5s", "a/../b") needs these, and nothing else here. Internal to src/build/.
 */
#ifndef SOCKERLESS_BUILD_GOCOMPAT_H
#define SOCKERLESS_BUILD_GOCOMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* utf8.DecodeRuneInString: the rune at s (n > 0 bytes available) into *r and its width; an
 * invalid or truncated sequence is U+FFFD with width 1, as in Go. */
size_t gocompat_decode_rune(const char *s, size_t n, uint32_t *r);

/* unicode.IsSpace for a rune. */
bool gocompat_is_space_rune(uint32_t r);

/* The width of the white-space rune (unicode.IsSpace) at s, 0 when s[0..n) does not start with
 * one. */
size_t gocompat_space_len(const char *s, size_t n);

/* strings.TrimLeftFunc(unicode.IsSpace) / TrimRightFunc / TrimSpace on the range [*s, *s + *n). */
void gocompat_trim_left(const char **s, size_t *n);
void gocompat_trim_right(const char *s, size_t *n);
void gocompat_trim_space(const char **s, size_t *n);

/* strconv.Quote: "..." with Go's escapes. New string. Runes that Go prints as \u escapes beyond
 * the controls, the non-ASCII spaces and a few format characters are kept as they are. */
char *gocompat_quote(const char *s, size_t n);

/* filepath.Clean on Unix. New string. */
char *gocompat_clean_path(const char *path);

/* time.ParseDuration: nanoseconds; ERR_INVALID with Go's message ("time: invalid duration
 * \"x\"", "time: missing unit in duration ...", "time: unknown unit ..."). */
int gocompat_parse_duration(const char *s, int64_t *out, struct err **err);

/* Go's append for a C array: v holds n elements of size bytes; returns v with room for at least
 * n + 2 (one more element and a terminator), reallocating only when n is 0 or a power of two so
 * that filling an array costs linear time. v must be NULL or only ever grown by this function. */
void *gocompat_grow(void *v, size_t n, size_t size);

/* strconv.ParseInt(s, 10, bits): ERR_INVALID "strconv.ParseInt: parsing \"x\": invalid syntax"
 * or "...: value out of range". */
int gocompat_parse_int(const char *s, int bits, int64_t *out, struct err **err);

#endif
