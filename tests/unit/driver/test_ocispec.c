/* driver/ocispec: the config.json of hand-built containers (args, env, mounts and their order
 * and options, read-only root, namespaces and their modes, capabilities, resources, block I/O,
 * devices and device cgroup rules, cgroups path, annotations), the exec process spec,
 * /etc/hosts and resolv.conf, user resolution against fake roots under /tmp, the processes
 * "container:" modes join (against a real engine), and the create-time refusals. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/labels.h"
#include "base/strv.h"
#include "base/xalloc.h"
#include "driver/driver.h"
#include "driver/ocispec.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "engine/volume.h"

#include "../cmocka_prelude.h"

/* ---- helpers ---- */

static struct container *
new_container(void)
{
    struct container *c = container_new();
    memcpy(c->id, "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef", ID_LEN);
    c->spec.hostname = xstrdup("0123456789ab");
    c->path = xstrdup("sh");
    c->args = strv_append(strv_append(NULL, "-c"), "echo hi");
    c->spec.env = strv_append(NULL, "FOO=bar");
    return c;
}

static void
add_mount(struct container *c, enum mount_type t, const char *src, const char *dst,
          const char *mode, bool rw)
{
    c->mounts = xrealloc(c->mounts, (c->n_mounts + 1) * sizeof(*c->mounts));
    c->mounts[c->n_mounts++] = (struct mount){
        .type = t,
        .name = t == MOUNT_VOLUME ? xstrdup("vol") : NULL,
        .source = xstrdup(src),
        .destination = xstrdup(dst),
        .mode = xstrdup(mode),
        .rw = rw,
    };
}

static struct oci_user root_user = {.uid = 0, .gid = 0, .home = (char *)"/root"};
static const struct oci_paths base_paths = {
    .rootfs = "/tmp/root",
    .hosts = "/c/hosts",
    .hostname = "/c/hostname",
    .resolv_conf = "/c/resolv.conf",
    .cgroups_path = "/sockerless/x",
};

/* A JSON array of strings as "a,b,c" (a new string). */
static char *
joined(json_t *a)
{
    char *out = xstrdup("");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        char *n = xasprintf("%s%s%s", out, i ? "," : "", json_string_value(v));
        free(out);
        out = n;
    }
    return out;
}

static void
assert_joined(json_t *a, const char *want)
{
    char *got = joined(a);
    assert_string_equal(got, want);
    free(got);
}

static json_t *
find_mount(json_t *spec, const char *dest)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(spec, "mounts"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
            return m;
    }
    return NULL;
}

static char *
mount_dests(json_t *spec)
{
    json_t *a = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(spec, "mounts"), i, m)
    {
        json_array_append(a, json_object_get(m, "destination"));
    }
    char *s = joined(a);
    json_decref(a);
    return s;
}

static char *
namespaces(json_t *spec)
{
    json_t *a = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, n)
    {
        json_array_append(a, json_object_get(n, "type"));
    }
    char *s = joined(a);
    json_decref(a);
    return s;
}

static json_t *
process_of(json_t *spec)
{
    return json_object_get(spec, "process");
}

static json_t *
caps_of(json_t *process, const char *set)
{
    return json_object_get(json_object_get(process, "capabilities"), set);
}

static const char default_caps[] =
    "CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FSETID,CAP_FOWNER,CAP_MKNOD,CAP_NET_RAW,CAP_SETGID,"
    "CAP_SETUID,CAP_SETFCAP,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_SYS_CHROOT,CAP_KILL,"
    "CAP_AUDIT_WRITE";

/* ---- the container spec ---- */

static void
test_basic_spec(void **state)
{
    (void)state;
    struct container *c = new_container();
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    assert_non_null(spec);
    assert_string_equal(json_string_value(json_object_get(spec, "ociVersion")), "1.0.2-dev");
    json_t *p = process_of(spec);
    assert_joined(json_object_get(p, "args"), "sh,-c,echo hi");
    assert_joined(json_object_get(p, "env"),
                  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,"
                  "HOSTNAME=0123456789ab,FOO=bar,HOME=/root");
    assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/");
    assert_null(json_object_get(p, "terminal"));
    assert_null(json_object_get(p, "noNewPrivileges"));
    assert_int_equal(json_integer_value(json_object_get(p, "oomScoreAdj")), 0);
    assert_joined(caps_of(p, "bounding"), default_caps);
    assert_joined(caps_of(p, "effective"), default_caps);
    assert_joined(caps_of(p, "permitted"), default_caps);
    json_t *user = json_object_get(p, "user");
    assert_int_equal(json_integer_value(json_object_get(user, "uid")), 0);
    json_t *root = json_object_get(spec, "root");
    assert_string_equal(json_string_value(json_object_get(root, "path")), "/tmp/root");
    assert_null(json_object_get(root, "readonly"));
    assert_string_equal(json_string_value(json_object_get(spec, "hostname")), "0123456789ab");
    char *dests = mount_dests(spec);
    assert_string_equal(dests, "/proc,/dev,/dev/pts,/sys,/sys/fs/cgroup,/dev/mqueue,/dev/shm,"
                               "/etc/resolv.conf,/etc/hostname,/etc/hosts");
    free(dests);
    assert_joined(json_object_get(find_mount(spec, "/dev/shm"), "options"),
                  "nosuid,noexec,nodev,mode=1777,size=67108864");
    assert_joined(json_object_get(find_mount(spec, "/sys"), "options"), "nosuid,noexec,nodev,ro");
    assert_joined(json_object_get(find_mount(spec, "/etc/hosts"), "options"), "rbind,rprivate");
    json_t *lx = json_object_get(spec, "linux");
    char *ns = namespaces(spec);
    assert_true(strcmp(ns, "mount,uts,pid,ipc") == 0 ||
                strcmp(ns, "mount,uts,pid,ipc,cgroup") == 0);
    free(ns);
    assert_null(json_object_get(lx, "sysctl"));
    assert_string_equal(json_string_value(json_object_get(lx, "cgroupsPath")), "/sockerless/x");
    assert_int_equal(json_array_size(json_object_get(lx, "maskedPaths")), 10);
    assert_joined(json_object_get(lx, "readonlyPaths"),
                  "/proc/bus,/proc/fs,/proc/irq,/proc/sys,/proc/sysrq-trigger");
    json_t *rules = json_object_get(json_object_get(lx, "resources"), "devices");
    assert_int_equal(json_array_size(rules), 8);
    json_t *deny = json_array_get(rules, 0);
    assert_false(json_is_true(json_object_get(deny, "allow")));
    assert_null(json_object_get(deny, "type"));
    assert_null(json_object_get(json_object_get(lx, "resources"), "memory"));
    json_decref(spec);
    container_unref(c);
}

