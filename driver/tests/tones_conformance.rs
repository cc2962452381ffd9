//! Conformance of the call-progress tone detector and learner
//! (`dsp::tones`), one scorecard per country and requirement.
//!
//! Signals come from our tone generator and, independently, from `sox
//! synth` (a peer witness: same patterns, another synthesiser). Each case
//! is judged strictly: exactly one tone reported, of the right kind, its
//! start and end within 15 ms of where the signal put them.
//!
//! Requirements checked for CN, RU, US, UK and EU: every tone detected and
//! classified; ±10 % cadence jitter on every segment; configurable cycle
//! counts; levels −5…−35 dBm0 (and nothing below −45); 15 dB SNR; A-law
//! and μ-law round trips; frequency drift ±2 % accepted, ±8 % rejected; the
//! same events for any block length; no tone in noise, music, DTMF or fax
//! tones. The learner is checked on off-book tones with noise, learned
//! entries are fed back to the detector.

mod support;

use std::sync::Arc;

use ctibox_driver::dsp::dtmf::{DtmfTxConfig, dtmf_samples};
use ctibox_driver::dsp::g711;
use ctibox_driver::dsp::goertzel::{GoertzelDescriptor, GoertzelState};
use ctibox_driver::dsp::level::{block_dbm0, dbm0_to_peak};
use ctibox_driver::dsp::noise::NoiseGenerator;
use ctibox_driver::dsp::tonegen::{ToneFreq, ToneGenerator, ToneSpec, ToneStep};
use ctibox_driver::dsp::tones::{
    Country, CycleCounts, MIN_STEP_MS, ToneDef, ToneDetector, ToneDetectorConfig, ToneDetectorDescriptor, ToneEntry,
    ToneEvent, ToneKind, ToneProfile,
};
use ctibox_driver::hal::Law;
use support::Scorecard;

const KINDS: [ToneKind; 6] =
    [ToneKind::Dial, ToneKind::Ringback, ToneKind::Busy, ToneKind::Congestion, ToneKind::CallWaiting, ToneKind::Sit];

/// Start and end must be this close to the truth.
const EDGE_TOLERANCE_SAMPLES: u64 = 15 * 8;
/// Silence before each tone.
const LEAD_MS: usize = 300;

