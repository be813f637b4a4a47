/* Container operations: the state machine, events and restart policy, with every action on a
 * process delegated to the container's driver. The lock is held only for short updates, never
 * across a driver call. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/engine.h"
#include "engine/network.h"
#include "engine/volume.h"

enum { DEFAULT_STOP_TIMEOUT_S = 10, RESTART_DELAY_MS = 100 };

/* Publishes a container event with Docker's attributes: name, image, the labels, and extra
 * key/value pairs (NULL-ended). */
static void
emit(struct engine *eng, const struct container *c, const char *action, ...)
{
    struct event *ev = event_new("container", action, c->id);
    for (size_t i = 0; i < c->spec.labels.n; i++)
        event_add_attr(ev, c->spec.labels.keys[i], c->spec.labels.values[i]);
    event_add_attr(ev, "image", c->spec.image);
    event_add_attr(ev, "name", c->name + 1);
    va_list ap;
    va_start(ap, action);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL)
        event_add_attr(ev, k, va_arg(ap, const char *));
    va_end(ap);
    events_publish(eng->events, ev);
}

/* Path and Args from entrypoint + cmd, as Docker splits them. */
static void
set_command(struct container *c)
{
    char **argv = strv_dup(c->spec.entrypoint);
    for (size_t i = 0; c->spec.cmd != NULL && c->spec.cmd[i] != NULL; i++)
        argv = strv_append(argv, c->spec.cmd[i]);
    if (argv != NULL && argv[0] != NULL) {
        c->path = xstrdup(argv[0]);
        c->args = strv_dup(argv + 1);
    } else {
        c->path = xstrdup("");
        c->args = xcalloc(1, sizeof(char *));
    }
    strv_free(argv);
}

/* Fills what the request left unset from the image's config (Env merged by key). */
static void
merge_image_config(struct container_spec *s, const struct image *img)
{
    const struct image_config *ic = &img->config;
    char **env = strv_env_merge(ic->env, s->env);
    strv_free(s->env);
    s->env = env;
    if (s->entrypoint == NULL && s->cmd == NULL)
        s->cmd = strv_dup(ic->cmd);
    if (s->entrypoint == NULL)
        s->entrypoint = strv_dup(ic->entrypoint);
    if ((s->working_dir == NULL || *s->working_dir == '\0') && ic->working_dir != NULL) {
        free(s->working_dir);
        s->working_dir = xstrdup(ic->working_dir);
    }
    if (s->working_dir != NULL && s->working_dir[0] == '/') {
        /* dockerd keeps the working directory cleaned as Go's filepath.Clean does */
        char *clean = fsutil_clean_absolute(s->working_dir);
        free(s->working_dir);
        s->working_dir = clean;
    }
    if ((s->user == NULL || *s->user == '\0') && ic->user != NULL) {
        free(s->user);
        s->user = xstrdup(ic->user);
    }
    if (s->stop_signal == NULL && ic->stop_signal != NULL)
        s->stop_signal = xstrdup(ic->stop_signal);
    if (s->health.test == NULL && ic->health_test != NULL) {
        s->health.test = strv_dup(ic->health_test);
        s->health.interval_ns = ic->health_interval_ns;
        s->health.timeout_ns = ic->health_timeout_ns;
        s->health.start_period_ns = ic->health_start_period_ns;
        s->health.retries = ic->health_retries;
    }
    for (size_t i = 0; ic->exposed_ports != NULL && ic->exposed_ports[i] != NULL; i++)
        if (!strv_contains(s->exposed_ports, ic->exposed_ports[i]))
            s->exposed_ports = strv_append(s->exposed_ports, ic->exposed_ports[i]);
    for (size_t i = 0; i < ic->labels.n; i++) {
        bool set = false;
        for (size_t j = 0; j < s->labels.n && !set; j++)
            set = strcmp(s->labels.keys[j], ic->labels.keys[i]) == 0;
        if (!set)
            labels_add(&s->labels, ic->labels.keys[i], ic->labels.values[i]);
    }
}

/* The image's VOLUMEs that the request mounts nothing on become anonymous volumes, as dockerd
 * makes them. */
