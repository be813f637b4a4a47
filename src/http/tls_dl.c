#include "http/tls_dl.h"

#ifdef SOCKERLESS_TLS_DL

#include <dlfcn.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dl.h"

/* The GnuTLS library of Debian 12 (GnuTLS 3.7), the soname libmicrohttpd 0.9.75 was built with. */
#define TLS_DL_SONAME "libgnutls.so.30"

/*
 * Every function libmicrohttpd's archive and http/tls.c call, but gnutls_global_init and
 * gnutls_global_deinit (below): X(return type, name, parameters, arguments, value when GnuTLS
 * could not be loaded), V(name, parameters, arguments) for those returning nothing. The
 * compiler checks each definition against GnuTLS's own declaration.
 */
#define TLS_DL_FUNCTIONS(X, V)                                                                     \
    X(int, gnutls_alpn_set_protocols,                                                              \
      (gnutls_session_t s, const gnutls_datum_t *protocols, unsigned n, unsigned flags),           \
      (s, protocols, n, flags), GNUTLS_E_INTERNAL_ERROR)                                           \
    X(int, gnutls_bye, (gnutls_session_t s, gnutls_close_request_t how), (s, how),                 \
      GNUTLS_E_INTERNAL_ERROR)                                                                     \
    X(int, gnutls_certificate_allocate_credentials, (gnutls_certificate_credentials_t * res),      \
      (res), GNUTLS_E_INTERNAL_ERROR)                                                              \
    V(gnutls_certificate_free_credentials, (gnutls_certificate_credentials_t sc), (sc))            \
    V(gnutls_certificate_server_set_request,                                                       \
      (gnutls_session_t s, gnutls_certificate_request_t req), (s, req))                            \
    V(gnutls_certificate_set_dh_params,                                                            \
      (gnutls_certificate_credentials_t res, gnutls_dh_params_t dh), (res, dh))                    \
    V(gnutls_certificate_set_retrieve_function2,                                                   \
      (gnutls_certificate_credentials_t cred, gnutls_certificate_retrieve_function2 * func),       \
      (cred, func))                                                                                \
    V(gnutls_certificate_set_retrieve_function3,                                                   \
      (gnutls_certificate_credentials_t cred, gnutls_certificate_retrieve_function3 * func),       \
      (cred, func))                                                                                \
    X(int, gnutls_certificate_set_x509_key_mem,                                                    \
      (gnutls_certificate_credentials_t res, const gnutls_datum_t *cert,                           \
       const gnutls_datum_t *key, gnutls_x509_crt_fmt_t type),                                     \
      (res, cert, key, type), GNUTLS_E_INTERNAL_ERROR)                                             \
    X(int, gnutls_certificate_set_x509_key_mem2,                                                   \
      (gnutls_certificate_credentials_t res, const gnutls_datum_t *cert,                           \
       const gnutls_datum_t *key, gnutls_x509_crt_fmt_t type, const char *pass, unsigned flags),   \
      (res, cert, key, type, pass, flags), GNUTLS_E_INTERNAL_ERROR)                                \
    X(int, gnutls_certificate_set_x509_trust_mem,                                                  \
      (gnutls_certificate_credentials_t res, const gnutls_datum_t *ca,                             \
       gnutls_x509_crt_fmt_t type),                                                                \
      (res, ca, type), GNUTLS_E_INTERNAL_ERROR)                                                    \
    X(int, gnutls_certificate_verify_peers2, (gnutls_session_t s, unsigned *status), (s, status),  \
      GNUTLS_E_INTERNAL_ERROR)                                                                     \
    X(gnutls_cipher_algorithm_t, gnutls_cipher_get, (gnutls_session_t s), (s),                     \
      GNUTLS_CIPHER_UNKNOWN)                                                                       \
    X(int, gnutls_credentials_set,                                                                 \
      (gnutls_session_t s, gnutls_credentials_type_t type, void *cred), (s, type, cred),           \
      GNUTLS_E_INTERNAL_ERROR)                                                                     \
    V(gnutls_deinit, (gnutls_session_t s), (s))                                                    \
    V(gnutls_dh_params_deinit, (gnutls_dh_params_t dh), (dh))                                      \
    X(int, gnutls_dh_params_import_pkcs3,                                                          \
      (gnutls_dh_params_t dh, const gnutls_datum_t *pkcs3, gnutls_x509_crt_fmt_t format),          \
      (dh, pkcs3, format), GNUTLS_E_INTERNAL_ERROR)                                                \
    X(int, gnutls_dh_params_init, (gnutls_dh_params_t * dh), (dh), GNUTLS_E_INTERNAL_ERROR)        \
    X(int, gnutls_handshake, (gnutls_session_t s), (s), GNUTLS_E_INTERNAL_ERROR)                   \
    X(int, gnutls_init, (gnutls_session_t * s, unsigned flags), (s, flags),                        \
      GNUTLS_E_INTERNAL_ERROR)                                                                     \
    V(gnutls_priority_deinit, (gnutls_priority_t p), (p))                                          \
    X(int, gnutls_priority_init,                                                                   \
      (gnutls_priority_t * p, const char *priorities, const char **err_pos),                       \
      (p, priorities, err_pos), GNUTLS_E_INTERNAL_ERROR)                                           \
    X(int, gnutls_priority_set, (gnutls_session_t s, gnutls_priority_t p), (s, p),                 \
      GNUTLS_E_INTERNAL_ERROR)                                                                     \
    X(gnutls_protocol_t, gnutls_protocol_get_version, (gnutls_session_t s), (s),                   \
      GNUTLS_VERSION_UNKNOWN)                                                                      \
    X(int, gnutls_psk_allocate_server_credentials, (gnutls_psk_server_credentials_t * sc), (sc),   \
      GNUTLS_E_INTERNAL_ERROR)                                                                     \
    V(gnutls_psk_free_server_credentials, (gnutls_psk_server_credentials_t sc), (sc))              \
    V(gnutls_psk_set_server_credentials_function,                                                  \
      (gnutls_psk_server_credentials_t sc, gnutls_psk_server_credentials_function * func),         \
      (sc, func))                                                                                  \
    X(size_t, gnutls_record_check_pending, (gnutls_session_t s), (s), 0)                           \
    X(int, gnutls_record_get_direction, (gnutls_session_t s), (s), 0)                              \
    X(ssize_t, gnutls_record_recv, (gnutls_session_t s, void *data, size_t size), (s, data, size), \
      GNUTLS_E_INTERNAL_ERROR)                                                                     \
    X(ssize_t, gnutls_record_send, (gnutls_session_t s, const void *data, size_t size),            \
      (s, data, size), GNUTLS_E_INTERNAL_ERROR)                                                    \
    X(void *, gnutls_session_get_ptr, (gnutls_session_t s), (s), NULL)                             \
    V(gnutls_session_set_ptr, (gnutls_session_t s, void *ptr), (s, ptr))                           \
    V(gnutls_session_set_verify_cert, (gnutls_session_t s, const char *host, unsigned flags),      \
      (s, host, flags))                                                                            \
    X(const char *, gnutls_strerror, (int error), (error), lib.error)                              \
    V(gnutls_transport_set_int2, (gnutls_session_t s, int r, int w), (s, r, w))

