/* The OCI spec of a container and of an exec, after dockerd 20.10's daemon/oci_linux.go (checked
 * against the config.json it hands runc), and the user lookup after runc's libcontainer/user. */
#include "driver/ocispec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "engine/volume.h"

enum {
    OCI_FILE_MAX = 1 << 20,  /* /etc/passwd, /etc/group, the host's resolv.conf and hosts */
    OCI_ID_MAX = 2147483647, /* runc's user.maxID */
    HOST_DEVICES_MAX = 4096, /* privileged: devices taken from /dev */
    DEFAULT_SHM = 64 * 1024 * 1024,
};

static const char default_path[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* ---- files inside the container's root ---- */

/* Reads path inside root, resolved as if root were "/" (a symlink, even /etc/passwd ->
 * /../../etc/shadow, cannot lead out). A missing file gives 0 with *out NULL; anything but a
 * regular file, or one over 1 MiB, is refused. */
static int
read_in_root(const char *root, const char *path, char **out, struct err **err)
{
    *out = NULL;
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_errno(err, "open container root %s", root);
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    long pfd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    int saved = errno;
    close(rootfd);
    if (pfd < 0) {
        if (saved == ENOENT || saved == ENOTDIR)
            return 0;
        errno = saved;
        return err_errno(err, "open %s in the container", path);
    }
    /* O_PATH first: opening a FIFO or a device planted in the image for reading could block
     * or act on the device. Only a regular file is reopened for reading. */
    struct stat st;
    int rc = fstat((int)pfd, &st);
    if (rc == 0 && !S_ISREG(st.st_mode)) {
        close((int)pfd);
        return err_make(err, ERR_INVALID, 0, "%s in the container is not a regular file", path);
    }
    if (rc == 0 && st.st_size > OCI_FILE_MAX) {
        close((int)pfd);
        return err_make(err, ERR_INVALID, 0, "%s in the container is larger than 1 MiB", path);
    }
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", (int)pfd);
    int fd = rc == 0 ? open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
    saved = errno;
    close((int)pfd);
    if (fd < 0) {
        errno = saved;
        return err_errno(err, "open %s in the container", path);
    }
    char *data = xmalloc(OCI_FILE_MAX + 1);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, data + len, OCI_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            saved = errno;
            close(fd);
            free(data);
            errno = saved;
            return err_errno(err, "read %s in the container", path);
        }
        len += (size_t)n;
        if (n == 0 || len > OCI_FILE_MAX)
            break;
    }
    close(fd);
    if (len > OCI_FILE_MAX) {
        free(data);
        return err_make(err, ERR_INVALID, 0, "%s in the container is larger than 1 MiB", path);
    }
    data[len] = '\0';
    *out = data;
    return 0;
}

/* A host file for a container file (resolv.conf, hosts): "" when missing or unreadable. */
static char *
read_host_file(const char *path)
{
    FILE *f = fopen(path, "re");
    char *data = xmalloc(OCI_FILE_MAX + 1);
    size_t len = f != NULL ? fread(data, 1, OCI_FILE_MAX, f) : 0;
    if (f == NULL && errno != ENOENT)
        LOG_WARN("read %s: %s", path, strerror(errno));
    if (f != NULL)
        fclose(f);
    data[len] = '\0';
    return data;
}

/* ---- users and groups ---- */

/* Go's strconv.Atoi: an optional sign and decimal digits, no overflow. */
static bool
go_atoi(const char *s, long long *out)
{
    const char *p = s + (*s == '+' || *s == '-');
    if (*p == '\0')
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static long long
field_int(const char *s)
{
    long long v = 0;
    return go_atoi(s, &v) ? v : 0; /* runc ignores conversion errors in these files */
}

/* Splits the next line of *cursor (trimmed, as bufio.Scanner + bytes.TrimSpace) into up to n
 * ':'-separated fields, missing ones "". Returns false at the end; empty lines are skipped. */
static bool
next_entry(char **cursor, char **f, int n)
{
    while (*cursor != NULL && **cursor != '\0') {
        char *line = *cursor;
        char *nl = strchr(line, '\n');
        *cursor = nl != NULL ? nl + 1 : NULL;
        if (nl != NULL)
            *nl = '\0';
        while (isspace((unsigned char)*line))
            line++;
        size_t len = strlen(line);
        while (len > 0 && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        if (len == 0)
            continue;
        for (int i = 0; i < n; i++) {
            f[i] = line != NULL ? line : (char *)"";
            char *colon = line != NULL ? strchr(line, ':') : NULL;
            if (colon != NULL)
                *colon = '\0';
            line = colon != NULL ? colon + 1 : NULL;
        }
        return true;
    }
    return false;
}

static bool
group_has_member(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (comma != NULL);
    }
    return false;
}

static void
add_gid(struct oci_user *u, long long gid)
{
    u->additional_gids =
        xrealloc(u->additional_gids, (u->n_additional + 1) * sizeof(*u->additional_gids));
    u->additional_gids[u->n_additional++] = (gid_t)gid;
}

/* The passwd part of runc's GetExecUser: the first entry matching user_arg (a uid when
 * numeric, else a name; "" is uid 0). */
static int
resolve_passwd(char *passwd, const char *user_arg, struct oci_user *out, char **matched,
               struct err **err)
{
    long long uid_arg = 0;
    bool numeric = go_atoi(user_arg, &uid_arg);
    char *f[7];
    for (char *cur = passwd; passwd != NULL && next_entry(&cur, f, 7);) {
        long long uid = field_int(f[2]);
        bool match = *user_arg == '\0' ? uid == 0
                     : numeric         ? uid == uid_arg
                                       : strcmp(f[0], user_arg) == 0;
        if (match) {
            out->uid = (uid_t)uid;
            out->gid = (gid_t)field_int(f[3]);
            out->home = xstrdup(*f[5] ? f[5] : "/");
            *matched = xstrdup(f[0]);
            return 0;
        }
    }
    if (*user_arg != '\0' && !numeric)
        return err_make(err, ERR_INVALID, 0,
                        "unable to find user %s: no matching entries in passwd file", user_arg);
    if (uid_arg < 0 || uid_arg > OCI_ID_MAX)
        return err_make(err, ERR_INVALID, 0, "uids and gids must be in range 0-%d", OCI_ID_MAX);
    out->uid = (uid_t)uid_arg;
    out->home = xstrdup("/");
    return 0;
}

/* The group part: an explicit group_arg sets the gid; otherwise the groups that list the
 * matched user name are its supplementary groups. */
static int
resolve_group(char *group, const char *group_arg, const char *matched, struct oci_user *out,
              struct err **err)
{
    long long gid_arg = 0;
    bool numeric = go_atoi(group_arg, &gid_arg);
    char *f[4];
    for (char *cur = group; group != NULL && next_entry(&cur, f, 4);) {
        long long gid = field_int(f[2]);
        if (*group_arg == '\0') {
            if (matched != NULL && group_has_member(f[3], matched))
                add_gid(out, gid);
        } else if (numeric ? gid == gid_arg : strcmp(f[0], group_arg) == 0) {
            out->gid = (gid_t)gid;
            return 0;
        }
    }
    if (*group_arg == '\0')
        return 0;
    if (!numeric)
        return err_make(err, ERR_INVALID, 0,
                        "unable to find group %s: no matching entries in group file", group_arg);
    if (gid_arg < 0 || gid_arg > OCI_ID_MAX)
        return err_make(err, ERR_INVALID, 0, "uids and gids must be in range 0-%d", OCI_ID_MAX);
    out->gid = (gid_t)gid_arg;
    return 0;
}

/* GroupAdd, after runc's GetAdditionalGroups: names or numbers, in order, each once. */
static int
resolve_extra_groups(const char *group, char *const *extra, struct oci_user *out, struct err **err)
{
    size_t first = out->n_additional;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        const char *want = extra[i];
        long long num = 0;
        bool numeric = go_atoi(want, &num), found = false;
        cleanup_free char *copy = xstrdup(group != NULL ? group : "");
        char *f[4];
        for (char *cur = copy; !found && next_entry(&cur, f, 4);) {
            long long gid = field_int(f[2]);
            if (strcmp(f[0], want) == 0 || (numeric && gid == num)) {
                found = true;
                num = gid;
            }
        }
        if (!found && !numeric)
            return err_make(err, ERR_INVALID, 0,
                            "Unable to find group %s: no matching entries in group file", want);
        if (num < 0 || num > OCI_ID_MAX)
            return err_make(err, ERR_INVALID, 0, "uids and gids must be in range 0-%d", OCI_ID_MAX);
        bool dup = false;
        for (size_t j = first; j < out->n_additional && !dup; j++)
            dup = out->additional_gids[j] == (gid_t)num;
        if (!dup)
            add_gid(out, num);
    }
    return 0;
}

