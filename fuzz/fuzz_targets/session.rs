//! (a) The bytes a server sends after the handshake, through the client's
//! session over an in-memory stream. The first byte picks a small or the
//! default maximum message size. Whatever comes in, the session must end
//! with a close (or an error) and never panic; every message it delivers
//! must fit the limit, and text must be UTF-8.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsclient::event::Event;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let max = if first & 1 == 0 { 1 << 10 } else { 64 << 20 };
    let events = wsclient::fuzz::session(rest, max);
    for ev in &events {
        if let Event::Message { data, binary } = ev {
            assert!(data.len() <= max, "a message over the limit was delivered");
            if !binary {
                assert!(std::str::from_utf8(data).is_ok(), "invalid UTF-8 delivered as text");
            }
        }
    }
});