static void
add_image_volumes(struct container_create *req, const struct image *img)
{
    for (size_t i = 0; img->config.volumes != NULL && img->config.volumes[i] != NULL; i++) {
        const char *dest = img->config.volumes[i];
        size_t len = strlen(dest);
        while (len > 1 && dest[len - 1] == '/')
            len--;
        bool mounted = false;
        for (size_t j = 0; j < req->n_mounts && !mounted; j++) {
            const char *d = req->mounts[j].destination;
            size_t dl = strlen(d);
            while (dl > 1 && d[dl - 1] == '/')
                dl--;
            mounted = dl == len && strncmp(d, dest, len) == 0;
        }
        if (mounted)
            continue;
        req->mounts = xrealloc(req->mounts, (req->n_mounts + 1) * sizeof(*req->mounts));
        req->mounts[req->n_mounts++] = (struct mount_req){
            .type = MOUNT_VOLUME, .destination = xstrndup(dest, len), .mode = xstrdup("")};
    }
}

void
container_create_fini(struct container_create *req)
{
    for (size_t i = 0; i < req->n_nets; i++) {
        free(req->nets[i].network);
        strv_free(req->nets[i].aliases);
        free(req->nets[i].ipv4);
    }
    free(req->nets);
    for (size_t i = 0; i < req->n_mounts; i++)
        mount_req_fini(&req->mounts[i]);
    free(req->mounts);
    container_spec_fini(&req->spec);
    free(req->name);
    if (req->api_doc_free != NULL)
        req->api_doc_free(req->api_doc);
    memset(req, 0, sizeof(*req));
}

/* NetworkMode and EndpointsConfig into attachments. Lock held. */
static int
attach_requested_networks(struct engine *eng, struct container *c, struct container_create *req,
                          struct err **err)
{
    const char *mode = c->spec.network_mode;
    if (mode == NULL || *mode == '\0' || strcmp(mode, "default") == 0)
        mode = "bridge";
    if (strncmp(mode, "container:", 10) == 0)
        return 0; /* shares another container's network stack: no endpoint of its own */
    bool mode_in_list = false;
    for (size_t i = 0; i < req->n_nets; i++) {
        /* The CLI keys EndpointsConfig by the network mode, "default" included. */
        const char *name = req->nets[i].network;
        struct network *n = network_find(eng, strcmp(name, "default") == 0 ? "bridge" : name, err);
        if (n == NULL)
            return -1;
        uint32_t ip = 0;
        if (req->nets[i].ipv4 != NULL && *req->nets[i].ipv4 != '\0' &&
            !ipv4_parse(req->nets[i].ipv4, &ip))
            return err_make(err, ERR_INVALID, 0, "invalid IPv4 address: %s", req->nets[i].ipv4);
        if (network_attach(eng, c, n, req->nets[i].aliases, ip, err) < 0)
            return -1;
        if (strcmp(n->name, mode) == 0 || strcmp(n->id, mode) == 0)
            mode_in_list = true;
    }
    if (mode_in_list)
        return 0;
    struct network *n = network_find(eng, mode, err);
    if (n == NULL)
        return -1;
    return network_attach(eng, c, n, NULL, 0, err);
}

int
engine_container_create(struct engine *eng, struct container_create *req, char id_out[ID_LEN + 1],
                        struct err **err)
{
    if (req->name != NULL && name_validate(req->name, err) < 0) {
        container_create_fini(req);
        return -1;
    }
    struct container *c = container_new();
    id_generate(c->id);
    c->created_ns = time_now_ns();
    c->spec = req->spec;
    memset(&req->spec, 0, sizeof(req->spec));
    c->api_doc = req->api_doc;
    c->api_doc_free = req->api_doc_free;
    req->api_doc = NULL;
    req->api_doc_free = NULL;
    if (c->spec.hostname == NULL || *c->spec.hostname == '\0') {
        free(c->spec.hostname);
        c->spec.hostname = xstrndup(c->id, SHORT_ID_LEN);
    }

