//! Conformance suite for the fax and modem tone detectors
//! (`dsp::faxtone`): CNG, ANS, ANS/, ANSam, ANSam/ (T.30, V.25, V.8) and
//! the V.21 channel-2 flag preamble.
//!
//! Every signal must be reported, as the right tone, within 1 s of its
//! start and with its start within one block (10 ms); over the level range
//! −5 … −40 dBm0, with white noise 15 dB down, through A-law and μ-law, and
//! when sox (an independent witness) synthesises it. Speech (espeak-ng),
//! music, DTMF, call-progress tones, noise and V.21 data must report
//! nothing. Each test prints its scorecard (`-- --nocapture`) and asserts
//! that every row passed.

mod support;

use std::process::Command;
use std::sync::Arc;

use ctibox_driver::dsp::faxtone::{
    FaxTone, FaxToneDetector, FaxToneEvent, FaxToneGenerator, FaxToneRxDescriptor, FaxToneRxParams, FaxToneTx,
    HDLC_FLAG,
};
use ctibox_driver::dsp::fsk::{FskSpec, FskTx};
use ctibox_driver::dsp::g711;
use ctibox_driver::dsp::level::{block_dbm0, db_to_gain};
use ctibox_driver::dsp::noise::NoiseGenerator;
use ctibox_driver::hal::Law;
use support::speech::{music_corpus, speech_corpus};
use support::{Scorecard, require_tool, run, sox_synth, tempfile_dir};

/// One second at 8 kHz: the longest a detection may take.
const ONE_SECOND: u64 = 8000;
/// How far the reported start may be from the true start.
const START_TOLERANCE: u64 = 80;
/// Fax tone levels the suite covers.
const LEVELS_DBM0: [f32; 8] = [-5.0, -10.0, -15.0, -20.0, -25.0, -30.0, -35.0, -40.0];

const KINDS: [FaxTone; 6] =
    [FaxTone::Cng, FaxTone::Ans, FaxTone::AnsPr, FaxTone::AnsAm, FaxTone::AnsAmPr, FaxTone::V21Preamble];

/// The detector's events on `sig`, fed `chunk` samples at a time. The
/// portable DFT (no AVX2) runs beside the default one and must report the
/// same events at the same positions.
fn detect(sig: &[i16], chunk: usize) -> Vec<FaxToneEvent> {
    let run = |desc: Arc<FaxToneRxDescriptor>| {
        let mut d = FaxToneDetector::new(desc);
        let mut ev = Vec::with_capacity(16);
        for c in sig.chunks(chunk.max(1)) {
            d.rx(c, &mut ev);
        }
        ev
    };
    let ev = run(FaxToneRxDescriptor::shared_default());
    let portable = FaxToneRxDescriptor::new(FaxToneRxParams::default()).expect("default params").portable();
    let other = run(Arc::new(portable));
    // Levels and frequencies are sums in another order: equal to rounding.
    let close = |a: &FaxToneEvent, b: &FaxToneEvent| match (a, b) {
        (FaxToneEvent::Detected(a), FaxToneEvent::Detected(b)) => {
            (a.tone, a.start, a.at) == (b.tone, b.start, b.at)
                && (a.level_dbm0 - b.level_dbm0).abs() < 0.01
                && (a.freq_hz - b.freq_hz).abs() < 0.1
        }
        _ => a == b,
    };
    assert!(
        other.len() == ev.len() && other.iter().zip(&ev).all(|(a, b)| close(a, b)),
        "the portable and AVX2 paths differ:\n{other:?}\n{ev:?}"
    );
    ev
}

/// Our generator's rendering of `tone` at `dbm0`.
fn generate(tone: FaxTone, dbm0: f32) -> Vec<i16> {
    let spec = match tone {
        FaxTone::Cng => FaxToneTx::Cng { level_dbm0: dbm0 },
        FaxTone::V21Preamble => FaxToneTx::V21Flags { level_dbm0: dbm0, flags: 38 },
        t => FaxToneTx::Ans {
            level_dbm0: dbm0,
            duration_ms: 3300,
            phase_reversals: t.has_phase_reversals(),
            am: t.has_am(),
        },
    };
    let mut g = FaxToneGenerator::new(spec).expect("valid generator spec");
    // One CNG cadence and a bit; the others end by themselves.
    let mut v = vec![0i16; 8 * 4000];
    let n = g.tx(&mut v);
    v.truncate(n);
    v
}

