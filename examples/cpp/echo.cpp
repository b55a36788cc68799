// The C++ wrapper (include/wsclient.hpp): connect, send a text and a binary
// message, print the echoes, close.
// Build: c++ -std=c++17 -Iinclude examples/cpp/echo.cpp -Ltarget/release -lwsclient
// Usage: echo URL   (for example the bundled echo server's URL)
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "wsclient.hpp"

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s ws://host:port/path\n", argv[0]);
        return 2;
    }
    std::mutex m;
    std::condition_variable cv;
    int echoes = 0;
    bool closed = false;
    try {
        wsclient::Options options;
        options.reconnect = false;
        wsclient::WebSocket ws(argv[1], options);
        ws.on_open = [&](std::string_view protocol, bool) {
            std::printf("open (subprotocol '%.*s')\n", (int)protocol.size(), protocol.data());
            ws.send("hello from C++");
            const unsigned char bytes[] = {0, 1, 2, 255};
            ws.send(bytes, sizeof bytes);
        };
        ws.on_message = [&](std::string_view data, bool binary) {
            if (binary) {
                std::printf("< %zu binary bytes\n", data.size());
            } else {
                std::printf("< %.*s\n", (int)data.size(), data.data());
            }
            std::lock_guard<std::mutex> lock(m);
            if (++echoes == 2) {
                ws.close(1000, "done");
            }
        };
        ws.on_error = [](const wsclient::ErrorInfo &e) {
            std::fprintf(stderr, "error: %s\n", e.message.c_str());
        };
        ws.on_close = [&](const wsclient::CloseInfo &c) {
            std::printf("closed %u '%s'\n", c.code, c.reason.c_str());
            std::lock_guard<std::mutex> lock(m);
            closed = true;
            cv.notify_one();
        };
        ws.start();
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return closed; });
        return echoes == 2 ? 0 : 1;
    } catch (const wsclient::Error &e) {
        std::fprintf(stderr, "%s (%s)\n", e.what(), ws_status_str(e.status()));
        return 1;
    }
}