    engine_lock(eng);
    struct image *img = store_find_image(&eng->store, c->spec.image ? c->spec.image : "", err);
    if (img == NULL) {
        engine_unlock(eng);
        container_unref(c);
        container_create_fini(req);
        return -1;
    }
    c->image_id = xstrdup(img->id);
    merge_image_config(&c->spec, img);
    add_image_volumes(req, img);
    set_command(c);
    c->driver = driver_chain_pick(eng->drivers, eng, c);
    if ((c->driver->validate != NULL && c->driver->validate(eng, c, err) < 0) ||
        attach_requested_networks(eng, c, req, err) < 0 ||
        volume_mount_all(eng, c, req->mounts, req->n_mounts, err) < 0) {
        engine_unlock(eng);
        container_unref(c);
        container_create_fini(req);
        return -1;
    }
    int rc = 0;
    if (req->name != NULL) {
        c->name = req->name[0] == '/' ? xstrdup(req->name) : xasprintf("/%s", req->name);
        rc = store_add_container(&eng->store, c, err);
    } else {
        for (unsigned attempt = 0;; attempt++) {
            char n[96];
            name_generate(n, sizeof(n), attempt / 4);
            free(c->name);
            c->name = xasprintf("/%s", n);
            if (map_get(&eng->store.names, c->name) == NULL)
                break;
        }
        rc = store_add_container(&eng->store, c, err);
    }
    if (rc == 0) {
        memcpy(id_out, c->id, ID_LEN + 1);
        emit(eng, c, "create", NULL);
        engine_notify_locked(eng);
    }
    engine_unlock(eng);
    container_unref(c);
    container_create_fini(req);
    return rc;
}

struct container *
engine_container_get(struct engine *eng, const char *ref, struct err **err)
{
    engine_lock(eng);
    struct container *c = store_find_container(&eng->store, ref, err);
    if (c != NULL)
        container_ref(c);
    engine_unlock(eng);
    return c;
}

uint64_t
engine_container_run(struct engine *eng, struct container *c)
{
    engine_lock(eng);
    uint64_t run = c->generation;
    engine_unlock(eng);
    return run;
}

static int remove_container(struct engine *eng, struct container *c, bool force,
                            bool remove_volumes, struct err **err);

/* Waits until no start of c runs, so that a stop, kill, pause or removal acts on its outcome
 * (a process, or none) rather than on a half-started container. Lock held. */
static void
wait_start_done_locked(struct engine *eng, struct container *c)
{
    while (c->starting)
        engine_cond_wait(eng, &eng->start_done, NULL);
}

/* Marks c running and asks its driver to start it. Lock not held. */
static int
start_locked_out(struct engine *eng, struct container *c, struct err **err)
{
    engine_lock(eng);
    if (c->removed) {
        engine_unlock(eng);
        return err_make(err, ERR_NOT_FOUND, 0, "No such container: %s", c->id);
    }
    if (c->removing) {
        engine_unlock(eng);
        return err_make(err, ERR_CONFLICT, 0,
                        "container is marked for removal and cannot be started");
    }
    if (container_is_running(c) && c->state.status != CONTAINER_RESTARTING) {
        engine_unlock(eng);
        return err_make(err, ERR_NOT_MODIFIED, 0, "container already started");
    }
    if (network_activate(eng, c, err) < 0) {
        engine_unlock(eng);
        return -1;
    }
    c->generation++;
    c->state.status = CONTAINER_RUNNING;
    c->state.started_ns = time_now_ns();
    c->state.exit_code = 0;
    c->state.stopped_by_user = false;
    free(c->state.error);
    c->state.error = NULL;
    logbuf_reopen(c->logs);
    health_start(eng, c);
    c->starting = true;
    engine_unlock(eng);

    int started = c->driver->start(eng, c, err);
    engine_lock(eng);
    c->starting = false;
    pthread_cond_broadcast(&eng->start_done);
    engine_unlock(eng);
    if (started < 0) {
        engine_lock(eng);
        c->state.status = CONTAINER_EXITED;
        c->state.error = xstrdup(*err ? (*err)->msg : "start failed");
        /* dockerd's codes for a command that cannot run: 127 not found, 126 not executable. */
        c->state.exit_code = 128;
        if (strstr(c->state.error, "executable file not found") != NULL ||
            strstr(c->state.error, "no such file or directory") != NULL)
            c->state.exit_code = 127;
        else if (strstr(c->state.error, "permission denied") != NULL)
            c->state.exit_code = 126;
        c->state.finished_ns = time_now_ns();
        c->state.pid = 0;
        c->generation++;
        network_deactivate(eng, c);
        /* No exit will be reported for this run: followers of the logs end here. */
        logbuf_close(c->logs);
        engine_notify_locked(eng);
        bool auto_remove = c->spec.auto_remove;
        engine_unlock(eng);
        if (auto_remove) { /* --rm: a container that could not start goes too, as in dockerd */
            struct err *rerr = NULL;
            if (remove_container(eng, c, true, true, &rerr) < 0) {
                LOG_WARN("auto-remove of %.12s failed: %s", c->id, rerr->msg);
                err_clear(&rerr);
            }
        }
        return -1;
    }
    engine_lock(eng);
    emit(eng, c, "start", NULL);
    engine_notify_locked(eng);
    engine_unlock(eng);
    return 0;
}

