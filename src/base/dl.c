#include "base/dl.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

bool
dl_open(struct dl_lib *l)
{
    l->handle = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
    if (l->handle != NULL)
        return true;
    const char *why = dlerror();
    snprintf(l->error, sizeof(l->error), "cannot load %s: %s", l->soname,
             why ? why : "unknown error");
    return false;
}

bool
dl_sym(struct dl_lib *l, const char *name, void *fp, size_t size)
{
    void *p = dlsym(l->handle, name);
    if (p == NULL || size != sizeof(p)) {
        snprintf(l->error, sizeof(l->error), "%s has no %s", l->soname, name);
        return false;
    }
    memcpy(fp, &p, size);
    return true;
}

bool
dl_once(_Atomic int *state, pthread_mutex_t *lock, int (*load)(void))
{
    int s = atomic_load_explicit(state, memory_order_acquire);
    if (s == DL_UNTRIED) {
        pthread_mutex_lock(lock);
        s = atomic_load_explicit(state, memory_order_relaxed);
        if (s == DL_UNTRIED) {
            s = load();
            atomic_store_explicit(state, s, memory_order_release);
        }
        pthread_mutex_unlock(lock);
    }
    return s == DL_LOADED;
}