/// xorshift64*, for repeatable jitter.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [−1, 1].
    fn sym(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// How to render a tone.
#[derive(Clone, Copy)]
struct Render {
    /// Each segment's length × (1 + jitter·u), u uniform in [−1, 1].
    jitter: f64,
    seed: u64,
    /// Every frequency × this.
    fscale: f32,
    /// Level per frequency (dBm0), or the profile's.
    level_dbm0: Option<f32>,
    /// Passes of the cadence (ignored for continuous tones).
    periods: usize,
}

impl Render {
    fn plain(periods: usize) -> Self {
        Render { jitter: 0.0, seed: 1, fscale: 1.0, level_dbm0: None, periods }
    }
}

/// A rendered test signal and the truth about it.
struct Case {
    samples: Vec<i16>,
    /// Where the first burst starts and the last one ends.
    onset: u64,
    last_end: u64,
    /// Where each burst after a silence (or the first) starts.
    burst_starts: Vec<u64>,
}

/// The steps of `def` after `r`'s changes: (frequencies, length in ms).
fn steps_of(def: &ToneDef, r: &Render, rng: &mut Rng) -> Vec<(Vec<ToneFreq>, f64)> {
    let steps = def.spec.steps();
    let mut out = Vec::new();
    let passes = if def.spec.repeat { r.periods } else { 1 };
    for _ in 0..passes {
        for s in steps {
            let freqs: Vec<ToneFreq> = s
                .active()
                .iter()
                .map(|f| ToneFreq { hz: f.hz * r.fscale, dbm0: r.level_dbm0.unwrap_or(f.dbm0) })
                .collect();
            let ms = if s.duration_ms == 0 {
                if s.count > 0 { 3000.0 } else { 0.0 }
            } else {
                s.duration_ms as f64 * (1.0 + r.jitter * rng.sym())
            };
            out.push((freqs, ms));
        }
    }
    out
}

/// Render with our tone generator, with `LEAD_MS` of silence before and
/// `tail_ms` after.
fn render(def: &ToneDef, r: &Render, tail_ms: usize) -> Case {
    render_after(vec![0i16; LEAD_MS * 8], def, r, tail_ms)
}

/// Render right after `prefix` (other audio, or silence), with `tail_ms`
/// of silence after.
fn render_after(prefix: Vec<i16>, def: &ToneDef, r: &Render, tail_ms: usize) -> Case {
    let mut rng = Rng::new(r.seed);
    let mut samples = prefix;
    let onset = samples.len() as u64;
    let mut last_end = onset;
    let mut burst_starts = Vec::new();
    let mut after_silence = true;
    for (freqs, ms) in steps_of(def, r, &mut rng) {
        let n = (ms * 8.0).round() as usize;
        let at = samples.len();
        samples.resize(at + n, 0);
        if !freqs.is_empty() {
            let spec = ToneSpec::new(&[ToneStep::tone(&freqs, 0)], false).unwrap();
            ToneGenerator::new(&spec).tx(&mut samples[at..]);
            last_end = samples.len() as u64;
            if after_silence {
                burst_starts.push(at as u64);
            }
        }
        after_silence = freqs.is_empty() && n > 0;
    }
    samples.resize(samples.len() + tail_ms * 8, 0);
    Case { samples, onset, last_end, burst_starts }
}

/// Amplitude of `synth sine f`, and of each sine of `synth sine f1 synth
/// sine mix f2` (the mix averages), before `vol` (sox 14.4). `render_sox`
/// checks the level it gets.
const SOX_ONE_PEAK: f64 = 32767.0;
const SOX_MIX_PEAK: f64 = 16384.0;

/// The same tone rendered by `sox synth`, segment by segment.
fn render_sox(def: &ToneDef, r: &Render, tail_ms: usize) -> Case {
    let mut rng = Rng::new(r.seed);
    let mut args: Vec<String> = Vec::new();
    let mut t = 0.0;
    let onset = (LEAD_MS * 8) as u64;
    let mut last_end = onset;
    let mut first_level = None;
    let segs = steps_of(def, r, &mut rng);
    let push = |args: &mut Vec<String>, words: Vec<String>| {
        if !args.is_empty() {
            args.push(":".into());
        }
        args.extend(words);
    };
    push(
        &mut args,
        vec![
            "synth".into(),
            format!("{:.6}", LEAD_MS as f64 / 1000.0),
            "sine".into(),
            "100".into(),
            "vol".into(),
            "0".into(),
        ],
    );
    for (freqs, ms) in segs.iter().filter(|s| s.1 > 0.0) {
        // (sox reads a zero length as "forever".)
        let n = (ms * 8.0).round();
        t += n;
        let secs = format!("{:.6}", n / 8000.0);
        if freqs.is_empty() {
            push(&mut args, vec!["synth".into(), secs, "sine".into(), "100".into(), "vol".into(), "0".into()]);
        } else {
            let peak = dbm0_to_peak(freqs[0].dbm0 as f64);
            let (mut w, vol) = if freqs.len() == 1 {
                (vec!["synth".into(), secs, "sine".into(), format!("{}", freqs[0].hz)], peak / SOX_ONE_PEAK)
            } else {
                (
                    vec![
                        "synth".into(),
                        secs,
                        "sine".into(),
                        format!("{}", freqs[0].hz),
                        "synth".into(),
                        "sine".into(),
                        "mix".into(),
                        format!("{}", freqs[1].hz),
                    ],
                    peak / SOX_MIX_PEAK,
                )
            };
            w.extend(["vol".to_string(), format!("{vol:.6}")]);
            push(&mut args, w);
            last_end = onset + t as u64;
            first_level.get_or_insert((onset as usize, n as usize, freqs[0]));
        }
    }
    push(
        &mut args,
        vec![
            "synth".into(),
            format!("{:.6}", tail_ms as f64 / 1000.0),
            "sine".into(),
            "100".into(),
            "vol".into(),
            "0".into(),
        ],
    );
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let samples = support::sox_synth(&words);
    // The witness must be what we asked for: check the first burst's level.
    if let Some((at, n, f)) = first_level {
        let lvl = goertzel_dbm0(&samples[at..at + n.min(4000)], f.hz);
        assert!((lvl - f.dbm0 as f64).abs() < 1.0, "sox rendered {} Hz at {lvl:.1} dBm0, wanted {}", f.hz, f.dbm0);
    }
    Case { samples, onset, last_end, burst_starts: Vec::new() }
}

fn goertzel_dbm0(x: &[i16], hz: f32) -> f64 {
    let d = GoertzelDescriptor::new(hz, x.len());
    let mut st = GoertzelState::new();
    st.update(&d, x);
    d.energy_to_dbm0(st.result(&d))
}

/// How long to play each tone and the silence after it.
fn plan(def: &ToneDef, cfg: &ToneDetectorConfig) -> (usize, usize) {
    let longest_ms = def.spec.steps().iter().map(|s| s.duration_ms).max().unwrap_or(0) as usize;
    let periods = cfg.cycles.get(def.kind) as usize + 1;
    (periods, longest_ms + longest_ms / 5 + 1000)
}

fn events(desc: &Arc<ToneDetectorDescriptor>, samples: &[i16], chunk: usize) -> Vec<ToneEvent> {
    let mut det = ToneDetector::new(desc.clone());
    let mut ev = Vec::new();
    for c in samples.chunks(chunk.max(1)) {
        det.rx(c, &mut ev);
    }
    det.flush(&mut ev);
    ev
}

fn tones(ev: &[ToneEvent]) -> Vec<ToneKind> {
    ev.iter().filter(|e| matches!(e, ToneEvent::Tone { .. })).map(ToneEvent::kind).collect()
}

/// Exactly one tone, of `kind`, starting at the onset and ending at the end
/// of the last burst.
fn judge(ev: &[ToneEvent], kind: ToneKind, case: &Case) -> Result<(), String> {
    match ev {
        [ToneEvent::Tone { kind: k, start, .. }, ToneEvent::ToneEnd { kind: k2, end, .. }] => {
            if *k != kind || *k2 != kind {
                return Err(format!("got {k}/{k2}, want {kind}"));
            }
            if start.abs_diff(case.onset) > EDGE_TOLERANCE_SAMPLES {
                return Err(format!("{kind}: start {start}, want {}", case.onset));
            }
            if end.abs_diff(case.last_end) > EDGE_TOLERANCE_SAMPLES {
                return Err(format!("{kind}: end {end}, want {}", case.last_end));
            }
            Ok(())
        }
        _ => Err(format!("want one {kind}, got {ev:?}")),
    }
}

fn tally(card: &mut Scorecard, name: &str, results: Vec<Result<(), String>>) {
    let total = results.len();
    let mut passed = 0;
    for r in results {
        match r {
            Ok(()) => passed += 1,
            Err(e) => println!("  {name}: {e}"),
        }
    }
    card.row(name, passed, total);
}

fn add_noise(x: &mut [i16], seed: u64, dbm0: f64) {
    NoiseGenerator::new(seed, dbm0).add_to(x);
}

fn law_round_trip(x: &[i16], law: Law) -> Vec<i16> {
    x.iter().map(|&s| g711::decode(law, g711::encode(law, s))).collect()
}

/// Every detector requirement for one country.
fn country_card(country: Country) -> Scorecard {
    let profile = country.profile();
    let cfg = ToneDetectorConfig::default();
    let desc = profile.detector(&cfg).unwrap();
    let mut card = Scorecard::new(&format!("call-progress tones, {country}"));
    let defs: Vec<ToneDef> = KINDS.iter().map(|&k| *profile.get(k).unwrap()).collect();
    let judge_render = |def: &ToneDef, r: &Render, f: &dyn Fn(&mut Vec<i16>)| {
        let (_, tail) = plan(def, &cfg);
        let mut case = render(def, r, tail);
        f(&mut case.samples);
        judge(&events(&desc, &case.samples, 160), def.kind, &case)
    };

    let r: Vec<_> = defs.iter().map(|d| judge_render(d, &Render::plain(plan(d, &cfg).0), &|_| {})).collect();
    tally(&mut card, "tonegen: each tone detected and classified", r);

    let mut r = Vec::new();
    for d in &defs {
        for lvl in [-8.0f32, -30.0] {
            let (periods, tail) = plan(d, &cfg);
            let case = render(d, &Render { level_dbm0: Some(lvl), ..Render::plain(periods) }, tail);
            r.push(match events(&desc, &case.samples, 160).first() {
                Some(ToneEvent::Tone { level_dbm0, .. }) if (level_dbm0 - lvl).abs() <= 1.0 => Ok(()),
                other => Err(format!("{} at {lvl} dBm0: {other:?}", d.kind)),
            });
        }
    }
    tally(&mut card, "reported level within 1 dB (per frequency)", r);

    let r: Vec<_> = defs
        .iter()
        .map(|d| {
            let (periods, tail) = plan(d, &cfg);
            let case = render_sox(d, &Render::plain(periods), tail);
            judge(&events(&desc, &case.samples, 160), d.kind, &case)
        })
        .collect();
    tally(&mut card, "sox synth: each tone detected and classified", r);

    let mut r = Vec::new();
    for d in defs.iter().filter(|d| !d.is_continuous()) {
        for seed in 0..10 {
            let ren = Render { jitter: 0.10, seed: 100 + seed, ..Render::plain(plan(d, &cfg).0) };
            r.push(judge_render(d, &ren, &|_| {}));
        }
    }
    tally(&mut card, "±10 % jitter on every segment (10 seeds)", r);

    let mut r = Vec::new();
    for d in &defs {
        for fscale in [0.98, 1.02] {
            r.push(judge_render(d, &Render { fscale, ..Render::plain(plan(d, &cfg).0) }, &|_| {}));
        }
    }
    tally(&mut card, "frequency −2 % and +2 % accepted", r);

    let mut r = Vec::new();
    for d in &defs {
        for fscale in [0.92, 1.08] {
            let (periods, tail) = plan(d, &cfg);
            let case = render(d, &Render { fscale, ..Render::plain(periods) }, tail);
            let ev = events(&desc, &case.samples, 160);
            r.push(if ev.is_empty() { Ok(()) } else { Err(format!("{} ×{fscale}: {ev:?}", d.kind)) });
        }
    }
    tally(&mut card, "frequency −8 % and +8 % rejected", r);

    let mut r = Vec::new();
    for d in &defs {
        for lvl in [-5.0, -15.0, -25.0, -35.0] {
            r.push(judge_render(d, &Render { level_dbm0: Some(lvl), ..Render::plain(plan(d, &cfg).0) }, &|_| {}));
        }
    }
    tally(&mut card, "levels −5, −15, −25, −35 dBm0", r);

    let mut r = Vec::new();
    for d in &defs {
        let (periods, tail) = plan(d, &cfg);
        let case = render(d, &Render { level_dbm0: Some(-46.0), ..Render::plain(periods) }, tail);
        let ev = events(&desc, &case.samples, 160);
        r.push(if ev.is_empty() { Ok(()) } else { Err(format!("{} at −46 dBm0: {ev:?}", d.kind)) });
    }
    tally(&mut card, "−46 dBm0 (below the −40 minimum) ignored", r);

    let mut r = Vec::new();
    for d in &defs {
        let comps = d.spec.steps().iter().map(|s| s.count).max().unwrap_or(1) as f64;
        for seed in 0..3 {
            // SNR over the tone's total power, noise over 0–4 kHz.
            let tone_dbm0 = -20.0 + 10.0 * comps.log10();
            let ren = Render { level_dbm0: Some(-20.0), ..Render::plain(plan(d, &cfg).0) };
            r.push(judge_render(d, &ren, &|x| add_noise(x, 7 + seed, tone_dbm0 - 15.0)));
        }
    }
    tally(&mut card, "15 dB SNR, white noise (3 seeds)", r);

    let mut r = Vec::new();
    for d in &defs {
        let comps = d.spec.steps().iter().map(|s| s.count).max().unwrap_or(1) as f64;
        let tone_dbm0 = -20.0 + 10.0 * comps.log10();
        let ren = Render { level_dbm0: Some(-20.0), ..Render::plain(plan(d, &cfg).0) };
        r.push(judge_render(d, &ren, &|x| add_noise(x, 70, tone_dbm0 - 10.0)));
    }
    tally(&mut card, "10 dB SNR (margin below the 15 dB asked)", r);

    for law in [Law::ALaw, Law::MuLaw] {
        let mut r = Vec::new();
        for d in &defs {
            for lvl in [-10.0, -30.0] {
                let ren = Render { level_dbm0: Some(lvl), ..Render::plain(plan(d, &cfg).0) };
                r.push(judge_render(d, &ren, &|x| *x = law_round_trip(x, law)));
            }
        }
        tally(&mut card, &format!("{law} round trip at −10 and −30 dBm0"), r);
    }

    let mut r = Vec::new();
    for d in &defs {
        let (periods, tail) = plan(d, &cfg);
        let case = render(d, &Render { jitter: 0.05, seed: 9, ..Render::plain(periods) }, tail);
        let reference = events(&desc, &case.samples, 160);
        let mut same = true;
        for chunk in [1, 7, 80, 161, 1000, 4096] {
            let ev = events(&desc, &case.samples, chunk);
            if ev != reference {
                same = false;
                println!("  {}: chunk {chunk}: {ev:?} vs {reference:?}", d.kind);
            }
        }
        r.push(if same { Ok(()) } else { Err(format!("{}: events depend on block length", d.kind)) });
    }
    tally(&mut card, "same events for any block length", r);

    // The portable kernel decides the same (the AVX2+FMA one runs above
    // where the CPU has it).
    let portable = Arc::new(ToneDetectorDescriptor::new(&profile, &cfg).unwrap().portable());
    let mut r = Vec::new();
    for d in &defs {
        let (periods, tail) = plan(d, &cfg);
        let mut case =
            render(d, &Render { jitter: 0.1, seed: 5, level_dbm0: Some(-30.0), ..Render::plain(periods) }, tail);
        add_noise(&mut case.samples, 11, -45.0);
        let (a, b) = (events(&desc, &case.samples, 160), events(&portable, &case.samples, 160));
        let same_kinds = tones(&a) == tones(&b);
        let close = a.iter().zip(&b).all(|(x, y)| match (x, y) {
            (ToneEvent::Tone { start: s1, .. }, ToneEvent::Tone { start: s2, .. }) => s1.abs_diff(*s2) <= 2,
            (ToneEvent::ToneEnd { end: e1, .. }, ToneEvent::ToneEnd { end: e2, .. }) => e1.abs_diff(*e2) <= 2,
            _ => false,
        });
        r.push(if same_kinds && close && a.len() == b.len() {
            judge(&b, d.kind, &case)
        } else {
            Err(format!("{}: {a:?} vs portable {b:?}", d.kind))
        });
    }
    tally(&mut card, "portable kernel decides the same", r);

    // Cycle counts: a busy train of exactly 2 cycles is reported with the
    // default 2 and not with 3; with c cycles the report comes once the
    // c-th gap has reached its minimum and at most when it has ended.
    let busy = *profile.get(ToneKind::Busy).unwrap();
    let period = busy.spec.period_ms().unwrap() * 8;
    let (on, off) = (busy.spec.steps()[0].duration_ms as u64 * 8, busy.spec.steps()[1].duration_ms as u64 * 8);
    let mut r = Vec::new();
    for cycles in [1u8, 2, 3] {
        let c = ToneDetectorConfig { cycles: CycleCounts { busy: cycles, ..Default::default() }, ..Default::default() };
        let d = profile.detector(&c).unwrap();
        let case = render(&busy, &Render::plain(4), 2000);
        let ev = events(&d, &case.samples, 160);
        let k = cycles as u64 - 1;
        let earliest = case.onset + k * period + on + off * 9 / 10 - 30 * 8;
        let latest = case.onset + (k + 1) * period + 3 * 160;
        r.push(match ev.first() {
            Some(ToneEvent::Tone { kind: ToneKind::Busy, at, .. }) if (earliest..=latest).contains(at) => Ok(()),
            _ => Err(format!("cycles {cycles}: want busy between {earliest} and {latest}: {ev:?}")),
        });
        let two = render(&busy, &Render::plain(2), 2000);
        let ev = events(&d, &two.samples, 160);
        let want_report = cycles <= 2;
        r.push(if tones(&ev).contains(&ToneKind::Busy) == want_report {
            Ok(())
        } else {
            Err(format!("cycles {cycles}, 2-cycle train: {ev:?}"))
        });
    }
    tally(&mut card, "busy cycle count 1/2/3 configurable", r);

    // Dial tone after a configurable time: `dial_min_ms`, or after the
    // longest burst of any tone on the same frequencies (China's, Russia's
    // and Europe's 1 s ringback bursts: 1.1 s + 30 ms slack + a block).
    let dial = *profile.get(ToneKind::Dial).unwrap();
    let mut r = Vec::new();
    for dial_min_ms in [500u64, 2000] {
        let c = ToneDetectorConfig { dial_min_ms: dial_min_ms as u32, ..Default::default() };
        let d = profile.detector(&c).unwrap();
        let case = render(&dial, &Render::plain(1), 1000);
        let ev = events(&d, &case.samples, 160);
        let same_freq_bursts = matches!(country, Country::Cn | Country::Ru | Country::Eu);
        let floor = if same_freq_bursts { dial_min_ms.max(1150) } else { dial_min_ms } * 8;
        r.push(match (judge(&ev, ToneKind::Dial, &case), ev.first()) {
            (Ok(()), Some(ToneEvent::Tone { at, .. })) if (floor..=floor + 3 * 160).contains(&(at - case.onset)) => {
                Ok(())
            }
            (res, _) => Err(format!("dial_min_ms {dial_min_ms}: want a report {floor} samples in: {res:?} {ev:?}")),
        });
    }
    tally(&mut card, "dial tone confirmed after dial_min_ms (500, 2000)", r);

    preceded_rows(country, &profile, &desc, &cfg, &mut card);

    if country == Country::Us {
        // The real SIT encodings (TELEPHONY_FACTS §3: 913.8/985.2,
        // 1370.6/1428.5, 1776.7 Hz; short 274 ms or long 380 ms segments,
        // as docs.blueworx.com i574004 lists them), then silence.
        let lvl = -24.0;
        let mut r = Vec::new();
        for (name, segs) in [
            ("RO'", [(913.8, 274), (1428.5, 380), (1776.7, 380)]),
            ("VC", [(985.2, 380), (1370.6, 274), (1776.7, 380)]),
            ("NC'", [(985.2, 380), (1428.5, 380), (1776.7, 380)]),
            ("IC", [(913.8, 274), (1370.6, 274), (1776.7, 380)]),
        ] {
            let pattern =
                format!("{}/{},{}/{},{}/{},0", segs[0].0, segs[0].1, segs[1].0, segs[1].1, segs[2].0, segs[2].1);
            let def = ToneDef::parse(ToneKind::Sit, &pattern, lvl).unwrap();
            let case = render(&def, &Render::plain(1), 2000);
            r.push(
                judge(&events(&desc, &case.samples, 160), ToneKind::Sit, &case).map_err(|e| format!("SIT {name}: {e}")),
            );
        }
        tally(&mut card, "real SIT encodings RO', VC, NC', IC", r);
    }
    card
}

/// Silence put between the preceding audio and the tone.
const GAPS_MS: [usize; 3] = [0, 250, 1000];

/// Audio a tone follows, and what the detector may make of it.
struct Before {
    audio: Vec<i16>,
    /// Kinds that may be reported for `audio` (the preceding tone's).
    allowed: Vec<ToneKind>,
    /// The preceding tone's cadence can go on with the tone's first bursts
    /// (see `continues`), for at most this many samples (its period, or the
    /// tone's): the tone may be reported from one of its bursts up to there.
    absorbs: Option<u64>,
}

impl Before {
    fn other(audio: Vec<i16>) -> Self {
        Before { audio, allowed: Vec::new(), absorbs: None }
    }
}

/// `def` played alone from its start for `ms`.
fn play_ms(def: &ToneDef, ms: usize) -> Vec<i16> {
    let mut x = vec![0i16; ms * 8];
    ToneGenerator::new(&def.spec).tx(&mut x);
    x
}

/// Whether `x` ms is within a cadence step of `nominal` ms.
fn within_step(x: f64, nominal: f64, cfg: &ToneDetectorConfig) -> bool {
    let tol = cfg.cadence_tolerance_pct as f64 / 100.0;
    let slack = cfg.cadence_slack_ms as f64;
    x >= nominal * (1.0 - tol) - slack && x <= nominal * (1.0 + tol) + slack
}

/// Whether `prev`, played in whole periods (ending with its last gap; a
/// continuous tone for any time) and then `gap_ms` of silence, could go on
/// with `next`'s first burst: on the same frequencies, a continuous tone
/// with no gap, or a cadence whose gap and first burst they fit. Nothing
/// can tell that burst from `prev`'s next one.
fn continues(prev: &ToneDef, next: &ToneDef, gap_ms: usize, cfg: &ToneDetectorConfig) -> bool {
    let (p, n) = (prev.spec.steps(), next.spec.steps());
    let (Some(p_first), Some(p_last), Some(n_first)) = (p.first(), p.last(), n.first()) else { return false };
    let same_freqs = p_first.active().iter().map(|f| f.hz).eq(n_first.active().iter().map(|f| f.hz));
    if prev.is_continuous() {
        return same_freqs && gap_ms == 0;
    }
    prev.spec.repeat
        && p_last.count == 0
        && same_freqs
        && n_first.duration_ms != 0
        && within_step((p_last.duration_ms as usize + gap_ms) as f64, p_last.duration_ms as f64, cfg)
        && within_step(n_first.duration_ms as f64, p_first.duration_ms as f64, cfg)
}

/// A tone's own cadence broken before it starts for real: (a) its first
/// burst at half length (500 ms of a continuous tone), then half its first
/// gap; (b) every step heard before it could be confirmed, the last burst
/// cut to half, then half of the gap that should follow. A gap is one the
/// detector can time (the UK SIT's 15 ms pauses are not); where the
/// cadence has none, 200 ms.
fn broken_starts(def: &ToneDef, cfg: &ToneDetectorConfig) -> Vec<(&'static str, Vec<i16>)> {
    let steps = def.spec.steps();
    let is_gap = |i: usize| steps[i].count == 0 && steps[i].duration_ms >= MIN_STEP_MS;
    // Half the first gap at or after step `from` (cyclically).
    let half_gap = |from: usize| {
        (0..steps.len())
            .map(|k| (from + k) % steps.len())
            .find(|&i| is_gap(i))
            .map_or(200, |i| steps[i].duration_ms as usize / 2)
    };
    let burst = |s: &ToneStep, ms: usize| {
        let spec = ToneSpec::new(&[ToneStep::tone(s.active(), 0)], false).unwrap();
        let mut x = vec![0i16; ms * 8];
        ToneGenerator::new(&spec).tx(&mut x);
        x
    };
    let mut out = Vec::new();
    let first_ms = if steps[0].duration_ms == 0 { 500 } else { steps[0].duration_ms as usize / 2 };
    let mut a = burst(&steps[0], first_ms);
    a.resize(a.len() + half_gap(0) * 8, 0);
    out.push(("first burst halved", a));
    if !def.is_continuous() {
        let need = if def.spec.repeat { cfg.cycles.get(def.kind) as usize * steps.len() } else { steps.len() - 1 };
        let last_on = (0..need - 1).rev().find(|&i| steps[i % steps.len()].count != 0).unwrap_or(0);
        let mut b = Vec::new();
        for i in 0..need - 1 {
            let s = &steps[i % steps.len()];
            let ms = s.duration_ms as usize;
            if s.count == 0 {
                b.resize(b.len() + ms * 8, 0);
            } else {
                b.extend(burst(s, if i == last_on { ms / 2 } else { ms }));
            }
        }
        b.resize(b.len() + half_gap((need - 1) % steps.len()) * 8, 0);
        out.push(("cut short", b));
    }
    out
}

/// The tone reported last is `kind`, starting where it starts (or, when
/// the audio before `absorbs` its first bursts, where one of its later
/// bursts starts) and ending where it ends; before it only `allowed`
/// kinds.
fn judge_after(ev: &[ToneEvent], kind: ToneKind, case: &Case, b: &Before) -> Result<(), String> {
    let last = ev.iter().rposition(|e| matches!(e, ToneEvent::Tone { .. }));
    let Some(i) = last else { return Err(format!("no tone: want {kind}")) };
    if let Some(e) = ev[..i].iter().find(|e| !b.allowed.contains(&e.kind())) {
        return Err(format!("{e:?} before the {kind} (allowed {:?}): {ev:?}", b.allowed));
    }
    let (ToneEvent::Tone { kind: k, start, .. }, [ToneEvent::ToneEnd { kind: k2, end, .. }]) = (ev[i], &ev[i + 1..])
    else {
        return Err(format!("want {kind} last, then its end: {ev:?}"));
    };
    if k != kind || *k2 != kind {
        return Err(format!("got {k}/{k2}, want {kind}: {ev:?}"));
    }
    let start_ok = match b.absorbs {
        Some(span) => {
            case.burst_starts.iter().any(|&s| s <= case.onset + span && start.abs_diff(s) <= EDGE_TOLERANCE_SAMPLES)
        }
        None => start.abs_diff(case.onset) <= EDGE_TOLERANCE_SAMPLES,
    };
    if !start_ok {
        return Err(format!("{kind}: start {start}, want {}: {ev:?}", case.onset));
    }
    if end.abs_diff(case.last_end) > EDGE_TOLERANCE_SAMPLES {
        return Err(format!("{kind}: end {end}, want {}", case.last_end));
    }
    Ok(())
}

/// Every tone after other audio (a line that is seized, hears dial tone,
/// dials and waits; a call that ends): the country's dial tone for 1–3 s,
/// DTMF digits, speech, each other tone of the profile, a broken start of
/// its own cadence; each right before the tone and after a gap of silence.
/// The tone must be reported from its own start once its cadence has been
/// heard, whatever came before. Where the audio before is a tone that can
/// go on with the tone's first bursts (same frequencies and fitting
/// lengths: `continues`), those bursts are heard as that tone's; the tone
/// is then played for twice as many periods and must be reported from a
/// later burst (rows marked "from a later burst").
fn preceded_rows(
    country: Country,
    profile: &ToneProfile,
    desc: &Arc<ToneDetectorDescriptor>,
    cfg: &ToneDetectorConfig,
    card: &mut Scorecard,
) {
    let defs: Vec<ToneDef> = KINDS.iter().map(|&k| *profile.get(k).unwrap()).collect();
    let dial = *profile.get(ToneKind::Dial).unwrap();
    let speech = support::speech::speech_corpus();
    let ci = Country::ALL.iter().position(|&c| c == country).unwrap_or(0);
    let period = |d: &ToneDef| d.spec.period_ms().unwrap_or(0) * 8;
    // Run one case: silence, `before`, `gap_ms` of silence, the tone.
    let run = |def: &ToneDef, before: &Before, gap_ms: usize, what: &str| {
        let (mut periods, tail) = plan(def, cfg);
        if before.absorbs.is_some() {
            periods *= 2;
        }
        let mut prefix = vec![0i16; LEAD_MS * 8];
        prefix.extend_from_slice(&before.audio);
        prefix.resize(prefix.len() + gap_ms * 8, 0);
        let case = render_after(prefix, def, &Render::plain(periods), tail);
        judge_after(&events(desc, &case.samples, 160), def.kind, &case, before)
            .map_err(|e| format!("{} after {what}, gap {gap_ms} ms: {e}", def.kind))
    };
    // The row for `b`: a separate one for the cases whose start the audio
    // before may absorb.
    let push = |r: &mut Vec<_>, absorbed: &mut Vec<_>, b: &Before, res| {
        if b.absorbs.is_some() { absorbed } else { r }.push(res)
    };

    let (mut r, mut absorbed) = (Vec::new(), Vec::new());
    for d in &defs {
        for dial_ms in [1000, 2000, 3000] {
            for gap_ms in GAPS_MS {
                // A dial tone right after a dial tone is one dial tone.
                if d.kind == ToneKind::Dial && gap_ms == 0 {
                    continue;
                }
                let absorbs = continues(&dial, d, gap_ms, cfg).then(|| period(d));
                let b = Before { audio: play_ms(&dial, dial_ms), allowed: vec![ToneKind::Dial], absorbs };
                let res = run(d, &b, gap_ms, &format!("{dial_ms} ms of dial tone"));
                push(&mut r, &mut absorbed, &b, res);
            }
        }
    }
    tally(card, "after dial tone 1, 2, 3 s; gap 0, 250, 1000 ms", r);
    if !absorbed.is_empty() {
        tally(card, "…on the dial tone's frequencies, no gap: from a later burst", absorbed);
    }

    let mut r = Vec::new();
    for (k, d) in defs.iter().enumerate() {
        for (g, gap_ms) in GAPS_MS.into_iter().enumerate() {
            let tx = if (k + g) % 2 == 0 { DtmfTxConfig::default() } else { DtmfTxConfig::new(-8.0, 0.0, 80, 80) };
            let mut audio = dtmf_samples(["88880001", "1234", "5551212"][(k + g) % 3], tx).unwrap();
            // Right after the last digit's tone.
            audio.truncate(audio.len() - tx.off_ms as usize * 8);
            r.push(run(d, &Before::other(audio), gap_ms, "DTMF digits"));
        }
    }
    tally(card, "after DTMF digits; gap 0, 250, 1000 ms", r);

    let mut r = Vec::new();
    for (k, d) in defs.iter().enumerate() {
        for (g, gap_ms) in GAPS_MS.into_iter().enumerate() {
            let (name, clip) = &speech[(ci * 7 + k * 3 + g) % speech.len()];
            let len = 3 * 8000;
            let at = (8000 * (1 + 4 * k + 2 * g)) % (clip.len() - len);
            r.push(run(d, &Before::other(clip[at..at + len].to_vec()), gap_ms, &format!("3 s of {name}")));
        }
    }
    tally(card, "after 3 s of speech; gap 0, 250, 1000 ms", r);

    let (mut r, mut absorbed) = (Vec::new(), Vec::new());
    for d in &defs {
        for p in defs.iter().filter(|p| p.kind != d.kind) {
            for gap_ms in GAPS_MS {
                // The other tone long enough to be reported, in whole
                // periods (a dial tone for 2 s).
                let audio = if p.is_continuous() {
                    play_ms(p, 2000)
                } else {
                    render_after(Vec::new(), p, &Render::plain(plan(p, cfg).0), 0).samples
                };
                let absorbs = continues(p, d, gap_ms, cfg).then(|| period(p).max(period(d)));
                let b = Before { audio, allowed: vec![p.kind], absorbs };
                let res = run(d, &b, gap_ms, &format!("{}", p.kind));
                push(&mut r, &mut absorbed, &b, res);
            }
        }
    }
    tally(card, "after each other tone; gap 0, 250, 1000 ms", r);
    if !absorbed.is_empty() {
        tally(card, "…whose cadence goes on with its first bursts: from a later burst", absorbed);
    }

    let mut r = Vec::new();
    for d in &defs {
        for (name, audio) in broken_starts(d, cfg) {
            for gap_ms in GAPS_MS {
                r.push(run(d, &Before::other(audio.clone()), gap_ms, &format!("its own cadence, {name}")));
            }
        }
    }
    tally(card, "after a broken start of its own cadence; gap 0, 250, 1000 ms", r);
}

fn assert_card(card: Scorecard) {
    assert!(card.print(), "{} failed", card.title);
}

#[test]
fn china() {
    assert_card(country_card(Country::Cn));
}

#[test]
fn russia() {
    assert_card(country_card(Country::Ru));
}

#[test]
fn united_states() {
    assert_card(country_card(Country::Us));
}

#[test]
fn united_kingdom() {
    assert_card(country_card(Country::Uk));
}

#[test]
fn europe() {
    assert_card(country_card(Country::Eu));
}

/// Music-like material from sox: melodies of plucked strings, sawtooth and
/// square-wave chords, an arpeggio; each a few seconds.
fn music_clips() -> Vec<(String, Vec<i16>)> {
    let notes = ["C4", "E4", "G4", "A4", "B4", "C5", "A4", "F4", "D4", "G4", "A3", "E4"];
    let mut clips = Vec::new();
    for (voice, dur) in [("pluck", "0.35"), ("sawtooth", "0.25"), ("square", "0.5"), ("triangle", "0.3")] {
        let mut args: Vec<String> = Vec::new();
        for rep in 0..3 {
            for (i, n) in notes.iter().enumerate() {
                if !args.is_empty() {
                    args.push(":".into());
                }
                let d = if (i + rep) % 3 == 0 { "0.15" } else { dur };
                args.extend(["synth", d, voice, n, "vol", "0.3"].map(String::from));
            }
        }
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        clips.push((format!("{voice} melody"), support::sox_synth(&words)));
    }
    for chord in [["A3", "C#4", "E4"], ["C3", "E3", "G3"], ["D4", "F#4", "A4"]] {
        let words =
            ["synth", "3", "pluck", chord[0], "pluck", chord[1], "pluck", chord[2], "tremolo", "5", "40", "vol", "0.5"];
        clips.push((format!("plucked chord {}", chord.join("-")), support::sox_synth(&words)));
        let words = ["synth", "3", "sawtooth", chord[0], "sawtooth", chord[1], "sawtooth", chord[2], "vol", "0.3"];
        clips.push((format!("sawtooth chord {}", chord.join("-")), support::sox_synth(&words)));
    }
    clips
}

/// DTMF dialling and fax calling tone (CNG 1100 Hz 0.5 s / 3 s).
fn signalling_clips() -> Vec<(String, Vec<i16>)> {
    let mut clips = Vec::new();
    let mut digits = Vec::new();
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0];
    for i in 0..24 {
        let f = [ToneFreq { hz: rows[i % 4], dbm0: -9.0 }, ToneFreq { hz: cols[i % 3], dbm0: -7.0 }];
        let spec = ToneSpec::burst(&f, 80, 80).unwrap();
        let mut x = vec![0i16; 1280];
        ToneGenerator::new(&spec).tx(&mut x);
        digits.extend(x);
    }
    clips.push(("DTMF digits 80/80 ms".to_string(), digits));
    let cng = ToneSpec::cadence(&[ToneFreq { hz: 1100.0, dbm0: -10.0 }], &[500, 3000]).unwrap();
    let mut x = vec![0i16; 8 * 14_000];
    ToneGenerator::new(&cng).tx(&mut x);
    clips.push(("fax CNG".to_string(), x));
    clips
}