int
engine_container_start(struct engine *eng, const char *ref, struct err **err)
{
    struct container *c = engine_container_get(eng, ref, err);
    if (c == NULL)
        return -1;
    int rc = start_locked_out(eng, c, err);
    container_unref(c);
    return rc;
}

struct restart_job {
    struct engine *eng;
    struct container *c;
};

static void
restart_fire(void *arg)
{
    struct restart_job *j = arg;
    struct err *err = NULL;
    engine_lock(j->eng);
    bool go = !j->c->removed && j->c->state.status == CONTAINER_RESTARTING;
    engine_unlock(j->eng);
    if (go && start_locked_out(j->eng, j->c, &err) < 0) {
        LOG_WARN("restart of %.12s failed: %s", j->c->id, err ? err->msg : "?");
        err_clear(&err);
    }
}

static void
restart_free(void *arg)
{
    struct restart_job *j = arg;
    container_unref(j->c);
    free(j);
}

/* Whether the restart policy brings c back after an exit with code. Lock held. */
static bool
should_restart(const struct container *c, int code)
{
    const char *p = c->spec.restart_policy;
    if (p == NULL || c->state.stopped_by_user || c->removed)
        return false;
    if (strcmp(p, "always") == 0 || strcmp(p, "unless-stopped") == 0)
        return true;
    if (strcmp(p, "on-failure") == 0)
        return code != 0 && (c->spec.restart_max_retries <= 0 ||
                             c->state.restart_count < c->spec.restart_max_retries);
    return false;
}

void
engine_container_exited(struct engine *eng, struct container *c, uint64_t run, int code)
{
    engine_lock(eng);
    if (c->generation != run || !container_is_running(c) ||
        c->state.status == CONTAINER_RESTARTING) {
        engine_unlock(eng);
        return;
    }
    c->generation++;
    c->state.status = CONTAINER_EXITED;
    c->state.exit_code = code;
    c->state.finished_ns = time_now_ns();
    c->state.pid = 0;
    c->state.exits++;
    network_deactivate(eng, c);
    logbuf_close(c->logs);
    char code_s[16];
    snprintf(code_s, sizeof(code_s), "%d", code);
    emit(eng, c, "die", "exitCode", code_s, NULL);
    bool restart = should_restart(c, code);
    bool auto_remove = !restart && c->spec.auto_remove;
    if (restart) {
        c->state.status = CONTAINER_RESTARTING;
        c->state.restart_count++;
        struct restart_job *j = xcalloc(1, sizeof(*j));
        j->eng = eng;
        j->c = c;
        container_ref(c);
        timers_after(eng->timers, RESTART_DELAY_MS, restart_fire, j, restart_free);
    }
    engine_notify_locked(eng);
    engine_unlock(eng);
    if (auto_remove) {
        struct err *err = NULL;
        if (remove_container(eng, c, true, true, &err) < 0) {
            LOG_WARN("auto-remove of %.12s failed: %s", c->id, err->msg);
            err_clear(&err);
        }
    }
}

