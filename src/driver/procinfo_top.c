/*
 * procinfo, the process table half: docker top. dockerd (daemon/top_unix.go) runs the host's
 * ps with the client's arguments (default "-ef") and keeps the rows of the container's pids.
 * For "-ef" we build the same columns from /proc as procps 4 prints them, so the default works
 * where ps is not installed; any other arguments run ps as dockerd does.
 */
#include "driver/procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/strv.h"
#include "base/xalloc.h"

enum {
    PROC_FILE_MAX = 4 * 1024 * 1024, /* a cmdline is at most ARG_MAX */
    PS_OUT_MAX = 64 * 1024 * 1024,
    PS_ERR_MAX = 64 * 1024,
    USER_COLUMN = 8, /* ps -f's UID width: longer names are cut to 7 characters and '+' */
};

void
proc_top_fini(struct proc_top *t)
{
    if (t == NULL)
        return;
    strv_free(t->titles);
    for (size_t i = 0; i < t->n_rows; i++)
        strv_free(t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

static void
top_add_row(struct proc_top *t, char **row)
{
    t->rows = xrealloc(t->rows, (t->n_rows + 1) * sizeof(char **));
    t->rows[t->n_rows++] = row;
}

/* dockerd splits ps output with fieldsASCII: these five, not \v. */
static bool
is_field_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r';
}

/* Copies s with what ps -ef would not print as is replaced by '?' (control characters and
 * bytes that are not UTF-8, as procps escapes them in a UTF-8 locale), so the result is valid
 * UTF-8 for the JSON answer. */
static void
append_printable(struct buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = 0; /* length of a valid sequence at i, 0 when invalid */
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f)
            n = 1;
        else if (c >= 0xc2 && c <= 0xdf)
            n = 2;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4;
        if (n > 1) {
            unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range (no overlongs or
                                                   surrogates) */
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
            else if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
            if (i + n > len || p[i + 1] < lo || p[i + 1] > hi)
                n = 0;
            for (size_t k = 2; n != 0 && k < n; k++)
                if (p[i + k] < 0x80 || p[i + k] > 0xbf)
                    n = 0;
            if (n == 2 && c == 0xc2 && p[i + 1] < 0xa0)
                n = 0; /* C1 control characters */
        }
        if (n == 0) {
            buf_append(b, "?", 1, NULL);
            i++;
        } else {
            buf_append(b, s + i, n, NULL);
            i += n;
        }
    }
}

/* A cell as dockerd passes it on: printable, runs of blanks made one space (it splits ps's
 * output into fields and joins the overhanging last ones with single spaces). */
static char *
cell_from(const char *s, size_t len)
{
    struct buf raw, out;
    buf_init(&raw, (size_t)-1);
    buf_init(&out, (size_t)-1);
    append_printable(&raw, s, len);
    for (size_t i = 0; i < raw.len;) {
        while (i < raw.len && is_field_space(raw.data[i]))
            i++;
        size_t start = i;
        while (i < raw.len && !is_field_space(raw.data[i]))
            i++;
        if (i > start) {
            if (out.len > 0)
                buf_append(&out, " ", 1, NULL);
            buf_append(&out, raw.data + start, i - start, NULL);
        }
    }
    buf_fini(&raw);
    return buf_take(&out, NULL);
}

/* --- ps -ef from /proc ---------------------------------------------------------------- */

struct proc_entry {
    char comm[64];
    char state;
    long ppid;
    long long tty_nr;
    unsigned long long utime, stime, start; /* clock ticks */
    unsigned euid;
};

/* What every row needs: the clock, the boot time and the uptime, read once per call. */
struct top_clock {
    long hz;
    time_t now, btime;
    double uptime;
};

static bool
read_proc_entry(pid_t pid, struct proc_entry *e)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    cleanup_free char *stat = procinfo_read_text(path, PROC_FILE_MAX, NULL);
    if (stat == NULL)
        return false; /* gone meanwhile */
    /* comm may hold spaces and parentheses: it ends at the last ')'. */
    char *open = strchr(stat, '('), *close = strrchr(stat, ')');
    if (open == NULL || close == NULL || close < open)
        return false;
    snprintf(e->comm, sizeof(e->comm), "%.*s", (int)(close - open - 1), open + 1);
    if (sscanf(
            close + 1,
            " %c %ld %*d %*d %lld %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
            &e->state, &e->ppid, &e->tty_nr, &e->utime, &e->stime, &e->start) != 6)
        return false;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    cleanup_free char *status = procinfo_read_text(path, PROC_FILE_MAX, NULL);
    const char *uid = status ? strstr(status, "\nUid:") : NULL;
    /* ps -ef's UID is the effective one, the second of real, effective, saved, fs. */
    return uid != NULL && sscanf(uid + 5, "%*u %u", &e->euid) == 1;
}

