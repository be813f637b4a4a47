/*
 * dl: what the loaders of libraries the daemon maps at their first use share (libcurl:
 * image/curl_dl.c, GnuTLS: http/tls_dl.c, OpenSSL: base/ossl_dl.c): opening the library,
 * resolving its functions with the reason of a failure kept, and loading once under a lock.
 */
#ifndef SOCKERLESS_BASE_DL_H
#define SOCKERLESS_BASE_DL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct dl_lib {
    const char *soname;
    void *handle;    /* once opened; it stays mapped (unloading it gains nothing) */
    char error[256]; /* why opening or resolving failed, for the callers' messages */
};

/* dlopen(l->soname) with RTLD_NOW | RTLD_LOCAL; false with "cannot load <soname>: <why>". */
bool dl_open(struct dl_lib *l);

/* The address of function name into the function pointer at fp, of size bytes (POSIX gives
 * the object pointer dlsym returns the bits of the function pointer); false with
 * "<soname> has no <name>". */
bool dl_sym(struct dl_lib *l, const char *name, void *fp, size_t size);

enum dl_state { DL_UNTRIED, DL_LOADED, DL_FAILED };

/* Whether the library is loaded: the first caller runs load() (which returns DL_LOADED or
 * DL_FAILED) with lock held, later callers read the result without the lock. */
bool dl_once(_Atomic int *state, pthread_mutex_t *lock, int (*load)(void));

#endif
