/* The HTTP server end to end in one process: a real libmicrohttpd server on a temporary unix
 * socket, driven by a raw socket client so every byte on the wire is checked. */
#include "../cmocka_prelude.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/listener.h"
#include "http/server.h"

static char dir[48];
static char sock_path[100];
static struct listener lst;
static struct http_server *srv;
static int trigger_efd;                 /* the /stream producer waits on it */
static volatile int stream_client_gone; /* set when /forever saw its client leave */
static volatile int forever_ended_by_shutdown;

/* ---- routes ---- */

static struct http_response *
h_info(struct http_request *req, void *app)
{
    (void)app;
    json_t *o = json_pack("{s:s, s:i, s:i, s:b, s:s?}", "path", req->path, "major",
                          req->version.major, "minor", req->version.minor, "versioned",
                          req->has_version, "q", http_query(req, "q"));
    return http_response_json(200, o);
}

static struct http_response *
h_body(struct http_request *req, void *app)
{
    (void)app;
    return http_response_data(200, "application/octet-stream", req->body.data ? req->body.data : "",
                              req->body.len);
}

struct stream_ctx {
    int step;
};

static ssize_t
p_stream(struct http_stream *s, void *ctx, char *buf, size_t max)
{
    struct stream_ctx *c = ctx;
    (void)max;
    switch (c->step++) {
    case 0:
        memcpy(buf, "one\n", 4);
        return 4;
    case 1:
        if (http_stream_wait(s, trigger_efd, 5000) != HTTP_WAIT_READY)
            return HTTP_STREAM_ERROR;
        uint64_t v;
        if (read(trigger_efd, &v, sizeof(v)) < 0)
            return HTTP_STREAM_ERROR;
        memcpy(buf, "two\n", 4);
        return 4;
    default:
        return HTTP_STREAM_END;
    }
}

static struct http_response *
h_stream(struct http_request *req, void *app)
{
    (void)req;
    (void)app;
    return http_response_stream(200, "application/json", p_stream,
                                calloc(1, sizeof(struct stream_ctx)), free);
}

static ssize_t
p_forever(struct http_stream *s, void *ctx, char *buf, size_t max)
{
    (void)ctx;
    (void)buf;
    (void)max;
    for (;;) {
        switch (http_stream_wait(s, -1, -1)) {
        case HTTP_WAIT_CLIENT_GONE:
            __atomic_store_n(&stream_client_gone, 1, __ATOMIC_SEQ_CST);
            return HTTP_STREAM_ERROR;
        case HTTP_WAIT_SHUTDOWN:
            __atomic_store_n(&forever_ended_by_shutdown, 1, __ATOMIC_SEQ_CST);
            return HTTP_STREAM_END;
        default:
            break;
        }
    }
}

static struct http_response *
h_forever(struct http_request *req, void *app)
{
    (void)req;
    (void)app;
    return http_response_stream(200, "application/json", p_forever, NULL, NULL);
}

