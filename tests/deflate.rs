//! permessage-deflate (RFC 7692) on the wire, against the raw-frame server
//! of tests/common/raw.rs, which compresses and inflates with flate2 itself:
//! the offer, what each answer leads to, compressed echoes with and
//! without context takeover, the threshold, and the frames and answers a
//! client must refuse (RSV1 where it has no meaning, a compressed frame
//! when nothing was agreed, a decompression bomb, bad parameters).
mod common;
use common::{raw::*, *};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use std::{sync::mpsc, time::Duration};
use wsclient::*;

const WAIT: Duration = Duration::from_secs(10);
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// One message compressed as RFC 7692 says: a raw deflate stream flushed
/// with a sync flush, its final empty block's 4 bytes removed.
fn compress(ctx: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let mut input = data;
    loop {
        out.reserve(64 << 10);
        let before = ctx.total_in();
        ctx.compress_vec(input, &mut out, FlushCompress::Sync).unwrap();
        input = &input[(ctx.total_in() - before) as usize..];
        if input.is_empty() && out.ends_with(&TAIL) {
            break;
        }
    }
    out.truncate(out.len() - 4);
    out
}

/// The inverse: a compressed message's payload, with the tail put back.
fn inflate(ctx: &mut Decompress, data: &[u8]) -> Vec<u8> {
    let mut input = data.to_vec();
    input.extend_from_slice(&TAIL);
    let mut out = Vec::new();
    let mut rest = &input[..];
    loop {
        out.reserve(64 << 10);
        let before = ctx.total_in();
        ctx.decompress_vec(rest, &mut out, FlushDecompress::Sync).unwrap();
        rest = &rest[(ctx.total_in() - before) as usize..];
        if rest.is_empty() && out.len() < out.capacity() {
            return out;
        }
    }
}

fn header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    request.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn extensions(h: ws_handle) -> String {
    let mut buf = vec![0u8; 256];
    let mut len = 0;
    ok(unsafe { ws_extensions(h, buf.as_mut_ptr().cast(), buf.len(), &mut len) });
    String::from_utf8(buf[..len].to_vec()).unwrap()
}

/// JSON-like text that compresses well, `len` bytes.
fn json_like(len: usize) -> Vec<u8> {
    let mut s = Vec::new();
    let mut i = 0u64;
    while s.len() < len {
        s.extend(
            format!(r#"{{"seq":{i},"price":{}.{:02},"side":"buy"}},"#, 100 + i % 7, i % 100)
                .bytes(),
        );
        i += 1;
    }
    s.truncate(len);
    s
}

/// A deflate echo server: answers the offer with `answer`, inflates every
/// compressed client frame and sends each message back compressed (with
/// one context for the connection unless `server_reset`), reporting each
/// client frame and the request on the channels.
fn deflate_echo(
    answer: &'static str,
    server_reset: bool,
) -> (Server, mpsc::Receiver<Wire>, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let (req_tx, req_rx) = mpsc::channel();
    let tx = std::sync::Mutex::new((tx, req_tx));
    let client_reset = answer.contains("client_no_context_takeover");
    let server = hostile(move |peer| {
        let (tx, req_tx) = tx.lock().unwrap().clone();
        let req = peer.handshake_with(answer);
        let _ = req_tx.send(req);
        let mut out = Compress::new(Compression::default(), false);
        let mut inn = Decompress::new(false);
        while let Ok(mut f) = peer.read() {
            if f.rsv & 0x40 != 0 {
                f.payload = inflate(&mut inn, &f.payload);
                if client_reset {
                    inn.reset(false);
                }
            }
            match f.opcode {
                0x1 | 0x2 => {
                    let c = compress(&mut out, &f.payload);
                    if server_reset {
                        out.reset();
                    }
                    peer.send(&Frame::new(f.opcode, &c).rsv(0x40).bytes());
                }
                0x8 => peer.send(&frame(0x8, &f.payload)),
                _ => {}
            }
            let done = f.opcode == 0x8;
            let _ = tx.send(f);
            if done {
                return;
            }
        }
    });
    (server, rx, req_rx)
}

fn echo_round(h: ws_handle, wire: &mpsc::Receiver<Wire>, data: &[u8], compressed: bool) {
    ok(send(h, data, false));
    match next(h, 10_000) {
        Ev::Message { data: got, binary: false } => assert!(got == data, "the echo differs"),
        other => panic!("{other:?}"),
    }
    let f = wire.recv_timeout(WAIT).unwrap();
    assert_eq!(f.rsv == 0x40, compressed, "RSV1 for a message of {} bytes", data.len());
    assert_eq!(f.payload, data, "the server inflated something else");
}

#[test]
fn deflate_is_offered_by_default_and_not_when_off() {
    let (server, _wire, req) = deflate_echo("", false);
    let h = create_once(&server.url());
    expect_open(h);
    let request = req.recv_timeout(WAIT).unwrap();
    assert_eq!(
        header(&request, "sec-websocket-extensions"),
        Some("permessage-deflate; client_max_window_bits")
    );
    assert_eq!(extensions(h), "", "the server agreed to nothing");
    ok(ws_free(h));

    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_permessage_deflate(cfg, false));
    });
    expect_open(h);
    let request = req.recv_timeout(WAIT).unwrap();
    assert_eq!(header(&request, "sec-websocket-extensions"), None, "{request}");
    ok(ws_free(h));
}