/* ps -f's UID: the user name from the host's password database, cut to 7 characters and a
 * '+' when wider than the column, the number when there is no name. */
static char *
user_cell(unsigned uid)
{
    struct passwd pw, *res = NULL;
    char buf[16384];
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
        return xasprintf("%u", uid);
    if (strlen(pw.pw_name) > USER_COLUMN)
        return xasprintf("%.*s+", USER_COLUMN - 1, pw.pw_name);
    return cell_from(pw.pw_name, strlen(pw.pw_name));
}

/* ps's C: lifetime CPU use in percent, capped at 99. */
static char *
c_cell(const struct proc_entry *e, const struct top_clock *k)
{
    double age = k->uptime - (double)e->start / (double)k->hz;
    unsigned long long seconds = age > 0 ? (unsigned long long)age : 0;
    unsigned long long pcpu = 0;
    if (seconds > 0)
        pcpu = (e->utime + e->stime) * 100ULL / (unsigned long long)k->hz / seconds;
    return xasprintf("%llu", pcpu > 99 ? 99 : pcpu);
}

/* ps's STIME: "HH:MM" today, "MonDD" this year, the year otherwise (local time). */
static char *
stime_cell(const struct proc_entry *e, const struct top_clock *k)
{
    time_t t = k->btime + (time_t)(e->start / (unsigned long long)k->hz);
    struct tm now, then;
    localtime_r(&k->now, &now);
    localtime_r(&t, &then);
    char out[32];
    size_t len;
    if (now.tm_year != then.tm_year)
        len = strftime(out, sizeof(out), "%Y", &then);
    else if (now.tm_yday != then.tm_yday)
        len = strftime(out, sizeof(out), "%b%d", &then);
    else
        len = strftime(out, sizeof(out), "%H:%M", &then);
    out[len] = '\0';
    return xstrdup(out);
}

/* ps's TIME: cumulative CPU time as [DD-]HH:MM:SS. */
static char *
time_cell(const struct proc_entry *e, const struct top_clock *k)
{
    unsigned long long t = (e->utime + e->stime) / (unsigned long long)k->hz;
    unsigned long long ss = t % 60, mm = t / 60 % 60, hh = t / 3600 % 24, dd = t / 86400;
    if (dd > 0)
        return xasprintf("%llu-%02llu:%02llu:%02llu", dd, hh, mm, ss);
    return xasprintf("%02llu:%02llu:%02llu", hh, mm, ss);
}

static bool
is_device(const char *path, dev_t dev)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == dev;
}

/* ps's TTY: the terminal's name under the HOST's /dev, "?" when none. procps only prints a
 * name a device node of the host answers to (a container's own pts shows as "?" unless the
 * host has a pts of the same number). */
static char *
tty_cell(pid_t pid, long long tty_nr)
{
    if (tty_nr == 0)
        return xstrdup("?");
    unsigned long long nr = (unsigned long long)tty_nr;
    unsigned maj = (unsigned)((nr >> 8) & 0xfff);
    unsigned min = (unsigned)((nr & 0xff) | ((nr >> 12) & 0xfff00));
    dev_t dev = makedev(maj, min);
    char name[64] = "";
    if (maj >= 136 && maj <= 143)
        snprintf(name, sizeof(name), "pts/%u", (maj - 136) * 256 + min);
    else if (maj == 4 && min < 64)
        snprintf(name, sizeof(name), "tty%u", min);
    else if (maj == 4)
        snprintf(name, sizeof(name), "ttyS%u", min - 64);
    else if (maj == 5 && min == 1)
        snprintf(name, sizeof(name), "console");
    char path[96];
    snprintf(path, sizeof(path), "/dev/%s", name);
    if (name[0] != '\0' && is_device(path, dev))
        return xstrdup(name);
    /* As procps: the terminal a standard fd of the process is open on. */
    static const int fds[] = {2, 255, 0, 1};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        char link[64], target[256];
        snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fds[i]);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 5)
            continue;
        target[n] = '\0';
        if (strncmp(target, "/dev/", 5) == 0 && is_device(target, dev))
            return cell_from(target + 5, strlen(target + 5));
    }
    return xstrdup("?");
}

