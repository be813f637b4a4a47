#include "daemon/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "image/registry.h"

const char *
options_usage(void)
{
    return "Usage: sockerlessd [OPTIONS]\n"
           "\n"
           "A Docker Engine API compatible daemon.\n"
           "\n"
           "Options:\n"
           "  -H, --host ADDR        listen on ADDR: unix:///path or tcp://host:port\n"
           "                         (repeatable; default unix:///var/run/sockerless.sock as\n"
           "                         root, unix://$XDG_RUNTIME_DIR/sockerless.sock otherwise)\n"
           "      --data-root DIR    where state is kept (default /var/lib/sockerless as root,\n"
           "                         $XDG_DATA_HOME/sockerless otherwise)\n"
           "  -l, --log-level LEVEL  debug, info, warn, error or fatal (default info)\n"
           "      --driver DRIVER    auto, process or synthetic (default auto: the process\n"
           "                         driver where an OCI runtime works, synthetic otherwise)\n"
           "      --runtime NAME|PATH  the process driver's OCI runtime (default: crun, then\n"
           "                         runc, the first whose trial container runs)\n"
           "      --offline-pulls MODE  error or synthetic: what a pull does when the registry\n"
           "                         cannot be reached (default synthetic with --driver\n"
           "                         synthetic, error otherwise)\n"
           "      --insecure-registry REGISTRY  a registry (host[:port] or CIDR) reached without\n"
           "                         TLS verification, or over plain HTTP (repeatable;\n"
           "                         127.0.0.0/8 always is)\n"
           "      --registry-certs-dir DIR  per-registry CAs and client certificates, as\n"
           "                         DIR/<host:port>/{*.crt,*.cert,*.key} (default\n"
           "                         /etc/docker/certs.d, as dockerd)\n"
           "  -G, --group GROUP      the group owning the unix sockets, mode 0660 (default\n"
           "                         docker; no change when that group does not exist)\n"
           "      --tls              serve TCP listeners over TLS (--tlscert, --tlskey)\n"
           "      --tlsverify        --tls, and require client certificates signed by\n"
           "                         --tlscacert\n"
           "      --tlscacert FILE   CA of the client certificates (default ~/.docker/ca.pem)\n"
           "      --tlscert FILE     the server certificate (default ~/.docker/cert.pem)\n"
           "      --tlskey FILE      the server key (default ~/.docker/key.pem)\n"
           "                         (~/.docker is $DOCKER_CERT_PATH when set.) Plain TCP\n"
           "                         listens on loopback addresses only, unless --tls=false or\n"
           "                         --tlsverify=false is given explicitly\n"
           "      --header-timeout SECONDS  a new connection must send its request line and\n"
           "                         headers within this (default 60; slow clients are cut off)\n"
           "      --agent-mode MODE  off, forward or reverse: run each container's command under\n"
           "                         sockerless-agent, the daemon dialing the agent's unix socket\n"
           "                         (forward) or the agent dialing --agent-listen (reverse);\n"
           "                         default off\n"
           "      --agent-listen ADDR  where agents dial back: unix:PATH or tcp:HOST:PORT\n"
           "                         (default unix:<data-root>/run/agent-callback/agent.sock when\n"
           "                         --agent-mode is reverse; SIGHUP reopens it)\n"
           "      --agent-binary PATH  the statically linked sockerless-agent (default: next to\n"
           "                         sockerlessd, then src/agent/ beside it, then $PATH)\n"
           "      --agent-timeout MS an agent connection silent for MS milliseconds is dead\n"
           "                         (default 15000; heartbeats every third of it)\n"
           "  -v, --version          print the version and exit\n"
           "  -h, --help             print this help and exit\n"
           "\n"
           "Exit status: 0 after a clean shutdown (SIGTERM or SIGINT), 1 on a runtime error,\n"
           "2 on a bad command line, 3 when a live daemon already listens on an address.\n";
}

static char *
default_host(bool is_root)
{
    if (is_root)
        return xstrdup("unix:///var/run/sockerless.sock");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg != NULL && *xdg == '/')
        return xasprintf("unix://%s/sockerless.sock", xdg);
    return xasprintf("unix:///tmp/sockerless-%d.sock", (int)getuid());
}

/* dockerd's --tls* defaults: the client's certificate directory. */
static char *
default_cert(const char *name)
{
    const char *dir = getenv("DOCKER_CERT_PATH");
    if (dir != NULL && *dir != '\0')
        return xasprintf("%s/%s", dir, name);
    const char *home = getenv("HOME");
    return xasprintf("%s/.docker/%s", home != NULL && *home == '/' ? home : "", name);
}

