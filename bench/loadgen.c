/*
 * sockerless-loadgen: the load generator of the benchmark suite (bench/run.sh; see
 * bench/README.md). It talks HTTP/1.1 with keep-alive to a Docker API daemon on a unix socket
 * (bench/httpc.c) and prints one JSON object of results on stdout. Modes:
 *
 *   PATH            COUNT requests of METHOD PATH [BODY] over CONNS keep-alive connections
 *                   (one thread each) for at most SECONDS: requests/s, latency percentiles and,
 *                   with --cpu-pid, the daemon's CPU time per request
 *   --lifecycle IMG create -> start -> wait -> remove of IMG running CMD (default `true`)
 *                   through the raw API, CONNS at a time: containers/s and per-step means
 *   --cold-start    runs a daemon's command line, measures the time to its first 200 OK on
 *                   /_ping, then stops it with SIGTERM (SIGKILL after 30 s)
 *   --wait          waits until the daemon on the socket answers /_ping
 *
 * A benchmark client, not part of the daemon. Exit status: 0 when at least one request (or
 * the ping) succeeded, 1 otherwise, 2 on a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "httpc.h"

enum { MAX_CONNS = 1024, MAX_LABELS = 16, ID_MAX = 128 };

struct job {
    const char *socket;
    long count;           /* requests or lifecycles to run at most */
    uint64_t deadline_ns; /* no new request starts after it */
    atomic_long next;     /* the next index to claim */
    /* the request of the plain mode */
    const char *method, *target, *body;
    size_t body_len;
    int expect; /* the expected status, 0 for any 2xx */
    /* the lifecycle mode */
    char *create_body;
};

struct worker {
    pthread_t thread;
    struct job *job;
    uint64_t *lat_ns; /* one latency per successful request */
    size_t n_lat, cap_lat;
    long errors;
    uint64_t bytes;      /* response body bytes */
    uint64_t step_ns[4]; /* lifecycle: time spent in create, start, wait, remove */
    char first_error[ERR_MSG_MAX];
    struct httpc_conn conn; /* last: large */
};

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool
claim(struct job *j)
{
    if (now_ns() >= j->deadline_ns)
        return false;
    return atomic_fetch_add(&j->next, 1) < j->count;
}

static void
record(struct worker *w, uint64_t ns)
{
    if (w->n_lat == w->cap_lat) {
        w->cap_lat = w->cap_lat ? 2 * w->cap_lat : 1024;
        w->lat_ns = xrealloc(w->lat_ns, w->cap_lat * sizeof(*w->lat_ns));
    }
    w->lat_ns[w->n_lat++] = ns;
}

static void
fail(struct worker *w, const char *msg)
{
    if (w->errors++ == 0)
        snprintf(w->first_error, sizeof(w->first_error), "%s", msg);
}

static bool
status_ok(int expect, int status)
{
    return expect ? status == expect : status >= 200 && status < 300;
}

static void *
http_worker(void *arg)
{
    struct worker *w = arg;
    struct job *j = w->job;
    while (claim(j)) {
        struct httpc_response r;
        struct err *e = NULL;
        uint64_t t0 = now_ns();
        if (httpc_request(&w->conn, j->method, j->target, j->body, j->body_len, false, &r, &e) <
            0) {
            fail(w, e->msg);
            err_clear(&e);
            continue;
        }
        uint64_t t1 = now_ns();
        if (status_ok(j->expect, r.status)) {
            record(w, t1 - t0);
            w->bytes += r.body_bytes;
        } else {
            char msg[64];
            snprintf(msg, sizeof(msg), "%s %s: status %d", j->method, j->target, r.status);
            fail(w, msg);
        }
        httpc_response_fini(&r);
    }
    httpc_close(&w->conn);
    return NULL;
}

/* One request of a lifecycle, which must answer `expect`; the body is kept in *r. */
static int
call(struct worker *w, const char *method, const char *target, const char *body, int expect,
     struct httpc_response *r, struct err **err)
{
    if (httpc_request(&w->conn, method, target, body, body ? strlen(body) : 0, true, r, err) < 0)
        return err_wrap(err, "%s %s", method, target);
    if (r->status != expect) {
        err_make(err, ERR_INTERNAL, 0, "%s %s: status %d: %.600s", method, target, r->status,
                 r->body);
        httpc_response_fini(r);
        return -1;
    }
    return 0;
}