/* ps's CMD: the command line with its NULs as spaces, "[comm]" when it has none (kernel
 * threads, zombies), " <defunct>" after a zombie's. */
static char *
cmd_cell(pid_t pid, const struct proc_entry *e)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    size_t len = 0;
    cleanup_free char *raw = procinfo_read_text(path, PROC_FILE_MAX, &len);
    while (len > 0 && raw[len - 1] == '\0')
        len--;
    struct buf b;
    buf_init(&b, (size_t)-1);
    if (len == 0) {
        buf_append(&b, "[", 1, NULL);
        buf_append(&b, e->comm, strlen(e->comm), NULL);
        buf_append(&b, "]", 1, NULL);
    } else {
        for (size_t i = 0; i < len; i++)
            buf_append(&b, raw[i] == '\0' ? " " : raw + i, 1, NULL);
    }
    if (e->state == 'Z')
        buf_append(&b, " <defunct>", 10, NULL);
    char *cell = cell_from(b.data ? b.data : "", b.len);
    buf_fini(&b);
    return cell;
}

static void
read_clock(struct top_clock *k)
{
    k->hz = sysconf(_SC_CLK_TCK);
    if (k->hz <= 0)
        k->hz = 100;
    k->now = time(NULL);
    k->btime = 0;
    cleanup_free char *stat = procinfo_read_text("/proc/stat", PROC_FILE_MAX, NULL);
    const char *bt = stat ? strstr(stat, "\nbtime ") : NULL;
    if (bt != NULL)
        k->btime = (time_t)strtoll(bt + 7, NULL, 10);
    cleanup_free char *up = procinfo_read_text("/proc/uptime", 4096, NULL);
    k->uptime = up ? strtod(up, NULL) : 0;
}

static void
top_from_proc(const pid_t *pids, size_t n, struct proc_top *out)
{
    static const char *const titles[] = {"UID", "PID",  "PPID", "C", "STIME",
                                         "TTY", "TIME", "CMD",  NULL};
    struct top_clock k;
    read_clock(&k);
    out->titles = strv_dup((char *const *)titles);
    for (size_t i = 0; i < n; i++) {
        struct proc_entry e = {0};
        if (!read_proc_entry(pids[i], &e))
            continue;
        char **row = xcalloc(9, sizeof(char *));
        row[0] = user_cell(e.euid);
        row[1] = xasprintf("%d", (int)pids[i]);
        row[2] = xasprintf("%ld", e.ppid);
        row[3] = c_cell(&e, &k);
        row[4] = stime_cell(&e, &k);
        row[5] = tty_cell(pids[i], e.tty_nr);
        row[6] = time_cell(&e, &k);
        row[7] = cmd_cell(pids[i], &e);
        top_add_row(out, row);
    }
}

/* --- other arguments: the host's ps ---------------------------------------------------- */

/* The regexp \s+(\S*)=\s*(PID\S*) of dockerd's validatePSArgs, by hand: leftmost matches,
 * the name up to the last '=' that fits. */
int
procinfo_check_ps_args(const char *a, struct err **err)
{
    size_t n = strlen(a);
    for (size_t i = 0; i < n;) {
        if (!is_field_space(a[i])) {
            i++;
            continue;
        }
        while (i < n && is_field_space(a[i]))
            i++;
        size_t tok = i, tok_end = i;
        while (tok_end < n && !is_field_space(a[tok_end]))
            tok_end++;
        size_t next = tok_end;
        for (size_t j = tok_end; j-- > tok;) {
            size_t v = j + 1, v_end;
            if (a[j] != '=')
                continue;
            while (v < n && is_field_space(a[v]))
                v++;
            if (strncmp(a + v, "PID", 3) != 0)
                continue;
            for (v_end = v; v_end < n && !is_field_space(a[v_end]);)
                v_end++;
            if (j - tok != 3 || strncmp(a + tok, "pid", 3) != 0)
                return err_make(err, ERR_INTERNAL, 0, "specifying \"%.*s=%.*s\" is not allowed",
                                (int)(j - tok), a + tok, (int)(v_end - v), a + v);
            next = v_end;
            break;
        }
        i = next;
    }
    return 0;
}

