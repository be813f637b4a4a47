/*
 * listener: the daemon's listening sockets, from -H addresses.
 *
 * unix://PATH: a stale socket file (nobody accepts on it) is replaced; a live one is refused
 * with ERR_CONFLICT, so two daemons never share a path; a path that exists and is not a socket
 * is never touched. The socket file is created mode 0660.
 * tcp://HOST:PORT (port 2375 when omitted, IPv6 in brackets).
 */
#ifndef SOCKERLESS_HTTP_LISTENER_H
#define SOCKERLESS_HTTP_LISTENER_H

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
    dev_t dev; /* unix: identity of the socket file we created, to remove only ours */
    ino_t ino;
};

/* Parses spec into l (fd = -1). ERR_INVALID for a malformed address, ERR_UNSUPPORTED for a
 * scheme not served. */
int listener_parse(const char *spec, struct listener *l, struct err **err);
/* Creates, binds and listens (close-on-exec). ERR_CONFLICT when a live daemon holds the path or
 * the TCP address is in use. */
int listener_open(struct listener *l, struct err **err);
/* Closes the fd and removes the unix socket file when it is still the one we created. */
void listener_close(struct listener *l);

#endif
