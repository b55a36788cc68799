//! (b) The server's answer to the upgrade request. It must either open (a
//! valid 101 with the right accept key, which random bytes will not have)
//! or fail with an error: never panic, never hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wsclient::fuzz::handshake(data);
});
