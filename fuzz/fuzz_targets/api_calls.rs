//! (d) Random sequences of C API calls from three threads at once, against
//! a local echo server: create, send, close, free, set_callback (whose
//! callback itself sends, closes and frees), poll, event queues, option
//! changes on live handles, and handles that are stale, freed or made up.
//! Every call must return a documented status; a stale handle must get
//! `WS_ERR_INVALID_HANDLE`; nothing may crash, hang or deadlock.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::{
    ffi::{c_void, CString},
    net::TcpListener,
    sync::{
        atomic::{AtomicU64, Ordering},
        OnceLock,
    },
    thread,
};
use wsclient::*;

const SLOTS: usize = 6;

fn echo_url() -> &'static CString {
    static URL: OnceLock<CString> = OnceLock::new();
    URL.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || {
                    let Ok(mut ws) = tungstenite::accept(stream) else { return };
                    while let Ok(m) = ws.read() {
                        if (m.is_text() || m.is_binary()) && ws.send(m).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        CString::new(format!("ws://127.0.0.1:{port}/")).unwrap()
    })
}

struct World {
    handles: [AtomicU64; SLOTS],
    stale: [AtomicU64; SLOTS],
    queue: AtomicU64,
}

fn documented(st: ws_status) {
    assert!((-13..=0).contains(&(st as i32)), "undocumented status {st:?}");
}

fn stale_is_invalid(st: ws_status) {
    assert_eq!(st, ws_status::WS_ERR_INVALID_HANDLE, "a stale handle was accepted");
}