void
oci_user_fini(struct oci_user *u)
{
    free(u->additional_gids);
    free(u->home);
    memset(u, 0, sizeof(*u));
}

int
oci_user_resolve(const char *rootfs, const char *user, char *const *extra_groups,
                 struct oci_user *out, struct err **err)
{
    cleanup_free char *passwd = NULL;
    cleanup_free char *group = NULL;
    if (read_in_root(rootfs, "/etc/passwd", &passwd, err) < 0 ||
        read_in_root(rootfs, "/etc/group", &group, err) < 0)
        return -1;
    /* "user:group"; like runc's parseLine, a third field is ignored. */
    cleanup_free char *spec = xstrdup(user != NULL ? user : "");
    char *group_arg = strchr(spec, ':');
    if (group_arg != NULL) {
        *group_arg++ = '\0';
        char *more = strchr(group_arg, ':');
        if (more != NULL)
            *more = '\0';
    }
    struct oci_user u = {0};
    cleanup_free char *matched = NULL;
    cleanup_free char *group_copy = group != NULL ? xstrdup(group) : NULL;
    /* dockerd lists the primary gid first among the additional ones (since 20.10.18): its
     * place is taken now and filled once the gid is known. */
    add_gid(&u, 0);
    int rc = resolve_passwd(passwd, spec, &u, &matched, err);
    if (rc == 0 && ((group_arg != NULL && *group_arg != '\0') || matched != NULL))
        rc = resolve_group(group_copy, group_arg != NULL ? group_arg : "", matched, &u, err);
    if (rc == 0) {
        u.additional_gids[0] = u.gid;
        rc = resolve_extra_groups(group, extra_groups, &u, err);
    }
    if (rc < 0) {
        oci_user_fini(&u);
        return -1;
    }
    *out = u;
    return 0;
}

/* ---- capabilities and resource limits ---- */

/* Every capability by number (linux/capability.h), packed by hand. */
/* clang-format off */
static const char *const cap_names[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
/* clang-format on */
enum { N_CAPS = sizeof(cap_names) / sizeof(cap_names[0]) };

/* Docker's default set (oci/caps/defaults.go), in its order. */
/* clang-format off */
static const char *const default_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL};
/* clang-format on */

const char *
oci_cap_canonical(const char *name)
{
    char up[64];
    size_t n = strlen(name);
    if (n + 5 > sizeof(up))
        return NULL;
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    if (strcmp(up, "ALL") == 0)
        return "ALL";
    if (strncmp(up, "CAP_", 4) != 0) {
        memmove(up + 4, up, n + 1);
        memcpy(up, "CAP_", 4);
    }
    for (size_t i = 0; i < N_CAPS; i++)
        if (strcmp(cap_names[i], up) == 0)
            return cap_names[i];
    return NULL;
}

/* "All capabilities" (privileged): dockerd lists every one the kernel knows; we list those
 * in our own bounding set, the most a runtime we start can grant (in a sandbox without
 * CAP_SYS_RESOURCE, dockerd's privileged containers fail with "unable to apply caps"). */
static char **
all_caps(void)
{
    char **v = NULL;
    for (int i = 0; i < N_CAPS; i++)
        if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
            v = strv_append(v, cap_names[i]);
    return v;
}

static char **
append_once(char **v, const char *s)
{
    return strv_contains(v, s) ? v : strv_append(v, s);
}

/* oci/caps TweakCapabilities: the default set, or all with privileged, adjusted by CapAdd and
 * CapDrop ("ALL" in either). */
static char **
container_caps(const struct container_spec *s)
{
    char **v = NULL;
    if (s->privileged)
        return all_caps();
    if (strv_contains(s->cap_add, "ALL")) {
        char **all = all_caps();
        for (size_t i = 0; all != NULL && all[i] != NULL; i++)
            if (!strv_contains(s->cap_drop, all[i]))
                v = strv_append(v, all[i]);
        strv_free(all);
        return v;
    }
    if (!strv_contains(s->cap_drop, "ALL"))
        for (size_t i = 0; default_caps[i] != NULL; i++)
            if (!strv_contains(s->cap_drop, default_caps[i]))
                v = strv_append(v, default_caps[i]);
    for (size_t i = 0; s->cap_add != NULL && s->cap_add[i] != NULL; i++)
        v = append_once(v, s->cap_add[i]);
    return v;
}

/* oci.SetCapabilities: only the bounding set for a non-root user, whose effective and
 * permitted sets stay empty (CVE-2022-24769's fix). Takes caps. */
static json_t *
caps_json(char **caps, bool root)
{
    json_t *o = json_object();
    json_object_set_new(o, "bounding", strv_json(caps));
    if (root) {
        json_object_set_new(o, "effective", strv_json(caps));
        json_object_set_new(o, "permitted", strv_json(caps));
    }
    strv_free(caps);
    return o;
}

static const char *const rlimit_names[] = {
    "as",     "core",  "cpu", "data",   "fsize",  "locks",      "memlock", "msgqueue", "nice",
    "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",   NULL};

bool
oci_rlimit_is_known(const char *name)
{
    for (size_t i = 0; rlimit_names[i] != NULL; i++)
        if (strcasecmp(rlimit_names[i], name) == 0)
            return true;
    return false;
}

/* The spec's limits are uint64 and unlimited is RLIM_INFINITY (2^64-1), which a JSON integer
 * of jansson (int64) cannot carry: -1 becomes INT64_MAX, unlimited in every practical sense. */
static json_t *
rlimits_json(const struct container_spec *s, struct err **err)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n_ulimits; i++) {
        const struct container_ulimit *u = &s->ulimits[i];
        char type[64] = "RLIMIT_";
        for (size_t k = 0; u->name[k] && k + 8 < sizeof(type); k++)
            type[7 + k] = (char)toupper((unsigned char)u->name[k]);
        if (!oci_rlimit_is_known(u->name)) {
            json_decref(a);
            return err_make(err, ERR_INVALID, 0, "wrong rlimit value: %s", type), NULL;
        }
        json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "type", type, "hard",
                                           (json_int_t)(u->hard < 0 ? INT64_MAX : u->hard), "soft",
                                           (json_int_t)(u->soft < 0 ? INT64_MAX : u->soft)));
    }
    return a;
}

/* ---- the process ---- */