/// `lead` samples of silence, the signal, one second of silence.
fn framed(lead: usize, sig: &[i16]) -> Vec<i16> {
    let mut v = vec![0i16; lead];
    v.extend_from_slice(sig);
    v.extend(std::iter::repeat_n(0, 8000));
    v
}

/// Whether `ev` reports `want` as its first and only kind of tone, starting
/// at `start`, within one second. Returns the detection delay in samples.
fn judge(ev: &[FaxToneEvent], want: FaxTone, start: u64) -> Result<u64, String> {
    let mut first = None;
    for e in ev {
        if let FaxToneEvent::Detected(r) = e {
            if r.tone != want {
                return Err(format!("reported {} instead of {want}: {ev:?}", r.tone));
            }
            if first.is_none() {
                first = Some(*r);
            }
        }
    }
    let r = first.ok_or_else(|| format!("{want} not reported: {ev:?}"))?;
    if r.start.abs_diff(start) > START_TOLERANCE {
        return Err(format!("{want}: start {} vs {start}", r.start));
    }
    let delay = r.at.saturating_sub(start);
    if delay > ONE_SECOND {
        return Err(format!("{want}: reported {delay} samples after its start"));
    }
    Ok(delay)
}

/// Tally of one scorecard row.
#[derive(Default)]
struct Row {
    passed: usize,
    total: usize,
    max_delay: u64,
    failures: Vec<String>,
}

impl Row {
    fn add(&mut self, r: Result<u64, String>) {
        self.total += 1;
        match r {
            Ok(d) => {
                self.passed += 1;
                self.max_delay = self.max_delay.max(d);
            }
            Err(e) => self.failures.push(e),
        }
    }
    fn record(self, card: &mut Scorecard, name: &str) {
        for f in self.failures.iter().take(3) {
            println!("  {name}: {f}");
        }
        card.row(format!("{name} (slowest {} ms)", self.max_delay / 8), self.passed, self.total);
    }
}

fn finish(card: Scorecard) {
    let ok = card.print();
    assert!(ok, "{}: {} of {} passed", card.title, card.passed(), card.total());
}

#[test]
fn generated_tones_over_levels_offsets_and_block_sizes() {
    let mut card = Scorecard::new("fax tones from our generators, -5 ... -40 dBm0");
    for kind in KINDS {
        let mut row = Row::default();
        for (i, &dbm0) in LEVELS_DBM0.iter().enumerate() {
            for (lead, chunk) in [(0usize, 160usize), (1237, 80), (4003, 1), (531, 37)] {
                let sig = framed(lead, &generate(kind, dbm0));
                let chunk = if chunk == 1 && i % 2 == 1 { 7 } else { chunk };
                row.add(judge(&detect(&sig, chunk), kind, lead as u64));
            }
        }
        row.record(&mut card, kind.name());
    }
    finish(card);
}

#[test]
fn white_noise_at_15_db_snr() {
    let mut card = Scorecard::new("fax tones with white noise 15 dB below the tone");
    for kind in KINDS {
        let mut row = Row::default();
        for (seed, dbm0) in [-10.0f32, -20.0, -30.0, -40.0].into_iter().enumerate() {
            for s in 0..3u64 {
                let mut sig = framed(800, &generate(kind, dbm0));
                NoiseGenerator::new(seed as u64 * 10 + s + 1, dbm0 as f64 - 15.0).add_to(&mut sig);
                row.add(judge(&detect(&sig, 160), kind, 800));
            }
        }
        row.record(&mut card, kind.name());
    }
    finish(card);
}

#[test]
fn g711_round_trips() {
    let mut card = Scorecard::new("fax tones through G.711");
    for law in [Law::ALaw, Law::MuLaw] {
        for kind in KINDS {
            let mut row = Row::default();
            for dbm0 in [-5.0f32, -20.0, -40.0] {
                let sig = framed(333, &generate(kind, dbm0));
                let coded: Vec<i16> = sig.iter().map(|&s| g711::decode(law, g711::encode(law, s))).collect();
                row.add(judge(&detect(&coded, 160), kind, 333));
            }
            row.record(&mut card, &format!("{} via {law:?}", kind.name()));
        }
    }
    finish(card);
}

