#include "http/listener.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum { LISTEN_BACKLOG = 512 };

int
listener_parse(const char *spec, struct listener *l, struct err **err)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->gid = -1;
    if (strlen(spec) >= sizeof(l->spec))
        return err_make(err, ERR_INVALID, 0, "address too long: %.64s...", spec);
    snprintf(l->spec, sizeof(l->spec), "%s", spec);
    if (strncmp(spec, "unix://", 7) == 0) {
        const char *path = spec + 7;
        if (*path == '\0')
            return err_make(err, ERR_INVALID, 0, "invalid address %s: empty socket path", spec);
        if (strlen(path) >= sizeof(l->path))
            return err_make(err, ERR_INVALID, 0, "invalid address %s: socket path too long", spec);
        l->kind = LISTENER_UNIX;
        snprintf(l->path, sizeof(l->path), "%s", path);
        return 0;
    }
    if (strncmp(spec, "tcp://", 6) == 0) {
        const char *hp = spec + 6;
        const char *host_end, *colon;
        if (*hp == '[') {
            host_end = strchr(hp, ']');
            if (host_end == NULL)
                return err_make(err, ERR_INVALID, 0, "invalid address %s", spec);
            colon = host_end[1] == ':' ? host_end + 1 : NULL;
            if (host_end[1] != '\0' && colon == NULL)
                return err_make(err, ERR_INVALID, 0, "invalid address %s", spec);
            hp++;
        } else {
            colon = strrchr(hp, ':');
            host_end = colon ? colon : hp + strlen(hp);
        }
        size_t hlen = (size_t)(host_end - hp);
        if (hlen >= sizeof(l->host))
            return err_make(err, ERR_INVALID, 0, "invalid address %s: host too long", spec);
        memcpy(l->host, hp, hlen);
        l->host[hlen] = '\0';
        const char *port = colon ? colon + 1 : "2375";
        size_t plen = strlen(port);
        if (plen == 0 || plen >= sizeof(l->port) || strspn(port, "0123456789") != plen)
            return err_make(err, ERR_INVALID, 0, "invalid address %s: bad port", spec);
        snprintf(l->port, sizeof(l->port), "%s", port);
        l->kind = LISTENER_TCP;
        return 0;
    }
    if (strncmp(spec, "fd://", 5) == 0)
        return err_make(err, ERR_UNSUPPORTED, 0,
                        "%s: socket activation (fd://) is not supported yet", spec);
    return err_make(err, ERR_INVALID, 0, "invalid address %s: use unix:///path or tcp://host:port",
                    spec);
}

/* True when something accepts connections on the unix socket at path. */
static bool
unix_socket_is_live(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    bool live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN;
    close(fd);
    return live;
}

static int
open_unix(struct listener *l, struct err **err)
{
    struct stat st;
    if (lstat(l->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return err_make(err, ERR_CONFLICT, EEXIST, "%s exists and is not a socket", l->path);
        if (unix_socket_is_live(l->path))
            return err_make(err, ERR_CONFLICT, EADDRINUSE,
                            "%s is in use by a running daemon (another sockerlessd or dockerd?)",
                            l->path);
        /* Stale: left by a daemon that did not exit cleanly. */
        if (unlink(l->path) < 0 && errno != ENOENT)
            return err_errno(err, "remove stale socket %s", l->path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(err, "socket");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->path);
    /* Create the file without group/other bits, then widen to 0660: never briefly world-open. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0) {
        err_errno(err, "bind %s", l->path);
        close(fd);
        return -1;
    }
    if (chmod(l->path, 0660) < 0 || lstat(l->path, &st) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        err_errno(err, "set up %s", l->path);
        close(fd);
        unlink(l->path);
        return -1;
    }
    if (l->gid >= 0 && lchown(l->path, (uid_t)-1, (gid_t)l->gid) < 0) {
        int e = errno;
        err_make(err, e == EPERM ? ERR_FORBIDDEN : ERR_INTERNAL, e,
                 "set the group of %s to %ld: %s", l->path, l->gid, strerror(e));
        close(fd);
        unlink(l->path);
        return -1;
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    l->fd = fd;
    return 0;
}

static int
open_tcp(struct listener *l, struct err **err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(l->host[0] ? l->host : NULL, l->port, &hints, &res);
    if (gai != 0)
        return err_make(err, ERR_INVALID, 0, "%s: %s", l->spec, gai_strerror(gai));
    int fd = -1;
    int last_errno = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
            last_errno = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        enum err_kind kind = last_errno == EADDRINUSE ? ERR_CONFLICT : ERR_INTERNAL;
        return err_make(err, kind, last_errno, "listen on %s: %s", l->spec, strerror(last_errno));
    }
    l->fd = fd;
    return 0;
}

static bool
is_loopback_addr(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) ==
               127;
    if (sa->sa_family != AF_INET6)
        return false;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

bool
listener_is_loopback(const struct listener *l)
{
    if (l->kind != LISTENER_TCP || l->host[0] == '\0')
        return false;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(l->host, NULL, &hints, &res) != 0)
        return false;
    bool loopback = res != NULL;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        loopback = loopback && is_loopback_addr(ai->ai_addr);
    freeaddrinfo(res);
    return loopback;
}

int
listener_open(struct listener *l, struct err **err)
{
    return l->kind == LISTENER_UNIX ? open_unix(l, err) : open_tcp(l, err);
}

void
listener_close(struct listener *l)
{
    if (l->fd < 0)
        return;
    close(l->fd);
    l->fd = -1;
    struct stat st;
    if (l->kind == LISTENER_UNIX && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
        st.st_ino == l->ino)
        unlink(l->path);
}
