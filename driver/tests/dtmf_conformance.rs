//! DTMF receiver conformance (Q.24 limits as the issue states them), in the
//! manner of the Mitel test procedure: frequency tolerance, twist, dynamic
//! range, timing, noise and talk-off, each on a linear line and again after
//! an A-law and a μ-law round trip.
//!
//! Every signal is made twice, by our generator (`dsp::dtmf`,
//! `dsp::tonegen`) and independently by sox, and each case is also run
//! through spandsp's `dtmf_rx` (the C witness `witness/spandsp_dtmf.c`) so
//! that the two scorecards can be compared. Only ours is asserted.
//!
//! A case is a short run of digits with silence around it; it passes when
//! exactly the expected digits (none, for a signal to reject) are reported
//! with a start inside the case.
//!
//! `cargo test -p ctibox-driver --test dtmf_conformance -- --nocapture`
//! prints the scorecards.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use ctibox_driver::dsp::dtmf::{
    DTMF_COL_HZ, DTMF_ROW_HZ, DtmfDetector, DtmfDigit, DtmfEvent, DtmfRxDescriptor, DtmfRxParams, DtmfTone,
    DtmfTxConfig, dtmf_samples,
};
use ctibox_driver::dsp::g711;
use ctibox_driver::dsp::goertzel::{GoertzelDescriptor, GoertzelState};
use ctibox_driver::dsp::level::dbm0_to_peak;
use ctibox_driver::dsp::noise::NoiseGenerator;
use ctibox_driver::dsp::tonegen::{ToneFreq, ToneGenerator, ToneSpec};
use ctibox_driver::hal::Law;
use support::Scorecard;

const ALL_DIGITS: &str = "123A456B789C*0#D";
/// Silence before and after each case.
const GUARD_SAMPLES: usize = 2400;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Line {
    Linear,
    ALaw,
    MuLaw,
}

impl Line {
    fn name(self) -> &'static str {
        match self {
            Line::Linear => "linear",
            Line::ALaw => "A-law",
            Line::MuLaw => "μ-law",
        }
    }
    fn apply(self, s: &[i16]) -> Vec<i16> {
        let law = match self {
            Line::Linear => return s.to_vec(),
            Line::ALaw => Law::ALaw,
            Line::MuLaw => Law::MuLaw,
        };
        let mut codes = vec![0u8; s.len()];
        g711::encode_block(law, s, &mut codes);
        let mut out = vec![0i16; s.len()];
        g711::decode_block(law, &codes, &mut out);
        out
    }
}

/// Who made a signal.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Maker {
    Ours,
    Sox,
}

/// One tone pair: frequencies, levels (dBm0 per tone), on and off time.
#[derive(Debug, Clone, Copy)]
struct Burst {
    low_hz: f64,
    high_hz: f64,
    low_dbm0: f64,
    high_dbm0: f64,
    on_ms: u32,
    off_ms: u32,
}

impl Burst {
    fn digit(d: char, low_dbm0: f64, high_dbm0: f64, on_ms: u32, off_ms: u32) -> Self {
        let d = DtmfDigit::from_char(d).expect("digit");
        Burst { low_hz: d.low_hz() as f64, high_hz: d.high_hz() as f64, low_dbm0, high_dbm0, on_ms, off_ms }
    }
}

fn burst_ours(b: &Burst) -> Vec<i16> {
    let f = [
        ToneFreq { hz: b.low_hz as f32, dbm0: b.low_dbm0 as f32 },
        ToneFreq { hz: b.high_hz as f32, dbm0: b.high_dbm0 as f32 },
    ];
    let mut g = ToneGenerator::new(&ToneSpec::burst(&f, b.on_ms, b.off_ms).expect("tone spec"));
    let mut out = vec![0i16; (b.on_ms + b.off_ms) as usize * 8];
    let n = g.tx(&mut out);
    out.truncate(n);
    out
}

