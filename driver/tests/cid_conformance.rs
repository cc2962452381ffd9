//! Caller-ID conformance: our generators through a line model (level, white
//! noise 0–4 kHz, G.711 A-law/μ-law round trip, any block size) into our
//! receivers, per standard (Bell 202, V.23, DTMF variants), with
//! scorecards printed (`-- --nocapture`) and asserted.
//!
//! - Level sweep: −5 to −40 dBm0 (FSK), every message must decode exactly.
//! - SNR sweep: 30 down to 12 dB, at −10, −25 and −40 dBm0.
//! - Corruption: bit flips, lost octets, truncation and noise bursts inside
//!   the message must give an error event or nothing, never a caller ID
//!   that differs from what was sent.
//! - Talk-off: the shared speech and music corpora (`support::speech`,
//!   espeak-ng and sox) and sox-synthesised sweeps, chords, noise and
//!   look-alike tones, at three levels, must never give a caller ID.

mod support;

use ctibox_driver::dsp::cid::{
    Absence, CallType, CallerId, CallerIdGenerator, CallerIdReceiver, CidEvent, CidMessage, CidStandard, CidText,
    CidTxConfig, DateTime, Message, MessageWaiting,
};
use ctibox_driver::dsp::cid_dtmf::{DtmfCidEvent, DtmfCidFormat, DtmfCidGenerator, DtmfCidReceiver, DtmfCidRxConfig};
use ctibox_driver::dsp::dtmf::DtmfTxConfig;
use ctibox_driver::dsp::g711;
use ctibox_driver::dsp::level::{block_dbm0, db_to_gain};
use ctibox_driver::dsp::noise::NoiseGenerator;
use ctibox_driver::hal::Law;
use support::Scorecard;

/// G.711 round trip (or none).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Codec {
    Linear,
    A,
    Mu,
}

const CODECS: [Codec; 3] = [Codec::Linear, Codec::A, Codec::Mu];

fn through(codec: Codec, sig: &mut [i16]) {
    let law = match codec {
        Codec::Linear => return,
        Codec::A => Law::ALaw,
        Codec::Mu => Law::MuLaw,
    };
    for s in sig.iter_mut() {
        *s = g711::decode(law, g711::encode(law, *s));
    }
}

/// A pseudo-random message for trial `seed`: every kind in turn, with
/// random digits.
fn message(standard: CidStandard, seed: u64) -> CidMessage {
    let mut r = NoiseGenerator::new(seed, 0.0);
    let mut digits = |n: usize| -> CidText<32> {
        let d: Vec<u8> = (0..n).map(|_| b'0' + (r.next_u64() % 10) as u8).collect();
        CidText::new(&d).unwrap()
    };
    let dt = Some(DateTime {
        month: 1 + (seed % 12) as u8,
        day: 1 + (seed % 28) as u8,
        hour: (seed % 24) as u8,
        minute: (seed % 60) as u8,
    });
    let number = Some(digits(7 + (seed % 8) as usize));
    match (standard, seed % 5) {
        (CidStandard::Bell202, 0) => CidMessage::SdmfCallerId(CallerId { date_time: dt, number, ..Default::default() }),
        (CidStandard::Bell202, 1) => CidMessage::MdmfCallerId(CallerId {
            date_time: dt,
            number,
            name: Some(CidText::new(b"SMITH JOHN").unwrap()),
            long_distance: seed % 2 == 0,
            ..Default::default()
        }),
        (CidStandard::Bell202, 2) => CidMessage::MdmfCallerId(CallerId {
            date_time: dt,
            number_absence: Some(Absence::Private),
            name_absence: Some(Absence::Private),
            ..Default::default()
        }),
        (CidStandard::Bell202, 3) => {
            CidMessage::SdmfMessageWaiting(MessageWaiting { active: seed % 2 == 0, ..Default::default() })
        }
        (CidStandard::V23, 3) => CidMessage::MdmfMessageWaiting(MessageWaiting {
            active: true,
            count: Some((seed % 9) as u8 + 1),
            date_time: dt,
        }),
        (CidStandard::V23, 2) => CidMessage::MdmfCallerId(CallerId {
            date_time: dt,
            number_absence: Some(Absence::Unavailable),
            call_type: Some(CallType::Voice),
            ..Default::default()
        }),
        _ => CidMessage::MdmfCallerId(CallerId {
            date_time: dt,
            number,
            name: Some(CidText::new("Müller-Lüdenscheidt".as_bytes()).unwrap()),
            redirecting_number: Some(digits(9)),
            call_type: Some(CallType::Voice),
            ..Default::default()
        }),
    }
}