/* The integer or string member `key` of the JSON object in `text`. */
static int
json_member(const char *text, const char *key, json_int_t *num, char *str, size_t str_size,
            struct err **err)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    json_t *v = json_object_get(doc, key);
    int rc = 0;
    if (num != NULL && json_is_integer(v))
        *num = json_integer_value(v);
    else if (str != NULL && json_is_string(v) && json_string_length(v) < str_size)
        memcpy(str, json_string_value(v), json_string_length(v) + 1);
    else
        rc = err_make(err, ERR_INTERNAL, 0, "no usable %s in %.160s", key, text);
    json_decref(doc);
    return rc;
}

static int
lifecycle_once(struct worker *w, struct err **err)
{
    static const struct {
        const char *method, *suffix;
        int expect;
    } steps[] = {{"POST", "/start", 204}, {"POST", "/wait", 200}, {"DELETE", "", 204}};
    struct httpc_response r;
    char id[ID_MAX], target[ID_MAX + 64];
    uint64_t t = now_ns();
    if (call(w, "POST", "/containers/create", w->job->create_body, 201, &r, err) < 0)
        return -1;
    int rc = json_member(r.body, "Id", NULL, id, sizeof(id), err);
    httpc_response_fini(&r);
    if (rc < 0 || strspn(id, "0123456789abcdef") != strlen(id))
        return rc < 0 ? -1 : err_make(err, ERR_INTERNAL, 0, "odd container id %.80s", id);
    for (size_t i = 0; i < 3; i++) {
        uint64_t t1 = now_ns();
        w->step_ns[i] += t1 - t;
        t = t1;
        snprintf(target, sizeof(target), "/containers/%s%s", id, steps[i].suffix);
        if ((rc = call(w, steps[i].method, target, NULL, steps[i].expect, &r, err)) < 0)
            break;
        if (i == 1) {
            json_int_t code = -1;
            rc = json_member(r.body, "StatusCode", &code, NULL, 0, err);
            if (rc == 0 && code != 0)
                rc = err_make(err, ERR_INTERNAL, 0, "%.12s exited with %d", id, (int)code);
        }
        httpc_response_fini(&r);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        /* Whatever failed, do not leave the container behind. */
        struct err *ignored = NULL;
        snprintf(target, sizeof(target), "/containers/%s?force=1", id);
        httpc_request(&w->conn, "DELETE", target, NULL, 0, false, &r, &ignored);
        httpc_response_fini(&r);
        err_clear(&ignored);
        return -1;
    }
    w->step_ns[3] += now_ns() - t;
    return 0;
}

static void *
lifecycle_worker(void *arg)
{
    struct worker *w = arg;
    while (claim(w->job)) {
        struct err *e = NULL;
        uint64_t t0 = now_ns();
        if (lifecycle_once(w, &e) < 0) {
            fail(w, e->msg);
            err_clear(&e);
        } else {
            record(w, now_ns() - t0);
        }
    }
    httpc_close(&w->conn);
    return NULL;
}

