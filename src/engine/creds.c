#include "engine/creds.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct creds {
    pthread_mutex_t lock;
    struct cred *items;
    size_t n;
};

struct creds *
creds_new(void)
{
    struct creds *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void
cred_fini(struct cred *cred)
{
    /* Credentials are secrets: wipe before freeing. */
    char *fields[] = {cred->server, cred->username, cred->password, cred->identity_token};
    for (size_t i = 0; i < 4; i++) {
        if (fields[i] != NULL)
            explicit_bzero(fields[i], strlen(fields[i]));
        free(fields[i]);
    }
    memset(cred, 0, sizeof(*cred));
}

void
creds_free(struct creds *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        cred_fini(&c->items[i]);
    free(c->items);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

char *
creds_normalize_server(const char *server)
{
    const char *s = server ? server : "";
    if (strncmp(s, "https://", 8) == 0)
        s += 8;
    else if (strncmp(s, "http://", 7) == 0)
        s += 7;
    size_t n = strcspn(s, "/");
    char *host = xstrndup(s, n);
    if (*host == '\0' || strcmp(host, "index.docker.io") == 0 ||
        strcmp(host, "registry-1.docker.io") == 0) {
        free(host);
        host = xstrdup("docker.io");
    }
    return host;
}

void
creds_put(struct creds *c, const char *server, const char *username, const char *password,
          const char *identity_token)
{
    char *key = creds_normalize_server(server);
    pthread_mutex_lock(&c->lock);
    struct cred *slot = NULL;
    for (size_t i = 0; i < c->n && slot == NULL; i++)
        if (strcmp(c->items[i].server, key) == 0)
            slot = &c->items[i];
    if (slot == NULL) {
        c->items = xrealloc(c->items, (c->n + 1) * sizeof(*c->items));
        slot = &c->items[c->n++];
    } else {
        cred_fini(slot);
    }
    slot->server = key;
    slot->username = xstrdup(username ? username : "");
    slot->password = xstrdup(password ? password : "");
    slot->identity_token = xstrdup(identity_token ? identity_token : "");
    pthread_mutex_unlock(&c->lock);
}

bool
creds_get(struct creds *c, const char *server, struct cred *out)
{
    char *key = creds_normalize_server(server);
    bool found = false;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n && !found; i++) {
        if (strcmp(c->items[i].server, key) == 0) {
            out->server = xstrdup(c->items[i].server);
            out->username = xstrdup(c->items[i].username);
            out->password = xstrdup(c->items[i].password);
            out->identity_token = xstrdup(c->items[i].identity_token);
            found = true;
        }
    }
    pthread_mutex_unlock(&c->lock);
    free(key);
    return found;
}
