/*
 * curl_dl: libcurl loaded with dlopen at the first registry session instead of linked, so a
 * daemon that never reaches a registry never maps libcurl and its ~20 libraries (TLS, Kerberos,
 * LDAP, SSH, ...): they were most of its idle RSS and start-up time (bench/README.md).
 *
 * The registry client includes this header instead of <curl/curl.h>: libcurl's names below
 * become wrappers that call into the loaded library. Before curl_dl_load succeeded, the
 * constructors fail (curl_easy_init, curl_share_init and curl_easy_escape return NULL,
 * curl_slist_append too) and the rest do nothing, so a session without libcurl fails cleanly.
 */
#ifndef SOCKERLESS_IMAGE_CURL_DL_H
#define SOCKERLESS_IMAGE_CURL_DL_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "base/err.h"

/* Loads libcurl and calls curl_global_init, once; ERR_UNSUPPORTED when it cannot. */
int curl_dl_load(struct err **err);

CURLcode sl_curl_global_init(long flags);
CURL *sl_curl_easy_init(void);
CURLcode sl_curl_easy_setopt(CURL *c, CURLoption opt, ...);
CURLcode sl_curl_easy_perform(CURL *c);
CURLcode sl_curl_easy_getinfo(CURL *c, CURLINFO info, ...);
void sl_curl_easy_cleanup(CURL *c);
const char *sl_curl_easy_strerror(CURLcode code);
char *sl_curl_easy_escape(CURL *c, const char *s, int len);
void sl_curl_free(void *p);
struct curl_slist *sl_curl_slist_append(struct curl_slist *l, const char *s);
void sl_curl_slist_free_all(struct curl_slist *l);
CURLSH *sl_curl_share_init(void);
CURLSHcode sl_curl_share_setopt(CURLSH *sh, CURLSHoption opt, ...);
CURLSHcode sl_curl_share_cleanup(CURLSH *sh);

#ifndef CURL_DL_IMPL
/* curl.h defines these three as macros of themselves */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt
#define curl_global_init sl_curl_global_init
#define curl_easy_init sl_curl_easy_init
#define curl_easy_setopt sl_curl_easy_setopt
#define curl_easy_perform sl_curl_easy_perform
#define curl_easy_getinfo sl_curl_easy_getinfo
#define curl_easy_cleanup sl_curl_easy_cleanup
#define curl_easy_strerror sl_curl_easy_strerror
#define curl_easy_escape sl_curl_easy_escape
#define curl_free sl_curl_free
#define curl_slist_append sl_curl_slist_append
#define curl_slist_free_all sl_curl_slist_free_all
#define curl_share_init sl_curl_share_init
#define curl_share_setopt sl_curl_share_setopt
#define curl_share_cleanup sl_curl_share_cleanup
#endif

#endif