/* container.CreateDaemonEnvironment + ReplaceOrAppendEnvValues: PATH, HOSTNAME and (tty)
 * TERM first, then env replacing those in place or appended; "KEY" without '=' removes a
 * default. HOME from the user when still unset (runc would add the same). */
static char **
daemon_env(const char *hostname, bool tty, char *const *env, const char *home)
{
    cleanup_free char *host = xasprintf("HOSTNAME=%s", hostname != NULL ? hostname : "");
    char **out = strv_append(NULL, default_path);
    out = strv_append(out, host);
    if (tty)
        out = strv_append(out, "TERM=xterm");
    size_t n_defaults = strv_len(out);
    bool removed[3] = {false, false, false};
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        const char *eq = strchr(env[i], '=');
        size_t klen = eq != NULL ? (size_t)(eq - env[i]) : strlen(env[i]);
        size_t d = 0;
        while (d < n_defaults && !(strncmp(out[d], env[i], klen) == 0 && out[d][klen] == '='))
            d++;
        if (eq == NULL) {
            if (d < n_defaults)
                removed[d] = true;
        } else if (d < n_defaults) {
            free(out[d]);
            out[d] = xstrdup(env[i]);
            removed[d] = false;
        } else {
            out = strv_append(out, env[i]);
        }
    }
    char **res = NULL;
    for (size_t i = 0; out[i] != NULL; i++)
        if (i >= n_defaults || !removed[i])
            res = strv_append(res, out[i]);
    strv_free(out);
    if (home != NULL && strv_env_get(res, "HOME") == NULL) {
        cleanup_free char *h = xasprintf("HOME=%s", home);
        res = strv_append(res, h);
    }
    return res;
}

static json_t *
user_json(const struct oci_user *u)
{
    json_t *o = json_pack("{s:I, s:I}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid);
    if (u->n_additional > 0) {
        json_t *a = json_array();
        for (size_t i = 0; i < u->n_additional; i++)
            json_array_append_new(a, json_integer(u->additional_gids[i]));
        json_object_set_new(o, "additionalGids", a);
    }
    return o;
}

/* What an exec inherits from the container's process: user, capabilities (every one with
 * all), rlimits, no-new-privileges, the OOM score (dockerd always writes it, so that a daemon
 * with a lowered score does not pass it on). */
static json_t *
process_base(const struct container *c, const struct oci_user *u, bool all, struct err **err)
{
    json_t *rl = rlimits_json(&c->spec, err);
    if (rl == NULL)
        return NULL;
    json_t *p = json_object();
    json_object_set_new(p, "user", user_json(u));
    json_object_set_new(p, "capabilities",
                        all ? caps_json(all_caps(), true)
                            : caps_json(container_caps(&c->spec), u->uid == 0));
    if (json_array_size(rl) > 0)
        json_object_set_new(p, "rlimits", rl);
    else
        json_decref(rl);
    if (c->spec.no_new_privileges)
        json_object_set_new(p, "noNewPrivileges", json_true());
    json_object_set_new(p, "oomScoreAdj", json_integer(c->spec.oom_score_adj));
    return p;
}

static json_t *
process_json(const struct container *c, const struct oci_user *u, bool with_init, struct err **err)
{
    if (c->path == NULL || *c->path == '\0')
        return err_make(err, ERR_INVALID, 0, "No command specified"), NULL;
    json_t *p = process_base(c, u, c->spec.privileged, err);
    if (p == NULL)
        return NULL;
    if (c->spec.tty)
        json_object_set_new(p, "terminal", json_true());
    json_t *args = json_array();
    if (with_init) {
        json_array_append_new(args, json_string("/sbin/docker-init"));
        json_array_append_new(args, json_string("--"));
    }
    json_array_append_new(args, json_string(c->path));
    json_t *rest = strv_json(c->args);
    json_array_extend(args, rest);
    json_decref(rest);
    json_object_set_new(p, "args", args);
    char **env = daemon_env(c->spec.hostname, c->spec.tty, c->spec.env, u->home);
    json_object_set_new(p, "env", strv_json(env));
    strv_free(env);
    const char *cwd = c->spec.working_dir;
    json_object_set_new(p, "cwd", json_string(cwd != NULL && *cwd ? cwd : "/"));
    return p;
}

json_t *
oci_spec_exec(const struct container *c, const struct exec *e, const struct oci_user *user,
              struct err **err)
{
    json_t *p = process_base(c, user, e->privileged || c->spec.privileged, err);
    if (p == NULL)
        return NULL;
    if (e->tty)
        json_object_set_new(p, "terminal", json_true());
    json_object_set_new(p, "args", strv_json(e->cmd));
    char **env = daemon_env(c->spec.hostname, e->tty, e->env, user->home);
    json_object_set_new(p, "env", strv_json(env));
    strv_free(env);
    const char *cwd = e->working_dir != NULL && *e->working_dir             ? e->working_dir
                      : c->spec.working_dir != NULL && *c->spec.working_dir ? c->spec.working_dir
                                                                            : "/";
    json_object_set_new(p, "cwd", json_string(cwd));
    return p;
}

/* ---- mounts ---- */

static json_t *
mount_json(const char *dest, const char *type, const char *source, json_t *options)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", source,
                     "options", options);
}

static json_t *
opts_json(const char *first, ...)
{
    json_t *a = json_array();
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        json_array_append_new(a, json_string(s));
    va_end(ap);
    return a;
}

/* Mount flags that take no value, by what they set (mount.MergeTmpfsOptions: the last of a
 * kind wins; -1 is the propagation, of which there is one). */
static const struct {
    const char *name;
    int key;
} mount_flags[] = {{"ro", 1},        {"rw", 1},          {"suid", 2},         {"nosuid", 2},
                   {"dev", 3},       {"nodev", 3},       {"exec", 4},         {"noexec", 4},
                   {"sync", 5},      {"async", 5},       {"dirsync", 6},      {"remount", 7},
                   {"mand", 8},      {"nomand", 8},      {"atime", 9},        {"noatime", 9},
                   {"diratime", 10}, {"nodiratime", 10}, {"bind", 11},        {"rbind", 12},
                   {"relatime", 13}, {"norelatime", 13}, {"strictatime", 14}, {"nostrictatime", 14},
                   {"private", -1},  {"rprivate", -1},   {"shared", -1},      {"rshared", -1},
                   {"slave", -1},    {"rslave", -1},     {"unbindable", -1},  {"runbindable", -1}};
static const char *const tmpfs_data[] = {"size",      "mode",      "uid",  "gid",
                                         "nr_inodes", "nr_blocks", "mpol", NULL};

static int
mount_flag_key(const char *opt)
{
    for (size_t i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]); i++)
        if (strcmp(mount_flags[i].name, opt) == 0)
            return mount_flags[i].key;
    return 0;
}

/* A tmpfs mount: Docker's defaults (noexec, nosuid, nodev, rprivate) then the given options
 * (comma-separated) and "ro", merged as mount.MergeTmpfsOptions does: from the end, the first
 * of each flag kind or data key wins, order kept. */
