// Send "hello" with the C++ wrapper, print the echo, close.
#include <cstdio>
#include <future>

#include <wsclient.hpp>

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s ws://host:port/\n", argv[0]);
        return 2;
    }
    std::promise<bool> done;
    wsclient::WebSocket ws(argv[1]);
    bool echoed = false;
    ws.on_message = [&](std::string_view data, bool) {
        std::printf("< %.*s\n", (int)data.size(), data.data());
        echoed = data == "hello";
        ws.close();
    };
    ws.on_close = [&](const wsclient::CloseInfo &) { done.set_value(echoed); };
    ws.start();
    ws.send("hello");
    auto result = done.get_future();
    if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        return 1;
    }
    return result.get() ? 0 : 1;
}
