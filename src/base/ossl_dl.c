#include "base/ossl_dl.h"

#ifdef SOCKERLESS_OSSL_DL

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/dl.h"

#define OSSL_DL_SONAME "libssl.so.3"

/* X(return type, name, parameters, arguments, value when OpenSSL could not be loaded);
 * V(name, parameters, arguments) for those returning nothing. The compiler checks each
 * definition against OpenSSL's declaration. */
#define OSSL_DL_FUNCTIONS(X, V)                                                                    \
    X(int, CRYPTO_memcmp, (const void *a, const void *b, size_t len), (a, b, len), 1)              \
    V(ERR_clear_error, (void), ())                                                                 \
    V(ERR_error_string_n, (unsigned long e, char *buf, size_t len), (e, buf, len))                 \
    X(unsigned long, ERR_get_error, (void), (), 0)                                                 \
    X(int, EVP_DecodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n), -1)      \
    X(int, EVP_Digest,                                                                             \
      (const void *data, size_t count, unsigned char *md, unsigned *size, const EVP_MD *type,      \
       ENGINE *impl),                                                                              \
      (data, count, md, size, type, impl), 0)                                                      \
    X(int, EVP_DigestFinal_ex, (EVP_MD_CTX * ctx, unsigned char *md, unsigned *s), (ctx, md, s),   \
      0)                                                                                           \
    X(int, EVP_DigestInit_ex, (EVP_MD_CTX * ctx, const EVP_MD *type, ENGINE *impl),                \
      (ctx, type, impl), 0)                                                                        \
    X(int, EVP_DigestUpdate, (EVP_MD_CTX * ctx, const void *d, size_t cnt), (ctx, d, cnt), 0)      \
    X(int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n), 0)       \
    V(EVP_MD_CTX_free, (EVP_MD_CTX * ctx), (ctx))                                                  \
    X(EVP_MD_CTX *, EVP_MD_CTX_new, (void), (), NULL)                                              \
    X(const EVP_MD *, EVP_sha256, (void), (), NULL)                                                \
    X(int, RAND_bytes, (unsigned char *buf, int num), (buf, num), 0)                               \
    X(int, SSL_CTX_check_private_key, (const SSL_CTX *ctx), (ctx), 0)                              \
    X(long, SSL_CTX_ctrl, (SSL_CTX * ctx, int cmd, long larg, void *parg), (ctx, cmd, larg, parg), \
      0)                                                                                           \
    V(SSL_CTX_free, (SSL_CTX * ctx), (ctx))                                                        \
    X(X509_STORE *, SSL_CTX_get_cert_store, (const SSL_CTX *ctx), (ctx), NULL)                     \
    X(int, SSL_CTX_load_verify_locations, (SSL_CTX * ctx, const char *file, const char *path),     \
      (ctx, file, path), 0)                                                                        \
    X(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *meth), (meth), NULL)                              \
    V(SSL_CTX_set_verify, (SSL_CTX * ctx, int mode, SSL_verify_cb cb), (ctx, mode, cb))            \
    X(int, SSL_CTX_use_PrivateKey_file, (SSL_CTX * ctx, const char *file, int type),               \
      (ctx, file, type), 0)                                                                        \
    X(int, SSL_CTX_use_certificate_chain_file, (SSL_CTX * ctx, const char *file), (ctx, file), 0)  \
    X(int, SSL_accept, (SSL * ssl), (ssl), -1)                                                     \
    X(int, SSL_connect, (SSL * ssl), (ssl), -1)                                                    \
    X(long, SSL_ctrl, (SSL * ssl, int cmd, long larg, void *parg), (ssl, cmd, larg, parg), 0)      \
    V(SSL_free, (SSL * ssl), (ssl))                                                                \
    X(X509_VERIFY_PARAM *, SSL_get0_param, (SSL * ssl), (ssl), NULL)                               \
    X(int, SSL_get_error, (const SSL *s, int ret), (s, ret), SSL_ERROR_SSL)                        \
    X(long, SSL_get_verify_result, (const SSL *ssl), (ssl), X509_V_ERR_UNSPECIFIED)                \
    X(SSL *, SSL_new, (SSL_CTX * ctx), (ctx), NULL)                                                \
    X(int, SSL_pending, (const SSL *s), (s), 0)                                                    \
    X(int, SSL_read_ex, (SSL * ssl, void *buf, size_t num, size_t *got), (ssl, buf, num, got), 0)  \
    X(int, SSL_set_fd, (SSL * s, int fd), (s, fd), 0)                                              \
    X(int, SSL_shutdown, (SSL * s), (s), -1)                                                       \
    X(int, SSL_write_ex, (SSL * s, const void *buf, size_t num, size_t *written),                  \
      (s, buf, num, written), 0)                                                                   \
    X(const SSL_METHOD *, TLS_client_method, (void), (), NULL)                                     \
    X(const SSL_METHOD *, TLS_server_method, (void), (), NULL)                                     \
    X(int, X509_STORE_load_file, (X509_STORE * ctx, const char *file), (ctx, file), 0)             \
    X(int, X509_VERIFY_PARAM_set1_host, (X509_VERIFY_PARAM * p, const char *name, size_t len),     \
      (p, name, len), 0)                                                                           \
    X(int, X509_VERIFY_PARAM_set1_ip_asc, (X509_VERIFY_PARAM * p, const char *ip), (p, ip), 0)     \
    V(X509_VERIFY_PARAM_set_hostflags, (X509_VERIFY_PARAM * p, unsigned flags), (p, flags))        \
    X(const char *, X509_verify_cert_error_string, (long n), (n), lib.error)

/* The loaded libraries' entry points. */
static struct {
    OSSL_DL_FUNCTIONS(DL_FIELD, DL_FIELD_V)
    __typeof__(&OPENSSL_cleanse) OPENSSL_cleanse;
} L;

/* dlsym on libssl's handle finds libcrypto's functions too (a dependency of the handle). */
static struct dl_lib lib = {.soname = OSSL_DL_SONAME};
static _Atomic int state = DL_UNTRIED;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Under lock, once. */
static int
load(void)
{
    if (!dl_open(&lib) ||
        !(true OSSL_DL_FUNCTIONS(DL_SYM, DL_SYM_V) &&
          dl_sym(&lib, "OPENSSL_cleanse", &L.OPENSSL_cleanse, sizeof(L.OPENSSL_cleanse))))
        return DL_FAILED;
    return DL_LOADED;
}

static bool
ready(void)
{
    return dl_once(&state, &lock, load);
}

int
ossl_dl_load(struct err **err)
{
    if (!ready())
        return err_make(err, ERR_UNSUPPORTED, 0, "OpenSSL: %s", lib.error);
    return 0;
}

/* Secrets are wiped whether or not OpenSSL could be loaded. */
void
OPENSSL_cleanse(void *ptr, size_t len)
{
    if (ready())
        L.OPENSSL_cleanse(ptr, len);
    else
        explicit_bzero(ptr, len);
}

OSSL_DL_FUNCTIONS(DL_DEFINE, DL_DEFINE_V)

#else /* OpenSSL is linked */

int
ossl_dl_load(struct err **err)
{
    (void)err;
    return 0;
}

#endif
