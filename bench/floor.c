/*
 * sockerless-floor: the machine's floor for `/_ping` (bench/README.md). A unix-socket server that
 * does the least a request-response exchange can: one thread per connection, and for every read
 * one write of a fixed HTTP/1.1 200 answer. It parses nothing, so it is only correct for a client
 * that sends one small request and waits for its answer before the next (sockerless-loadgen's
 * plain mode). Its rate under the load generator is what the kernel, the scheduler and the load
 * generator leave to any daemon on this machine.
 *
 *   sockerless-floor SOCKET    serves until SIGTERM or SIGINT, then removes SOCKET
 *
 * A benchmark tool, not part of the daemon.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "floor_listen.h"

static const char answer[] = "HTTP/1.1 200 OK\r\n"
                             "Api-Version: 1.47\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Length: 2\r\n"
                             "\r\n"
                             "OK";

static void *
serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (write(fd, answer, sizeof(answer) - 1) != (ssize_t)(sizeof(answer) - 1))
            break;
    }
    close(fd);
    return NULL;
}

static void
on_signal(int sig)
{
    (void)sig;
}

int
main(int argc, char **argv)
{
    int lfd = floor_listen("sockerless-floor", argc, argv);
    if (lfd < 0)
        return lfd == -2 ? 2 : 1;
    /* SIGTERM and SIGINT interrupt accept (no SA_RESTART); the socket is removed on the way out. */
    struct sigaction act = {.sa_handler = on_signal};
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                break;
            continue;
        }
        pthread_t t;
        if (pthread_create(&t, &attr, serve, (void *)(intptr_t)fd) != 0)
            close(fd);
    }
    unlink(argv[1]);
    return 0;
}
