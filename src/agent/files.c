/* stat, archive get and archive put inside the agent's root, with the daemon's own docker cp
 * semantics (image/tarfs.c: RESOLVE_IN_ROOT lookups, libarchive's secure extraction). The tar
 * work runs in a forked child that streams through a pipe, so the loop never blocks on it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agentproto/frame.h"
#include "base/xalloc.h"
#include "image/tarfs.h"

json_t *
files_stat(struct agent *a, const char *path, struct err **err)
{
    struct tarfs_stat st;
    if (tarfs_stat(a->o.root, path, &st, err) < 0)
        return NULL;
    return json_pack("{s:s, s:I, s:I, s:I, s:s}", "name", st.name, "size", (json_int_t)st.size,
                     "mode", (json_int_t)st.mode, "mtime_ns", (json_int_t)st.mtime_ns,
                     "link_target", st.link_target);
}

/* The child's end: its error as JSON on errfd, exit status 1. */
static void
child_fail(int errfd, struct err *e)
{
    json_t *o = frame_err_json(e);
    char *s = json_dumps(o, JSON_COMPACT);
    if (s != NULL) {
        ssize_t r = write(errfd, s, strlen(s));
        (void)r;
    }
    _exit(1);
}

/* Forks a child for s: data_fd is its end of the data pipe, errfd of the error pipe. */
static pid_t
fork_child(struct asess *s, int *child_data, bool child_reads, int *child_err, struct err **err)
{
    int dp[2], ep[2];
    if (pipe2(dp, O_CLOEXEC) < 0)
        return err_errno(err, "pipe");
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(dp[0]);
        close(dp[1]);
        return err_errno(err, "pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(dp[0]), close(dp[1]), close(ep[0]), close(ep[1]);
        return err_errno(err, "fork");
    }
    if (pid == 0) {
        /* The worker does not exec: it must hold nothing of the agent's (the connection, the
         * other ends of its pipes), or EOFs would never come. Its two fds become 3 and 4. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int d = fcntl(child_reads ? dp[0] : dp[1], F_DUPFD, 10);
        int e = fcntl(ep[1], F_DUPFD, 10);
        if (d < 0 || e < 0 || dup2(d, 3) < 0 || dup2(e, 4) < 0)
            _exit(1);
        close_range(5, ~0U, 0);
        *child_data = 3;
        *child_err = 4;
        return 0;
    }
    close(child_reads ? dp[0] : dp[1]);
    close(ep[1]);
    int mine = child_reads ? dp[1] : dp[0];
    fcntl(mine, F_SETFL, fcntl(mine, F_GETFL) | O_NONBLOCK);
    if (child_reads)
        s->in_fd = mine;
    else
        s->out_fd[1] = mine;
    s->err_fd = ep[0];
    s->pid = pid;
    return pid;
}

int
files_get(struct agent *a, struct asess *s, const char *path, struct err **err)
{
    int data_fd = -1, err_fd = -1;
    pid_t pid = fork_child(s, &data_fd, false, &err_fd, err);
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct err *e = NULL;
        if (tarfs_create(a->o.root, path, data_fd, &e) < 0)
            child_fail(err_fd, e);
        _exit(0);
    }
    return 0;
}

static ssize_t
fd_read(void *ctx, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(*(int *)ctx, buf, len);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

/* In the child: the extraction of the tar read from fd as it comes. When it fails early, the
 * rest of the upload is dropped by the session (its writes to the pipe fail). */
static int
put_child(struct agent *a, const char *path, bool no_overwrite, const struct tarfs_owner *owner,
          int fd, struct err **err)
{
    return tarfs_extract_from(a->o.root, path, fd_read, &fd, no_overwrite, owner, err);
}

int
files_put(struct agent *a, struct asess *s, const char *path, bool no_overwrite, const int64_t *uid,
          const int64_t *gid, struct err **err)
{
    struct tarfs_stat st;
    if (tarfs_stat(a->o.root, path, &st, err) < 0)
        return -1;
    /* Go's os.ModeDir and os.ModeSymlink: a link is followed inside the root by the
     * extraction, which refuses it when it does not lead to a directory. */
    if ((st.mode & (0x80000000u | 0x08000000u)) == 0)
        return err_make(err, ERR_INTERNAL, ENOTDIR, "extraction point is not a directory");
    int data_fd = -1, err_fd = -1;
    pid_t pid = fork_child(s, &data_fd, true, &err_fd, err);
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct err *e = NULL;
        struct tarfs_owner owner = {.uid = uid ? (uid_t)*uid : 0, .gid = gid ? (gid_t)*gid : 0};
        if (put_child(a, path, no_overwrite, uid != NULL ? &owner : NULL, data_fd, &e) < 0)
            child_fail(err_fd, e);
        _exit(0);
    }
    return 0;
}

int
files_result(struct asess *s, struct err **err)
{
    if (WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0)
        return 0;
    char buf[2048];
    ssize_t n = s->err_fd >= 0 ? read(s->err_fd, buf, sizeof(buf) - 1) : -1;
    if (n > 0) {
        json_error_t je;
        json_t *o = json_loadb(buf, (size_t)n, 0, &je);
        if (json_is_object(o)) {
            int rc = frame_err_from_json(o, s->kind == AS_GET ? "archive" : "extract", err);
            json_decref(o);
            return rc;
        }
        json_decref(o);
    }
    if (WIFSIGNALED(s->status))
        return err_make(err, ERR_INTERNAL, 0, "archive worker killed by signal %d",
                        WTERMSIG(s->status));
    return err_make(err, ERR_INTERNAL, 0, "archive worker failed");
}
