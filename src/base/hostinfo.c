#include "base/hostinfo.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/magic.h>

const char *
hostinfo_go_arch(const char *machine)
{
    static const struct {
        const char *uname, *go;
    } map[] = {
        {"x86_64", "amd64"},    {"aarch64", "arm64"}, {"i686", "386"},
        {"i386", "386"},        {"armv7l", "arm"},    {"armv6l", "arm"},
        {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(machine, map[i].uname) == 0)
            return map[i].go;
    return machine;
}

/* Copies the value of KEY= from /etc/os-release (quotes stripped) into out. */
static void
os_release_value(const char *key, char *out, size_t size)
{
    FILE *f = fopen("/etc/os-release", "re");
    if (f == NULL)
        f = fopen("/usr/lib/os-release", "re");
    if (f == NULL)
        return;
    char line[512];
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) != 0 || line[klen] != '=')
            continue;
        char *v = line + klen + 1;
        v[strcspn(v, "\n")] = '\0';
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            v++;
        }
        snprintf(out, size, "%s", v);
        break;
    }
    fclose(f);
}

static int
count_dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int
hostinfo_count_fds(void)
{
    int n = count_dir_entries("/proc/self/fd");
    return n > 0 ? n - 1 : n; /* minus the directory stream's own fd */
}

int
hostinfo_count_threads(void)
{
    return count_dir_entries("/proc/self/task");
}

void
hostinfo_read(struct hostinfo *hi)
{
    memset(hi, 0, sizeof(*hi));
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(hi->kernel, sizeof(hi->kernel), "%s", u.release);
        snprintf(hi->machine, sizeof(hi->machine), "%s", u.machine);
    }
    snprintf(hi->arch, sizeof(hi->arch), "%s", hostinfo_go_arch(hi->machine));
    if (gethostname(hi->hostname, sizeof(hi->hostname) - 1) != 0)
        hi->hostname[0] = '\0';
    snprintf(hi->os_name, sizeof(hi->os_name), "Linux");
    os_release_value("PRETTY_NAME", hi->os_name, sizeof(hi->os_name));
    os_release_value("VERSION_ID", hi->os_version, sizeof(hi->os_version));

    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        hi->ncpu = CPU_COUNT(&set);
    if (hi->ncpu <= 0)
        hi->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);

    struct sysinfo si;
    if (sysinfo(&si) == 0)
        hi->mem_total = (int64_t)si.totalram * si.mem_unit;

    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs) == 0)
        hi->cgroup_version = fs.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
}
