//! Fuzz the DTMF caller-ID digit-string parser: any bytes, in every format,
//! give a caller ID or an error, never a panic; what parses formats back to
//! a string that parses the same.
//!
//! `cargo +nightly fuzz run cid_dtmf_digits` (from the repository root).

#![no_main]

use ctibox_driver::dsp::cid_dtmf::{DtmfCidFormat, detect_format, format, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = detect_format(data);
    for f in [DtmfCidFormat::StartAEndC, DtmfCidFormat::StartAEndHash, DtmfCidFormat::StartDEndC, DtmfCidFormat::EndHash] {
        let Ok(cid) = parse(data, f) else { continue };
        if let Ok(digits) = format(&cid, f) {
            assert_eq!(parse(digits.as_bytes(), f), Ok(cid), "{f:?} round trip of {:?}", digits);
        }
    }
});