static int
stop_container(struct engine *eng, struct container *c, int timeout_s, bool by_user,
               struct err **err)
{
    engine_lock(eng);
    wait_start_done_locked(eng, c);
    if (!container_is_running(c)) {
        engine_unlock(eng);
        return err_make(err, ERR_NOT_MODIFIED, 0, "container already stopped");
    }
    if (by_user)
        c->state.stopped_by_user = true;
    if (c->state.status == CONTAINER_RESTARTING) {
        /* Nothing runs between two restarts: cancel the pending one by ending the run. */
        c->generation++;
        c->state.status = CONTAINER_EXITED;
        c->state.finished_ns = time_now_ns();
        network_deactivate(eng, c);
        engine_notify_locked(eng);
        engine_unlock(eng);
        return 0;
    }
    int sig = SIGTERM;
    if (c->spec.stop_signal != NULL && *c->spec.stop_signal != '\0' &&
        signal_parse(c->spec.stop_signal, &sig) < 0)
        sig = SIGTERM;
    if (timeout_s < 0)
        timeout_s = c->spec.stop_timeout >= 0 ? c->spec.stop_timeout : DEFAULT_STOP_TIMEOUT_S;
    engine_unlock(eng);
    if (c->driver->stop(eng, c, sig, timeout_s, err) < 0)
        return -1;
    engine_lock(eng);
    emit(eng, c, "stop", NULL);
    engine_unlock(eng);
    return 0;
}

int
engine_container_stop(struct engine *eng, const char *ref, int timeout_s, struct err **err)
{
    struct container *c = engine_container_get(eng, ref, err);
    if (c == NULL)
        return -1;
    int rc = stop_container(eng, c, timeout_s, true, err);
    container_unref(c);
    return rc;
}

int
engine_container_kill(struct engine *eng, const char *ref, int signal, struct err **err)
{
    struct container *c = engine_container_get(eng, ref, err);
    if (c == NULL)
        return err_wrap(err, "Cannot kill container: %s", ref);
    engine_lock(eng);
    wait_start_done_locked(eng, c);
    if (!container_is_running(c)) {
        engine_unlock(eng);
        container_unref(c);
        return err_make(err, ERR_CONFLICT, 0,
                        "Cannot kill container: %s: Container %s is not running", ref, c->id);
    }
    c->state.stopped_by_user = true;
    char sig_s[16];
    snprintf(sig_s, sizeof(sig_s), "%d", signal);
    emit(eng, c, "kill", "signal", sig_s, NULL);
    engine_unlock(eng);
    int rc = c->driver->kill(eng, c, signal, err);
    container_unref(c);
    return rc;
}

int
engine_container_restart(struct engine *eng, const char *ref, int timeout_s, struct err **err)
{
    struct container *c = engine_container_get(eng, ref, err);
    if (c == NULL)
        return -1;
    int rc = 0;
    struct err *stop_err = NULL;
    if (stop_container(eng, c, timeout_s, false, &stop_err) < 0 &&
        err_kind_of(&stop_err) != ERR_NOT_MODIFIED) {
        *err = stop_err;
        stop_err = NULL;
        rc = -1;
    }
    err_clear(&stop_err);
    if (rc == 0) /* RestartCount counts policy restarts only, as in dockerd */
        rc = start_locked_out(eng, c, err);
    if (rc == 0) {
        engine_lock(eng);
        emit(eng, c, "restart", NULL);
        engine_unlock(eng);
    }
    container_unref(c);
    return rc;
}

/* Removes the anonymous volumes c mounted that no other container uses. Lock held; c is
 * already out of the store. */
static void
remove_anonymous_volumes(struct engine *eng, struct container *c)
{
    for (size_t i = 0; i < c->n_mounts; i++) {
        if (c->mounts[i].name == NULL)
            continue;
        struct volume *v = map_get(&eng->volumes, c->mounts[i].name);
        struct err *err = NULL;
        if (v != NULL && v->anonymous && volume_remove(eng, v, &err) < 0) {
            LOG_DEBUG("keeping volume %s: %s", c->mounts[i].name, err->msg);
            err_clear(&err);
        }
    }
}