/// sox `remix` gain for a tone at `dbm0` (sox's full scale is 32767).
fn sox_gain(dbm0: f64) -> String {
    format!("{:.6}", dbm0_to_peak(dbm0) / 32767.0)
}

fn bursts_sox(bs: &[Burst]) -> Vec<i16> {
    let mut words: Vec<String> = Vec::new();
    for b in bs {
        if !words.is_empty() {
            words.push(":".into());
        }
        words.extend([
            "synth".to_string(),
            format!("{}", b.on_ms as f64 / 1000.0),
            "sine".into(),
            format!("{:.3}", b.low_hz),
            "sine".into(),
            format!("{:.3}", b.high_hz),
            "remix".into(),
            format!("1v{},2v{}", sox_gain(b.low_dbm0), sox_gain(b.high_dbm0)),
            "pad".into(),
            "0".into(),
            format!("{}", b.off_ms as f64 / 1000.0),
        ]);
    }
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    support::sox_synth(&refs)
}

fn bursts(maker: Maker, bs: &[Burst]) -> Vec<i16> {
    match maker {
        Maker::Ours => bs.iter().flat_map(burst_ours).collect(),
        Maker::Sox => bursts_sox(bs),
    }
}

/// A test signal and what a conforming receiver reports.
#[derive(Debug, Clone)]
struct Case {
    row: String,
    signal: Vec<i16>,
    expect: String,
    /// For timing cases: where each expected digit's tones are (samples
    /// from the start of `signal`), to check our reported start and end.
    spans: Vec<(usize, usize)>,
    /// For level cases: the level of each tone, to check our report.
    level_dbm0: Option<f32>,
}

impl Case {
    fn new(row: impl Into<String>, signal: Vec<i16>, expect: &str) -> Self {
        Case { row: row.into(), signal, expect: expect.into(), spans: Vec::new(), level_dbm0: None }
    }
}

/// The cases laid end to end with guard silence; returns the stream and
/// each case's sample range.
fn lay_out(cases: &[Case]) -> (Vec<i16>, Vec<(usize, usize)>) {
    let mut stream = Vec::new();
    let mut ranges = Vec::new();
    for c in cases {
        let a = stream.len();
        stream.extend(std::iter::repeat_n(0i16, GUARD_SAMPLES));
        stream.extend_from_slice(&c.signal);
        stream.extend(std::iter::repeat_n(0i16, GUARD_SAMPLES));
        ranges.push((a, stream.len()));
    }
    (stream, ranges)
}

/// Digits reported by a receiver: (digit, start, end, low dBm0, high dBm0).
type Report = Vec<(char, u64, u64, f32, f32)>;

fn run_ours(stream: &[i16]) -> Report {
    run_ours_with(DtmfDetector::default(), stream)
}

/// Our detector forced onto its portable (non-AVX2) code path.
fn portable_detector() -> DtmfDetector {
    let desc = DtmfRxDescriptor::new(DtmfRxParams::default()).expect("default params");
    DtmfDetector::new(Arc::new(desc.portable()))
}

/// Our detector declaring a digit after 2 hit windows (10 ms) instead of
/// 4: a talk-off margin.
fn hasty_detector() -> DtmfDetector {
    let desc = DtmfRxDescriptor::new(DtmfRxParams { hits_to_begin: 2, ..Default::default() }).expect("params");
    DtmfDetector::new(Arc::new(desc))
}

fn run_ours_with(mut det: DtmfDetector, stream: &[i16]) -> Report {
    let mut ev = Vec::with_capacity(64);
    let mut out = Vec::new();
    for chunk in stream.chunks(160) {
        det.rx(chunk, &mut ev);
        for e in ev.drain(..) {
            if let DtmfEvent::Digit(DtmfTone { digit, start, end, low_dbm0, high_dbm0 }) = e {
                out.push((digit.as_char(), start, end, low_dbm0, high_dbm0));
            }
        }
    }
    det.flush(&mut ev);
    for e in ev.drain(..) {
        if let DtmfEvent::Digit(t) = e {
            out.push((t.digit.as_char(), t.start, t.end, t.low_dbm0, t.high_dbm0));
        }
    }
    out
}