static void
test_env_rules(void **state)
{
    (void)state;
    struct container *c = new_container();
    strv_free(c->spec.env);
    /* the image's PATH replaces the default in place; "HOSTNAME" without '=' removes it */
    c->spec.env = strv_append(strv_append(strv_append(NULL, "A=1"), "PATH=/x"), "HOSTNAME");
    c->spec.env = strv_append(c->spec.env, "HOME=/h");
    c->spec.tty = true;
    c->spec.working_dir = xstrdup("/w");
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    json_t *p = process_of(spec);
    assert_joined(json_object_get(p, "env"), "PATH=/x,TERM=xterm,A=1,HOME=/h");
    assert_true(json_is_true(json_object_get(p, "terminal")));
    assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/w");
    json_decref(spec);
    free(c->path);
    c->path = NULL;
    struct err *err = NULL;
    assert_null(oci_spec_container(c, &root_user, &base_paths, &err));
    assert_string_equal(err->msg, "No command specified");
    err_clear(&err);
    container_unref(c);
}

static void
test_mounts_order_and_options(void **state)
{
    (void)state;
    struct container *c = new_container();
    add_mount(c, MOUNT_BIND, "/srv/deep", "/a/b/c", "", true);
    add_mount(c, MOUNT_BIND, "/srv/data", "/data", "ro", false);
    add_mount(c, MOUNT_VOLUME, "/vols/v/_data", "/v", "z", true);
    add_mount(c, MOUNT_VOLUME, "/vols/ro/_data", "/vro", "ro", false);
    add_mount(c, MOUNT_BIND, "/srv/s", "/s", "rslave", true);
    add_mount(c, MOUNT_TMPFS, "", "/t2", "", false);
    add_mount(c, MOUNT_VOLUME, "/vols/anon/_data", "/run", "", true); /* replaced by Tmpfs */
    add_mount(c, MOUNT_BIND, "/srv/shm", "/dev/shm", "", true);
    labels_add(&c->spec.tmpfs, "/run", "size=2m,exec");
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    assert_non_null(spec);
    char *dests = mount_dests(spec);
    /* defaults (their /dev/shm replaced), then parents before children, stable */
    assert_string_equal(dests, "/proc,/dev,/dev/pts,/sys,/sys/fs/cgroup,/dev/mqueue,"
                               "/data,/v,/vro,/s,/run,/t2,/dev/shm,/etc/resolv.conf,"
                               "/etc/hostname,/etc/hosts,/a/b/c");
    free(dests);
    json_t *m = find_mount(spec, "/data");
    assert_string_equal(json_string_value(json_object_get(m, "type")), "bind");
    assert_string_equal(json_string_value(json_object_get(m, "source")), "/srv/data");
    assert_joined(json_object_get(m, "options"), "rbind,ro,rprivate");
    assert_joined(json_object_get(find_mount(spec, "/v"), "options"), "rbind");
    assert_joined(json_object_get(find_mount(spec, "/vro"), "options"), "rbind,ro");
    assert_joined(json_object_get(find_mount(spec, "/s"), "options"), "rbind,rslave");
    m = find_mount(spec, "/run");
    assert_string_equal(json_string_value(json_object_get(m, "type")), "tmpfs");
    assert_joined(json_object_get(m, "options"), "nosuid,nodev,rprivate,size=2m,exec");
    assert_joined(json_object_get(find_mount(spec, "/t2"), "options"),
                  "noexec,nosuid,nodev,rprivate,ro");
    assert_joined(json_object_get(find_mount(spec, "/dev/shm"), "options"), "rbind,rprivate");
    json_t *lx = json_object_get(spec, "linux");
    assert_string_equal(json_string_value(json_object_get(lx, "rootfsPropagation")), "rslave");
    json_decref(spec);

    /* a mount over /dev drops every default below it; a bind over /etc/hosts wins */
    add_mount(c, MOUNT_BIND, "/srv/dev", "/dev", "", true);
    add_mount(c, MOUNT_BIND, "/srv/hosts", "/etc/hosts", "", true);
    spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    dests = mount_dests(spec);
    assert_string_equal(dests, "/proc,/sys,/sys/fs/cgroup,/data,/v,/vro,/s,/dev,/run,/t2,"
                               "/dev/shm,/etc/hosts,/etc/resolv.conf,/etc/hostname,/a/b/c");
    free(dests);
    assert_string_equal(
        json_string_value(json_object_get(find_mount(spec, "/etc/hosts"), "source")), "/srv/hosts");
    json_decref(spec);

    /* an unknown tmpfs option is refused with dockerd's words */
    labels_add(&c->spec.tmpfs, "/bad", "size=1m,foo");
    struct err *err = NULL;
    assert_null(oci_spec_container(c, &root_user, &base_paths, &err));
    assert_int_equal(err->kind, ERR_INVALID);
    assert_string_equal(err->msg, "invalid tmpfs option [\"foo\"]");
    err_clear(&err);
    container_unref(c);
}

static void
test_readonly_root(void **state)
{
    (void)state;
    struct container *c = new_container();
    c->spec.read_only = true;
    c->spec.shm_size = 32 * 1024 * 1024;
    add_mount(c, MOUNT_VOLUME, "/vols/v/_data", "/v", "", true);
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    assert_true(json_is_true(json_object_get(json_object_get(spec, "root"), "readonly")));
    assert_joined(json_object_get(find_mount(spec, "/etc/hosts"), "options"), "rbind,ro,rprivate");
    assert_joined(json_object_get(find_mount(spec, "/etc/resolv.conf"), "options"),
                  "rbind,ro,rprivate");
    assert_joined(json_object_get(find_mount(spec, "/v"), "options"), "rbind");
    assert_joined(json_object_get(find_mount(spec, "/dev/shm"), "options"),
                  "nosuid,noexec,nodev,mode=1777,size=33554432");
    json_decref(spec);
    container_unref(c);
}