/// Scale `sig` so that its non-silent part has mean power `dbm0`.
fn scale_to(sig: &[i16], dbm0: f32) -> Vec<i16> {
    let active: Vec<i16> = sig.iter().copied().filter(|&s| s != 0).collect();
    let now = block_dbm0(&active);
    let g = db_to_gain(dbm0 as f64 - now);
    sig.iter().map(|&s| (s as f64 * g).round().clamp(-32768.0, 32767.0) as i16).collect()
}

/// Flip the sign of every other 450 ms stretch: phase reversals.
fn reverse_every_450_ms(sig: &mut [i16]) {
    for (i, c) in sig.chunks_mut(3600).enumerate() {
        if i % 2 == 1 {
            for s in c {
                *s = s.saturating_neg();
            }
        }
    }
}

#[test]
fn sox_synthesised_tones() {
    let mut card = Scorecard::new("fax tones synthesised by sox");
    let lead = 1111usize;
    let mut cases: Vec<(String, FaxTone, Vec<i16>)> = Vec::new();
    let ans = sox_synth(&["synth", "3.3", "sine", "2100"]);
    let ansam = sox_synth(&["synth", "3.3", "sine", "2100", "synth", "3.3", "sine", "amod", "15", "66.7"]);
    for dbm0 in [-8.0f32, -25.0, -40.0] {
        cases.push((format!("ANS {dbm0}"), FaxTone::Ans, scale_to(&ans, dbm0)));
        let mut pr = scale_to(&ans, dbm0);
        reverse_every_450_ms(&mut pr);
        cases.push((format!("ANS/ {dbm0}"), FaxTone::AnsPr, pr));
        cases.push((format!("ANSam {dbm0}"), FaxTone::AnsAm, scale_to(&ansam, dbm0)));
        let mut ampr = scale_to(&ansam, dbm0);
        reverse_every_450_ms(&mut ampr);
        cases.push((format!("ANSam/ {dbm0}"), FaxTone::AnsAmPr, ampr));
    }
    // Edges of the frequency tolerances (2100 ± 15, 1100 ± 38 Hz).
    for hz in ["2085", "2115"] {
        cases.push((format!("ANS at {hz} Hz"), FaxTone::Ans, scale_to(&sox_synth(&["synth", "3", "sine", hz]), -20.0)));
    }
    for hz in ["1100", "1062", "1138"] {
        let burst = sox_synth(&["synth", "0.5", "sine", hz, "pad", "0", "3"]);
        let mut two = burst.clone();
        two.extend_from_slice(&burst);
        cases.push((format!("CNG at {hz} Hz"), FaxTone::Cng, scale_to(&two, -20.0)));
    }
    let mut row = Row::default();
    for (name, kind, sig) in &cases {
        let ev = detect(&framed(lead, sig), 160);
        let r = judge(&ev, *kind, lead as u64).map_err(|e| format!("{name}: {e}"));
        // CNG: both bursts.
        let r = r.and_then(|d| {
            let n = ev.iter().filter(|e| matches!(e, FaxToneEvent::Detected(_))).count();
            if *kind == FaxTone::Cng && n != 2 { Err(format!("{name}: {n} CNG reports for 2 bursts")) } else { Ok(d) }
        });
        row.add(r);
    }
    row.record(&mut card, "sox ANS/ANS//ANSam/ANSam//CNG");
    finish(card);
}

/// Render `text` with espeak-ng at 8 kHz.
fn speech(text: &str, voice: &str) -> Vec<i16> {
    let espeak = require_tool("espeak-ng", "espeak-ng");
    let sox = require_tool("sox", "sox");
    let dir = tempfile_dir();
    let wav = dir.join("s.wav");
    let raw = dir.join("s.raw");
    run(Command::new(espeak).args(["-v", voice, "-s", "150", "-w"]).arg(&wav).arg(text));
    run(Command::new(sox)
        .arg(&wav)
        .args(["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw"])
        .arg(&raw));
    let v = support::read_raw_s16(&raw);
    let _ = std::fs::remove_dir_all(&dir);
    v
}

fn v21_random_data(seed: u64, bits: usize) -> Vec<i16> {
    let mut g = NoiseGenerator::new(seed, 0.0);
    let mut tx = FskTx::new(FskSpec::V21_CH2, -10.0).expect("V.21 preset");
    let mut n = 0;
    let mut v = vec![0i16; bits * 27];
    let got = tx.tx_with(&mut v, &mut || {
        n += 1;
        (n <= bits).then(|| g.next_u64() & 1 == 1)
    });
    v.truncate(got);
    v
}