/* utime + stime of a process in microseconds, or -1. */
static double
cpu_us(long pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char *ok = fgets(line, sizeof(line), f);
    fclose(f);
    char *p = ok ? strrchr(line, ')') : NULL; /* the command name may hold spaces */
    unsigned long long utime, stime;
    /* After ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime, fields 3 to 15 of proc(5). */
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted v[0, n), in milliseconds. */
static double
pct_ms(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return (double)v[rank ? rank - 1 : 0] / 1e6;
}

static json_t *
summarize(struct worker *ws, int n_workers, double seconds)
{
    size_t n = 0;
    long errors = 0;
    uint64_t bytes = 0, steps[4] = {0};
    const char *first_error = NULL;
    for (int i = 0; i < n_workers; i++) {
        n += ws[i].n_lat;
        errors += ws[i].errors;
        bytes += ws[i].bytes;
        for (int s = 0; s < 4; s++)
            steps[s] += ws[i].step_ns[s];
        if (first_error == NULL && ws[i].errors > 0)
            first_error = ws[i].first_error;
    }
    uint64_t *all = xmalloc((n ? n : 1) * sizeof(*all));
    size_t k = 0;
    double sum = 0;
    for (int i = 0; i < n_workers; i++) {
        for (size_t j = 0; j < ws[i].n_lat; j++)
            sum += (double)(all[k++] = ws[i].lat_ns[j]);
    }
    qsort(all, n, sizeof(*all), cmp_u64);
    json_t *o =
        json_pack("{s:I, s:I, s:f, s:f, s:I, s:{s:f, s:f, s:f, s:f, s:f, s:f}}", "ok",
                  (json_int_t)n, "errors", (json_int_t)errors, "seconds", seconds, "rate",
                  seconds > 0 ? (double)n / seconds : 0.0, "bytes", (json_int_t)bytes, "latency_ms",
                  "mean", n ? sum / (double)n / 1e6 : 0, "p50", pct_ms(all, n, 50), "p90",
                  pct_ms(all, n, 90), "p99", pct_ms(all, n, 99), "min",
                  n ? (double)all[0] / 1e6 : 0, "max", n ? (double)all[n - 1] / 1e6 : 0);
    if (steps[0] > 0 && n > 0)
        json_object_set_new(o, "steps_mean_ms",
                            json_pack("{s:f, s:f, s:f, s:f}", "create", steps[0] / 1e6 / n, "start",
                                      steps[1] / 1e6 / n, "wait", steps[2] / 1e6 / n, "remove",
                                      steps[3] / 1e6 / n));
    if (first_error != NULL)
        json_object_set_new(o, "first_error", json_string(first_error));
    free(all);
    return o;
}

struct options {
    const char *socket, *method, *body, *lifecycle, *log;
    size_t body_len;
    char *body_file; /* --data-file's bytes (the body), or NULL */
    long count, conns, cpu_pid;
    double seconds;
    int expect;
    bool cold_start, wait;
    const char *labels[MAX_LABELS];
    int n_labels;
};

static int
run_load(struct options *o, char **args, int n_args)
{
    struct job j = {.socket = o->socket,
                    .count = o->count,
                    .method = o->method,
                    .body = o->body,
                    .body_len = o->body_len,
                    .expect = o->expect};
    atomic_init(&j.next, 0);
    if (o->lifecycle != NULL) {
        json_t *cmd = json_array(), *labels = json_object();
        for (int i = 0; i < n_args; i++)
            json_array_append_new(cmd, json_string(args[i]));
        if (n_args == 0)
            json_array_append_new(cmd, json_string("true"));
        for (int i = 0; i < o->n_labels; i++) {
            const char *eq = strchr(o->labels[i], '=');
            char *key =
                xstrndup(o->labels[i], eq ? (size_t)(eq - o->labels[i]) : strlen(o->labels[i]));
            json_object_set_new(labels, key, json_string(eq ? eq + 1 : ""));
            free(key);
        }
        json_t *doc =
            json_pack("{s:s, s:o, s:o}", "Image", o->lifecycle, "Cmd", cmd, "Labels", labels);
        j.create_body = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
    } else {
        j.target = args[0];
    }
    struct worker *ws = xcalloc((size_t)o->conns, sizeof(*ws));
    double cpu0 = o->cpu_pid > 0 ? cpu_us(o->cpu_pid) : -1;
    uint64_t t0 = now_ns();
    j.deadline_ns = t0 + (uint64_t)(o->seconds * 1e9);
    for (long i = 0; i < o->conns; i++) {
        ws[i].job = &j;
        httpc_init(&ws[i].conn, o->socket);
        int rc = pthread_create(&ws[i].thread, NULL, o->lifecycle ? lifecycle_worker : http_worker,
                                &ws[i]);
        if (rc != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(rc));
            abort();
        }
    }
    for (long i = 0; i < o->conns; i++)
        pthread_join(ws[i].thread, NULL);
    double seconds = (double)(now_ns() - t0) / 1e9;
    double cpu1 = o->cpu_pid > 0 ? cpu_us(o->cpu_pid) : -1;
    json_t *out = summarize(ws, (int)o->conns, seconds);
    json_object_set_new(out, "mode", json_string(o->lifecycle ? "lifecycle" : "http"));
    json_object_set_new(out, "connections", json_integer(o->conns));
    json_object_set_new(out, "request", json_string(o->lifecycle ? o->lifecycle : j.target));
    json_int_t ok = json_integer_value(json_object_get(out, "ok"));
    if (cpu0 >= 0 && cpu1 >= 0 && ok > 0) {
        json_object_set_new(out, "cpu_us", json_real(cpu1 - cpu0));
        json_object_set_new(out, "cpu_us_per_request", json_real((cpu1 - cpu0) / (double)ok));
    }
    json_dumpf(out, stdout, JSON_COMPACT | JSON_REAL_PRECISION(7));
    putchar('\n');
    json_decref(out);
    for (long i = 0; i < o->conns; i++)
        free(ws[i].lat_ns);
    free(ws);
    free(j.create_body);
    return ok > 0 ? 0 : 1;
}

