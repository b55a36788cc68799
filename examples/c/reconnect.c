/*
 * reconnect.c: keep sending while the server goes away and comes back.
 *
 *   ./reconnect ws://127.0.0.1:9001 [SECONDS]
 *
 * Sends "msg N" every 100 ms until SECONDS (default 6) after the first
 * open, printing every event. When the server disappears the library
 * reports the error and each reconnect attempt, keeps what is sent meanwhile
 * in its queue, and delivers it in order after the next open. Sending goes
 * on while the connection is down (for at most a minute more), so an outage
 * never ends the run. Exits 0 when a reconnect happened and every message
 * sent while disconnected came back.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wsclient.h"

#define MAX_MSGS 1000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, ws_status st) {
    char msg[512];
    ws_last_error_message(msg, sizeof msg, NULL);
    fprintf(stderr, "reconnect: %s failed: %s (%s)\n", what, ws_status_str(st), msg);
    return 1;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "ws://127.0.0.1:9001";
    double seconds = argc > 2 ? atof(argv[2]) : 6.0;
    static char sent_down[MAX_MSGS], echoed[MAX_MSGS];
    int sent = 0, reconnects = 0, missing = 0, opened = 0, open_now = 0, i;
    ws_config cfg;
    ws_handle h;
    ws_event ev;
    ws_status st;
    double start, next_send, end, give_up;

    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe */
    if ((st = ws_config_new(&cfg)) != WS_OK)
        return fail("ws_config_new", st);
    ws_config_set_url(cfg, url);
    ws_config_set_initial_delay_ms(cfg, 200); /* quick retries for the demo */
    ws_config_set_max_delay_ms(cfg, 1000);
    ws_config_set_ping_interval_ms(cfg, 1000);
    ws_config_set_pong_timeout_ms(cfg, 1000);
    if ((st = ws_create_with_config(cfg, &h)) != WS_OK)
        return fail("ws_create_with_config", st);
    ws_config_free(cfg);

    start = now_s();
    next_send = start;
    end = start + seconds;
    give_up = start + seconds + 60.0;
    for (;;) {
        double t = now_s();
        int wait_ms;
        /* The SECONDS count from the first open; while the connection is
         * down, the end moves along, so what is sent during an outage is
         * seen coming back after it. */
        if (!open_now && t < give_up) {
            double e = opened ? t : t + seconds;
            if (e > end)
                end = e;
        }
        if (t >= next_send && t < end && sent < MAX_MSGS) {
            char text[32];
            ws_ready_state state;
            ws_state(h, &state);
            snprintf(text, sizeof text, "msg %d", sent);
            if ((st = ws_send_text(h, text)) != WS_OK)
                return fail("ws_send_text", st);
            sent_down[sent] = state != WS_STATE_OPEN;
            printf("> %s%s\n", text, sent_down[sent] ? "   (queued: not connected)" : "");
            sent++;
            next_send += 0.1;
        }
        if (t >= end + 3.0)
            break; /* a last chance for echoes to arrive */
        wait_ms = (int)((next_send - now_s()) * 1000);
        if (t >= end)
            wait_ms = 100;
        st = ws_poll(h, &ev, wait_ms < 0 ? 0 : wait_ms);
        if (st == WS_ERR_TIMEOUT)
            continue;
        if (st != WS_OK)
            return fail("ws_poll", st);
        switch (ev.type) {
        case WS_EVENT_OPEN:
            printf("open%s\n", ev.is_reconnect ? " (reconnected: subscribe again here)" : "");
            reconnects += ev.is_reconnect;
            opened = open_now = 1;
            break;
        case WS_EVENT_MESSAGE:
            if (ev.len > 4 && memcmp(ev.data, "msg ", 4) == 0) {
                char num[16] = {0}; /* the payload has no NUL terminator */
                memcpy(num, ev.data + 4, ev.len - 4 < sizeof num - 1 ? ev.len - 4 : sizeof num - 1);
                i = atoi(num);
                if (i >= 0 && i < MAX_MSGS)
                    echoed[i]++;
            }
            printf("< %.*s\n", (int)ev.len, (const char *)ev.data);
            break;
        case WS_EVENT_ERROR:
            printf("error: %s\n", ev.message);
            open_now = 0;
            break;
        case WS_EVENT_RECONNECTING:
            printf("reconnecting: attempt %u in %llu ms\n", ev.attempt, (unsigned long long)ev.delay_ms);
            open_now = 0;
            break;
        case WS_EVENT_PONG:
            break;
        case WS_EVENT_CLOSE:
            printf("closed: %u\n", (unsigned)ev.code);
            open_now = 0;
            break;
        default:
            break;
        }
        ws_event_free(&ev);
        if (open_now && now_s() >= end) {
            int all = 1;
            for (i = 0; i < sent; i++)
                all = all && echoed[i];
            if (all)
                break;
        }
    }
    ws_close(h, 1000, "done");
    while (ws_poll(h, &ev, 5000) == WS_OK) {
        int last = ev.type == WS_EVENT_CLOSE;
        ws_event_free(&ev);
        if (last)
            break;
    }
    ws_free(h);

    for (i = 0; i < sent; i++) {
        if (echoed[i] > 1) {
            printf("msg %d came back %d times\n", i, echoed[i]);
            missing++;
        }
        if (!echoed[i] && sent_down[i]) {
            printf("msg %d, sent while disconnected, never came back\n", i);
            missing++;
        } else if (!echoed[i]) {
            printf("msg %d was in flight when the connection died (no acknowledgements in WebSocket)\n", i);
        }
    }
    printf("reconnect: sent %d, reconnects %d, problems %d\n", sent, reconnects, missing);
    return reconnects > 0 && missing == 0 ? 0 : 1;
}