#[test]
fn nothing_is_reported_on_speech_music_dtmf_call_progress_or_noise() {
    let mut card = Scorecard::new("no false fax tone detections");
    let mut rows: Vec<(&str, Vec<Vec<i16>>)> = Vec::new();

    let texts = [
        ("en", "Hello? Hello, who is calling please? I can't hear you very well."),
        (
            "en",
            "Thank you for calling. All of our agents are busy. Please hold the line, your call is important to us.",
        ),
        ("en-us", "Eleven hundred, twenty one hundred, one thousand six hundred fifty. Beeeep. Ooooh. Aaaah."),
        ("de", "Guten Tag, Sie sind verbunden mit der Zentrale. Bitte warten Sie einen Moment."),
        ("fr", "Bonjour, vous êtes bien chez nous, laissez un message après le bip sonore."),
        ("ru", "Здравствуйте, оставьте, пожалуйста, сообщение после звукового сигнала."),
        ("en", "Meeeeeee. Whooooo. Eeeeeee. Sing la la la laaaa."),
    ];
    let mut speech_sigs = Vec::new();
    for (voice, text) in texts {
        let s = speech(text, voice);
        for dbm0 in [-10.0f32, -20.0, -30.0] {
            speech_sigs.push(scale_to(&s, dbm0));
        }
    }
    rows.push(("speech (espeak-ng, 7 texts x 3 levels)", speech_sigs));
    // The shared corpus: more than 15 minutes of speech in three languages
    // and five voices, at three levels.
    let mut corpus = Vec::new();
    for (_, clip) in speech_corpus() {
        for dbm0 in [-10.0f32, -20.0, -30.0] {
            corpus.push(scale_to(clip, dbm0));
        }
    }
    rows.push(("speech corpus (support::speech, 15 min x 3 levels)", corpus));
    rows.push((
        "music corpus (support::speech, 3 min x 2 levels)",
        music_corpus().iter().flat_map(|(_, m)| [scale_to(m, -10.0), scale_to(m, -25.0)]).collect(),
    ));

    let mut music = Vec::new();
    // Melodies of short notes, including C#6 (1109 Hz) and C7 (2093 Hz).
    for kind in ["sine", "square", "triangle", "pluck", "sawtooth"] {
        let mut m = Vec::new();
        // (%n is n semitones above A4 = 440 Hz.)
        for note in ["%-9", "%-5", "%-2", "%3", "%7", "%12", "%16", "%19", "%24", "%27", "%28", "%31", "%27", "%16"] {
            m.extend(sox_synth(&["synth", "0.25", kind, note]));
        }
        music.push(scale_to(&m, -15.0));
    }
    // Chords held for two seconds, with tremolo and without.
    for chord in [["%16", "%20", "%23"], ["%19", "%24", "%27"], ["%28", "%32", "%35"], ["%-5", "%-1", "%2"]] {
        let mut args = vec!["synth", "2"];
        for n in chord {
            args.extend(["sine", n]);
        }
        music.push(scale_to(&sox_synth(&args), -15.0));
        args.extend(["tremolo", "6", "40"]);
        music.push(scale_to(&sox_synth(&args), -15.0));
    }
    rows.push(("music (sox synth melodies and chords)", music));

    let mut dtmf = Vec::new();
    for (lo, hi) in [697, 770, 852, 941].iter().flat_map(|l| [1209, 1336, 1477, 1633].map(move |h| (*l, h))) {
        let (lo, hi) = (lo.to_string(), hi.to_string());
        // A long press: 2 s of each digit.
        dtmf.push(scale_to(&sox_synth(&["synth", "2", "sine", &lo, "sine", &hi]), -7.0));
    }
    rows.push(("DTMF (16 digits, 2 s each)", dtmf));

    let cadence = |freqs: &[&str], on: &str, off: &str, reps: usize| {
        let mut args = vec!["synth", on];
        for f in freqs {
            args.extend(["sine", *f]);
        }
        args.extend(["pad", "0", off]);
        let one = sox_synth(&args);
        let mut v = Vec::new();
        for _ in 0..reps {
            v.extend_from_slice(&one);
        }
        scale_to(&v, -13.0)
    };
    let progress = vec![
        cadence(&["350", "440"], "4", "0", 1),
        cadence(&["425"], "4", "0", 1),
        cadence(&["440", "480"], "2", "4", 2),
        cadence(&["425"], "1", "4", 2),
        cadence(&["480", "620"], "0.5", "0.5", 4),
        cadence(&["400", "450"], "0.4", "0.2", 6),
        cadence(&["950"], "0.33", "0", 1)
            .into_iter()
            .chain(cadence(&["1400"], "0.33", "0", 1))
            .chain(cadence(&["1800"], "0.33", "1", 1))
            .collect(),
        cadence(&["1400"], "2", "0", 1),
        cadence(&["1800"], "2", "0", 1),
        cadence(&["1300"], "0.6", "1.8", 2),
    ];
    rows.push(("call progress, SIT, 1300 Hz calling tone", progress));

    let mut noise = Vec::new();
    for (seed, dbm0) in [(1u64, -10.0f64), (2, -25.0), (3, -45.0)] {
        let mut v = vec![0i16; 8000 * 5];
        NoiseGenerator::new(seed, dbm0).tx(&mut v);
        noise.push(v);
    }
    noise.push(sox_synth(&["synth", "5", "pinknoise", "vol", "0.3"]));
    noise.push(sox_synth(&["synth", "5", "brownnoise", "vol", "0.3"]));
    rows.push(("white, pink and brown noise", noise));

    rows.push(("V.21 random data", (1..=5).map(|s| v21_random_data(s, 900)).collect()));

    for (name, sigs) in rows {
        let mut row = Row::default();
        for (i, s) in sigs.iter().enumerate() {
            let ev = detect(s, 160);
            row.add(if ev.is_empty() { Ok(0) } else { Err(format!("signal {i}: {ev:?}")) });
        }
        for f in row.failures.iter().take(3) {
            println!("  {name}: {f}");
        }
        card.row(name, row.passed, row.total);
    }
    finish(card);
}