static json_t *
tmpfs_json(const char *dest, const char *given, bool ro, struct err **err)
{
    char **opts = strv_append(NULL, "noexec");
    opts = strv_append(opts, "nosuid");
    opts = strv_append(opts, "nodev");
    opts = strv_append(opts, "rprivate");
    cleanup_free char *copy = xstrdup(given != NULL ? given : "");
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        opts = strv_append(opts, t);
    if (ro)
        opts = strv_append(opts, "ro");
    size_t n = strv_len(opts);
    bool *keep = xcalloc(n + 1, sizeof(bool));
    int rc = 0;
    for (size_t i = n; i-- > 0 && rc == 0;) {
        const char *o = opts[i];
        if (strcmp(o, "defaults") == 0)
            continue;
        int key = mount_flag_key(o);
        const char *eq = strchr(o, '=');
        size_t klen = eq != NULL ? (size_t)(eq - o) : strlen(o);
        bool data_ok = false;
        for (size_t d = 0; tmpfs_data[d] != NULL && eq != NULL && !data_ok; d++)
            data_ok = strlen(tmpfs_data[d]) == klen && strncmp(tmpfs_data[d], o, klen) == 0;
        if (key == 0 && !data_ok) {
            rc = eq != NULL
                     ? err_make(err, ERR_INVALID, 0, "invalid tmpfs option [\"%.*s\" \"%s\"]",
                                (int)klen, o, eq + 1)
                     : err_make(err, ERR_INVALID, 0, "invalid tmpfs option [\"%s\"]", o);
            break;
        }
        bool seen = false;
        for (size_t j = i + 1; j < n && !seen; j++) {
            if (!keep[j])
                continue;
            const char *p = opts[j];
            seen = key != 0 ? mount_flag_key(p) == key
                            : strncmp(p, o, klen + 1) == 0; /* same "key=" */
        }
        keep[i] = !seen;
    }
    json_t *a = NULL;
    if (rc == 0) {
        a = json_array();
        for (size_t i = 0; i < n; i++)
            if (keep[i])
                json_array_append_new(a, json_string(opts[i]));
    }
    free(keep);
    strv_free(opts);
    return a != NULL ? mount_json(dest, "tmpfs", "tmpfs", a) : NULL;
}

static int
add_tmpfs(json_t *list, const char *dest, const char *given, bool ro, struct err **err)
{
    json_t *t = tmpfs_json(dest, given, ro, err);
    if (t == NULL)
        return -1;
    json_array_append_new(list, t);
    return 0;
}

/* The propagation a Binds mode names ("ro,rslave"), or NULL. */
static const char *
mode_propagation(const char *mode)
{
    static const char *const modes[] = {"private", "rprivate", "shared", "rshared",
                                        "slave",   "rslave",   NULL};
    const char *found = NULL;
    for (size_t i = 0; modes[i] != NULL; i++) {
        size_t n = strlen(modes[i]);
        for (const char *p = mode != NULL ? strstr(mode, modes[i]) : NULL; p != NULL;
             p = strstr(p + 1, modes[i]))
            if ((p == mode || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
                found = modes[i];
    }
    return found;
}

/* A volume or bind: rbind, "ro" unless rw, and the propagation: the mode's, else rprivate
 * for a bind (the volume parser's default) and none for a volume, as dockerd writes them. */
static json_t *
bind_json(const struct mount *m, const char **rootfs_propagation)
{
    const char *prop = mode_propagation(m->mode);
    if (prop == NULL && m->type == MOUNT_BIND)
        prop = "rprivate";
    json_t *o = opts_json("rbind", NULL);
    if (!m->rw)
        json_array_append_new(o, json_string("ro"));
    if (prop != NULL)
        json_array_append_new(o, json_string(prop));
    /* A shared or slave mount needs the root's propagation to let events through. */
    if (prop != NULL && strstr(prop, "shared") != NULL)
        *rootfs_propagation = "shared";
    else if (prop != NULL && strstr(prop, "slave") != NULL &&
             strcmp(*rootfs_propagation, "shared") != 0)
        *rootfs_propagation = "rslave";
    return mount_json(m->destination, "bind", m->source, o);
}

/* Path depth for ordering mounts (daemon's sortMounts): parents before children. */
static size_t
mount_depth(const char *path)
{
    size_t d = 0;
    for (const char *p = path; *p; p++)
        if (*p != '/' && (p == path || p[-1] == '/'))
            d++;
    return d;
}

static bool
has_dest(json_t *mounts, const char *dest)
{
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
            return true;
    }
    return false;
}

/* The container's own mounts, parents first (a stable sort by depth over volumes and binds,
 * the /etc files, then tmpfs, as dockerd lists them before its sort). */
static json_t *
user_mounts(const struct container *c, const struct oci_paths *paths, const char **root_prop,
            struct err **err)
{
    const struct container_spec *s = &c->spec;
    json_t *list = json_array();
    for (size_t i = 0; i < c->n_mounts; i++) {
        const struct mount *m = &c->mounts[i];
        /* a HostConfig.Tmpfs at the same place wins over an image volume */
        if (m->type != MOUNT_TMPFS && labels_get(&s->tmpfs, m->destination) == NULL)
            json_array_append_new(list, bind_json(m, root_prop));
    }
    const char *files[][2] = {{"/etc/resolv.conf", paths->resolv_conf},
                              {"/etc/hostname", paths->hostname},
                              {"/etc/hosts", paths->hosts}};
    for (size_t i = 0; i < 3; i++) {
        if (files[i][1] == NULL || has_dest(list, files[i][0]) ||
            labels_get(&s->tmpfs, files[i][0]) != NULL)
            continue;
        json_t *o = opts_json("rbind", NULL);
        if (s->read_only)
            json_array_append_new(o, json_string("ro"));
        json_array_append_new(o, json_string("rprivate"));
        json_array_append_new(list, mount_json(files[i][0], "bind", files[i][1], o));
    }
    /* IpcMode host (or a donor's host IPC): the host's /dev/shm, as dockerd's IpcMounts */
    bool host_ipc =
        (s->ipc_mode != NULL && strcmp(s->ipc_mode, "host") == 0) || paths->joins.ipc_host;
    if (host_ipc && !has_dest(list, "/dev/shm") && labels_get(&s->tmpfs, "/dev/shm") == NULL)
        json_array_append_new(
            list, mount_json("/dev/shm", "bind", "/dev/shm", opts_json("rbind", "rprivate", NULL)));
    int rc = 0;
    for (size_t i = 0; i < s->tmpfs.n && rc == 0; i++)
        rc = add_tmpfs(list, s->tmpfs.keys[i], s->tmpfs.values[i], false, err);
    for (size_t i = 0; i < c->n_mounts && rc == 0; i++)
        if (c->mounts[i].type == MOUNT_TMPFS)
            rc =
                add_tmpfs(list, c->mounts[i].destination, c->mounts[i].mode, !c->mounts[i].rw, err);
    if (rc < 0) {
        json_decref(list);
        return NULL;
    }
    /* insertion sort: stable */
    size_t n = json_array_size(list);
    json_t **v = xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_incref(json_array_get(list, i));
        size_t d = mount_depth(json_string_value(json_object_get(m, "destination")));
        size_t j = i;
        for (;
             j > 0 && mount_depth(json_string_value(json_object_get(v[j - 1], "destination"))) > d;
             j--)
            v[j] = v[j - 1];
        v[j] = m;
    }
    json_array_clear(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, v[i]);
    free(v);
    return list;
}

/* The mounts every container gets (oci.DefaultSpec, then WithMounts): those the container's
 * own mounts replace are left out, and everything under /dev when it mounts /dev. */
