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

/*
 * A loader lists its library's functions as an X-macro, X(return type, name, parameters,
 * arguments, value when the library could not be loaded) and V(name, parameters, arguments) for
 * those returning nothing, and names its state `lib` (struct dl_lib), `L` (a struct of function
 * pointers) and `ready()` (dl_once's answer). Then DL_FIELD declares L's members, DL_SYM
 * resolves them (`true LIST(DL_SYM, DL_SYM_V)`), and DL_DEFINE defines each function of the
 * library's API as a call through L, or the failure value when the library is not there. The
 * compiler checks every definition against the library's own declaration.
 */
#define DL_FIELD(ret, name, params, args, fail) __typeof__(&name) name;
#define DL_FIELD_V(name, params, args) __typeof__(&name) name;
#define DL_SYM(ret, name, params, args, fail) &&dl_sym(&lib, #name, &L.name, sizeof(L.name))
#define DL_SYM_V(name, params, args) &&dl_sym(&lib, #name, &L.name, sizeof(L.name))
#define DL_DEFINE(ret, name, params, args, fail)                                                   \
    ret name params                                                                                \
    {                                                                                              \
        return ready() ? L.name args : fail;                                                       \
    }
#define DL_DEFINE_V(name, params, args)                                                            \
    void name params                                                                               \
    {                                                                                              \
        if (ready())                                                                               \
            L.name args;                                                                           \
    }

#endif
