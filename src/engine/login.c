/* docker login: the credentials checked against the registry, then kept for its pulls and
 * pushes (engine/creds.h). */
#include <stdlib.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "engine/distribution.h"
#include "engine/engine.h"

int
engine_registry_login(struct engine *eng, const char *server, const char *username,
                      const char *password, const char *identity_token, char **token_out,
                      struct err **err)
{
    struct registry_auth auth = {
        .username = (char *)username,
        .password = (char *)password,
        .identity_token = (char *)identity_token,
    };
    char *token = NULL;
    struct err *e = NULL;
    if (registry_login(eng->registries, server && *server ? server : "docker.io", &auth, &token,
                       &e) < 0) {
        if (!(eng->synthetic_pulls && e->kind == ERR_UNAVAILABLE)) {
            if (err != NULL)
                *err = e;
            else
                err_clear(&e);
            return -1;
        }
        /* No registry to ask, and offline work is allowed: kept unchecked, as the seed did. */
        LOG_INFO("login to %s: the registry cannot be reached (%s): credentials stored unchecked",
                 server, e->msg);
        err_clear(&e);
    }
    creds_put(eng->creds, server, username, password, token ? token : identity_token);
    if (token_out != NULL)
        *token_out = token;
    else
        free(token);
    return 0;
}
