/*
 * options: sockerlessd's command line, parsed without side effects so that
 * it can be unit-tested. main.c acts on the result.
 */
#ifndef SOCKERLESS_DAEMON_OPTIONS_H
#define SOCKERLESS_DAEMON_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "base/log.h"

enum { OPTIONS_MAX_HOSTS = 16 };

enum options_action { OPTIONS_RUN, OPTIONS_HELP, OPTIONS_VERSION };
enum options_driver { OPTIONS_DRIVER_AUTO, OPTIONS_DRIVER_PROCESS, OPTIONS_DRIVER_SYNTHETIC };
/* --offline-pulls: what a pull does when the registry cannot be reached. DEFAULT: synthetic
 * with --driver synthetic, an error otherwise. */
enum options_offline { OPTIONS_OFFLINE_DEFAULT, OPTIONS_OFFLINE_ERROR, OPTIONS_OFFLINE_SYNTHETIC };
/* --agent-mode: whether the process driver runs each container's command under
 * sockerless-agent, and which side dials (docs/drivers.md, "Agent"). */
enum options_agent_mode { OPTIONS_AGENT_OFF, OPTIONS_AGENT_FORWARD, OPTIONS_AGENT_REVERSE };

struct options {
    enum options_action action;
    char *hosts[OPTIONS_MAX_HOSTS]; /* -H values, owned */
    size_t n_hosts;
    char *data_root; /* owned */
    enum log_level log_level;
    enum options_driver driver;
    char *runtime; /* --runtime: an OCI runtime name or path (owned), or NULL: probe */
    enum options_offline offline_pulls;
    char **insecure_registries; /* --insecure-registry values, NULL-ended (owned) */
    char *registry_certs_dir;   /* --registry-certs-dir (owned), default /etc/docker/certs.d */
    /* -G/--group: the group of the unix sockets (owned), default "docker"; group_given when
     * set on the command line (a missing default group is only a warning, as in dockerd). */
    char *group;
    bool group_given;
    /* --tls, --tlsverify (which implies --tls): TLS on TCP listeners, with client certificates
     * signed by --tlscacert for --tlsverify. tls_explicit_off: --tls=false or
     * --tlsverify=false given, dockerd's opt-in to plain TCP beyond loopback. */
    bool tls, tls_verify, tls_explicit_off;
    char *tls_cacert, *tls_cert, *tls_key; /* owned; defaults $DOCKER_CERT_PATH or ~/.docker */
    unsigned header_timeout_s; /* --header-timeout: seconds for a request's line and headers */
    enum options_agent_mode agent_mode; /* default off */
    char *agent_listen;   /* --agent-listen: the reverse-mode callback address (owned), or NULL:
                             a unix socket under the data root when the mode is reverse */
    char *agent_binary;   /* --agent-binary (owned), or NULL: found next to sockerlessd */
    int agent_timeout_ms; /* --agent-timeout: a silent agent connection is dead after this */
};

/* True when pulls from an unreachable registry become synthetic pulls. */
bool options_synthetic_pulls(const struct options *o);

/* Exit codes of sockerlessd. */
enum {
    EXIT_USAGE = 2,       /* bad command line */
    EXIT_ADDR_IN_USE = 3, /* a live daemon holds a -H address */
};

/*
 * Parses argv. Defaults: one host, unix:///var/run/sockerless.sock as root or
 * unix://$XDG_RUNTIME_DIR/sockerless.sock otherwise (falling back to /tmp/sockerless-$UID.sock);
 * data root /var/lib/sockerless as root or $XDG_DATA_HOME/sockerless (~/.local/share/...).
 * ERR_INVALID with a message fit for the user on a bad command line.
 */
int options_parse(int argc, char **argv, bool is_root, struct options *out, struct err **err);
void options_fini(struct options *o);
/* The --help text. */
const char *options_usage(void);

#endif