/* Reads the child's stdout (capped) and the first line of its stderr until both close. */
static int
drain_child(int out_fd, int err_fd, struct buf *out, struct buf *errs, struct err **err)
{
    struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
    int rc = 0;
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return err_errno(err, "ps: poll");
        }
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || p[i].revents == 0)
                continue;
            char chunk[16384];
            ssize_t got = read(p[i].fd, chunk, sizeof(chunk));
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                p[i].fd = -1;
                continue;
            }
            struct buf *dst = i == 0 ? out : errs;
            if (buf_append(dst, chunk, (size_t)got, i == 0 && rc == 0 ? err : NULL) < 0 && i == 0)
                rc = -1; /* keep draining so the child can finish */
        }
    }
    return rc;
}

/* Starts ps (found on PATH) with stdin from /dev/null and stdout, stderr on the given fds;
 * returns 0 or the errno of the failure. */
static int
spawn_ps(char **argv, int out_fd, int err_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* the daemon's fds are no business of ps */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none); /* the daemon blocks signals; ps must not */
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawnp(pid, "ps", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

/* Runs ps with argv (argv[0] "ps"); *text is its stdout. Fails as dockerd reports it: "ps: "
 * and the first line of stderr, or the exit status. */
static int
run_ps(char **argv, char **text, struct err **err)
{
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) < 0)
        return err_errno(err, "ps: pipe");
    if (pipe2(err_pipe, O_CLOEXEC) < 0) {
        close(out_pipe[0]);
        close(out_pipe[1]);
        return err_errno(err, "ps: pipe");
    }
    pid_t pid;
    int spawn_rc = spawn_ps(argv, out_pipe[1], err_pipe[1], &pid);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (spawn_rc != 0) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        if (spawn_rc == ENOENT)
            return err_make(err, ERR_INTERNAL, spawn_rc,
                            "ps: exec: \"ps\": executable file not found in $PATH");
        return err_make(err, ERR_INTERNAL, spawn_rc, "ps: %s", strerror(spawn_rc));
    }
    struct buf out, errs;
    buf_init(&out, PS_OUT_MAX);
    buf_init(&errs, PS_ERR_MAX);
    struct err *read_err = NULL;
    int rc = drain_child(out_pipe[0], err_pipe[0], &out, &errs, &read_err);
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc < 0) {
        if (err != NULL)
            *err = read_err;
        else
            err_clear(&read_err);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        *text = buf_take(&out, NULL);
    } else if (errs.len > 0 && errs.data[0] != '\n') {
        rc = err_make(err, ERR_INTERNAL, 0, "ps: %.*s", (int)strcspn(errs.data, "\n"), errs.data);
    } else if (WIFEXITED(status)) {
        rc = err_make(err, ERR_INTERNAL, 0, "ps: exit status %d", WEXITSTATUS(status));
    } else {
        rc = err_make(err, ERR_INTERNAL, 0, "ps: signal: %s", strsignal(WTERMSIG(status)));
    }
    buf_fini(&out);
    buf_fini(&errs);
    return rc;
}

/* The fields of a line as dockerd's fieldsASCII splits it: a NULL-ended list. */
static char **
split_fields(const char *line, size_t len)
{
    char **v = xcalloc(1, sizeof(char *));
    for (size_t i = 0; i < len;) {
        while (i < len && is_field_space(line[i]))
            i++;
        size_t start = i;
        while (i < len && !is_field_space(line[i]))
            i++;
        if (i > start) {
            cleanup_free char *f = cell_from(line + start, i - start);
            v = strv_append(v, f);
        }
    }
    return v;
}

static bool
has_pid(const pid_t *pids, size_t n, long pid)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

/* As many cells as titles: the overhanging fields joined into the last (dockerd's
 * appendProcess2ProcList). */
