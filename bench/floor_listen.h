/*
 * The listening unix socket of the two floor servers (floor.c, floor_mhd.c), from their one
 * argument SOCKET. A benchmark tool's helper, not part of the daemon.
 */
#ifndef SOCKERLESS_BENCH_FLOOR_LISTEN_H
#define SOCKERLESS_BENCH_FLOOR_LISTEN_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The listening socket's descriptor; on failure the reason on stderr and -2 for a usage error
 * (the exit status 2), -1 for another (1). */
static inline int
floor_listen(const char *prog, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", prog);
        return -2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "%s: socket path too long\n", prog);
        return -2;
    }
    strcpy(sa.sun_path, argv[1]);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, argv[1], strerror(errno));
        return -1;
    }
    return lfd;
}

#endif
