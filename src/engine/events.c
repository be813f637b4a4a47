#include "engine/events.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "base/xalloc.h"

struct events_sub {
    struct events *bus;
    struct events_sub *next;
    uint64_t next_seq; /* the sequence number of the next event to hand out */
    int efd;
};

struct events {
    pthread_mutex_t lock;
    struct event **ring;
    size_t capacity;
    uint64_t next_seq; /* sequence number the next published event gets; starts at 1 */
    struct events_sub *subs;
    size_t n_subs;
    bool closed;
};

const char *const events_filter_keys[] = {"config", "container", "daemon", "event",  "image",
                                          "label",  "network",   "node",   "plugin", "scope",
                                          "secret", "service",   "type",   "volume", NULL};

struct event *
event_new(const char *type, const char *action, const char *actor_id)
{
    struct event *ev = xcalloc(1, sizeof(*ev));
    ev->type = xstrdup(type);
    ev->action = xstrdup(action);
    ev->actor_id = xstrdup(actor_id ? actor_id : "");
    ev->scope = xstrdup("local");
    ev->refs = 1;
    return ev;
}

void
event_add_attr(struct event *ev, const char *key, const char *value)
{
    ev->attr_keys = xrealloc(ev->attr_keys, (ev->n_attrs + 1) * sizeof(char *));
    ev->attr_values = xrealloc(ev->attr_values, (ev->n_attrs + 1) * sizeof(char *));
    ev->attr_keys[ev->n_attrs] = xstrdup(key);
    ev->attr_values[ev->n_attrs] = xstrdup(value ? value : "");
    ev->n_attrs++;
}

const char *
event_attr(const struct event *ev, const char *key)
{
    for (size_t i = 0; i < ev->n_attrs; i++)
        if (strcmp(ev->attr_keys[i], key) == 0)
            return ev->attr_values[i];
    return NULL;
}

void
event_ref(struct event *ev)
{
    __atomic_add_fetch(&ev->refs, 1, __ATOMIC_RELAXED);
}

