#include "../cmocka_prelude.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/options.h"

/* getopt wants writable strings (-Wwrite-strings makes literals const): copy them. */
static int
parse_list(const char *const *args, bool root, struct options *o, struct err **err)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = strdup("sockerlessd");
    for (; args[argc - 1] != NULL && argc < 31; argc++)
        argv[argc] = strdup(args[argc - 1]);
    argv[argc] = NULL;
    int rc = options_parse(argc, argv, root, o, err);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}
#define ARGS(...) ((const char *const[]){__VA_ARGS__})

static void
test_defaults_root(void **state)
{
    (void)state;
    struct options o;
    assert_int_equal(parse_list(ARGS(NULL), true, &o, NULL), 0);
    assert_int_equal(o.action, OPTIONS_RUN);
    assert_int_equal(o.n_hosts, 1);
    assert_string_equal(o.hosts[0], "unix:///var/run/sockerless.sock");
    assert_string_equal(o.data_root, "/var/lib/sockerless");
    assert_int_equal(o.log_level, LOG_LEVEL_INFO);
    options_fini(&o);
}

static void
test_defaults_user(void **state)
{
    (void)state;
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    setenv("XDG_DATA_HOME", "/home/u/.local/share", 1);
    struct options o;
    assert_int_equal(parse_list(ARGS(NULL), false, &o, NULL), 0);
    assert_string_equal(o.hosts[0], "unix:///run/user/1000/sockerless.sock");
    assert_string_equal(o.data_root, "/home/u/.local/share/sockerless");
    options_fini(&o);
}

static void
test_repeated_hosts_and_forms(void **state)
{
    (void)state;
    struct options o;
    assert_int_equal(
        parse_list(ARGS("-H", "unix:///a.sock", "--host=tcp://127.0.0.1:2375", "--host",
                        "unix:///b.sock", "--data-root", "/d", "--log-level=debug", NULL),
                   true, &o, NULL),
        0);
    assert_int_equal(o.n_hosts, 3);
    assert_string_equal(o.hosts[0], "unix:///a.sock");
    assert_string_equal(o.hosts[1], "tcp://127.0.0.1:2375");
    assert_string_equal(o.hosts[2], "unix:///b.sock");
    assert_string_equal(o.data_root, "/d");
    assert_int_equal(o.log_level, LOG_LEVEL_DEBUG);
    options_fini(&o);
}

