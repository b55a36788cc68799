/* The README's quick start: send one message, print the echo, close. */
#include <stdio.h>

#include "wsclient.h"

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "ws://127.0.0.1:9001/chat";
    ws_handle h;
    ws_event ev;
    int last = 0;
    if (ws_create(url, &h) != WS_OK) { /* returns at once; the worker connects */
        char msg[256];
        ws_last_error_message(msg, sizeof msg, NULL);
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    ws_send_text(h, "hello");                         /* queued; goes out right after the open */
    while (!last && ws_poll(h, &ev, 5000) == WS_OK) { /* or ws_set_callback(h, fn, user_data) */
        if (ev.type == WS_EVENT_MESSAGE) {
            printf("< %.*s\n", (int)ev.len, (const char *)ev.data);
            ws_close(h, 1000, "bye");
        }
        last = ev.type == WS_EVENT_CLOSE;
        ws_event_free(&ev);
    }
    ws_free(h);
    return last ? 0 : 1;
}