/* The loaded library's entry points. */
static struct {
    TLS_DL_FUNCTIONS(DL_FIELD, DL_FIELD_V)
    __typeof__(&gnutls_global_init) gnutls_global_init;
    __typeof__(&gnutls_global_deinit) gnutls_global_deinit;
} L;

/* GnuTLS's allocator, which libmicrohttpd uses for the PSK keys GnuTLS frees: malloc, as in
 * GnuTLS, until the load copies the library's own. */
gnutls_alloc_function gnutls_malloc = malloc;

static struct dl_lib lib = {.soname = TLS_DL_SONAME};
static _Atomic int state = DL_UNTRIED;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned deferred_inits; /* gnutls_global_init calls made before the load; under lock */

/* Under lock, once. */
static int
load(void)
{
    if (!dl_open(&lib))
        return DL_FAILED;
    gnutls_alloc_function *alloc = dlsym(lib.handle, "gnutls_malloc");
    if (!(true TLS_DL_FUNCTIONS(DL_SYM, DL_SYM_V) &&
          dl_sym(&lib, "gnutls_global_init", &L.gnutls_global_init, sizeof(L.gnutls_global_init)) &&
          dl_sym(&lib, "gnutls_global_deinit", &L.gnutls_global_deinit,
                 sizeof(L.gnutls_global_deinit))))
        return DL_FAILED;
    if (alloc != NULL)
        gnutls_malloc = *alloc;
    /* The library's constructor initialised it; the calls made before keep their count, so
     * that the matching gnutls_global_deinit calls leave the constructor's reference. */
    for (; deferred_inits > 0; deferred_inits--)
        if (L.gnutls_global_init() < 0) {
            snprintf(lib.error, sizeof(lib.error), "gnutls_global_init failed");
            return DL_FAILED;
        }
    return DL_LOADED;
}

static bool
ready(void)
{
    return dl_once(&state, &lock, load);
}

int
tls_dl_load(struct err **err)
{
    if (!ready())
        return err_make(err, ERR_UNSUPPORTED, 0, "TLS: %s", lib.error);
    return 0;
}

int
gnutls_global_init(void)
{
    pthread_mutex_lock(&lock);
    if (atomic_load_explicit(&state, memory_order_relaxed) == DL_UNTRIED) {
        deferred_inits++;
        pthread_mutex_unlock(&lock);
        return 0;
    }
    pthread_mutex_unlock(&lock);
    return ready() ? L.gnutls_global_init() : GNUTLS_E_INTERNAL_ERROR;
}

void
gnutls_global_deinit(void)
{
    pthread_mutex_lock(&lock);
    if (atomic_load_explicit(&state, memory_order_relaxed) == DL_UNTRIED) {
        if (deferred_inits > 0)
            deferred_inits--;
        pthread_mutex_unlock(&lock);
        return;
    }
    pthread_mutex_unlock(&lock);
    if (ready())
        L.gnutls_global_deinit();
}

TLS_DL_FUNCTIONS(DL_DEFINE, DL_DEFINE_V)

#else /* GnuTLS is linked */

int
tls_dl_load(struct err **err)
{
    (void)err;
    return 0;
}

#endif
