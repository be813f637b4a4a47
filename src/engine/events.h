/*
 * events: the engine's event bus behind GET /events.
 *
 * Every state change publishes an event. The bus keeps the most recent ones
 * in a ring (for `since` replay) and wakes each subscriber through its own
 * eventfd, so a stream handler can wait for events and for its client's
 * hang-up in one poll(). Publishing never blocks on a subscriber: a slow one
 * that falls a whole ring behind skips to the oldest event still kept.
 *
 * Events are immutable once published and reference counted: a subscriber
 * holds its own reference while encoding one, outside the bus lock.
 */
#ifndef SOCKERLESS_ENGINE_EVENTS_H
#define SOCKERLESS_ENGINE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/filters.h"

struct event {
    char *type;   /* container, image, network, volume, daemon, ... */
    char *action; /* create, start, die, health_status: healthy, ... */
    char *actor_id;
    char *scope; /* "local" */
    char **attr_keys;
    char **attr_values;
    size_t n_attrs;
    int64_t time_ns; /* set by events_publish */
    uint64_t seq;    /* set by events_publish */
    int refs;
};

struct events;
struct events_sub;

/* A new unpublished event with one reference. */
struct event *event_new(const char *type, const char *action, const char *actor_id);
/* Adds an actor attribute (copied). Only before publishing. */
void event_add_attr(struct event *ev, const char *key, const char *value);
/* The value of attribute key, borrowed, or NULL. */
const char *event_attr(const struct event *ev, const char *key);
void event_ref(struct event *ev);
void event_unref(struct event *ev);
/* Docker's event filter semantics (daemon/events/filter.go): type, event, container, image,
 * label, network, volume, daemon, scope, plugin, node, service, secret, config. */
bool event_matches(const struct event *ev, const struct filters *f);
/* The filter keys /events accepts, NULL-ended. */
extern const char *const events_filter_keys[];

/* A bus that keeps the last `capacity` events. */
struct events *events_new(size_t capacity);
void events_free(struct events *bus);
/* Stamps time and sequence on ev, keeps it, and wakes subscribers. Consumes the caller's
 * reference. After events_close the event is dropped. */
void events_publish(struct events *bus, struct event *ev);
/* Ends every subscription: subscribers see events_sub_closed() and their fd becomes readable. */
void events_close(struct events *bus);
size_t events_subscriber_count(struct events *bus);

/* Subscribes. With since_ns >= 0 the subscriber first gets the kept events at or after that
 * time; with since_ns < 0 only events published from now on. */
struct events_sub *events_subscribe(struct events *bus, int64_t since_ns);
void events_unsubscribe(struct events_sub *sub);
/* An fd (eventfd) that is readable when new events, or the close, may have arrived. Owned by
 * the subscription. */
int events_sub_fd(const struct events_sub *sub);
/* The next event (a new reference the caller unrefs), or NULL when none is waiting. */
struct event *events_sub_next(struct events_sub *sub);
bool events_sub_closed(struct events_sub *sub);

#endif
