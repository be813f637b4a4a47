/*
 * runtime: running an OCI runtime's command line (runc, crun, or any compatible binary given
 * with --runtime): create, start, exec, kill, pause, resume, delete, each as a child process of
 * the daemon with the state directory of this daemon (--root) and the runtime's log in JSON.
 */
#ifndef SOCKERLESS_DRIVER_RUNTIME_H
#define SOCKERLESS_DRIVER_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

struct runtime {
    char *path; /* the binary */
    char *name; /* its basename, for /info and logs */
    char *root; /* the state directory (--root) */
};

void runtime_fini(struct runtime *rt);

/* The binary for name ("runc", "crun", or a path): a new string, or NULL when not found in
 * PATH (and the usual sbin directories). */
char *runtime_find(const char *name);

/* Spawns `<path> --root <root> --log <log> --log-format json <args...>` with stdin, stdout and
 * stderr set to the given fds (-1: /dev/null) and every other fd closed. *pid: the child. */
int runtime_spawn(const struct runtime *rt, const char *log_path, const char *const *args,
                  int fd_in, int fd_out, int fd_err, pid_t *pid, struct err **err);
/* Waits for a spawned runtime command; a non-zero exit is ERR_INTERNAL with the runtime's own
 * error message (the last "error" line of its log, else what it wrote on stderr_text). */
int runtime_wait(const struct runtime *rt, pid_t pid, const char *log_path, const char *what,
                 struct err **err);
/* Runs a short command (start, kill, pause, resume, delete) to its end. */
int runtime_run(const struct runtime *rt, const char *log_path, const char *const *args,
                struct err **err);

#endif
