/* sockerlessd: flags, signals and wiring. Everything else lives in the core library. */
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "backend/backend.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/version.h"
#include "daemon/options.h"
#include "driver/driver.h"
#include "engine/engine.h"
#include "http/listener.h"
#include "http/server.h"
#include "http/tls.h"
#include "image/registry.h"

enum {
    MAX_BODY = 16 * 1024 * 1024, /* buffered JSON bodies; archives and tars will stream */
    IDLE_TIMEOUT_S = 300,
};
/* Archives (load, import, cp into a container) are spooled to disk under the data root. */
#define MAX_SPOOL ((size_t)8 * 1024 * 1024 * 1024)

/* The gid of --group for the unix sockets, or -1 to leave them in the process's group: dockerd
 * only warns when its default group "docker" does not exist. -2 with a message when a group
 * given on the command line does not exist. */
static long
socket_group(const struct options *opt)
{
    char *end;
    errno = 0;
    long n = strtol(opt->group, &end, 10);
    if (errno == 0 && *end == '\0' && n >= 0)
        return n;
    struct group gr, *found = NULL;
    char buf[16384];
    getgrnam_r(opt->group, &gr, buf, sizeof(buf), &found);
    if (found != NULL)
        return (long)found->gr_gid;
    if (opt->group_given) {
        fprintf(stderr, "sockerlessd: --group: group %s not found\n", opt->group);
        return -2;
    }
    LOG_WARN("could not change the group of the unix sockets to %s: group %s not found", opt->group,
             opt->group);
    return -1;
}

/* dockerd's policy for TCP listeners: TLS with client verification is the only authenticated
 * mode; anything else is loud, and plain TCP beyond loopback needs an explicit --tls=false or
 * --tlsverify=false (dockerd 27 refuses to start without it). 0, or -1 after a message. */
static int
check_tcp_policy(const struct options *opt, const struct listener *l)
{
    if (l->kind != LISTENER_TCP || opt->tls_verify)
        return 0;
    if (!opt->tls && !opt->tls_explicit_off && !listener_is_loopback(l)) {
        fprintf(stderr,
                "sockerlessd: refusing to listen on %s: plain TCP beyond loopback gives root "
                "access to anyone who can reach it. Use --tlsverify (see --help), or force it "
                "with --tls=false\n",
                l->spec);
        return -1;
    }
    LOG_WARN("[!] API listen on %s %s: anyone who can reach it controls the daemon [!]", l->spec,
             opt->tls ? "over TLS without client verification (--tlsverify)"
                      : "over plain TCP without authentication");
    return 0;
}

/* Opens a listener, giving up the default group when the process may not set it. */
static int
open_listener(const struct options *opt, struct listener *l, struct err **err)
{
    if (listener_open(l, err) == 0)
        return 0;
    if (err_kind_of(err) != ERR_FORBIDDEN || opt->group_given)
        return -1;
    LOG_WARN("%s: %s: the socket keeps the process's group", l->spec, (*err)->msg);
    err_clear(err);
    l->gid = -1;
    return listener_open(l, err);
}

/* Set when the daemon stops because its process driver cannot run: it exits with 1. */
static volatile sig_atomic_t fatal_stop;

/* --driver process: a runtime that fails its trial container ends the daemon, as a missing
 * one does before it listens. */
static void
process_failed(const char *msg, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "sockerlessd: the process driver cannot run here: %s\n", msg);
    fatal_stop = 1;
    kill(getpid(), SIGTERM);
}

/* --driver auto: containers run with the synthetic driver. */
static void
process_fallback(const char *msg, void *ctx)
{
    (void)ctx;
    LOG_WARN("the process driver cannot run here (%s): containers run with the synthetic driver",
             msg);
    process_driver_set_status(msg);
}

