#include "image/compress.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/fsutil.h"
#include "base/xalloc.h"

enum { CHUNK = 128 * 1024 };

struct sink {
    int fd;
    struct digest_sha256 *hash;
    int64_t size;
    int errnum;
};

static la_ssize_t
sink_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    (void)a;
    struct sink *s = ctx;
    if (fsutil_write_all(s->fd, buf, len) < 0) {
        s->errnum = errno;
        return -1;
    }
    digest_sha256_update(s->hash, buf, len);
    s->size += (int64_t)len;
    return (la_ssize_t)len;
}

/* libarchive's raw format writes one entry's bytes with no container around them; the gzip
 * filter without its timestamp option writes a header with no time and no name. */
static struct archive *
gzip_writer(struct sink *s)
{
    struct archive *a = archive_write_new();
    if (archive_write_set_format_raw(a) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_options(a, "gzip:!timestamp") != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open2(a, s, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
        archive_write_free(a);
        return NULL;
    }
    return a;
}

int
compress_gzip_file(const char *path, int out_fd, char digest[72], int64_t *size, struct err **err)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return err_make(err, ERR_INTERNAL, errno, "open %s", path);
    struct sink s = {.fd = out_fd, .hash = digest_sha256_new()};
    struct archive *a = gzip_writer(&s);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "layer.tar");
    archive_entry_set_filetype(e, AE_IFREG);
    int rc = a != NULL && archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
    archive_entry_free(e);
    char *chunk = xmalloc(CHUNK);
    while (rc == 0) {
        ssize_t n = read(in, chunk, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_make(err, ERR_INTERNAL, errno, "read %s", path);
            break;
        }
        if (n == 0)
            break;
        if (archive_write_data(a, chunk, (size_t)n) != n)
            rc = -1;
    }
    free(chunk);
    if (a != NULL && archive_write_close(a) != ARCHIVE_OK && rc == 0)
        rc = -1;
    if (rc < 0 && (err == NULL || *err == NULL))
        err_make(err, ERR_INTERNAL, s.errnum, "compress %s: %s", path,
                 s.errnum ? strerror(s.errnum)
                 : a      ? archive_error_string(a)
                          : "gzip writer");
    if (a != NULL)
        archive_write_free(a);
    close(in);
    if (rc == 0) {
        digest_sha256_final(s.hash, digest);
        *size = s.size;
    }
    digest_sha256_free(s.hash);
    return rc;
}
