//! DTMF against independent implementations:
//!
//! - spandsp's `dtmf_rx` (C witness `witness/spandsp_dtmf.c`) decodes what
//!   our generator makes, at several levels, twists and timings;
//! - our detector decodes what spandsp's `dtmf_tx` makes, and reports the
//!   levels spandsp was asked for;
//! - multimon-ng's DTMF decoder decodes our generator (resampled to its
//!   22 050 Hz input rate by sox).
//!
//! Missing peers fail the tests, naming the Debian package.

mod support;

use std::process::Command;

use ctibox_driver::dsp::dtmf::{DtmfDetector, DtmfEvent, DtmfTone, DtmfTxConfig, dtmf_samples};

const ALL_DIGITS: &str = "123A456B789C*0#D";

/// (digits, level per tone, twist low−high, on ms, off ms).
const CONFIGS: [(&str, f32, f32, u32, u32); 6] = [
    (ALL_DIGITS, -10.0, 0.0, 50, 55),
    (ALL_DIGITS, -4.0, 2.0, 60, 60),
    (ALL_DIGITS, -25.0, -2.0, 50, 50),
    ("0123456789", -15.0, 4.0, 45, 50),
    ("11112222##", -10.0, 0.0, 60, 60),
    ("5*A#9D0", -20.0, -3.0, 100, 100),
];

fn spandsp() -> std::path::PathBuf {
    support::build_c_witness("spandsp_dtmf.c", &["spandsp", "m"], "libspandsp-dev")
}

fn decode_ours(samples: &[i16]) -> Vec<DtmfTone> {
    let mut det = DtmfDetector::default();
    let mut ev = Vec::new();
    for c in samples.chunks(160) {
        det.rx(c, &mut ev);
    }
    det.fillin(800, &mut ev);
    det.flush(&mut ev);
    ev.into_iter()
        .filter_map(|e| match e {
            DtmfEvent::Digit(t) => Some(t),
            DtmfEvent::Begin { .. } => None,
        })
        .collect()
}

fn padded(mut s: Vec<i16>) -> Vec<i16> {
    let mut out = vec![0i16; 800];
    out.append(&mut s);
    out.extend(std::iter::repeat_n(0i16, 800));
    out
}

#[test]
fn spandsp_decodes_our_generator() {
    let w = spandsp();
    for (digits, level, twist, on, off) in CONFIGS {
        let s = padded(dtmf_samples(digits, DtmfTxConfig::new(level, twist, on, off)).expect("generate"));
        let dir = support::tempfile_dir();
        let path = dir.join("ours.raw");
        support::write_raw_s16(&path, &s);
        let out = support::run(Command::new(&w).arg("rx").arg(&path));
        let _ = std::fs::remove_dir_all(&dir);
        let got: String = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.chars().next()).collect();
        println!("spandsp decodes ours ({level} dBm0, twist {twist}, {on}/{off} ms): {got}");
        assert_eq!(got, digits, "spandsp on our {digits} at {level} dBm0, twist {twist}, {on}/{off} ms");
    }
}

#[test]
fn we_decode_spandsp_generator() {
    let w = spandsp();
    for (digits, level, twist, on, off) in CONFIGS {
        // spandsp takes the low tone's level and the twist as high − low,
        // in whole dB.
        let low = (level + twist / 2.0).round() as i32;
        let high = (level - twist / 2.0).round() as i32;
        let dir = support::tempfile_dir();
        let path = dir.join("spandsp.raw");
        support::run(
            Command::new(&w)
                .arg("tx")
                .arg(digits)
                .arg(low.to_string())
                .arg((high - low).to_string())
                .arg(on.to_string())
                .arg(off.to_string())
                .arg(&path),
        );
        let s = padded(support::read_raw_s16(&path));
        let _ = std::fs::remove_dir_all(&dir);
        let got = decode_ours(&s);
        let text: String = got.iter().map(|t| t.digit.as_char()).collect();
        println!("we decode spandsp ({low}/{high} dBm0, {on}/{off} ms): {text}");
        assert_eq!(text, digits, "ours on spandsp's {digits}");
        for t in &got {
            assert!(
                (t.low_dbm0 - low as f32).abs() < 1.0 && (t.high_dbm0 - high as f32).abs() < 1.0,
                "levels {t:?}, spandsp asked for {low}/{high} dBm0"
            );
            // spandsp's tones last `on` ms; ours reports within 3 ms.
            let len_ms = t.samples() as f32 / 8.0;
            assert!((len_ms - on as f32).abs() <= 3.0, "digit length {len_ms} ms, sent {on} ms");
        }
    }
}

#[test]
fn multimon_ng_decodes_our_generator() {
    let sox = support::require_tool("sox", "sox");
    let mm = support::require_tool("multimon-ng", "multimon-ng");
    for (digits, level, twist, on, off) in CONFIGS {
        // multimon-ng joins repeats of one digit unless the pause is clear;
        // its own decoder needs longer tones than Q.24's 40 ms.
        let (on, off) = (on.max(70), off.max(70));
        let s = padded(dtmf_samples(digits, DtmfTxConfig::new(level, twist, on, off)).expect("generate"));
        let dir = support::tempfile_dir();
        let raw8 = dir.join("ours8k.raw");
        let raw22 = dir.join("ours22k.raw");
        support::write_raw_s16(&raw8, &s);
        let fmt = |rate: &'static str| ["-t", "raw", "-r", rate, "-e", "signed-integer", "-b", "16", "-c", "1"];
        support::run(Command::new(&sox).arg("-q").args(fmt("8000")).arg(&raw8).args(fmt("22050")).arg(&raw22));
        let out = support::run(Command::new(&mm).args(["-q", "-a", "DTMF", "-t", "raw"]).arg(&raw22));
        let _ = std::fs::remove_dir_all(&dir);
        let got: String = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("DTMF: "))
            .filter_map(|d| d.trim().chars().next())
            .collect();
        println!("multimon-ng decodes ours ({level} dBm0, twist {twist}, {on}/{off} ms): {got}");
        assert_eq!(got, digits, "multimon-ng on our {digits} at {level} dBm0, twist {twist}");
    }
}
