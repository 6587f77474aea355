#ifndef FLASHD_PRECISEWAIT_H
#define FLASHD_PRECISEWAIT_H

/* Waiting on many sockets with a timeout in nanoseconds, for `flashsalectl bench`.
 *
 * poll's timeout is in whole milliseconds, so a paced send due 0.1 ms from now went out up to
 * 1 ms late, and a paced latency, counted from when each request was due, carried up to 1 ms of
 * the client's own timer: hence nanoseconds (epoll_pwait2). And epoll rather than poll: each
 * poll call registered a wait on every connection of the thread and scanned them all, a fifth
 * of the paced client's CPU. Swift's Glibc module shows neither sys/epoll.h nor epoll_pwait2,
 * hence these wrappers. */

/* A new epoll instance (close-on-exec), or -1 with errno set. */
int flashd_wait_create(void);

/* Watch `fd` for input; `tag` comes back from flashd_wait_ns when it is readable. 0 or -1. */
int flashd_wait_add(int epfd, int fd, int tag);

/* Waits until a watched socket is readable or `timeout_ns` has passed (negative: no limit), and
 * writes the tags of up to `max` readable ones to `tags`. Their number, 0 on timeout, or -1
 * with errno set. Where epoll_pwait2 is missing (a kernel before 5.11) or refused (a seccomp
 * filter that predates it), every wait from then on is to the millisecond (epoll_wait). */
int flashd_wait_ns(int epfd, int *tags, int max, long long timeout_ns);

/* 1 once waits have fallen back to whole milliseconds, else 0. */
int flashd_wait_coarse(void);

#endif
