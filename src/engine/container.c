#include "engine/container.h"

#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "engine/network.h"
#include "engine/volume.h"

struct container *
container_new(void)
{
    struct container *c = xcalloc(1, sizeof(*c));
    c->refs = 1;
    c->spec.stop_timeout = -1;
    c->logs = logbuf_new(16 * 1024 * 1024);
    logbuf_close(c->logs); /* nothing will be written before the first start */
    return c;
}

void
container_ref(struct container *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void
container_spec_fini(struct container_spec *s)
{
    free(s->image);
    free(s->hostname);
    free(s->domainname);
    free(s->user);
    free(s->working_dir);
    free(s->stop_signal);
    strv_free(s->env);
    strv_free(s->cmd);
    strv_free(s->entrypoint);
    labels_fini(&s->labels);
    strv_free(s->exposed_ports);
    health_config_fini(&s->health);
    free(s->restart_policy);
    free(s->network_mode);
    strv_free(s->cap_add);
    strv_free(s->cap_drop);
    strv_free(s->group_add);
    strv_free(s->extra_hosts);
    strv_free(s->dns);
    strv_free(s->dns_search);
    strv_free(s->dns_options);
    labels_fini(&s->sysctls);
    labels_fini(&s->tmpfs);
    for (size_t i = 0; i < s->n_ulimits; i++)
        free(s->ulimits[i].name);
    free(s->ulimits);
    for (size_t i = 0; i < s->n_devices; i++) {
        free(s->devices[i].path_on_host);
        free(s->devices[i].path_in_container);
        free(s->devices[i].permissions);
    }
    free(s->devices);
    strv_free(s->masked_paths);
    strv_free(s->readonly_paths);
    free(s->pid_mode);
    free(s->ipc_mode);
    free(s->cgroupns_mode);
    free(s->cgroup_parent);
    free(s->cpuset_cpus);
    free(s->cpuset_mems);
    for (size_t i = 0; i < s->n_blkio; i++)
        free(s->blkio[i].path);
    free(s->blkio);
    strv_free(s->device_cgroup_rules);
    labels_fini(&s->annotations);
    free(s->runtime);
    strv_free(s->unsupported);
    memset(s, 0, sizeof(*s));
}

void
container_unref(struct container *c)
{
    if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    if (c->api_doc_free != NULL)
        c->api_doc_free(c->api_doc);
    free(c->name);
    free(c->image_id);
    free(c->path);
    strv_free(c->args);
    container_spec_fini(&c->spec);
    for (size_t i = 0; i < c->n_nets; i++)
        strv_free(c->nets[i].aliases);
    free(c->nets);
    mounts_free(c->mounts, c->n_mounts);
    free(c->state.error);
    health_state_fini(&c->state.health);
    logbuf_free(c->logs);
    free(c);
}

const char *
container_status_name(enum container_status s)
{
    static const char *const names[] = {"created",  "running", "paused", "restarting",
                                        "removing", "exited",  "dead"};
    return names[s];
}

bool
container_is_running(const struct container *c)
{
    return c->state.status == CONTAINER_RUNNING || c->state.status == CONTAINER_PAUSED ||
           c->state.status == CONTAINER_RESTARTING;
}

const char *
container_short_id(const struct container *c, char out[SHORT_ID_LEN + 1])
{
    memcpy(out, c->id, SHORT_ID_LEN);
    out[SHORT_ID_LEN] = '\0';
    return out;
}
