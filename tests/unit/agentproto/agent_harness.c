#include "agent_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"

void
harness_init(struct harness *h)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/sl-agent-test-XXXXXX");
    if (mkdtemp(h->dir) == NULL)
        abort();
    snprintf(h->sock, sizeof(h->sock), "unix:%s/agent.sock", h->dir);
    snprintf(h->token, sizeof(h->token), "%s/token", h->dir);
    FILE *f = fopen(h->token, "w");
    fputs("secret-token\n", f);
    fclose(f);
}

pid_t
harness_spawn(struct harness *h, const char *const *extra, const char *const *cmd)
{
    const char *bin = getenv("SOCKERLESS_AGENT");
    if (bin == NULL)
        bin = "./sockerless-agent";
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--token-file";
    argv[n++] = h->token;
    for (int i = 0; extra != NULL && extra[i] != NULL; i++)
        argv[n++] = extra[i];
    argv[n++] = "--";
    for (int i = 0; cmd[i] != NULL; i++)
        argv[n++] = cmd[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        /* The agent never outlives the test: one left behind would hold ctest's output pipe
         * open, and ctest would wait for it until its timeout. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    h->agent = pid;
    return pid;
}

bool
harness_wait_path(const char *path, int ms)
{
    struct stat st;
    for (int i = 0; i < ms / 10; i++) {
        if (stat(path, &st) == 0)
            return true;
        usleep(10000);
    }
    return false;
}

void
harness_fini(struct harness *h)
{
    if (h->agent > 0) {
        kill(h->agent, SIGKILL);
        kill(h->agent, SIGCONT);
        waitpid(h->agent, NULL, 0);
    }
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", h->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", h->dir);
}

struct agent_client *
harness_connect(struct harness *h, const char *token, int hb_timeout_ms, struct err **err)
{
    harness_wait_path(h->sock + 5, 5000);
    struct agent_client_opts o = {.container_id = "c0ffee",
                                  .token = token ? token : "secret-token",
                                  .heartbeat_interval_ms = hb_timeout_ms / 4,
                                  .heartbeat_timeout_ms = hb_timeout_ms};
    return agent_client_connect(h->sock, &o, err);
}

struct collect {
    struct buf out, err;
    const char *in;
    size_t in_off;
};

static int
collect_write(void *ctx, int stream, const char *data, size_t len)
{
    struct collect *c = ctx;
    return buf_append(stream == AGENT_STREAM_STDERR ? &c->err : &c->out, data, len, NULL);
}

static ssize_t
collect_read(void *ctx, char *buf, size_t len)
{
    struct collect *c = ctx;
    size_t left = strlen(c->in) - c->in_off;
    size_t n = left < len ? left : len;
    memcpy(buf, c->in + c->in_off, n);
    c->in_off += n;
    return (ssize_t)n;
}

int
harness_exec(struct agent_client *c, const char *const *argv, bool tty, const char *in, char **out,
             char **errout, struct err **err)
{
    struct agent_exec_spec spec = {
        .argv = (char *const *)argv, .tty = tty, .attach_stdin = in != NULL};
    struct agent_exec *x = agent_client_exec_open(c, &spec, NULL, err);
    if (x == NULL)
        return -1;
    struct collect col = {.in = in};
    buf_init(&col.out, 1 << 20);
    buf_init(&col.err, 1 << 20);
    struct agent_exec_io io = {
        .ctx = &col, .write = collect_write, .read_stdin = in ? collect_read : NULL};
    int code = agent_exec_run(x, &io, err);
    agent_exec_free(x);
    buf_append(&col.out, "", 1, NULL);
    buf_append(&col.err, "", 1, NULL);
    *out = buf_take(&col.out, NULL);
    *errout = buf_take(&col.err, NULL);
    buf_fini(&col.out);
    buf_fini(&col.err);
    return code;
}

long
harness_vmhwm_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}
