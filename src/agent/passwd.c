/* Users and groups from the container's /etc/passwd and /etc/group, read directly: a static
 * binary has no NSS, and the container's files are the ones that count. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "base/xalloc.h"

enum { FIELDS_MAX = 8 };

/* Splits line at ':' into at most n fields (in place). Returns the count. */
static int
split(char *line, char **f, int n)
{
    int k = 0;
    line[strcspn(line, "\n")] = '\0';
    f[k++] = line;
    for (char *p = line; *p && k < n; p++) {
        if (*p == ':') {
            *p = '\0';
            f[k++] = p + 1;
        }
    }
    return k;
}

static bool
parse_id(const char *s, unsigned long *out)
{
    if (*s == '\0')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || errno != 0 || v > UINT_MAX - 1)
        return false;
    *out = v;
    return true;
}

static FILE *
open_in_root(const char *root, const char *file)
{
    char *p = xasprintf("%s%s", strcmp(root, "/") == 0 ? "" : root, file);
    FILE *f = fopen(p, "re");
    free(p);
    return f;
}

/* Finds the passwd entry whose name (or uid, when numeric) is user. */
static bool
find_user(const char *root, const char *user, struct ids *out)
{
    FILE *f = open_in_root(root, "/etc/passwd");
    if (f == NULL)
        return false;
    char line[1024];
    unsigned long want = 0;
    bool numeric = parse_id(user, &want);
    bool found = false;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *fl[FIELDS_MAX];
        unsigned long uid, gid;
        if (split(line, fl, 7) < 7 || !parse_id(fl[2], &uid) || !parse_id(fl[3], &gid))
            continue;
        if (numeric ? uid == want : strcmp(fl[0], user) == 0) {
            out->uid = (uid_t)uid;
            out->gid = (gid_t)gid;
            snprintf(out->home, sizeof(out->home), "%s", fl[5]);
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* The gid of group (a name or a number); with name != NULL also adds every group listing
 * name as a member to out->groups. */
static bool
scan_groups(const char *root, const char *group, const char *name, struct ids *out, gid_t *gid)
{
    FILE *f = open_in_root(root, "/etc/group");
    unsigned long want = 0;
    bool numeric = group != NULL && parse_id(group, &want);
    bool found = numeric;
    if (numeric)
        *gid = (gid_t)want;
    if (f == NULL)
        return found;
    char line[4096];
    while (fgets(line, sizeof(line), f) != NULL) {
        char *fl[FIELDS_MAX];
        unsigned long g;
        if (split(line, fl, 4) < 4 || !parse_id(fl[2], &g))
            continue;
        if (group != NULL && !numeric && strcmp(fl[0], group) == 0) {
            *gid = (gid_t)g;
            found = true;
        }
        if (name == NULL || out->ngroups >= (int)(sizeof(out->groups) / sizeof(out->groups[0])))
            continue;
        for (char *m = strtok(fl[3], ","); m != NULL; m = strtok(NULL, ","))
            if (strcmp(m, name) == 0)
                out->groups[out->ngroups++] = (gid_t)g;
    }
    fclose(f);
    return found;
}

int
passwd_resolve(const char *root, const char *user, struct ids *out, struct err **err)
{
    memset(out, 0, sizeof(*out));
    char *spec = xstrdup(user);
    char *group = strchr(spec, ':');
    if (group != NULL)
        *group++ = '\0';
    unsigned long num;
    int rc = 0;
    if (find_user(root, spec, out)) {
        /* supplementary groups by name */
    } else if (parse_id(spec, &num)) {
        out->uid = (uid_t)num;
        out->gid = 0;
        snprintf(out->home, sizeof(out->home), "/");
    } else {
        rc = err_make(err, ERR_INVALID, 0,
                      "unable to find user %s: no matching entries in passwd file", spec);
    }
    if (rc == 0) {
        gid_t gid = out->gid;
        bool by_name = !parse_id(spec, &num);
        if (!scan_groups(root, group, by_name ? spec : NULL, out, &gid) && group != NULL)
            rc = err_make(err, ERR_INVALID, 0,
                          "unable to find group %s: no matching entries in group file", group);
        out->gid = gid;
    }
    if (rc == 0 && out->ngroups < (int)(sizeof(out->groups) / sizeof(out->groups[0])))
        out->groups[out->ngroups++] = out->gid;
    free(spec);
    return rc;
}
