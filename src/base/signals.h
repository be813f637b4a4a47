/*
 * signals: Docker's signal names ("SIGKILL", "KILL", "kill") and numbers ("9").
 */
#ifndef SOCKERLESS_BASE_SIGNALS_H
#define SOCKERLESS_BASE_SIGNALS_H

/* *out gets the signal s names; NULL or "" is SIGKILL (docker kill's default). -1 when s is
 * not a signal. */
int signal_parse(const char *s, int *out);

#endif
