/*
 * The C++ wrapper: defaults match the C ones, errors are exceptions with the
 * status, handlers see every event in order, moving a live WebSocket keeps
 * it working, and the destructor closes and frees (no leak under valgrind).
 * Usage: test_cpp ECHO_URL
 */
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "wsclient.hpp"

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            std::exit(1);                                                                  \
        }                                                                                  \
    } while (0)

struct Log {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> lines;
    void add(std::string s) {
        std::lock_guard<std::mutex> l(m);
        lines.push_back(std::move(s));
        cv.notify_all();
    }
    bool wait_for(size_t n) {
        std::unique_lock<std::mutex> l(m);
        return cv.wait_for(l, std::chrono::seconds(10), [&] { return lines.size() >= n; });
    }
};

int main(int argc, char **argv) {
    CHECK(argc == 2);

    // Defaults are the C library's.
    wsclient::Options defaults;
    CHECK(defaults.ping_interval_ms == WS_DEFAULT_PING_INTERVAL_MS);
    CHECK(defaults.max_message_size == WS_DEFAULT_MAX_MESSAGE_SIZE);
    CHECK(defaults.reconnect);

    // Errors are exceptions carrying the status and the message.
    try {
        wsclient::WebSocket bad("http://nope/");
        CHECK(!"a bad URL must throw");
    } catch (const wsclient::Error &e) {
        CHECK(e.status() == WS_ERR_INVALID_URL);
        CHECK(std::string(e.what()).find("http://nope/") != std::string::npos);
    }
    try {
        wsclient::Options o;
        o.ping_interval_ms = 0xffffffffu;
        wsclient::WebSocket ws(argv[1], o);
        ws.start();
        CHECK(!"a bad option must throw");
    } catch (const wsclient::Error &e) {
        CHECK(e.status() == WS_ERR_INVALID_ARGUMENT);
    }
    {
        wsclient::WebSocket idle(argv[1]);
        try {
            idle.send("x");
            CHECK(!"send before start must throw");
        } catch (const wsclient::Error &e) {
            CHECK(e.status() == WS_ERR_INVALID_STATE);
        }
    }

    // A round trip, with a move in the middle.
    Log log;
    wsclient::Options o;
    o.headers = {{"X-Test", "1"}};
    wsclient::WebSocket first(argv[1], o);
    first.on_open = [&](std::string_view, bool reconnect) { log.add(reconnect ? "reopen" : "open"); };
    first.on_message = [&](std::string_view data, bool binary) {
        log.add((binary ? "bin:" : "text:") + std::string(data));
    };
    first.on_close = [&](const wsclient::CloseInfo &c) {
        log.add("close:" + std::to_string(c.code) + ":" + c.reason);
    };
    first.start();
    CHECK(log.wait_for(1));
    wsclient::WebSocket ws(std::move(first));
    CHECK(first.native_handle() == 0);
    CHECK(ws.native_handle() != 0);
    CHECK(ws.state() == WS_STATE_OPEN);
    ws.send("héllo");
    ws.send("\x00\x01\x02", 3);
    try {
        ws.send(std::string_view("\xff", 1));
        CHECK(!"invalid UTF-8 must throw");
    } catch (const wsclient::Error &e) {
        CHECK(e.status() == WS_ERR_INVALID_UTF8);
    }
    CHECK(log.wait_for(3));
    ws.close(4000, "bye");
    CHECK(log.wait_for(4));
    CHECK(log.lines[0] == "open");
    CHECK(log.lines[1] == "text:héllo");
    CHECK(log.lines[2] == std::string("bin:\x00\x01\x02", 7));
    CHECK(log.lines[3] == "close:4000:bye");

    // The destructor of a live connection closes and frees it.
    {
        std::atomic<int> opens{0};
        wsclient::WebSocket live(argv[1]);
        live.on_open = [&](std::string_view, bool) { opens++; };
        live.start();
        for (int i = 0; i < 200 && opens == 0; i++) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        CHECK(opens == 1);
    }
    std::printf("test_cpp: ok\n");
    return 0;
}
