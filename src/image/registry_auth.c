/* Registry authentication: Bearer tokens from the challenge's realm (the distribution spec's
 * token authentication, and its OAuth2 refresh-token form), Basic credentials, and the
 * credential check of `docker login`. Tokens and credentials are never logged. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/xalloc.h"
#include "image/registry_internal.h"

enum { TOKEN_BODY_MAX = 1 << 20, TOKEN_TIMEOUT_S = 120 };

struct token {
    char *token;   /* the access token */
    char *refresh; /* an OAuth2 refresh token (a login's identity token), or NULL */
};

static bool
empty(const char *s)
{
    return s == NULL || *s == '\0';
}

static void
append_param(char **query, const char *name, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    char *next = xasprintf("%s%s%s=%s", *query, **query ? "&" : "", name, esc ? esc : "");
    curl_free(esc);
    free(*query);
    *query = next;
}

/* The realm's answer: {"token": ...} or {"access_token": ...}, maybe a "refresh_token". */
static int
read_token(const struct buf *body, struct token *out, struct err **err)
{
    json_t *root = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    const char *tok = json_string_value(json_object_get(root, "token"));
    if (empty(tok))
        tok = json_string_value(json_object_get(root, "access_token"));
    const char *refresh = json_string_value(json_object_get(root, "refresh_token"));
    int rc = 0;
    if (empty(tok))
        rc = err_make(err, ERR_INVALID, 0, "the token server's answer has no token");
    else {
        out->token = xstrdup(tok);
        out->refresh = empty(refresh) ? NULL : xstrdup(refresh);
    }
    json_decref(root);
    return rc;
}

/*
 * A token from the realm of challenge ch for scopes: with an identity token, the OAuth2
 * refresh-token grant (POST); otherwise a GET with the username and password as Basic
 * credentials (anonymous without them). offline asks for a refresh token (logins).
 */
static int
fetch_token(struct registry *r, const struct www_auth *ch, char *const *scopes, bool offline,
            struct token *out, struct err **err)
{
    memset(out, 0, sizeof(*out));
    if (!empty(r->auth.registry_token)) {
        out->token = xstrdup(r->auth.registry_token);
        return 0;
    }
    if (ch->realm == NULL ||
        (strncmp(ch->realm, "https://", 8) != 0 && strncmp(ch->realm, "http://", 7) != 0))
        return err_make(err, ERR_INVALID, 0,
                        "the registry's token realm is not an HTTP URL: %.200s",
                        ch->realm ? ch->realm : "(none)");
    char *query = xstrdup("");
    bool refresh = !empty(r->auth.identity_token);
    if (ch->service != NULL)
        append_param(&query, "service", ch->service);
    cleanup_free char *joined = strv_join(scopes, " ");
    for (size_t i = 0; !refresh && scopes != NULL && scopes[i] != NULL; i++)
        append_param(&query, "scope", scopes[i]);
    if (refresh) {
        if (*joined)
            append_param(&query, "scope", joined);
        append_param(&query, "grant_type", "refresh_token");
        append_param(&query, "refresh_token", r->auth.identity_token);
        append_param(&query, "client_id", "docker");
    } else {
        if (!empty(r->auth.username))
            append_param(&query, "account", r->auth.username);
        if (offline) {
            append_param(&query, "offline_token", "true");
            append_param(&query, "client_id", "docker");
        }
    }
    struct buf body;
    buf_init(&body, TOKEN_BODY_MAX);
    struct reg_request q;
    char *url = refresh ? xstrdup(ch->realm)
                        : xasprintf("%s%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?", query);
    reg_request_init(&q, refresh ? "POST" : "GET", url);
    q.no_auth = true;
    q.timeout_s = TOKEN_TIMEOUT_S;
    q.out = &body;
    if (refresh) {
        q.body = query;
        q.body_len = strlen(query);
        q.has_body = true;
        q.content_type = "application/x-www-form-urlencoded";
    } else if (!empty(r->auth.username)) {
        q.basic_user = r->auth.username;
        q.basic_pass = r->auth.password;
    }
    int rc = reg_exchange(r, &q, err);
    if (rc == 0 && q.status != 200)
        rc = reg_status_error(&q, err);
    if (rc == 0)
        rc = read_token(&body, out, err);
    buf_fini(&body);
    reg_request_fini(&q);
    free(url);
    free(query);
    return rc;
}

static char *
basic_header(const char *user, const char *pass)
{
    cleanup_free char *plain = xasprintf("%s:%s", user, pass ? pass : "");
    size_t n = strlen(plain);
    char *enc = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain, (int)n);
    char *line = xasprintf("Authorization: Basic %s", enc);
    free(enc);
    return line;
}