#[test]
fn no_false_tones_in_speech_noise_music_and_signalling() {
    let mut material: Vec<(String, Vec<i16>)> = Vec::new();
    material.extend(support::speech::speech_corpus().iter().cloned());
    material.extend(support::speech::music_corpus().iter().cloned());
    for (seed, lvl) in [(1u64, -15.0), (2, -30.0), (3, -45.0)] {
        let mut x = vec![0i16; 8 * 30_000];
        NoiseGenerator::new(seed, lvl).tx(&mut x);
        material.push((format!("white noise {lvl} dBm0, 30 s"), x));
    }
    material.extend(music_clips());
    let total_s: f64 = material.iter().map(|m| m.1.len() as f64 / 8000.0).sum();
    let mut card = Scorecard::new(&format!("no false tones ({total_s:.0} s of material per country)"));
    for country in Country::ALL {
        let desc = country.profile().detector(&ToneDetectorConfig::default()).unwrap();
        for (group, prefix) in
            [("speech", "speech"), ("music", "music"), ("sox melodies and chords", ""), ("noise", "white noise")]
        {
            let mut clean = 0;
            let mut total = 0;
            for (name, x) in &material {
                let in_group = match group {
                    "sox melodies and chords" => {
                        ["melody", "chord"].iter().any(|w| name.contains(w)) && !name.starts_with("music")
                    }
                    _ => name.starts_with(prefix),
                };
                if !in_group {
                    continue;
                }
                total += 1;
                let ev = events(&desc, x, 160);
                if ev.is_empty() {
                    clean += 1;
                } else {
                    println!("  {country}: {name} ({:.1} dBm0): {:?}", block_dbm0(x), tones(&ev));
                }
            }
            card.row(format!("{country}: {group} clips without a tone"), clean, total);
        }
        let mut clean = 0;
        let signalling = signalling_clips();
        for (name, x) in &signalling {
            let ev = events(&desc, x, 160);
            if ev.is_empty() {
                clean += 1;
            } else {
                println!("  {country}: {name}: {:?}", tones(&ev));
            }
        }
        card.row(format!("{country}: DTMF and fax CNG without a tone"), clean, signalling.len());
    }
    assert_card(card);
}

