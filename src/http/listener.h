/*
 * listener: the daemon's listening sockets, from -H addresses.
 *
 * unix://PATH: a stale socket file (nobody accepts on it) is replaced; a live one is refused
 * with ERR_CONFLICT, so two daemons never share a path; a path that exists and is not a socket
 * is never touched. The socket file is created mode 0660, owned by the group l->gid when that
 * is set (dockerd's --group).
 * tcp://HOST:PORT (port 2375 when omitted, IPv6 in brackets).
 */
#ifndef SOCKERLESS_HTTP_LISTENER_H
#define SOCKERLESS_HTTP_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

enum listener_kind { LISTENER_UNIX, LISTENER_TCP };

struct listener {
    enum listener_kind kind;
    char spec[512]; /* as given */
    char path[108]; /* unix: sun_path */
    char host[256]; /* tcp */
    char port[8];
    int fd;    /* -1 until opened */
    long gid;  /* unix: the socket file's group, or -1 to keep the process's */
    dev_t dev; /* unix: identity of the socket file we created, to remove only ours */
    ino_t ino;
};

/* Parses spec into l (fd = -1, gid = -1). ERR_INVALID for a malformed address, ERR_UNSUPPORTED for
 * a scheme not served. */
int listener_parse(const char *spec, struct listener *l, struct err **err);
/* Creates, binds and listens (close-on-exec). ERR_CONFLICT when a live daemon holds the path or
 * the TCP address is in use; ERR_FORBIDDEN (errno EPERM) when the group cannot be set. */
int listener_open(struct listener *l, struct err **err);
/* True when every address a TCP listener's host names is a loopback address (127.0.0.0/8,
 * ::1); false for the wildcard (no host, 0.0.0.0, ::) and for a name that does not resolve. */
bool listener_is_loopback(const struct listener *l);
/* Closes the fd and removes the unix socket file when it is still the one we created. */
void listener_close(struct listener *l);

#endif