static void
test_network_namespace(void **state)
{
    (void)state;
    struct container *c = new_container();
    labels_add(&c->spec.sysctls, "net.ipv4.ip_forward", "1");
    struct oci_paths paths = base_paths;
    paths.new_netns = true;
    json_t *spec = oci_spec_container(c, &root_user, &paths, NULL);
    char *ns = namespaces(spec);
    assert_true(strncmp(ns, "mount,network,uts,pid,ipc", 25) == 0);
    free(ns);
    json_t *sysctl = json_object_get(json_object_get(spec, "linux"), "sysctl");
    assert_string_equal(json_string_value(json_object_get(sysctl, "net.ipv4.ip_forward")), "1");
    assert_string_equal(json_string_value(json_object_get(sysctl, "net.ipv4.ping_group_range")),
                        "0 2147483647");
    assert_string_equal(
        json_string_value(json_object_get(sysctl, "net.ipv4.ip_unprivileged_port_start")), "0");
    json_decref(spec);
    /* sharing the host's network: a net.* sysctl would change the host */
    struct err *err = NULL;
    assert_null(oci_spec_container(c, &root_user, &base_paths, &err));
    assert_string_equal(err->msg,
                        "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace");
    err_clear(&err);
    labels_fini(&c->spec.sysctls);
    labels_add(&c->spec.sysctls, "kernel.shmmax", "100000");
    spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    json_t *lx = json_object_get(spec, "linux");
    assert_int_equal(json_object_size(json_object_get(lx, "sysctl")), 1);
    ns = namespaces(spec);
    assert_null(strstr(ns, "network"));
    free(ns);
    json_decref(spec);
    container_unref(c);
}

static size_t
bounding_count(void)
{
    size_t n = 0;
    for (int i = 0; i < 64; i++)
        n += prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1;
    return n;
}

static void
test_capabilities(void **state)
{
    (void)state;
    struct container *c = new_container();
    c->spec.cap_drop = strv_append(NULL, "CAP_MKNOD");
    c->spec.cap_add = strv_append(strv_append(NULL, "CAP_NET_ADMIN"), "CAP_CHOWN");
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    assert_joined(caps_of(process_of(spec), "bounding"),
                  "CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FSETID,CAP_FOWNER,CAP_NET_RAW,CAP_SETGID,"
                  "CAP_SETUID,CAP_SETFCAP,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_SYS_CHROOT,"
                  "CAP_KILL,CAP_AUDIT_WRITE,CAP_NET_ADMIN");
    json_decref(spec);
    /* drop ALL: only what is added; a non-root user gets the bounding set only */
    strv_free(c->spec.cap_drop);
    c->spec.cap_drop = strv_append(NULL, "ALL");
    struct oci_user u = {.uid = 1000, .gid = 1000, .home = (char *)"/home/u"};
    spec = oci_spec_container(c, &u, &base_paths, NULL);
    json_t *p = process_of(spec);
    assert_joined(caps_of(p, "bounding"), "CAP_NET_ADMIN,CAP_CHOWN");
    assert_null(caps_of(p, "effective"));
    assert_null(caps_of(p, "permitted"));
    json_decref(spec);
    /* privileged: every capability we hold, no masked paths, writable /sys, all devices */
    c->spec.privileged = true;
    spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    p = process_of(spec);
    assert_int_equal(json_array_size(caps_of(p, "bounding")), bounding_count());
    assert_int_equal(json_array_size(caps_of(p, "effective")), bounding_count());
    json_t *lx = json_object_get(spec, "linux");
    assert_null(json_object_get(lx, "maskedPaths"));
    assert_null(json_object_get(lx, "readonlyPaths"));
    assert_joined(json_object_get(find_mount(spec, "/sys"), "options"), "nosuid,noexec,nodev");
    assert_joined(json_object_get(find_mount(spec, "/sys/fs/cgroup"), "options"),
                  "nosuid,noexec,nodev");
    json_t *rules = json_object_get(json_object_get(lx, "resources"), "devices");
    assert_int_equal(json_array_size(rules), 1);
    assert_true(json_is_true(json_object_get(json_array_get(rules, 0), "allow")));
    json_decref(spec);
    container_unref(c);

    assert_string_equal(oci_cap_canonical("net_admin"), "CAP_NET_ADMIN");
    assert_string_equal(oci_cap_canonical("Cap_Sys_Admin"), "CAP_SYS_ADMIN");
    assert_string_equal(oci_cap_canonical("all"), "ALL");
    assert_null(oci_cap_canonical("FOO"));
    assert_true(oci_rlimit_is_known("NOFILE"));
    assert_false(oci_rlimit_is_known("foo"));
}

static void
test_resources_and_limits(void **state)
{
    (void)state;
    struct container *c = new_container();
    c->spec.memory = 64 << 20;
    c->spec.memory_swap = 128 << 20;
    c->spec.nano_cpus = 1500000000;
    c->spec.cpu_shares = 512;
    c->spec.pids_limit = 100;
    c->spec.oom_score_adj = 100;
    c->spec.no_new_privileges = true;
    c->spec.ulimits = xcalloc(2, sizeof(*c->spec.ulimits));
    c->spec.ulimits[0] = (struct container_ulimit){xstrdup("nofile"), 1024, 2048};
    c->spec.ulimits[1] = (struct container_ulimit){xstrdup("nproc"), -1, -1};
    c->spec.n_ulimits = 2;
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    json_t *r = json_object_get(json_object_get(spec, "linux"), "resources");
    json_t *mem = json_object_get(r, "memory"), *cpu = json_object_get(r, "cpu");
    assert_int_equal(json_integer_value(json_object_get(mem, "limit")), 67108864);
    assert_int_equal(json_integer_value(json_object_get(mem, "swap")), 134217728);
    assert_int_equal(json_integer_value(json_object_get(cpu, "shares")), 512);
    assert_int_equal(json_integer_value(json_object_get(cpu, "quota")), 150000);
    assert_int_equal(json_integer_value(json_object_get(cpu, "period")), 100000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "pids"), "limit")), 100);
    json_t *p = process_of(spec);
    assert_true(json_is_true(json_object_get(p, "noNewPrivileges")));
    assert_int_equal(json_integer_value(json_object_get(p, "oomScoreAdj")), 100);
    json_t *rl = json_object_get(p, "rlimits");
    assert_int_equal(json_array_size(rl), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rl, 0), "type")),
                        "RLIMIT_NOFILE");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rl, 0), "soft")), 1024);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rl, 0), "hard")), 2048);
    assert_true(json_integer_value(json_object_get(json_array_get(rl, 1), "hard")) == INT64_MAX);
    json_decref(spec);
    /* explicit quota and period win; swap -1 is unlimited */
    c->spec.nano_cpus = 0;
    c->spec.cpu_quota = 50000;
    c->spec.cpu_period = 200000;
    c->spec.memory_swap = -1;
    spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    r = json_object_get(json_object_get(spec, "linux"), "resources");
    cpu = json_object_get(r, "cpu");
    assert_int_equal(json_integer_value(json_object_get(cpu, "quota")), 50000);
    assert_int_equal(json_integer_value(json_object_get(cpu, "period")), 200000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "memory"), "swap")), -1);
    json_decref(spec);
    container_unref(c);
}

