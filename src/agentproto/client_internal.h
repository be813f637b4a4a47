/*
 * The state agent_client.c (connection, I/O and delivery threads) shares with
 * agent_client_ops.c (the operations). Everything here is guarded by agent_client.mu.
 */
#ifndef SOCKERLESS_AGENTPROTO_CLIENT_INTERNAL_H
#define SOCKERLESS_AGENTPROTO_CLIENT_INTERNAL_H

#include <pthread.h>

#include "agentproto/agent_client.h"
#include "agentproto/wire.h"

struct chunk {
    struct chunk *next;
    int stream;
    size_t len;
    char data[];
};

struct csess {
    uint32_t id;
    struct csess *next;
    struct chunk *head, *tail; /* data from the agent, within recv_window */
    int64_t recv_window;       /* bytes the agent may still send */
    int64_t send_credit;       /* bytes we may still send */
    json_t *reply, *end;       /* REPLY and END payloads (owned) */
    struct err *error;         /* the session's ERROR */
    bool got_reply, ended, cancelled;
    pthread_cond_t cond;
};

struct agent_client {
    pthread_mutex_t mu;
    int refs;
    struct wire w;
    int wake_fd;
    char *container_id;
    struct agent_client_opts opts; /* callbacks and timings (strings not kept) */
    struct agent_info info;
    bool dead, closed_by_us, lost_told, threads_started, free_on_delivery_exit;
    struct err *dead_reason;
    struct csess main;
    struct csess *sessions; /* open sessions other than main */
    uint32_t next_id;
    bool main_exited, main_exit_told;
    struct agent_exit main_exit;
    int64_t last_rx, next_ping;
    pthread_t io_thread, delivery_thread;
};

/* All with c->mu held. */
void client_wake(struct agent_client *c);
int client_lost_err(struct agent_client *c, struct err **err);
void client_send(struct agent_client *c, uint8_t type, uint8_t flags, uint32_t session,
                 const void *payload, size_t len);
void client_send_json(struct agent_client *c, uint8_t type, uint32_t session, json_t *obj);
void client_grant(struct agent_client *c, struct csess *s, size_t n);
struct csess *client_session_open(struct agent_client *c);
void client_session_close(struct agent_client *c, struct csess *s);
struct chunk *client_pop(struct csess *s);
void client_wait(struct agent_client *c, struct csess *s);

#endif
