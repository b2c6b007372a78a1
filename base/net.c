/* base/net.c — listening sockets shared by every listener (see base.h). */
#include "base.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

void base_set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || !err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

void base_errbuf_clear(base_errbuf *eb)
{
    if (!eb)
        return;
    eb->kind = BASE_OK;
    eb->text[0] = '\0';
}

base_err base_errbuf_set(base_errbuf *eb, base_err kind, const char *fmt, ...)
{
    if (!eb || eb->kind != BASE_OK)
        return kind;
    eb->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->text, sizeof eb->text, fmt, ap);
    va_end(ap);
    return kind;
}

int base_split_host_port(const char *addr, char *host, size_t host_len, int *port)
{
    if (!addr || !host || host_len == 0)
        return -1;
    const char *colon;
    const char *h = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close_bracket = strchr(addr, ']');
        if (!close_bracket || close_bracket[1] != ':')
            return -1;
        h = addr + 1;
        hlen = (size_t)(close_bracket - h);
        colon = close_bracket + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - addr);
        if (memchr(addr, ':', hlen))
            return -1; /* a bare IPv6 address needs brackets */
    }
    if (hlen >= host_len)
        return -1;
    const char *ps = colon + 1;
    if (!*ps || strlen(ps) > 5)
        return -1;
    long v = 0;
    for (const char *q = ps; *q; q++) {
        if (!isdigit((unsigned char)*q))
            return -1;
        v = v * 10 + (*q - '0');
    }
    if (v > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)v;
    return 0;
}

int base_listen_tcp(const char *addr, int *bound_port, int *is_ipv6, char *err, size_t err_len)
{
    char host[256];
    int port;
    if (base_split_host_port(addr, host, sizeof host, &port) != 0) {
        base_set_err(err, err_len,
                     "cannot listen on \"%s\": not HOST:PORT (e.g. 127.0.0.1:4318, "
                     "0.0.0.0:4318, [::1]:4318)",
                     addr ? addr : "");
        return -1;
    }
    char port_s[8];
    snprintf(port_s, sizeof port_s, "%d", port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, port_s, &hints, &ai);
    if (gai != 0) {
        base_set_err(err, err_len, "cannot listen on %s: cannot resolve \"%s\": %s", addr, host,
                     gai_strerror(gai));
        return -1;
    }
    int fd = -1, last_errno = 0;
    /* with no host, getaddrinfo lists the wildcard addresses: the first that binds wins */
    for (struct addrinfo *p = ai; p; p = p->ai_next) {
        fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        /* a deep backlog (the kernel caps it at net.core.somaxconn): with 128, a burst of
         * connections overflows it and, with SYN cookies, clients that believe they are
         * connected wait on TCP retransmission backoff (a minute and more) before the
         * listener ever sees them, where it would have served or refused them at once */
        if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 && listen(fd, 4096) == 0)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        base_set_err(err, err_len, "cannot listen on %s: %s", addr,
                     strerror(last_errno ? last_errno : EADDRNOTAVAIL));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int v6 = 0, bp = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            bp = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            bp = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            v6 = 1;
        }
    }
    if (bound_port)
        *bound_port = bp;
    if (is_ipv6)
        *is_ipv6 = v6;
    return fd;
}

bool base_origin_is_loopback(const char *origin)
{
    if (!origin)
        return false;
    const char *p;
    if (strncasecmp(origin, "http://", 7) == 0)
        p = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        p = origin + 8;
    else
        return false;
    size_t hl;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close || close - p != 4 || strncmp(p, "[::1]", 5) != 0)
            return false;
        hl = 5;
    } else {
        hl = strcspn(p, ":/");
        if (!((hl == 9 && strncasecmp(p, "localhost", 9) == 0) ||
              (hl == 9 && strncmp(p, "127.0.0.1", 9) == 0)))
            return false;
    }
    p += hl;
    if (*p == ':') {
        p++;
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 5)
            return false;
        p += digits;
    }
    return *p == '\0';
}
