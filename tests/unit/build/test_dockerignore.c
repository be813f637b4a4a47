#include "../cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "build/dockerignore.h"

static void
load(const char *text, struct dockerignore *di)
{
    struct err *err = NULL;
    if (dockerignore_parse(text, strlen(text), di, &err) < 0)
        fail_msg("%s: %s", text, err->msg);
}

/* One pattern against one path: MatchesOrParentMatches. */
static bool
one(const char *pattern, const char *path)
{
    char *patterns[] = {(char *)pattern, NULL};
    struct dockerignore di;
    struct err *err = NULL;
    if (dockerignore_init(&di, patterns, &err) < 0)
        fail_msg("%s: %s", pattern, err->msg);
    bool m = dockerignore_matches(&di, path);
    dockerignore_fini(&di);
    return m;
}

static void
bad(const char *text, const char *msg)
{
    struct dockerignore di;
    struct err *err = NULL;
    assert_int_equal(dockerignore_parse(text, strlen(text), &di, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    assert_string_equal(err->msg, msg);
    err_clear(&err);
}

/* patternmatcher_test.go's TestMatches, pattern by pattern (its "exact" and "inexact" both match
 * here, as they do for MatchesOrParentMatches). */
static void
test_patternmatcher_cases(void **state)
{
    (void)state;
    const struct {
        const char *pattern, *path;
        bool match;
    } cases[] = {
        {"**", "file", true},
        {"**", "file/", true},
        {"**/", "file", true},
        {"**/", "file/", true},
        {"**", "/", true},
        {"**/", "/", true},
        {"**", "dir/file", true},
        {"**/", "dir/file", true},
        {"**", "dir/file/", true},
        {"**/", "dir/file/", true},
        {"**/**", "dir/file", true},
        {"**/**", "dir/file/", true},
        {"dir/**", "dir/file", true},
        {"dir/**", "dir/file/", true},
        {"dir/**", "dir/dir2/file", true},
        {"dir/**", "dir/dir2/file/", true},
        {"**/dir", "dir", true},
        {"**/dir", "dir/file", true},
        {"**/dir2/*", "dir/dir2/file", true},
        {"**/dir2/*", "dir/dir2/file/", true},
        {"**/dir2/**", "dir/dir2/dir3/file", true},
        {"**/dir2/**", "dir/dir2/dir3/file/", true},
        {"**file", "file", true},
        {"**file", "dir/file", true},
        {"**/file", "dir/file", true},
        {"**file", "dir/dir/file", true},
        {"**/file", "dir/dir/file", true},
        {"**/file*", "dir/dir/file", true},
        {"**/file*", "dir/dir/file.txt", true},
        {"**/file*txt", "dir/dir/file.txt", true},
        {"**/file*.txt", "dir/dir/file.txt", true},
        {"**/file*.txt*", "dir/dir/file.txt", true},
        {"**/**/*.txt", "dir/dir/file.txt", true},
        {"**/**/*.txt2", "dir/dir/file.txt", false},
        {"**/*.txt", "file.txt", true},
        {"**/**/*.txt", "file.txt", true},
        {"a**/*.txt", "a/file.txt", true},
        {"a**/*.txt", "a/dir/file.txt", true},
        {"a**/*.txt", "a/dir/dir/file.txt", true},
        {"a/*.txt", "a/dir/file.txt", false},
        {"a/*.txt", "a/file.txt", true},
        {"a/*.txt**", "a/file.txt", true},
        {"a[b-d]e", "ae", false},
        {"a[b-d]e", "ace", true},
        {"a[b-d]e", "aae", false},
        {"a[^b-d]e", "aze", true},
        {".*", ".foo", true},
        {".*", "foo", false},
        {"abc.def", "abcdef", false},
        {"abc.def", "abc.def", true},
        {"abc.def", "abcZdef", false},
        {"abc?def", "abcZdef", true},
        {"abc?def", "abcdef", false},
        {"**/foo/bar", "foo/bar", true},
        {"**/foo/bar", "dir/foo/bar", true},
        {"**/foo/bar", "dir/dir2/foo/bar", true},
        {"abc/**", "abc", false},
        {"abc/**", "abc/def", true},
        {"abc/**", "abc/def/ghi", true},
        {"**/.foo", ".foo", true},
        {"**/.foo", "bar.foo", false},
        {"a(b)c/def", "a(b)c/def", true},
        {"a(b)c/def", "a(b)c/xyz", false},
        {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
        {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
        {"a\\\\", "a\\", true},
        {"a\\*b", "a*b", true},
        /* Go's filepath.Match cases that patternmatcher replays */
        {"abc", "abc", true},
        {"*", "abc", true},
        {"*c", "abc", true},
        {"a*", "a", true},
        {"a*", "ab/c", true}, /* by the parent "ab" */
        {"a*/b", "abc/b", true},
        {"a*/b", "a/c/b", false},
        {"a*b*c*d*e*/f", "axbxcxdxe/f", true},
        {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
        {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
        {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false},
        {"a*b?c*x", "abxbbxdbxebxczzx", true},
        {"a*b?c*x", "abxbbxdbxebxczzy", false},
        {"ab[c]", "abc", true},
        {"ab[b-d]", "abc", true},
        {"ab[e-g]", "abc", false},
        {"ab[^c]", "abc", false},
        {"ab[^b-d]", "abc", false},
        {"ab[^e-g]", "abc", true},
        {"a\\*b", "ab", false},
        {"a?b",
         "a\xe2\x98\xba"
         "b",
         true},
        {"a[^a]b",
         "a\xe2\x98\xba"
         "b",
         true},
        {"a???b",
         "a\xe2\x98\xba"
         "b",
         false},
        {"a[^a][^a][^a]b",
         "a\xe2\x98\xba"
         "b",
         false},
        {"[a-\xce\xb6]*", "\xce\xb1", true},
        {"*[a-\xce\xb6]", "A", false},
        {"a?b", "a/b", false},
        {"a*b", "a/b", false},
        {"[\\]a]", "]", true},
        {"[\\-]", "-", true},
        {"[x\\-]", "x", true},
        {"[x\\-]", "-", true},
        {"[x\\-]", "z", false},
        {"[\\-x]", "x", true},
        {"[\\-x]", "-", true},
        {"[\\-x]", "a", false},
        {"*x", "xxx", true},
        /* the quirks of the pattern types */
        {"**foo", "xfoo", true}, /* a suffix */
        {"a**b", "axb", false},  /* "**" inside: nothing, or anything ending with a slash */
        {"a**b", "a/x/b", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (one(cases[i].pattern, cases[i].path) != cases[i].match)
            fail_msg("pattern %s, path %s: want %d", cases[i].pattern, cases[i].path,
                     cases[i].match);
    }
}

static void
test_exceptions(void **state)
{
    (void)state;
    struct dockerignore di;
    load("*.go\n!keep.go\n", &di);
    assert_true(di.has_exceptions);
    assert_true(dockerignore_matches(&di, "a.go"));
    assert_false(dockerignore_matches(&di, "keep.go"));
    assert_false(dockerignore_matches(&di, "sub/a.go"));
    dockerignore_fini(&di);

    /* Last match wins, in both directions. */
    load("!fileutils.go\n*.go\n", &di);
    assert_true(dockerignore_matches(&di, "fileutils.go"));
    dockerignore_fini(&di);
    load("docs\n!docs/README.md\n", &di);
    assert_false(dockerignore_matches(&di, "docs/README.md"));
    assert_true(dockerignore_matches(&di, "docs/other.md"));
    assert_true(dockerignore_matches(&di, "docs"));
    dockerignore_fini(&di);
    load("docs/\n!docs/README.md\n", &di);
    assert_false(dockerignore_matches(&di, "docs/README.md"));
    dockerignore_fini(&di);
    load("**\n!util/docker/web\n", &di);
    assert_false(dockerignore_matches(&di, "util/docker/web/foo"));
    assert_true(dockerignore_matches(&di, "util/docker/other"));
    dockerignore_fini(&di);
    load("**\n!util/docker/web\nutil/docker/web/foo\n", &di);
    assert_true(dockerignore_matches(&di, "util/docker/web/foo"));
    dockerignore_fini(&di);
    load("**\n!dist/*.whl\n", &di);
    assert_false(dockerignore_matches(&di, "dist/a-1.0-py3-none-any.whl"));
    dockerignore_fini(&di);

    /* A directory excludes everything below it; "dir" then "**" only what is below it. */
    load("dir/**\n", &di);
    assert_false(dockerignore_matches(&di, "dir"));
    assert_true(dockerignore_matches(&di, "dir/a/b"));
    dockerignore_fini(&di);
    load("a/*/b\n", &di);
    assert_true(dockerignore_matches(&di, "a/x/b"));
    assert_true(dockerignore_matches(&di, "a/x/b/c"));
    assert_false(dockerignore_matches(&di, "a/x/y/b"));
    assert_false(dockerignore_matches(&di, "a/b"));
    dockerignore_fini(&di);

    /* The root is never excluded; paths are cleaned. */
    load("*\n", &di);
    assert_false(dockerignore_matches(&di, "."));
    assert_false(dockerignore_matches(&di, ""));
    assert_true(dockerignore_matches(&di, "./x"));
    assert_true(dockerignore_matches(&di, "y//z/../w"));
    dockerignore_fini(&di);
}

static void
test_file_format(void **state)
{
    (void)state;
    struct dockerignore di;
    load("\xEF\xBB\xBF# comment\r\n"
         "  # not a comment\n"
         "\n"
         "   \t\n"
         "/abs/x\n"
         "./y/../z/\n"
         "!  /w \n"
         "//\n"
         "a\\ b\n",
         &di);
    assert_int_equal(di.n_patterns, 6);
    assert_string_equal(di.patterns[0].text, "# not a comment");
    assert_string_equal(di.patterns[1].text, "abs/x");
    assert_string_equal(di.patterns[2].text, "z");
    assert_string_equal(di.patterns[3].text, "w");
    assert_true(di.patterns[3].exception);
    assert_false(di.patterns[2].exception);
    assert_string_equal(di.patterns[4].text, "/");
    assert_string_equal(di.patterns[5].text, "a\\ b");
    assert_true(dockerignore_matches(&di, "# not a comment"));
    assert_true(dockerignore_matches(&di, "abs/x/deeper"));
    assert_true(dockerignore_matches(&di, "a b"));
    assert_false(dockerignore_matches(&di, "w"));
    dockerignore_fini(&di);

    load("", &di);
    assert_int_equal(di.n_patterns, 0);
    assert_false(di.has_exceptions);
    assert_false(dockerignore_matches(&di, "x"));
    dockerignore_fini(&di);
}

static void
test_errors(void **state)
{
    (void)state;
    bad("[\n", "syntax error in pattern");
    bad("ok\n!\n", "illegal exclusion pattern: \"!\"");
    bad("a\\\n", "syntax error in pattern");
    bad("[]a]\n", "syntax error in pattern");
    bad("[-]\n", "syntax error in pattern");
    bad("[x-]\n", "syntax error in pattern");
    bad("[-x]\n", "syntax error in pattern");
    bad("[a-b-c]\n", "syntax error in pattern");
    bad("[^\n", "syntax error in pattern");
    bad("[^bc\n", "syntax error in pattern");
    bad("a[\n", "syntax error in pattern");
    bad("x/[z-a]\n", "syntax error in pattern");
    char *line = malloc(70000);
    memset(line, 'a', 69999);
    line[69999] = '\0';
    bad(line, "error reading .dockerignore: bufio.Scanner: token too long");
    free(line);
}

static void
test_exception_below(void **state)
{
    (void)state;
    struct dockerignore di;
    load("dir\n", &di);
    assert_false(dockerignore_has_exception_below(&di, "dir"));
    dockerignore_fini(&di);

    load("*\n!dir/sub/x\n", &di);
    assert_true(dockerignore_matches(&di, "dir"));
    assert_true(dockerignore_has_exception_below(&di, "dir"));
    assert_true(dockerignore_has_exception_below(&di, "dir/sub"));
    assert_true(dockerignore_has_exception_below(&di, "./dir/sub/"));
    assert_false(dockerignore_has_exception_below(&di, "dir/other"));
    assert_false(dockerignore_has_exception_below(&di, "di"));
    assert_true(dockerignore_has_exception_below(&di, "."));
    assert_false(dockerignore_matches(&di, "dir/sub/x"));
    dockerignore_fini(&di);

    /* Exceptions that are not a plain path: Docker's walker only sees the literal prefix. */
    load("dir\n!**/keep\n", &di);
    assert_true(dockerignore_has_exception_below(&di, "dir"));
    assert_false(dockerignore_matches(&di, "dir/a/keep"));
    dockerignore_fini(&di);
    load("dir\n!dir/*.md\n", &di);
    assert_true(dockerignore_has_exception_below(&di, "dir"));
    assert_false(dockerignore_has_exception_below(&di, "other"));
    assert_false(dockerignore_has_exception_below(&di, "dir/sub"));
    dockerignore_fini(&di);
    load("dir\n!dir/s*/x\n", &di);
    assert_true(dockerignore_has_exception_below(&di, "dir/sub"));
    assert_false(dockerignore_has_exception_below(&di, "dir/other"));
    dockerignore_fini(&di);
    load("a\n!a/b**\n", &di);
    assert_true(dockerignore_has_exception_below(&di, "a"));
    assert_true(dockerignore_has_exception_below(&di, "a/bc"));
    assert_false(dockerignore_has_exception_below(&di, "a/c"));
    dockerignore_fini(&di);
    /* An exception naming the directory itself or a parent re-includes all below. */
    load("**\n!a\n", &di);
    assert_true(dockerignore_has_exception_below(&di, "a/b"));
    dockerignore_fini(&di);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patternmatcher_cases), cmocka_unit_test(test_exceptions),
        cmocka_unit_test(test_file_format),          cmocka_unit_test(test_errors),
        cmocka_unit_test(test_exception_below),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
