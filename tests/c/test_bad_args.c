/*
 * Table-driven: every exported function with every kind of bad argument
 * (NULL, zero, huge, a stale handle, a freed config or queue, a handle that
 * was never issued) returns its documented status. The whole table runs
 * three times: on the main thread, on another thread, and from inside a
 * callback on the connection's worker thread.
 * Usage: test_bad_args ECHO_URL
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

typedef struct {
    ws_handle live;   /* open, with a callback set */
    ws_handle freed;  /* freed */
    ws_config cfg;    /* live config */
    ws_config freed_cfg;
    ws_queue queue;
    ws_queue freed_queue;
} ctx_t;

static ctx_t C;
#define NEVER ((uint64_t)0x5700000000abcdefULL) /* looks like a handle, never issued */
#define HUGE_SIZE ((size_t)-1)

/* One row: the call and the status it must return. Failures are counted,
 * not fatal, so the callback run reports too. */
static int rows, failures;
#define ROW(want, expr)                                                                    \
    do {                                                                                   \
        ws_status st_ = (expr);                                                            \
        rows++;                                                                            \
        if (st_ != (want)) {                                                               \
            failures++;                                                                    \
            fprintf(stderr, "[%s] %s:%d: %s returned %s (%d), documented: %s\n", where,    \
                    __FILE__, __LINE__, #expr, ws_status_str(st_), (int)st_, #want);       \
        }                                                                                  \
    } while (0)

#define INVALID WS_ERR_INVALID_ARGUMENT
#define BADH WS_ERR_INVALID_HANDLE

static void noop_cb(const ws_event *ev, void *user) {
    (void)ev;
    (void)user;
}

static void table(const char *where) {
    ws_handle h = 0;
    ws_config cfg = 0;
    ws_queue q = 0;
    ws_event ev;
    ws_event evs[2];
    ws_ready_state state;
    ws_stats stats;
    uint64_t n;
    size_t count, len;
    int fd;
    uint16_t status;
    char buf[8];
    uint16_t codes[1] = {1000};
    memset(&ev, 0, sizeof ev);

    /* library-wide */
    ROW(INVALID, ws_set_logger(-1, NULL, NULL));
    ROW(INVALID, ws_set_logger(6, NULL, NULL));
    ROW(INVALID, ws_set_logger(INT32_MAX, NULL, NULL));
    ROW(WS_OK, ws_set_logger(WS_LOG_OFF, NULL, NULL));
    ROW(INVALID, ws_last_error_message(NULL, 5, NULL));
    ROW(WS_ERR_BUFFER_TOO_SMALL, ws_last_error_message(buf, 1, &len));
    ROW(WS_OK, ws_last_error_message(buf, 0, NULL) == WS_ERR_BUFFER_TOO_SMALL ? WS_OK : WS_ERR_INTERNAL);
    if (strcmp(ws_status_str(-1000), "unknown status") != 0 || ws_version() == NULL) {
        failures++;
        fprintf(stderr, "[%s] ws_status_str or ws_version\n", where);
    }

    /* configs: NULL out, zero, never issued, freed, NULL strings, bad values */
    ROW(INVALID, ws_config_new(NULL));
    ROW(BADH, ws_config_free(0));
    ROW(BADH, ws_config_free(C.freed_cfg));
    ROW(BADH, ws_config_free(UINT64_MAX));
    ROW(BADH, ws_config_set_url(C.freed_cfg, "ws://127.0.0.1/"));
    ROW(INVALID, ws_config_set_url(C.cfg, NULL));
    ROW(WS_ERR_INVALID_URL, ws_config_set_url(C.cfg, ""));
    ROW(WS_ERR_INVALID_URL, ws_config_set_url(C.cfg, "ftp://host/"));
    ROW(WS_ERR_INVALID_UTF8, ws_config_set_url(C.cfg, "ws://\xc3\x28/"));
    ROW(BADH, ws_config_add_header(0, "X", "y"));
    ROW(INVALID, ws_config_add_header(C.cfg, NULL, "y"));
    ROW(INVALID, ws_config_add_header(C.cfg, "X", NULL));
    ROW(INVALID, ws_config_add_header(C.cfg, "", "y"));
    ROW(INVALID, ws_config_add_header(C.cfg, "Host", "y"));
    ROW(INVALID, ws_config_add_header(C.cfg, "X", "a\r\nInjected: 1"));
    ROW(BADH, ws_config_add_subprotocol(C.freed_cfg, "chat"));
    ROW(INVALID, ws_config_add_subprotocol(C.cfg, NULL));
    ROW(INVALID, ws_config_add_subprotocol(C.cfg, "a b"));
    ROW(INVALID, ws_config_set_connect_timeout_ms(C.cfg, 0));
    ROW(INVALID, ws_config_set_connect_timeout_ms(C.cfg, UINT32_MAX));
    ROW(BADH, ws_config_set_connect_timeout_ms(NEVER, 1000));
    ROW(INVALID, ws_config_set_close_timeout_ms(C.cfg, 0));
    ROW(INVALID, ws_config_set_max_message_size(C.cfg, 0));
    ROW(INVALID, ws_config_set_max_message_size(C.cfg, HUGE_SIZE));
    ROW(INVALID, ws_config_set_read_buffer_size(C.cfg, 0));
    ROW(INVALID, ws_config_set_read_buffer_size(C.cfg, HUGE_SIZE));
    ROW(INVALID, ws_config_set_ca_file(C.cfg, NULL));
    ROW(WS_ERR_FILE, ws_config_set_ca_file(C.cfg, "/nonexistent/ca.pem"));
    ROW(INVALID, ws_config_set_client_cert(C.cfg, NULL, "k"));
    ROW(INVALID, ws_config_set_client_cert(C.cfg, "c", NULL));
    ROW(WS_ERR_FILE, ws_config_set_client_cert(C.cfg, "/nonexistent/c", "/nonexistent/k"));
    ROW(BADH, ws_config_set_insecure(C.freed_cfg, false));
    ROW(INVALID, ws_config_set_ping_interval_ms(C.cfg, UINT32_MAX));
    ROW(INVALID, ws_config_set_pong_timeout_ms(C.cfg, 0));
    ROW(WS_ERR_INVALID_UTF8, ws_config_set_ping_payload(C.cfg, "\xff"));
    ROW(BADH, ws_config_set_reconnect(0, true));
    ROW(INVALID, ws_config_set_initial_delay_ms(C.cfg, UINT32_MAX));
    ROW(INVALID, ws_config_set_max_delay_ms(C.cfg, UINT32_MAX));
    ROW(INVALID, ws_config_set_backoff_multiplier(C.cfg, 0.5));
    ROW(INVALID, ws_config_set_backoff_multiplier(C.cfg, 1e300));
    ROW(INVALID, ws_config_set_backoff_jitter(C.cfg, -0.1));
    ROW(INVALID, ws_config_set_backoff_jitter(C.cfg, 1.5));
    ROW(BADH, ws_config_set_max_attempts(C.freed_cfg, 3));
    ROW(INVALID, ws_config_set_min_uptime_ms(C.cfg, UINT32_MAX));
    ROW(INVALID, ws_config_set_final_close_codes(C.cfg, NULL, 3));
    ROW(WS_OK, ws_config_set_final_close_codes(C.cfg, NULL, 0));
    ROW(BADH, ws_config_set_final_close_codes(0, codes, 1));
    ROW(INVALID, ws_config_set_fatal_http_statuses(C.cfg, NULL, 1));
    ROW(INVALID, ws_config_set_queue_limit(C.cfg, 0, 1));
    ROW(INVALID, ws_config_set_queue_limit(C.cfg, 1, 0));
    ROW(BADH, ws_config_set_queue_while_disconnected(C.freed_cfg, true));
    ROW(INVALID, ws_config_set_max_redirects(C.cfg, UINT32_MAX));
    ROW(BADH, ws_config_set_random_seed(NEVER, 1));
    ROW(INVALID, ws_config_set_thread_stack_size(C.cfg, 1));
    ROW(INVALID, ws_config_set_thread_stack_size(C.cfg, HUGE_SIZE));
    ROW(INVALID, ws_config_set_queue_max_messages(C.cfg, 0));
    ROW(INVALID, ws_config_set_queue_max_bytes(C.cfg, 0));
    ROW(BADH, ws_config_set_queue_max_bytes(C.freed_cfg, 1));
    ROW(INVALID, ws_config_set_ca_pem(C.cfg, NULL));
    ROW(INVALID, ws_config_set_ca_pem(C.cfg, "not PEM"));
    ROW(WS_ERR_INVALID_UTF8, ws_config_set_ca_pem(C.cfg, "\xff"));
    ROW(BADH, ws_config_set_ca_pem(C.freed_cfg, "x"));
    ROW(INVALID, ws_config_set_client_cert_pem(C.cfg, NULL, "x"));
    ROW(INVALID, ws_config_set_client_cert_pem(C.cfg, "x", "y"));
    ROW(BADH, ws_config_set_ping_events(NEVER, true));
    ROW(INVALID, ws_config_set_user_agent(C.cfg, NULL));
    ROW(INVALID, ws_config_set_user_agent(C.cfg, "a\r\nb"));
    ROW(INVALID, ws_config_set_server_name(C.cfg, ""));
    ROW(INVALID, ws_config_set_server_name(C.cfg, NULL));
    ROW(INVALID, ws_config_set_client_key_password(C.cfg, NULL));
    ROW(BADH, ws_config_set_client_key_password(C.freed_cfg, "x"));

    /* creating */
    ROW(INVALID, ws_create(NULL, &h));
    ROW(INVALID, ws_create("ws://127.0.0.1/", NULL));
    ROW(WS_ERR_INVALID_URL, ws_create("not a url", &h));
    ROW(WS_ERR_INVALID_UTF8, ws_create("ws://\xe2\x82/", &h));
    ROW(BADH, ws_create_with_config(C.freed_cfg, &h));
    ROW(BADH, ws_create_with_config(0, &h));
    ROW(INVALID, ws_create_with_config(C.cfg, NULL));

    /* handles: zero, never issued, huge, stale */
    ws_handle bad[4] = {0, NEVER, UINT64_MAX, C.freed};
    for (int i = 0; i < 4; i++) {
        ws_handle b = bad[i];
        ROW(BADH, ws_set_callback(b, noop_cb, NULL));
        ROW(BADH, ws_poll(b, &ev, 0));
        ROW(BADH, ws_send(b, (const uint8_t *)"x", 1, false));
        ROW(BADH, ws_send_text(b, "x"));
        ROW(BADH, ws_close(b, 1000, NULL));
        ROW(BADH, ws_free(b));
        ROW(BADH, ws_state(b, &state));
        ROW(BADH, ws_buffered_amount(b, &n));
        ROW(BADH, ws_get_stats(b, &stats));
        ROW(BADH, ws_set_url(b, "ws://127.0.0.1/"));
        ROW(BADH, ws_set_header(b, "X", "y"));
        ROW(BADH, ws_queue_attach(b, C.queue));
        ROW(BADH, ws_ping(b, NULL, 0));
        ROW(BADH, ws_response_status(b, &status));
        ROW(BADH, ws_response_headers(b, NULL, 0, NULL));
        ROW(BADH, ws_response_body(b, NULL, 0, NULL));
    }

    /* the live handle with bad arguments: nothing changes on it */
    ROW(INVALID, ws_poll(C.live, NULL, 0));
    ROW(INVALID, ws_poll(C.live, &ev, -2));
    ROW(INVALID, ws_poll(C.live, &ev, INT32_MIN));
    ROW(WS_ERR_INVALID_STATE, ws_poll(C.live, &ev, 0)); /* a callback is set */
    ROW(INVALID, ws_send(C.live, NULL, 1, true));
    ROW(WS_ERR_MESSAGE_TOO_LARGE, ws_send(C.live, (const uint8_t *)"x", HUGE_SIZE, true));
    ROW(WS_ERR_INVALID_UTF8, ws_send(C.live, (const uint8_t *)"\xed\xa0\x80", 3, false));
    ROW(INVALID, ws_send_text(C.live, NULL));
    ROW(WS_ERR_INVALID_UTF8, ws_send_text(C.live, "\xc0\xaf"));
    ROW(INVALID, ws_close(C.live, 0, "a reason needs a code"));
    ROW(INVALID, ws_close(C.live, 1005, NULL));
    ROW(INVALID, ws_close(C.live, UINT16_MAX, NULL));
    ROW(WS_ERR_INVALID_UTF8, ws_close(C.live, 1000, "\xff"));
    ROW(INVALID, ws_state(C.live, NULL));
    ROW(INVALID, ws_buffered_amount(C.live, NULL));
    ROW(INVALID, ws_get_stats(C.live, NULL));
    ROW(INVALID, ws_set_url(C.live, NULL));
    ROW(WS_ERR_INVALID_URL, ws_set_url(C.live, "http://127.0.0.1/"));
    ROW(INVALID, ws_set_header(C.live, NULL, "y"));
    ROW(INVALID, ws_set_header(C.live, "Connection", "close"));
    ROW(BADH, ws_queue_attach(C.live, C.freed_queue));
    ROW(BADH, ws_queue_attach(C.live, 0));
    ROW(INVALID, ws_ping(C.live, NULL, 1));
    ROW(INVALID, ws_response_status(C.live, NULL));
    ROW(INVALID, ws_response_headers(C.live, NULL, 5, NULL));
    ROW(WS_ERR_BUFFER_TOO_SMALL, ws_response_headers(C.live, NULL, 0, &len));
    ROW(INVALID, ws_response_body(C.live, NULL, 5, NULL));
    ROW(WS_OK, ws_response_body(C.live, NULL, 0, &len)); /* a 101 has no body */
    ROW(INVALID, ws_ping(C.live, (const uint8_t *)"x", 126));
    ROW(INVALID, ws_ping(C.live, (const uint8_t *)"x", HUGE_SIZE));
    ROW(WS_OK, ws_state(C.live, &state));
    if (state != WS_STATE_OPEN) {
        failures++;
        fprintf(stderr, "[%s] the live handle is no longer open (%d)\n", where, (int)state);
    }

    /* queues */
    ROW(INVALID, ws_queue_new(NULL));
    ROW(BADH, ws_queue_free(0));
    ROW(BADH, ws_queue_free(C.freed_queue));
    ROW(BADH, ws_queue_wake(C.freed_queue));
    ROW(BADH, ws_queue_wake(NEVER));
    ROW(INVALID, ws_queue_poll(C.queue, NULL, 1, 0, &count));
    ROW(INVALID, ws_queue_poll(C.queue, evs, 0, 0, &count));
    ROW(INVALID, ws_queue_poll(C.queue, evs, 2, -7, &count));
    ROW(INVALID, ws_queue_poll(C.queue, evs, 2, 0, NULL));
    ROW(BADH, ws_queue_poll(C.freed_queue, evs, 2, 0, &count));
    ROW(INVALID, ws_queue_fd(C.queue, NULL));
    ROW(BADH, ws_queue_fd(C.freed_queue, &fd));
    ROW(BADH, ws_queue_fd(NEVER, &fd));

    /* events */
    ws_event_free(NULL);
    ws_event_free(&ev); /* zeroed: a no-op */

    /* make and free one of each, to run the good path here too */
    ROW(WS_OK, ws_config_new(&cfg));
    ROW(WS_OK, ws_config_free(cfg));
    ROW(BADH, ws_config_free(cfg));
    ROW(WS_OK, ws_queue_new(&q));
    ROW(WS_OK, ws_queue_free(q));
    ROW(BADH, ws_queue_free(q));
}

static int callback_ran;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;

/* Echoes come back here, on the worker thread: run the table once. */
static void on_event(const ws_event *ev, void *user) {
    (void)user;
    if (ev->type != WS_EVENT_MESSAGE) {
        return;
    }
    table("inside the callback");
    pthread_mutex_lock(&lock);
    callback_ran = 1;
    pthread_cond_signal(&done);
    pthread_mutex_unlock(&lock);
}

static void *other_thread(void *arg) {
    (void)arg;
    table("another thread");
    return NULL;
}

int main(int argc, char **argv) {
    ws_event ev;
    CHECK(argc == 2);

    EXPECT(ws_config_new(&C.cfg), WS_OK);
    EXPECT(ws_config_new(&C.freed_cfg), WS_OK);
    EXPECT(ws_config_free(C.freed_cfg), WS_OK);
    EXPECT(ws_queue_new(&C.queue), WS_OK);
    EXPECT(ws_queue_new(&C.freed_queue), WS_OK);
    EXPECT(ws_queue_free(C.freed_queue), WS_OK);
    EXPECT(ws_create(argv[1], &C.freed), WS_OK);
    EXPECT(ws_free(C.freed), WS_OK);

    EXPECT(ws_create(argv[1], &C.live), WS_OK);
    next_event(C.live, &ev);
    CHECK(ev.type == WS_EVENT_OPEN);
    ws_event_free(&ev);
    EXPECT(ws_set_callback(C.live, on_event, NULL), WS_OK);

    table("main thread");
    pthread_t t;
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);

    EXPECT(ws_send_text(C.live, "run the table"), WS_OK);
    pthread_mutex_lock(&lock);
    while (!callback_ran) {
        pthread_cond_wait(&done, &lock);
    }
    pthread_mutex_unlock(&lock);

    EXPECT(ws_free(C.live), WS_OK);
    EXPECT(ws_config_free(C.cfg), WS_OK);
    EXPECT(ws_queue_free(C.queue), WS_OK);
    if (failures) {
        fprintf(stderr, "test_bad_args: %d of %d rows failed\n", failures, rows);
        return 1;
    }
    printf("test_bad_args: ok (%d rows in 3 contexts)\n", rows);
    return 0;
}
