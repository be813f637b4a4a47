/*
 * health: container health checks (HEALTHCHECK / Config.Healthcheck), run through the
 * container's exec driver with dockerd's rules: the first probe one Interval after start, then
 * every Interval; a probe longer than Timeout fails; FailingStreak counts consecutive failures and
 * Retries of them make the container unhealthy, except that failures within StartPeriod do not
 * count; a success makes it healthy. Each change publishes `health_status: healthy|unhealthy`.
 * The last five results are kept (State.Health.Log).
 */
#ifndef SOCKERLESS_ENGINE_HEALTH_H
#define SOCKERLESS_ENGINE_HEALTH_H

#include <stdint.h>

struct engine;
struct container;

/* Docker's defaults, in nanoseconds as the API carries them. */
enum { HEALTH_LOG_MAX = 5 };
#define HEALTH_DEFAULT_INTERVAL_NS (30LL * 1000000000)
#define HEALTH_DEFAULT_TIMEOUT_NS (30LL * 1000000000)
#define HEALTH_DEFAULT_RETRIES 3

struct health_config {
    char **test; /* ["CMD", ...], ["CMD-SHELL", "cmd"], ["NONE"], or NULL: none */
    int64_t interval_ns, timeout_ns, start_period_ns; /* 0: default */
    int retries;                                      /* 0: default */
};

struct health_result {
    int64_t start_ns, end_ns;
    int exit_code;
    char *output;
};

enum health_status { HEALTH_NONE, HEALTH_STARTING, HEALTH_HEALTHY, HEALTH_UNHEALTHY };

struct health_state {
    enum health_status status;
    int failing_streak;
    struct health_result log[HEALTH_LOG_MAX];
    int n_log;
};

void health_config_fini(struct health_config *h);
void health_state_fini(struct health_state *s);
const char *health_status_name(enum health_status s);
/* At start (lock held): resets the state to "starting" and schedules the first probe. */
void health_start(struct engine *eng, struct container *c);

#endif