fn spandsp_witness() -> std::path::PathBuf {
    static W: OnceLock<std::path::PathBuf> = OnceLock::new();
    W.get_or_init(|| support::build_c_witness("spandsp_dtmf.c", &["spandsp", "m"], "libspandsp-dev")).clone()
}

fn run_spandsp(stream: &[i16]) -> Report {
    let dir = support::tempfile_dir();
    let path = dir.join("in.raw");
    support::write_raw_s16(&path, stream);
    let out = support::run(Command::new(spandsp_witness()).arg("rx").arg(&path));
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let d = w.next()?.chars().next()?;
            let s = w.next()?.parse().ok()?;
            let e = w.next()?.parse().ok()?;
            Some((d, s, e, 0.0, 0.0))
        })
        .collect()
}

/// Digits of `report` attributed to each case (by start).
fn per_case(report: &Report, ranges: &[(usize, usize)]) -> Vec<Report> {
    let mut out = vec![Vec::new(); ranges.len()];
    for r in report {
        // spandsp reports its start after its detection delay (tens of
        // ms), well inside the case's 300 ms guard.
        let s = r.1 as usize;
        if let Some(i) = ranges.iter().position(|&(a, b)| s >= a && s < b) {
            out[i].push(*r);
        }
    }
    out
}

/// Score cases per row for one receiver.
fn score(card: &mut Scorecard, cases: &[Case], got: &[Report], mut extra: impl FnMut(&Case, &Report) -> bool) {
    let mut rows: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
    let mut order = Vec::new();
    for (c, g) in cases.iter().zip(got) {
        let digits: String = g.iter().map(|r| r.0).collect();
        let ok = digits == c.expect && extra(c, g);
        let e = rows.entry(c.row.clone()).or_insert_with(|| {
            order.push(c.row.clone());
            (0, 0, Vec::new())
        });
        e.1 += 1;
        if ok {
            e.0 += 1;
        } else if e.2.len() < 3 {
            e.2.push(format!("want {:?} got {:?}", c.expect, digits));
        }
    }
    for name in order {
        let (p, t, why) = &rows[&name];
        let label = if why.is_empty() { name.clone() } else { format!("{name}  [{}]", why.join("; ")) };
        card.row(label, *p, *t);
    }
}

/// Run the cases through ours and spandsp on `line`; print both cards and
/// assert ours. `extra` adds checks on our own report (levels, times).
fn judge(title: &str, line: Line, cases: &[Case], extra: impl FnMut(&Case, &Report) -> bool) {
    let (stream, ranges) = lay_out(cases);
    let stream = line.apply(&stream);
    let report = run_ours(&stream);
    // The portable path (no AVX2) decides the same.
    let portable = run_ours_with(portable_detector(), &stream);
    let digits = |r: &Report| r.iter().map(|d| d.0).collect::<String>();
    assert_eq!(digits(&portable), digits(&report), "{title}, {}: portable and AVX2 paths differ", line.name());
    let ours = per_case(&report, &ranges);
    let theirs = per_case(&run_spandsp(&stream), &ranges);
    let mut card = Scorecard::new(&format!("{title}, {} — ctibox dsp::dtmf", line.name()));
    score(&mut card, cases, &ours, extra);
    let mut sp = Scorecard::new(&format!("{title}, {} — spandsp dtmf_rx (witness, not asserted)", line.name()));
    score(&mut sp, cases, &theirs, |_, _| true);
    let ok = card.print();
    sp.print();
    println!("score: ctibox {}/{}, spandsp {}/{}", card.passed(), card.total(), sp.passed(), sp.total());
    assert!(
        ok,
        "{title} on a {} line: ctibox failed {} of {} cases",
        line.name(),
        card.total() - card.passed(),
        card.total()
    );
}

// ---------------------------------------------------------------- cases