/// The generator's signal with random lead-in, at the config's level.
fn fsk_signal(config: &CidTxConfig, wire: &[u8], seed: u64) -> Vec<i16> {
    let mut g = CallerIdGenerator::from_wire(config, wire).unwrap();
    let lead = 800 + (seed as usize * 97) % 2400;
    let mut sig = vec![0i16; lead];
    let mut buf = vec![0i16; g.total_samples() as usize];
    assert_eq!(g.tx(&mut buf), buf.len());
    sig.extend(buf);
    sig.extend(vec![0i16; 2400]);
    sig
}

fn line(mut sig: Vec<i16>, noise_dbm0: Option<f64>, codec: Codec, seed: u64) -> Vec<i16> {
    if let Some(n) = noise_dbm0 {
        NoiseGenerator::new(seed ^ 0xABCD, n).add_to(&mut sig);
    }
    through(codec, &mut sig);
    sig
}

fn fsk_rx(standard: CidStandard, sig: &[i16], seed: u64) -> Vec<CidEvent> {
    let mut rx = CallerIdReceiver::new(standard);
    let mut ev = Vec::new();
    let block = [1usize, 7, 80, 160, 161, 1000][(seed % 6) as usize];
    for c in sig.chunks(block) {
        rx.rx(c, &mut ev);
    }
    ev
}

/// Outcome of one trial.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    right: usize,
    wrong: usize,
    errors: usize,
    silent: usize,
}

fn judge(ev: &[CidEvent], sent: &CidMessage, t: &mut Tally) {
    let messages: Vec<&CidMessage> = ev
        .iter()
        .filter_map(|e| if let CidEvent::Message { message, .. } = e { Some(message) } else { None })
        .collect();
    let errors = ev.len() - messages.len();
    if messages.iter().any(|m| *m != sent) {
        t.wrong += 1;
    } else if messages.len() == 1 {
        t.right += 1;
    } else if errors > 0 {
        t.errors += 1;
    } else {
        t.silent += 1;
    }
}

const STANDARDS: [CidStandard; 2] = [CidStandard::Bell202, CidStandard::V23];

#[test]
fn fsk_level_sweep() {
    let mut card = Scorecard::new("FSK caller ID: level sweep −5…−40 dBm0, linear / A-law / μ-law");
    let mut wrong = 0;
    for standard in STANDARDS {
        for level in [-5.0f32, -10.0, -15.0, -20.0, -25.0, -30.0, -35.0, -38.0, -40.0] {
            for codec in CODECS {
                let mut t = Tally::default();
                for seed in 0..10u64 {
                    let m = message(standard, seed);
                    let config = CidTxConfig { level_dbm0: level, ..CidTxConfig::new(standard) };
                    let sig = line(fsk_signal(&config, m.to_raw().unwrap().as_bytes(), seed), None, codec, seed);
                    judge(&fsk_rx(standard, &sig, seed), &m, &mut t);
                }
                wrong += t.wrong;
                card.row(format!("{standard:?} {level:>5} dBm0 {codec:?}"), t.right, 10);
            }
        }
    }
    assert!(card.print(), "a message was not decoded at some level");
    assert_eq!(wrong, 0);
}

