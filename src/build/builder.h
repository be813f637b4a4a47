/*
 * builder: docker build's classic builder (POST /build without BuildKit). It runs a parsed
 * Dockerfile against an extracted build context: every step makes an image, RUN runs in a
 * container of the driver chain (a real process with the process driver; the synthetic driver's
 * documented answers otherwise), COPY and ADD write into a container's root, and the container's
 * changes become the step's layer through the engine's commit. Output is the JSON stream dockerd
 * sends: "Step i/n : ...", " ---> <id>", the RUN output (stderr in red as dockerd marks it),
 * "Successfully built", "Successfully tagged". docs/internals/build.md explains it.
 */
#ifndef SOCKERLESS_BUILD_BUILDER_H
#define SOCKERLESS_BUILD_BUILDER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/labels.h"

struct engine;
struct dockerfile;

/* The build's options (POST /build's query), owned by the caller. */
struct build_opts {
    char **tags;          /* t: references to tag the result with (NULL-ended, may be NULL) */
    struct labels args;   /* buildargs: a NULL value is an unset argument */
    struct labels labels; /* labels: set on the final image */
    char *target;         /* the stage to stop at (its name), or NULL: the last */
    bool quiet;           /* q: only the image ID */
    bool nocache;         /* nocache: no step is taken from the build cache */
    bool rm, forcerm;     /* remove intermediate containers (after success; also on failure) */
    char *network_mode;   /* for RUN containers, or NULL */
    char **extra_hosts;   /* for RUN containers */
    int64_t memory, memory_swap, shm_size, cpu_shares, cpu_quota, cpu_period;
    char *cpuset_cpus, *cpuset_mems;
};

/* Where the build's JSON stream goes: one message at a time; -1 when the client is gone (the
 * build then stops). cancel_fd (-1: none) is polled while a RUN runs: POLLERR or POLLHUP on it
 * means the client left, and the RUN's container is killed and removed as dockerd does when a
 * build is cancelled (the write end of a pipe whose reader is the response stream does that). */
struct build_out {
    void *ctx;
    int (*stream)(void *ctx, const char *text); /* {"stream": text} */
    int (*aux_id)(void *ctx, const char *id);   /* {"aux": {"ID": id}} */
    int cancel_fd;
};

/*
 * Builds df in context_dir (the extracted, .dockerignore-filtered context). id_out gets the
 * final image's ID and the tags are applied. On failure *err says why in dockerd's words
 * ("The command '/bin/sh -c false' returned a non-zero code: 1", with *exit_code set to the
 * command's code, else 0) and the stream has everything up to the failing step.
 */
int build_run(struct engine *eng, const struct build_opts *o, const struct dockerfile *df,
              const char *context_dir, const struct build_out *out, char id_out[72], int *exit_code,
              struct err **err);

#endif