static void
challenge_copy(const struct www_auth *src, struct www_auth *dst)
{
    dst->scheme = src->scheme;
    dst->realm = src->realm ? xstrdup(src->realm) : NULL;
    dst->service = src->service ? xstrdup(src->service) : NULL;
    dst->scope = src->scope ? xstrdup(src->scope) : NULL;
}

int
reg_authenticate(struct registry *r, const char *challenge, unsigned seen_gen, struct err **err)
{
    struct www_auth parsed;
    bool have = challenge != NULL && www_auth_parse(challenge, &parsed);
    pthread_mutex_lock(&r->lock);
    if (r->authz_gen != seen_gen && r->authz != NULL) {
        pthread_mutex_unlock(&r->lock); /* another transfer renewed it meanwhile */
        if (have)
            www_auth_fini(&parsed);
        return 0;
    }
    if (have) {
        www_auth_fini(&r->challenge);
        r->challenge = parsed;
    }
    struct www_auth ch;
    challenge_copy(&r->challenge, &ch);
    char **scopes = strv_dup(r->scopes);
    pthread_mutex_unlock(&r->lock);

    char *authz = NULL;
    int rc = 0;
    if (ch.scheme == WWW_AUTH_BEARER) {
        struct token t;
        rc = fetch_token(r, &ch, scopes, false, &t, err);
        if (rc == 0) {
            authz = xasprintf("Authorization: Bearer %s", t.token);
            free(t.token);
            free(t.refresh);
        }
    } else if (ch.scheme == WWW_AUTH_BASIC && !empty(r->auth.username)) {
        authz = basic_header(r->auth.username, r->auth.password);
    }
    www_auth_fini(&ch);
    strv_free(scopes);
    if (rc < 0)
        return -1;
    pthread_mutex_lock(&r->lock);
    free(r->authz);
    r->authz = authz;
    r->authz_gen++;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* ---- docker login ---- */

/* A login's server ("https://index.docker.io/v1/", "127.0.0.1:5000", "http://host/") as a
 * reference domain: no scheme, no path; Docker Hub's names are "docker.io". New string. */
static char *
login_domain(const char *server)
{
    const char *s = server;
    if (strncmp(s, "https://", 8) == 0)
        s += 8;
    else if (strncmp(s, "http://", 7) == 0)
        s += 7;
    size_t n = strcspn(s, "/");
    char *d = xstrndup(s, n);
    if (*d == '\0' || strcmp(d, "index.docker.io") == 0 || strcmp(d, "registry-1.docker.io") == 0) {
        free(d);
        d = xstrdup("docker.io");
    }
    return d;
}

static const char *
reason_phrase(long status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}

/* GET /v2/ with the session's Authorization (set by the caller): 200 is a login. */
static int
check_v2(struct registry *r, struct err **err)
{
    struct reg_request q;
    reg_request_init(&q, "GET", xasprintf("%s/v2/", r->base));
    q.timeout_s = TOKEN_TIMEOUT_S;
    int rc = reg_exchange(r, &q, err);
    if (rc == 0 && q.status != 200)
        rc = err_make(err, ERR_FORBIDDEN, 0, "login attempt to %s failed with status: %ld %s",
                      q.url, q.status, reason_phrase(q.status));
    free(q.url);
    reg_request_fini(&q);
    return rc;
}

int
registry_login(const struct registry_config *cfg, const char *server,
               const struct registry_auth *auth, char **identity_token, struct err **err)
{
    cleanup_free char *domain = login_domain(server);
    struct registry *r = reg_session_new(cfg, domain, NULL, auth);
    struct reg_request q;
    int rc = reg_pick_endpoint(r, &q, err);
    char *refresh = NULL;
    struct www_auth ch = {0};
    if (rc == 0 && q.status == 401 && www_auth_parse(q.www_authenticate, &ch) &&
        ch.scheme == WWW_AUTH_BEARER) {
        struct token t;
        rc = fetch_token(r, &ch, NULL, true, &t, err);
        if (rc < 0) {
            err_wrap(err, "Get \"%s/v2/\"", r->base);
        } else {
            r->authz = xasprintf("Authorization: Bearer %s", t.token);
            refresh = t.refresh;
            free(t.token);
            rc = check_v2(r, err);
        }
    } else if (rc == 0 && q.status == 401) {
        if (!empty(r->auth.username))
            r->authz = basic_header(r->auth.username, r->auth.password);
        rc = check_v2(r, err);
    } else if (rc == 0 && q.status != 200) {
        rc = err_make(err, ERR_FORBIDDEN, 0, "login attempt to %s failed with status: %ld %s",
                      q.url, q.status, reason_phrase(q.status));
    }
    www_auth_fini(&ch);
    free(q.url);
    reg_request_fini(&q);
    registry_close(r);
    if (rc < 0) {
        free(refresh);
        return -1;
    }
    if (identity_token != NULL)
        *identity_token = refresh;
    else
        free(refresh);
    return 0;
}