static void
test_devices(void **state)
{
    (void)state;
    struct container *c = new_container();
    c->spec.devices = xcalloc(1, sizeof(*c->spec.devices));
    c->spec.devices[0] =
        (struct container_device){xstrdup("/dev/null"), xstrdup("/dev/mynull"), xstrdup("rw")};
    c->spec.n_devices = 1;
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    json_t *lx = json_object_get(spec, "linux");
    json_t *d = json_array_get(json_object_get(lx, "devices"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "path")), "/dev/mynull");
    assert_string_equal(json_string_value(json_object_get(d, "type")), "c");
    assert_int_equal(json_integer_value(json_object_get(d, "major")), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "minor")), 3);
    json_t *rules = json_object_get(json_object_get(lx, "resources"), "devices");
    json_t *last = json_array_get(rules, json_array_size(rules) - 1);
    assert_true(json_is_true(json_object_get(last, "allow")));
    assert_string_equal(json_string_value(json_object_get(last, "access")), "rw");
    json_decref(spec);
    free(c->spec.devices[0].path_on_host);
    c->spec.devices[0].path_on_host = xstrdup("/dev/nosuch-ocispec");
    struct err *err = NULL;
    assert_null(oci_spec_container(c, &root_user, &base_paths, &err));
    assert_string_equal(err->msg, "error gathering device information while adding custom "
                                  "device \"/dev/nosuch-ocispec\": No such file or directory");
    err_clear(&err);
    free(c->spec.devices[0].path_on_host);
    c->spec.devices[0].path_on_host = xstrdup("/tmp");
    assert_null(oci_spec_container(c, &root_user, &base_paths, &err));
    assert_non_null(strstr(err->msg, "not a device node"));
    err_clear(&err);
    container_unref(c);
}

static void
test_init(void **state)
{
    (void)state;
    struct container *c = new_container();
    c->spec.init = true;
    struct err *err = NULL;
    assert_null(oci_spec_container(c, &root_user, &base_paths, &err));
    assert_int_equal(err->kind, ERR_UNSUPPORTED);
    err_clear(&err);
    struct oci_paths paths = base_paths;
    paths.init_path = "/usr/bin/docker-init";
    json_t *spec = oci_spec_container(c, &root_user, &paths, NULL);
    assert_joined(json_object_get(process_of(spec), "args"), "/sbin/docker-init,--,sh,-c,echo hi");
    json_t *m = find_mount(spec, "/sbin/docker-init");
    assert_string_equal(json_string_value(json_object_get(m, "source")), "/usr/bin/docker-init");
    assert_joined(json_object_get(m, "options"), "bind,ro");
    json_decref(spec);
    container_unref(c);
}

static void
test_masked_paths_given(void **state)
{
    (void)state;
    struct container *c = new_container();
    c->spec.has_masked_paths = true; /* systempaths=unconfined: [] */
    c->spec.masked_paths = xcalloc(1, sizeof(char *));
    c->spec.has_readonly_paths = true;
    c->spec.readonly_paths = strv_append(NULL, "/proc/sys");
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    json_t *lx = json_object_get(spec, "linux");
    assert_null(json_object_get(lx, "maskedPaths"));
    assert_joined(json_object_get(lx, "readonlyPaths"), "/proc/sys");
    json_decref(spec);
    container_unref(c);
}

/* ---- the exec spec ---- */

static void
test_exec_spec(void **state)
{
    (void)state;
    struct container *c = new_container();
    c->spec.working_dir = xstrdup("/app");
    c->spec.no_new_privileges = true;
    c->spec.ulimits = xcalloc(1, sizeof(*c->spec.ulimits));
    c->spec.ulimits[0] = (struct container_ulimit){xstrdup("nofile"), 10, 20};
    c->spec.n_ulimits = 1;
    struct exec e = {0};
    e.cmd = strv_append(strv_append(NULL, "ls"), "-l");
    e.env = strv_append(strv_append(NULL, "FOO=bar"), "X=1");
    e.tty = true;
    struct oci_user u = {.uid = 1000, .gid = 100, .home = (char *)"/home/u"};
    json_t *p = oci_spec_exec(c, &e, &u, NULL);
    assert_non_null(p);
    assert_joined(json_object_get(p, "args"), "ls,-l");
    assert_joined(json_object_get(p, "env"),
                  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,"
                  "HOSTNAME=0123456789ab,TERM=xterm,FOO=bar,X=1,HOME=/home/u");
    assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/app");
    assert_true(json_is_true(json_object_get(p, "terminal")));
    assert_true(json_is_true(json_object_get(p, "noNewPrivileges")));
    assert_int_equal(json_array_size(json_object_get(p, "rlimits")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "user"), "uid")), 1000);
    assert_joined(caps_of(p, "bounding"), default_caps);
    assert_null(caps_of(p, "effective"));
    json_decref(p);
    e.working_dir = xstrdup("/tmp");
    e.privileged = true;
    e.tty = false;
    p = oci_spec_exec(c, &e, &u, NULL);
    assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/tmp");
    assert_null(json_object_get(p, "terminal"));
    assert_int_equal(json_array_size(caps_of(p, "effective")), bounding_count());
    json_decref(p);
    free(c->spec.working_dir);
    c->spec.working_dir = NULL;
    free(e.working_dir);
    e.working_dir = NULL;
    p = oci_spec_exec(c, &e, &u, NULL);
    assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/");
    json_decref(p);
    strv_free(e.cmd);
    strv_free(e.env);
    container_unref(c);
}

/* ---- /etc/hosts and resolv.conf ---- */

static const char hosts_head[] = "127.0.0.1\tlocalhost\n"
                                 "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                 "fe00::0\tip6-localnet\n"
                                 "ff00::0\tip6-mcastprefix\n"
                                 "ff02::1\tip6-allnodes\n"
                                 "ff02::2\tip6-allrouters\n";

static void
test_hosts_file(void **state)
{
    (void)state;
    struct container *c = new_container();
    char *h = oci_hosts_file(c, NULL);
    assert_string_equal(h, hosts_head);
    free(h);
    h = oci_hosts_file(c, "172.17.0.5");
    char *want = xasprintf("%s172.17.0.5\t0123456789ab\n", hosts_head);
    assert_string_equal(h, want);
    free(h);
    free(want);
    c->spec.extra_hosts = strv_append(strv_append(NULL, "foo:1.2.3.4"), "bar:::1");
    c->spec.extra_hosts = strv_append(c->spec.extra_hosts, "gw:host-gateway");
    c->spec.domainname = xstrdup("example.com");
    free(c->spec.hostname);
    c->spec.hostname = xstrdup("h2");
    h = oci_hosts_file(c, "10.0.0.2");
    want = xasprintf("%s1.2.3.4\tfoo\n::1\tbar\n127.0.0.1\tgw\n10.0.0.2\th2.example.com h2\n",
                     hosts_head);
    assert_string_equal(h, want);
    free(h);
    free(want);
    container_unref(c);
}

