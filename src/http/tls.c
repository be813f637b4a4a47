#include "http/tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/xalloc.h"
#include "http/tls_dl.h"

/* A PEM bundle of a few hundred certificates still fits; anything larger is not a PEM file. */
enum { TLS_FILE_MAX = 4 * 1024 * 1024 };

/* The whole file as a NUL-terminated string (libmicrohttpd takes PEM as C strings). */
static char *
read_pem(const char *what, const char *path, struct err **err)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return err_make(err, ERR_INVALID, errno, "%s %s: %s", what, path, strerror(errno)), NULL;
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > TLS_FILE_MAX) {
        fclose(f);
        return err_make(err, ERR_INVALID, 0, "%s %s: not a regular file of at most %d bytes", what,
                        path, TLS_FILE_MAX),
               NULL;
    }
    size_t len = (size_t)st.st_size;
    char *pem = xmalloc(len + 1);
    size_t got = fread(pem, 1, len, f);
    fclose(f);
    if (got != len) {
        free(pem);
        return err_make(err, ERR_INVALID, 0, "%s %s: short read", what, path), NULL;
    }
    pem[len] = '\0';
    if (strlen(pem) != len || strstr(pem, "-----BEGIN ") == NULL) {
        free(pem);
        return err_make(err, ERR_INVALID, 0, "%s %s: not a PEM file", what, path), NULL;
    }
    return pem;
}

static gnutls_datum_t
datum(const char *pem)
{
    return (gnutls_datum_t){.data = (unsigned char *)(uintptr_t)pem, .size = (unsigned)strlen(pem)};
}

/* The checks libmicrohttpd would otherwise only make at its start, with a vaguer message. */
static int
check_material(const struct http_tls *tls, const char *cert_path, const char *key_path,
               const char *ca_path, struct err **err)
{
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        return err_make(err, ERR_INTERNAL, 0, "TLS: cannot allocate credentials");
    int rc = 0;
    gnutls_datum_t cert = datum(tls->cert_pem), key = datum(tls->key_pem);
    int g = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    if (g < 0)
        rc = err_make(err, ERR_INVALID, 0, "TLS certificate %s and key %s: %s", cert_path, key_path,
                      gnutls_strerror(g));
    if (rc == 0 && tls->ca_pem != NULL) {
        gnutls_datum_t ca = datum(tls->ca_pem);
        g = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (g <= 0)
            rc = err_make(err, ERR_INVALID, 0, "TLS CA %s: %s", ca_path,
                          g < 0 ? gnutls_strerror(g) : "no certificate in the file");
    }
    gnutls_certificate_free_credentials(cred);
    return rc;
}

struct http_tls *
http_tls_load(const char *cert_path, const char *key_path, const char *ca_path, struct err **err)
{
    if (tls_dl_load(err) < 0)
        return NULL;
    struct http_tls *tls = xcalloc(1, sizeof(*tls));
    if ((tls->cert_pem = read_pem("TLS certificate", cert_path, err)) == NULL ||
        (tls->key_pem = read_pem("TLS key", key_path, err)) == NULL ||
        (ca_path != NULL && (tls->ca_pem = read_pem("TLS CA", ca_path, err)) == NULL) ||
        check_material(tls, cert_path, key_path, ca_path, err) < 0) {
        http_tls_free(tls);
        return NULL;
    }
    return tls;
}

void
http_tls_free(struct http_tls *tls)
{
    if (tls == NULL)
        return;
    free(tls->cert_pem);
    if (tls->key_pem != NULL)
        explicit_bzero(tls->key_pem, strlen(tls->key_pem));
    free(tls->key_pem);
    free(tls->ca_pem);
    free(tls);
}

bool
http_tls_verifies_clients(const struct http_tls *tls)
{
    return tls != NULL && tls->ca_pem != NULL;
}

void
http_tls_session_require_cert(void *session)
{
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(session, NULL, 0);
}

bool
http_tls_session_verified(void *session)
{
    unsigned status = 0;
    return gnutls_certificate_verify_peers2(session, &status) == 0 && status == 0;
}
