/*
 * timer: one thread that runs callbacks at deadlines (synthetic auto-exit, health checks,
 * restart back-off). Callbacks run on the timer thread, one at a time, and must not block.
 */
#ifndef SOCKERLESS_ENGINE_TIMER_H
#define SOCKERLESS_ENGINE_TIMER_H

#include <stdint.h>

typedef void (*timer_fn)(void *arg);

struct timers;

struct timers *timers_new(void);
/* Stops the thread; pending callbacks are dropped after their free_arg runs. */
void timers_free(struct timers *t);
/* Runs fn(arg) after ms milliseconds. free_arg (may be NULL) runs after fn or when dropped. */
void timers_after(struct timers *t, int64_t ms, timer_fn fn, void *arg, timer_fn free_arg);

#endif
