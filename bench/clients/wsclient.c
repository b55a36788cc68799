/*
 * Benchmark client: wsclient through the C API. Messages are sent from the
 * main thread and replies awaited there with ws_poll (how programs use it).
 * Same command line as every bench client; prints one JSON line.
 *   wsclient --url URL --mode rtt|throughput|bandwidth|connections
 *            --count N --size BYTES --window N [--hold SECONDS]
 *            [--payload x|json] [--deflate 0|1]
 * --payload json sends JSON-like text (what compresses as market data
 * does); --deflate turns permessage-deflate off or on (default: on).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wsclient.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
    char line[256];
    long kib = 0;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

/* CPU time of the whole process (every thread), user + system. */
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int deflate = -1; /* -1: the library's default */

static ws_handle open_one(const char *url, int small) {
    ws_config cfg;
    ws_handle h;
    ws_config_new(&cfg);
    ws_config_set_url(cfg, url);
    if (small) {
        /* What makes a connection small: a 4 KiB read buffer and a small stack. */
        ws_config_set_read_buffer_size(cfg, 4096);
        ws_config_set_thread_stack_size(cfg, 64 * 1024);
    } else {
        ws_config_set_ping_interval_ms(cfg, 0);
    }
    if (deflate >= 0)
        ws_config_set_permessage_deflate(cfg, deflate != 0);
    if (ws_create_with_config(cfg, &h) != WS_OK) {
        fprintf(stderr, "ws_create failed\n");
        exit(1);
    }
    ws_config_free(cfg);
    return h;
}

static void wait_for(ws_handle h, ws_event_type type) {
    ws_event ev;
    for (;;) {
        if (ws_poll(h, &ev, 10000) != WS_OK) {
            fprintf(stderr, "no event\n");
            exit(1);
        }
        ws_event_type t = ev.type;
        ws_event_free(&ev);
        if (t == type)
            return;
        if (t == WS_EVENT_ERROR || t == WS_EVENT_CLOSE) {
            fprintf(stderr, "connection failed\n");
            exit(1);
        }
    }
}

int main(int argc, char **argv) {
    const char *url = NULL, *mode = "rtt", *kind = "x";
    long count = 1000, size = 32, window = 1, i;
    double hold = 30;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url")) url = argv[i + 1];
        else if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
        else if (!strcmp(argv[i], "--count")) count = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--size")) size = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--window")) window = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--hold")) hold = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--payload")) kind = argv[i + 1];
        else if (!strcmp(argv[i], "--deflate")) deflate = atoi(argv[i + 1]);
    }
    if (!url)
        return 2;

    if (!strcmp(mode, "connections")) {
        long before = rss_kib();
        double t0 = now(), c0;
        ws_handle *hs = calloc((size_t)count, sizeof *hs);
        for (i = 0; i < count; i++)
            hs[i] = open_one(url, 1);
        for (i = 0; i < count; i++)
            wait_for(hs[i], WS_EVENT_OPEN);
        double open_s = now() - t0;
        c0 = cpu_s();
        sleep((unsigned)hold);
        printf("{\"open_s\": %f, \"rss_kib_before\": %ld, \"rss_kib_held\": %ld, \"cpu_s_idle\": %f, \"count\": %ld}\n",
               open_s, before, rss_kib(), cpu_s() - c0, count);
        return 0; /* exit without closing: the measurement is done */
    }

    int json = !strcmp(kind, "json");
    int binary = size > 1024 && !json;
    char *payload = malloc((size_t)size + 128);
    memset(payload, 'x', (size_t)size);
    if (json) {
        long n = 0;
        for (i = 0; n < size; i++)
            n += snprintf(payload + n, 128, "{\"seq\":%ld,\"price\":%ld.%02ld,\"qty\":%ld,\"side\":\"%s\"},", i,
                          100 + i % 7, i % 100, 1 + i % 13, i % 2 ? "buy" : "sell");
    }
    ws_handle h = open_one(url, 0);
    wait_for(h, WS_EVENT_OPEN);
    double *times = window == 1 ? malloc(sizeof(double) * (size_t)count) : NULL;
    long sent = 0, got = 0;
    ws_event ev;
    double cpu0 = cpu_s(); /* the harness counts the CPU after this: the loop, the close, the exit */
    double t0 = now();
    while (got < count) {
        double ts = 0;
        while (sent < count && sent - got < window) {
            ts = now();
            ws_send(h, (const uint8_t *)payload, (size_t)size, binary);
            sent++;
        }
        if (ws_poll(h, &ev, 10000) != WS_OK)
            return 1;
        if (ev.type == WS_EVENT_MESSAGE) {
            if (times)
                times[got] = now() - ts;
            got++;
        }
        ws_event_free(&ev);
    }
    double secs = now() - t0;
    printf("{\"msgs_per_s\": %f, \"mib_per_s\": %f, \"cpu_s_start\": %f, \"count\": %ld", count / secs,
           (double)count * size / secs / 1048576.0, cpu0, count);
    if (times) {
        double sum = 0;
        for (i = 0; i < count; i++)
            sum += times[i];
        qsort(times, (size_t)count, sizeof(double), cmp);
        printf(", \"p50_us\": %f, \"p99_us\": %f, \"mean_us\": %f", times[count / 2] * 1e6,
               times[count * 99 / 100] * 1e6, sum / count * 1e6);
    }
    printf("}\n");
    ws_close(h, 1000, NULL);
    wait_for(h, WS_EVENT_CLOSE);
    ws_free(h);
    return 0;
}