#[test]
fn fsk_snr_sweep() {
    let mut card = Scorecard::new("FSK caller ID: white noise 0–4 kHz, SNR 30…12 dB");
    let mut wrong = 0;
    for standard in STANDARDS {
        for level in [-10.0f64, -25.0, -40.0] {
            for snr in [30.0f64, 20.0, 15.0, 12.0] {
                let codec = CODECS[(snr as usize) % 3];
                let trials = if snr <= 12.0 { 50 } else { 20 };
                let mut t = Tally::default();
                for seed in 0..trials as u64 {
                    let m = message(standard, seed + 100);
                    let config = CidTxConfig { level_dbm0: level as f32, ..CidTxConfig::new(standard) };
                    let sig =
                        line(fsk_signal(&config, m.to_raw().unwrap().as_bytes(), seed), Some(level - snr), codec, seed);
                    judge(&fsk_rx(standard, &sig, seed), &m, &mut t);
                }
                wrong += t.wrong;
                card.row(format!("{standard:?} {level:>5} dBm0 SNR {snr:>4} dB {codec:?}"), t.right, trials);
            }
        }
    }
    assert!(card.print(), "a message was lost in noise");
    assert_eq!(wrong, 0, "a wrong caller ID was reported");
}

#[test]
fn fsk_corruption_never_gives_a_wrong_number() {
    let mut card = Scorecard::new("FSK caller ID: damaged messages give an error or nothing, never a caller ID");
    for standard in STANDARDS {
        let config = CidTxConfig::new(standard);
        let mut kinds: Vec<(&str, Tally, usize, usize)> = Vec::new();
        for kind in ["bit flip", "two bit flips", "octet dropped", "truncated", "noise burst"] {
            let mut t = Tally::default();
            let mut undetectable = 0;
            let trials = 60;
            for seed in 0..trials as u64 {
                let m = message(standard, seed);
                let mut wire = m.to_raw().unwrap().as_bytes().to_vec();
                let mut r = NoiseGenerator::new(seed + 7, 0.0);
                let mut pick = |n: usize| (r.next_u64() % n as u64) as usize;
                let mut burst = None;
                match kind {
                    "bit flip" => {
                        let i = pick(wire.len() * 8);
                        wire[i / 8] ^= 1 << (i % 8);
                    }
                    "two bit flips" => {
                        for _ in 0..2 {
                            let i = pick(wire.len() * 8);
                            wire[i / 8] ^= 1 << (i % 8);
                        }
                    }
                    "octet dropped" => {
                        let i = 2 + pick(wire.len() - 2);
                        wire.remove(i);
                    }
                    "truncated" => wire.truncate(1 + pick(wire.len() - 1)),
                    _ => burst = Some(2 + pick(wire.len() - 3)),
                }
                let mut sig = fsk_signal(
                    &CidTxConfig { postamble_bits: if kind == "truncated" { 0 } else { 8 }, ..config },
                    &wire,
                    seed,
                );
                if let Some(octet) = burst {
                    // 15 ms of loud noise over octet `octet` of the message.
                    let g = CallerIdGenerator::from_wire(&config, &wire).unwrap();
                    let lead = 800 + (seed as usize * 97) % 2400;
                    let at = lead + g.message_start() as usize + octet * 10 * 8000 / 1200;
                    let mut n = vec![0i16; 120];
                    NoiseGenerator::new(seed, -10.0).tx(&mut n);
                    for (s, v) in sig[at..at + 120].iter_mut().zip(n) {
                        *s = s.saturating_add(v);
                    }
                }
                let sig = line(sig, None, CODECS[seed as usize % 3], seed);
                let ev = fsk_rx(standard, &sig, seed);
                // What went on the wire: when the damage keeps the checksum
                // right (two flips of one bit position in opposite
                // directions), the wire holds another valid message, which
                // no receiver can tell apart; then that message is the
                // reference. Otherwise only the original (a burst that
                // missed) may come out.
                let on_wire = Message::new_checked(&wire[..]).ok().and_then(|w| CidMessage::parse(&w).ok());
                match on_wire {
                    Some(valid) if valid != m => {
                        undetectable += 1;
                        let mut u = Tally::default();
                        judge(&ev, &valid, &mut u);
                        t.wrong += u.wrong;
                    }
                    _ => judge(&ev, &m, &mut t),
                }
            }
            kinds.push((kind, t, trials, undetectable));
        }
        for (kind, t, trials, undetectable) in kinds {
            println!(
                "{standard:?} {kind}: {} errors reported, {} silent (type octet hit), {} intact, {} wrong; {undetectable} \
                 of {trials} were other valid messages on the wire (the checksum cannot see them)",
                t.errors, t.silent, t.right, t.wrong
            );
            card.row(format!("{standard:?} {kind}: no wrong caller ID"), trials - t.wrong, trials);
            if matches!(kind, "octet dropped" | "truncated") {
                card.row(format!("{standard:?} {kind}: reported as an error"), t.errors, trials);
            }
        }
    }
    assert!(card.print(), "a damaged message was reported as a caller ID, or not as an error");
}