static void
expect_usage_error(const char *const *args, const char *needle)
{
    struct options o;
    struct err *err = NULL;
    assert_int_equal(parse_list(args, true, &o, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    assert_non_null(strstr(err->msg, needle));
    err_clear(&err);
}

static void
test_errors(void **state)
{
    (void)state;
    expect_usage_error(ARGS("--bogus", NULL), "--bogus");
    expect_usage_error(ARGS("--log-level", "loud", NULL), "loud");
    expect_usage_error(ARGS("-H", NULL), "needs a value");
    expect_usage_error(ARGS("extra", NULL), "extra");
    expect_usage_error(ARGS("--data-root=", NULL), "data-root");
}

static void
test_version_and_help(void **state)
{
    (void)state;
    struct options o;
    assert_int_equal(parse_list(ARGS("--version", NULL), true, &o, NULL), 0);
    assert_int_equal(o.action, OPTIONS_VERSION);
    options_fini(&o);
    assert_int_equal(parse_list(ARGS("-h", NULL), true, &o, NULL), 0);
    assert_int_equal(o.action, OPTIONS_HELP);
    options_fini(&o);
    assert_non_null(strstr(options_usage(), "--host"));
}

static void
test_driver(void **state)
{
    (void)state;
    struct options o;
    assert_int_equal(parse_list(ARGS(NULL), true, &o, NULL), 0);
    assert_int_equal(o.driver, OPTIONS_DRIVER_AUTO);
    options_fini(&o);
    assert_int_equal(parse_list(ARGS("--driver", "synthetic", NULL), true, &o, NULL), 0);
    assert_int_equal(o.driver, OPTIONS_DRIVER_SYNTHETIC);
    options_fini(&o);
    assert_int_equal(parse_list(ARGS("--driver=process", NULL), true, &o, NULL), 0);
    assert_int_equal(o.driver, OPTIONS_DRIVER_PROCESS);
    options_fini(&o);
    expect_usage_error(ARGS("--driver", "wasm", NULL), "unknown driver");
}

static void
test_registry_options(void **state)
{
    (void)state;
    struct options o;
    assert_int_equal(parse_list(ARGS(NULL), true, &o, NULL), 0);
    assert_int_equal(o.offline_pulls, OPTIONS_OFFLINE_DEFAULT);
    assert_false(options_synthetic_pulls(&o));
    assert_null(o.insecure_registries);
    assert_string_equal(o.registry_certs_dir, "/etc/docker/certs.d");
    options_fini(&o);
    /* --driver synthetic pulls synthetically when offline, unless told otherwise. */
    assert_int_equal(parse_list(ARGS("--driver", "synthetic", NULL), true, &o, NULL), 0);
    assert_true(options_synthetic_pulls(&o));
    options_fini(&o);
    assert_int_equal(
        parse_list(ARGS("--driver", "synthetic", "--offline-pulls", "error", NULL), true, &o, NULL),
        0);
    assert_false(options_synthetic_pulls(&o));
    options_fini(&o);
    assert_int_equal(
        parse_list(ARGS("--offline-pulls=synthetic", "--insecure-registry", "10.0.0.0/8",
                        "--insecure-registry=reg.local:5000", "--registry-certs-dir", "/c", NULL),
                   true, &o, NULL),
        0);
    assert_true(options_synthetic_pulls(&o));
    assert_string_equal(o.insecure_registries[0], "10.0.0.0/8");
    assert_string_equal(o.insecure_registries[1], "reg.local:5000");
    assert_null(o.insecure_registries[2]);
    assert_string_equal(o.registry_certs_dir, "/c");
    options_fini(&o);
    expect_usage_error(ARGS("--offline-pulls", "maybe", NULL), "unknown --offline-pulls mode");
    expect_usage_error(ARGS("--insecure-registry", "10.0.0.0/40", NULL), "invalid --insecure");
    expect_usage_error(ARGS("--insecure-registry", "https://x", NULL), "invalid --insecure");
    expect_usage_error(ARGS("--registry-certs-dir=", NULL), "must not be empty");
}

static void
test_access_options(void **state)
{
    (void)state;
    setenv("DOCKER_CERT_PATH", "/certs", 1);
    struct options o;
    assert_int_equal(parse_list(ARGS(NULL), true, &o, NULL), 0);
    assert_string_equal(o.group, "docker");
    assert_false(o.group_given);
    assert_int_equal(o.header_timeout_s, 60);
    assert_false(o.tls || o.tls_verify || o.tls_explicit_off);
    assert_string_equal(o.tls_cacert, "/certs/ca.pem");
    assert_string_equal(o.tls_key, "/certs/key.pem");
    options_fini(&o);

    assert_int_equal(
        parse_list(ARGS("-G", "staff", "--tlsverify", "--tlscert", "/c.pem", NULL), true, &o, NULL),
        0);
    assert_string_equal(o.group, "staff");
    assert_true(o.group_given);
    assert_true(o.tls && o.tls_verify); /* --tlsverify implies --tls */
    assert_false(o.tls_explicit_off);
    assert_string_equal(o.tls_cert, "/c.pem");
    options_fini(&o);

    assert_int_equal(parse_list(ARGS("--tls=false", NULL), true, &o, NULL), 0);
    assert_false(o.tls);
    assert_true(o.tls_explicit_off);
    options_fini(&o);

    struct err *err = NULL;
    assert_int_equal(parse_list(ARGS("--tlsverify=maybe", NULL), true, &o, &err), -1);
    assert_non_null(strstr(err->msg, "--tlsverify"));
    err_clear(&err);
    assert_int_equal(parse_list(ARGS("--header-timeout", "0", NULL), true, &o, &err), -1);
    err_clear(&err);
    assert_int_equal(parse_list(ARGS("--header-timeout", "7", NULL), true, &o, &err), 0);
    assert_int_equal(o.header_timeout_s, 7);
    options_fini(&o);
    assert_int_equal(parse_list(ARGS("--tlskey=", NULL), true, &o, &err), -1);
    assert_non_null(strstr(err->msg, "--tlskey"));
    err_clear(&err);
    unsetenv("DOCKER_CERT_PATH");
}

static void
test_agent_options(void **state)
{
    (void)state;
    struct options o;
    assert_int_equal(parse_list(ARGS(NULL), true, &o, NULL), 0);
    assert_int_equal(o.agent_mode, OPTIONS_AGENT_OFF);
    assert_null(o.agent_listen);
    assert_null(o.agent_binary);
    assert_int_equal(o.agent_timeout_ms, 15000);
    options_fini(&o);
    assert_int_equal(parse_list(ARGS("--agent-mode", "reverse", "--agent-listen=tcp:127.0.0.1:0",
                                     "--agent-binary", "/x/agent", "--agent-timeout", "2000", NULL),
                                true, &o, NULL),
                     0);
    assert_int_equal(o.agent_mode, OPTIONS_AGENT_REVERSE);
    assert_string_equal(o.agent_listen, "tcp:127.0.0.1:0");
    assert_string_equal(o.agent_binary, "/x/agent");
    assert_int_equal(o.agent_timeout_ms, 2000);
    options_fini(&o);
    assert_int_equal(parse_list(ARGS("--agent-mode=forward", NULL), true, &o, NULL), 0);
    assert_int_equal(o.agent_mode, OPTIONS_AGENT_FORWARD);
    options_fini(&o);
    expect_usage_error(ARGS("--agent-mode", "sideways", NULL), "unknown --agent-mode");
    expect_usage_error(ARGS("--agent-listen", "http://x", NULL), "invalid --agent-listen");
    expect_usage_error(ARGS("--agent-binary=", NULL), "must not be empty");
    expect_usage_error(ARGS("--agent-timeout", "5s", NULL), "invalid --agent-timeout");
    expect_usage_error(ARGS("--agent-timeout", "10", NULL), "invalid --agent-timeout");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_root),
        cmocka_unit_test(test_defaults_user),
        cmocka_unit_test(test_repeated_hosts_and_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_driver),
        cmocka_unit_test(test_registry_options),
        cmocka_unit_test(test_access_options),
        cmocka_unit_test(test_agent_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