/// Runs on worker threads: sends back, sometimes closes or frees itself.
unsafe extern "C" fn callback(ev: *const ws_event, user: *mut c_void) {
    let world = &*(user as *const World);
    let ev = &*ev;
    match ev.r#type {
        ws_event_type::WS_EVENT_OPEN => documented(ws_send(ev.handle, b"hi".as_ptr(), 2, false)),
        ws_event_type::WS_EVENT_MESSAGE => match ev.len % 3 {
            0 => documented(ws_close(ev.handle, 1000, std::ptr::null())),
            1 => documented(ws_send(ev.handle, ev.data, ev.len, ev.is_binary)),
            _ => {
                // Free itself, if the slot still owns it.
                for slot in &world.handles {
                    if slot.compare_exchange(ev.handle, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                        documented(ws_free(ev.handle));
                    }
                }
            }
        },
        _ => {}
    }
    // Touch another handle: re-register its callback, attach it to the
    // queue, or free it, while its own callback may be running on its
    // worker (which may be doing the same to ours).
    let other = world.handles[(ev.len + ev.r#type as usize) % SLOTS].load(Ordering::SeqCst);
    if other == 0 || other == ev.handle {
        return;
    }
    match (ev.len / 3) % 4 {
        0 => documented(ws_set_callback(other, Some(callback), user)),
        1 => documented(ws_queue_attach(other, world.queue.load(Ordering::SeqCst))),
        2 => {
            for slot in &world.handles {
                if slot.compare_exchange(other, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                    documented(ws_free(other));
                }
            }
        }
        _ => {}
    }
}

unsafe fn step(world: &'static World, op: u8, arg: u8) {
    let slot = usize::from(arg) % SLOTS;
    let h = world.handles[slot].load(Ordering::SeqCst);
    match op % 16 {
        0 | 1 => {
            let mut new = 0;
            let st = ws_create(echo_url().as_ptr(), &mut new);
            documented(st);
            if st == ws_status::WS_OK
                && world.handles[slot].compare_exchange(0, new, Ordering::SeqCst, Ordering::SeqCst).is_err()
            {
                documented(ws_free(new));
            }
        }
        2 | 3 => {
            let data = vec![arg; usize::from(arg) * 7];
            documented(ws_send(h, data.as_ptr(), data.len(), arg & 1 == 1));
        }
        4 => documented(ws_close(h, 1000 + u16::from(arg) * 13, c"bye".as_ptr())),
        5 => {
            if world.handles[slot].compare_exchange(h, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() && h != 0 {
                documented(ws_free(h));
                world.stale[slot].store(h, Ordering::SeqCst);
            }
        }
        6 => {
            let cb = if arg & 1 == 0 { Some(callback as _) } else { None };
            documented(ws_set_callback(h, cb, world as *const World as *mut c_void));
        }
        7 => {
            let mut ev = std::mem::zeroed::<ws_event>();
            let st = ws_poll(h, &mut ev, i32::from(arg % 3));
            documented(st);
            ws_event_free(&mut ev);
        }
        8 => {
            let mut state = ws_ready_state::WS_STATE_CLOSED;
            documented(ws_state(h, &mut state));
            let mut stats = std::mem::zeroed::<ws_stats>();
            documented(ws_get_stats(h, &mut stats));
            let mut amount = 0;
            documented(ws_buffered_amount(h, &mut amount));
        }
        9 => {
            let q = world.queue.load(Ordering::SeqCst);
            documented(ws_queue_attach(h, q));
        }
        10 => {
            let q = world.queue.load(Ordering::SeqCst);
            let mut evs: [ws_event; 4] = std::mem::zeroed();
            let mut n = 0;
            let st = ws_queue_poll(q, evs.as_mut_ptr(), evs.len(), i32::from(arg % 2), &mut n);
            documented(st);
            for ev in evs.iter_mut().take(n) {
                ws_event_free(ev);
            }
        }
        11 => {
            documented(ws_set_url(h, echo_url().as_ptr()));
            documented(ws_set_header(h, c"X-Fuzz".as_ptr(), c"1".as_ptr()));
        }
        12 => {
            let s = world.stale[slot].load(Ordering::SeqCst);
            if s != 0 && !world.handles.iter().any(|x| x.load(Ordering::SeqCst) == s) {
                stale_is_invalid(ws_send(s, b"x".as_ptr(), 1, false));
                stale_is_invalid(ws_close(s, 1000, std::ptr::null()));
                stale_is_invalid(ws_set_callback(s, None, std::ptr::null_mut()));
                stale_is_invalid(ws_free(s));
            }
        }
        13 => {
            // A made-up handle.
            let fake = u64::from(arg) << 32 | u64::from(arg);
            documented(ws_send(fake, b"x".as_ptr(), 1, false));
            documented(ws_free(fake));
        }
        14 => documented(ws_queue_wake(world.queue.load(Ordering::SeqCst))),
        _ => documented(ws_send(h, std::ptr::null(), usize::from(arg), false)),
    }
}

static WORLD: World = World {
    handles: [const { AtomicU64::new(0) }; SLOTS],
    stale: [const { AtomicU64::new(0) }; SLOTS],
    queue: AtomicU64::new(0),
};

fuzz_target!(|data: &[u8]| {
    let world = &WORLD;
    let mut q = 0;
    unsafe { assert_eq!(ws_queue_new(&mut q), ws_status::WS_OK) };
    world.queue.store(q, Ordering::SeqCst);
    let ops: Vec<(u8, u8)> = data.chunks_exact(2).take(60).map(|c| (c[0], c[1])).collect();
    thread::scope(|s| {
        for t in 0..3 {
            let mine: Vec<(u8, u8)> = ops.iter().skip(t).step_by(3).copied().collect();
            s.spawn(move || {
                for (op, arg) in mine {
                    unsafe { step(world, op, arg) };
                }
            });
        }
    });
    // After ws_free returns no callback runs for that handle, so WORLD is
    // free for the next input.
    for slot in &world.handles {
        let h = slot.swap(0, Ordering::SeqCst);
        if h != 0 {
            // May race with a callback that frees itself: both are fine.
            documented(ws_free(h));
        }
    }
    documented(ws_queue_free(q));
});