#[test]
fn tones_after_speech_and_back_to_back() {
    // A realistic call: a voice greeting, then the far end is a fax.
    let mut card = Scorecard::new("fax tones after speech, CED followed by the V.21 preamble");
    let greeting = scale_to(&speech("Hello, this is the fax line.", "en"), -18.0);
    let mut row = Row::default();
    for kind in [FaxTone::Cng, FaxTone::Ans, FaxTone::AnsPr, FaxTone::AnsAmPr, FaxTone::V21Preamble] {
        let mut sig = greeting.clone();
        let start = sig.len() as u64 + 400;
        sig.extend(std::iter::repeat_n(0, 400));
        sig.extend(generate(kind, -20.0));
        sig.extend(std::iter::repeat_n(0, 8000));
        row.add(judge(&detect(&sig, 160), kind, start).map_err(|e| format!("after speech: {e}")));
    }
    row.record(&mut card, "after a greeting");

    // CED, 75 ms of silence, then the preamble: both reported, in order.
    let mut row = Row::default();
    for dbm0 in [-10.0f32, -30.0] {
        let mut sig = generate(FaxTone::Ans, dbm0);
        sig.extend(std::iter::repeat_n(0, 600));
        let v21_start = sig.len() as u64;
        let mut flags = FskTx::new(FskSpec::V21_CH2, dbm0).expect("V.21 preset");
        let mut bits = (0..38 * 8).map(|i| (HDLC_FLAG >> (i % 8)) & 1 == 1);
        let mut v = vec![0i16; 38 * 8 * 27];
        let n = flags.tx_with(&mut v, &mut || bits.next());
        sig.extend_from_slice(&v[..n]);
        sig.extend(std::iter::repeat_n(0, 4000));
        let ev = detect(&sig, 160);
        let kinds: Vec<FaxTone> = ev
            .iter()
            .filter_map(|e| match e {
                FaxToneEvent::Detected(r) => Some(r.tone),
                _ => None,
            })
            .collect();
        let v21 = ev.iter().find_map(|e| match e {
            FaxToneEvent::Detected(r) if r.tone == FaxTone::V21Preamble => Some(*r),
            _ => None,
        });
        row.add(match (kinds.as_slice(), v21) {
            ([FaxTone::Ans, FaxTone::V21Preamble], Some(r))
                if r.start.abs_diff(v21_start) <= START_TOLERANCE && r.at - v21_start <= ONE_SECOND =>
            {
                Ok(r.at - v21_start)
            }
            _ => Err(format!("CED then flags at {dbm0} dBm0: {ev:?}")),
        });
    }
    row.record(&mut card, "CED then V.21 flags");
    finish(card);
}
