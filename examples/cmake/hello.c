/* Send "hello", print the echo, close. Exit 0 only if the echo came back. */
#include <stdio.h>
#include <string.h>

#include <wsclient.h>

int main(int argc, char **argv) {
    ws_handle h;
    ws_event ev;
    int echoed = 0, closed = 0;
    if (argc != 2 || ws_create(argv[1], &h) != WS_OK) {
        fprintf(stderr, "usage: %s ws://host:port/\n", argv[0]);
        return 2;
    }
    ws_send_text(h, "hello");
    while (!closed && ws_poll(h, &ev, 5000) == WS_OK) {
        if (ev.type == WS_EVENT_MESSAGE) {
            printf("< %.*s\n", (int)ev.len, (const char *)ev.data);
            echoed = ev.len == 5 && memcmp(ev.data, "hello", 5) == 0;
            ws_close(h, 1000, NULL);
        } else if (ev.type == WS_EVENT_ERROR) {
            fprintf(stderr, "error: %s\n", ev.message);
        }
        closed = ev.type == WS_EVENT_CLOSE;
        ws_event_free(&ev);
    }
    ws_free(h);
    return echoed && closed ? 0 : 1;
}
