/*
 * An event queue watched with poll(2), as an event loop would: the queue's
 * fd is readable while events are pending and not once they are drained;
 * draining is ws_queue_poll with timeout 0 until it returns 0 events.
 * Usage: test_queue_fd ECHO_URL
 */
#include <poll.h>
#include <string.h>

#include "common.h"

#define MESSAGES 200

/* Whether fd is readable within timeout_ms. */
static int readable(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    CHECK(n >= 0);
    return n == 1 && (p.revents & POLLIN);
}

int main(int argc, char **argv) {
    ws_queue q;
    ws_handle h;
    ws_event events[16];
    size_t n = 0;
    int fd = -1, fd_again = -1, opened = 0, echoes = 0, closed = 0, loops = 0, first;
    CHECK(argc >= 2);

    EXPECT(ws_queue_new(&q), WS_OK);
    EXPECT(ws_queue_fd(q, &fd), WS_OK);
    EXPECT(ws_queue_fd(q, &fd_again), WS_OK);
    CHECK(fd >= 0 && fd == fd_again);
    EXPECT(ws_queue_fd(q, NULL), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_queue_fd(0, &fd_again), WS_ERR_INVALID_HANDLE);
    CHECK(!readable(fd, 0)); /* nothing pending yet */

    EXPECT(ws_create(argv[1], &h), WS_OK);
    EXPECT(ws_queue_attach(h, q), WS_OK);

    /* The loop: sleep in poll(2) on the fd only, then drain without waiting. */
    while (!closed) {
        CHECK(++loops < 100000);
        CHECK(readable(fd, 10000));
        first = 1;
        do {
            size_t i;
            EXPECT(ws_queue_poll(q, events, 16, 0, &n), WS_OK);
            /* Readable means pending: the first drain of a wake-up finds events. */
            CHECK(!first || n > 0);
            first = 0;
            for (i = 0; i < n; i++) {
                switch (events[i].type) {
                case WS_EVENT_OPEN: {
                    int k;
                    opened = 1;
                    for (k = 0; k < MESSAGES; k++)
                        EXPECT(ws_send_text(h, "ping-pong"), WS_OK);
                    break;
                }
                case WS_EVENT_MESSAGE:
                    CHECK(events[i].len == 9 && memcmp(events[i].data, "ping-pong", 9) == 0);
                    if (++echoes == MESSAGES)
                        EXPECT(ws_close(h, 1000, "done"), WS_OK);
                    break;
                case WS_EVENT_CLOSE:
                    CHECK(events[i].code == 1000);
                    closed = 1;
                    break;
                default:
                    break;
                }
            }
        } while (n > 0);
    }
    CHECK(opened && echoes == MESSAGES);
    CHECK(!readable(fd, 0)); /* the close was the last event: drained, not readable */
    EXPECT(ws_free(h), WS_OK);
    EXPECT(ws_queue_free(q), WS_OK);
    printf("queue fd: %d echoes in %d wake-ups\n", echoes, loops);
    return 0;
}
