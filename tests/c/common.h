/* Helpers shared by the C tests. */
#ifndef WSCLIENT_TEST_COMMON_H
#define WSCLIENT_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "wsclient.h"

static inline void print_error(const char *what, ws_status st) {
    char msg[512];
    ws_last_error_message(msg, sizeof msg, NULL);
    fprintf(stderr, "%s: %s (%d): %s\n", what, ws_status_str(st), (int)st, msg);
}

/* Abort the test unless expr returns the expected status. */
#define EXPECT(expr, want)                                                                 \
    do {                                                                                   \
        ws_status st_ = (expr);                                                            \
        if (st_ != (want)) {                                                               \
            fprintf(stderr, "%s:%d: %s returned %d, wanted %s\n", __FILE__, __LINE__, #expr, \
                    (int)st_, #want);                                                      \
            print_error(#expr, st_);                                                       \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* Poll the next event within 10 s; abort if none. */
static inline void next_event(ws_handle h, ws_event *ev) {
    EXPECT(ws_poll(h, ev, 10000), WS_OK);
}

#endif
