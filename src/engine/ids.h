/*
 * ids: object IDs (64 lowercase hex characters, compat-notes 17) and container names
 * (stored with a leading '/', validated as [a-zA-Z0-9][a-zA-Z0-9_.-]+, default
 * adjective_surname).
 */
#ifndef SOCKERLESS_ENGINE_IDS_H
#define SOCKERLESS_ENGINE_IDS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

enum { ID_LEN = 64, SHORT_ID_LEN = 12, NAME_MAX_LEN = 255 };

/* Writes a new random ID (ID_LEN hex characters and a NUL) into out. IDs that are all digits
 * are avoided, as Docker does, so a short ID never reads as a number. */
void id_generate(char out[ID_LEN + 1]);
/* True when s is exactly ID_LEN lowercase hex characters. */
bool id_is_full(const char *s);
/* True when s is 1..ID_LEN lowercase hex characters (a candidate ID prefix). */
bool id_is_prefix(const char *s);

/* Validates a user-given container name ("x" or "/x"); ERR_INVALID with Docker's message. */
int name_validate(const char *name, struct err **err);
/* Writes a random default name ("adjective_surname") into out. With attempt > 0 a number is
 * appended, for retries after a clash ("adjective_surname3"). */
void name_generate(char *out, size_t size, unsigned attempt);

#endif
