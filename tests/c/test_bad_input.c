/*
 * Every kind of bad argument gets its documented status.
 * Usage: test_bad_input ECHO_URL
 */
#include <string.h>

#include "common.h"

int main(int argc, char **argv) {
    ws_handle h = 0, freed;
    ws_config cfg;
    ws_event ev;
    ws_ready_state state;
    uint64_t n;
    char small[4], reason[200];
    size_t len;
    CHECK(argc == 2);

    /* NULL pointers */
    EXPECT(ws_create(NULL, &h), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_create(argv[1], NULL), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_config_new(NULL), WS_ERR_INVALID_ARGUMENT);
    /* bad URLs */
    EXPECT(ws_create("http://127.0.0.1/", &h), WS_ERR_INVALID_URL);
    EXPECT(ws_create("ws://", &h), WS_ERR_INVALID_URL);
    EXPECT(ws_create("ws://127.0.0.1:70000/", &h), WS_ERR_INVALID_URL);
    EXPECT(ws_create("ws://\xff/", &h), WS_ERR_INVALID_UTF8);
    CHECK(h == 0); /* out-params are written only on success */
    /* last error: size query, too small, then read */
    EXPECT(ws_last_error_message(NULL, 0, &len), WS_ERR_BUFFER_TOO_SMALL);
    CHECK(len > 0);
    EXPECT(ws_last_error_message(small, sizeof small, NULL), WS_ERR_BUFFER_TOO_SMALL);

    /* options */
    EXPECT(ws_config_new(&cfg), WS_OK);
    EXPECT(ws_create_with_config(cfg, &h), WS_ERR_INVALID_URL);
    EXPECT(ws_config_set_connect_timeout_ms(cfg, 0), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_config_set_max_message_size(cfg, 0), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_config_set_read_buffer_size(cfg, 1), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_config_add_header(cfg, "Bad Name", "x"), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_config_set_ca_file(cfg, "/no/such/file.pem"), WS_ERR_FILE);
    EXPECT(ws_config_set_url(cfg, argv[1]), WS_OK);
    EXPECT(ws_config_set_max_message_size(cfg, 100), WS_OK);
    EXPECT(ws_create_with_config(cfg, &h), WS_OK);
    EXPECT(ws_config_free(cfg), WS_OK);
    EXPECT(ws_config_free(cfg), WS_ERR_INVALID_HANDLE);

    next_event(h, &ev);
    CHECK(ev.type == WS_EVENT_OPEN);
    ws_event_free(&ev);
    ws_event_free(&ev); /* harmless twice */
    ws_event_free(NULL);

    /* sends */
    EXPECT(ws_send(h, NULL, 3, false), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_send(h, (const uint8_t *)"\xff\xfe", 2, false), WS_ERR_INVALID_UTF8);
    EXPECT(ws_send(h, (const uint8_t *)"x", 101, true), WS_ERR_MESSAGE_TOO_LARGE);
    EXPECT(ws_send(h, (const uint8_t *)"x", (size_t)-1, true), WS_ERR_MESSAGE_TOO_LARGE);
    EXPECT(ws_send_text(h, NULL), WS_ERR_INVALID_ARGUMENT);
    /* closes */
    EXPECT(ws_close(h, 999, NULL), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_close(h, 1006, NULL), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_close(h, 5000, NULL), WS_ERR_INVALID_ARGUMENT);
    memset(reason, 'r', 124);
    reason[124] = 0;
    EXPECT(ws_close(h, 1000, reason), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_close(h, 1000, "\xff"), WS_ERR_INVALID_UTF8);
    /* queries */
    EXPECT(ws_state(h, NULL), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_buffered_amount(h, NULL), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_poll(h, NULL, 0), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_poll(h, &ev, -5), WS_ERR_INVALID_ARGUMENT);
    EXPECT(ws_poll(h, &ev, 0), WS_ERR_TIMEOUT);

    /* still usable after all that */
    EXPECT(ws_send(h, (const uint8_t *)"fine", 4, false), WS_OK);
    next_event(h, &ev);
    CHECK(ev.type == WS_EVENT_MESSAGE && ev.len == 4 && memcmp(ev.data, "fine", 4) == 0);
    ws_event_free(&ev);
    EXPECT(ws_state(h, &state), WS_OK);
    CHECK(state == WS_STATE_OPEN);
    EXPECT(ws_close(h, 3000, "bye"), WS_OK);
    EXPECT(ws_close(h, 3000, "bye"), WS_OK);
    next_event(h, &ev);
    CHECK(ev.type == WS_EVENT_CLOSE && ev.code == 3000);
    ws_event_free(&ev);

    /* stale and never-issued handles */
    freed = h;
    EXPECT(ws_free(h), WS_OK);
    EXPECT(ws_free(freed), WS_ERR_INVALID_HANDLE);
    EXPECT(ws_send_text(freed, "x"), WS_ERR_INVALID_HANDLE);
    EXPECT(ws_close(freed, 1000, NULL), WS_ERR_INVALID_HANDLE);
    EXPECT(ws_state(freed, &state), WS_ERR_INVALID_HANDLE);
    EXPECT(ws_buffered_amount(freed, &n), WS_ERR_INVALID_HANDLE);
    EXPECT(ws_poll(freed, &ev, 0), WS_ERR_INVALID_HANDLE);
    EXPECT(ws_set_callback(freed, NULL, NULL), WS_ERR_INVALID_HANDLE);
    EXPECT(ws_free(0), WS_ERR_INVALID_HANDLE);
    EXPECT(ws_free(0xdeadbeef), WS_ERR_INVALID_HANDLE);
    CHECK(strcmp(ws_status_str(1234), "unknown status") == 0);
    CHECK(strcmp(ws_version(), WSCLIENT_VERSION) == 0);
    printf("test_bad_input: ok\n");
    return 0;
}
