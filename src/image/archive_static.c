/*
 * The daemon links libarchive from its static archive (SOCKERLESS_STATIC_LIBS): the shared
 * library drags libxml2, ICU and libstdc++ into every start, for libarchive's xar format only.
 * Docker's archives are tar (docker cp, build contexts, docker load, layers), so the link wraps
 * (-Wl,--wrap) the two xar entry points and leaves libxml2 out: reading xar answers as a
 * libarchive built without libxml2 does (a warning; archive_read_support_format_all goes on
 * with the other formats), writing it is refused.
 */
#include <errno.h>

#include <archive.h>

int __wrap_archive_read_support_format_xar(struct archive *a);
int __wrap_archive_write_set_format_xar(struct archive *a);

int
__wrap_archive_read_support_format_xar(struct archive *a)
{
    archive_set_error(a, EINVAL, "xar is not supported by sockerlessd");
    return ARCHIVE_WARN;
}

int
__wrap_archive_write_set_format_xar(struct archive *a)
{
    archive_set_error(a, EINVAL, "xar is not supported by sockerlessd");
    return ARCHIVE_FATAL;
}
