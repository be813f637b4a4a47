/*
 * sockerless-floor-mhd: libmicrohttpd's floor for `/_ping` (bench/README.md). libmicrohttpd set
 * up as sockerlessd sets it up (src/http/server.h: HTTP_MHD_FLAGS, a thread per connection that
 * polls, and the connection pool of HTTP_MAX_HEADER bytes, which the library zeroes after every
 * request), answering every request with one response made once: the bytes of sockerlessd's
 * `/_ping` answer. No routing and no handler work, so its rate under the load generator is what the
 * library itself leaves to a daemon built on it, next to sockerless-floor's (no HTTP library at
 * all).
 *
 *   sockerless-floor-mhd SOCKET    serves until SIGTERM or SIGINT, then removes SOCKET
 *
 * A benchmark tool, not part of the daemon.
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "floor_listen.h"
#include "http/server.h"

static struct MHD_Response *answer;

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    static int seen;
    if (*req_cls == NULL) { /* the headers: answered once the request is complete, so that
                             * libmicrohttpd keeps the connection alive */
        *req_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* a body is dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, answer);
}

int
main(int argc, char **argv)
{
    int lfd = floor_listen("sockerless-floor-mhd", argc, argv);
    if (lfd < 0)
        return lfd == -2 ? 2 : 1;
    static const char *const headers[][2] = {
        {"Api-Version", "1.47"},
        {"Docker-Experimental", "false"},
        {"Ostype", "linux"},
        {"Server", "sockerless/0.1.0 (linux)"},
        {"Content-Type", "text/plain; charset=utf-8"},
        {"Cache-Control", "no-cache, no-store, must-revalidate"},
        {"Pragma", "no-cache"},
        {"Builder-Version", "1"},
    };
    answer = MHD_create_response_from_buffer(2, (void *)"OK", MHD_RESPMEM_PERSISTENT);
    for (size_t i = 0; answer != NULL && i < sizeof(headers) / sizeof(headers[0]); i++)
        MHD_add_response_header(answer, headers[i][0], headers[i][1]);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* MHD's threads inherit the mask */
    signal(SIGPIPE, SIG_IGN);
    unsigned flags = HTTP_MHD_FLAGS;
    struct MHD_Daemon *d =
        answer == NULL
            ? NULL
            : MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET,
                               lfd, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MAX_HEADER,
                               MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "sockerless-floor-mhd: libmicrohttpd did not start\n");
        unlink(argv[1]);
        return 1;
    }
    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(answer);
    unlink(argv[1]);
    return 0;
}
