/*
 * reaper: reaps the orphans the daemon adopts as the child subreaper. A container's process
 * that forks and exits (with PidMode host, or an exec's children) leaves its children to the
 * daemon; nobody waits for them, and each would stay a zombie for the life of the daemon.
 *
 * The daemon's own children are reaped by whoever started them (the monitor through a pidfd,
 * runtime_wait, top's ps): the reaper must not take their exits. Pids whose owner waits through
 * a pidfd are registered (reaper_own); any other zombie child is reaped only after it has
 * stayed a zombie for a grace period, longer than any owner takes to wait for it.
 * Not a general child tracker: it only ever reaps zombies (waitpid WNOHANG on that pid).
 */
#ifndef SOCKERLESS_DRIVER_REAPER_H
#define SOCKERLESS_DRIVER_REAPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* How long an unregistered zombie child is left to its owner before the reaper takes it. */
enum { REAPER_GRACE_MS = 5000, REAPER_INTERVAL_MS = 1000 };

/* Starts the reaper thread (idempotent). */
int reaper_start(struct err **err);
/* Stops it and forgets every registration. */
void reaper_stop(void);

/* pid is reaped by its owner (who calls reaper_disown after that): never by the reaper. */
void reaper_own(pid_t pid);
void reaper_disown(pid_t pid);

/* One pass: reaps the unregistered zombie children of this process that have been zombies for
 * grace_ms or more (seen by earlier passes), and at once the runtime's strays (below). Returns
 * how many it reaped. The thread calls it every REAPER_INTERVAL_MS with REAPER_GRACE_MS; tests
 * call it directly. */
size_t reaper_scan(int64_t grace_ms);

/* The OCI runtime's process name (its comm, e.g. "crun"). A zombie child by that name inside a
 * pid namespace other than the daemon's is the runtime's own process that joined a container
 * and died there before its execve (crun's child for an exec that cannot be started): nobody
 * waits for it, and while it stays a zombie it keeps the container's cgroup from emptying, so
 * the runtime's clean-up after the container's exit waits for it. Such strays are reaped
 * without the grace period. (A container's own command named like the runtime, ending before
 * its monitor registered it, would be taken too and its exit status lost.) NULL: none. */
void reaper_set_stray_name(const char *comm);
/* Asks the thread for a pass now (after an exec failed: its stray is gone within a pass). */
void reaper_kick(void);

#endif
