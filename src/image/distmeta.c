#include "image/distmeta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xalloc.h"
#include "image/manifest.h"

/* A file holds at most this much; older lines beyond it are not read. */
enum { DISTMETA_MAX_BYTES = 64 * 1024, DISTMETA_MAX_ENTRIES = 256 };

static char *
path_of(const char *data_root, const char *diff_id)
{
    if (!manifest_is_digest(diff_id))
        return NULL;
    return xasprintf("%s/image/distribution/%s", data_root, diff_id + 7);
}

/* The file's last DISTMETA_MAX_BYTES, NUL-terminated (NULL when absent). */
static char *
read_tail(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > DISTMETA_MAX_BYTES ? end - DISTMETA_MAX_BYTES : 0;
    char *text = xmalloc(DISTMETA_MAX_BYTES + 1);
    ssize_t n = end >= 0 ? pread(fd, text, (size_t)(end - start), start) : -1;
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

void
distmeta_entries_free(struct distmeta_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].repo);
    free(e);
}

struct distmeta_entry *
distmeta_list(const char *data_root, const char *diff_id, size_t *n)
{
    *n = 0;
    cleanup_free char *path = path_of(data_root, diff_id);
    cleanup_free char *text = path ? read_tail(path) : NULL;
    if (text == NULL)
        return NULL;
    struct distmeta_entry *out = NULL;
    /* Lines from the last: the latest first. */
    for (char *end = text + strlen(text); end > text && *n < DISTMETA_MAX_ENTRIES;) {
        char *start = end;
        while (start > text && start[-1] != '\n')
            start--;
        char *line = xstrndup(start, (size_t)(end - start));
        end = start > text ? start - 1 : text;
        line[strcspn(line, "\n")] = '\0';
        char *space = strchr(line, ' ');
        if (space != NULL) {
            *space = '\0';
            bool seen = false;
            for (size_t i = 0; i < *n && !seen; i++)
                seen = strcmp(out[i].digest, line) == 0 && strcmp(out[i].repo, space + 1) == 0;
            if (!seen && manifest_is_digest(line) && space[1] != '\0') {
                out = xrealloc(out, (*n + 1) * sizeof(*out));
                memcpy(out[*n].digest, line, 72);
                out[*n].repo = xstrdup(space + 1);
                (*n)++;
            }
        }
        free(line);
    }
    return out;
}

int
distmeta_add(const char *data_root, const char *diff_id, const char *digest, const char *repo,
             struct err **err)
{
    cleanup_free char *path = path_of(data_root, diff_id);
    if (path == NULL || !manifest_is_digest(digest) || strpbrk(repo, " \n") != NULL)
        return err_make(err, ERR_INVALID, 0, "distribution metadata: bad entry for %.80s", diff_id);
    size_t n;
    struct distmeta_entry *known = distmeta_list(data_root, diff_id, &n);
    bool have = n > 0 && strcmp(known[0].digest, digest) == 0 && strcmp(known[0].repo, repo) == 0;
    distmeta_entries_free(known, n);
    if (have)
        return 0;
    cleanup_free char *dir = xasprintf("%s/image/distribution", data_root);
    if (fsutil_mkdir_p(dir, 0700, err) < 0)
        return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_make(err, ERR_INTERNAL, errno, "distribution metadata %s", path);
    cleanup_free char *line = xasprintf("%s %s\n", digest, repo);
    int rc = fsutil_write_all(fd, line, strlen(line));
    if (rc < 0)
        err_make(err, ERR_INTERNAL, errno, "distribution metadata %s", path);
    close(fd);
    return rc;
}
