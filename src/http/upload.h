/*
 * upload: a request body handed, as it arrives, from the connection's thread (libmicrohttpd's,
 * which receives it) to the handler's thread (which consumes it), for ROUTE_STREAM_BODY routes.
 *
 * A bounded ring buffer: the writer blocks while it is full (back-pressure on the client), the
 * reader while it is empty. Either side may end early: the writer with an abort (the client
 * left, the body went over the cap, the server stops: the reader's reads fail), the reader when
 * it has read what it wants (the writer's later data is dropped, so the connection thread
 * drains the rest of the body and the response goes out on a connection still in sync). It is
 * not an HTTP parser: libmicrohttpd de-chunks the body before the writer gets it.
 */
#ifndef SOCKERLESS_HTTP_UPLOAD_H
#define SOCKERLESS_HTTP_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct http_upload;

/* A new upload whose buffer holds up to cap bytes. */
struct http_upload *http_upload_new(size_t cap);
void http_upload_free(struct http_upload *u);

/* Writer side (the connection's thread). Copies data in, blocking while the buffer is full;
 * returns at once (dropping data) once the reader is done or the upload was aborted. */
void http_upload_write(struct http_upload *u, const char *data, size_t len);
/* The body is complete: the reader gets 0 once it has read everything. */
void http_upload_end(struct http_upload *u);
/* The body will not be complete: the reader's reads fail (-1, errno ECONNABORTED). */
void http_upload_abort(struct http_upload *u);

/* Reader side (the handler's thread). Up to len bytes into buf, blocking until a quarter of the
 * buffer (or len, or what is left before the end) is there: the count, 0 at the end of the
 * body, -1 with errno ECONNABORTED when it was aborted. */
ssize_t http_upload_read(struct http_upload *u, void *buf, size_t len);
/* The reader wants no more: the writer drops the rest. */
void http_upload_reader_done(struct http_upload *u);

#endif