static json_t *
default_mounts(const struct container *c, const struct oci_paths *paths, json_t *own)
{
    const struct container_spec *s = &c->spec;
    const char *ro = s->privileged ? NULL : "ro"; /* privileged: /sys and cgroups writable */
    char shm[64];
    snprintf(shm, sizeof(shm), "size=%lld",
             (long long)(s->shm_size > 0 ? s->shm_size : DEFAULT_SHM));
    json_t *v[] = {
        mount_json("/proc", "proc", "proc", opts_json("nosuid", "noexec", "nodev", NULL)),
        mount_json("/dev", "tmpfs", "tmpfs",
                   opts_json("nosuid", "strictatime", "mode=755", "size=65536k", NULL)),
        mount_json("/dev/pts", "devpts", "devpts",
                   opts_json("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                             "gid=5", NULL)),
        mount_json("/sys", "sysfs", "sysfs", opts_json("nosuid", "noexec", "nodev", ro, NULL)),
        mount_json("/sys/fs/cgroup", "cgroup", "cgroup",
                   ro != NULL ? opts_json(ro, "nosuid", "noexec", "nodev", NULL)
                              : opts_json("nosuid", "noexec", "nodev", NULL)),
        mount_json("/dev/mqueue", "mqueue", "mqueue", opts_json("nosuid", "noexec", "nodev", NULL)),
        mount_json("/dev/shm", "tmpfs", "shm",
                   opts_json("nosuid", "noexec", "nodev", "mode=1777", shm, NULL)),
        s->init ? mount_json("/sbin/docker-init", "bind", paths->init_path,
                             opts_json("bind", "ro", NULL))
                : NULL,
    };
    bool own_dev = has_dest(own, "/dev");
    /* IpcMode none: no /dev/shm at all */
    bool no_shm = s->ipc_mode != NULL && strcmp(s->ipc_mode, "none") == 0;
    json_t *out = json_array();
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (v[i] == NULL)
            continue;
        const char *dest = json_string_value(json_object_get(v[i], "destination"));
        if (has_dest(own, dest) || (own_dev && strncmp(dest, "/dev/", 5) == 0) ||
            (no_shm && strcmp(dest, "/dev/shm") == 0))
            json_decref(v[i]);
        else
            json_array_append_new(out, v[i]);
    }
    return out;
}

/* ---- devices ---- */

static json_t *
device_rule(bool allow, const char *type, long long maj, long long min, const char *access)
{
    json_t *r = json_pack("{s:b}", "allow", allow);
    if (type != NULL)
        json_object_set_new(r, "type", json_string(type));
    if (maj >= 0)
        json_object_set_new(r, "major", json_integer(maj));
    if (min >= 0)
        json_object_set_new(r, "minor", json_integer(min));
    json_object_set_new(r, "access", json_string(access));
    return r;
}

/* oci.DevicesFromPath for one device node: the node to create, and (rules != NULL) the
 * cgroup rule that allows it. */
static int
add_device(json_t *devs, json_t *rules, const char *host, const char *ctr, const char *perms,
           struct err **err)
{
    struct stat st;
    if (stat(host, &st) < 0)
        return err_make(err, ERR_INVALID, errno,
                        "error gathering device information while adding custom device \"%s\": "
                        "%s",
                        host, strerror(errno));
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        return err_make(err, ERR_INVALID, 0,
                        "error gathering device information while adding custom device \"%s\": "
                        "not a device node",
                        host);
    const char *type = S_ISCHR(st.st_mode) ? "c" : "b";
    long long maj = major(st.st_rdev), min = minor(st.st_rdev);
    json_array_append_new(devs, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", ctr,
                                          "type", type, "major", maj, "minor", min, "fileMode",
                                          (json_int_t)(st.st_mode & 0777), "uid",
                                          (json_int_t)st.st_uid, "gid", (json_int_t)st.st_gid));
    if (rules != NULL)
        json_array_append_new(rules, device_rule(true, type, maj, min, perms));
    return 0;
}

/* Privileged: every device node of the host's /dev, as runc's devices.HostDevices finds them
 * (not pts, shm, fd, mqueue, nor the console). */
static void
host_devices(const char *dir, int depth, json_t *devs)
{
    static const char *const skip[] = {"pts",  "shm",         "fd",    "mqueue",
                                       ".lxc", ".lxd-mounts", ".udev", NULL};
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL && json_array_size(devs) < HOST_DEVICES_MAX) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        cleanup_free char *path = xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        bool skipped = false;
        for (size_t i = 0; skip[i] != NULL && !skipped; i++)
            skipped = strcmp(de->d_name, skip[i]) == 0;
        if (S_ISDIR(st.st_mode) && !skipped && depth < 8)
            host_devices(path, depth + 1, devs);
        else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && strcmp(path, "/dev/console") != 0)
            add_device(devs, NULL, path, path, "rwm", NULL);
    }
    if (d != NULL)
        closedir(d);
}

