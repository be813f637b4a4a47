/*
 * backend: a backend is what serves the API behind the core handlers: a name and /info
 * descriptor, the drivers it enables, and (with the core API work) a table of overrides for
 * the overridable handlers. The default handlers are the core's; query handlers are never
 * overridden.
 */
#ifndef SOCKERLESS_BACKEND_BACKEND_H
#define SOCKERLESS_BACKEND_BACKEND_H

struct driver;

struct backend {
    const char *name;                    /* "local" */
    const struct driver *const *drivers; /* the chain, NULL-ended, asked in order */
    const char *storage_driver;          /* Info.Driver */
    const char *logging_driver;          /* Info.LoggingDriver */
};

/* The backend for this machine: containers run here. */
extern const struct backend backend_local;
/* Every container synthetic, whatever the machine can run (--driver synthetic): dry runs. */
extern const struct backend backend_synthetic;

#endif
