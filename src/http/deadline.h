/*
 * deadline: cuts off connections that take too long to send a request's line and headers
 * (slowloris). libmicrohttpd's own timeout is an inactivity timeout, which a client sending a
 * byte every few seconds never reaches, and each connection holds a thread.
 *
 * A watched connection is armed when it opens (first_s) and after each request that did not
 * upgrade (next_s: it is also how long a keep-alive connection may idle), and disarmed when a
 * request's headers are complete. A watchdog thread checks once a second and shuts down (never
 * closes: libmicrohttpd owns it) the socket of an armed connection past its deadline, so the
 * connection's thread sees the end of the stream and exits.
 */
#ifndef SOCKERLESS_HTTP_DEADLINE_H
#define SOCKERLESS_HTTP_DEADLINE_H

struct http_deadlines;
struct http_deadline;

/* Starts the watchdog thread. */
struct http_deadlines *http_deadlines_new(unsigned first_s, unsigned next_s);
/* Stops the thread; every watch must have been removed. free(NULL) is a no-op. */
void http_deadlines_free(struct http_deadlines *d);
/* Watches the connected socket fd (borrowed), armed with first_s. */
struct http_deadline *http_deadlines_watch(struct http_deadlines *d, int fd);
/* Removes and frees w; call before the socket is closed. */
void http_deadlines_unwatch(struct http_deadlines *d, struct http_deadline *w);
/* The request's headers are in: no deadline while it is handled. */
void http_deadline_disarm(struct http_deadlines *d, struct http_deadline *w);
/* The request is done and the connection stays open for another: armed with next_s. */
void http_deadline_rearm(struct http_deadlines *d, struct http_deadline *w);

#endif