fn both_makers(mut make: impl FnMut(Maker) -> Vec<Case>) -> Vec<Case> {
    let mut v = Vec::new();
    for (m, tag) in [(Maker::Ours, "our gen"), (Maker::Sox, "sox gen")] {
        for mut c in make(m) {
            c.row = format!("{tag}: {}", c.row);
            v.push(c);
        }
    }
    v
}

fn frequency_cases() -> &'static [Case] {
    static C: OnceLock<Vec<Case>> = OnceLock::new();
    C.get_or_init(|| {
        both_makers(|maker| {
            let mut cases = Vec::new();
            let accept = [-1.5, -1.0, 0.0, 1.0, 1.5];
            for level in [-6.0, -24.0] {
                for (group, freqs) in [(0usize, DTMF_ROW_HZ), (1, DTMF_COL_HZ)] {
                    for (i, &f) in freqs.iter().enumerate() {
                        // Reject offsets: ±3.5…5.5 % everywhere (still ≥ 3.5 %
                        // from the neighbour), and far out past each group's
                        // outer edge.
                        let mut reject = vec![-5.5, -4.5, -3.5, 3.5, 4.5, 5.5];
                        if (group, i) == (0, 0) || (group, i) == (1, 0) {
                            reject.extend([-8.0, -12.0, -20.0]);
                        }
                        if (group, i) == (0, 3) || (group, i) == (1, 3) {
                            reject.extend([8.0, 12.0, 20.0]);
                        }
                        for (kind, offsets) in [("accept ±1.5%", &accept[..]), ("reject ≥3.5%", &reject[..])] {
                            for &pct in offsets {
                                let shifted = f as f64 * (1.0 + pct / 100.0);
                                // The shifted tone with each of the other group's four.
                                let mut bs = Vec::new();
                                let mut expect = String::new();
                                for k in 0..4 {
                                    let (r, c) = if group == 0 { (i, k) } else { (k, i) };
                                    let d = DtmfDigit::from_row_col(r, c).expect("digit");
                                    let mut b = Burst::digit(d.as_char(), level, level, 50, 50);
                                    if group == 0 {
                                        b.low_hz = shifted;
                                    } else {
                                        b.high_hz = shifted;
                                    }
                                    bs.push(b);
                                    expect.push(d.as_char());
                                }
                                let expect = if kind.starts_with("accept") { expect } else { String::new() };
                                cases.push(Case::new(
                                    format!("{f} Hz {kind} at {level} dBm0"),
                                    bursts(maker, &bs),
                                    &expect,
                                ));
                            }
                        }
                    }
                }
            }
            cases
        })
    })
}

fn twist_cases() -> &'static [Case] {
    static C: OnceLock<Vec<Case>> = OnceLock::new();
    C.get_or_init(|| {
        both_makers(|maker| {
            let mut cases = Vec::new();
            for strong in [-3.0, -10.0, -20.0] {
                // (twist low−high, accept?)
                let twists: Vec<(f64, bool)> = [0.0, 2.0, 4.0, 6.0, 8.0, -1.0, -2.0, -3.0, -4.0]
                    .map(|t| (t, true))
                    .into_iter()
                    .chain([10.0, 12.0, 16.0, -10.0, -12.0, -16.0].map(|t| (t, false)))
                    .collect();
                for (t, accept) in twists {
                    let (lo, hi) = if t >= 0.0 { (strong, strong - t) } else { (strong + t, strong) };
                    let bs: Vec<Burst> = ALL_DIGITS.chars().map(|d| Burst::digit(d, lo, hi, 50, 50)).collect();
                    let kind = match (t >= 0.0, accept) {
                        (true, true) => "normal twist ≤8 dB accept",
                        (true, false) => "normal twist ≥10 dB reject",
                        (false, true) => "reverse twist ≤4 dB accept",
                        (false, false) => "reverse twist ≥10 dB reject",
                    };
                    let expect = if accept { ALL_DIGITS } else { "" };
                    cases.push(Case::new(format!("{kind}, stronger tone {strong} dBm0"), bursts(maker, &bs), expect));
                }
            }
            cases
        })
    })
}

