/* Running the OCI runtime's commands as children of the daemon. */
#include "driver/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/strv.h"
#include "base/xalloc.h"

enum { MAX_LOG_READ = 64 * 1024 };

void
runtime_fini(struct runtime *rt)
{
    free(rt->path);
    free(rt->name);
    free(rt->root);
    rt->path = rt->name = rt->root = NULL;
}

char *
runtime_find(const char *name)
{
    if (strchr(name, '/') != NULL)
        return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
    const char *path = getenv("PATH");
    cleanup_free char *dirs = xasprintf(
        "%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", path ? path : "");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
        if (*d == '\0')
            continue;
        char *full = xasprintf("%s/%s", d, name);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
            return full;
        free(full);
    }
    return NULL;
}

int
runtime_spawn(const struct runtime *rt, const char *log_path, const char *const *args, int fd_in,
              int fd_out, int fd_err, pid_t *pid, struct err **err)
{
    char **argv = NULL;
    argv = strv_append(argv, rt->path);
    argv = strv_append(argv, "--root");
    argv = strv_append(argv, rt->root);
    if (log_path != NULL) {
        argv = strv_append(argv, "--log");
        argv = strv_append(argv, log_path);
        argv = strv_append(argv, "--log-format");
        argv = strv_append(argv, "json");
    }
    for (size_t i = 0; args[i] != NULL; i++)
        argv = strv_append(argv, args[i]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int fds[3] = {fd_in, fd_out, fd_err};
    for (int i = 0; i < 3; i++) {
        if (fds[i] >= 0)
            posix_spawn_file_actions_adddup2(&fa, fds[i], i);
        else
            posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none); /* the daemon blocks its signals; the child not */
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &def);
    /* A session of its own: a terminal's ^C to the daemon's process group must not reach the
     * runtime, which forwards the signals it gets to the container it runs in the foreground. */
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
    int rc = posix_spawn(pid, rt->path, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    strv_free(argv);
    if (rc != 0)
        return err_make(err, ERR_INTERNAL, rc, "cannot run %s", rt->path);
    return 0;
}

/* The runtime's last error message from its JSON log (new string), or NULL. */
static char *
last_log_error(const char *log_path)
{
    if (log_path == NULL)
        return NULL;
    FILE *f = fopen(log_path, "re");
    if (f == NULL)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size > MAX_LOG_READ)
        fseeko(f, st.st_size - MAX_LOG_READ, SEEK_SET);
    char *msg = NULL;
    char line[8192];
    while (fgets(line, sizeof(line), f) != NULL) {
        json_t *o = json_loads(line, 0, NULL);
        const char *level = json_string_value(json_object_get(o, "level"));
        const char *text = json_string_value(json_object_get(o, "msg"));
        if (level != NULL && text != NULL &&
            (strcmp(level, "error") == 0 || strcmp(level, "fatal") == 0)) {
            free(msg);
            msg = xstrdup(text);
        }
        json_decref(o);
    }
    fclose(f);
    return msg;
}

int
runtime_wait(const struct runtime *rt, pid_t pid, const char *log_path, const char *what,
             struct err **err)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return err_make(err, ERR_INTERNAL, errno, "%s %s: wait", rt->name, what);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    cleanup_free char *msg = last_log_error(log_path);
    if (msg != NULL) /* the runtime's own words name it: "runc create failed: ..." */
        return err_make(err, ERR_INTERNAL, 0, "%s", msg);
    if (WIFEXITED(status))
        return err_make(err, ERR_INTERNAL, 0, "%s %s failed (exit status %d)", rt->name, what,
                        WEXITSTATUS(status));
    return err_make(err, ERR_INTERNAL, 0, "%s %s killed by signal %d", rt->name, what,
                    WTERMSIG(status));
}

int
runtime_run(const struct runtime *rt, const char *log_path, const char *const *args,
            struct err **err)
{
    pid_t pid;
    if (runtime_spawn(rt, log_path, args, -1, -1, -1, &pid, err) < 0)
        return -1;
    return runtime_wait(rt, pid, log_path, args[0], err);
}
