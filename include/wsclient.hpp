/*
 * wsclient.hpp: a header-only C++17 wrapper over wsclient.h.
 *
 *     wsclient::WebSocket ws("ws://127.0.0.1:9001/");
 *     ws.on_message = [](std::string_view text, bool binary) { ... };
 *     ws.start();                 // connects on its own thread
 *     ws.send("hello");
 *     ...                         // the destructor closes (1000) and frees
 *
 * - `WebSocket` owns one connection handle. It is move-only; its handlers
 *   live on the heap, so moving it while events arrive is safe.
 * - Handlers run on the connection's own thread, one event at a time, in
 *   order. Set them before `start()`; they are not changed afterwards. A
 *   handler may call `send`, `close` and the queries on its own socket. An
 *   exception thrown by a handler is caught and dropped (it cannot cross the
 *   C library); catch it yourself if it matters. Do not destroy the
 *   `WebSocket` from inside its own handler (call `close()` there).
 * - Every call that fails throws `wsclient::Error`, which carries the
 *   `ws_status` and the library's message.
 * - The views passed to `on_message` are valid only during the call: copy
 *   what you keep.
 */
#ifndef WSCLIENT_HPP
#define WSCLIENT_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wsclient.h"

namespace wsclient {

/** A failed call: the status and the library's message for it. */
class Error : public std::runtime_error {
public:
    Error(ws_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    /** The C status, e.g. `WS_ERR_INVALID_URL`. */
    ws_status status() const noexcept { return status_; }

private:
    ws_status status_;
};

namespace detail {

/** The message of the last failed call on this thread. */
inline std::string last_error() {
    size_t len = 0;
    ws_last_error_message(nullptr, 0, &len);
    std::string msg(len + 1, '\0');
    if (ws_last_error_message(msg.data(), msg.size(), &len) != WS_OK) {
        return {};
    }
    msg.resize(len);
    return msg;
}

inline void check(ws_status st, const char *what) {
    if (st != WS_OK) {
        std::string msg = last_error();
        throw Error(st, std::string(what) + ": " + (msg.empty() ? ws_status_str(st) : msg));
    }
}

/** A config handle, freed on scope exit. */
struct Config {
    ws_config cfg = 0;
    Config() { check(ws_config_new(&cfg), "ws_config_new"); }
    ~Config() { ws_config_free(cfg); }
    Config(const Config &) = delete;
    Config &operator=(const Config &) = delete;
};

} // namespace detail

/** Options, with the C library's defaults. */
struct Options {
    /** Extra HTTP headers on the upgrade request (name, value). */
    std::vector<std::pair<std::string, std::string>> headers;
    /** Subprotocols to offer, in order of preference. */
    std::vector<std::string> subprotocols;
    uint32_t connect_timeout_ms = WS_DEFAULT_CONNECT_TIMEOUT_MS;
    uint32_t close_timeout_ms = WS_DEFAULT_CLOSE_TIMEOUT_MS;
    size_t max_message_size = WS_DEFAULT_MAX_MESSAGE_SIZE;
    /** Heartbeat: ping every this many ms (0: off) ... */
    uint32_t ping_interval_ms = WS_DEFAULT_PING_INTERVAL_MS;
    /** ... and give up on a silent peer after this many. */
    uint32_t pong_timeout_ms = WS_DEFAULT_PONG_TIMEOUT_MS;
    /** Reconnect with backoff after a failure (false: like a browser). */
    bool reconnect = true;
    uint32_t initial_delay_ms = WS_DEFAULT_INITIAL_DELAY_MS;
    uint32_t max_delay_ms = WS_DEFAULT_MAX_DELAY_MS;
    /** Consecutive failed attempts before giving up (0: never). */
    uint32_t max_attempts = 0;
    /** Extra trusted CA certificates (PEM file), "" for none. */
    std::string ca_file;
    /** Client certificate and PKCS#8 key (PEM files), "" for none. */
    std::string cert_file, key_file;
    /** Skip certificate verification (tests only). */
    bool insecure = false;
    /** HTTP redirects to follow per attempt (never wss to ws). */
    uint32_t max_redirects = 0;
    /** Proxy URL (http://, https://, socks5://, socks5h://, with user:password@ if needed);
     *  unset: the environment's (https_proxy, http_proxy, all_proxy, no_proxy); "": none. */
    std::optional<std::string> proxy;
};

/** How the connection ended. */
struct CloseInfo {
    uint16_t code = 0;
    std::string reason;
    bool was_clean = false;
    /** Messages accepted by `send` that never left. */
    uint64_t unsent_messages = 0;
};

/** A failure reported by the connection (it may reconnect after it). */
struct ErrorInfo {
    ws_error_kind kind = WS_ERROR_NONE;
    std::string message;
    /** The HTTP status of a rejected upgrade, else 0. */
    uint16_t http_status = 0;
};

/** A WebSocket connection that stays connected. */
class WebSocket {
public:
    std::function<void(std::string_view protocol, bool reconnect)> on_open;
    std::function<void(std::string_view data, bool binary)> on_message;
    std::function<void(const ErrorInfo &)> on_error;
    std::function<void(uint32_t attempt, uint64_t delay_ms, const ErrorInfo &why)> on_reconnecting;
    std::function<void(uint64_t rtt_us)> on_pong;
    /** The last event: nothing follows it. */
    std::function<void(const CloseInfo &)> on_close;

