/* The processes the agent runs and the bytes between their pipes and the connection. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/strv.h"
#include "base/xalloc.h"

enum { READ_CHUNK = 65536, INBUF_CAP = 4 * AP_WINDOW };

void
sess_init(struct asess *s, uint32_t id, enum asess_kind kind)
{
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->kind = kind;
    s->out_fd[0] = s->out_fd[1] = s->out_fd[2] = -1;
    s->in_fd = s->tty_fd = s->err_fd = -1;
    s->send_credit = AP_WINDOW;
    s->recv_window = AP_WINDOW;
}

void
sess_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void
sess_fini(struct asess *s)
{
    for (int i = 0; i < 3; i++)
        sess_close_fd(&s->out_fd[i]);
    sess_close_fd(&s->in_fd);
    sess_close_fd(&s->tty_fd);
    sess_close_fd(&s->err_fd);
    free(s->inbuf);
    s->inbuf = NULL;
}

char **
sess_env_merge(char *const *base, char *const *over)
{
    return strv_env_merge(base, over);
}

static void
set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* In the forked child: never returns. Reports errno on errfd before _exit. Only
 * async-signal-safe calls (the argv, env and ids were prepared before the fork). */
static void
child(const struct spawn_spec *spec, const struct ids *ids, int fds[3], bool tty, int errfd)
{
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < 65; sig++)
        signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();
    if (tty)
        ioctl(fds[0], TIOCSCTTY, 0);
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0)
            goto fail;
    if (spec->workdir != NULL && spec->workdir[0] != '\0' && chdir(spec->workdir) < 0)
        goto fail;
    if (ids != NULL && (setgroups((size_t)ids->ngroups, ids->groups) < 0 || setgid(ids->gid) < 0 ||
                        setuid(ids->uid) < 0))
        goto fail;
    environ = spec->env;
    execvp(spec->argv[0], spec->argv);
fail:;
    int e = errno;
    ssize_t r = write(errfd, &e, sizeof(e));
    (void)r;
    _exit(127);
}

static int
spawn_err(int e, const struct spawn_spec *spec, struct err **err)
{
    if (e == ENOENT)
        return err_make(err, ERR_NOT_FOUND, e, "exec: \"%s\": executable file not found in $PATH",
                        spec->argv[0]);
    if (e == EACCES || e == EPERM)
        return err_make(err, ERR_FORBIDDEN, e, "exec %s: %s", spec->argv[0], strerror(e));
    return err_make(err, ERR_INTERNAL, e, "exec %s: %s", spec->argv[0], strerror(e));
}

/* The process's ends of its stdio: fds[0..2] for the child, the agent's ends in s. */
static int
make_stdio(struct asess *s, const struct spawn_spec *spec, int fds[3], struct err **err)
{
    fds[0] = fds[1] = fds[2] = -1;
    if (spec->tty) {
        int master, slave;
        struct winsize ws = {.ws_row = (unsigned short)spec->height,
                             .ws_col = (unsigned short)spec->width};
        if (openpty(&master, &slave, NULL, NULL, spec->height > 0 ? &ws : NULL) < 0)
            return err_errno(err, "openpty");
        fcntl(master, F_SETFD, FD_CLOEXEC);
        fcntl(slave, F_SETFD, FD_CLOEXEC);
        set_nonblock(master);
        fds[0] = slave;
        fds[1] = dup(slave);
        fds[2] = dup(slave);
        s->out_fd[1] = master;
        s->tty_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
        if (spec->open_stdin)
            s->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
        return 0;
    }
    int p[2];
    for (int i = 1; i <= 2; i++) {
        if (pipe2(p, O_CLOEXEC) < 0)
            return err_errno(err, "pipe");
        set_nonblock(p[0]);
        s->out_fd[i] = p[0];
        fds[i] = p[1];
    }
    if (spec->open_stdin) {
        if (pipe2(p, O_CLOEXEC) < 0)
            return err_errno(err, "pipe");
        set_nonblock(p[1]);
        s->in_fd = p[1];
        fds[0] = p[0];
    } else {
        fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fds[0] < 0)
            return err_errno(err, "open /dev/null");
    }
    return 0;
}

int
sess_spawn(struct agent *a, struct asess *s, const struct spawn_spec *spec, struct err **err)
{
    struct ids ids;
    if (spec->user != NULL && spec->user[0] != '\0') {
        if (passwd_resolve(a->o.root, spec->user, &ids, err) < 0)
            return -1;
        if (getuid() != 0 && ids.uid != getuid())
            return err_make(err, ERR_FORBIDDEN, EPERM,
                            "exec as user %s: the agent does not run as root", spec->user);
    }
    bool with_user = spec->user != NULL && spec->user[0] != '\0';
    int fds[3];
    if (make_stdio(s, spec, fds, err) < 0) {
        for (int i = 0; i < 3; i++)
            sess_close_fd(&fds[i]);
        return -1;
    }
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        for (int i = 0; i < 3; i++)
            sess_close_fd(&fds[i]);
        return err_errno(err, "pipe");
    }
    pid_t pid = fork();
    if (pid == 0)
        child(spec, with_user ? &ids : NULL, fds, spec->tty, ep[1]);
    int fork_errno = errno;
    for (int i = 0; i < 3; i++)
        sess_close_fd(&fds[i]);
    close(ep[1]);
    if (pid < 0) {
        close(ep[0]);
        errno = fork_errno;
        return err_errno(err, "fork");
    }
    int e = 0;
    ssize_t r;
    do
        r = read(ep[0], &e, sizeof(e));
    while (r < 0 && errno == EINTR);
    close(ep[0]);
    s->pid = pid;
    if (r == (ssize_t)sizeof(e)) {
        /* The child is gone (it reports before _exit); the SIGCHLD handler reaps it. */
        s->exited = true;
        s->status = 127 << 8;
        return spawn_err(e, spec, err);
    }
    return 0;
}

