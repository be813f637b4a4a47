/*
 * The process driver's docker top and docker stats: its containers run in the cgroup
 * "/sockerless/<id>" (the cgroupsPath the runtime is given), so both come from that cgroup
 * through procinfo. The state check takes the engine lock; the kernel is read without it.
 */
#include <pthread.h>
#include <stdlib.h>

#include "base/xalloc.h"
#include "driver/ocispec.h"
#include "driver/procinfo.h"
#include "engine/container.h"
#include "engine/engine.h"

/* 0 when c runs; otherwise dockerd's 409 (daemon/top_unix.go, errNotRunning and
 * errContainerIsRestarting). A start in progress is waited for, as dockerd's container lock
 * makes top wait: its cgroup does not exist before the runtime's create. */
static int
check_running(struct engine *eng, struct container *c, struct err **err)
{
    engine_lock(eng);
    while (c->starting)
        engine_cond_wait(eng, &eng->start_done, NULL);
    bool running = container_is_running(c) && !c->removed;
    bool restarting = c->state.status == CONTAINER_RESTARTING;
    engine_unlock(eng);
    if (!running)
        return err_make(err, ERR_CONFLICT, 0, "Container %s is not running", c->id);
    if (restarting)
        return err_make(err, ERR_CONFLICT, 0,
                        "Container %s is restarting, wait until the container is running", c->id);
    return 0;
}

int
process_top(struct engine *eng, struct container *c, const char *ps_args, struct proc_top *out,
            struct err **err)
{
    if (check_running(eng, c, err) < 0)
        return -1;
    cleanup_free char *cgroup = oci_cgroups_path(c);
    pid_t *pids = NULL;
    size_t n = 0;
    if (procinfo_cgroup_pids(cgroup, &pids, &n, err) < 0) {
        /* The container may have ended since the check: say so rather than "no cgroup". Its
         * exit may not be reported yet: the runtime removes the cgroup before the monitor
         * tells the engine, and no process runs without it. */
        if (err_kind_of(err) == ERR_NOT_FOUND) {
            err_clear(err);
            return err_make(err, ERR_CONFLICT, 0, "Container %s is not running", c->id);
        }
        return err_wrap(err, "top %.12s", c->id);
    }
    int rc = procinfo_top(pids, n, ps_args, out, err);
    free(pids);
    return rc;
}

int
process_stats(struct engine *eng, struct container *c, struct proc_stats *out, struct err **err)
{
    if (check_running(eng, c, err) < 0)
        return -1;
    cleanup_free char *cgroup = oci_cgroups_path(c);
    if (procinfo_cgroup_stats(cgroup, out, err) < 0) {
        if (err_kind_of(err) == ERR_NOT_FOUND) { /* as in top */
            err_clear(err);
            return err_make(err, ERR_CONFLICT, 0, "Container %s is not running", c->id);
        }
        return err_wrap(err, "stats %.12s", c->id);
    }
    return 0;
}