/* One number of a rule: digits or "*" (-1), up to end; false when it is neither. */
static bool
rule_number(const char *p, const char *end, long long *out)
{
    if (end - p == 1 && *p == '*')
        return *out = -1, true;
    if (end == p || end - p > 18)
        return false;
    long long v = 0;
    for (; p < end; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return true;
}

bool
oci_device_rule_parse(const char *rule, struct oci_device_rule *out)
{
    /* ^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$ */
    struct oci_device_rule r = {.type = {rule[0], '\0'}};
    if (strchr("acb", rule[0]) == NULL || rule[0] == '\0' || rule[1] != ' ')
        return false;
    const char *maj = rule + 2, *colon = strchr(maj, ':');
    const char *min = colon != NULL ? colon + 1 : NULL, *sp = min ? strchr(min, ' ') : NULL;
    if (sp == NULL || !rule_number(maj, colon, &r.major) || !rule_number(min, sp, &r.minor))
        return false;
    size_t n = strlen(sp + 1);
    if (n < 1 || n > 3 || strspn(sp + 1, "rwm") != n)
        return false;
    memcpy(r.access, sp + 1, n + 1);
    *out = r;
    return true;
}

/* linux.devices and the cgroup device rules (WithDevices): Docker's default rules, the
 * requested devices and DeviceCgroupRules, or every host device and no restriction when
 * privileged. */
static int
devices_json(const struct container_spec *s, json_t **devs_out, json_t **rules_out,
             struct err **err)
{
    json_t *devs = json_array(), *rules = json_array();
    if (s->privileged) {
        host_devices("/dev", 0, devs);
        json_array_append_new(rules, device_rule(true, NULL, -1, -1, "rwm"));
    } else {
        static const long long allowed[][2] = {{1, 5}, {1, 3}, {1, 9}, {1, 8}, {5, 0}, {5, 1}};
        json_array_append_new(rules, device_rule(false, NULL, -1, -1, "rwm"));
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
            json_array_append_new(rules,
                                  device_rule(true, "c", allowed[i][0], allowed[i][1], "rwm"));
        json_array_append_new(rules, device_rule(false, "c", 10, 229, "rwm")); /* fuse */
    }
    for (size_t i = 0; i < s->n_devices; i++) {
        const struct container_device *d = &s->devices[i];
        /* privileged: already there when the path is the same; all access anyway */
        if (s->privileged && strcmp(d->path_on_host, d->path_in_container) == 0)
            continue;
        if (add_device(devs, s->privileged ? NULL : rules, d->path_on_host, d->path_in_container,
                       d->permissions, err) < 0) {
            json_decref(devs);
            json_decref(rules);
            return -1;
        }
    }
    for (size_t i = 0; !s->privileged && s->device_cgroup_rules && s->device_cgroup_rules[i]; i++) {
        struct oci_device_rule r;
        if (!oci_device_rule_parse(s->device_cgroup_rules[i], &r)) {
            json_decref(devs);
            json_decref(rules);
            return err_make(err, ERR_INVALID, 0, "invalid device cgroup rule format: '%s'",
                            s->device_cgroup_rules[i]);
        }
        json_array_append_new(rules, device_rule(true, r.type, r.major, r.minor, r.access));
    }
    *devs_out = devs;
    *rules_out = rules;
    return 0;
}

/* ---- linux ---- */

static json_t *
memory_json(const struct container_spec *s)
{
    json_t *m = json_object();
    if (s->memory > 0) {
        json_object_set_new(m, "limit", json_integer(s->memory));
        if (s->memory_swap != 0)
            json_object_set_new(m, "swap", json_integer(s->memory_swap));
    }
    if (s->memory_reservation > 0)
        json_object_set_new(m, "reservation", json_integer(s->memory_reservation));
    if (s->kernel_tcp > 0)
        json_object_set_new(m, "kernelTCP", json_integer(s->kernel_tcp));
    if (s->has_swappiness)
        json_object_set_new(m, "swappiness", json_integer(s->memory_swappiness));
    if (s->oom_kill_disable)
        json_object_set_new(m, "disableOOMKiller", json_true());
    return m;
}

static json_t *
cpu_json(const struct container_spec *s)
{
    /* getCPUResources: NanoCpus as a quota over a 100 ms period */
    json_t *cpu = json_object();
    if (s->cpu_shares > 0)
        json_object_set_new(cpu, "shares", json_integer(s->cpu_shares));
    if (s->nano_cpus > 0) {
        json_object_set_new(cpu, "period", json_integer(100000));
        json_object_set_new(cpu, "quota", json_integer(s->nano_cpus * 100000 / 1000000000));
    }
    if (s->cpu_period != 0)
        json_object_set_new(cpu, "period", json_integer(s->cpu_period));
    if (s->cpu_quota != 0)
        json_object_set_new(cpu, "quota", json_integer(s->cpu_quota));
    if (s->cpu_rt_period != 0)
        json_object_set_new(cpu, "realtimePeriod", json_integer(s->cpu_rt_period));
    if (s->cpu_rt_runtime != 0)
        json_object_set_new(cpu, "realtimeRuntime", json_integer(s->cpu_rt_runtime));
    if (s->cpuset_cpus != NULL && *s->cpuset_cpus != '\0')
        json_object_set_new(cpu, "cpus", json_string(s->cpuset_cpus));
    if (s->cpuset_mems != NULL && *s->cpuset_mems != '\0')
        json_object_set_new(cpu, "mems", json_string(s->cpuset_mems));
    return cpu;
}

/* blockIO (getBlkioWeightDevices, getBlkioThrottleDevices): each device by the major and
 * minor numbers of its path, looked up now, as dockerd does when the container starts. */
static json_t *
blkio_json(const struct container_spec *s, struct err **err)
{
    static const char *const keys[] = {
        [BLKIO_WEIGHT] = "weightDevice",
        [BLKIO_READ_BPS] = "throttleReadBpsDevice",
        [BLKIO_WRITE_BPS] = "throttleWriteBpsDevice",
        [BLKIO_READ_IOPS] = "throttleReadIOPSDevice",
        [BLKIO_WRITE_IOPS] = "throttleWriteIOPSDevice",
    };
    json_t *b = json_object();
    if (s->blkio_weight > 0)
        json_object_set_new(b, "weight", json_integer(s->blkio_weight));
    for (size_t i = 0; i < s->n_blkio; i++) {
        const struct container_blkio *d = &s->blkio[i];
        struct stat st;
        if (stat(d->path, &st) < 0) {
            int saved = errno;
            json_decref(b);
            return err_make(err, ERR_INVALID, saved, "stat %s: %s", d->path, strerror(saved)), NULL;
        }
        json_t *list = json_object_get(b, keys[d->kind]);
        if (list == NULL) {
            list = json_array();
            json_object_set_new(b, keys[d->kind], list);
        }
        json_array_append_new(
            list, json_pack("{s:I, s:I, s:I}", "major", (json_int_t)major(st.st_rdev), "minor",
                            (json_int_t)minor(st.st_rdev),
                            d->kind == BLKIO_WEIGHT ? "weight" : "rate", (json_int_t)d->value));
    }
    return b;
}

/* linux.resources; takes rules (the device cgroup rules). */
static json_t *
resources_json(const struct container_spec *s, json_t *rules, struct err **err)
{
    json_t *blkio = blkio_json(s, err);
    if (blkio == NULL) {
        json_decref(rules);
        return NULL;
    }
    json_t *r = json_pack("{s:o}", "devices", rules);
    json_t *parts[] = {memory_json(s), cpu_json(s), blkio};
    const char *names[] = {"memory", "cpu", "blockIO"};
    for (size_t i = 0; i < 3; i++) {
        if (json_object_size(parts[i]) > 0)
            json_object_set_new(r, names[i], parts[i]);
        else
            json_decref(parts[i]);
    }
    if (s->pids_limit > 0)
        json_object_set_new(r, "pids", json_pack("{s:I}", "limit", (json_int_t)s->pids_limit));
    return r;
}

/* clang-format off */
static const char *const masked_default[] = {
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    NULL};
/* clang-format on */
static const char *const readonly_default[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};

static bool
host_cgroup2(void)
{
    struct statfs sfs;
    return statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

static bool
mode_is(const char *mode, const char *want)
{
    return mode != NULL && strcmp(mode, want) == 0;
}

static bool
mode_is_container(const char *mode)
{
    return mode != NULL && strncmp(mode, "container:", 10) == 0;
}

/* A namespace of type, joined when pid > 0. */
static json_t *
namespace_json(const char *type, pid_t pid)
{
    json_t *ns = json_pack("{s:s}", "type", type);
    if (pid > 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, type);
        json_object_set_new(ns, "path", json_string(path));
    }
    return ns;
}

/* WithNamespaces: a namespace of its own for each kind unless the mode shares the host's
 * (no entry) or another container's (its process's /proc/<pid>/ns path). */
static json_t *
namespaces_json(const struct container_spec *s, const struct oci_paths *paths, struct err **err)
{
    const struct oci_joins *j = &paths->joins;
    if ((mode_is_container(s->pid_mode) && j->pid <= 0) ||
        (mode_is_container(s->ipc_mode) && j->ipc <= 0 && !j->ipc_host))
        return err_make(err, ERR_CONFLICT, 0, "no process to share namespaces with"), NULL;
    /* Without a network namespace of its own the container shares the host's network (the
     * process driver's choice until it sets up networks): only --network none gets one. */
    json_t *ns = json_array();
    json_array_append_new(ns, namespace_json("mount", 0));
    if (paths->new_netns)
        json_array_append_new(ns, namespace_json("network", 0));
    if (!s->uts_host)
        json_array_append_new(ns, namespace_json("uts", 0));
    if (!mode_is(s->pid_mode, "host"))
        json_array_append_new(ns, namespace_json("pid", j->pid));
    if (!mode_is(s->ipc_mode, "host") && !j->ipc_host)
        json_array_append_new(ns, namespace_json("ipc", j->ipc));
    /* cgroup v2: private by default, as dockerd; v1: the host's unless asked */
    bool cgroupns = mode_is(s->cgroupns_mode, "private") ||
                    ((s->cgroupns_mode == NULL || *s->cgroupns_mode == '\0') && host_cgroup2());
    if (cgroupns)
        json_array_append_new(ns, namespace_json("cgroup", 0));
    return ns;
}

static json_t *
sysctl_json(const struct container_spec *s, bool new_netns, struct err **err)
{
    json_t *o = json_object();
    if (new_netns) { /* dockerd, for a private network namespace */
        json_object_set_new(o, "net.ipv4.ip_unprivileged_port_start", json_string("0"));
        json_object_set_new(o, "net.ipv4.ping_group_range", json_string("0 2147483647"));
    }
    for (size_t i = 0; i < s->sysctls.n; i++) {
        /* In the host's network namespace a net.* sysctl would change the host (runc refuses
         * it too). */
        if (!new_netns && strncmp(s->sysctls.keys[i], "net.", 4) == 0) {
            json_decref(o);
            return err_make(err, ERR_INVALID, 0,
                            "sysctl \"%s\" not allowed in host network namespace",
                            s->sysctls.keys[i]),
                   NULL;
        }
        json_object_set_new(o, s->sysctls.keys[i], json_string(s->sysctls.values[i]));
    }
    return o;
}

static json_t *
linux_json(const struct container *c, const struct oci_paths *paths, const char *root_prop,
           struct err **err)
{
    const struct container_spec *s = &c->spec;
    json_t *devs = NULL, *rules = NULL;
    json_t *ns = namespaces_json(s, paths, err);
    json_t *sysctl = ns != NULL ? sysctl_json(s, paths->new_netns, err) : NULL;
    if (sysctl == NULL || devices_json(s, &devs, &rules, err) < 0) {
        json_decref(ns);
        json_decref(sysctl);
        return NULL;
    }
    json_t *res = resources_json(s, rules, err);
    if (res == NULL) {
        json_decref(ns);
        json_decref(sysctl);
        json_decref(devs);
        return NULL;
    }
    json_t *l = json_object();
    if (json_object_size(sysctl) > 0)
        json_object_set(l, "sysctl", sysctl);
    json_decref(sysctl);
    json_object_set_new(l, "resources", res);
    if (s->cgroup_parent != NULL && *s->cgroup_parent != '\0') {
        char *cg = oci_cgroups_path(c);
        json_object_set_new(l, "cgroupsPath", json_string(cg));
        free(cg);
    } else if (paths->cgroups_path != NULL) {
        json_object_set_new(l, "cgroupsPath", json_string(paths->cgroups_path));
    }
    json_object_set_new(l, "namespaces", ns);
    if (json_array_size(devs) > 0)
        json_object_set(l, "devices", devs);
    json_decref(devs);
    if (!s->privileged) {
        json_t *masked = s->has_masked_paths ? strv_json(s->masked_paths)
                                             : strv_json((char *const *)masked_default);
        json_t *ro = s->has_readonly_paths ? strv_json(s->readonly_paths)
                                           : strv_json((char *const *)readonly_default);
        json_object_set_new(l, json_array_size(masked) > 0 ? "maskedPaths" : "-", masked);
        json_object_set_new(l, json_array_size(ro) > 0 ? "readonlyPaths" : "-", ro);
        json_object_del(l, "-");
    }
    if (*root_prop != '\0')
        json_object_set_new(l, "rootfsPropagation", json_string(root_prop));
    return l;
}

json_t *
oci_spec_container(const struct container *c, const struct oci_user *user,
                   const struct oci_paths *paths, struct err **err)
{
    const struct container_spec *s = &c->spec;
    if (s->init && paths->init_path == NULL)
        return err_make(err, ERR_UNSUPPORTED, 0,
                        "--init needs docker-init (tini), which is not installed on this host"),
               NULL;
    const char *root_prop = "";
    json_t *proc = process_json(c, user, s->init, err);
    json_t *own = proc != NULL ? user_mounts(c, paths, &root_prop, err) : NULL;
    json_t *lx = own != NULL ? linux_json(c, paths, root_prop, err) : NULL;
    if (lx == NULL) {
        json_decref(proc);
        json_decref(own);
        return NULL;
    }
    json_t *mounts = default_mounts(c, paths, own);
    json_array_extend(mounts, own);
    json_decref(own);
    json_t *root = json_pack("{s:s}", "path", paths->rootfs);
    if (s->read_only)
        json_object_set_new(root, "readonly", json_true());
    json_t *spec = json_pack("{s:s, s:o, s:o, s:o, s:o}", "ociVersion", "1.0.2-dev", "process",
                             proc, "root", root, "mounts", mounts, "linux", lx);
    /* UTSMode host: no namespace of its own, so no hostname to set (runc refuses one) */
    if (!s->uts_host)
        json_object_set_new(spec, "hostname", json_string(s->hostname != NULL ? s->hostname : ""));
    if (s->annotations.n > 0) {
        json_t *a = json_object();
        for (size_t i = 0; i < s->annotations.n; i++)
            json_object_set_new(a, s->annotations.keys[i], json_string(s->annotations.values[i]));
        json_object_set_new(spec, "annotations", a);
    }
    return spec;
}

/* ---- what a container shares, where its cgroup is, what cannot be honoured ---- */

/* The running process of the container ref names, for a "container:" mode. Lock held. */
static pid_t
join_pid(struct engine *eng, const struct container *c, const char *ref, const char **ipc_mode,
         struct err **err)
{
    const struct container *d = store_find_container(&eng->store, ref, err);
    if (d == NULL)
        return -1;
    if (d->state.status == CONTAINER_RESTARTING)
        return err_make(err, ERR_CONFLICT, 0,
                        "Container %s is restarting, wait until the container is running", d->id);
    /* a container of another driver has no process whose namespaces could be joined */
    if (!container_is_running(d) || d->state.pid <= 0 || d->driver != c->driver)
        return err_make(err, ERR_CONFLICT, 0, "container %s is not running", d->id);
    *ipc_mode = d->spec.ipc_mode;
    return d->state.pid;
}

int
oci_joins_resolve(struct engine *eng, const struct container *c, struct oci_joins *out,
                  struct err **err)
{
    const struct container_spec *s = &c->spec;
    struct oci_joins j = {0};
    const char *donor_ipc = NULL;
    int rc = 0;
    engine_lock(eng);
    if (mode_is_container(s->pid_mode)) {
        j.pid = join_pid(eng, c, s->pid_mode + 10, &donor_ipc, err);
        rc = j.pid < 0 ? -1 : 0;
    }
    if (rc == 0 && mode_is_container(s->ipc_mode)) {
        const char *ref = s->ipc_mode + 10;
        j.ipc = join_pid(eng, c, ref, &donor_ipc, err);
        if (j.ipc < 0) {
            rc = err_wrap(err, "can't join IPC of container %s", ref);
        } else if (mode_is(donor_ipc, "host")) {
            j.ipc = 0;
            j.ipc_host = true;
        } else if (!mode_is(donor_ipc, "shareable")) {
            /* dockerd shares only the IPC of a container created to share it */
            rc = err_make(err, ERR_CONFLICT, 0,
                          "can't join IPC of container %s: non-shareable IPC (hint: use "
                          "IpcMode:shareable for the donor container)",
                          ref);
        }
    }
    engine_unlock(eng);
    if (rc == 0)
        *out = j;
    return rc;
}

char *
oci_cgroups_path(const struct container *c)
{
    const char *parent = c->spec.cgroup_parent;
    if (parent == NULL || *parent == '\0')
        return xasprintf("/sockerless/%s", c->id);
    /* filepath.Join: one slash between the parent and the ID */
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/')
        n--;
    return xasprintf("%.*s%s%s", (int)n, parent, parent[n - 1] == '/' ? "" : "/", c->id);
}

int
oci_spec_validate(const struct container *c, struct err **err)
{
    const struct container_spec *s = &c->spec;
    if (s->unsupported != NULL && s->unsupported[0] != NULL)
        return err_make(err, ERR_INVALID, 0, "%s", s->unsupported[0]);
    const char *rt = s->runtime;
    const char *in_use = process_driver_runtime();
    if (rt == NULL || *rt == '\0' || in_use == NULL)
        return 0;
    const char *base = strrchr(in_use, '/');
    base = base != NULL ? base + 1 : in_use;
    /* the one runtime in use, by name or path: dockerd's list of runtimes is its config's */
    if (strcmp(rt, base) != 0 && strcmp(rt, in_use) != 0)
        return err_make(err, ERR_INVALID, 0, "Unknown runtime specified %s", rt);
    return 0;
}

/* ---- /etc/hosts and /etc/resolv.conf ---- */

static bool
is_mode(const struct container *c, const char *mode)
{
    return c->spec.network_mode != NULL && strcmp(c->spec.network_mode, mode) == 0;
}

char *
oci_hosts_file(const struct container *c, const char *ipv4_or_null)
{
    const struct container_spec *s = &c->spec;
    bool host_mode = is_mode(c, "host");
    if (host_mode && strv_len(s->extra_hosts) == 0)
        return read_host_file("/etc/hosts");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs("127.0.0.1\tlocalhost\n"
          "::1\tlocalhost ip6-localhost ip6-loopback\n"
          "fe00::0\tip6-localnet\n"
          "ff00::0\tip6-mcastprefix\n"
          "ff02::1\tip6-allnodes\n"
          "ff02::2\tip6-allrouters\n",
          f);
    for (size_t i = 0; s->extra_hosts != NULL && s->extra_hosts[i] != NULL; i++) {
        const char *e = s->extra_hosts[i];
        const char *colon = strchr(e, ':'); /* the first: the address may be IPv6 */
        if (colon == NULL)
            continue; /* refused at create */
        const char *ip = strcmp(colon + 1, "host-gateway") == 0 ? "127.0.0.1" : colon + 1;
        fprintf(f, "%s\t%.*s\n", ip, (int)(colon - e), e);
    }
    if (ipv4_or_null != NULL && !host_mode) {
        /* libnetwork: "<fqdn> <short>" when the name has a domain, else the name */
        const char *h = s->hostname != NULL ? s->hostname : "";
        cleanup_free char *fqdn = s->domainname != NULL && *s->domainname
                                      ? xasprintf("%s.%s", h, s->domainname)
                                      : xstrdup(h);
        const char *dot = strchr(fqdn, '.');
        if (dot != NULL)
            fprintf(f, "%s\t%s %.*s\n", ipv4_or_null, fqdn, (int)(dot - fqdn), fqdn);
        else
            fprintf(f, "%s\t%s\n", ipv4_or_null, fqdn);
    }
    fclose(f);
    return text;
}

/* Whitespace-separated words of a resolv.conf line, comments ('#' onwards) dropped. */
static char **
line_words(const char *line, size_t len)
{
    const char *hash = memchr(line, '#', len);
    cleanup_free char *copy = xstrndup(line, hash != NULL ? (size_t)(hash - line) : len);
    char **w = NULL;
    for (char *save = NULL, *t = strtok_r(copy, " \t\r\f\v", &save); t;
         t = strtok_r(NULL, " \t\r\f\v", &save))
        w = strv_append(w, t);
    return w;
}

static bool
is_ip(const char *s)
{
    unsigned char buf[16];
    cleanup_free char *copy = xstrdup(s);
    char *zone = strchr(copy, '%'); /* resolvconf's IPv6 pattern allows a zone */
    if (zone != NULL)
        *zone = '\0';
    return inet_pton(AF_INET, copy, buf) == 1 || inet_pton(AF_INET6, copy, buf) == 1;
}

/* The nameservers, the last search line and the last options line of a resolv.conf. */
static void
resolv_parse(const char *text, char ***ns, char ***search, char ***options)
{
    for (const char *p = text; p != NULL && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        char **w = line_words(p, len);
        if (w != NULL && strcmp(w[0], "nameserver") == 0 && w[1] != NULL && w[2] == NULL &&
            is_ip(w[1]))
            *ns = strv_append(*ns, w[1]);
        char ***last = w == NULL                      ? NULL
                       : strcmp(w[0], "search") == 0  ? search
                       : strcmp(w[0], "options") == 0 ? options
                                                      : NULL;
        if (last != NULL) {
            strv_free(*last);
            *last = strv_dup(w + 1);
            if (*last == NULL)
                *last = xcalloc(1, sizeof(char *));
        }
        strv_free(w);
        p = nl != NULL ? nl + 1 : NULL;
    }
}

static bool
is_localhost_ns(const char *line, size_t len)
{
    /* resolvconf's localhostNSRegexp: ^nameserver\s+(127.x.x.x|::1$) */
    cleanup_free char *l = xstrndup(line, len);
    if (strncmp(l, "nameserver", 10) != 0 || !isspace((unsigned char)l[10]))
        return false;
    const char *a = l + 10;
    while (isspace((unsigned char)*a))
        a++;
    if (strcmp(a, "::1") == 0)
        return true;
    unsigned o[4];
    char end = 0;
    int n = sscanf(a, "127.%3u.%3u.%3u%c", &o[0], &o[1], &o[2], &end);
    return n >= 3 && strncmp(a, "127.", 4) == 0;
}

/* resolvconf.FilterResolvDNS with IPv6 on: the file without localhost nameservers, and
 * Google's public servers when none is left. */
static char *
resolv_filter(const char *text)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (!is_localhost_ns(p, n))
            fwrite(p, 1, n + (nl != NULL), f);
        p += n + (nl != NULL);
    }
    fclose(f);
    char **ns = NULL, **search = NULL, **options = NULL;
    resolv_parse(out, &ns, &search, &options);
    bool none = ns == NULL;
    strv_free(ns);
    strv_free(search);
    strv_free(options);
    if (!none)
        return out;
    char *with = xasprintf("%s\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
                           "nameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844",
                           out);
    free(out);
    return with;
}

