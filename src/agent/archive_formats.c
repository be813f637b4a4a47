/*
 * The static agent handles tar only. libarchive's xar reader and writer would drag libxml2
 * and ICU (tens of MB) into the static binary: image/tarfs.c asks for every read format, and
 * libarchive's table of write formats (pulled in by the pax writer) names xar. The link wraps
 * both (-Wl,--wrap): reading enables the tar reader (ustar, pax, GNU tar: what docker cp
 * sends, with every decompression filter), and xar is refused as unsupported.
 */
#include <errno.h>

#include <archive.h>

int __wrap_archive_read_support_format_all(struct archive *a);
int __wrap_archive_write_set_format_xar(struct archive *a);

int
__wrap_archive_read_support_format_all(struct archive *a)
{
    return archive_read_support_format_tar(a);
}

int
__wrap_archive_write_set_format_xar(struct archive *a)
{
    archive_set_error(a, EINVAL, "xar is not supported by sockerless-agent");
    return ARCHIVE_FATAL;
}