static int
remove_container(struct engine *eng, struct container *c, bool force, bool remove_volumes,
                 struct err **err)
{
    engine_lock(eng);
    wait_start_done_locked(eng, c);
    if (c->removed) {
        engine_unlock(eng);
        return 0;
    }
    if (c->removing) {
        engine_unlock(eng);
        return err_make(err, ERR_CONFLICT, 0, "removal of container %s is already in progress",
                        c->id);
    }
    bool running = container_is_running(c);
    if (running && !force) {
        engine_unlock(eng);
        return err_make(err, ERR_CONFLICT, 0,
                        "You cannot remove a running container %s. Stop the container before "
                        "attempting removal or force remove",
                        c->id);
    }
    c->state.stopped_by_user = true;
    c->removing = true; /* no start from here on: its process would outlive the container */
    engine_unlock(eng);
    if (running) {
        struct err *kerr = NULL;
        if (c->driver->kill(eng, c, SIGKILL, &kerr) < 0) {
            engine_lock(eng);
            c->removing = false;
            engine_unlock(eng);
            *err = kerr;
            return err_wrap(err, "could not kill running container %s, cannot remove", c->id);
        }
    }
    c->driver->cleanup(eng, c);
    engine_lock(eng);
    if (!c->removed) {
        c->state.status = CONTAINER_REMOVING;
        /* Its execs go with it. */
        size_t it = 0;
        const char *k;
        void *v;
        while (map_next(&eng->execs, &it, &k, &v)) {
            struct exec *e = v;
            if (e->c == c) {
                map_del(&eng->execs, k);
                exec_unref(e);
            }
        }
        emit(eng, c, "destroy", NULL);
        network_detach_all(eng, c);
        container_ref(c); /* store_remove_container drops the store's reference */
        store_remove_container(&eng->store, c);
        if (remove_volumes)
            remove_anonymous_volumes(eng, c);
        container_unref(c);
        c->generation++;
        engine_notify_locked(eng);
    }
    engine_unlock(eng);
    return 0;
}

int
engine_container_remove(struct engine *eng, const char *ref, bool force, bool remove_volumes,
                        struct err **err)
{
    struct container *c = engine_container_get(eng, ref, err);
    if (c == NULL)
        return -1;
    int rc = remove_container(eng, c, force, remove_volumes, err);
    container_unref(c);
    return rc;
}

static int
set_paused(struct engine *eng, const char *ref, bool pause, struct err **err)
{
    struct container *c = engine_container_get(eng, ref, err);
    if (c == NULL)
        return -1;
    engine_lock(eng);
    wait_start_done_locked(eng, c);
    int rc = 0;
    if (!pause && c->state.status != CONTAINER_PAUSED)
        rc = err_make(err, ERR_CONFLICT, 0, "Container %s is not paused", c->id);
    else if (!container_is_running(c))
        rc = err_make(err, ERR_CONFLICT, 0, "Container %s is not running", c->id);
    else if (pause && c->state.status == CONTAINER_PAUSED)
        rc = err_make(err, ERR_CONFLICT, 0, "Container %s is already paused", c->id);
    else if (!pause && c->state.status != CONTAINER_PAUSED)
        rc = err_make(err, ERR_CONFLICT, 0, "Container %s is not paused", c->id);
    engine_unlock(eng);
    if (rc == 0)
        rc = (pause ? c->driver->pause : c->driver->unpause)(eng, c, err);
    if (rc == 0) {
        engine_lock(eng);
        if (container_is_running(c)) {
            c->state.status = pause ? CONTAINER_PAUSED : CONTAINER_RUNNING;
            emit(eng, c, pause ? "pause" : "unpause", NULL);
            engine_notify_locked(eng);
        }
        engine_unlock(eng);
    }
    container_unref(c);
    return rc;
}

int
engine_container_pause(struct engine *eng, const char *ref, struct err **err)
{
    return set_paused(eng, ref, true, err);
}

int
engine_container_unpause(struct engine *eng, const char *ref, struct err **err)
{
    return set_paused(eng, ref, false, err);
}

int
engine_container_rename(struct engine *eng, const char *ref, const char *new_name, struct err **err)
{
    cleanup_free char *slashed =
        new_name[0] == '/' ? xstrdup(new_name) : xasprintf("/%s", new_name);
    if (name_validate(slashed, err) < 0)
        return err_wrap(err, "Error when allocating new name");
    engine_lock(eng);
    struct container *c = store_find_container(&eng->store, ref, err);
    int rc = -1;
    if (c != NULL && strcmp(c->name, slashed) == 0) {
        err_make(err, ERR_INVALID, 0,
                 "Renaming a container with the same name as its current name");
    } else if (c != NULL) {
        cleanup_free char *old = xstrdup(c->name + 1);
        rc = store_rename_container(&eng->store, c, slashed, err);
        if (rc < 0)
            err_wrap(err, "Error when allocating new name");
        else
            emit(eng, c, "rename", "oldName", old, NULL);
    }
    engine_unlock(eng);
    return rc;
}