/* Polls /_ping every 250 us until it answers 200 OK; fails when `child` (if > 0) exits first
 * or at the deadline. */
static int
wait_ping(const char *socket, pid_t child, uint64_t deadline_ns, struct err **err)
{
    struct httpc_conn *c = xmalloc(sizeof(*c));
    httpc_init(c, socket);
    int rc = 0;
    for (;;) {
        struct httpc_response r;
        struct err *e = NULL;
        bool up = httpc_request(c, "GET", "/_ping", NULL, 0, false, &r, &e) == 0 && r.status == 200;
        httpc_response_fini(&r);
        err_clear(&e);
        if (up)
            break;
        httpc_close(c);
        int status;
        if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
            rc = err_make(err, ERR_INTERNAL, 0, "the daemon exited (status %#x) before answering",
                          (unsigned)status);
            break;
        }
        if (now_ns() >= deadline_ns) {
            rc = err_make(err, ERR_INTERNAL, 0, "no answer to /_ping on %s in time", socket);
            break;
        }
        nanosleep(&(struct timespec){.tv_nsec = 250000}, NULL);
    }
    httpc_close(c);
    free(c);
    return rc;
}

static volatile pid_t cold_child;

static void
on_signal(int sig)
{
    if (cold_child > 0)
        kill(cold_child, SIGTERM);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* SIGTERM, then SIGKILL after 30 s; returns the seconds it took to exit. */
static double
stop_child(pid_t pid, int *status)
{
    uint64_t t0 = now_ns();
    kill(pid, SIGTERM);
    for (;;) {
        if (waitpid(pid, status, WNOHANG) == pid)
            break;
        if (now_ns() - t0 > 30000000000u)
            kill(pid, SIGKILL);
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    cold_child = 0;
    return (double)(now_ns() - t0) / 1e9;
}

static int
run_cold_start(struct options *o, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        /* Between fork and exec: async-signal-safe calls only. */
        int out = open(o->log ? o->log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        int in = open("/dev/null", O_RDONLY);
        if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    cold_child = pid;
    struct err *e = NULL;
    int rc = wait_ping(o->socket, pid, t0 + (uint64_t)(o->seconds * 1e9), &e);
    double seconds = (double)(now_ns() - t0) / 1e9;
    int status = 0;
    double stop_seconds = 0;
    if (cold_child > 0)
        stop_seconds = stop_child(pid, &status);
    json_t *out = json_pack("{s:s, s:f, s:f, s:i}", "mode", "cold-start", "seconds", seconds,
                            "stop_seconds", stop_seconds, "exit_status",
                            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    if (rc < 0)
        json_object_set_new(out, "error", json_string(e->msg));
    json_dumpf(out, stdout, JSON_COMPACT | JSON_REAL_PRECISION(7));
    putchar('\n');
    json_decref(out);
    err_clear(&e);
    return rc < 0 ? 1 : 0;
}

static const char usage[] =
    "Usage: sockerless-loadgen -s SOCKET [OPTIONS] PATH\n"
    "       sockerless-loadgen -s SOCKET [OPTIONS] --lifecycle IMAGE [CMD...]\n"
    "       sockerless-loadgen -s SOCKET [-t SECONDS] [--log FILE] --cold-start DAEMON [ARG...]\n"
    "       sockerless-loadgen -s SOCKET [-t SECONDS] --wait\n"
    "\n"
    "  -s, --socket PATH     the daemon's unix socket (a unix:// prefix is accepted)\n"
    "  -c, --connections N   keep-alive connections, one thread each (default 1)\n"
    "  -n, --count N         requests or lifecycles to run at most (default 1000)\n"
    "  -t, --time SECONDS    start no request after SECONDS (default 10; the timeout of\n"
    "                        --cold-start and --wait)\n"
    "  -X, --method METHOD   the request method (default GET)\n"
    "  -d, --data BODY       the request body, sent as JSON\n"
    "      --data-file FILE  the request body: FILE's bytes (read into memory first)\n"
    "  -e, --expect STATUS   the status every answer must have (default: any 2xx)\n"
    "      --cpu-pid PID     also report the CPU time PID used per request\n"
    "      --label KEY=VALUE a label of the containers --lifecycle creates (repeatable)\n"
    "      --log FILE        where the output of the --cold-start daemon goes (default none)\n"
    "\n"
    "Prints one JSON object. Options come before the first argument that is not one.\n";

/* The bytes of path (a new buffer, *len set), or NULL with a message. */
static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size = -1;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = xmalloc((size_t)size + 1);
        if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
    }
    if (f != NULL)
        fclose(f);
    if (buf == NULL)
        fprintf(stderr, "sockerless-loadgen: cannot read %s: %s\n", path, strerror(errno));
    *len = buf != NULL ? (size_t)size : 0;
    return buf;
}

static long
num_arg(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
        fprintf(stderr, "sockerless-loadgen: bad number %s\n%s", s, usage);
        exit(2);
    }
    return v;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"connections", required_argument, NULL, 'c'},
        {"count", required_argument, NULL, 'n'},
        {"time", required_argument, NULL, 't'},
        {"method", required_argument, NULL, 'X'},
        {"data", required_argument, NULL, 'd'},
        {"data-file", required_argument, NULL, 'F'},
        {"expect", required_argument, NULL, 'e'},
        {"cpu-pid", required_argument, NULL, 'P'},
        {"lifecycle", required_argument, NULL, 'L'},
        {"label", required_argument, NULL, 'l'},
        {"cold-start", no_argument, NULL, 'C'},
        {"wait", no_argument, NULL, 'W'},
        {"log", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct options o = {.method = "GET", .count = 1000, .conns = 1, .seconds = 10};
    int c;
    while ((c = getopt_long(argc, argv, "+s:c:n:t:X:d:e:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.socket = strncmp(optarg, "unix://", 7) == 0 ? optarg + 7 : optarg;
            break;
        case 'c':
            o.conns = num_arg(optarg, 1, MAX_CONNS);
            break;
        case 'n':
            o.count = num_arg(optarg, 1, 100000000);
            break;
        case 't':
            o.seconds = strtod(optarg, NULL);
            break;
        case 'X':
            o.method = optarg;
            break;
        case 'd':
            o.body = optarg;
            o.body_len = strlen(optarg);
            break;
        case 'F':
            free(o.body_file);
            if ((o.body_file = read_file(optarg, &o.body_len)) == NULL)
                return 2;
            o.body = o.body_file;
            break;
        case 'e':
            o.expect = (int)num_arg(optarg, 100, 599);
            break;
        case 'P':
            o.cpu_pid = num_arg(optarg, 1, 1L << 30);
            break;
        case 'L':
            o.lifecycle = optarg;
            break;
        case 'l':
            if (o.n_labels == MAX_LABELS) {
                fprintf(stderr, "sockerless-loadgen: at most %d labels\n", MAX_LABELS);
                return 2;
            }
            o.labels[o.n_labels++] = optarg;
            break;
        case 'C':
            o.cold_start = true;
            break;
        case 'W':
            o.wait = true;
            break;
        case 'g':
            o.log = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    char **args = argv + optind;
    int n_args = argc - optind;
    bool needs_arg = o.cold_start || (o.lifecycle == NULL && !o.wait);
    if (o.socket == NULL || !(o.seconds > 0) || (needs_arg && n_args == 0) ||
        (!o.cold_start && o.lifecycle == NULL && n_args > (o.wait ? 0 : 1))) {
        fputs(usage, stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (o.cold_start)
        return run_cold_start(&o, args);
    if (o.wait) {
        struct err *e = NULL;
        if (wait_ping(o.socket, 0, now_ns() + (uint64_t)(o.seconds * 1e9), &e) < 0) {
            fprintf(stderr, "sockerless-loadgen: %s\n", e->msg);
            err_clear(&e);
            return 1;
        }
        return 0;
    }
    int rc = run_load(&o, args, n_args);
    free(o.body_file);
    return rc;
}
