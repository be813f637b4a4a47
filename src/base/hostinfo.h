/*
 * hostinfo: facts about the machine the daemon runs on, read from the kernel
 * and /etc, for /info and /version. Read once at start-up (hostinfo_read);
 * the values that change (free fds, threads) are read per call.
 */
#ifndef SOCKERLESS_BASE_HOSTINFO_H
#define SOCKERLESS_BASE_HOSTINFO_H

#include <stdint.h>
#include <sys/utsname.h>

struct hostinfo {
    char kernel[_UTSNAME_RELEASE_LENGTH + 1];  /* uname release */
    char machine[_UTSNAME_MACHINE_LENGTH + 1]; /* uname machine: x86_64 */
    char arch[_UTSNAME_MACHINE_LENGTH + 1];    /* Go-style architecture: amd64, arm64 */
    char hostname[256];
    char os_name[256];   /* /etc/os-release PRETTY_NAME */
    char os_version[64]; /* /etc/os-release VERSION_ID */
    int ncpu;            /* CPUs this process may run on */
    int64_t mem_total;   /* bytes */
    int cgroup_version;  /* 1 or 2, 0 when no cgroup fs is mounted */
};

void hostinfo_read(struct hostinfo *hi);
/* Open file descriptors of this process, -1 when /proc is not readable. */
int hostinfo_count_fds(void);
/* Threads of this process, -1 when /proc is not readable. */
int hostinfo_count_threads(void);
/* Maps a uname machine to Go's GOARCH spelling, which Docker reports ("x86_64" -> "amd64"). */
const char *hostinfo_go_arch(const char *machine);

#endif
