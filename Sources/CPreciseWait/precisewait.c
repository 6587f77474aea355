// See precisewait.h.
#define _GNU_SOURCE
#include "precisewait.h"

#include <errno.h>
#include <limits.h>
#include <sys/epoll.h>
#include <time.h>

int flashd_wait_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int flashd_wait_add(int epfd, int fd, int tag) {
    struct epoll_event e = { .events = EPOLLIN, .data.u64 = (unsigned long long)tag };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

/* Set once epoll_pwait2 is missing or refused: from then on epoll_wait, as poll was. */
static _Atomic int coarse = 0;

int flashd_wait_coarse(void) {
    return coarse;
}

int flashd_wait_ns(int epfd, int *tags, int max, long long timeout_ns) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n = -1;
    if (!coarse) {
        struct timespec t = { .tv_sec = timeout_ns / 1000000000LL, .tv_nsec = timeout_ns % 1000000000LL };
        n = epoll_pwait2(epfd, events, max, timeout_ns < 0 ? NULL : &t, NULL);
        if (n < 0 && (errno == ENOSYS || errno == EPERM)) coarse = 1;
    }
    if (coarse) {
        long long ms = timeout_ns < 0 ? -1 : timeout_ns / 1000000LL + (timeout_ns % 1000000LL != 0);
        n = epoll_wait(epfd, events, max, ms > INT_MAX ? INT_MAX : (int)ms);
    }
    for (int i = 0; i < n; i++) tags[i] = (int)events[i].data.u64;
    return n;
}