    /** Prepare a connection to `url` (checked now); nothing happens until `start`. */
    explicit WebSocket(std::string url, Options options = {})
        : url_(std::move(url)), options_(std::move(options)), impl_(std::make_unique<Impl>()) {
        detail::Config probe;
        detail::check(ws_config_set_url(probe.cfg, url_.c_str()), "url");
    }

    WebSocket(WebSocket &&other) noexcept
        : on_open(std::move(other.on_open)), on_message(std::move(other.on_message)),
          on_error(std::move(other.on_error)), on_reconnecting(std::move(other.on_reconnecting)),
          on_pong(std::move(other.on_pong)), on_close(std::move(other.on_close)),
          url_(std::move(other.url_)), options_(std::move(other.options_)),
          impl_(std::move(other.impl_)) {}

    WebSocket &operator=(WebSocket &&other) noexcept {
        if (this != &other) {
            reset();
            on_open = std::move(other.on_open);
            on_message = std::move(other.on_message);
            on_error = std::move(other.on_error);
            on_reconnecting = std::move(other.on_reconnecting);
            on_pong = std::move(other.on_pong);
            on_close = std::move(other.on_close);
            url_ = std::move(other.url_);
            options_ = std::move(other.options_);
            impl_ = std::move(other.impl_);
        }
        return *this;
    }

    WebSocket(const WebSocket &) = delete;
    WebSocket &operator=(const WebSocket &) = delete;

    /** Closes with 1000 in the background and frees the handle. */
    ~WebSocket() { reset(); }

    /**
     * Connect (on the connection's own thread; this returns at once). The
     * handlers are taken now: later changes to them have no effect.
     */
    void start() {
        if (!impl_) {
            throw Error(WS_ERR_INVALID_STATE, "start: this WebSocket was moved from");
        }
        if (impl_->handle != 0) {
            throw Error(WS_ERR_INVALID_STATE, "start: already started");
        }
        detail::Config c;
        apply(c.cfg);
        impl_->on_open = on_open;
        impl_->on_message = on_message;
        impl_->on_error = on_error;
        impl_->on_reconnecting = on_reconnecting;
        impl_->on_pong = on_pong;
        impl_->on_close = on_close;
        ws_handle h = 0;
        detail::check(ws_create_with_config(c.cfg, &h), "start");
        impl_->handle = h;
        ws_status st = ws_set_callback(h, &Impl::trampoline, impl_.get());
        if (st != WS_OK) {
            ws_free(h);
            impl_->handle = 0;
            detail::check(st, "start");
        }
    }

    /** Queue a text message (must be UTF-8). */
    void send(std::string_view text) {
        detail::check(ws_send(handle(), reinterpret_cast<const uint8_t *>(text.data()),
                              text.size(), false),
                      "send");
    }

    /** Queue a binary message. */
    void send(const void *data, size_t len) {
        detail::check(ws_send(handle(), static_cast<const uint8_t *>(data), len, true), "send");
    }

    /** Start the close handshake; `on_close` follows. */
    void close(uint16_t code = 1000, const std::string &reason = {}) {
        detail::check(ws_close(handle(), code, reason.c_str()), "close");
    }

    ws_ready_state state() const {
        ws_ready_state s = WS_STATE_CLOSED;
        detail::check(ws_state(handle(), &s), "state");
        return s;
    }

    /** Bytes accepted by `send` and not yet written. */
    uint64_t buffered_amount() const {
        uint64_t n = 0;
        detail::check(ws_buffered_amount(handle(), &n), "buffered_amount");
        return n;
    }

    ws_stats stats() const {
        ws_stats s{};
        detail::check(ws_get_stats(handle(), &s), "stats");
        return s;
    }

    /** Use this URL from the next connection attempt on. */
    void set_url(const std::string &url) {
        detail::check(ws_set_url(handle(), url.c_str()), "set_url");
    }

    /** Set (or replace) a header from the next connection attempt on. */
    void set_header(const std::string &name, const std::string &value) {
        detail::check(ws_set_header(handle(), name.c_str(), value.c_str()), "set_header");
    }