/* Echoes what it reads in upper case until the client half-closes, then says "bye". */
static void
hj_upper(struct http_hijack *h, void *ctx)
{
    (void)ctx;
    char buf[256];
    ssize_t n;
    while ((n = http_hijack_read(h, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        if (http_hijack_write(h, buf, (size_t)n) < 0)
            return;
    }
    http_hijack_write(h, "bye", 3);
    http_hijack_close_write(h);
}

static struct http_response *
h_hijack(struct http_request *req, void *app)
{
    (void)req;
    (void)app;
    return http_response_hijack("application/vnd.docker.raw-stream", hj_upper, NULL, NULL);
}

static const struct http_fixed_response FIXED_PONG = {
    .status = 200,
    .content_type = "text/plain",
    .body = "pong",
    .body_len = 4,
    .n_headers = 2,
    .headers = {{"Cache-Control", "no-cache"}, {"X-Two", "2"}},
};

static const struct http_fixed_response FIXED_HEAD = {
    .status = 200,
    .content_type = "text/plain",
    .n_headers = 1,
    .headers = {{"Cache-Control", "no-cache"}},
};

static struct http_response *
h_fixed(struct http_request *req, void *app)
{
    (void)app;
    return http_response_fixed(strcmp(req->method, "HEAD") == 0 ? &FIXED_HEAD : &FIXED_PONG);
}

/* The answer /shared sends, as an owner such as inspect keeps one; replaced by /shared-next. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_shared *shared_answer;

static void
shared_set(const char *text)
{
    struct http_shared *s = http_shared_new(200, "application/json", strdup(text), strlen(text));
    pthread_mutex_lock(&shared_lock);
    struct http_shared *old = shared_answer;
    shared_answer = s;
    pthread_mutex_unlock(&shared_lock);
    http_shared_unref(old); /* connections still sending it keep its body */
}

static struct http_response *
h_shared(struct http_request *req, void *app)
{
    (void)req;
    (void)app;
    pthread_mutex_lock(&shared_lock);
    struct http_shared *s = http_shared_ref(shared_answer);
    pthread_mutex_unlock(&shared_lock);
    return http_response_take_shared(s);
}

static const struct route routes[] = {
    {"GET", "/fixed", h_fixed, 0},           {"GET", "/shared", h_shared, 0},
    {"HEAD", "/fixed", h_fixed, 0},          {"GET", "/info", h_info, 0},
    {"GET", "/things/{id}/info", h_info, 0}, {"POST", "/body", h_body, 0},
    {"GET", "/stream", h_stream, 0},         {"GET", "/forever", h_forever, 0},
    {"POST", "/hijack", h_hijack, 0},
};

/* ---- client helpers ---- */

static int
client(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void
send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

static void
send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Reads until `needle` has been seen (or EOF / 5 s). Returns the bytes read (malloc'd). */
static char *
read_until(int fd, const char *needle, size_t *out_len)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    buf[0] = '\0';
    while (needle == NULL || strstr(buf, needle) == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
            break;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
    }
    if (out_len)
        *out_len = len;
    return buf;
}

/* True when nothing (not even EOF) arrives within ms. */
static bool
quiet_for(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

static bool
at_eof(int fd)
{
    char c;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)
        return false;
    return recv(fd, &c, 1, 0) == 0;
}

/* ---- fixture ---- */

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sockerless-server-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    char spec[120];
    snprintf(sock_path, sizeof(sock_path), "%s/s.sock", dir);
    snprintf(spec, sizeof(spec), "unix://%s", sock_path);
    trigger_efd = eventfd(0, EFD_CLOEXEC);
    struct http_server_options o = {
        .max_body = 1024,
        .max_header = 16 * 1024,
        .idle_timeout_s = 30,
        .server_header = "test/1.0 (linux)",
        .min_version = {1, 24},
        .max_version = {1, 47},
    };
    srv = http_server_new(routes, sizeof(routes) / sizeof(routes[0]), NULL, &o);
    if (listener_parse(spec, &lst, NULL) < 0 || listener_open(&lst, NULL) < 0 ||
        http_server_serve(srv, lst.fd, NULL) < 0)
        return -1;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    http_server_free(srv);
    http_shared_unref(shared_answer); /* may outlive the server that sent it */
    shared_answer = NULL;
    listener_close(&lst);
    close(trigger_efd);
    rmdir(dir);
    return 0;
}

/* ---- tests ---- */

static void
test_common_headers_and_version_prefix(void **state)
{
    (void)state;
    int fd = client();
    send_str(fd, "GET /v1.41/things/abc/info?q=x%20y HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = read_until(fd, "}\n", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "Api-Version: 1.47\r\n"));
    assert_non_null(strstr(r, "Ostype: linux\r\n"));
    assert_non_null(strstr(r, "Server: test/1.0 (linux)\r\n"));
    assert_non_null(strstr(r, "Content-Type: application/json\r\n"));
    assert_non_null(
        strstr(r, "{\"path\":\"/things/abc/info\",\"major\":1,\"minor\":41,\"versioned\":true,"
                  "\"q\":\"x y\"}\n"));
    free(r);
    /* Same connection (keep-alive), no prefix: the newest version. */
    send_str(fd, "GET /info HTTP/1.1\r\nHost: x\r\n\r\n");
    r = read_until(fd, "}\n", NULL);
    assert_non_null(strstr(r, "\"major\":1,\"minor\":47,\"versioned\":false"));
    free(r);
    close(fd);
}

/* The response without its Date line (the only one that changes). */
static char *
without_date(char *r)
{
    char *d = strstr(r, "Date: ");
    if (d != NULL) {
        char *end = strstr(d, "\r\n");
        assert_non_null(end);
        memmove(d, end + 2, strlen(end + 2) + 1);
    }
    return r;
}

static void
test_fixed_response_exact_bytes_every_time(void **state)
{
    (void)state;
    static const char want[] = "HTTP/1.1 200 OK\r\n"
                               "Api-Version: 1.47\r\n"
                               "Docker-Experimental: false\r\n"
                               "Ostype: linux\r\n"
                               "Server: test/1.0 (linux)\r\n"
                               "Content-Type: text/plain\r\n"
                               "Cache-Control: no-cache\r\n"
                               "X-Two: 2\r\n"
                               "Content-Length: 4\r\n"
                               "\r\n"
                               "pong";
    static const char want_head[] = "HTTP/1.1 200 OK\r\n"
                                    "Api-Version: 1.47\r\n"
                                    "Docker-Experimental: false\r\n"
                                    "Ostype: linux\r\n"
                                    "Server: test/1.0 (linux)\r\n"
                                    "Content-Type: text/plain\r\n"
                                    "Cache-Control: no-cache\r\n"
                                    "Content-Length: 0\r\n"
                                    "\r\n";
    /* The same response object answers every request, on any connection. */
    int a = client(), b = client();
    for (int i = 0; i < 3; i++) {
        send_str(i % 2 ? b : a, "GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n");
        char *r = without_date(read_until(i % 2 ? b : a, "pong", NULL));
        assert_string_equal(r, want);
        free(r);
    }
    send_str(a, "HEAD /fixed HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = without_date(read_until(a, "\r\n\r\n", NULL));
    assert_string_equal(r, want_head);
    free(r);
    /* The connection's own headers still follow each request. */
    send_str(b, "GET /fixed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    r = read_until(b, "pong", NULL);
    assert_non_null(strstr(r, "\r\nConnection: close\r\n"));
    assert_true(at_eof(b));
    free(r);
    close(a);
    close(b);
}

static void
test_shared_response_served_until_replaced(void **state)
{
    (void)state;
    static const char head[] = "HTTP/1.1 200 OK\r\n"
                               "Api-Version: 1.47\r\n"
                               "Docker-Experimental: false\r\n"
                               "Ostype: linux\r\n"
                               "Server: test/1.0 (linux)\r\n"
                               "Content-Type: application/json\r\n";
    shared_set("{\"n\":1}\n");
    int a = client(), b = client();
    for (int i = 0; i < 4; i++) {
        send_str(i % 2 ? b : a, "GET /shared HTTP/1.1\r\nHost: x\r\n\r\n");
        char *r = without_date(read_until(i % 2 ? b : a, "}\n", NULL));
        char want[512];
        snprintf(want, sizeof(want), "%sContent-Length: 8\r\n\r\n{\"n\":1}\n", head);
        assert_string_equal(r, want);
        free(r);
    }
    /* The owner replaces it: the old one is freed, the new one is what is sent. */
    shared_set("{\"n\":22}\n");
    send_str(a, "GET /shared HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = without_date(read_until(a, "}\n", NULL));
    char want[512];
    snprintf(want, sizeof(want), "%sContent-Length: 9\r\n\r\n{\"n\":22}\n", head);
    assert_string_equal(r, want);
    free(r);
    close(a);
    close(b);
    shared_set("{}");
}

static void
expect_error(const char *request, const char *status_line, const char *message)
{
    int fd = client();
    send_str(fd, request);
    char *r = read_until(fd, "\"}\n", NULL);
    assert_non_null(strstr(r, status_line));
    assert_non_null(strstr(r, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(r, "Api-Version: 1.47\r\n"));
    char want[512];
    snprintf(want, sizeof(want), "{\"message\":\"%s\"}\n", message);
    assert_non_null(strstr(r, want));
    free(r);
    close(fd);
}

static void
test_errors_are_json(void **state)
{
    (void)state;
    expect_error("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", "page not found");
    expect_error("DELETE /info HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 405", "method not allowed");
    expect_error("GET /v1.99/info HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400",
                 "client version 1.99 is too new. Maximum supported API version is 1.47");
    expect_error("GET /v1.23/info HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400",
                 "client version 1.23 is too old. Minimum supported API version is 1.24, please "
                 "upgrade your client to a newer version");
}

static void
test_error_keeps_connection_alive(void **state)
{
    (void)state;
    int fd = client();
    send_str(fd, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    free(read_until(fd, "\"}\n", NULL));
    send_str(fd, "GET /info HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = read_until(fd, "}\n", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    free(r);
    close(fd);
}

static void
test_chunked_request_body(void **state)
{
    (void)state;
    int fd = client();
    send_str(fd, "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    char *r = read_until(fd, "hello world", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "Content-Length: 11\r\n"));
    free(r);
    close(fd);
}

static void
test_body_over_cap_is_413(void **state)
{
    (void)state;
    /* Declared length over the cap: refused before the body is read. */
    int fd = client();
    send_str(fd, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    char *r = read_until(fd, "\"}\n", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 413"));
    assert_non_null(strstr(r, "{\"message\":\"request body exceeds the limit of 1024 bytes\"}"));
    free(r);
    close(fd);
    /* Chunked body that grows past the cap. */
    fd = client();
    send_str(fd, "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[700];
    memset(chunk, 'a', sizeof(chunk));
    for (int i = 0; i < 3; i++) {
        send_str(fd, "2bc\r\n");
        send_all(fd, chunk, sizeof(chunk));
        send_str(fd, "\r\n");
    }
    send_str(fd, "0\r\n\r\n");
    r = read_until(fd, "\"}\n", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 413"));
    free(r);
    close(fd);
}

static void
test_stream_headers_first_then_each_chunk(void **state)
{
    (void)state;
    int fd = client();
    send_str(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = read_until(fd, "one\n", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "Transfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(r, "4\r\none\n\r\n"));
    free(r);
    assert_true(quiet_for(fd, 200)); /* "two" waits for the trigger */
    uint64_t one = 1;
    assert_int_equal(write(trigger_efd, &one, sizeof(one)), sizeof(one));
    r = read_until(fd, "0\r\n\r\n", NULL);
    assert_non_null(strstr(r, "4\r\ntwo\n\r\n0\r\n\r\n"));
    free(r);
    close(fd);
}

static void
test_stream_headers_before_any_data(void **state)
{
    (void)state;
    int fd = client();
    send_str(fd, "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = read_until(fd, "\r\n\r\n", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    free(r);
    assert_true(quiet_for(fd, 200));
    close(fd); /* the producer must notice */
    for (int i = 0; i < 100 && !__atomic_load_n(&stream_client_gone, __ATOMIC_SEQ_CST); i++)
        usleep(20000);
    assert_true(__atomic_load_n(&stream_client_gone, __ATOMIC_SEQ_CST));
}

static void
test_hijack_echo_with_early_bytes_and_half_close(void **state)
{
    (void)state;
    int fd = client();
    /* "abc" follows the headers in the same write: the server must hand it over. */
    send_str(fd, "POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                 "Content-Length: 0\r\n\r\nabc");
    char *r = read_until(fd, "ABC", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 101"));
    assert_non_null(strstr(r, "Upgrade: tcp\r\n"));
    assert_non_null(strstr(r, "Content-Type: application/vnd.docker.raw-stream\r\n"));
    assert_non_null(strstr(r, "\r\n\r\nABC"));
    free(r);
    send_str(fd, "def");
    r = read_until(fd, "DEF", NULL);
    assert_string_equal(r, "DEF");
    free(r);
    shutdown(fd, SHUT_WR);
    r = read_until(fd, NULL, NULL);
    assert_string_equal(r, "bye");
    free(r);
    close(fd);
}

static void
test_hijack_without_upgrade_streams_a_200(void **state)
{
    (void)state;
    /* Docker streams over the plain connection; the handler's reads see EOF at once. */
    int fd = client();
    send_str(fd, "POST /hijack HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    char *r = read_until(fd, "0\r\n\r\n", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "Content-Type: application/vnd.docker.raw-stream\r\n"));
    assert_null(strstr(r, "Upgrade:"));
    assert_non_null(strstr(r, "3\r\nbye\r\n0\r\n\r\n"));
    free(r);
    /* The connection stays usable. */
    send_str(fd, "GET /info HTTP/1.1\r\nHost: x\r\n\r\n");
    r = read_until(fd, "}\n", NULL);
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    free(r);
    close(fd);
}

/* Runs last: stopping the server ends open streams and hijacked sessions. */
static void
test_stop_ends_streams_and_hijacks(void **state)
{
    (void)state;
    int s = client();
    send_str(s, "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n");
    free(read_until(s, "\r\n\r\n", NULL));
    int h = client();
    send_str(h, "POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                "Content-Length: 0\r\n\r\n");
    free(read_until(h, "\r\n\r\n", NULL));
    int idle = client(); /* a keep-alive connection between requests */
    send_str(idle, "GET /info HTTP/1.1\r\nHost: x\r\n\r\n");
    free(read_until(idle, "}\n", NULL));
    http_server_stop(srv);
    assert_true(__atomic_load_n(&forever_ended_by_shutdown, __ATOMIC_SEQ_CST));
    char *r = read_until(s, NULL, NULL); /* stream ends: terminating chunk, then close */
    free(r);
    assert_true(at_eof(h) || errno == ECONNRESET);
    assert_true(at_eof(idle) || errno == ECONNRESET);
    close(s);
    close(h);
    close(idle);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_headers_and_version_prefix),
        cmocka_unit_test(test_fixed_response_exact_bytes_every_time),
        cmocka_unit_test(test_shared_response_served_until_replaced),
        cmocka_unit_test(test_errors_are_json),
        cmocka_unit_test(test_error_keeps_connection_alive),
        cmocka_unit_test(test_chunked_request_body),
        cmocka_unit_test(test_body_over_cap_is_413),
        cmocka_unit_test(test_stream_headers_first_then_each_chunk),
        cmocka_unit_test(test_stream_headers_before_any_data),
        cmocka_unit_test(test_hijack_echo_with_early_bytes_and_half_close),
        cmocka_unit_test(test_hijack_without_upgrade_streams_a_200),
        cmocka_unit_test(test_stop_ends_streams_and_hijacks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
