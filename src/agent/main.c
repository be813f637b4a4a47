/*
 * sockerless-agent: runs inside a container the daemon cannot run locally and serves it the
 * container's command, execs, signals and files over the agent protocol
 * (docs/agent-protocol.md). Usage: sockerless-agent --help.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/strv.h"
#include "base/version.h"
#include "base/xalloc.h"
#include "image/tarfs.h"

static const char usage[] =
    "Usage: sockerless-agent [--listen ADDR | --callback ADDR] [--keep-alive]\n"
    "                        [--token-file PATH] [--container-id ID] [--root DIR]\n"
    "                        [--heartbeat-interval MS] [--heartbeat-timeout MS]\n"
    "                        [--reconnect-max MS] [--tls-cert FILE --tls-key FILE]\n"
    "                        [--tls-ca FILE] [--tls-server-name NAME] -- CMD [ARGS...]\n"
    "ADDR: tcp:HOST:PORT or unix:PATH. The token comes from --token-file or\n"
    "SOCKERLESS_AGENT_TOKEN; the container id from --container-id or SOCKERLESS_CONTAINER_ID.\n";

static int
die(const char *msg, const char *arg)
{
    fprintf(stderr, "sockerless-agent: %s%s\n", msg, arg ? arg : "");
    return 2;
}

static int
parse_ms(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0 || v > 3600000)
        return -1;
    *out = (int)v;
    return 0;
}

static char *
read_token(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char buf[4097];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0 || n == (ssize_t)sizeof(buf) - 1)
        return NULL;
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] ? xstrdup(buf) : NULL;
}

static int
parse_args(int argc, char **argv, struct agent_opts *o)
{
    enum { O_KEEP = 256, O_TOKEN, O_ID, O_ROOT, O_HBI, O_HBT, O_RMAX, O_CERT, O_KEY, O_CA, O_SNI };
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},
        {"callback", required_argument, NULL, 'c'},
        {"keep-alive", no_argument, NULL, O_KEEP},
        {"token-file", required_argument, NULL, O_TOKEN},
        {"container-id", required_argument, NULL, O_ID},
        {"root", required_argument, NULL, O_ROOT},
        {"heartbeat-interval", required_argument, NULL, O_HBI},
        {"heartbeat-timeout", required_argument, NULL, O_HBT},
        {"reconnect-max", required_argument, NULL, O_RMAX},
        {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},
        {"tls-ca", required_argument, NULL, O_CA},
        {"tls-server-name", required_argument, NULL, O_SNI},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {0},
    };
    const char *token_file = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "+hv", longs, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'l':
            o->listen = optarg;
            break;
        case 'c':
            o->callback = optarg;
            break;
        case O_KEEP:
            o->keep_alive = true;
            break;
        case O_TOKEN:
            token_file = optarg;
            break;
        case O_ID:
            o->container_id = optarg;
            break;
        case O_ROOT:
            o->root = optarg;
            break;
        case O_HBI:
            bad = parse_ms(optarg, &o->hb_interval_ms);
            break;
        case O_HBT:
            bad = parse_ms(optarg, &o->hb_timeout_ms);
            break;
        case O_RMAX:
            bad = parse_ms(optarg, &o->reconnect_max_ms);
            break;
        case O_CERT:
            o->tls_cert = optarg;
            break;
        case O_KEY:
            o->tls_key = optarg;
            break;
        case O_CA:
            o->tls_ca = optarg;
            break;
        case O_SNI:
            o->tls_server_name = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        case 'v':
            printf("sockerless-agent version %s, build %s\n", SOCKERLESS_VERSION,
                   SOCKERLESS_GIT_COMMIT);
            exit(0);
        default:
            return die("bad arguments; see --help", NULL);
        }
        if (bad)
            return die("bad duration (milliseconds): ", optarg);
    }
    if (optind >= argc)
        return die("no command given (-- CMD ARGS...)", NULL);
    o->cmd = argv + optind;
    if ((o->listen == NULL) == (o->callback == NULL))
        return die("give exactly one of --listen and --callback", NULL);
    if (o->container_id == NULL)
        o->container_id = getenv("SOCKERLESS_CONTAINER_ID");
    if (o->callback != NULL && o->container_id == NULL)
        return die("--callback needs --container-id (or SOCKERLESS_CONTAINER_ID)", NULL);
    if (token_file != NULL) {
        o->token = read_token(token_file);
        if (o->token == NULL)
            return die("cannot read a token from ", token_file);
    } else if (getenv("SOCKERLESS_AGENT_TOKEN") != NULL && getenv("SOCKERLESS_AGENT_TOKEN")[0]) {
        o->token = xstrdup(getenv("SOCKERLESS_AGENT_TOKEN"));
    } else {
        return die("no token: --token-file PATH or SOCKERLESS_AGENT_TOKEN", NULL);
    }
    if (o->listen != NULL && (o->tls_cert == NULL) != (o->tls_key == NULL))
        return die("--tls-cert and --tls-key go together", NULL);
    if (o->hb_timeout_ms <= o->hb_interval_ms)
        return die("--heartbeat-timeout must be longer than --heartbeat-interval", NULL);
    return 0;
}

/* The listening or dialling side and TLS. */
static int
setup_transport(struct agent *a)
{
    struct err *e = NULL;
    if (a->o.listen != NULL) {
        struct wire_addr addr;
        if (wire_addr_parse(a->o.listen, &addr, &e) < 0 ||
            (a->listen_fd = wire_listen(&addr, &e)) < 0) {
            int rc = die(e->msg, NULL);
            err_clear(&e);
            return rc;
        }
        wire_addr_fini(&addr);
        if (a->o.tls_cert != NULL)
            a->tls = wire_tls_server_ctx(a->o.tls_cert, a->o.tls_key, &e);
    } else {
        if (wire_addr_parse(a->o.callback, &a->callback, &e) < 0) {
            int rc = die(e->msg, NULL);
            err_clear(&e);
            return rc;
        }
        if (a->o.tls_ca != NULL)
            a->tls = wire_tls_client_ctx(a->o.tls_ca, &e);
    }
    if (e != NULL) {
        int rc = die(e->msg, NULL);
        err_clear(&e);
        return rc;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    /* Stray fds from whoever started the agent must not reach CMD. */
    close_range(3, ~0U, 0);
    struct agent a;
    memset(&a, 0, sizeof(a));
    a.listen_fd = a.sig_fd = -1;
    a.o.root = "/";
    a.o.hb_interval_ms = 5000;
    a.o.hb_timeout_ms = 15000;
    a.o.reconnect_max_ms = 10000;
    int rc = parse_args(argc, argv, &a.o);
    if (rc != 0)
        return rc;
    /* The token is the container's secret: CMD and execs must not see it. */
    unsetenv("SOCKERLESS_AGENT_TOKEN");
    a.env = strv_dup(environ);
    /* Inside a container /etc/hosts, /etc/resolv.conf and volumes are bind mounts. */
    tarfs_set_cross_mounts(true);
    char cwd[4096];
    a.workdir = xstrdup(getcwd(cwd, sizeof(cwd)) ? cwd : "/");
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    if ((rc = setup_transport(&a)) != 0)
        return rc;

    /* pid-1 duties: every child is reaped (also when not pid 1: orphans of CMD re-parent
     * here), and the signals a container gets are forwarded to CMD. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    a.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (a.sig_fd < 0)
        return die("signalfd: ", strerror(errno));

    rc = agent_run(&a);

    if (a.listen_fd >= 0)
        close(a.listen_fd);
    if (a.listen_fd >= 0 && strncmp(a.o.listen, "unix:", 5) == 0) {
        struct wire_addr addr;
        if (wire_addr_parse(a.o.listen, &addr, NULL) == 0) {
            unlink(addr.host);
            wire_addr_fini(&addr);
        }
    }
    close(a.sig_fd);
    SSL_CTX_free(a.tls);
    wire_addr_fini(&a.callback);
    strv_free(a.env);
    free(a.workdir);
    free(a.o.token);
    return rc;
}
