#define CURL_DL_IMPL 1
#include "image/curl_dl.h"

#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/dl.h"

/* The entry points the registry client uses, resolved from the loaded library. */
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    char *(*easy_escape)(CURL *, const char *, int);
    void (*free)(void *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLSH *(*share_init)(void);
    CURLSHcode (*share_setopt)(CURLSH *, CURLSHoption, ...);
    CURLSHcode (*share_cleanup)(CURLSH *);
} L;
static bool loaded;
static struct dl_lib lib = {.soname = "libcurl.so.4"};
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

#define SYM(field, name) dl_sym(&lib, name, &L.field, sizeof(L.field))

static void
load(void)
{
    if (!dl_open(&lib))
        return;
    if (!(SYM(global_init, "curl_global_init") && SYM(easy_init, "curl_easy_init") &&
          SYM(easy_setopt, "curl_easy_setopt") && SYM(easy_perform, "curl_easy_perform") &&
          SYM(easy_getinfo, "curl_easy_getinfo") && SYM(easy_cleanup, "curl_easy_cleanup") &&
          SYM(easy_strerror, "curl_easy_strerror") && SYM(easy_escape, "curl_easy_escape") &&
          SYM(free, "curl_free") && SYM(slist_append, "curl_slist_append") &&
          SYM(slist_free_all, "curl_slist_free_all") && SYM(share_init, "curl_share_init") &&
          SYM(share_setopt, "curl_share_setopt") && SYM(share_cleanup, "curl_share_cleanup")))
        return; /* the library stays mapped: unloading what failed halfway gains nothing */
    if (L.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(lib.error, sizeof(lib.error), "curl_global_init failed");
        return;
    }
    loaded = true;
}

int
curl_dl_load(struct err **err)
{
    pthread_once(&load_once, load);
    if (!loaded)
        return err_make(err, ERR_UNSUPPORTED, 0, "registry client: %s", lib.error);
    return 0;
}

CURLcode
sl_curl_global_init(long flags)
{
    (void)flags; /* done by curl_dl_load */
    return curl_dl_load(NULL) == 0 ? CURLE_OK : CURLE_FAILED_INIT;
}

CURL *
sl_curl_easy_init(void)
{
    return loaded ? L.easy_init() : NULL;
}

/* libcurl reads an option's argument by the type its number encodes (curl.h's CURLOPTTYPE_*):
 * long below CURLOPTTYPE_OBJECTPOINT, curl_off_t from CURLOPTTYPE_OFF_T to CURLOPTTYPE_BLOB,
 * a pointer (object or function) otherwise. */
CURLcode
sl_curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
    if (!loaded || c == NULL)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, opt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        rc = L.easy_setopt(c, opt, va_arg(ap, long));
    else if (opt >= CURLOPTTYPE_OFF_T && opt < CURLOPTTYPE_BLOB)
        rc = L.easy_setopt(c, opt, va_arg(ap, curl_off_t));
    else
        rc = L.easy_setopt(c, opt, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLcode
sl_curl_easy_perform(CURL *c)
{
    return loaded && c != NULL ? L.easy_perform(c) : CURLE_FAILED_INIT;
}

/* Every CURLINFO takes a pointer to where the value goes. */
CURLcode
sl_curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
    if (!loaded || c == NULL)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = L.easy_getinfo(c, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

void
sl_curl_easy_cleanup(CURL *c)
{
    if (loaded && c != NULL)
        L.easy_cleanup(c);
}

const char *
sl_curl_easy_strerror(CURLcode code)
{
    return loaded ? L.easy_strerror(code) : lib.error;
}

char *
sl_curl_easy_escape(CURL *c, const char *s, int len)
{
    return loaded ? L.easy_escape(c, s, len) : NULL;
}

void
sl_curl_free(void *p)
{
    if (loaded && p != NULL)
        L.free(p);
}

struct curl_slist *
sl_curl_slist_append(struct curl_slist *l, const char *s)
{
    return loaded ? L.slist_append(l, s) : NULL;
}

void
sl_curl_slist_free_all(struct curl_slist *l)
{
    if (loaded && l != NULL)
        L.slist_free_all(l);
}

CURLSH *
sl_curl_share_init(void)
{
    return loaded ? L.share_init() : NULL;
}

/* CURLSHOPT_SHARE and CURLSHOPT_UNSHARE take an int (a curl_lock_data); the others a
 * pointer (a function or the user data). */
CURLSHcode
sl_curl_share_setopt(CURLSH *sh, CURLSHoption opt, ...)
{
    if (!loaded || sh == NULL)
        return CURLSHE_INVALID;
    va_list ap;
    va_start(ap, opt);
    CURLSHcode rc;
    if (opt == CURLSHOPT_SHARE || opt == CURLSHOPT_UNSHARE)
        rc = L.share_setopt(sh, opt, va_arg(ap, int));
    else
        rc = L.share_setopt(sh, opt, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLSHcode
sl_curl_share_cleanup(CURLSH *sh)
{
    return loaded && sh != NULL ? L.share_cleanup(sh) : CURLSHE_OK;
}
