#ifndef FLASHD_PRECISEWAIT_H
#define FLASHD_PRECISEWAIT_H

#include <poll.h>

/* poll(2) with a timeout in nanoseconds (ppoll underneath), for `flashsalectl bench`'s paced
 * sends. poll's timeout is in whole milliseconds, so a send due 0.1 ms from now went out up to
 * 1 ms late, and a paced latency, counted from when each request was due, carried up to 1 ms
 * of the client's own timer. ppoll is a GNU extension that Swift's Glibc module does not show,
 * hence this wrapper. A negative timeout waits without limit. */
int flashd_poll_ns(struct pollfd *fds, unsigned long count, long long timeout_ns);

#endif