static void
put_words(FILE *f, const char *key, char *const *w)
{
    fputs(key, f);
    for (size_t i = 0; w[i] != NULL; i++)
        fprintf(f, "%s%s", i > 0 ? " " : "", w[i]);
    fputc('\n', f);
}

char *
oci_resolv_conf_from(const struct container *c, const char *host_text)
{
    const struct container_spec *s = &c->spec;
    if (s->dns == NULL && s->dns_search == NULL && s->dns_options == NULL)
        return is_mode(c, "none") ? resolv_filter(host_text) : xstrdup(host_text);
    char **ns = NULL, **search = NULL, **options = NULL;
    resolv_parse(host_text, &ns, &search, &options);
    char *const *use_ns = s->dns != NULL ? s->dns : ns;
    char *const *use_search = s->dns_search != NULL ? s->dns_search : search;
    char *const *use_options = s->dns_options != NULL ? s->dns_options : options;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    /* resolvconf.Build: "search ." alone means no search line */
    if (strv_len(use_search) > 0 && !(strv_len(use_search) == 1 && strcmp(use_search[0], ".") == 0))
        put_words(f, "search ", use_search);
    for (size_t i = 0; use_ns != NULL && use_ns[i] != NULL; i++)
        fprintf(f, "nameserver %s\n", use_ns[i]);
    if (strv_len(use_options) > 0)
        put_words(f, "options ", use_options);
    fclose(f);
    strv_free(ns);
    strv_free(search);
    strv_free(options);
    return text;
}

char *
oci_resolv_conf(const struct container *c)
{
    cleanup_free char *host = read_host_file("/etc/resolv.conf");
    return oci_resolv_conf_from(c, host);
}
