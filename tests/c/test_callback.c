/*
 * The callback model: events arrive on the worker thread; a second thread
 * sends; the callback itself sends, closes and frees its own handle.
 * Usage: test_callback ECHO_URL
 */
#include <pthread.h>
#include <string.h>

#include "common.h"

#define PER_THREAD 500

struct ctx {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int opened, messages, closed;
    unsigned close_code;
    ws_status free_status;
    ws_handle h;
};

static void on_event(const ws_event *ev, void *user_data) {
    struct ctx *c = user_data;
    pthread_mutex_lock(&c->lock);
    switch (ev->type) {
    case WS_EVENT_OPEN:
        c->opened = 1;
        break;
    case WS_EVENT_MESSAGE:
        c->messages++;
        if (c->messages == 2 * PER_THREAD + 1) {
            /* The last echo: close from inside the callback. */
            ws_close(ev->handle, 1000, "done");
        }
        break;
    case WS_EVENT_CLOSE:
        c->closed = 1;
        c->close_code = ev->code;
        c->free_status = ws_free(ev->handle); /* free from inside the callback */
        break;
    default:
        break;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (ev->type == WS_EVENT_OPEN) {
        /* Send from inside the callback: only enqueues, never blocks. */
        CHECK(ws_send_text(ev->handle, "from the callback") == WS_OK);
    }
}

static void *sender(void *arg) {
    struct ctx *c = arg;
    int i;
    for (i = 0; i < PER_THREAD; i++)
        EXPECT(ws_send(c->h, (const uint8_t *)"0123456789", 10, true), WS_OK);
    return NULL;
}

int main(int argc, char **argv) {
    struct ctx c;
    pthread_t t1, t2;
    CHECK(argc == 2);
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.cond, NULL);

    EXPECT(ws_create(argv[1], &c.h), WS_OK);
    EXPECT(ws_set_callback(c.h, on_event, &c), WS_OK);
    pthread_create(&t1, NULL, sender, &c);
    pthread_create(&t2, NULL, sender, &c);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);

    pthread_mutex_lock(&c.lock);
    while (!c.closed)
        pthread_cond_wait(&c.cond, &c.lock);
    pthread_mutex_unlock(&c.lock);

    CHECK(c.opened);
    CHECK(c.messages == 2 * PER_THREAD + 1);
    CHECK(c.close_code == 1000);
    CHECK(c.free_status == WS_OK);
    EXPECT(ws_free(c.h), WS_ERR_INVALID_HANDLE);
    pthread_cond_destroy(&c.cond);
    pthread_mutex_destroy(&c.lock);
    printf("test_callback: ok\n");
    return 0;
}