static void
test_resolv_conf(void **state)
{
    (void)state;
    const char host[] = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.1 # lan\n"
                        "search a.example b.example\noptions ndots:1 edns0\n";
    struct container *c = new_container();
    /* sharing the host's network: the host's file as it is */
    char *r = oci_resolv_conf_from(c, host);
    assert_string_equal(r, host);
    free(r);
    /* --network none: no localhost resolver; Google's when none is left */
    c->spec.network_mode = xstrdup("none");
    r = oci_resolv_conf_from(c, host);
    assert_string_equal(r, "# generated\nnameserver 10.0.0.1 # lan\n"
                           "search a.example b.example\noptions ndots:1 edns0\n");
    free(r);
    r = oci_resolv_conf_from(c, "nameserver 127.0.0.1\n");
    assert_string_equal(r, "\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
                           "nameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844");
    free(r);
    /* Dns given: the other lists from the host */
    c->spec.dns = strv_append(strv_append(NULL, "1.1.1.1"), "2.2.2.2");
    r = oci_resolv_conf_from(c, host);
    assert_string_equal(r, "search a.example b.example\nnameserver 1.1.1.1\n"
                           "nameserver 2.2.2.2\noptions ndots:1 edns0\n");
    free(r);
    c->spec.dns_search = strv_append(NULL, ".");
    c->spec.dns_options = strv_append(NULL, "rotate");
    r = oci_resolv_conf_from(c, host);
    assert_string_equal(r, "nameserver 1.1.1.1\nnameserver 2.2.2.2\noptions rotate\n");
    free(r);
    strv_free(c->spec.dns);
    c->spec.dns = NULL;
    strv_free(c->spec.dns_search);
    c->spec.dns_search = strv_append(NULL, "x.com");
    r = oci_resolv_conf_from(c, host);
    assert_string_equal(r, "search x.com\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n"
                           "options rotate\n");
    free(r);
    container_unref(c);
}

/* ---- users ---- */

/* ---- namespaces, cgroup, more resources, validation ---- */

static bool
has_namespace(json_t *spec, const char *type, const char **path)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, n)
    {
        if (strcmp(json_string_value(json_object_get(n, "type")), type) == 0) {
            if (path != NULL)
                *path = json_string_value(json_object_get(n, "path"));
            return true;
        }
    }
    return false;
}

static void
test_namespace_modes(void **state)
{
    (void)state;
    struct container *c = new_container();
    c->spec.pid_mode = xstrdup("host");
    c->spec.ipc_mode = xstrdup("host");
    c->spec.uts_host = true;
    c->spec.cgroupns_mode = xstrdup("private");
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    char *ns = namespaces(spec);
    assert_string_equal(ns, "mount,cgroup");
    free(ns);
    /* no UTS namespace: no hostname to set; the host's /dev/shm (dockerd's IpcMounts) */
    assert_null(json_object_get(spec, "hostname"));
    json_t *shm = find_mount(spec, "/dev/shm");
    assert_string_equal(json_string_value(json_object_get(shm, "type")), "bind");
    assert_string_equal(json_string_value(json_object_get(shm, "source")), "/dev/shm");
    assert_joined(json_object_get(shm, "options"), "rbind,rprivate");
    json_decref(spec);

    /* "container:<id>": the namespaces of the process found at start */
    free(c->spec.pid_mode);
    free(c->spec.ipc_mode);
    free(c->spec.cgroupns_mode);
    c->spec.pid_mode = xstrdup("container:aaaa");
    c->spec.ipc_mode = xstrdup("container:bbbb");
    c->spec.cgroupns_mode = xstrdup("host");
    c->spec.uts_host = false;
    struct oci_paths paths = base_paths;
    struct err *err = NULL;
    assert_null(oci_spec_container(c, &root_user, &paths, &err));
    assert_int_equal(err->kind, ERR_CONFLICT);
    err_clear(&err);
    paths.joins = (struct oci_joins){.pid = 1234, .ipc = 5678};
    spec = oci_spec_container(c, &root_user, &paths, NULL);
    const char *path = NULL;
    assert_true(has_namespace(spec, "pid", &path));
    assert_string_equal(path, "/proc/1234/ns/pid");
    assert_true(has_namespace(spec, "ipc", &path));
    assert_string_equal(path, "/proc/5678/ns/ipc");
    assert_true(has_namespace(spec, "uts", &path));
    assert_null(path);
    assert_false(has_namespace(spec, "cgroup", NULL));
    assert_string_equal(json_string_value(json_object_get(spec, "hostname")), "0123456789ab");
    assert_string_equal(json_string_value(json_object_get(find_mount(spec, "/dev/shm"), "type")),
                        "tmpfs");
    json_decref(spec);
    /* a donor in the host's IPC namespace: the joiner too, with the host's /dev/shm */
    paths.joins = (struct oci_joins){.pid = 1234, .ipc_host = true};
    spec = oci_spec_container(c, &root_user, &paths, NULL);
    assert_false(has_namespace(spec, "ipc", NULL));
    assert_string_equal(json_string_value(json_object_get(find_mount(spec, "/dev/shm"), "source")),
                        "/dev/shm");
    json_decref(spec);

    /* IpcMode none: an IPC namespace of its own, and no /dev/shm at all */
    free(c->spec.pid_mode);
    free(c->spec.ipc_mode);
    c->spec.pid_mode = NULL;
    c->spec.ipc_mode = xstrdup("none");
    spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    assert_true(has_namespace(spec, "ipc", &path));
    assert_null(path);
    assert_true(has_namespace(spec, "pid", NULL));
    assert_null(find_mount(spec, "/dev/shm"));
    assert_non_null(find_mount(spec, "/dev/mqueue"));
    json_decref(spec);
    container_unref(c);
}