fn dynamic_range_cases() -> &'static [Case] {
    static C: OnceLock<Vec<Case>> = OnceLock::new();
    C.get_or_init(|| {
        both_makers(|maker| {
            let mut cases = Vec::new();
            for level in [-3.0, -6.0, -9.0, -12.0, -15.0, -18.0, -21.0, -24.0, -27.0, -30.0] {
                let bs: Vec<Burst> = ALL_DIGITS.chars().map(|d| Burst::digit(d, level, level, 50, 50)).collect();
                let mut c = Case::new("−3…−30 dBm0 per tone accept", bursts(maker, &bs), ALL_DIGITS);
                c.level_dbm0 = Some(level as f32);
                cases.push(c);
            }
            for level in [-46.0, -50.0, -55.0, -60.0] {
                let bs: Vec<Burst> = ALL_DIGITS.chars().map(|d| Burst::digit(d, level, level, 50, 50)).collect();
                cases.push(Case::new("≤−46 dBm0 per tone reject", bursts(maker, &bs), ""));
            }
            cases
        })
    })
}

fn timing_cases() -> &'static [Case] {
    static C: OnceLock<Vec<Case>> = OnceLock::new();
    C.get_or_init(|| {
        both_makers(|maker| {
            let mut cases = Vec::new();
            // Leading offsets move the tones across the detector's 5 ms grid.
            for lead in [0usize, 7, 13, 20, 27, 33, 39] {
                for (row, digits, on, off, level) in [
                    ("40 ms on / 40 ms off accept", ALL_DIGITS, 40, 40, -10.0),
                    ("40 ms on / 40 ms off accept", ALL_DIGITS, 40, 40, -25.0),
                    ("repeated digit 40/40 accept (\"1111\", \"5555\"…)", "1111", 40, 40, -10.0),
                    ("repeated digit 40/40 accept (\"1111\", \"5555\"…)", "5555", 40, 40, -25.0),
                    ("repeated digit 40/40 accept (\"1111\", \"5555\"…)", "DDDD", 40, 40, -10.0),
                    ("longer tones and pauses accept", "159D", 100, 100, -10.0),
                    ("longer tones and pauses accept", "*#", 500, 60, -10.0),
                    ("≤20 ms tones reject", "123A", 20, 60, -10.0),
                    ("≤20 ms tones reject", "456B", 15, 60, -3.0),
                    ("≤20 ms tones reject", "789C", 10, 40, -10.0),
                    ("≤20 ms tones reject", "5555", 20, 20, -10.0),
                ] {
                    let bs: Vec<Burst> = digits.chars().map(|d| Burst::digit(d, level, level, on, off)).collect();
                    let mut s = vec![0i16; lead];
                    s.extend(bursts(maker, &bs));
                    let expect = if row.ends_with("reject") { "" } else { digits };
                    let mut c = Case::new(row, s, expect);
                    let per = ((on + off) * 8) as usize;
                    c.spans = (0..digits.len()).map(|k| (lead + k * per, lead + k * per + on as usize * 8)).collect();
                    cases.push(c);
                }
            }
            cases
        })
    })
}

