/*
 * registry_internal: what registry.c and registry_blob.c share: the session object and one
 * HTTP exchange with libcurl (registry.c). Not an API: include only from those two files.
 */
#ifndef SOCKERLESS_IMAGE_REGISTRY_INTERNAL_H
#define SOCKERLESS_IMAGE_REGISTRY_INTERNAL_H

#include "image/curl_dl.h"
#include "base/digest.h"
#include <pthread.h>
#include <stdatomic.h>

#include "base/buf.h"
#include "image/registry.h"
#include "image/www_auth.h"

struct registry {
    const struct registry_config *cfg;
    char *domain, *host, *repo;
    char *base;      /* "https://host" */
    bool tls_verify; /* false for an insecure registry */
    char **ca_files; /* the .crt files of certs.d/<host> */
    char *client_cert, *client_key;
    char **scopes; /* "repository:<repo>:pull[,push]" and mount sources; under lock */
    struct registry_auth auth;
    CURLSH *share; /* connections, DNS and TLS sessions shared by the session's transfers */
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t lock;
    struct www_auth challenge; /* the registry's, from the ping or a later 401; under lock */
    char *authz;               /* the Authorization header line, or NULL; under lock */
    unsigned authz_gen;        /* bumped whenever authz changes; under lock */
    atomic_bool cancelled;
};

/* One exchange. The caller fills the request part; reg_exchange fills the answer. */
struct reg_request {
    const char *method; /* "GET", "HEAD", "PUT", "POST", "PATCH" */
    char *url;          /* absolute; owned by the caller */
    const char *accept;
    const char *content_type;
    const char *range; /* "bytes=N-" or NULL */
    const void *body;  /* a body from memory, */
    size_t body_len;   /* */
    int body_fd;       /* or from this fd (pread from 0), or -1 */
    int64_t body_size; /* */
    bool has_body;     /* PUT/POST with a body (possibly empty) */
    bool follow;       /* follow redirects (blob GETs) */
    bool no_auth;      /* send no Authorization (token requests carry their own) */
    const char *basic_user, *basic_pass; /* Basic credentials for this request only */
    long timeout_s; /* whole exchange; 0: none, a stall of 60 s fails it instead */
    /* A 2xx body goes to out (capped by its buf), or to out_fd hashed into hash; other
     * bodies (errors) are kept in err_body. */
    struct buf *out;
    int out_fd; /* -1: none */
    struct digest_sha256 *hash;
    int64_t out_limit;   /* bytes accepted into out_fd (< 0: no limit) */
    int64_t out_written; /* bytes written to out_fd by this exchange */
    bool out_overflow;   /* the limit was passed (the transfer was stopped) */
    bool out_reset;      /* a Range request answered 200: out_fd restarted from 0 */
    int64_t out_base;    /* bytes already in out_fd before this exchange (Range) */
    registry_progress_fn progress;
    void *progress_ctx;
    int64_t progress_total;
    /* The answer. */
    long status;
    char *location, *content_type_out, *digest_header, *www_authenticate, *link, *content_range;
    int64_t content_length; /* -1: unknown */
    struct buf err_body;
    CURLcode code;
    char errbuf[CURL_ERROR_SIZE];
    int io_errno;       /* writing out_fd failed */
    unsigned authz_gen; /* the session's authz_gen when the request was sent */
};

void reg_request_init(struct reg_request *q, const char *method, char *url);
void reg_request_fini(struct reg_request *q);

/* One exchange with r's TLS settings and Authorization. -1 only when no HTTP answer came
 * (ERR_UNAVAILABLE with the transport's message, or the fd error); any status is 0. */
int reg_exchange(struct registry *r, struct reg_request *q, struct err **err);
/* reg_exchange, and on a 401 a fresh token (or Basic credentials) and one more try. */
int reg_do(struct registry *r, struct reg_request *q, struct err **err);
/* The error of a non-2xx answer in the registry's words (its JSON "errors", dockerd's form
 * "manifest unknown: manifest unknown"), with a kind from the status. Returns -1. */
int reg_status_error(const struct reg_request *q, struct err **err);
/* "<base>/v2/<repo>/<suffix>": a new string. */
char *reg_url(const struct registry *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* url resolved against r's endpoint when it is relative (a Location header). */
char *reg_resolve(const struct registry *r, const char *url);
/* Adds a scope to the session ("repository:x:pull"); a Bearer token is fetched again with it
 * at the next request. */
void reg_add_scope(struct registry *r, const char *scope);
/* Picks r's endpoint by pinging /v2/ (see registry.h); q (initialised here; the caller frees
 * q->url and finis it) holds the ping's answer. */
int reg_pick_endpoint(struct registry *r, struct reg_request *q, struct err **err);
/* Answers a 401 whose WWW-Authenticate is challenge (NULL: the session's): a new Bearer token
 * for the session's scopes, or Basic credentials. Nothing happens when the session's
 * Authorization changed since the request was sent (seen_gen): another transfer renewed it. */
int reg_authenticate(struct registry *r, const char *challenge, unsigned seen_gen,
                     struct err **err);
/* Reads certs.d/<host> into r's CA files and client certificate (registry_endpoint.c). */
void reg_load_certs_dir(struct registry *r);
/* A session not yet pinged (registry_open and registry_login). */
struct registry *reg_session_new(const struct registry_config *cfg, const char *domain,
                                 const char *repo, const struct registry_auth *auth);
/* Go's spelling of a method in its errors: "Get", "Head", "Put". */
void reg_go_method(const char *method, char out[8]);
/* True for transport failures worth another attempt (resets, timeouts, refused). */
bool reg_is_retryable(const struct reg_request *q);

#endif