/// An off-book tone for the learner: pattern, level, and how to make it.
struct OffBook {
    pattern: &'static str,
    level_dbm0: f32,
    /// Render with sox instead of our generator.
    sox: bool,
    jitter: f64,
}

const OFF_BOOK: [OffBook; 10] = [
    OffBook { pattern: "440/330,0/370", level_dbm0: -12.0, sox: false, jitter: 0.0 },
    OffBook { pattern: "413+437/330,0/370", level_dbm0: -15.0, sox: true, jitter: 0.0 },
    OffBook { pattern: "413+437/330,0/370", level_dbm0: -20.0, sox: false, jitter: 0.1 },
    OffBook { pattern: "425", level_dbm0: -8.0, sox: true, jitter: 0.0 },
    OffBook { pattern: "350+440", level_dbm0: -13.0, sox: false, jitter: 0.0 },
    OffBook { pattern: "400+450/400,0/200,400+450/400,0/2000", level_dbm0: -14.0, sox: true, jitter: 0.05 },
    OffBook { pattern: "480+620/270,0/230", level_dbm0: -24.0, sox: false, jitter: 0.1 },
    OffBook { pattern: "460/1200,0/3800", level_dbm0: -10.0, sox: true, jitter: 0.0 },
    OffBook { pattern: "452/700,0/700", level_dbm0: -30.0, sox: false, jitter: 0.1 },
    OffBook { pattern: "940/330,1380/330,1790/330,0/1000", level_dbm0: -18.0, sox: true, jitter: 0.0 },
];

