/*
 * engine: the daemon's state and the operations on it, independent of HTTP.
 *
 * It owns the event bus, the credential store, the host facts and the data
 * root. The object store (containers, images, networks, volumes, execs) and
 * the driver chain join it with the core API work; until then the counts
 * below stay at zero because nothing can create an object yet.
 */
#ifndef SOCKERLESS_ENGINE_ENGINE_H
#define SOCKERLESS_ENGINE_ENGINE_H

#include <pthread.h>
#include <stdint.h>

#include "base/err.h"
#include "base/hostinfo.h"
#include "engine/creds.h"
#include "engine/events.h"

struct engine_counts {
    int containers, running, paused, stopped, images;
};

struct engine {
    pthread_mutex_t lock; /* the one engine lock: short updates only, never across I/O */
    struct events *events;
    struct creds *creds;
    struct hostinfo host;
    char *data_root;
    char id[64]; /* the engine's persistent ID (a UUID kept in <data-root>/engine-id) */
    int64_t started_ns;
    struct engine_counts counts; /* maintained by the state transitions, under lock */
};

/* Creates the data root (mode 0711) if needed, reads or creates its engine-id, reads the host
 * facts. Errors: ERR_INTERNAL with errno when the data root is unusable. */
struct engine *engine_new(const char *data_root, struct err **err);
void engine_free(struct engine *eng);
/* Stops what runs in the engine before the daemon exits: ends every event subscription. */
void engine_shutdown(struct engine *eng);
void engine_get_counts(struct engine *eng, struct engine_counts *out);

#endif
