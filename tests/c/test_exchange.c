/*
 * 10,000 messages of mixed sizes, text and binary, through the pull model;
 * every echo matches; then the server closes with 4002 and the client sees it.
 * Usage: test_exchange ECHO_URL [COUNT]   (COUNT defaults to 10000)
 */
#include <string.h>

#include "common.h"


static size_t size_of(int i) {
    static const size_t sizes[] = {0, 1, 7, 125, 126, 127, 1000, 4096, 65535, 65536, 100000};
    return sizes[i % (int)(sizeof sizes / sizeof sizes[0])];
}

static void fill(unsigned char *buf, size_t len, int i) {
    size_t k;
    for (k = 0; k < len; k++)
        buf[k] = (unsigned char)('a' + (k + (size_t)i) % 26);
}

int main(int argc, char **argv) {
    ws_handle h;
    ws_event ev;
    unsigned char *buf = malloc(100000), *expect = malloc(100000);
    int sent = 0, received = 0, COUNT = argc > 2 ? atoi(argv[2]) : 10000;
    CHECK(argc >= 2 && COUNT > 0 && buf && expect);

    {
        /* Reconnect off: the server's close (4002, not a final code) ends it. */
        ws_config cfg;
        EXPECT(ws_config_new(&cfg), WS_OK);
        EXPECT(ws_config_set_url(cfg, argv[1]), WS_OK);
        EXPECT(ws_config_set_reconnect(cfg, false), WS_OK);
        EXPECT(ws_create_with_config(cfg, &h), WS_OK);
        EXPECT(ws_config_free(cfg), WS_OK);
    }
    next_event(h, &ev);
    CHECK(ev.type == WS_EVENT_OPEN);
    ws_event_free(&ev);

    /* Keep up to 64 messages in flight. */
    while (received < COUNT) {
        while (sent < COUNT && sent - received < 64) {
            size_t len = size_of(sent);
            fill(buf, len, sent);
            EXPECT(ws_send(h, buf, len, sent % 2 == 1), WS_OK);
            sent++;
        }
        next_event(h, &ev);
        CHECK(ev.type == WS_EVENT_MESSAGE);
        CHECK(ev.len == size_of(received));
        CHECK(ev.is_binary == (received % 2 == 1));
        fill(expect, ev.len, received);
        CHECK(ev.len == 0 || memcmp(ev.data, expect, ev.len) == 0);
        ws_event_free(&ev);
        received++;
    }

    EXPECT(ws_send_text(h, "!close 4002 server says bye"), WS_OK);
    next_event(h, &ev);
    CHECK(ev.type == WS_EVENT_CLOSE);
    CHECK(ev.code == 4002);
    CHECK(strcmp(ev.reason, "server says bye") == 0);
    CHECK(ev.was_clean);
    ws_event_free(&ev);
    EXPECT(ws_poll(h, &ev, 0), WS_ERR_CLOSED);
    EXPECT(ws_send_text(h, "late"), WS_ERR_CLOSED);
    EXPECT(ws_free(h), WS_OK);
    free(buf);
    free(expect);
    printf("test_exchange: %d messages ok\n", received);
    return 0;
}