#[test]
fn the_offer_carries_the_options() {
    let (server, _wire, req) = deflate_echo("", false);
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_deflate_client_max_window_bits(cfg, 12));
        ok(ws_config_set_deflate_server_max_window_bits(cfg, 10));
        ok(ws_config_set_deflate_server_no_context_takeover(cfg, true));
        ok(ws_config_set_deflate_client_no_context_takeover(cfg, true));
    });
    expect_open(h);
    assert_eq!(
        header(&req.recv_timeout(WAIT).unwrap(), "sec-websocket-extensions"),
        Some(
            "permessage-deflate; client_max_window_bits=12; server_max_window_bits=10; \
             server_no_context_takeover; client_no_context_takeover"
        )
    );
    ok(ws_free(h));
    let mut cfg = 0;
    ok(unsafe { ws_config_new(&mut cfg) });
    for bits in [1, 7, 16, 255] {
        let st = ws_config_set_deflate_client_max_window_bits(cfg, bits);
        assert_eq!(st, ws_status::WS_ERR_INVALID_ARGUMENT, "{bits}");
        let st = ws_config_set_deflate_server_max_window_bits(cfg, bits);
        assert_eq!(st, ws_status::WS_ERR_INVALID_ARGUMENT, "{bits}");
    }
    let st = ws_config_set_deflate_level(cfg, 10);
    assert_eq!(st, ws_status::WS_ERR_INVALID_ARGUMENT);
    ok(ws_config_free(cfg));
}

#[test]
fn compressed_echo_with_context_takeover() {
    let (server, wire, _req) =
        deflate_echo("Sec-WebSocket-Extensions: permessage-deflate\r\n", false);
    let h = create_once(&server.url());
    expect_open(h);
    assert_eq!(extensions(h), "permessage-deflate");
    // Above the threshold (1 KiB): compressed, and each one with the
    // context of those before it, both ways.
    for len in [1024, 4000, 16 << 10, 1 << 20] {
        echo_round(h, &wire, &json_like(len), true);
    }
    // Below it: sent as it is (the server still compresses its echo).
    echo_round(h, &wire, b"small", false);
    echo_round(h, &wire, &json_like(1023), false);
    ok(close(h, 1000));
    assert!(matches!(next(h, 5000), Ev::Close { code: 1000, clean: true, .. }));
    ok(ws_free(h));
}

#[test]
fn compressed_echo_without_context_takeover() {
    let (server, wire, _req) = deflate_echo(
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
         client_no_context_takeover\r\n",
        true,
    );
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_deflate_client_no_context_takeover(cfg, true));
        ok(ws_config_set_deflate_server_no_context_takeover(cfg, true));
    });
    expect_open(h);
    assert_eq!(
        extensions(h),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
    for _ in 0..5 {
        echo_round(h, &wire, &json_like(8000), true);
    }
    ok(ws_free(h));
}

#[test]
fn threshold_and_level_are_the_users() {
    let (server, wire, _req) =
        deflate_echo("Sec-WebSocket-Extensions: permessage-deflate\r\n", false);
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_deflate_threshold(cfg, 0));
        ok(ws_config_set_deflate_level(cfg, 1));
    });
    expect_open(h);
    echo_round(h, &wire, b"x", true);
    echo_round(h, &wire, &json_like(5000), true);
    ok(ws_free(h));
}