    /** The C handle (0 before `start`), for calls the wrapper does not cover. */
    ws_handle native_handle() const noexcept { return impl_ ? impl_->handle : 0; }

    const std::string &url() const noexcept { return url_; }

private:
    struct Impl {
        ws_handle handle = 0;
        std::function<void(std::string_view, bool)> on_open;
        std::function<void(std::string_view, bool)> on_message;
        std::function<void(const ErrorInfo &)> on_error;
        std::function<void(uint32_t, uint64_t, const ErrorInfo &)> on_reconnecting;
        std::function<void(uint64_t)> on_pong;
        std::function<void(const CloseInfo &)> on_close;

        static void trampoline(const ws_event *ev, void *user) noexcept {
            try {
                static_cast<Impl *>(user)->dispatch(*ev);
            } catch (...) {
                // Nothing may unwind into the C library.
            }
        }

        void dispatch(const ws_event &ev) {
            switch (ev.type) {
            case WS_EVENT_OPEN:
                if (on_open) on_open(ev.protocol, ev.is_reconnect);
                break;
            case WS_EVENT_MESSAGE:
                if (on_message)
                    on_message(std::string_view(reinterpret_cast<const char *>(ev.data), ev.len),
                               ev.is_binary);
                break;
            case WS_EVENT_ERROR:
                if (on_error) on_error(ErrorInfo{ev.error_kind, ev.message, ev.http_status});
                break;
            case WS_EVENT_RECONNECTING:
                if (on_reconnecting)
                    on_reconnecting(ev.attempt, ev.delay_ms, ErrorInfo{ev.error_kind, ev.message, 0});
                break;
            case WS_EVENT_PONG:
                if (on_pong) on_pong(ev.rtt_us);
                break;
            case WS_EVENT_CLOSE:
                if (on_close)
                    on_close(CloseInfo{ev.code, std::string(ev.reason, ev.reason_len), ev.was_clean,
                                       ev.unsent_messages});
                break;
            default:
                break;
            }
        }
    };

    ws_handle handle() const {
        if (!impl_ || impl_->handle == 0) {
            throw Error(WS_ERR_INVALID_STATE, "not started (call start() first)");
        }
        return impl_->handle;
    }

    void apply(ws_config cfg) const {
        using detail::check;
        const Options &o = options_;
        check(ws_config_set_url(cfg, url_.c_str()), "url");
        for (const auto &h : o.headers) {
            check(ws_config_add_header(cfg, h.first.c_str(), h.second.c_str()), "header");
        }
        for (const auto &p : o.subprotocols) {
            check(ws_config_add_subprotocol(cfg, p.c_str()), "subprotocol");
        }
        check(ws_config_set_connect_timeout_ms(cfg, o.connect_timeout_ms), "connect_timeout_ms");
        check(ws_config_set_close_timeout_ms(cfg, o.close_timeout_ms), "close_timeout_ms");
        check(ws_config_set_max_message_size(cfg, o.max_message_size), "max_message_size");
        check(ws_config_set_ping_interval_ms(cfg, o.ping_interval_ms), "ping_interval_ms");
        check(ws_config_set_pong_timeout_ms(cfg, o.pong_timeout_ms), "pong_timeout_ms");
        check(ws_config_set_reconnect(cfg, o.reconnect), "reconnect");
        check(ws_config_set_initial_delay_ms(cfg, o.initial_delay_ms), "initial_delay_ms");
        check(ws_config_set_max_delay_ms(cfg, o.max_delay_ms), "max_delay_ms");
        check(ws_config_set_max_attempts(cfg, o.max_attempts), "max_attempts");
        if (!o.ca_file.empty()) {
            check(ws_config_set_ca_file(cfg, o.ca_file.c_str()), "ca_file");
        }
        if (!o.cert_file.empty() || !o.key_file.empty()) {
            check(ws_config_set_client_cert(cfg, o.cert_file.c_str(), o.key_file.c_str()),
                  "client certificate");
        }
        check(ws_config_set_insecure(cfg, o.insecure), "insecure");
        check(ws_config_set_max_redirects(cfg, o.max_redirects), "max_redirects");
        if (o.proxy) {
            check(ws_config_set_proxy(cfg, o.proxy->c_str()), "proxy");
        }
    }

    void reset() noexcept {
        if (impl_ && impl_->handle != 0) {
            // Closes with 1000 in the background; no handler runs after this
            // (unless called from inside one, which is allowed).
            ws_free(impl_->handle);
            impl_->handle = 0;
        }
    }

    std::string url_;
    Options options_;
    std::unique_ptr<Impl> impl_;
};

} // namespace wsclient

#endif // WSCLIENT_HPP
