//! Fuzz the caller-ID message layer: any bytes give a message or a
//! `CidError`, never a panic; what parses emits, and the emitted bytes parse
//! to the same meaning.
//!
//! `cargo +nightly fuzz run cid_message` (from the repository root).

#![no_main]

use ctibox_driver::dsp::cid::{CidMessage, Message, Param};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::new_checked(data) else { return };
    assert!(m.total_len() <= data.len());
    let _ = m.body();
    for (kind, body) in m.params().flatten() {
        if let Ok(p) = Param::parse(kind, body) {
            let mut buf = [0u8; 300];
            let n = p.emit(&mut buf).expect("a parsed parameter emits");
            assert_eq!(&buf[2..n], body, "parameter {kind:#04x} round trip");
        }
    }
    let Ok(parsed) = CidMessage::parse(&m) else { return };
    assert!(m.verify_checksum());
    let mut out = [0u8; 600];
    if let Ok(n) = parsed.emit(&mut out) {
        let again = Message::new_checked(&out[..n]).expect("our own message is whole");
        assert!(again.verify_checksum());
        assert_eq!(CidMessage::parse(&again).expect("our own message parses"), parsed);
    }
});