static void
test_cgroup_parent(void **state)
{
    (void)state;
    struct container *c = new_container();
    char *p = oci_cgroups_path(c);
    assert_string_equal(
        p, "/sockerless/0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef");
    free(p);
    const char *parents[][2] = {
        {"foo", "foo/0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef"},
        {"/a/b//", "/a/b/0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef"},
        {"/", "/0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef"},
    };
    for (size_t i = 0; i < 3; i++) {
        free(c->spec.cgroup_parent);
        c->spec.cgroup_parent = xstrdup(parents[i][0]);
        p = oci_cgroups_path(c);
        assert_string_equal(p, parents[i][1]);
        free(p);
        json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath")),
            parents[i][1]);
        json_decref(spec);
    }
    container_unref(c);
}

static json_t *
blkio_entry(json_t *resources, const char *key, size_t i)
{
    return json_array_get(json_object_get(json_object_get(resources, "blockIO"), key), i);
}

static void
test_more_resources(void **state)
{
    (void)state;
    struct container *c = new_container();
    c->spec.memory_reservation = 32 << 20;
    c->spec.has_swappiness = true;
    c->spec.memory_swappiness = 0;
    c->spec.oom_kill_disable = true;
    c->spec.kernel_tcp = 16 << 20;
    c->spec.cpuset_cpus = xstrdup("0-1");
    c->spec.cpuset_mems = xstrdup("0");
    c->spec.cpu_rt_period = 1000000;
    c->spec.cpu_rt_runtime = 950000;
    c->spec.blkio_weight = 300;
    /* /dev/null is character device 1:3 everywhere */
    const enum container_blkio_kind kinds[] = {BLKIO_WEIGHT, BLKIO_READ_BPS, BLKIO_WRITE_BPS,
                                               BLKIO_READ_IOPS, BLKIO_WRITE_IOPS};
    c->spec.blkio = xcalloc(5, sizeof(*c->spec.blkio));
    for (size_t i = 0; i < 5; i++)
        c->spec.blkio[i] = (struct container_blkio){kinds[i], xstrdup("/dev/null"), 100 + i};
    c->spec.n_blkio = 5;
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    json_t *r = json_object_get(json_object_get(spec, "linux"), "resources");
    json_t *mem = json_object_get(r, "memory"), *cpu = json_object_get(r, "cpu");
    assert_null(json_object_get(mem, "limit"));
    assert_int_equal(json_integer_value(json_object_get(mem, "reservation")), 32 << 20);
    assert_true(json_is_integer(json_object_get(mem, "swappiness")));
    assert_int_equal(json_integer_value(json_object_get(mem, "swappiness")), 0);
    assert_true(json_is_true(json_object_get(mem, "disableOOMKiller")));
    assert_int_equal(json_integer_value(json_object_get(mem, "kernelTCP")), 16 << 20);
    assert_string_equal(json_string_value(json_object_get(cpu, "cpus")), "0-1");
    assert_string_equal(json_string_value(json_object_get(cpu, "mems")), "0");
    assert_int_equal(json_integer_value(json_object_get(cpu, "realtimePeriod")), 1000000);
    assert_int_equal(json_integer_value(json_object_get(cpu, "realtimeRuntime")), 950000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "blockIO"), "weight")),
                     300);
    const char *keys[] = {"weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice",
                          "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};
    for (size_t i = 0; i < 5; i++) {
        json_t *d = blkio_entry(r, keys[i], 0);
        assert_non_null(d);
        assert_int_equal(json_integer_value(json_object_get(d, "major")), 1);
        assert_int_equal(json_integer_value(json_object_get(d, "minor")), 3);
        assert_int_equal(json_integer_value(json_object_get(d, i == 0 ? "weight" : "rate")),
                         100 + i);
        assert_null(json_object_get(d, i == 0 ? "rate" : "weight"));
    }
    json_decref(spec);
    /* the device is looked at when the container starts, as dockerd does */
    free(c->spec.blkio[2].path);
    c->spec.blkio[2].path = xstrdup("/nonexistent-device");
    struct err *err = NULL;
    assert_null(oci_spec_container(c, &root_user, &base_paths, &err));
    assert_string_equal(err->msg, "stat /nonexistent-device: No such file or directory");
    err_clear(&err);
    container_unref(c);

    /* nothing given: no blockIO, memory or cpu section */
    c = new_container();
    spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    r = json_object_get(json_object_get(spec, "linux"), "resources");
    assert_null(json_object_get(r, "blockIO"));
    assert_null(json_object_get(r, "cpu"));
    assert_null(json_object_get(r, "memory"));
    json_decref(spec);
    container_unref(c);
}