/* A boolean flag's optional value, as Go's flag package takes it (--tls, --tls=false). */
static bool
parse_bool(const char *arg, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    if (arg == NULL) {
        *out = true;
        return true;
    }
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(arg, yes[i]) == 0 || strcmp(arg, no[i]) == 0) {
            *out = strcmp(arg, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

/* Replaces *slot with a copy of a non-empty value. */
static int
set_path(char **slot, const char *flag, const char *value, struct err **err)
{
    if (*value == '\0')
        return err_make(err, ERR_INVALID, 0, "%s must not be empty", flag);
    free(*slot);
    *slot = xstrdup(value);
    return 0;
}

static char *
default_data_root(bool is_root)
{
    if (is_root)
        return xstrdup("/var/lib/sockerless");
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg != NULL && *xdg == '/')
        return xasprintf("%s/sockerless", xdg);
    const char *home = getenv("HOME");
    if (home != NULL && *home == '/')
        return xasprintf("%s/.local/share/sockerless", home);
    return xasprintf("/tmp/sockerless-%d", (int)getuid());
}

void
options_fini(struct options *o)
{
    for (size_t i = 0; i < o->n_hosts; i++)
        free(o->hosts[i]);
    free(o->data_root);
    free(o->runtime);
    strv_free(o->insecure_registries);
    free(o->registry_certs_dir);
    free(o->group);
    free(o->tls_cacert);
    free(o->tls_cert);
    free(o->tls_key);
    free(o->agent_listen);
    free(o->agent_binary);
    memset(o, 0, sizeof(*o));
}

int
options_parse(int argc, char **argv, bool is_root, struct options *out, struct err **err)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"data-root", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'l'},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"driver", required_argument, NULL, 'D'},
        {"runtime", required_argument, NULL, 'R'},
        {"offline-pulls", required_argument, NULL, 'O'},
        {"insecure-registry", required_argument, NULL, 'I'},
        {"registry-certs-dir", required_argument, NULL, 'C'},
        {"group", required_argument, NULL, 'G'},
        {"tls", optional_argument, NULL, 't'},
        {"tlsverify", optional_argument, NULL, 'V'},
        {"tlscacert", required_argument, NULL, 'a'},
        {"tlscert", required_argument, NULL, 'c'},
        {"tlskey", required_argument, NULL, 'k'},
        {"header-timeout", required_argument, NULL, 'T'},
        {"agent-mode", required_argument, NULL, 'M'},
        {"agent-listen", required_argument, NULL, 'A'},
        {"agent-binary", required_argument, NULL, 'B'},
        {"agent-timeout", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    struct options o = {.action = OPTIONS_RUN,
                        .log_level = LOG_LEVEL_INFO,
                        .agent_timeout_ms = 15000,
                        .header_timeout_s = 60};
    optind = 0; /* full re-initialisation, so the parser can run more than once (tests) */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":H:l:G:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'H':
            if (o.n_hosts == OPTIONS_MAX_HOSTS) {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0, "too many -H addresses (at most %d)",
                                OPTIONS_MAX_HOSTS);
            }
            o.hosts[o.n_hosts++] = xstrdup(optarg);
            break;
        case 'd':
            if (*optarg == '\0') {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0, "--data-root must not be empty");
            }
            free(o.data_root);
            o.data_root = xstrdup(optarg);
            break;
        case 'l':
            if (!log_parse_level(optarg, &o.log_level)) {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0, "unknown log level \"%s\"", optarg);
            }
            break;
        case 'D':
            if (strcmp(optarg, "auto") == 0)
                o.driver = OPTIONS_DRIVER_AUTO;
            else if (strcmp(optarg, "process") == 0)
                o.driver = OPTIONS_DRIVER_PROCESS;
            else if (strcmp(optarg, "synthetic") == 0)
                o.driver = OPTIONS_DRIVER_SYNTHETIC;
            else {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0,
                                "unknown driver \"%s\" (auto, process or synthetic)", optarg);
            }
            break;
        case 'R':
            if (*optarg == '\0') {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0, "--runtime must not be empty");
            }
            free(o.runtime);
            o.runtime = xstrdup(optarg);
            break;
        case 'O':
            if (strcmp(optarg, "error") == 0)
                o.offline_pulls = OPTIONS_OFFLINE_ERROR;
            else if (strcmp(optarg, "synthetic") == 0)
                o.offline_pulls = OPTIONS_OFFLINE_SYNTHETIC;
            else {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0,
                                "unknown --offline-pulls mode \"%s\" (error or synthetic)", optarg);
            }
            break;
        case 'I': {
            char *one[] = {optarg, NULL};
            const char *bad = NULL;
            if (!registry_check_insecure(one, &bad)) {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0,
                                "invalid --insecure-registry \"%s\": a host[:port] or a CIDR",
                                optarg);
            }
            o.insecure_registries = strv_append(o.insecure_registries, optarg);
            break;
        }
        case 'C':
            if (*optarg == '\0') {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0, "--registry-certs-dir must not be empty");
            }
            free(o.registry_certs_dir);
            o.registry_certs_dir = xstrdup(optarg);
            break;
        case 'G':
            if (set_path(&o.group, "--group", optarg, err) < 0) {
                options_fini(&o);
                return -1;
            }
            o.group_given = true;
            break;
        case 't':
        case 'V': {
            bool on;
            if (!parse_bool(optarg, &on)) {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0, "invalid boolean value \"%s\" for %s", optarg,
                                c == 't' ? "--tls" : "--tlsverify");
            }
            if (c == 't')
                o.tls = on;
            else
                o.tls_verify = on;
            if (!on)
                o.tls_explicit_off = true;
            break;
        }
        case 'a':
        case 'c':
        case 'k': {
            char **slot = c == 'a' ? &o.tls_cacert : c == 'c' ? &o.tls_cert : &o.tls_key;
            const char *flag = c == 'a' ? "--tlscacert" : c == 'c' ? "--tlscert" : "--tlskey";
            if (set_path(slot, flag, optarg, err) < 0) {
                options_fini(&o);
                return -1;
            }
            break;
        }
        case 'T': {
            char *end;
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || n == 0 || n > 86400 ||
                *optarg == '-') {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0,
                                "invalid --header-timeout \"%s\": seconds from 1 to 86400", optarg);
            }
            o.header_timeout_s = (unsigned)n;
            break;
        }
        case 'M':
            if (strcmp(optarg, "off") == 0)
                o.agent_mode = OPTIONS_AGENT_OFF;
            else if (strcmp(optarg, "forward") == 0)
                o.agent_mode = OPTIONS_AGENT_FORWARD;
            else if (strcmp(optarg, "reverse") == 0)
                o.agent_mode = OPTIONS_AGENT_REVERSE;
            else {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0,
                                "unknown --agent-mode \"%s\" (off, forward or reverse)", optarg);
            }
            break;
        case 'A':
            if (strncmp(optarg, "unix:", 5) != 0 && strncmp(optarg, "tcp:", 4) != 0) {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0,
                                "invalid --agent-listen \"%s\": unix:PATH or tcp:HOST:PORT",
                                optarg);
            }
            free(o.agent_listen);
            o.agent_listen = xstrdup(optarg);
            break;
        case 'B':
            if (*optarg == '\0') {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0, "--agent-binary must not be empty");
            }
            free(o.agent_binary);
            o.agent_binary = xstrdup(optarg);
            break;
        case 'W': {
            char *end;
            long ms = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || ms < 300 || ms > 3600000) {
                options_fini(&o);
                return err_make(err, ERR_INVALID, 0,
                                "invalid --agent-timeout \"%s\": milliseconds, 300 to 3600000",
                                optarg);
            }
            o.agent_timeout_ms = (int)ms;
            break;
        }
        case 'v':
            o.action = OPTIONS_VERSION;
            break;
        case 'h':
            o.action = OPTIONS_HELP;
            break;
        case ':':
            options_fini(&o);
            return err_make(err, ERR_INVALID, 0, "option %s needs a value", argv[optind - 1]);
        default:
            options_fini(&o);
            return err_make(err, ERR_INVALID, 0, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        options_fini(&o);
        return err_make(err, ERR_INVALID, 0, "unexpected argument \"%s\"", argv[optind]);
    }
    if (o.n_hosts == 0)
        o.hosts[o.n_hosts++] = default_host(is_root);
    if (o.data_root == NULL)
        o.data_root = default_data_root(is_root);
    if (o.registry_certs_dir == NULL)
        o.registry_certs_dir = xstrdup("/etc/docker/certs.d");
    if (o.group == NULL)
        o.group = xstrdup("docker");
    if (o.tls_verify)
        o.tls = true; /* dockerd: --tlsverify implies --tls */
    if (o.tls_cacert == NULL)
        o.tls_cacert = default_cert("ca.pem");
    if (o.tls_cert == NULL)
        o.tls_cert = default_cert("cert.pem");
    if (o.tls_key == NULL)
        o.tls_key = default_cert("key.pem");
    *out = o;
    return 0;
}

bool
options_synthetic_pulls(const struct options *o)
{
    return o->offline_pulls == OPTIONS_OFFLINE_SYNTHETIC ||
           (o->offline_pulls == OPTIONS_OFFLINE_DEFAULT && o->driver == OPTIONS_DRIVER_SYNTHETIC);
}