fn scale_to(sig: &[i16], dbm0: f64) -> Vec<i16> {
    let g = db_to_gain(dbm0 - block_dbm0(sig));
    sig.iter().map(|&s| (s as f64 * g).round().clamp(-32768.0, 32767.0) as i16).collect()
}

/// Look-alike and broadband signals from sox.
fn synth_corpus() -> Vec<(String, Vec<i16>)> {
    let s = |name: &str, args: &[&str]| (name.to_string(), support::sox_synth(args));
    vec![
        s("sweep 300-3400 Hz", &["synth", "4", "sine", "300-3400"]),
        s("square 1200 Hz", &["synth", "2", "square", "1200"]),
        s("1200+2200 Hz chord", &["synth", "2", "sine", "1200", "sine", "2200"]),
        s("1300+2100 Hz chord", &["synth", "2", "sine", "1300", "sine", "2100"]),
        s("pink noise", &["synth", "3", "pinknoise"]),
        s("brown noise", &["synth", "3", "brownnoise"]),
        s("tremolo 1700 Hz", &["synth", "3", "sine", "1700", "tremolo", "600", "90"]),
        s("FM 1700±500 Hz at 600 Hz", &["synth", "3", "sine", "fmod", "1700", "sine", "600"]),
        s("pluck chord", &["synth", "3", "pluck", "C3", "pluck", "E3", "pluck", "G3"]),
    ]
}

#[test]
fn talk_off_speech_music_and_synthetic_signals() {
    let mut card = Scorecard::new("talk-off: speech, music (support::speech) and sox signals never give a caller ID");
    let speech = support::speech::speech_corpus();
    let music = support::speech::music_corpus();
    let synth = synth_corpus();
    let mut fsk_errors = 0;
    let mut seconds = 0.0;
    for (corpus, clips) in [("speech", speech), ("music", music), ("sox signals", &synth[..])] {
        for (level, codec) in [(-5.0, Codec::Mu), (-15.0, Codec::A), (-30.0, Codec::Linear)] {
            let mut clean = [0usize; 3];
            for (i, (_, clip)) in clips.iter().enumerate() {
                let sig = line(scale_to(clip, level), None, codec, 0);
                seconds += sig.len() as f64 / 8000.0;
                for (k, standard) in STANDARDS.iter().enumerate() {
                    let ev = fsk_rx(*standard, &sig, i as u64);
                    fsk_errors += ev.len();
                    clean[k] += ev.iter().all(|e| matches!(e, CidEvent::Error { .. })) as usize;
                }
                let mut rx = DtmfCidReceiver::new(DtmfCidRxConfig::default());
                let mut ev = Vec::new();
                for c in sig.chunks(160) {
                    rx.rx(c, &mut ev);
                }
                rx.flush(&mut |e| ev.push(e));
                clean[2] += ev.iter().all(|e| e.caller_id().is_none()) as usize;
            }
            let n = clips.len();
            card.row(format!("Bell 202 receiver, {corpus} at {level} dBm0 {codec:?}"), clean[0], n);
            card.row(format!("V.23 receiver, {corpus} at {level} dBm0 {codec:?}"), clean[1], n);
            card.row(format!("DTMF receiver, {corpus} at {level} dBm0 {codec:?}"), clean[2], n);
        }
    }
    println!(
        "talk-off: {fsk_errors} FSK error events over {seconds:.0} s of audio per receiver (errors are allowed, caller IDs are not)"
    );
    assert!(support::speech::total_seconds(speech) >= support::speech::SPEECH_MIN_SECONDS);
    assert!(card.print(), "a caller ID was built out of speech, music or a synthetic signal");
}