static void
test_device_cgroup_rules(void **state)
{
    (void)state;
    struct oci_device_rule r;
    assert_true(oci_device_rule_parse("c 1:3 rwm", &r));
    assert_string_equal(r.type, "c");
    assert_int_equal(r.major, 1);
    assert_int_equal(r.minor, 3);
    assert_string_equal(r.access, "rwm");
    assert_true(oci_device_rule_parse("a *:* m", &r));
    assert_int_equal(r.major, -1);
    assert_int_equal(r.minor, -1);
    assert_true(oci_device_rule_parse("b 8:* rr", &r));
    const char *bad[] = {"x",        "c 1:3",    "c 1:3 ",  "d 1:3 r",   "c 1:3 rwmr",
                         "c 1-3 r",  "c :3 r",   "c 1:3 x", "c  1:3 r",  "c 1:3 r ",
                         "c -1:3 r", "c **:3 r", "",        "c 1:3:4 r", "c 1:3\nr"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (oci_device_rule_parse(bad[i], &r))
            fail_msg("accepted \"%s\"", bad[i]);

    struct container *c = new_container();
    c->spec.device_cgroup_rules = strv_append(strv_append(NULL, "c 42:* rmw"), "a *:* m");
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    json_t *rules =
        json_object_get(json_object_get(json_object_get(spec, "linux"), "resources"), "devices");
    assert_int_equal(json_array_size(rules), 10);
    json_t *r42 = json_array_get(rules, 8), *all = json_array_get(rules, 9);
    assert_true(json_is_true(json_object_get(r42, "allow")));
    assert_string_equal(json_string_value(json_object_get(r42, "type")), "c");
    assert_int_equal(json_integer_value(json_object_get(r42, "major")), 42);
    assert_null(json_object_get(r42, "minor"));
    assert_string_equal(json_string_value(json_object_get(r42, "access")), "rmw");
    assert_string_equal(json_string_value(json_object_get(all, "type")), "a");
    assert_null(json_object_get(all, "major"));
    json_decref(spec);
    /* privileged: every device is allowed already */
    c->spec.privileged = true;
    spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    rules =
        json_object_get(json_object_get(json_object_get(spec, "linux"), "resources"), "devices");
    assert_int_equal(json_array_size(rules), 1);
    json_decref(spec);
    c->spec.privileged = false;
    strv_free(c->spec.device_cgroup_rules);
    c->spec.device_cgroup_rules = strv_append(NULL, "c 1:3");
    struct err *err = NULL;
    assert_null(oci_spec_container(c, &root_user, &base_paths, &err));
    assert_string_equal(err->msg, "invalid device cgroup rule format: 'c 1:3'");
    err_clear(&err);
    container_unref(c);
}

static void
test_annotations_and_validate(void **state)
{
    (void)state;
    struct container *c = new_container();
    json_t *spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    assert_null(json_object_get(spec, "annotations"));
    json_decref(spec);
    labels_add(&c->spec.annotations, "org.example.a", "1");
    spec = oci_spec_container(c, &root_user, &base_paths, NULL);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(spec, "annotations"), "org.example.a")),
        "1");
    json_decref(spec);

    struct err *err = NULL;
    assert_int_equal(oci_spec_validate(c, &err), 0);
    assert_null(err);
    c->spec.unsupported = strv_append(NULL, "Links is not supported by sockerless: why");
    c->spec.unsupported = strv_append(c->spec.unsupported, "second");
    assert_int_equal(oci_spec_validate(c, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    assert_string_equal(err->msg, "Links is not supported by sockerless: why");
    err_clear(&err);
    container_unref(c);
}

/* oci_joins_resolve against a real engine (synthetic driver, states set by hand). */
static void
test_joins_resolve(void **state)
{
    (void)state;
    static const struct driver *const chain[] = {&driver_synthetic, NULL};
    char dir[] = "/tmp/sockerless-ocispec-eng-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct engine *eng = engine_new(dir, chain, NULL);
    assert_non_null(eng);
    bool created;
    assert_int_equal(engine_image_pull_synthetic(eng, "busybox", &created, NULL), 0);
    const char *names[] = {"donor", "shared", "joiner"};
    char ids[3][ID_LEN + 1];
    for (int i = 0; i < 3; i++) {
        struct container_create req = {0};
        req.spec.image = xstrdup("busybox");
        req.spec.cmd = strv_append(NULL, "true");
        req.spec.stop_timeout = -1;
        req.spec.restart_policy = xstrdup("no");
        req.name = xstrdup(names[i]);
        if (i == 1)
            req.spec.ipc_mode = xstrdup("shareable");
        assert_int_equal(engine_container_create(eng, &req, ids[i], NULL), 0);
    }
    struct container *donor = engine_container_get(eng, "donor", NULL);
    struct container *shared = engine_container_get(eng, "shared", NULL);
    struct container *j = engine_container_get(eng, "joiner", NULL);
    j->spec.pid_mode = xasprintf("container:%s", ids[0]);
    struct oci_joins out = {0};
    struct err *err = NULL;
    /* not running */
    assert_int_equal(oci_joins_resolve(eng, j, &out, &err), -1);
    assert_int_equal(err->kind, ERR_CONFLICT);
    char *want = xasprintf("container %s is not running", ids[0]);
    assert_string_equal(err->msg, want);
    free(want);
    err_clear(&err);
    engine_lock(eng);
    donor->state.status = shared->state.status = CONTAINER_RUNNING;
    donor->state.pid = 4242;
    shared->state.pid = 4343;
    engine_unlock(eng);
    assert_int_equal(oci_joins_resolve(eng, j, &out, NULL), 0);
    assert_int_equal(out.pid, 4242);
    assert_int_equal(out.ipc, 0);
    /* IPC: only a shareable donor (or one in the host's IPC namespace) */
    j->spec.ipc_mode = xasprintf("container:%s", ids[0]);
    assert_int_equal(oci_joins_resolve(eng, j, &out, &err), -1);
    want = xasprintf("can't join IPC of container %s: non-shareable IPC (hint: use "
                     "IpcMode:shareable for the donor container)",
                     ids[0]);
    assert_string_equal(err->msg, want);
    free(want);
    err_clear(&err);
    free(j->spec.ipc_mode);
    j->spec.ipc_mode = xasprintf("container:%s", ids[1]);
    assert_int_equal(oci_joins_resolve(eng, j, &out, NULL), 0);
    assert_int_equal(out.pid, 4242);
    assert_int_equal(out.ipc, 4343);
    assert_false(out.ipc_host);
    engine_lock(eng);
    free(shared->spec.ipc_mode);
    shared->spec.ipc_mode = xstrdup("host");
    engine_unlock(eng);
    assert_int_equal(oci_joins_resolve(eng, j, &out, NULL), 0);
    assert_int_equal(out.ipc, 0);
    assert_true(out.ipc_host);
    /* removed since create */
    free(j->spec.pid_mode);
    j->spec.pid_mode = xstrdup("container:gone");
    assert_int_equal(oci_joins_resolve(eng, j, &out, &err), -1);
    assert_int_equal(err->kind, ERR_NOT_FOUND);
    err_clear(&err);
    engine_lock(eng);
    donor->state.status = shared->state.status = CONTAINER_EXITED;
    engine_unlock(eng);
    container_unref(donor);
    container_unref(shared);
    container_unref(j);
    engine_free(eng);
    char *cmd = xasprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static char tmp[64];
static char root_dir[96];

static void
put(const char *rel, const char *content)
{
    char *p = xasprintf("%s/%s", tmp, rel);
    FILE *f = fopen(p, "we");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    free(p);
}

static int
setup_root(void **state)
{
    (void)state;
    snprintf(tmp, sizeof(tmp), "/tmp/sockerless-ocispec-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return -1;
    snprintf(root_dir, sizeof(root_dir), "%s/root", tmp);
    char *etc = xasprintf("%s/etc", root_dir);
    char *out = xasprintf("%s/outside", tmp);
    int rc = mkdir(root_dir, 0755) | mkdir(etc, 0755) | mkdir(out, 0755);
    free(etc);
    free(out);
    put("root/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                           "\n"
                           "nobody:x:65534:65534:nobody:/home:/bin/false\n"
                           "  alice:x:1000:1000::/home/alice:/bin/sh  \n"
                           "nohome:x:1001:1001::\n");
    put("root/etc/group", "root:x:0:\n"
                          "staff:x:50:bob,alice\n"
                          "alice:x:1000:\n"
                          "audio:x:29:alice\n"
                          "nogroup:x:65534:\n");
    put("outside/passwd", "evil:x:0:0::/evil:/bin/sh\n");
    return rc;
}

static int
teardown_root(void **state)
{
    (void)state;
    char *cmd = xasprintf("rm -rf %s", tmp);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

static void
assert_gids(const struct oci_user *u, const char *want)
{
    char *s = xstrdup("");
    for (size_t i = 0; i < u->n_additional; i++) {
        char *n = xasprintf("%s%s%u", s, i ? "," : "", (unsigned)u->additional_gids[i]);
        free(s);
        s = n;
    }
    assert_string_equal(s, want);
    free(s);
}

static void
check_user(const char *spec, char *const *extra, unsigned uid, unsigned gid, const char *gids,
           const char *home)
{
    struct oci_user u;
    struct err *err = NULL;
    int rc = oci_user_resolve(root_dir, spec, extra, &u, &err);
    if (rc < 0)
        fail_msg("resolve %s: %s", spec, err->msg);
    assert_int_equal(u.uid, uid);
    assert_int_equal(u.gid, gid);
    assert_gids(&u, gids);
    assert_string_equal(u.home, home);
    oci_user_fini(&u);
}

static void
check_user_error(const char *spec, char *const *extra, const char *msg)
{
    struct oci_user u = {0};
    struct err *err = NULL;
    assert_int_equal(oci_user_resolve(root_dir, spec, extra, &u, &err), -1);
    assert_int_equal(err->kind, ERR_INVALID);
    assert_string_equal(err->msg, msg);
    assert_null(u.additional_gids);
    err_clear(&err);
}

static void
test_user_forms(void **state)
{
    (void)state;
    check_user(NULL, NULL, 0, 0, "0", "/root");
    check_user("", NULL, 0, 0, "0", "/root");
    check_user("alice", NULL, 1000, 1000, "1000,50,29", "/home/alice");
    check_user("alice:staff", NULL, 1000, 50, "50", "/home/alice");
    check_user("alice:", NULL, 1000, 1000, "1000,50,29", "/home/alice");
    check_user("1000", NULL, 1000, 1000, "1000,50,29", "/home/alice");
    check_user("nobody:root", NULL, 65534, 0, "0", "/home");
    check_user(":0", NULL, 0, 0, "0", "/root");
    check_user("4242", NULL, 4242, 0, "0", "/");
    check_user("4242:77", NULL, 4242, 77, "77", "/");
    check_user("0:nogroup:ignored", NULL, 0, 65534, "65534", "/root");
    check_user("nohome", NULL, 1001, 1001, "1001", "/");
    char extra_a[] = "staff", extra_b[] = "99", extra_c[] = "audio";
    char *extra[] = {extra_a, extra_b, extra_c, extra_a, NULL};
    check_user("root", extra, 0, 0, "0,50,99,29", "/root");
    check_user_error("nosuch", NULL,
                     "unable to find user nosuch: no matching entries in passwd file");
    check_user_error("root:nosuch", NULL,
                     "unable to find group nosuch: no matching entries in group file");
    check_user_error("-1", NULL, "uids and gids must be in range 0-2147483647");
    check_user_error("4294967296", NULL, "uids and gids must be in range 0-2147483647");
    check_user_error("0:2147483648", NULL, "uids and gids must be in range 0-2147483647");
    check_user_error("99999999999999999999", NULL,
                     "unable to find user 99999999999999999999: no matching entries in passwd "
                     "file");
    char bad_name[] = "nosuch";
    char *bad[] = {bad_name, NULL};
    check_user_error("", bad, "Unable to find group nosuch: no matching entries in group file");
}

static void
relink(const char *rel, const char *target)
{
    char *p = xasprintf("%s/%s", tmp, rel);
    unlink(p);
    assert_int_equal(symlink(target, p), 0);
    free(p);
}

static void
test_user_files_stay_in_root(void **state)
{
    (void)state;
    char *passwd = xasprintf("%s/etc/passwd", root_dir);
    char *saved = xasprintf("%s/etc/passwd.real", root_dir);
    assert_int_equal(rename(passwd, saved), 0);
    /* a relative link climbing out, then an absolute one to the host file: both resolve
     * inside the root, where there is no such file */
    relink("root/etc/passwd", "../../outside/passwd");
    check_user_error("evil", NULL, "unable to find user evil: no matching entries in passwd file");
    char *abs = xasprintf("%s/outside/passwd", tmp);
    relink("root/etc/passwd", abs);
    check_user_error("evil", NULL, "unable to find user evil: no matching entries in passwd file");
    check_user("", NULL, 0, 0, "0", "/"); /* no passwd: root, home "/" */
    /* a link inside the root is followed */
    relink("root/etc/passwd", "/etc/passwd.real");
    check_user("alice", NULL, 1000, 1000, "1000,50,29", "/home/alice");
    /* a FIFO is refused, not read (which would block) */
    unlink(passwd);
    assert_int_equal(mkfifo(passwd, 0644), 0);
    struct oci_user u = {0};
    struct err *err = NULL;
    assert_int_equal(oci_user_resolve(root_dir, "root", NULL, &u, &err), -1);
    assert_string_equal(err->msg, "/etc/passwd in the container is not a regular file");
    err_clear(&err);
    /* over 1 MiB is refused */
    unlink(passwd);
    FILE *f = fopen(passwd, "we");
    assert_non_null(f);
    for (int i = 0; i < (1 << 20) / 31 + 1; i++) /* 31-byte lines */
        fputs("user:x:1:1::/home/user:/bin/sh\n", f);
    fclose(f);
    assert_int_equal(oci_user_resolve(root_dir, "root", NULL, &u, &err), -1);
    assert_string_equal(err->msg, "/etc/passwd in the container is larger than 1 MiB");
    err_clear(&err);
    unlink(passwd);
    assert_int_equal(rename(saved, passwd), 0);
    free(abs);
    free(passwd);
    free(saved);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_spec),
        cmocka_unit_test(test_env_rules),
        cmocka_unit_test(test_mounts_order_and_options),
        cmocka_unit_test(test_readonly_root),
        cmocka_unit_test(test_network_namespace),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_resources_and_limits),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_masked_paths_given),
        cmocka_unit_test(test_exec_spec),
        cmocka_unit_test(test_hosts_file),
        cmocka_unit_test(test_resolv_conf),
        cmocka_unit_test(test_namespace_modes),
        cmocka_unit_test(test_cgroup_parent),
        cmocka_unit_test(test_more_resources),
        cmocka_unit_test(test_device_cgroup_rules),
        cmocka_unit_test(test_annotations_and_validate),
        cmocka_unit_test(test_joins_resolve),
        cmocka_unit_test_setup_teardown(test_user_forms, setup_root, teardown_root),
        cmocka_unit_test_setup_teardown(test_user_files_stay_in_root, setup_root, teardown_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
