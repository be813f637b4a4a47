/* Signal names and numbers as Docker accepts them. */
#include "base/signals.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Signal names as Docker accepts them: "SIGKILL", "KILL", "kill", "9". */
int
signal_parse(const char *s, int *out)
{
    static const struct {
        const char *name;
        int num;
    } sigs[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
        {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
        {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
        {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
        {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
        {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
        {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
        {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
    };
    if (s == NULL || *s == '\0') {
        *out = SIGKILL;
        return 0;
    }
    char *end;
    long n = strtol(s, &end, 10);
    if (*end == '\0') {
        if (n <= 0 || n > 64)
            return -1;
        *out = (int)n;
        return 0;
    }
    const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (strcasecmp(name, sigs[i].name) == 0) {
            *out = sigs[i].num;
            return 0;
        }
    }
    return -1;
}
