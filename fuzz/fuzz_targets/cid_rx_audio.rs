//! Fuzz the FSK and DTMF caller-ID receivers with arbitrary audio (the bytes
//! as 16-bit samples, the first byte choosing the block size): no panic, and
//! nothing reported that does not parse.
//!
//! `cargo +nightly fuzz run cid_rx_audio` (from the repository root).

#![no_main]

use ctibox_driver::dsp::cid::{CallerIdReceiver, CidEvent, CidMessage, CidStandard, Message};
use ctibox_driver::dsp::cid_dtmf::{DtmfCidEvent, DtmfCidReceiver, DtmfCidRxConfig, detect_format, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let block = 1 + first as usize * 4;
    let samples: Vec<i16> = rest.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    for standard in [CidStandard::Bell202, CidStandard::V23] {
        let mut rx = CallerIdReceiver::new(standard);
        let mut ev = Vec::new();
        for c in samples.chunks(block) {
            rx.rx(c, &mut ev);
        }
        for e in ev {
            if let CidEvent::Message { message, raw, .. } = e {
                let m = Message::new_checked(raw.as_bytes()).expect("a reported message is whole");
                assert_eq!(CidMessage::parse(&m).expect("a reported message parses"), message);
            }
        }
    }
    let mut rx = DtmfCidReceiver::new(DtmfCidRxConfig::default());
    let mut ev = Vec::new();
    for c in samples.chunks(block) {
        rx.rx(c, &mut ev);
    }
    rx.flush(&mut |e| ev.push(e));
    for e in ev {
        if let DtmfCidEvent::CallerId { caller_id, digits, format, .. } = e {
            assert_eq!(detect_format(digits.as_bytes()), Ok(format));
            assert_eq!(parse(digits.as_bytes(), format), Ok(caller_id));
        }
    }
});