/// The server answers `answer`; the attempt must fail with a protocol
/// error naming the extension, and never open.
fn bad_answer(answer: &'static str) {
    let (server, _wire, _req) = deflate_echo(answer, false);
    let h = create_once(&server.url());
    match until_close(h, 5000).as_slice() {
        [Ev::Error { kind: ws_error_kind::WS_ERROR_PROTOCOL, message, .. }, Ev::Close { code: 1006, .. }] =>
        {
            assert!(
                message.to_lowercase().contains("extension") || message.contains("deflate"),
                "{message}"
            )
        }
        other => panic!("{answer}: {other:?}"),
    }
    ok(ws_free(h));
}

#[test]
fn invalid_answers_fail_the_connection() {
    for answer in [
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=0x0f\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; unknown_parameter\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover=1\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
         server_no_context_takeover\r\n",
        "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n",
        "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n",
    ] {
        bad_answer(answer);
    }
}

#[test]
fn an_answer_to_no_offer_fails_the_connection() {
    let (server, _wire, _req) =
        deflate_echo("Sec-WebSocket-Extensions: permessage-deflate\r\n", false);
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_permessage_deflate(cfg, false));
    });
    match until_close(h, 5000).as_slice() {
        [Ev::Error { kind: ws_error_kind::WS_ERROR_PROTOCOL, .. }, Ev::Close { code: 1006, .. }] => {
        }
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

/// The server agrees to deflate, then writes `bytes`; the client must fail
/// with `kind` and close with `code`.
fn must_fail_deflated(bytes: Vec<u8>, max_message: Option<usize>, kind: ws_error_kind, code: u16) {
    let (tx, wire) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = hostile(move |peer| {
        let tx = tx.lock().unwrap().clone();
        peer.handshake_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
        peer.send(&bytes);
        while let Ok(f) = peer.read() {
            let _ = tx.send(f);
        }
    });
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        if let Some(m) = max_message {
            ok(ws_config_set_max_message_size(cfg, m));
        }
    });
    expect_open(h);
    match until_close(h, 10_000).as_slice() {
        [Ev::Error { kind: k, message, .. }, Ev::Close { code: 1006, clean: false, .. }] => {
            assert_eq!(*k, kind, "{message}")
        }
        other => panic!("{other:?}"),
    }
    let f = wire.recv_timeout(WAIT).expect("a close frame from the client");
    assert_eq!(f.close_code(), Some(code));
    ok(ws_free(h));
}

#[test]
fn rsv1_on_a_control_frame_is_1002() {
    let p = ws_error_kind::WS_ERROR_PROTOCOL;
    must_fail_deflated(Frame::new(0x9, b"ping").rsv(0x40).bytes(), None, p, 1002);
    must_fail_deflated(Frame::new(0x8, &[0x03, 0xe8]).rsv(0x40).bytes(), None, p, 1002);
}

#[test]
fn rsv1_on_a_continuation_is_1002() {
    let mut c = Compress::new(Compression::default(), false);
    let payload = compress(&mut c, b"hello hello hello");
    let mut bytes = Frame::new(0x1, &payload[..4]).rsv(0x40).more().bytes();
    bytes.extend(Frame::new(0x0, &payload[4..]).rsv(0x40).bytes());
    must_fail_deflated(bytes, None, ws_error_kind::WS_ERROR_PROTOCOL, 1002);
}

#[test]
fn a_fragmented_compressed_message_is_inflated_whole() {
    let mut c = Compress::new(Compression::default(), false);
    let text = json_like(50_000);
    let payload = compress(&mut c, &text);
    let third = payload.len() / 3;
    let mut bytes = Frame::new(0x1, &payload[..third]).rsv(0x40).more().bytes();
    bytes.extend(frame(0x9, b"between"));
    bytes.extend(Frame::new(0x0, &payload[third..2 * third]).more().bytes());
    bytes.extend(Frame::new(0x0, &payload[2 * third..]).bytes());
    let server = hostile(move |peer| {
        peer.handshake_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
        peer.send(&bytes);
        while peer.read().is_ok() {}
    });
    let h = create_once(&server.url());
    expect_open(h);
    match next(h, 10_000) {
        Ev::Message { data, binary: false } => assert!(data == json_like(50_000)),
        other => panic!("{other:?}"),
    }
    ok(ws_free(h));
}

