//! Entry points for the fuzz targets (`fuzz/`), built with `--cfg fuzzing`:
//! a session fed from memory, and the HTTP upgrade against a canned answer.

use crate::{
    config::Config,
    conn::Shared,
    event::Event,
    worker::{session, transport, transport::ConnectFail, Inbox},
};
use std::time::Duration;

fn config(max_message_size: usize) -> Config {
    let mut config = Config::default();
    config.set_url("ws://fuzz.invalid/").expect("a valid URL");
    config.max_message_size = max_message_size;
    config.ping_interval = Duration::ZERO;
    config
}

/// Feed `data` as everything the server sends after the handshake
/// through a session (then EOF); return the events it produced.
pub fn session(data: &[u8], max_message_size: usize) -> Vec<Event> {
    let config = config(max_message_size);
    let shared = Shared::new(&config).expect("a wake-up fd");
    let ws = crate::worker::link::Link::new(
        transport::fuzz::open_memory(data),
        &[],
        (config.read_buffer_size, config.max_message_size, config.frame_limit()),
        None,
        1,
    );
    let (_tx, rx) = crossbeam_channel::unbounded();
    let mut inbox = Inbox::new(rx);
    let end = session::run(ws, &shared, &mut inbox, &config);
    if let Some(e) = &end.error {
        shared.emit(Event::error(e));
    }
    let mut events = Vec::new();
    while let Ok(ev) = shared.delivery.poll(Some(Duration::ZERO)) {
        events.push(ev);
    }
    shared.delivery.release();
    events
}

/// Run the HTTP upgrade against `response`; Ok if it opened.
pub fn handshake(response: &[u8]) -> Result<(), String> {
    let mut config = config(1 << 20);
    let _ = config.add_subprotocol("chat");
    match transport::fuzz::upgrade(&config, response) {
        Ok(c) => {
            assert!(c.protocol.is_empty() || c.protocol == "chat", "unoffered subprotocol");
            Ok(())
        }
        Err(ConnectFail::Failed(e)) => Err(e.message),
        Err(ConnectFail::Redirect(status, location)) => Err(format!("{status} {location}")),
        Err(ConnectFail::Aborted) => Err("aborted".into()),
    }
}
