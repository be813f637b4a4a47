/* Helpers for the tests that drive a real sockerless-agent through agent_client. */
#ifndef SOCKERLESS_TESTS_AGENT_HARNESS_H
#define SOCKERLESS_TESTS_AGENT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agentproto/agent_client.h"

struct harness {
    char dir[256];   /* a temporary directory: sockets, token, root */
    char sock[300];  /* unix:... the agent listens on or calls back to */
    char token[300]; /* the token file */
    pid_t agent;
};

/* Makes the directory and the token file ("secret-token"). */
void harness_init(struct harness *h);
/* Starts the agent with extra (NULL-ended) options before "--" and cmd after it. */
pid_t harness_spawn(struct harness *h, const char *const *extra, const char *const *cmd);
/* Waits up to ms for a path to exist. */
bool harness_wait_path(const char *path, int ms);
/* Kills (SIGKILL) and reaps the agent, removes the directory. */
void harness_fini(struct harness *h);
/* Forward mode: an agent listening on h->sock, connected with token (NULL: the right one). */
struct agent_client *harness_connect(struct harness *h, const char *token, int hb_timeout_ms,
                                     struct err **err);
/* Runs argv through x, stdin from in (may be NULL); collects stdout and stderr (malloc'd). */
int harness_exec(struct agent_client *c, const char *const *argv, bool tty, const char *in,
                 char **out, char **errout, struct err **err);
/* The VmHWM of pid in KiB. */
long harness_vmhwm_kb(pid_t pid);

#endif
