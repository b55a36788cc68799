/*
 * echo.c: connect, send text and binary, print what comes back, close.
 *
 *   cc -Iinclude examples/c/echo.c -Ltarget/release -lwsclient -o echo
 *   ./echo ws://127.0.0.1:9001
 *
 * Uses the pull model (ws_poll) so everything happens on this thread.
 */
#include <stdio.h>
#include <string.h>

#include "wsclient.h"

static int fail(const char *what, ws_status st) {
    char msg[512];
    ws_last_error_message(msg, sizeof msg, NULL);
    fprintf(stderr, "echo: %s failed: %s (%s)\n", what, ws_status_str(st), msg);
    return 1;
}

/* Wait for the next event; prints it. Returns its type, or WS_EVENT_NONE. */
static ws_event_type next(ws_handle h, ws_event *ev) {
    ws_status st = ws_poll(h, ev, 5000);
    if (st != WS_OK) {
        fail("ws_poll", st);
        return WS_EVENT_NONE;
    }
    switch (ev->type) {
    case WS_EVENT_OPEN:
        printf("open (subprotocol \"%s\")\n", ev->protocol);
        break;
    case WS_EVENT_MESSAGE:
        if (ev->is_binary)
            printf("< binary message of %zu bytes\n", ev->len);
        else
            printf("< %.*s\n", (int)ev->len, (const char *)ev->data);
        break;
    case WS_EVENT_ERROR:
        printf("error %d: %s\n", (int)ev->error_kind, ev->message);
        break;
    case WS_EVENT_CLOSE:
        printf("close %u \"%s\" clean=%s\n", (unsigned)ev->code, ev->reason, ev->was_clean ? "yes" : "no");
        break;
    default:
        break;
    }
    return ev->type;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "ws://127.0.0.1:9001";
    ws_handle h;
    ws_event ev;
    ws_status st;
    const uint8_t blob[4] = {0xde, 0xad, 0xbe, 0xef};
    int got = 0, ok = 1;

    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe */
    printf("wsclient %s, connecting to %s\n", ws_version(), url);
    if ((st = ws_create(url, &h)) != WS_OK)
        return fail("ws_create", st);

    /* Every event from ws_poll is released with ws_event_free. */
    ok = next(h, &ev) == WS_EVENT_OPEN;
    ws_event_free(&ev);
    if (ok) {
        /* Copied and queued: the buffers may be reused as soon as these return. */
        printf("> hello from C\n");
        ws_send_text(h, "hello from C");
        printf("> binary message of 4 bytes\n");
        ws_send(h, blob, sizeof blob, true);
        while (got < 2 && ok) {
            ok = next(h, &ev) == WS_EVENT_MESSAGE;
            ws_event_free(&ev);
            got++;
        }
    }
    ws_close(h, 1000, "bye");
    for (;;) {
        ws_event_type t = next(h, &ev);
        if (t == WS_EVENT_CLOSE)
            ok = ok && ev.code == 1000;
        ws_event_free(&ev);
        if (t == WS_EVENT_CLOSE || t == WS_EVENT_NONE)
            break;
    }
    ws_free(h);
    printf(ok ? "echo: ok\n" : "echo: FAILED\n");
    return ok ? 0 : 1;
}