void
event_unref(struct event *ev)
{
    if (ev == NULL || __atomic_sub_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (size_t i = 0; i < ev->n_attrs; i++) {
        free(ev->attr_keys[i]);
        free(ev->attr_values[i]);
    }
    free(ev->attr_keys);
    free(ev->attr_values);
    free(ev->type);
    free(ev->action);
    free(ev->actor_id);
    free(ev->scope);
    free(ev);
}

/* Matches the actor of an event of type `type` against filter key `type` by ID or name, as
 * Docker does for container, network, volume and the swarm object filters. */
static bool
match_actor(const struct event *ev, const struct filters *f, const char *type)
{
    if (!filters_has(f, type))
        return true;
    if (strcmp(ev->type, type) != 0)
        return false;
    return filters_fuzzy_match(f, type, ev->actor_id) ||
           filters_fuzzy_match(f, type, event_attr(ev, "name"));
}

static bool
match_image(const struct event *ev, const struct filters *f)
{
    if (!filters_has(f, "image"))
        return true;
    const char *image = strcmp(ev->type, "image") == 0 ? ev->actor_id : event_attr(ev, "image");
    if (image == NULL)
        return false;
    if (filters_exact_match(f, "image", image) ||
        (strcmp(ev->type, "image") == 0 && filters_exact_match(f, "image", event_attr(ev, "name"))))
        return true;
    /* "busybox" matches "busybox:latest": compare without the tag as well. */
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(slash ? slash : image, ':');
    if (colon == NULL)
        return false;
    char *bare = xstrndup(image, (size_t)(colon - image));
    bool ok = filters_exact_match(f, "image", bare);
    free(bare);
    return ok;
}

static bool
match_action(const struct event *ev, const struct filters *f)
{
    if (filters_exact_match(f, "event", ev->action))
        return true;
    /* "health_status: healthy" and "exec_start: sh" also match their bare action. */
    const char *colon = strchr(ev->action, ':');
    if (colon == NULL)
        return false;
    char *bare = xstrndup(ev->action, (size_t)(colon - ev->action));
    bool ok = filters_exact_match(f, "event", bare);
    free(bare);
    return ok;
}

bool
event_matches(const struct event *ev, const struct filters *f)
{
    if (f == NULL || f->n_keys == 0)
        return true;
    static const char *const actor_types[] = {"container", "network", "volume", "plugin", "node",
                                              "service",   "secret",  "config", "daemon"};
    if (!filters_exact_match(f, "type", ev->type) || !filters_exact_match(f, "scope", ev->scope) ||
        !match_action(ev, f) || !match_image(ev, f))
        return false;
    for (size_t i = 0; i < sizeof(actor_types) / sizeof(actor_types[0]); i++)
        if (!match_actor(ev, f, actor_types[i]))
            return false;
    return filters_match_labels(f, "label", (const char *const *)ev->attr_keys,
                                (const char *const *)ev->attr_values, ev->n_attrs);
}

struct events *
events_new(size_t capacity)
{
    struct events *bus = xcalloc(1, sizeof(*bus));
    pthread_mutex_init(&bus->lock, NULL);
    bus->capacity = capacity ? capacity : 1;
    bus->ring = xcalloc(bus->capacity, sizeof(*bus->ring));
    bus->next_seq = 1;
    return bus;
}

void
events_free(struct events *bus)
{
    if (bus == NULL)
        return;
    for (size_t i = 0; i < bus->capacity; i++)
        event_unref(bus->ring[i]);
    free(bus->ring);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

static void
sub_wake(struct events_sub *sub)
{
    uint64_t one = 1;
    /* A full counter (EAGAIN) already means "readable": nothing is lost. */
    ssize_t n = write(sub->efd, &one, sizeof(one));
    (void)n;
}

/* The oldest sequence number still in the ring. Lock held. */
static uint64_t
oldest_seq(const struct events *bus)
{
    uint64_t published = bus->next_seq - 1;
    return published >= bus->capacity ? published - bus->capacity + 1 : 1;
}

void
events_publish(struct events *bus, struct event *ev)
{
    pthread_mutex_lock(&bus->lock);
    if (bus->closed) {
        pthread_mutex_unlock(&bus->lock);
        event_unref(ev);
        return;
    }
    ev->time_ns = time_now_ns();
    ev->seq = bus->next_seq++;
    struct event **slot = &bus->ring[ev->seq % bus->capacity];
    struct event *old = *slot;
    *slot = ev;
    for (struct events_sub *s = bus->subs; s != NULL; s = s->next)
        sub_wake(s);
    pthread_mutex_unlock(&bus->lock);
    event_unref(old);
}

void
events_close(struct events *bus)
{
    pthread_mutex_lock(&bus->lock);
    bus->closed = true;
    for (struct events_sub *s = bus->subs; s != NULL; s = s->next)
        sub_wake(s);
    pthread_mutex_unlock(&bus->lock);
}

size_t
events_subscriber_count(struct events *bus)
{
    pthread_mutex_lock(&bus->lock);
    size_t n = bus->n_subs;
    pthread_mutex_unlock(&bus->lock);
    return n;
}

struct events_sub *
events_subscribe(struct events *bus, int64_t since_ns)
{
    struct events_sub *sub = xcalloc(1, sizeof(*sub));
    sub->bus = bus;
    sub->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sub->efd < 0) {
        free(sub);
        return NULL;
    }
    pthread_mutex_lock(&bus->lock);
    sub->next_seq = bus->next_seq;
    if (since_ns >= 0) {
        for (uint64_t s = oldest_seq(bus); s < bus->next_seq; s++) {
            if (bus->ring[s % bus->capacity]->time_ns >= since_ns) {
                sub->next_seq = s;
                break;
            }
        }
    }
    sub->next = bus->subs;
    bus->subs = sub;
    bus->n_subs++;
    if (sub->next_seq < bus->next_seq || bus->closed)
        sub_wake(sub);
    pthread_mutex_unlock(&bus->lock);
    return sub;
}

void
events_unsubscribe(struct events_sub *sub)
{
    if (sub == NULL)
        return;
    struct events *bus = sub->bus;
    pthread_mutex_lock(&bus->lock);
    for (struct events_sub **p = &bus->subs; *p != NULL; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            bus->n_subs--;
            break;
        }
    }
    pthread_mutex_unlock(&bus->lock);
    close(sub->efd);
    free(sub);
}

int
events_sub_fd(const struct events_sub *sub)
{
    return sub->efd;
}

struct event *
events_sub_next(struct events_sub *sub)
{
    struct events *bus = sub->bus;
    uint64_t drained;
    ssize_t n = read(sub->efd, &drained, sizeof(drained));
    (void)n;
    struct event *ev = NULL;
    pthread_mutex_lock(&bus->lock);
    uint64_t oldest = oldest_seq(bus);
    if (sub->next_seq < oldest)
        sub->next_seq = oldest; /* fell a whole ring behind: the gap is lost */
    if (sub->next_seq < bus->next_seq) {
        ev = bus->ring[sub->next_seq % bus->capacity];
        event_ref(ev);
        sub->next_seq++;
        if (sub->next_seq < bus->next_seq)
            sub_wake(sub); /* more are waiting: keep the fd readable */
    }
    pthread_mutex_unlock(&bus->lock);
    return ev;
}

bool
events_sub_closed(struct events_sub *sub)
{
    pthread_mutex_lock(&sub->bus->lock);
    bool closed = sub->bus->closed;
    pthread_mutex_unlock(&sub->bus->lock);
    return closed;
}
