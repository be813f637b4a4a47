#include "../cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "build/dockerfile.h"

/* ---- helpers ---- */

static void
parse_ok(const char *text, struct dockerfile *df)
{
    struct err *err = NULL;
    int rc = dockerfile_parse(text, strlen(text), df, &err);
    if (rc < 0)
        fail_msg("unexpected error: %s", err->msg);
    assert_null(err);
}

static void
parse_fails(const char *text, const char *msg)
{
    struct dockerfile df;
    struct err *err = NULL;
    assert_int_equal(dockerfile_parse(text, strlen(text), &df, &err), -1);
    assert_non_null(err);
    assert_string_equal(err->msg, msg);
    err_clear(&err);
}

/* The only stage's i-th instruction after FROM. */
static const struct dockerfile_instr *
instr(const struct dockerfile *df, size_t i)
{
    assert_true(df->n_stages >= 1);
    assert_true(i < df->stages[df->n_stages - 1].n_instrs);
    return &df->stages[df->n_stages - 1].instrs[i];
}

static void
assert_args(const struct dockerfile_instr *in, const char *const *want)
{
    size_t n = 0;
    while (want[n] != NULL)
        n++;
    assert_int_equal(in->n_args, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(in->args[i], want[i]);
    assert_null(in->args[n]);
}

#define ARGS(in, ...) assert_args(in, (const char *const[]){__VA_ARGS__, NULL})

static char *
expand_env(const char *word, char *const *env, struct err **err)
{
    struct dockerfile_expand_opts o = {.env = env};
    return dockerfile_expand(word, &o, err);
}

static void
expands(const char *word, const char *want)
{
    char *env[] = {(char *)"a=1",     (char *)"e=",      (char *)"sp=x  y",
                   (char *)"dup=old", (char *)"dup=new", NULL};
    struct err *err = NULL;
    char *got = expand_env(word, env, &err);
    if (got == NULL)
        fail_msg("%s: %s", word, err->msg);
    assert_string_equal(got, want);
    free(got);
}

static void
expand_fails(const char *word, const char *msg)
{
    char *env[] = {(char *)"a=1", (char *)"e=", NULL};
    struct err *err = NULL;
    assert_null(expand_env(word, env, &err));
    assert_non_null(err);
    assert_int_equal(err->kind, ERR_INVALID);
    assert_string_equal(err->msg, msg);
    err_clear(&err);
}

/* ---- every instruction ---- */

static void
test_instructions(void **state)
{
    (void)state;
    struct dockerfile df;
    parse_ok("FROM --platform=linux/amd64 busybox:1 AS Build\n"
             "RUN echo \"$HOME\" && ls\n"
             "RUN [\"/bin/sh\", \"-c\", \"echo hi\"]\n"
             "CMD echo a\n"
             "ENTRYPOINT [\"/entry\"]\n"
             "LABEL a=1 \"b c\"=\"d e\" f='g'\n"
             "LABEL old value  with  spaces\n"
             "EXPOSE 80/tcp 443\n"
             "ENV k=v k2=\"v 2\" k3=a\\ b\n"
             "ENV legacy v w\n"
             "ADD --chown=1:2 --chmod=644 --link src1 src2 /dst/\n"
             "COPY --from=build --link=false [\"a b\", \"/c\"]\n"
             "VOLUME /v1 /v2\n"
             "VOLUME [\"/v3\"]\n"
             "USER app:app\n"
             "WORKDIR /srv/$X\n"
             "ARG A\n"
             "ARG B=2 C=\"3 4\"\n"
             "ONBUILD RUN make\n"
             "STOPSIGNAL SIGTERM\n"
             "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --retries=3 CMD "
             "curl -f localhost\n"
             "SHELL [\"/bin/bash\", \"-c\"]\n"
             "MAINTAINER someone <a@b>\n",
             &df);
    assert_int_equal(df.n_stages, 1);
    const struct dockerfile_stage *st = &df.stages[0];
    assert_string_equal(st->base, "busybox:1");
    assert_string_equal(st->name, "build");
    assert_string_equal(st->platform, "linux/amd64");
    assert_int_equal(st->from.cmd, DOCKERFILE_FROM);
    ARGS(&st->from, "busybox:1", "AS", "Build");
    assert_int_equal(st->n_instrs, 22);

    const struct dockerfile_instr *in = instr(&df, 0);
    assert_int_equal(in->cmd, DOCKERFILE_RUN);
    assert_int_equal(in->line, 2);
    assert_false(in->json);
    ARGS(in, "echo \"$HOME\" && ls");
    assert_string_equal(in->original, "RUN echo \"$HOME\" && ls");

    in = instr(&df, 1);
    assert_true(in->json);
    ARGS(in, "/bin/sh", "-c", "echo hi");
    in = instr(&df, 2);
    assert_int_equal(in->cmd, DOCKERFILE_CMD);
    ARGS(in, "echo a");
    in = instr(&df, 3);
    assert_int_equal(in->cmd, DOCKERFILE_ENTRYPOINT);
    assert_true(in->json);
    ARGS(in, "/entry");

    in = instr(&df, 4);
    assert_int_equal(in->cmd, DOCKERFILE_LABEL);
    assert_int_equal(in->n_kvs, 3);
    assert_string_equal(in->kvs[1].key, "\"b c\"");
    assert_string_equal(in->kvs[1].value, "\"d e\"");
    assert_string_equal(in->kvs[2].value, "'g'");
    in = instr(&df, 5);
    assert_int_equal(in->n_kvs, 1);
    assert_string_equal(in->kvs[0].key, "old");
    assert_string_equal(in->kvs[0].value, "value  with  spaces");

    in = instr(&df, 6);
    assert_int_equal(in->cmd, DOCKERFILE_EXPOSE);
    ARGS(in, "80/tcp", "443");

    in = instr(&df, 7);
    assert_int_equal(in->cmd, DOCKERFILE_ENV);
    assert_int_equal(in->n_kvs, 3);
    assert_string_equal(in->kvs[0].key, "k");
    assert_string_equal(in->kvs[1].value, "\"v 2\"");
    assert_string_equal(in->kvs[2].value, "a\\ b");
    ARGS(in, "k", "v", "k2", "\"v 2\"", "k3", "a\\ b");
    in = instr(&df, 8);
    assert_int_equal(in->n_kvs, 1);
    assert_string_equal(in->kvs[0].key, "legacy");
    assert_string_equal(in->kvs[0].value, "v w");

    in = instr(&df, 9);
    assert_int_equal(in->cmd, DOCKERFILE_ADD);
    assert_string_equal(dockerfile_instr_flag(in, "chown"), "1:2");
    assert_string_equal(dockerfile_instr_flag(in, "chmod"), "644");
    assert_string_equal(dockerfile_instr_flag(in, "link"), "true");
    assert_null(dockerfile_instr_flag(in, "from"));
    ARGS(in, "src1", "src2", "/dst/");

    in = instr(&df, 10);
    assert_int_equal(in->cmd, DOCKERFILE_COPY);
    assert_string_equal(dockerfile_instr_flag(in, "from"), "build");
    assert_string_equal(dockerfile_instr_flag(in, "link"), "false");
    assert_true(in->json);
    ARGS(in, "a b", "/c");

    ARGS(instr(&df, 11), "/v1", "/v2");
    assert_true(instr(&df, 12)->json);
    ARGS(instr(&df, 12), "/v3");
    ARGS(instr(&df, 13), "app:app");
    ARGS(instr(&df, 14), "/srv/$X");

    in = instr(&df, 15);
    assert_int_equal(in->cmd, DOCKERFILE_ARG);
    assert_int_equal(in->n_kvs, 1);
    assert_string_equal(in->kvs[0].key, "A");
    assert_null(in->kvs[0].value);
    in = instr(&df, 16);
    assert_int_equal(in->n_kvs, 2);
    assert_string_equal(in->kvs[0].value, "2");
    assert_string_equal(in->kvs[1].key, "C");
    assert_string_equal(in->kvs[1].value, "\"3 4\"");

    in = instr(&df, 17);
    assert_int_equal(in->cmd, DOCKERFILE_ONBUILD);
    assert_string_equal(in->trigger, "RUN make");
    ARGS(in, "run", "make");

    ARGS(instr(&df, 18), "SIGTERM");

    in = instr(&df, 19);
    assert_int_equal(in->cmd, DOCKERFILE_HEALTHCHECK);
    assert_false(in->health.none);
    assert_string_equal(in->health.test[0], "CMD-SHELL");
    assert_string_equal(in->health.test[1], "curl -f localhost");
    assert_null(in->health.test[2]);
    assert_int_equal(in->health.interval_ns, 30000000000LL);
    assert_int_equal(in->health.timeout_ns, 90000000000LL);
    assert_int_equal(in->health.start_period_ns, 5000000000LL);
    assert_int_equal(in->health.retries, 3);

    in = instr(&df, 20);
    assert_int_equal(in->cmd, DOCKERFILE_SHELL);
    ARGS(in, "/bin/bash", "-c");
    in = instr(&df, 21);
    assert_int_equal(in->cmd, DOCKERFILE_MAINTAINER);
    ARGS(in, "someone <a@b>");
    dockerfile_fini(&df);
}

static void
test_healthcheck_forms(void **state)
{
    (void)state;
    struct dockerfile df;
    parse_ok("FROM x\nhealthcheck none\nHEALTHCHECK CMD [\"true\", \"x\"]\n"
             "HEALTHCHECK --interval=1h2m3.5s --timeout=1.5ms --start-period=100ms CMD true\n",
             &df);
    const struct dockerfile_instr *in = instr(&df, 0);
    assert_true(in->health.none);
    assert_string_equal(in->health.test[0], "NONE");
    in = instr(&df, 1);
    assert_string_equal(in->health.test[0], "CMD");
    assert_string_equal(in->health.test[1], "true");
    assert_string_equal(in->health.test[2], "x");
    assert_int_equal(in->health.retries, 0);
    in = instr(&df, 2);
    assert_int_equal(in->health.interval_ns, 3723500000000LL);
    assert_int_equal(in->health.timeout_ns, 1500000LL);
    assert_int_equal(in->health.start_period_ns, 100000000LL);
    dockerfile_fini(&df);
}

static void
test_flags(void **state)
{
    (void)state;
    struct dockerfile df;
    parse_ok("FROM x\n"
             "RUN --mount=type=cache,target=/a --mount=type=tmpfs,target=/b --network=none "
             "--security=insecure true\n"
             "COPY --chown=\"a b\" --from='st' x y\n"
             "COPY -- --x /y\n"
             "STOPSIGNAL --anything=1 SIGKILL\n"
             "ARG --whatever=1 v\n"
             "CMD -- --version\n",
             &df);
    const struct dockerfile_instr *in = instr(&df, 0);
    assert_int_equal(in->n_flags, 4);
    assert_string_equal(in->flags[0].name, "mount");
    assert_string_equal(in->flags[0].value, "type=cache,target=/a");
    assert_string_equal(in->flags[1].value, "type=tmpfs,target=/b");
    assert_string_equal(dockerfile_instr_flag(in, "mount"), "type=tmpfs,target=/b");
    assert_string_equal(dockerfile_instr_flag(in, "network"), "none");
    assert_string_equal(dockerfile_instr_flag(in, "security"), "insecure");
    ARGS(in, "true");
    in = instr(&df, 1);
    assert_string_equal(dockerfile_instr_flag(in, "chown"), "a b");
    assert_string_equal(dockerfile_instr_flag(in, "from"), "st");
    ARGS(instr(&df, 2), "--x", "/y");
    /* buildkit never looks at STOPSIGNAL's or ARG's flags */
    assert_int_equal(instr(&df, 3)->n_flags, 0);
    ARGS(instr(&df, 3), "SIGKILL");
    ARGS(instr(&df, 4), "v");
    ARGS(instr(&df, 5), "--version");
    dockerfile_fini(&df);
}

/* ---- directives, comments, continuations ---- */

static void
test_directives(void **state)
{
    (void)state;
    struct dockerfile df;
    parse_ok("# syntax=docker/dockerfile:1\n  # ESCAPE = `  \nFROM x\nENV a=b`\n  c=d\n", &df);
    assert_int_equal(df.escape, '`');
    assert_string_equal(df.syntax, "docker/dockerfile:1");
    assert_int_equal(instr(&df, 0)->n_kvs, 2);
    assert_string_equal(instr(&df, 0)->kvs[1].key, "c");
    assert_int_equal(instr(&df, 0)->line, 4);
    assert_int_equal(instr(&df, 0)->end_line, 5);
    dockerfile_fini(&df);

    /* An unknown directive is a comment and ends the directives; so do an empty line and an
     * instruction. */
    const char *ignored[] = {"# foo=bar\n# escape=`\nFROM x\nENV a=x\\\ny=z\n",
                             "\n# escape=`\nFROM x\nENV a=x\\\ny=z\n",
                             "FROM x\n# escape=`\nENV a=x\\\ny=z\n"};
    for (size_t i = 0; i < 3; i++) {
        parse_ok(ignored[i], &df);
        assert_int_equal(df.escape, '\\');
        assert_null(df.syntax);
        assert_string_equal(instr(&df, 0)->kvs[0].value, "xy=z");
        dockerfile_fini(&df);
    }
    parse_fails("# escape=x\nFROM x\n",
                "failed to parse Dockerfile: invalid escape token 'x' does not match ` or \\");
    parse_fails("# escape=`\n# escape=`\nFROM x\n",
                "failed to parse Dockerfile: only one escape parser directive can be used");
    parse_fails("# syntax=a\n#syntax=b\nFROM x\n",
                "failed to parse Dockerfile: only one syntax parser directive can be used");
}

static void
test_continuations(void **state)
{
    (void)state;
    struct dockerfile df;
    parse_ok("\xEF\xBB\xBF"
             "from x\r\n"
             "  Run echo a \\\r\n"
             "# a comment inside\n"
             "   # an indented one\n"
             "\n"
             "  b \\   \n"
             "  c\n"
             "ENV a=x\\\\\n"
             "ENV b=y \\\n",
             &df);
    const struct dockerfile_instr *in = instr(&df, 0);
    assert_int_equal(in->cmd, DOCKERFILE_RUN);
    assert_int_equal(in->line, 2);
    assert_int_equal(in->end_line, 7);
    ARGS(in, "echo a   b   c");
    assert_string_equal(in->original, "Run echo a   b   c");
    /* An escaped escape token ends the line. */
    assert_string_equal(instr(&df, 1)->kvs[0].value, "x\\\\");
    assert_int_equal(instr(&df, 1)->line, 8);
    /* A continuation at the end of the file. */
    assert_string_equal(instr(&df, 2)->kvs[0].value, "y");
    assert_non_null(df.warnings);
    assert_string_equal(df.warnings[0],
                        "[WARNING]: Empty continuation line found in:\n    Run echo a   b   c");
    assert_string_equal(df.warnings[1],
                        "[WARNING]: Empty continuation lines will become errors in a future "
                        "release.");
    assert_null(df.warnings[2]);
    dockerfile_fini(&df);

    /* The escape token alone on a line continues it. */
    parse_ok("FROM x\nRUN a \\\n\\\n b\n", &df);
    ARGS(instr(&df, 0), "a  b");
    assert_null(df.warnings);
    dockerfile_fini(&df);
}

/* ---- JSON and shell forms ---- */

static void
test_json_forms(void **state)
{
    (void)state;
    struct dockerfile df;
    parse_ok("FROM x\n"
             "CMD [\"a\",]\n"      /* not JSON: shell form */
             "CMD [\"a\"] trail\n" /* dockerd 20.10 reads the array and ignores the rest */
             "CMD []\n"
             "ENTRYPOINT [ \"a\" , \"\\u00e9\\n\" ]\n"
             "COPY [\"a\" b\n" /* not JSON: words */
             "RUN\n",
             &df);
    assert_false(instr(&df, 0)->json);
    ARGS(instr(&df, 0), "[\"a\",]");
    assert_true(instr(&df, 1)->json);
    ARGS(instr(&df, 1), "a");
    assert_true(instr(&df, 2)->json);
    assert_int_equal(instr(&df, 2)->n_args, 0);
    ARGS(instr(&df, 3), "a", "\xc3\xa9\n");
    assert_false(instr(&df, 4)->json);
    ARGS(instr(&df, 4), "[\"a\"", "b");
    assert_int_equal(instr(&df, 5)->n_args, 0);
    dockerfile_fini(&df);

    const char *msg = "failed to parse Dockerfile: when using JSON array syntax, arrays must be "
                      "comprised of strings only";
    parse_fails("FROM x\nCMD [\"a\", 1]\n", msg);
    parse_fails("FROM x\nENTRYPOINT [\"a\", null]\n", msg);
    parse_fails("FROM x\nVOLUME [[\"a\"]]\n", msg);
    parse_fails("FROM x\nONBUILD CMD [\"a\", 1]\n", msg);
}

/* ---- heredocs ---- */

static void
test_heredocs(void **state)
{
    (void)state;
    struct dockerfile df;
    parse_ok("FROM x\n"
             "RUN <<EOF\n"
             "echo hi\n"
             "  EOF\n"
             "EOF\n"
             "RUN <<-\"EOT\" cat > /x && 3<<END2 sh\n"
             "\t\tline $a\n"
             "\tEOT\n"
             "zz\r\n"
             "END2\n"
             "COPY <<A <<'B' /dest/\n"
             "B\n"
             "A\n"
             "A\n"
             "B\n"
             "RUN [\"<<EOF\"]\n"
             "RUN echo \"<<NO\"\n"
             "ONBUILD RUN <<X\n"
             "body\n"
             "X\n",
             &df);
    const struct dockerfile_instr *in = instr(&df, 0);
    assert_int_equal(in->line, 2);
    assert_int_equal(in->end_line, 5);
    ARGS(in, "<<EOF");
    assert_int_equal(in->n_heredocs, 1);
    assert_string_equal(in->heredocs[0].name, "EOF");
    assert_string_equal(in->heredocs[0].content, "echo hi\n  EOF\n");
    assert_true(in->heredocs[0].expand);
    assert_false(in->heredocs[0].chomp);
    assert_ptr_equal(dockerfile_instr_heredoc(in, "<<EOF"), &in->heredocs[0]);
    assert_null(dockerfile_instr_heredoc(in, "EOF"));

    in = instr(&df, 1);
    assert_int_equal(in->n_heredocs, 2);
    assert_string_equal(in->heredocs[0].name, "EOT");
    assert_false(in->heredocs[0].expand);
    assert_true(in->heredocs[0].chomp);
    assert_string_equal(in->heredocs[0].content, "\t\tline $a\n");
    char *body = dockerfile_heredoc_body(&in->heredocs[0]);
    assert_string_equal(body, "line $a\n");
    free(body);
    assert_string_equal(in->heredocs[1].name, "END2");
    assert_int_equal(in->heredocs[1].fd, 3);
    assert_string_equal(in->heredocs[1].content, "zz\r\n");
    body = dockerfile_heredoc_body(&in->heredocs[1]);
    assert_string_equal(body, "zz\r\n");
    free(body);

    /* Bodies follow one another in the order of the words. */
    in = instr(&df, 2);
    assert_int_equal(in->n_heredocs, 2);
    assert_string_equal(in->heredocs[0].content, "B\n");
    assert_string_equal(in->heredocs[1].content, "A\n");
    assert_false(in->heredocs[1].expand);
    assert_ptr_equal(dockerfile_instr_heredoc(in, "<<'B'"), &in->heredocs[1]);
    ARGS(in, "<<A", "<<'B'", "/dest/");

    assert_int_equal(instr(&df, 3)->n_heredocs, 0); /* JSON form */
    assert_int_equal(instr(&df, 4)->n_heredocs, 0); /* quoted */
    in = instr(&df, 5);
    assert_int_equal(in->n_heredocs, 1);
    assert_string_equal(in->trigger, "RUN <<X\nbody\nX");
    dockerfile_fini(&df);

    parse_fails("FROM x\nRUN <<EOF\nabc\n", "dockerfile parse error line 2: unterminated heredoc");
    parse_fails("FROM x\nCOPY a <<EOF\nhi\nEOF\n",
                "dockerfile parse error line 2: COPY cannot accept a heredoc as a destination");
    parse_fails("FROM x\nCOPY <<EOF\nEOF\n",
                "dockerfile parse error line 2: COPY requires at least two arguments, but only "
                "one was provided. Destination could not be determined");
}

/* ---- stages, ARGs, triggers ---- */

static void
test_stages(void **state)
{
    (void)state;
    struct dockerfile df;
    parse_ok("ARG IMG=busybox\nARG V\nFROM $IMG AS one\nARG V\nRUN a\nfrom one\nRUN b\n", &df);
    assert_int_equal(df.n_args, 2);
    assert_string_equal(df.args[0].kvs[0].key, "IMG");
    assert_string_equal(df.args[0].kvs[0].value, "busybox");
    assert_int_equal(df.n_stages, 2);
    assert_string_equal(df.stages[0].base, "$IMG");
    assert_string_equal(df.stages[0].name, "one");
    assert_int_equal(df.stages[0].n_instrs, 2);
    assert_null(df.stages[1].name);
    assert_null(df.stages[1].platform);
    assert_string_equal(df.stages[1].base, "one");
    assert_int_equal(df.stages[1].instrs[0].line, 7);
    dockerfile_fini(&df);

    parse_fails("RUN true\n", "no build stage in current context");
    parse_fails("ARG X\n", "dockerfile contains no stages to build");
    parse_fails("FROM x AS a\nFROM y as A\n", "a stage name already used");
    parse_fails("", "failed to parse Dockerfile: file with no instructions");
    parse_fails("# only a comment\n\n", "failed to parse Dockerfile: file with no instructions");
}

static void
test_triggers(void **state)
{
    (void)state;
    struct dockerfile_instr *v;
    size_t n;
    struct err *err = NULL;
    assert_int_equal(dockerfile_parse_trigger("RUN echo hi", &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].cmd, DOCKERFILE_RUN);
    ARGS(&v[0], "echo hi");
    dockerfile_instrs_free(v, n);
    assert_int_equal(dockerfile_parse_trigger("copy  x /y", &v, &n, &err), 0);
    ARGS(&v[0], "x", "/y");
    dockerfile_instrs_free(v, n);
    assert_int_equal(dockerfile_parse_trigger("RUN <<X\nbody\nX", &v, &n, &err), 0);
    assert_string_equal(v[0].heredocs[0].content, "body\n");
    dockerfile_instrs_free(v, n);

    const struct {
        const char *text, *msg;
    } bad[] = {
        {"FROM x", "FROM isn't allowed as an ONBUILD trigger"},
        {"MAINTAINER me", "MAINTAINER isn't allowed as an ONBUILD trigger"},
        {"ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
        {"FOO x", "unknown instruction: FOO"},
        {"COPY a", "COPY requires at least two arguments, but only one was provided. "
                   "Destination could not be determined"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(dockerfile_parse_trigger(bad[i].text, &v, &n, &err), -1);
        assert_string_equal(err->msg, bad[i].msg);
        err_clear(&err);
    }
}

/* ---- errors, as dockerd 20.10 words them (checked against it) ---- */

static void
test_errors(void **state)
{
    (void)state;
    const struct {
        const char *text, *msg;
    } cases[] = {
        {"FROM x\nRUN true\nFOO bar\n", "dockerfile parse error line 3: unknown instruction: FOO"},
        {"FROM x\n  foo\n", "dockerfile parse error line 2: unknown instruction: FOO"},
        {"FROM x\nENV =x", "dockerfile parse error line 2: ENV names can not be blank"},
        {"FROM x a", "dockerfile parse error line 1: FROM requires either one or three arguments"},
        {"FROM x\nLABEL", "dockerfile parse error line 2: LABEL requires at least one argument"},
        {"FROM x\nLABEL a", "failed to parse Dockerfile: LABEL must have two arguments"},
        {"FROM x\nENV a", "failed to parse Dockerfile: ENV must have two arguments"},
        {"FROM x\nENV a=b c", "failed to parse Dockerfile: Syntax error - can't find = in \"c\". "
                              "Must be of the form: name=value"},
        {"FROM x\nENV a=1 # no comment", "failed to parse Dockerfile: Syntax error - can't find "
                                         "= in \"#\". Must be of the form: name=value"},
        {"FROM x\nARG =b", "dockerfile parse error line 2: ARG names can not be blank"},
        {"FROM x\nARG", "dockerfile parse error line 2: ARG requires at least one argument"},
        {"FROM x\nWORKDIR", "dockerfile parse error line 2: WORKDIR requires exactly one argument"},
        {"FROM x\nSHELL sh -c",
         "dockerfile parse error line 2: SHELL requires the arguments to be in JSON form"},
        {"FROM x\nSHELL []", "dockerfile parse error line 2: SHELL requires at least one argument"},
        {"FROM x\nONBUILD ONBUILD RUN x",
         "dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
        {"FROM x\nONBUILD FROM x",
         "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger"},
        {"FROM x\nonbuild maintainer x",
         "dockerfile parse error line 2: MAINTAINER isn't allowed as an ONBUILD trigger"},
        {"FROM x\nONBUILD",
         "dockerfile parse error line 2: ONBUILD requires at least one argument"},
        {"FROM x\nONBUILD ENV a", "failed to parse Dockerfile: ENV must have two arguments"},
        {"FROM x\nSTOPSIGNAL",
         "dockerfile parse error line 2: STOPSIGNAL requires exactly one argument"},
        {"FROM x\nHEALTHCHECK NONE x",
         "dockerfile parse error line 2: HEALTHCHECK NONE takes no arguments"},
        {"FROM x\nHEALTHCHECK FOO x",
         "dockerfile parse error line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)"},
        {"FROM x\nHEALTHCHECK CMD",
         "dockerfile parse error line 2: Missing command after HEALTHCHECK CMD"},
        {"FROM x\nHEALTHCHECK --interval=xx CMD true",
         "dockerfile parse error line 2: time: invalid duration \"xx\""},
        {"FROM x\nHEALTHCHECK --timeout=1x CMD true",
         "dockerfile parse error line 2: time: unknown unit \"x\" in duration \"1x\""},
        {"FROM x\nHEALTHCHECK --timeout=1 CMD true",
         "dockerfile parse error line 2: time: missing unit in duration \"1\""},
        {"FROM x\nHEALTHCHECK --start-period=9999999999999h CMD true",
         "dockerfile parse error line 2: time: invalid duration \"9999999999999h\""},
        {"FROM x\nHEALTHCHECK --interval=0.5ms CMD true",
         "dockerfile parse error line 2: Interval \"interval\" cannot be less than 1ms"},
        {"FROM x\nHEALTHCHECK --timeout=-1s CMD true",
         "dockerfile parse error line 2: Interval \"timeout\" cannot be less than 1ms"},
        {"FROM x\nHEALTHCHECK --retries=-1 CMD true",
         "dockerfile parse error line 2: --retries must be at least 1 (not -1)"},
        {"FROM x\nHEALTHCHECK --retries=x CMD true",
         "dockerfile parse error line 2: strconv.ParseInt: parsing \"x\": invalid syntax"},
        {"FROM x\nHEALTHCHECK --retries=99999999999 CMD true",
         "dockerfile parse error line 2: strconv.ParseInt: parsing \"99999999999\": value out of "
         "range"},
        {"FROM x\nHEALTHCHECK --foo=x CMD true",
         "dockerfile parse error line 2: Unknown flag: foo"},
        {"FROM x\nHEALTHCHECK --interval=1s --interval=2s CMD true",
         "dockerfile parse error line 2: Duplicate flag specified: interval"},
        {"FROM x\nHEALTHCHECK", "dockerfile parse error line 2: HEALTHCHECK requires at least one "
                                "argument"},
        {"FROM x\nEXPOSE", "dockerfile parse error line 2: EXPOSE requires at least one argument"},
        {"FROM x\nVOLUME", "dockerfile parse error line 2: VOLUME requires at least one argument"},
        {"FROM x\nVOLUME [\" \"]",
         "dockerfile parse error line 2: VOLUME specified can not be an empty string"},
        {"FROM x\nMAINTAINER",
         "dockerfile parse error line 2: MAINTAINER requires exactly one argument"},
        {"FROM x AS 1x", "dockerfile parse error line 1: invalid name for build stage: \"1x\", "
                         "name can't start with a number or contain symbols"},
        {"FROM --foo=x x", "dockerfile parse error line 1: Unknown flag: foo"},
        {"FROM x\nADD --from=x a b", "dockerfile parse error line 2: Unknown flag: from"},
        {"FROM x\nCOPY --chown a b",
         "dockerfile parse error line 2: Missing a value on flag: chown"},
        {"FROM x\nCOPY --chown=1 --chown=2 a b",
         "dockerfile parse error line 2: Duplicate flag specified: chown"},
        {"FROM x\nCOPY --link=maybe a b",
         "dockerfile parse error line 2: Expecting boolean value for flag link, not: maybe"},
        {"FROM x\nCOPY --link= a b",
         "dockerfile parse error line 2: Missing a value on flag: link"},
        {"FROM x\nCOPY a", "dockerfile parse error line 2: COPY requires at least two arguments, "
                           "but only one was provided. Destination could not be determined"},
        {"FROM x\nCMD --version", "dockerfile parse error line 2: Unknown flag: version"},
        {"FROM x\nUSER --foo=1 x", "dockerfile parse error line 2: Unknown flag: foo"},
        {"FROM x\nRUN --mount true",
         "dockerfile parse error line 2: Missing a value on flag: mount"},
        {"FROM x\nRUN --network=a --network=b true",
         "dockerfile parse error line 2: Duplicate flag specified: network"},
        {"FROM x\nENV a b\nENV",
         "dockerfile parse error line 3: ENV requires at least one argument"},
        {"FROM x\nFROM", "dockerfile parse error line 2: FROM requires either one or three "
                         "arguments"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        parse_fails(cases[i].text, cases[i].msg);
}

static void
test_limits(void **state)
{
    (void)state;
    struct dockerfile df;
    struct err *err = NULL;
    size_t big = DOCKERFILE_MAX_SIZE + 1;
    char *text = malloc(big);
    memset(text, '#', big);
    assert_int_equal(dockerfile_parse(text, big, &df, &err), -1);
    assert_int_equal(err->kind, ERR_TOO_LARGE);
    err_clear(&err);

    /* A physical line may hold 65535 bytes, as in Go's bufio.Scanner. */
    size_t n = strlen("FROM x\nENV a=") + 65535 - 6;
    memset(text, 'a', n + 1);
    memcpy(text, "FROM x\nENV a=", strlen("FROM x\nENV a="));
    text[n] = '\n';
    assert_int_equal(dockerfile_parse(text, n + 1, &df, &err), 0);
    dockerfile_fini(&df);
    text[n] = 'a';
    text[n + 1] = '\n';
    assert_int_equal(dockerfile_parse(text, n + 2, &df, &err), -1);
    assert_string_equal(err->msg, "failed to parse Dockerfile: dockerfile line greater than max "
                                  "allowed size of 65535");
    err_clear(&err);
    free(text);

    const char nul[] = "FROM x\nRUN a\0b\n";
    assert_int_equal(dockerfile_parse(nul, sizeof(nul) - 1, &df, &err), -1);
    assert_string_equal(err->msg, "failed to parse Dockerfile: line 2 holds a NUL byte");
    err_clear(&err);

    /* A long ONBUILD chain is refused without deep recursion. */
    char chain[4096] = "FROM x\n";
    for (int i = 0; i < 400; i++)
        strcat(chain, "ONBUILD ");
    strcat(chain, "RUN x\n");
    parse_fails(
        chain,
        "dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
}

/* ---- key=value splitting ---- */

static void
test_split_kv(void **state)
{
    (void)state;
    struct dockerfile_kv *kv;
    size_t n;
    struct err *err = NULL;
    assert_int_equal(dockerfile_split_kv(" a=1 b=\"x y\" c= ", '\\', DOCKERFILE_ENV, &kv, &n, &err),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(kv[1].value, "\"x y\"");
    assert_string_equal(kv[2].value, "");
    dockerfile_kvs_free(kv, n);
    assert_int_equal(dockerfile_split_kv("k  v  w", '\\', DOCKERFILE_LABEL, &kv, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(kv[0].value, "v  w");
    dockerfile_kvs_free(kv, n);
    assert_int_equal(dockerfile_split_kv("a b=2", '\\', DOCKERFILE_ARG, &kv, &n, &err), 0);
    assert_null(kv[0].value);
    assert_string_equal(kv[1].value, "2");
    dockerfile_kvs_free(kv, n);
    assert_int_equal(dockerfile_split_kv("a=\"b`\" c\"", '`', DOCKERFILE_ENV, &kv, &n, &err), 0);
    assert_int_equal(n, 1);
    dockerfile_kvs_free(kv, n);

    assert_int_equal(dockerfile_split_kv("=1", '\\', DOCKERFILE_ENV, &kv, &n, &err), -1);
    assert_string_equal(err->msg, "ENV names can not be blank");
    err_clear(&err);
    assert_int_equal(dockerfile_split_kv("", '\\', DOCKERFILE_LABEL, &kv, &n, &err), -1);
    assert_string_equal(err->msg, "LABEL requires at least one argument");
    err_clear(&err);
    assert_int_equal(dockerfile_split_kv("k", '\\', DOCKERFILE_ENV, &kv, &n, &err), -1);
    assert_string_equal(err->msg, "ENV must have two arguments");
    err_clear(&err);
}

/* ---- expansion ---- */

static void
test_expand_forms(void **state)
{
    (void)state;
    expands("$a", "1");
    expands("${a}", "1");
    expands("x$a-y", "x1-y");
    expands("$a_b", "");
    expands("${a_b}", "");
    expands("$dup", "new"); /* the last entry of a key wins */
    expands("${e:-d}", "d");
    expands("${zz:-d}", "d");
    expands("${a:-d}", "1");
    expands("${a:-}", "1");
    expands("${a:+alt}", "alt");
    expands("${e:+alt}", "");
    expands("${zz:+alt}", "");
    expands("${a:?msg}", "1");
    expands("${a?msg}", "1");
    expands("${e?msg}", "");
    expands("${zz:-${a:-n}}", "1");
    expands("${zz:-$a}", "1");
    expands("${zz:-\\}}", "}");
    expands("${zz:-a\\$b}", "a$b");
    expands("${zz:-'q w'}", "q w");
    expands("${1}", "");
    expands("$1", "");
    expands("$$", "");
    expands("${@}", "");
    expands("$", "$");
    expands("a$", "a$");
    expands("\"$\"", "$");
}

static void
test_expand_quotes(void **state)
{
    (void)state;
    expands("'$a'", "$a");
    expands("\"$a\"", "1");
    expands("\"${a}\"", "1");
    expands("\\$a", "$a");
    expands("\"a\\\"b\"", "a\"b");
    expands("'a\\b'", "a\\b");
    expands("\"a\\b\"", "a\\b");
    expands("\"a\\$b\"", "a$b");
    expands("a\\\\b", "a\\b");
    expands("\\a", "a");
    expands("a\\", "a");
    expands("$sp", "x  y");
    expands("x\"\" y", "x y");

    /* The escape token of "# escape=`". */
    char *env[] = {(char *)"a=1", NULL};
    struct dockerfile_expand_opts o = {.escape = '`', .env = env};
    char *got = dockerfile_expand("`$a\\$a\"`\"\"", &o, NULL);
    assert_string_equal(got, "$a\\1\"");
    free(got);

    /* keep_unset: buildkit's SkipUnsetEnv. */
    o = (struct dockerfile_expand_opts){.env = env, .keep_unset = true};
    got = dockerfile_expand("$a $zz ${zz} ${zz:-d} ${zz?m} ${zz:+p}", &o, NULL);
    assert_string_equal(got, "1 $zz ${zz} ${zz:-d} ${zz?m} ${zz:+p}");
    free(got);

    /* keep_quotes: heredoc bodies keep their quotes. */
    o = (struct dockerfile_expand_opts){.env = env, .keep_quotes = true};
    got = dockerfile_expand("echo '$a' \"$a\"", &o, NULL);
    assert_string_equal(got, "echo '1' \"1\"");
    free(got);
}

static bool
lookup(void *ctx, const char *name, const char **value)
{
    (*(int *)ctx)++;
    if (strcmp(name, "X") != 0)
        return false;
    *value = "from-callback";
    return true;
}

static void
test_expand_words(void **state)
{
    (void)state;
    char *env[] = {(char *)"sp=x  y", NULL};
    struct dockerfile_expand_opts o = {.env = env};
    char **w = dockerfile_expand_words(" a \"b c\" $sp '' d\"\"e ", &o, NULL);
    assert_non_null(w);
    assert_int_equal(strv_len(w), 5);
    assert_string_equal(w[0], "a");
    assert_string_equal(w[1], "b c");
    assert_string_equal(w[2], "x");
    assert_string_equal(w[3], "y");
    assert_string_equal(w[4], "de");
    strv_free(w);
    w = dockerfile_expand_words("  ", &o, NULL);
    assert_int_equal(strv_len(w), 0);
    strv_free(w);

    int calls = 0;
    o = (struct dockerfile_expand_opts){.lookup = lookup, .ctx = &calls};
    char *got = dockerfile_expand("$X-$Y", &o, NULL);
    assert_string_equal(got, "from-callback-");
    assert_int_equal(calls, 2);
    free(got);
}

static void
test_expand_errors(void **state)
{
    (void)state;
    expand_fails("x=${a-d}", "failed to process \"x=${a-d}\": missing ':' in substitution");
    expand_fails("${a+d}", "failed to process \"${a+d}\": missing ':' in substitution");
    expand_fails("${a#1}", "failed to process \"${a#1}\": missing ':' in substitution");
    expand_fails("${a%1}", "failed to process \"${a%1}\": missing ':' in substitution");
    expand_fails("${a/1/2}", "failed to process \"${a/1/2}\": missing ':' in substitution");
    expand_fails("${#a}", "failed to process \"${#a}\": missing ':' in substitution");
    expand_fails("${a", "failed to process \"${a\": missing ':' in substitution");
    expand_fails("${a:1}",
                 "failed to process \"${a:1}\": unsupported modifier (1) in substitution");
    expand_fails("${}", "failed to process \"${}\": syntax error: bad substitution");
    expand_fails("${:a}", "failed to process \"${:a}\": syntax error: bad substitution");
    expand_fails("${", "failed to process \"${\": syntax error: missing '}'");
    expand_fails("${zz:-", "failed to process \"${zz:-\": syntax error: missing '}'");
    expand_fails("${zz:-\"}", "failed to process \"${zz:-\\\"}\": syntax error: missing '}'");
    expand_fails("${zz:?msg}", "failed to process \"${zz:?msg}\": zz: msg");
    expand_fails("${zz?msg}", "failed to process \"${zz?msg}\": zz: msg");
    expand_fails("${zz?}", "failed to process \"${zz?}\": zz: is not allowed to be unset");
    expand_fails("${e:?}", "failed to process \"${e:?}\": e: is not allowed to be empty");
    expand_fails("\"b", "failed to process \"\\\"b\": unexpected end of statement while looking "
                        "for matching double-quote");
    expand_fails("'b", "failed to process \"'b\": unexpected end of statement while looking for "
                       "matching single-quote");

    /* Nesting is bounded. */
    char deep[2048] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "${z:-");
    struct err *err = NULL;
    char *env[] = {NULL};
    assert_null(expand_env(deep, env, &err));
    assert_non_null(strstr(err->msg, "too many nested substitutions"));
    err_clear(&err);

    /* Output is bounded. */
    char *big = malloc(1 << 20);
    memset(big, 'v', (1 << 20) - 1);
    big[(1 << 20) - 1] = '\0';
    char *entry = malloc((1 << 20) + 3);
    strcpy(entry, "v=");
    strcat(entry, big);
    char *env2[] = {entry, NULL};
    assert_null(expand_env("$v$v$v$v$v", env2, &err));
    assert_int_equal(err->kind, ERR_TOO_LARGE);
    err_clear(&err);
    free(big);
    free(entry);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instructions),  cmocka_unit_test(test_healthcheck_forms),
        cmocka_unit_test(test_flags),         cmocka_unit_test(test_directives),
        cmocka_unit_test(test_continuations), cmocka_unit_test(test_json_forms),
        cmocka_unit_test(test_heredocs),      cmocka_unit_test(test_stages),
        cmocka_unit_test(test_triggers),      cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_split_kv),
        cmocka_unit_test(test_expand_forms),  cmocka_unit_test(test_expand_quotes),
        cmocka_unit_test(test_expand_words),  cmocka_unit_test(test_expand_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