fn noise_cases() -> &'static [Case] {
    static C: OnceLock<Vec<Case>> = OnceLock::new();
    C.get_or_init(|| {
        both_makers(|maker| {
            let mut cases = Vec::new();
            let mut seed = 1;
            for snr in [15.0, 12.0] {
                for (level, on, off) in [(-10.0, 50, 50), (-20.0, 50, 50), (-10.0, 40, 40), (-26.0, 50, 50)] {
                    for _ in 0..4 {
                        let bs: Vec<Burst> =
                            ALL_DIGITS.chars().map(|d| Burst::digit(d, level, level, on, off)).collect();
                        let mut s = vec![0i16; GUARD_SAMPLES];
                        s.extend(bursts(maker, &bs));
                        s.extend(std::iter::repeat_n(0i16, GUARD_SAMPLES));
                        // White noise over 0–4 kHz, `snr` dB below one tone,
                        // over the whole case including its silences.
                        NoiseGenerator::new(seed, level - snr).add_to(&mut s);
                        seed += 1;
                        cases.push(Case::new(format!("SNR {snr} dB, {on}/{off} ms"), s, ALL_DIGITS));
                    }
                }
            }
            // Noise alone never makes a digit.
            for lvl in [-30.0, -20.0, -10.0] {
                let mut s = vec![0i16; 8000 * 20];
                NoiseGenerator::new(seed, lvl).add_to(&mut s);
                seed += 1;
                cases.push(Case::new("noise alone (20 s each) reject", s, ""));
            }
            cases
        })
    })
}

// ---------------------------------------------------------------- groups

fn frequency_tolerance(line: Line) {
    judge("DTMF frequency tolerance", line, frequency_cases(), |_, _| true);
}

fn twist(line: Line) {
    judge("DTMF twist", line, twist_cases(), |_, _| true);
}

fn dynamic_range(line: Line) {
    judge("DTMF dynamic range", line, dynamic_range_cases(), |c, got| {
        // Our reported levels are within 0.5 dB of the tones'.
        c.level_dbm0.is_none_or(|want| got.iter().all(|r| (r.3 - want).abs() <= 0.5 && (r.4 - want).abs() <= 0.5))
    });
}

fn timing(line: Line) {
    judge("DTMF timing", line, timing_cases(), |_, _| true);
    // Time accuracy, checked on our own report with case offsets.
    let cases: Vec<Case> = timing_cases().iter().filter(|c| !c.expect.is_empty()).cloned().collect();
    let (stream, ranges) = lay_out(&cases);
    let got = per_case(&run_ours(&line.apply(&stream)), &ranges);
    let mut worst = 0i64;
    for ((c, g), &(a, _)) in cases.iter().zip(&got).zip(&ranges) {
        assert_eq!(g.len(), c.spans.len(), "{}", c.row);
        for (r, &(s, e)) in g.iter().zip(&c.spans) {
            // The case's signal starts after its leading guard.
            let (s, e) = ((a + GUARD_SAMPLES + s) as i64, (a + GUARD_SAMPLES + e) as i64);
            worst = worst.max((r.1 as i64 - s).abs()).max((r.2 as i64 - e).abs());
        }
    }
    println!("timing, {}: worst start/end error {worst} samples ({:.1} ms)", line.name(), worst as f64 / 8.0);
    assert!(worst <= 24, "start/end within 3 ms: worst {worst} samples");
}

fn noise(line: Line) {
    judge("DTMF noise (SNR against one tone)", line, noise_cases(), |_, _| true);
}