int
sess_resize(struct asess *s, int height, int width, struct err **err)
{
    if (s->tty_fd < 0)
        return err_make(err, ERR_CONFLICT, 0, "no tty to resize");
    struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
    if (ioctl(s->tty_fd, TIOCSWINSZ, &ws) < 0)
        return err_errno(err, "resize");
    if (s->pid > 0 && !s->exited)
        kill(-s->pid, SIGWINCH);
    return 0;
}

int
sess_stdin_data(struct agent *a, struct asess *s, const uint8_t *p, size_t len, struct err **err)
{
    s->recv_window -= (int64_t)len;
    if (s->recv_window < 0)
        return err_make(err, ERR_INVALID, 0, "stdin beyond the granted credit");
    if (s->in_fd < 0 || s->in_eof) {
        /* Nobody reads it any more: give the credit back so the writer is not stuck. */
        uint8_t c[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                        (uint8_t)len};
        s->recv_window += (int64_t)len;
        agent_send(a, AP_CREDIT, 0, s->id, c, 4);
        return 0;
    }
    if (s->in_off > 0 && s->in_off == s->in_len)
        s->in_off = s->in_len = 0;
    if (s->in_len + len > s->in_alloc) {
        if (s->in_off > 0) {
            memmove(s->inbuf, s->inbuf + s->in_off, s->in_len - s->in_off);
            s->in_len -= s->in_off;
            s->in_off = 0;
        }
        if (s->in_len + len > INBUF_CAP)
            return err_make(err, ERR_TOO_LARGE, 0, "stdin buffer full");
        if (s->in_len + len > s->in_alloc) {
            s->in_alloc = s->in_len + len < 65536 ? 65536 : s->in_len + len;
            s->inbuf = xrealloc(s->inbuf, s->in_alloc);
        }
    }
    memcpy(s->inbuf + s->in_len, p, len);
    s->in_len += len;
    sess_stdin_flush(a, s);
    return 0;
}

void
sess_stdin_flush(struct agent *a, struct asess *s)
{
    size_t written = 0;
    while (s->in_fd >= 0 && s->in_off < s->in_len) {
        ssize_t n = write(s->in_fd, s->inbuf + s->in_off, s->in_len - s->in_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            /* The process closed its stdin: drop what is left. */
            written += s->in_len - s->in_off;
            s->in_off = s->in_len = 0;
            sess_close_fd(&s->in_fd);
            break;
        }
        s->in_off += (size_t)n;
        written += (size_t)n;
    }
    if (s->in_eof && s->in_off == s->in_len)
        sess_close_fd(&s->in_fd);
    if (written > 0 && a->up) {
        uint8_t c[4] = {(uint8_t)(written >> 24), (uint8_t)(written >> 16), (uint8_t)(written >> 8),
                        (uint8_t)written};
        s->recv_window += (int64_t)written;
        agent_send(a, AP_CREDIT, 0, s->id, c, 4);
    }
}

void
sess_pump_out(struct agent *a, struct asess *s, int stream, bool after_exit)
{
    static char buf[READ_CHUNK];
    int *fd = &s->out_fd[stream];
    while (*fd >= 0) {
        bool discard = s->cancelled || (!a->up && s->kind != AS_MAIN);
        if (!discard && (!a->up || s->send_credit <= 0))
            return;
        size_t want =
            discard || (size_t)s->send_credit > sizeof(buf) ? sizeof(buf) : (size_t)s->send_credit;
        ssize_t n = read(*fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN && !after_exit)
            return;
        if (n <= 0) {
            /* EOF, EIO (a pty whose slave is gone), or nothing more after the exit. */
            sess_close_fd(fd);
            if (s->kind == AS_MAIN && stream == 1)
                sess_close_fd(&s->tty_fd);
            if (!discard && a->up)
                agent_send(a, AP_EOF, (uint8_t)stream, s->id, NULL, 0);
            return;
        }
        if (discard)
            continue;
        agent_send(a, AP_DATA, (uint8_t)stream, s->id, buf, (size_t)n);
        s->send_credit -= n;
        if (!a->up)
            return;
    }
}

bool
sess_done(const struct asess *s)
{
    return s->exited && s->out_fd[1] < 0 && s->out_fd[2] < 0;
}