static char **
row_from_fields(char **fields, size_t n_titles)
{
    size_t nf = strv_len(fields);
    char **row = xcalloc(n_titles + 1, sizeof(char *));
    for (size_t i = 0; i + 1 < n_titles; i++)
        row[i] = xstrdup(i < nf ? fields[i] : "");
    struct buf last;
    buf_init(&last, (size_t)-1);
    for (size_t i = n_titles - 1; i < nf; i++) {
        if (i > n_titles - 1)
            buf_append(&last, " ", 1, NULL);
        buf_append(&last, fields[i], strlen(fields[i]), NULL);
    }
    row[n_titles - 1] = buf_take(&last, NULL);
    return row;
}

/* dockerd's parsePSOutput: the first line gives the titles and the PID column; a row is kept
 * when its PID is one of pids, and a "-" PID row (a thread, with ps -m) when the row before
 * it was kept. */
static int
parse_ps(const char *text, const pid_t *pids, size_t n, struct proc_top *out, struct err **err)
{
    size_t first = strcspn(text, "\n");
    char **titles = split_fields(text, first);
    size_t n_titles = strv_len(titles), pid_col = n_titles;
    for (size_t i = 0; i < n_titles && pid_col == n_titles; i++)
        if (strcmp(titles[i], "PID") == 0)
            pid_col = i;
    if (pid_col == n_titles) {
        strv_free(titles);
        return err_make(err, ERR_INTERNAL, 0, "Couldn't find PID field in ps output");
    }
    struct proc_top t = {.titles = titles};
    bool previous_kept = false;
    for (const char *line = text + first; *line != '\0';) {
        line += *line == '\n';
        size_t len = strcspn(line, "\n");
        char **fields = split_fields(line, len);
        line += len;
        if (strv_len(fields) <= pid_col) { /* a blank line */
            strv_free(fields);
            continue;
        }
        const char *p = fields[pid_col];
        char *end;
        errno = 0;
        long pid = strtol(p, &end, 10);
        bool dash = strcmp(p, "-") == 0;
        if (!dash && (errno != 0 || end == p || *end != '\0')) {
            err_make(err, ERR_INTERNAL, 0,
                     "Unexpected pid '%s': strconv.Atoi: parsing \"%s\": invalid syntax", p, p);
            strv_free(fields);
            proc_top_fini(&t);
            return -1;
        }
        bool keep = dash ? previous_kept : has_pid(pids, n, pid);
        if (!dash)
            previous_kept = keep;
        if (keep)
            top_add_row(&t, row_from_fields(fields, n_titles));
        strv_free(fields);
    }
    *out = t;
    return 0;
}

static int
top_with_ps(const pid_t *pids, size_t n, const char *ps_args, struct proc_top *out,
            struct err **err)
{
    /* dockerd splits the arguments on single spaces: empty arguments stay. */
    char **argv = strv_append(NULL, "ps");
    for (const char *p = ps_args;;) {
        size_t len = strcspn(p, " ");
        cleanup_free char *arg = xstrndup(p, len);
        argv = strv_append(argv, arg);
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    /* First with "-q<pids>" (fewer rows to read), then without: some options (f) refuse -q. */
    struct buf q;
    buf_init(&q, (size_t)-1);
    buf_append(&q, "-q", 2, NULL);
    for (size_t i = 0; i < n; i++) {
        char num[24];
        int len = snprintf(num, sizeof(num), "%s%d", i > 0 ? "," : "", (int)pids[i]);
        buf_append(&q, num, (size_t)len, NULL);
    }
    size_t argc = strv_len(argv);
    argv = strv_append(argv, q.data);
    buf_fini(&q);
    char *text = NULL;
    int rc = run_ps(argv, &text, NULL);
    if (rc < 0) {
        free(argv[argc]);
        argv[argc] = NULL;
        rc = run_ps(argv, &text, err);
    }
    strv_free(argv);
    if (rc < 0)
        return -1;
    rc = parse_ps(text, pids, n, out, err);
    free(text);
    return rc;
}

int
procinfo_top(const pid_t *pids, size_t n, const char *ps_args, struct proc_top *out,
             struct err **err)
{
    if (ps_args == NULL || ps_args[0] == '\0')
        ps_args = "-ef";
    if (procinfo_check_ps_args(ps_args, err) < 0)
        return -1;
    if (strcmp(ps_args, "-ef") != 0)
        return top_with_ps(pids, n, ps_args, out, err);
    struct proc_top t = {0};
    top_from_proc(pids, n, &t);
    *out = t;
    return 0;
}