#[test]
fn a_compressed_frame_when_nothing_was_agreed_is_1002() {
    let mut c = Compress::new(Compression::default(), false);
    let (server, wire) = scripted(Frame::new(0x1, &compress(&mut c, b"hello")).rsv(0x40).bytes());
    let h = create_once(&server.url());
    expect_open(h);
    match until_close(h, 5000).as_slice() {
        [Ev::Error { kind: ws_error_kind::WS_ERROR_PROTOCOL, .. }, Ev::Close { code: 1006, .. }] => {
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(wire.recv_timeout(WAIT).unwrap().close_code(), Some(1002));
    ok(ws_free(h));
}

#[test]
fn a_decompression_bomb_is_1009() {
    // 64 MiB of zeros in about 64 KiB; the limit is 1 MiB of inflated bytes.
    let mut c = Compress::new(Compression::best(), false);
    let bomb = compress(&mut c, &vec![0u8; 64 << 20]);
    assert!(bomb.len() < 100 << 10, "{}", bomb.len());
    let grown = rss_growth_during(|| {
        must_fail_deflated(
            Frame::new(0x2, &bomb).rsv(0x40).bytes(),
            Some(1 << 20),
            ws_error_kind::WS_ERROR_MESSAGE_TOO_LARGE,
            1009,
        )
    });
    // Never an allocation of the inflated size (64 MiB).
    assert!(grown < 32 << 10, "resident memory grew by {grown} KiB");
}

#[test]
fn corrupt_compressed_data_is_1007() {
    let bytes = Frame::new(0x1, &[0xff, 0xff, 0xff, 0xff, 0x00]).rsv(0x40).bytes();
    must_fail_deflated(bytes, None, ws_error_kind::WS_ERROR_PROTOCOL, 1007);
}

#[test]
fn invalid_utf8_inside_a_compressed_text_is_1007() {
    let mut c = Compress::new(Compression::default(), false);
    let bytes = Frame::new(0x1, &compress(&mut c, b"ok \xff\xfe not")).rsv(0x40).bytes();
    must_fail_deflated(bytes, None, ws_error_kind::WS_ERROR_PROTOCOL, 1007);
}

/// How far the process's resident set rose above where it was while `f`
/// ran, in KiB, sampled every millisecond by another thread.
fn rss_growth_during(f: impl FnOnce()) -> u64 {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    let rss = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let base = rss();
    let (stop, peak) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(base)));
    let sampler = {
        let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    f();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    peak.load(Ordering::Relaxed).saturating_sub(base)
}

/// The caller-thread fast path with deflate agreed: messages below the
/// threshold may be written by the caller, those above go through the
/// worker's encoder, and compressed frames the server sends are the
/// worker's to inflate; a burst mixing both, sent without waiting and read
/// with `ws_poll`, arrives in order both ways with the right RSV1 bits and
/// counters.
#[test]
fn small_and_large_messages_keep_their_order_with_the_fast_path() {
    let (tx, wire) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = hostile(move |peer| {
        let tx = tx.lock().unwrap().clone();
        peer.handshake_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
        let mut out = Compress::new(Compression::default(), false);
        let mut inn = Decompress::new(false);
        while let Ok(mut f) = peer.read() {
            let compressed = f.rsv & 0x40 != 0;
            if compressed {
                f.payload = inflate(&mut inn, &f.payload);
            }
            match f.opcode {
                // The echo is compressed when the message was not, and
                // plain when it was.
                0x1 | 0x2 if compressed => peer.send(&frame(f.opcode, &f.payload)),
                0x1 | 0x2 => {
                    let c = compress(&mut out, &f.payload);
                    peer.send(&Frame::new(f.opcode, &c).rsv(0x40).bytes());
                }
                0x8 => peer.send(&frame(0x8, &f.payload)),
                _ => {}
            }
            let done = f.opcode == 0x8;
            let _ = tx.send(f);
            if done {
                return;
            }
        }
    });
    let h = create_once(&server.url());
    expect_open(h);
    assert_eq!(extensions(h), "permessage-deflate");
    let messages: Vec<Vec<u8>> = (0..120)
        .map(|i| {
            let mut m = json_like(if i % 3 == 2 { 3000 + i } else { 10 + i });
            m[..4].copy_from_slice(format!("{i:04}").as_bytes());
            m
        })
        .collect();
    for round in 0..3 {
        for m in &messages {
            ok(send(h, m, false));
        }
        for (i, m) in messages.iter().enumerate() {
            match next(h, 10_000) {
                Ev::Message { data, binary: false } => {
                    assert!(data == *m, "round {round}: echo {i} differs or is out of order")
                }
                other => panic!("round {round}, {i}: {other:?}"),
            }
            let f = wire.recv_timeout(WAIT).unwrap();
            assert_eq!(f.payload, *m, "round {round}: the server got {i} out of order");
            assert_eq!(f.rsv == 0x40, m.len() >= 1024, "RSV1 of {i} ({} bytes)", m.len());
        }
        // Let the worker lend the socket again between rounds.
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stats = ws_stats::default();
    ok(unsafe { ws_get_stats(h, &mut stats) });
    assert_eq!(stats.messages_sent, 360);
    assert_eq!(stats.messages_received, 360);
    let total: u64 = messages.iter().map(|m| m.len() as u64).sum::<u64>() * 3;
    assert_eq!(stats.bytes_sent, total);
    assert_eq!(stats.bytes_received, total);
    let mut buffered = u64::MAX;
    ok(unsafe { ws_buffered_amount(h, &mut buffered) });
    assert_eq!(buffered, 0);
    ok(close(h, 1000));
    assert!(matches!(next(h, 5000), Ev::Close { code: 1000, clean: true, .. }));
    ok(ws_free(h));
}

/// The fast path's partial writes with deflate agreed: the server reads
/// nothing until told, the client sends small messages (which a caller may
/// write) and large ones (which the worker compresses) until its queue
/// limit refuses; then the server reads every accepted message once, in
/// order, each compressed exactly when it is at least the threshold.
#[test]
fn a_server_that_stops_reading_gets_small_and_compressed_messages_in_order() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = hostile(move |peer| {
        let tx = tx.lock().unwrap().clone();
        peer.handshake_with("Sec-WebSocket-Extensions: permessage-deflate\r\n");
        let _ = peer.stream.set_read_timeout(None);
        let _ = go_rx.lock().unwrap().recv();
        let mut inn = Decompress::new(false);
        while let Ok(mut f) = peer.read() {
            let compressed = f.rsv & 0x40 != 0;
            if compressed {
                f.payload = inflate(&mut inn, &f.payload);
            }
            if tx.send((f, compressed)).is_err() {
                return;
            }
        }
    });
    const LIMIT: u64 = 8 << 20;
    let h = create_with(&server.url(), |cfg| {
        ok(ws_config_set_reconnect(cfg, false));
        ok(ws_config_set_queue_max_bytes(cfg, LIMIT));
        ok(ws_config_set_ping_interval_ms(cfg, 0));
    });
    expect_open(h);
    // Bytes that barely compress, so the large messages fill the socket.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut full = false;
    loop {
        let i = sent.len() as u32;
        let mut m = i.to_be_bytes().to_vec();
        // Small ones until the socket is full from the callers' side (a
        // partial write hands the rest to the worker's encoder, and the
        // sends after it queue), then large ones among them.
        if !full {
            let mut s = ws_stats::default();
            ok(unsafe { ws_get_stats(h, &mut s) });
            full = s.queued_messages > 0;
        }
        m.extend(noise(if full && i % 4 == 3 { 20_000 } else { 1000 }));
        match send(h, &m, true) {
            ws_status::WS_OK => sent.push(m),
            ws_status::WS_ERR_QUEUE_FULL => break,
            other => panic!("{other:?}: {}", last_error()),
        }
        assert!(sent.len() < 100_000, "the queue limit never refused");
    }
    assert!(sent.iter().filter(|m| m.len() >= 1024).count() > 10, "large ones were queued");
    go_tx.send(()).unwrap();
    for (i, m) in sent.iter().enumerate() {
        let (f, compressed) = rx.recv_timeout(Duration::from_secs(30)).expect("every message");
        assert_eq!((f.opcode, f.fin), (0x2, true));
        assert!(f.payload == *m, "message {i} differs or is out of order");
        assert_eq!(compressed, m.len() >= 1024, "RSV1 of message {i}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = ws_stats::default();
        ok(unsafe { ws_get_stats(h, &mut s) });
        if s.queued_messages == 0 {
            assert_eq!(s.messages_sent, sent.len() as u64, "{s:?}");
            let bytes: u64 = sent.iter().map(|m| m.len() as u64).sum();
            assert_eq!(s.bytes_sent, bytes, "{s:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{s:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    ok(ws_free(h));
}