fn dtmf_signal(cid: &CallerId, format: DtmfCidFormat, tones: DtmfTxConfig, seed: u64) -> Vec<i16> {
    let mut g = DtmfCidGenerator::new(cid, format, tones).unwrap();
    let mut sig = vec![0i16; 800 + (seed as usize * 131) % 1600];
    let mut buf = vec![0i16; g.total_samples() as usize];
    g.tx(&mut buf);
    sig.extend(buf);
    sig.extend(vec![0i16; 1600]);
    sig
}

fn dtmf_case(seed: u64) -> (DtmfCidFormat, CallerId) {
    let mut r = NoiseGenerator::new(seed, 0.0);
    let digits: Vec<u8> = (0..8 + seed % 6).map(|_| b'0' + (r.next_u64() % 10) as u8).collect();
    let number = Some(CidText::new(&digits).unwrap());
    let absent = |a| CallerId { number_absence: Some(a), ..Default::default() };
    match seed % 6 {
        0 => (DtmfCidFormat::StartAEndC, CallerId { number, ..Default::default() }),
        1 => (
            DtmfCidFormat::StartAEndC,
            CallerId { number, redirecting_number: Some(CidText::new(b"5551234").unwrap()), ..Default::default() },
        ),
        2 => (DtmfCidFormat::StartAEndC, absent(Absence::Private)),
        3 => (DtmfCidFormat::StartAEndHash, CallerId { number, ..Default::default() }),
        4 => (
            DtmfCidFormat::StartAEndHash,
            absent([Absence::Private, Absence::International, Absence::Unavailable][(seed / 6 % 3) as usize]),
        ),
        _ => (DtmfCidFormat::StartDEndC, CallerId { number, ..Default::default() }),
    }
}

#[test]
fn dtmf_levels_noise_and_codecs() {
    let mut card = Scorecard::new("DTMF caller ID: formats × level per tone × noise × codec");
    let mut wrong = 0;
    for (level, snr) in [
        (-5.0f32, None),
        (-10.0, None),
        (-20.0, None),
        (-25.0, None),
        (-30.0, None),
        (-35.0, None),
        (-40.0, None),
        (-10.0, Some(20.0f64)),
        (-10.0, Some(15.0)),
        (-20.0, Some(12.0)),
        (-40.0, Some(12.0)),
    ] {
        for codec in CODECS {
            let trials = 12;
            let mut right = 0;
            for seed in 0..trials as u64 {
                let (format, cid) = dtmf_case(seed);
                let tones = DtmfTxConfig { low_dbm0: level, high_dbm0: level, ..DtmfTxConfig::default() };
                // Two tones at `level` each: the signal is 3 dB above one tone.
                let noise = snr.map(|s| level as f64 + 3.0 - s);
                let sig = line(dtmf_signal(&cid, format, tones, seed), noise, codec, seed);
                let mut rx = DtmfCidReceiver::new(DtmfCidRxConfig::default());
                let mut ev = Vec::new();
                for c in sig.chunks([160usize, 33, 1000][seed as usize % 3]) {
                    rx.rx(c, &mut ev);
                }
                rx.flush(&mut |e| ev.push(e));
                let ids: Vec<&CallerId> = ev.iter().filter_map(DtmfCidEvent::caller_id).collect();
                if ids.iter().any(|c| **c != cid) {
                    wrong += 1;
                } else if ids.len() == 1 {
                    right += 1;
                }
            }
            let noise = snr.map_or("no noise".to_string(), |s| format!("SNR {s} dB"));
            card.row(format!("{level:>4} dBm0/tone {noise:<10} {codec:?}"), right, trials);
        }
    }
    assert!(card.print(), "a DTMF caller ID was lost");
    assert_eq!(wrong, 0, "a wrong DTMF caller ID was reported");
}
