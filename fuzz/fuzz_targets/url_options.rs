//! (c) URL and option parsing through the C API: every string is tried as a
//! URL, a header, a subprotocol, a ping payload and a redirect target, and
//! numbers from the input go to the numeric setters. Each call must return a
//! documented status and set a message on failure.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::ffi::CString;
use wsclient::*;

fn status_ok(st: ws_status) {
    assert!((-13..=0).contains(&(st as i32)), "undocumented status {st:?}");
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xff);
    let text = |p: Option<&[u8]>| CString::new(p.unwrap_or_default().to_vec()).ok();
    let url = text(parts.next());
    let name = text(parts.next());
    let value = text(parts.next());
    let nums: Vec<u32> = parts
        .next()
        .unwrap_or_default()
        .chunks(4)
        .map(|c| c.iter().fold(0u32, |a, b| a << 8 | u32::from(*b)))
        .collect();
    let num = |i: usize| nums.get(i).copied().unwrap_or(0);
    unsafe {
        let mut cfg = 0;
        assert_eq!(ws_config_new(&mut cfg), ws_status::WS_OK);
        if let Some(u) = &url {
            // ws_create parses the same way; it is left out so no
            // connection is tried to whatever the input names.
            status_ok(ws_config_set_url(cfg, u.as_ptr()));
        }
        if let (Some(n), Some(v)) = (&name, &value) {
            status_ok(ws_config_add_header(cfg, n.as_ptr(), v.as_ptr()));
            status_ok(ws_config_add_subprotocol(cfg, v.as_ptr()));
            status_ok(ws_config_set_ping_payload(cfg, v.as_ptr()));
        }
        status_ok(ws_config_set_connect_timeout_ms(cfg, num(0)));
        status_ok(ws_config_set_ping_interval_ms(cfg, num(1)));
        status_ok(ws_config_set_pong_timeout_ms(cfg, num(2)));
        status_ok(ws_config_set_max_message_size(cfg, num(3) as usize));
        status_ok(ws_config_set_read_buffer_size(cfg, num(4) as usize));
        status_ok(ws_config_set_backoff_multiplier(cfg, f64::from(num(5)) / 1000.0));
        status_ok(ws_config_set_backoff_jitter(cfg, f64::from(num(6)) / 1000.0));
        status_ok(ws_config_set_max_redirects(cfg, num(7)));
        status_ok(ws_config_set_queue_limit(cfg, num(8).into(), num(9).into()));
        status_ok(ws_config_set_thread_stack_size(cfg, num(10) as usize));
        let codes: Vec<u16> = nums.iter().map(|n| *n as u16).collect();
        status_ok(ws_config_set_final_close_codes(cfg, codes.as_ptr(), codes.len()));
        status_ok(ws_config_set_fatal_http_statuses(cfg, codes.as_ptr(), codes.len()));
        assert_eq!(ws_config_free(cfg), ws_status::WS_OK);
    }
});
