#include "image/image.h"

#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/xalloc.h"

struct image *
image_new(void)
{
    struct image *img = xcalloc(1, sizeof(*img));
    img->refs = 1;
    img->tags = xcalloc(1, sizeof(char *));
    img->os = xstrdup("linux");
    return img;
}

void
image_ref(struct image *img)
{
    __atomic_add_fetch(&img->refs, 1, __ATOMIC_RELAXED);
}

void
image_config_fini(struct image_config *c)
{
    strv_free(c->env);
    strv_free(c->cmd);
    strv_free(c->entrypoint);
    free(c->working_dir);
    free(c->user);
    free(c->stop_signal);
    labels_fini(&c->labels);
    strv_free(c->exposed_ports);
    memset(c, 0, sizeof(*c));
}

void
image_unref(struct image *img)
{
    if (img == NULL || __atomic_sub_fetch(&img->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    strv_free(img->tags);
    for (size_t i = 0; i < img->n_history; i++) {
        free(img->history[i].created_by);
        free(img->history[i].comment);
    }
    free(img->history);
    free(img->os);
    free(img->arch);
    image_config_fini(&img->config);
    free(img);
}
