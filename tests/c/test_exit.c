/*
 * Free connections in every phase and return from main at once: open with
 * messages in flight, reconnecting after a refused connect, and just
 * created. The library must leave no thread or allocation behind, so that
 * valgrind reports nothing, "possibly lost" included (tests/c_api.rs).
 * Usage: test_exit ECHO_URL
 */
#include <string.h>

#include "common.h"

int main(int argc, char **argv) {
    ws_handle open_h, retrying, fresh;
    ws_event ev;
    CHECK(argc == 2);
    EXPECT(ws_create(argv[1], &open_h), WS_OK);
    next_event(open_h, &ev);
    CHECK(ev.type == WS_EVENT_OPEN);
    ws_event_free(&ev);
    for (int i = 0; i < 100; i++) {
        EXPECT(ws_send_text(open_h, "in flight"), WS_OK);
    }
    EXPECT(ws_create("ws://127.0.0.1:1/", &retrying), WS_OK);
    next_event(retrying, &ev); /* the refused connect */
    CHECK(ev.type == WS_EVENT_ERROR);
    ws_event_free(&ev);
    EXPECT(ws_create(argv[1], &fresh), WS_OK);
    EXPECT(ws_free(open_h), WS_OK);
    EXPECT(ws_free(retrying), WS_OK);
    EXPECT(ws_free(fresh), WS_OK);
    printf("test_exit: ok\n");
    return 0;
}
