// See precisewait.h.
#define _GNU_SOURCE
#include "precisewait.h"

#include <sys/epoll.h>
#include <time.h>

int flashd_wait_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int flashd_wait_add(int epfd, int fd, int tag) {
    struct epoll_event e = { .events = EPOLLIN, .data.u64 = (unsigned long long)tag };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

int flashd_wait_ns(int epfd, int *tags, int max, long long timeout_ns) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    struct timespec t = { .tv_sec = timeout_ns / 1000000000LL, .tv_nsec = timeout_ns % 1000000000LL };
    int n = epoll_pwait2(epfd, events, max, timeout_ns < 0 ? NULL : &t, NULL);
    for (int i = 0; i < n; i++) tags[i] = (int)events[i].data.u64;
    return n;
}