fn talk_off(line: Line) {
    let speech = support::speech::speech_corpus();
    let music = support::speech::music_corpus();
    println!(
        "talk-off corpus: {:.1} min speech in {} clips, {:.1} min music in {} clips",
        support::speech::total_seconds(speech) / 60.0,
        speech.len(),
        support::speech::total_seconds(music) / 60.0,
        music.len()
    );
    let mut card = Scorecard::new(&format!(
        "DTMF talk-off, {} — ctibox dsp::dtmf (clips without a false digit; also portable path and 2-hit margin)",
        line.name()
    ));
    let mut sp = Scorecard::new(&format!("DTMF talk-off, {} — spandsp dtmf_rx (witness, not asserted)", line.name()));
    let (mut ours_false, mut theirs_false) = (0, 0);
    let mut groups: BTreeMap<String, (usize, usize, usize, usize, String)> = BTreeMap::new();
    for (label, samples) in speech.iter().chain(music) {
        let s = line.apply(samples);
        let mut o = run_ours(&s);
        // The portable path (no AVX2) must be as quiet …
        o.extend(run_ours_with(portable_detector(), &s));
        // … and so must a detector that needs only two consecutive hit
        // windows instead of four: speech and music never come close.
        o.extend(run_ours_with(hasty_detector(), &s));
        let t = run_spandsp(&s);
        ours_false += o.len();
        theirs_false += t.len();
        let group = label.split(" (").next().unwrap_or(label).to_string();
        let g = groups.entry(group).or_default();
        g.0 += o.is_empty() as usize;
        g.1 += 1;
        g.2 += t.is_empty() as usize;
        g.3 += 1;
        if !o.is_empty() && g.4.len() < 200 {
            g.4.push_str(&format!(" {label}: {:?}", o.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>()));
        }
    }
    for (name, (op, ot, tp, tt, why)) in &groups {
        card.row(if why.is_empty() { name.clone() } else { format!("{name} [{why}]") }, *op, *ot);
        sp.row(name.clone(), *tp, *tt);
    }
    let ok = card.print();
    sp.print();
    println!("false digits: ctibox {ours_false}, spandsp {theirs_false}");
    assert!(ok && ours_false == 0, "talk-off on a {} line: {ours_false} false digits", line.name());
}

// ---------------------------------------------------------------- tests

#[test]
fn sox_signals_have_the_levels_we_ask_for() {
    // The sox path is an independent generator: check its calibration.
    let s = bursts_sox(&[Burst {
        low_hz: 697.0,
        high_hz: 1209.0,
        low_dbm0: -7.0,
        high_dbm0: -13.0,
        on_ms: 100,
        off_ms: 0,
    }]);
    assert_eq!(s.len(), 800);
    for (hz, want) in [(697.0, -7.0), (1209.0, -13.0)] {
        let d = GoertzelDescriptor::new(hz, 800);
        let mut st = GoertzelState::new();
        st.update(&d, &s);
        let got = d.energy_to_dbm0(st.result(&d));
        assert!((got - want).abs() < 0.2, "{hz} Hz: {got} dBm0");
    }
    // And our generator agrees with the burst helper.
    let ours =
        dtmf_samples("1", DtmfTxConfig { low_dbm0: -7.0, high_dbm0: -13.0, on_ms: 100, off_ms: 0 }).expect("gen");
    assert_eq!(ours, burst_ours(&Burst::digit('1', -7.0, -13.0, 100, 0)));
}

#[test]
fn frequency_tolerance_linear() {
    frequency_tolerance(Line::Linear);
}
#[test]
fn frequency_tolerance_alaw() {
    frequency_tolerance(Line::ALaw);
}
#[test]
fn frequency_tolerance_ulaw() {
    frequency_tolerance(Line::MuLaw);
}
#[test]
fn twist_linear() {
    twist(Line::Linear);
}
#[test]
fn twist_alaw() {
    twist(Line::ALaw);
}
#[test]
fn twist_ulaw() {
    twist(Line::MuLaw);
}
#[test]
fn dynamic_range_linear() {
    dynamic_range(Line::Linear);
}
#[test]
fn dynamic_range_alaw() {
    dynamic_range(Line::ALaw);
}
#[test]
fn dynamic_range_ulaw() {
    dynamic_range(Line::MuLaw);
}
#[test]
fn timing_linear() {
    timing(Line::Linear);
}
#[test]
fn timing_alaw() {
    timing(Line::ALaw);
}
#[test]
fn timing_ulaw() {
    timing(Line::MuLaw);
}
#[test]
fn noise_linear() {
    noise(Line::Linear);
}
#[test]
fn noise_alaw() {
    noise(Line::ALaw);
}
#[test]
fn noise_ulaw() {
    noise(Line::MuLaw);
}
#[test]
fn talk_off_linear() {
    talk_off(Line::Linear);
}
#[test]
fn talk_off_alaw() {
    talk_off(Line::ALaw);
}
#[test]
fn talk_off_ulaw() {
    talk_off(Line::MuLaw);
}