void
network_event(struct engine *eng, const struct network *n, const char *action,
              const struct container *c)
{
    struct event *ev = event_new("network", action, n->id);
    if (c != NULL)
        event_add_attr(ev, "container", c->id);
    event_add_attr(ev, "name", n->name);
    event_add_attr(ev, "type", n->driver);
    events_publish(eng->events, ev);
}

int
engine_network_connect(struct engine *eng, const char *net_ref, const char *container_ref,
                       char *const *aliases, const char *ipv4, struct err **err)
{
    uint32_t ip = 0;
    if (ipv4 != NULL && *ipv4 != '\0' && !ipv4_parse(ipv4, &ip))
        return err_make(err, ERR_INVALID, 0, "invalid IPv4 address: %s", ipv4);
    engine_lock(eng);
    int rc = -1;
    struct network *n = network_find(eng, net_ref, err);
    struct container *c = n ? store_find_container(&eng->store, container_ref, err) : NULL;
    if (c != NULL && (rc = network_attach(eng, c, n, aliases, ip, err)) == 0) {
        network_event(eng, n, "connect", c);
        engine_notify_locked(eng);
    }
    engine_unlock(eng);
    return rc;
}

int
engine_network_disconnect(struct engine *eng, const char *net_ref, const char *container_ref,
                          bool force, struct err **err)
{
    (void)force; /* force matters for unreachable remote endpoints; none exist here */
    engine_lock(eng);
    int rc = -1;
    struct network *n = network_find(eng, net_ref, err);
    struct container *c = n ? store_find_container(&eng->store, container_ref, err) : NULL;
    if (c != NULL && (rc = network_detach(eng, c, n, err)) == 0) {
        network_event(eng, n, "disconnect", c);
        engine_notify_locked(eng);
    }
    engine_unlock(eng);
    return rc;
}

char *
engine_container_root(struct engine *eng, const char *ref, char id_out[ID_LEN + 1],
                      struct err **err)
{
    struct container *c = engine_container_get(eng, ref, err);
    if (c == NULL)
        return NULL;
    char *root = NULL;
    memcpy(id_out, c->id, ID_LEN + 1);
    if (c->driver->root_path == NULL)
        err_make(err, ERR_UNSUPPORTED, 0, "the %s driver has no filesystem access",
                 c->driver->name);
    else if (c->driver->root_path(eng, c, &root, err) < 0)
        root = NULL;
    container_unref(c);
    return root;
}

int
engine_container_set_restart(struct engine *eng, const char *ref, const char *policy,
                             int max_retries, struct err **err)
{
    engine_lock(eng);
    int rc = -1;
    struct container *c = store_find_container(&eng->store, ref, err);
    if (c != NULL && c->spec.auto_remove && strcmp(policy, "no") != 0) {
        err_make(
            err, ERR_CONFLICT, 0,
            "Restart policy cannot be updated because AutoRemove is enabled for the container");
    } else if (c != NULL) {
        free(c->spec.restart_policy);
        c->spec.restart_policy = xstrdup(policy);
        c->spec.restart_max_retries = max_retries;
        emit(eng, c, "update", NULL);
        rc = 0;
    }
    engine_unlock(eng);
    return rc;
}

void
engine_containers_shutdown(struct engine *eng)
{
    engine_lock(eng);
    size_t n = 0;
    struct container **all = store_list_containers(&eng->store, &n);
    for (size_t i = 0; i < n; i++) {
        container_ref(all[i]);
        all[i]->state.stopped_by_user = true; /* no restart policy while the daemon goes */
    }
    engine_unlock(eng);
    int64_t deadline = time_mono_ns() + (int64_t)DEFAULT_STOP_TIMEOUT_S * 1000000000;
    for (size_t i = 0; i < n; i++) {
        int64_t left_s = (deadline - time_mono_ns()) / 1000000000;
        struct err *err = NULL;
        if (stop_container(eng, all[i], left_s > 0 ? (int)left_s : 0, true, &err) < 0 &&
            err_kind_of(&err) != ERR_NOT_MODIFIED)
            LOG_WARN("stopping %.12s at shutdown: %s", all[i]->id, err->msg);
        err_clear(&err);
    }
    for (size_t i = 0; i < n; i++) {
        all[i]->driver->cleanup(eng, all[i]);
        container_unref(all[i]);
    }
    free(all);
}