/// Whether `learned` matches `truth`: same steps, frequencies within 5 Hz,
/// lengths within 3 % + 10 ms (15 % + 10 ms under jitter, where the mean of
/// a few cycles is what can be known).
fn same_tone(learned: &ToneDef, truth: &ToneDef, jitter: f64) -> Result<(), String> {
    let (a, b) = (learned.spec.steps(), truth.spec.steps());
    let bad = || Err(format!("learned {:?}, truth {:?}", learned.pattern(), truth.pattern()));
    if a.len() != b.len() || learned.spec.repeat != truth.spec.repeat {
        return bad();
    }
    for (x, y) in a.iter().zip(b) {
        if x.count != y.count || x.active().iter().zip(y.active()).any(|(f, g)| (f.hz - g.hz).abs() > 5.0) {
            return bad();
        }
        let tol = (if jitter > 0.0 { 0.15 } else { 0.03 }) * y.duration_ms as f64 + 10.0;
        if (x.duration_ms as f64 - y.duration_ms as f64).abs() > tol {
            return bad();
        }
    }
    Ok(())
}

#[test]
fn learner_on_off_book_tones() {
    let mut card = Scorecard::new("tone learner: off-book tones at 15 dB SNR");
    let mut learned_ok = Vec::new();
    let mut level_ok = Vec::new();
    let mut toml_ok = Vec::new();
    let mut detect_ok = Vec::new();
    let mut country_ok = Vec::new();
    for (i, ob) in OFF_BOOK.iter().enumerate() {
        let truth = ToneDef::parse(ToneKind::Unknown, ob.pattern, ob.level_dbm0).unwrap();
        let comps = truth.spec.steps().iter().map(|s| s.count).max().unwrap_or(1) as f64;
        let noise_dbm0 = ob.level_dbm0 as f64 + 10.0 * comps.log10() - 15.0;
        let ren = Render { jitter: ob.jitter, seed: 40 + i as u64, level_dbm0: None, fscale: 1.0, periods: 6 };
        let mut case = if ob.sox { render_sox(&truth, &ren, 1500) } else { render(&truth, &ren, 1500) };
        // A recording starts anywhere: drop a random-ish head.
        case.samples.drain(..(LEAD_MS * 8 + 8 * 97 * i).min(case.samples.len() / 4));
        add_noise(&mut case.samples, 90 + i as u64, noise_dbm0);
        let l = match ctibox_driver::dsp::tones::learn(&case.samples) {
            Ok(l) => l,
            Err(e) => {
                learned_ok.push(Err(format!("{}: {e}", ob.pattern)));
                continue;
            }
        };
        learned_ok.push(same_tone(&l.def, &truth, ob.jitter));
        let lvl = l.def.level_dbm0().unwrap_or(-99.0);
        level_ok.push(if (lvl - ob.level_dbm0).abs() <= 1.0 {
            Ok(())
        } else {
            Err(format!("{}: level {lvl}, want {}", ob.pattern, ob.level_dbm0))
        });
        // TOML out and back.
        let text = l.to_toml();
        toml_ok.push(match ToneEntry::parse_toml(&text) {
            Ok(e) if e.len() == 1 && e[0].to_def().ok() == Some(l.def) => Ok(()),
            other => Err(format!("{}: {text}\n-> {other:?}", ob.pattern)),
        });
        // The learned entry, as config, detects a fresh rendering.
        let Ok(entries) = ToneEntry::parse_toml(&text) else { continue };
        let kind = entries[0].kind;
        let profile = ToneProfile::from_entries("learned", None, &entries).unwrap();
        let cfg = ToneDetectorConfig::default();
        let desc = profile.detector(&cfg).unwrap();
        let fresh_def = ToneDef { kind, ..truth };
        let (periods, tail) = plan(&fresh_def, &cfg);
        let fresh = Render { jitter: ob.jitter.min(0.1), seed: 77 + i as u64, level_dbm0: None, fscale: 1.0, periods };
        let mut case = render(&fresh_def, &fresh, tail);
        add_noise(&mut case.samples, 300 + i as u64, noise_dbm0);
        detect_ok
            .push(judge(&events(&desc, &case.samples, 160), kind, &case).map_err(|e| format!("{}: {e}", ob.pattern)));
        // …and in a country profile, replacing that country's tone of the
        // same kind (where the filters fit).
        let country = Country::ALL[i % Country::ALL.len()];
        if let Ok(profile) = ToneProfile::from_entries("site", Some(country), &entries)
            && let Ok(desc) = profile.detector(&cfg)
        {
            country_ok.push(
                judge(&events(&desc, &case.samples, 160), kind, &case)
                    .map_err(|e| format!("{country} + {}: {e}", ob.pattern)),
            );
        }
    }
    tally(&mut card, "frequencies ±5 Hz and cadence learned", learned_ok);
    tally(&mut card, "level within 1 dB", level_ok);
    tally(&mut card, "TOML entry reads back to the same tone", toml_ok);
    tally(&mut card, "learned entry detects a fresh rendering", detect_ok);
    tally(&mut card, "learned entry in a country profile", country_ok);
    assert_card(card);
}
