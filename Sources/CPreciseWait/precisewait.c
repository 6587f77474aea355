// See precisewait.h.
#define _GNU_SOURCE
#include "precisewait.h"

#include <time.h>

int flashd_poll_ns(struct pollfd *fds, unsigned long count, long long timeout_ns) {
    if (timeout_ns < 0) return ppoll(fds, count, NULL, NULL);
    struct timespec t = { .tv_sec = timeout_ns / 1000000000LL, .tv_nsec = timeout_ns % 1000000000LL };
    return ppoll(fds, count, &t, NULL);
}
