/*
 * images_internal: what the image operations share across engine/images.c, pull.c and
 * push.c: the checks and clean-ups around adding an image whose files were stored without
 * the engine lock (docs/internals/image-store.md, "Removal and concurrency"). Engine only.
 */
#ifndef SOCKERLESS_ENGINE_IMAGES_INTERNAL_H
#define SOCKERLESS_ENGINE_IMAGES_INTERNAL_H

#include <stdbool.h>

#include "engine/engine.h"

/* Takes the layers of diff_ids that no image in the store uses out of the layer store; the
 * caller purges the layer store after dropping the lock. Lock held. */
void engine_unlink_unused_layers_locked(struct engine *eng, char *const *diff_ids);
/* True when img's config blob and layers are all in the layer store. Lock held. */
bool engine_image_complete_locked(struct engine *eng, const struct image *img);

#endif
