/* The engine tests' shared fixture: an engine with the synthetic driver on a temporary data
 * root, with a synthetic "busybox" image. Included by one test file per binary. */
#ifndef SOCKERLESS_TESTS_ENGINE_FIXTURE_H
#define SOCKERLESS_TESTS_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "driver/driver.h"
#include "engine/engine.h"

static const struct driver *const chain[] = {&driver_synthetic, NULL};
static char root[64];
static struct engine *eng;

static int
setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/sockerless-engine-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    eng = engine_new(root, chain, NULL);
    bool created;
    return eng && engine_image_pull_synthetic(eng, "busybox", &created, NULL) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    engine_free(eng);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    return system(cmd);
}

#endif