static int
run(const struct options *opt)
{
    const struct backend *backend =
        opt->driver == OPTIONS_DRIVER_SYNTHETIC ? &backend_synthetic : &backend_local;
    /* Signals are taken synchronously by this thread: block them before any thread starts so
     * every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct err *err = NULL;
    struct listener listeners[OPTIONS_MAX_HOSTS];
    size_t n_open = 0;
    int status = 1;
    long gid = socket_group(opt);
    if (gid == -2)
        return EXIT_USAGE;
    for (size_t i = 0; i < opt->n_hosts; i++) {
        if (listener_parse(opt->hosts[i], &listeners[i], &err) < 0) {
            fprintf(stderr, "sockerlessd: %s\n", err->msg);
            err_clear(&err);
            return EXIT_USAGE;
        }
        listeners[i].gid = gid;
        if (check_tcp_policy(opt, &listeners[i]) < 0)
            return EXIT_USAGE;
    }
    struct http_tls *tls = NULL;
    if (opt->tls && (tls = http_tls_load(opt->tls_cert, opt->tls_key,
                                         opt->tls_verify ? opt->tls_cacert : NULL, &err)) == NULL) {
        fprintf(stderr, "sockerlessd: %s\n", err->msg);
        err_clear(&err);
        return EXIT_USAGE;
    }
    struct engine *eng = engine_new(opt->data_root, backend->drivers, &err);
    if (eng == NULL) {
        fprintf(stderr, "sockerlessd: %s\n", err->msg);
        err_clear(&err);
        http_tls_free(tls);
        return 1;
    }
    if (opt->driver != OPTIONS_DRIVER_SYNTHETIC &&
        process_driver_init(opt->data_root, opt->runtime,
                            opt->driver == OPTIONS_DRIVER_PROCESS ? process_failed
                                                                  : process_fallback,
                            NULL, &err) < 0) {
        if (opt->driver == OPTIONS_DRIVER_PROCESS) {
            fprintf(stderr, "sockerlessd: the process driver cannot run here: %s\n", err->msg);
            err_clear(&err);
            engine_free(eng);
            http_tls_free(tls);
            return 1;
        }
        process_fallback(err->msg, NULL);
        err_clear(&err);
    }
    struct agent_driver_config acfg = {
        .mode = opt->agent_mode == OPTIONS_AGENT_FORWARD   ? AGENT_DRIVER_FORWARD
                : opt->agent_mode == OPTIONS_AGENT_REVERSE ? AGENT_DRIVER_REVERSE
                                                           : AGENT_DRIVER_OFF,
        .listen = opt->agent_listen,
        .binary = opt->agent_binary,
        .timeout_ms = opt->agent_timeout_ms};
    if (opt->driver != OPTIONS_DRIVER_SYNTHETIC && agent_driver_init(&acfg, &err) < 0) {
        fprintf(stderr, "sockerlessd: the agent driver cannot run: %s\n", err->msg);
        err_clear(&err);
        agent_driver_fini();
        process_driver_fini();
        engine_free(eng);
        return 1;
    }
    /* Pulls: real ones; synthetic only where allowed (engine/distribution.h). */
    struct registry_config registries = {.insecure = opt->insecure_registries,
                                         .certs_dir = opt->registry_certs_dir};
    eng->registries = &registries;
    eng->synthetic_pulls = options_synthetic_pulls(opt);
    struct api api = {.eng = eng, .backend = backend};
    char spool_dir[4096];
    snprintf(spool_dir, sizeof(spool_dir), "%s/tmp", opt->data_root);
    if (fsutil_mkdir_p(spool_dir, 0700, &err) < 0) {
        fprintf(stderr, "sockerlessd: %s\n", err->msg);
        err_clear(&err);
        engine_free(eng);
        http_tls_free(tls);
        return 1;
    }
    size_t n_routes;
    const struct route *routes = api_routes(&n_routes);
    struct http_server_options hopts = {
        .max_body = MAX_BODY,
        .max_spool = MAX_SPOOL,
        .spool_dir = spool_dir,
        .max_header = HTTP_MAX_HEADER,
        .idle_timeout_s = IDLE_TIMEOUT_S,
        .header_timeout_s = opt->header_timeout_s,
        .server_header = api_server_header(),
        .min_version = api_min_version,
        .max_version = api_max_version,
    };
    struct http_server *srv = http_server_new(routes, n_routes, &api, &hopts);
    for (; n_open < opt->n_hosts; n_open++) {
        struct listener *l = &listeners[n_open];
        const struct http_tls *l_tls = l->kind == LISTENER_TCP ? tls : NULL; /* as dockerd */
        if (open_listener(opt, l, &err) < 0 || http_server_serve_tls(srv, l->fd, l_tls, &err) < 0) {
            fprintf(stderr, "sockerlessd: cannot listen on %s: %s\n", l->spec, err->msg);
            status = err->kind == ERR_CONFLICT ? EXIT_ADDR_IN_USE : 1;
            err_clear(&err);
            if (l->fd >= 0)
                n_open++;
            goto out;
        }
        LOG_INFO("API listen on %s%s", l->spec,
                 l_tls == NULL     ? ""
                 : opt->tls_verify ? " (TLS, client certificates verified)"
                                   : " (TLS)");
    }
    LOG_INFO("sockerlessd %s started (backend %s, data root %s)", SOCKERLESS_VERSION, backend->name,
             opt->data_root);

    for (;;) {
        int sig = sigwaitinfo(&sigs, NULL);
        if (sig == SIGHUP) {
            LOG_INFO("SIGHUP: reopening the agent callback listener, if any");
            if (agent_driver_reopen_listener(&err) < 0) {
                LOG_ERROR("%s", err->msg);
                err_clear(&err);
            }
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            LOG_INFO("%s: shutting down", fatal_stop       ? "the process driver cannot run"
                                          : sig == SIGTERM ? "SIGTERM"
                                                           : "SIGINT");
            break;
        }
    }
    status = fatal_stop ? 1 : 0;
out:
    http_server_stop(srv);
    engine_containers_shutdown(eng);
    engine_shutdown(eng);
    for (size_t i = 0; i < n_open; i++)
        listener_close(&listeners[i]);
    http_server_free(srv);
    http_tls_free(tls);
    engine_free(eng);
    agent_driver_fini();
    process_driver_fini();
    if (status == 0)
        LOG_INFO("sockerlessd stopped");
    return status;
}

int
main(int argc, char **argv)
{
    struct options opt;
    struct err *err = NULL;
    if (options_parse(argc, argv, geteuid() == 0, &opt, &err) < 0) {
        fprintf(stderr, "sockerlessd: %s\nSee 'sockerlessd --help'.\n", err->msg);
        err_clear(&err);
        return EXIT_USAGE;
    }
    /* One malloc arena per connection thread multiplies the heap kept after a burst: two
     * arenas bound it (RSS with 1,000 containers, bench/README.md). */
    mallopt(M_ARENA_MAX, 2);
    int status = 0;
    switch (opt.action) {
    case OPTIONS_HELP:
        fputs(options_usage(), stdout);
        break;
    case OPTIONS_VERSION:
        printf("sockerless version %s, build %s (API %d.%d, minimum %d.%d)\n", SOCKERLESS_VERSION,
               SOCKERLESS_GIT_COMMIT, api_max_version.major, api_max_version.minor,
               api_min_version.major, api_min_version.minor);
        break;
    case OPTIONS_RUN:
        log_set_level(opt.log_level);
        status = run(&opt);
        break;
    }
    options_fini(&opt);
    return status;
}
